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

typedef struct _GstDdnnResultWriter GstDdnnResultWriter;

/* Appends ddnn-result JSON lines to a file (created if need be); several
 * elements may append to one file, a whole line at a time. */
GstDdnnResultWriter *gst_ddnn_result_writer_open (
    const gchar *path, GError **error);
gboolean gst_ddnn_result_writer_write (
    GstDdnnResultWriter *writer, const GstStructure *result, GError **error);
/* The same for @element: a file that cannot be opened posts a RESOURCE
 * error naming it, and gives NULL. */
GstDdnnResultWriter *gst_ddnn_element_open_results (
    GstElement *element, const gchar *path);
void gst_ddnn_result_writer_close (GstDdnnResultWriter *writer);

/* Posts it from @element, and writes it to @writer when there is one. */
gboolean gst_ddnn_post_result (GstElement *element, const GstDdnnMeta *meta,
    const gchar *label, GstDdnnResultWriter *writer);

/* One JSON line (with its newline) for a ddnn-result structure. */
gchar *gst_ddnn_result_to_json (const GstStructure *result);

G_END_DECLS
