/* ddnn-result: the answer for one sample, as an element message.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstddnnmeta.h"

G_BEGIN_DECLS

#define GST_DDNN_RESULT_NAME "ddnn-result"

/* The structure of a ddnn-result message: sample (guint64), pts (guint64),
 * class (guint), label (string, "" when unknown), confidence (double: the
 * winning class's probability), entropy (double), tier (string: device,
 * edge or cloud), degraded (boolean), views (guint64 mask). */
GstStructure *gst_ddnn_result_new (const GstDdnnMeta *meta, const gchar *label);

/* Posts it from @element. */
gboolean gst_ddnn_post_result (
    GstElement *element, const GstDdnnMeta *meta, const gchar *label);

/* One JSON line (with its newline) for a ddnn-result structure. */
gchar *gst_ddnn_result_to_json (const GstStructure *result);

G_END_DECLS
