/* ddnn-result: the answer for one sample, as an element message.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "gstddnnmeta.h"

G_BEGIN_DECLS

#define GST_DDNN_RESULT_NAME "ddnn-result"

/* The record of one answer, the same wherever it goes (the ddnn-result
 * element message, the results file, ddnnpublish's file and MQTT
 * messages, the answers sent back over a link).  Its fields, in order:
 *   time        string   when it was answered, UTC, ISO 8601 to the ms
 *   site        string   the answering element's site (default: host name)
 *   model       string   the model id's first 16 hex digits
 *   sample      guint64  the sample number
 *   pts         guint64  the sample's PTS (JSON null when unknown)
 *   class       guint    the class index
 *   label       string   its name ("" when unknown)
 *   confidence  double   the winning class's probability
 *   entropy     double   normalized entropy of the answer's scores
 *   tier        string   device, edge or cloud
 *   cameras     array    the views that took part (GstValueArray of gint)
 *   views       guint64  the same as a bit mask
 *   degraded    boolean  the next tier could not answer in time
 *   latency_ms  double   capture to answer on one clock; absent (JSON null)
 *                        when unknown
 * JSON lines print confidence, entropy and latency to 6 significant
 * digits. */
GstStructure *gst_ddnn_result_new (const GstDdnnMeta *meta, const gchar *label,
    const gchar *site, gdouble latency_ms);

/* Milliseconds from @capture to now on @element's clock, or -1 when
 * either is unknown or the two cannot be on one clock (now before the
 * capture, or more than an hour after it). */
gdouble gst_ddnn_element_latency_ms (GstElement *element, GstClockTime capture);

/* A record rides on the buffer of the sample it answers (a custom meta,
 * "GstDdnnResultMeta"), so that an element downstream of an exit
 * (ddnnpublish) can take it. */
#define GST_DDNN_RESULT_META_NAME "GstDdnnResultMeta"
void gst_buffer_add_ddnn_result (GstBuffer *buffer, const GstStructure *result);
const GstStructure *gst_buffer_get_ddnn_result (GstBuffer *buffer);

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

/* Makes the record of @meta's answer (@site: NULL for the host name),
 * attaches it to @buffer (if given; writable), posts it from @element,
 * writes it to @writer when there is one, and sends it upstream from
 * @sinkpad (if given) as an answer event. */
gboolean gst_ddnn_post_result (GstElement *element, GstPad *sinkpad,
    GstBuffer *buffer, const GstDdnnMeta *meta, const gchar *label,
    const gchar *site, GstDdnnResultWriter *writer);

/* One JSON line (with its newline) for a ddnn-result structure. */
gchar *gst_ddnn_result_to_json (const GstStructure *result);
/* The structure back from such a line; NULL, with the reason, if it is not
 * one (every field is checked). */
GstStructure *gst_ddnn_result_from_json (const gchar *json, GError **error);

/* Answers travel back up the pipeline as custom upstream events carrying
 * the ddnn-result structure, so that a ddnnsrc can return each answer to
 * the host whose sample it was. */
#define GST_DDNN_ANSWER_EVENT "ddnn-answer"

/* Whether anything upstream of @sinkpad returns answers to other hosts (a
 * ddnnsrc answers the custom query "ddnn-answers-wanted"), so that answer
 * events are sent only where someone takes them. */
#define GST_DDNN_ANSWERS_QUERY "ddnn-answers-wanted"
gboolean gst_ddnn_answers_wanted (GstPad *sinkpad);

/* Posts @result (taken) from @element, writes it to @writer if any, and,
 * when @sinkpad is given, sends it upstream from there as an answer
 * event. */
gboolean gst_ddnn_answer (GstElement *element, GstPad *sinkpad,
    GstStructure *result, GstDdnnResultWriter *writer);
/* Features on demand: a tier that needs the features of a sample whose
 * scores came alone sends GST_DDNN_FEATURES_REQUEST upstream (fields
 * "sample", guint64, and "views", guint64 mask); the features come back
 * down as out-of-band GST_DDNN_FEATURES_REPLY events, one a view (fields
 * "sample", guint64, "view", gint, and "frame", a GstBuffer holding a
 * features-only wire frame). */
#define GST_DDNN_FEATURES_REQUEST "ddnn-features"
#define GST_DDNN_FEATURES_REPLY "ddnn-features-reply"

/* A camera says what it will send before its first frame: ddnndevice
 * sends this sticky custom downstream event once its caps are set
 * (fields "model-id", string; "view", gint; "classes", guint; "int8",
 * boolean: the wire's score encoding; "features-dtype", gint, a DdnnDtype;
 * "features-shape", a string such as "8x8x8"), so that a ddnnsink can open
 * its link, and announce it, before the first sample. */
#define GST_DDNN_CAMERA_EVENT "ddnn-camera"
/* ddnnsrc sends this serialized custom downstream event on a camera's pad
 * when a camera connects (field "view", gint), so that an aggregator waits
 * for its first frame. */
#define GST_DDNN_CAMERA_CONNECTED "ddnn-camera-connected"

/* The result an answer event carries, or NULL if it is no answer event. */
const GstStructure *gst_ddnn_answer_event_get_result (GstEvent *event);

G_END_DECLS
