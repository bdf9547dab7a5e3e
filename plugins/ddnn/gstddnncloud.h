/* ddnncloud: an upper section (edge or cloud) of a DDNN on fused samples.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DDNN_CLOUD (gst_ddnn_cloud_get_type ())
G_DECLARE_FINAL_TYPE (GstDdnnCloud, gst_ddnn_cloud, GST, DDNN_CLOUD, GstElement)

GST_ELEMENT_REGISTER_DECLARE (ddnncloud);

G_END_DECLS
