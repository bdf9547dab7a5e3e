/* ddnnparse: cuts a byte stream of DDNN wire frames into frames.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbaseparse.h>

G_BEGIN_DECLS

#define GST_TYPE_DDNN_PARSE (gst_ddnn_parse_get_type ())
G_DECLARE_FINAL_TYPE (
    GstDdnnParse, gst_ddnn_parse, GST, DDNN_PARSE, GstBaseParse)

GST_ELEMENT_REGISTER_DECLARE (ddnnparse);

G_END_DECLS
