/* ddnn-result: the answer for one sample, as an element message.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnresult.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

GstStructure *
gst_ddnn_result_new (const GstDdnnMeta *meta, const gchar *label)
{
  float probs[DDNN_MAX_CLASSES];
  guint cls = 0;

  if (meta->n_classes) {
    ddnn_softmax (meta->n_classes, meta->scores, probs);
    cls = ddnn_argmax (meta->n_classes, meta->scores);
  }
  return gst_structure_new (GST_DDNN_RESULT_NAME, "sample", G_TYPE_UINT64,
      meta->sample, "pts", G_TYPE_UINT64, (guint64) meta->pts, "class",
      G_TYPE_UINT, cls, "label", G_TYPE_STRING, label ? label : "",
      "confidence", G_TYPE_DOUBLE, meta->n_classes ? (double) probs[cls] : 0.0,
      "entropy", G_TYPE_DOUBLE, (double) meta->entropy, "tier", G_TYPE_STRING,
      ddnn_tier_name (meta->tier), "degraded", G_TYPE_BOOLEAN,
      meta->exit == GST_DDNN_EXIT_DEGRADED, "views", G_TYPE_UINT64,
      meta->view_mask, NULL);
}

struct _GstDdnnResultWriter
{
  gchar *path;
  FILE *file;
};

GstDdnnResultWriter *
gst_ddnn_result_writer_open (const gchar *path, GError **error)
{
  GstDdnnResultWriter *writer;
  FILE *file = g_fopen (path, "a");

  if (!file) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot open %s: %s", path, g_strerror (errno));
    return NULL;
  }
  writer = g_new0 (GstDdnnResultWriter, 1);
  writer->path = g_strdup (path);
  writer->file = file;
  return writer;
}

GstDdnnResultWriter *
gst_ddnn_element_open_results (GstElement *element, const gchar *path)
{
  GError *error = NULL;
  GstDdnnResultWriter *writer = gst_ddnn_result_writer_open (path, &error);

  if (!writer) {
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_WRITE,
        ("Cannot open the results file %s", path), ("%s", error->message));
    g_error_free (error);
  }
  return writer;
}

gboolean
gst_ddnn_result_writer_write (
    GstDdnnResultWriter *writer, const GstStructure *result, GError **error)
{
  g_autofree gchar *line = gst_ddnn_result_to_json (result);
  gsize length = strlen (line);

  /* one write of a whole line, so that appenders do not interleave */
  if (fwrite (line, 1, length, writer->file) != length ||
      fflush (writer->file) != 0) {
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
        "cannot write %s: %s", writer->path, g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

void
gst_ddnn_result_writer_close (GstDdnnResultWriter *writer)
{
  if (!writer)
    return;
  fclose (writer->file);
  g_free (writer->path);
  g_free (writer);
}

gboolean
gst_ddnn_answer (GstElement *element, GstPad *sinkpad, GstStructure *result,
    GstDdnnResultWriter *writer)
{
  GError *error = NULL;

  if (writer && !gst_ddnn_result_writer_write (writer, result, &error)) {
    GST_ELEMENT_WARNING (element, RESOURCE, WRITE, ("Cannot write a result"),
        ("%s", error->message));
    g_error_free (error);
  }
  if (sinkpad) {
    GstStructure *copy = gst_structure_copy (result);

    gst_structure_set_name (copy, GST_DDNN_ANSWER_EVENT);
    gst_pad_push_event (
        sinkpad, gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, copy));
  }
  return gst_element_post_message (
      element, gst_message_new_element (GST_OBJECT (element), result));
}

gboolean
gst_ddnn_post_result (GstElement *element, GstPad *sinkpad,
    const GstDdnnMeta *meta, const gchar *label, GstDdnnResultWriter *writer)
{
  return gst_ddnn_answer (
      element, sinkpad, gst_ddnn_result_new (meta, label), writer);
}

gboolean
gst_ddnn_answers_wanted (GstPad *sinkpad)
{
  GstQuery *query = gst_query_new_custom (
      GST_QUERY_CUSTOM, gst_structure_new_empty (GST_DDNN_ANSWERS_QUERY));
  gboolean wanted = gst_pad_peer_query (sinkpad, query);

  gst_query_unref (query);
  return wanted;
}

const GstStructure *
gst_ddnn_answer_event_get_result (GstEvent *event)
{
  const GstStructure *s;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM)
    return NULL;
  s = gst_event_get_structure (event);
  return s && gst_structure_has_name (s, GST_DDNN_ANSWER_EVENT) ? s : NULL;
}

GstStructure *
gst_ddnn_result_from_json (const gchar *json, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  JsonNode *root;
  static const gchar *ints[] = { "sample", "class", "views" };
  static const gchar *doubles[] = { "confidence", "entropy" };
  static const gchar *strings[] = { "label", "tier" };
  guint i;

  if (!json_parser_load_from_data (parser, json, -1, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root))
    goto bad;
  o = json_node_get_object (root);
  for (i = 0; i < G_N_ELEMENTS (ints); i++)
    if (!json_object_has_member (o, ints[i]) ||
        json_node_get_value_type (json_object_get_member (o, ints[i])) !=
            G_TYPE_INT64 ||
        json_object_get_int_member (o, ints[i]) < 0)
      goto bad;
  for (i = 0; i < G_N_ELEMENTS (doubles); i++)
    if (!json_object_has_member (o, doubles[i]) ||
        !JSON_NODE_HOLDS_VALUE (json_object_get_member (o, doubles[i])))
      goto bad;
  for (i = 0; i < G_N_ELEMENTS (strings); i++)
    if (!json_object_has_member (o, strings[i]) ||
        json_node_get_value_type (json_object_get_member (o, strings[i])) !=
            G_TYPE_STRING)
      goto bad;
  if (!json_object_has_member (o, "degraded") ||
      json_node_get_value_type (json_object_get_member (o, "degraded")) !=
          G_TYPE_BOOLEAN ||
      !json_object_has_member (o, "pts"))
    goto bad;
  return gst_structure_new (GST_DDNN_RESULT_NAME, "sample", G_TYPE_UINT64,
      (guint64) json_object_get_int_member (o, "sample"), "pts", G_TYPE_UINT64,
      json_object_get_null_member (o, "pts")
          ? GST_CLOCK_TIME_NONE
          : (guint64) json_object_get_int_member (o, "pts"),
      "class", G_TYPE_UINT, (guint) json_object_get_int_member (o, "class"),
      "label", G_TYPE_STRING, json_object_get_string_member (o, "label"),
      "confidence", G_TYPE_DOUBLE,
      json_object_get_double_member (o, "confidence"), "entropy", G_TYPE_DOUBLE,
      json_object_get_double_member (o, "entropy"), "tier", G_TYPE_STRING,
      json_object_get_string_member (o, "tier"), "degraded", G_TYPE_BOOLEAN,
      json_object_get_boolean_member (o, "degraded"), "views", G_TYPE_UINT64,
      (guint64) json_object_get_int_member (o, "views"), NULL);

bad:
  g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
      "not a ddnn-result line: %.80s", json);
  return NULL;
}

gchar *
gst_ddnn_result_to_json (const GstStructure *result)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *text = NULL;
  guint64 sample = 0, pts = GST_CLOCK_TIME_NONE, views = 0;
  guint cls = 0;
  gdouble confidence = 0, entropy = 0;
  gboolean degraded = FALSE;
  const gchar *label, *tier;

  gst_structure_get (result, "sample", G_TYPE_UINT64, &sample, "pts",
      G_TYPE_UINT64, &pts, "class", G_TYPE_UINT, &cls, "confidence",
      G_TYPE_DOUBLE, &confidence, "entropy", G_TYPE_DOUBLE, &entropy,
      "degraded", G_TYPE_BOOLEAN, &degraded, "views", G_TYPE_UINT64, &views,
      NULL);
  label = gst_structure_get_string (result, "label");
  tier = gst_structure_get_string (result, "tier");

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "sample");
  json_builder_add_int_value (b, (gint64) sample);
  json_builder_set_member_name (b, "pts");
  if (GST_CLOCK_TIME_IS_VALID (pts))
    json_builder_add_int_value (b, (gint64) pts);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "class");
  json_builder_add_int_value (b, cls);
  json_builder_set_member_name (b, "label");
  json_builder_add_string_value (b, label ? label : "");
  json_builder_set_member_name (b, "confidence");
  json_builder_add_double_value (b, confidence);
  json_builder_set_member_name (b, "entropy");
  json_builder_add_double_value (b, entropy);
  json_builder_set_member_name (b, "tier");
  json_builder_add_string_value (b, tier ? tier : "");
  json_builder_set_member_name (b, "degraded");
  json_builder_add_boolean_value (b, degraded);
  json_builder_set_member_name (b, "views");
  json_builder_add_int_value (b, (gint64) views);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  return g_strconcat (text, "\n", NULL);
}
