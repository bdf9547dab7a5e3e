/* libddnn: the error domain.  (The library reports through GError and
 * logs nothing itself.)
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-error.h"

G_DEFINE_QUARK (ddnn - error - quark, ddnn_error)
