/* ddnnsink: sends each sample's DDNN meta to a ddnnsrc over WebSocket.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasesink.h>

G_BEGIN_DECLS

#define GST_TYPE_DDNN_SINK (gst_ddnn_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstDdnnSink, gst_ddnn_sink, GST, DDNN_SINK, GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE (ddnnsink);

G_END_DECLS
