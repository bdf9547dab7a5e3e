/* ddnnsrc: receives DDNN wire frames from ddnnsinks over WebSocket.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DDNN_SRC (gst_ddnn_src_get_type ())
G_DECLARE_FINAL_TYPE (GstDdnnSrc, gst_ddnn_src, GST, DDNN_SRC, GstElement)

GST_ELEMENT_REGISTER_DECLARE (ddnnsrc);

G_END_DECLS
