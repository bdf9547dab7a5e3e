/* Loading a model from an element, with the error a user should see.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>
#include <ddnn.h>

#include "gstddnnmeta.h"

G_BEGIN_DECLS

/* Loads @path for @element.  A NULL @path or a file that does not load
 * posts a RESOURCE error naming the file and the problem, and gives NULL. */
DdnnModel *gst_ddnn_element_load_model (GstElement *element, const gchar *path);

/* The class name of @meta's best score, or NULL without @model or when the
 * meta's classes are not the model's. */
const gchar *gst_ddnn_model_label (
    const DdnnModel *model, const GstDdnnMeta *meta);

G_END_DECLS
