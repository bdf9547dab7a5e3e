/* ddnnpublish: sends each answer that passes it to a file or an MQTT broker.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

/**
 * GstDdnnPublishMethod:
 * @GST_DDNN_PUBLISH_FILE: JSON lines appended to a file
 * @GST_DDNN_PUBLISH_MQTT: one MQTT message a record (libmosquitto)
 */
typedef enum
{
  GST_DDNN_PUBLISH_FILE,
  GST_DDNN_PUBLISH_MQTT,
} GstDdnnPublishMethod;

#define GST_TYPE_DDNN_PUBLISH (gst_ddnn_publish_get_type ())
G_DECLARE_FINAL_TYPE (
    GstDdnnPublish, gst_ddnn_publish, GST, DDNN_PUBLISH, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ddnnpublish);

G_END_DECLS
