/* ddnnaggregate: fuses the cameras' views of each sample.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstaggregator.h>

G_BEGIN_DECLS

/**
 * GstDdnnFusionMode:
 * @GST_DDNN_FUSION_MODE_MODEL: the model's own fusion, as it was trained
 * @GST_DDNN_FUSION_MODE_MAX: element-wise maximum over the views
 * @GST_DDNN_FUSION_MODE_AVG: average over the views
 * @GST_DDNN_FUSION_MODE_CONCAT: concatenation in view order
 */
typedef enum
{
  GST_DDNN_FUSION_MODE_MODEL,
  GST_DDNN_FUSION_MODE_MAX,
  GST_DDNN_FUSION_MODE_AVG,
  GST_DDNN_FUSION_MODE_CONCAT,
} GstDdnnFusionMode;

/**
 * GstDdnnAlign:
 * @GST_DDNN_ALIGN_SAMPLE_NUMBER: views with equal sample numbers are fused
 * @GST_DDNN_ALIGN_RUNNING_TIME: views whose buffers overlap in running time
 *   are fused
 * @GST_DDNN_ALIGN_CAPTURE_TIME: views whose capture times (on a clock the
 *   cameras share) lie within the tolerance are fused
 */
typedef enum
{
  GST_DDNN_ALIGN_SAMPLE_NUMBER,
  GST_DDNN_ALIGN_RUNNING_TIME,
  GST_DDNN_ALIGN_CAPTURE_TIME,
} GstDdnnAlign;

#define GST_TYPE_DDNN_FUSION_MODE (gst_ddnn_fusion_mode_get_type ())
GType gst_ddnn_fusion_mode_get_type (void);
#define GST_TYPE_DDNN_ALIGN (gst_ddnn_align_get_type ())
GType gst_ddnn_align_get_type (void);

#define GST_TYPE_DDNN_AGGREGATE (gst_ddnn_aggregate_get_type ())
G_DECLARE_FINAL_TYPE (
    GstDdnnAggregate, gst_ddnn_aggregate, GST, DDNN_AGGREGATE, GstAggregator)

GST_ELEMENT_REGISTER_DECLARE (ddnnaggregate);

G_END_DECLS
