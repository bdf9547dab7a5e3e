/* ddnnreplay: plays a recorded camera as a live one on a shared clock.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_DDNN_REPLAY (gst_ddnn_replay_get_type ())
G_DECLARE_FINAL_TYPE (
    GstDdnnReplay, gst_ddnn_replay, GST, DDNN_REPLAY, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ddnnreplay);

G_END_DECLS
