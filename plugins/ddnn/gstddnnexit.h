/* ddnnexit: a sample leaves here when its fused answer is confident.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DDNN_EXIT (gst_ddnn_exit_get_type ())
G_DECLARE_FINAL_TYPE (GstDdnnExit, gst_ddnn_exit, GST, DDNN_EXIT, GstElement)

GST_ELEMENT_REGISTER_DECLARE (ddnnexit);

G_END_DECLS
