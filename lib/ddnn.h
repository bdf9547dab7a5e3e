/* libddnn: the core engine of ddnn-gst, with no GStreamer in it.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ddnn-error.h"
#include "ddnn-dataset.h"
#include "ddnn-idx.h"
#include "ddnn-tensor.h"
#include "ddnn-blas.h"
#include "ddnn-ops.h"
#include "ddnn-safetensors.h"
#include "ddnn-model.h"
#include "ddnn-eval.h"
#include "ddnn-adaptive.h"
#include "ddnn-train.h"
