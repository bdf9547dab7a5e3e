/* ddnnaggregate: fuses the cameras' views of each sample.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstaggregator.h>

G_BEGIN_DECLS

#define GST_TYPE_DDNN_AGGREGATE (gst_ddnn_aggregate_get_type ())
G_DECLARE_FINAL_TYPE (
    GstDdnnAggregate, gst_ddnn_aggregate, GST, DDNN_AGGREGATE, GstAggregator)

GST_ELEMENT_REGISTER_DECLARE (ddnnaggregate);

G_END_DECLS
