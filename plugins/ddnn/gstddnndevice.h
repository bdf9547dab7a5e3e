/* ddnndevice: a DDNN's device section on one camera's frames.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_DDNN_DEVICE (gst_ddnn_device_get_type ())
G_DECLARE_FINAL_TYPE (
    GstDdnnDevice, gst_ddnn_device, GST, DDNN_DEVICE, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ddnndevice);

G_END_DECLS
