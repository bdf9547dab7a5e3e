/* ddnn-result: the answer for one sample, as an element message.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnresult.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The answering time, UTC, as 2026-12-01T22:53:54.123Z. */
static gchar *
utc_now (void)
{
  gint64 us = g_get_real_time ();
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  g_autofree gchar *seconds = g_date_time_format (t, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf (
      "%s.%03dZ", seconds, (gint) (us % G_USEC_PER_SEC / 1000));
}

static GValue *
cameras_value (GValue *array, guint64 views)
{
  guint v;

  g_value_init (array, GST_TYPE_ARRAY);
  for (v = 0; v < 64; v++) {
    if (views >> v & 1) {
      GValue camera = G_VALUE_INIT;

      g_value_init (&camera, G_TYPE_INT);
      g_value_set_int (&camera, (gint) v);
      gst_value_array_append_and_take_value (array, &camera);
    }
  }
  return array;
}

GstStructure *
gst_ddnn_result_new (const GstDdnnMeta *meta, const gchar *label,
    const gchar *site, gdouble latency_ms)
{
  float probs[DDNN_MAX_CLASSES];
  guint cls = 0;
  g_autofree gchar *time = utc_now ();
  gchar model[17];
  GValue cameras = G_VALUE_INIT;
  GstStructure *s;

  if (meta->n_classes) {
    ddnn_softmax (meta->n_classes, meta->scores, probs);
    cls = ddnn_argmax (meta->n_classes, meta->scores);
  }
  g_strlcpy (model, meta->model_id, sizeof (model));
  s = gst_structure_new (GST_DDNN_RESULT_NAME, "time", G_TYPE_STRING, time,
      "site", G_TYPE_STRING, site ? site : g_get_host_name (), "model",
      G_TYPE_STRING, model, "sample", G_TYPE_UINT64, meta->sample, "pts",
      G_TYPE_UINT64, (guint64) meta->pts, "class", G_TYPE_UINT, cls, "label",
      G_TYPE_STRING, label ? label : "", "confidence", G_TYPE_DOUBLE,
      meta->n_classes ? (double) probs[cls] : 0.0, "entropy", G_TYPE_DOUBLE,
      (double) meta->entropy, "tier", G_TYPE_STRING,
      ddnn_tier_name (meta->tier), NULL);
  gst_structure_take_value (
      s, "cameras", cameras_value (&cameras, meta->view_mask));
  gst_structure_set (s, "views", G_TYPE_UINT64, meta->view_mask, "degraded",
      G_TYPE_BOOLEAN, meta->exit == GST_DDNN_EXIT_DEGRADED, NULL);
  if (latency_ms >= 0)
    gst_structure_set (s, "latency_ms", G_TYPE_DOUBLE, latency_ms, NULL);
  return s;
}

gdouble
gst_ddnn_element_latency_ms (GstElement *element, GstClockTime capture)
{
  GstClock *clock;
  GstClockTime now;

  if (!GST_CLOCK_TIME_IS_VALID (capture) ||
      !(clock = gst_element_get_clock (element)))
    return -1;
  now = gst_clock_get_time (clock);
  gst_object_unref (clock);
  if (!GST_CLOCK_TIME_IS_VALID (now) || now < capture ||
      now - capture > 3600 * GST_SECOND)
    return -1;
  return (gdouble) (now - capture) / GST_MSECOND;
}

static const GstMetaInfo *
result_meta_info (void)
{
  static const GstMetaInfo *info = NULL;
  /* no tags: the record describes the sample, not the pixels */
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&info)) {
    const GstMetaInfo *registered = gst_meta_register_custom (
        GST_DDNN_RESULT_META_NAME, tags, NULL, NULL, NULL);

    g_once_init_leave (&info, registered);
  }
  return info;
}

static gboolean
copy_field (GQuark field, const GValue *value, gpointer dest)
{
  gst_structure_id_set_value (dest, field, value);
  return TRUE;
}

void
gst_buffer_add_ddnn_result (GstBuffer *buffer, const GstStructure *result)
{
  GstCustomMeta *meta;
  GstStructure *s;

  result_meta_info ();
  meta = gst_buffer_add_custom_meta (buffer, GST_DDNN_RESULT_META_NAME);
  s = gst_custom_meta_get_structure (meta);
  /* the custom meta owns an empty structure named after it: the record
   * goes in, under the record's name */
  gst_structure_set_name (s, gst_structure_get_name (result));
  gst_structure_foreach (result, copy_field, s);
}

const GstStructure *
gst_buffer_get_ddnn_result (GstBuffer *buffer)
{
  GstCustomMeta *meta;

  result_meta_info ();
  meta = gst_buffer_get_custom_meta (buffer, GST_DDNN_RESULT_META_NAME);
  return meta ? gst_custom_meta_get_structure (meta) : NULL;
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
gst_ddnn_post_result (GstElement *element, GstPad *sinkpad, GstBuffer *buffer,
    const GstDdnnMeta *meta, const gchar *label, const gchar *site,
    GstDdnnResultWriter *writer)
{
  GstStructure *result = gst_ddnn_result_new (meta, label, site,
      gst_ddnn_element_latency_ms (element, meta->capture_time));

  if (buffer)
    gst_buffer_add_ddnn_result (buffer, result);
  return gst_ddnn_answer (element, sinkpad, result, writer);
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

/* The record's fields, in the order the JSON line gives them. */
typedef enum
{
  FIELD_STRING,
  FIELD_UINT64,
  FIELD_UINT,
  FIELD_DOUBLE,
  FIELD_BOOLEAN,
  FIELD_CAMERAS,
} FieldKind;

static const struct
{
  const gchar *name;
  FieldKind kind;
  /* JSON null allowed (absent in the structure, or NONE for pts) */
  gboolean nullable;
} fields[] = {
  { "time", FIELD_STRING, FALSE },
  { "site", FIELD_STRING, FALSE },
  { "model", FIELD_STRING, FALSE },
  { "sample", FIELD_UINT64, FALSE },
  { "pts", FIELD_UINT64, TRUE },
  { "class", FIELD_UINT, FALSE },
  { "label", FIELD_STRING, FALSE },
  { "confidence", FIELD_DOUBLE, FALSE },
  { "entropy", FIELD_DOUBLE, FALSE },
  { "tier", FIELD_STRING, FALSE },
  { "cameras", FIELD_CAMERAS, FALSE },
  { "views", FIELD_UINT64, FALSE },
  { "degraded", FIELD_BOOLEAN, FALSE },
  { "latency_ms", FIELD_DOUBLE, TRUE },
};

static gboolean
bad (GError **error, const gchar *json, const gchar *why, const gchar *field)
{
  g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
      "not a ddnn-result line (%s %s): %.80s", field, why, json);
  return FALSE;
}

static gboolean
take_field (
    GstStructure *s, JsonObject *o, guint i, const gchar *json, GError **error)
{
  const gchar *name = fields[i].name;
  JsonNode *node = json_object_get_member (o, name);
  GType type;

  if (!node)
    return bad (error, json, "is missing", name);
  if (JSON_NODE_HOLDS_NULL (node)) {
    if (!fields[i].nullable)
      return bad (error, json, "is null", name);
    if (fields[i].kind == FIELD_UINT64)
      gst_structure_set (s, name, G_TYPE_UINT64, GST_CLOCK_TIME_NONE, NULL);
    return TRUE;
  }
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                      : G_TYPE_INVALID;
  switch (fields[i].kind) {
    case FIELD_STRING:
      if (type != G_TYPE_STRING)
        return bad (error, json, "is not a string", name);
      gst_structure_set (
          s, name, G_TYPE_STRING, json_node_get_string (node), NULL);
      return TRUE;
    case FIELD_UINT64:
    case FIELD_UINT:
      if (type != G_TYPE_INT64 || json_node_get_int (node) < 0 ||
          (fields[i].kind == FIELD_UINT &&
              json_node_get_int (node) > G_MAXUINT))
        return bad (error, json, "is not a count", name);
      if (fields[i].kind == FIELD_UINT)
        gst_structure_set (
            s, name, G_TYPE_UINT, (guint) json_node_get_int (node), NULL);
      else
        gst_structure_set (
            s, name, G_TYPE_UINT64, (guint64) json_node_get_int (node), NULL);
      return TRUE;
    case FIELD_DOUBLE:
      if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64)
        return bad (error, json, "is not a number", name);
      gst_structure_set (
          s, name, G_TYPE_DOUBLE, json_node_get_double (node), NULL);
      return TRUE;
    case FIELD_BOOLEAN:
      if (type != G_TYPE_BOOLEAN)
        return bad (error, json, "is not true or false", name);
      gst_structure_set (
          s, name, G_TYPE_BOOLEAN, json_node_get_boolean (node), NULL);
      return TRUE;
    case FIELD_CAMERAS: {
      JsonArray *a;
      GValue cameras = G_VALUE_INIT;
      guint n, k;

      if (!JSON_NODE_HOLDS_ARRAY (node))
        return bad (error, json, "is not a list", name);
      a = json_node_get_array (node);
      n = json_array_get_length (a);
      if (n > 64)
        return bad (error, json, "lists too many", name);
      g_value_init (&cameras, GST_TYPE_ARRAY);
      for (k = 0; k < n; k++) {
        JsonNode *e = json_array_get_element (a, k);
        GValue camera = G_VALUE_INIT;

        if (!JSON_NODE_HOLDS_VALUE (e) ||
            json_node_get_value_type (e) != G_TYPE_INT64 ||
            json_node_get_int (e) < 0 || json_node_get_int (e) > 63) {
          g_value_unset (&cameras);
          return bad (error, json, "holds a bad camera", name);
        }
        g_value_init (&camera, G_TYPE_INT);
        g_value_set_int (&camera, (gint) json_node_get_int (e));
        gst_value_array_append_and_take_value (&cameras, &camera);
      }
      gst_structure_take_value (s, name, &cameras);
      return TRUE;
    }
  }
  g_return_val_if_reached (FALSE);
}

/* The cameras list and the views mask must say the same. */
static guint64
cameras_mask (const GstStructure *s)
{
  const GValue *cameras = gst_structure_get_value (s, "cameras");
  guint64 mask = 0;
  guint k;

  for (k = 0; cameras && k < gst_value_array_get_size (cameras); k++)
    mask |= G_GUINT64_CONSTANT (1)
        << g_value_get_int (gst_value_array_get_value (cameras, k));
  return mask;
}

GstStructure *
gst_ddnn_result_from_json (const gchar *json, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *o;
  GstStructure *s;
  guint64 views = 0;
  guint i;

  if (!json_parser_load_from_data (parser, json, -1, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    bad (error, json, "is not an object", "the line");
    return NULL;
  }
  o = json_node_get_object (root);
  s = gst_structure_new_empty (GST_DDNN_RESULT_NAME);
  for (i = 0; i < G_N_ELEMENTS (fields); i++) {
    if (!take_field (s, o, i, json, error)) {
      gst_structure_free (s);
      return NULL;
    }
  }
  gst_structure_get_uint64 (s, "views", &views);
  if (cameras_mask (s) != views) {
    bad (error, json, "disagree", "cameras and views");
    gst_structure_free (s);
    return NULL;
  }
  return s;
}

/* @value as a JSON string, escaped, into @out. */
static void
put_string (GString *out, const gchar *value)
{
  g_autofree gchar *valid = g_utf8_make_valid (value ? value : "", -1);
  const gchar *p;

  g_string_append_c (out, '"');
  for (p = valid; *p; p++) {
    guchar c = (guchar) *p;

    if (c == '"' || c == '\\')
      g_string_append_printf (out, "\\%c", c);
    else if (c < 0x20)
      g_string_append_printf (out, "\\u%04x", c);
    else
      g_string_append_c (out, (gchar) c);
  }
  g_string_append_c (out, '"');
}

/* A double to 6 significant digits, whatever the locale; JSON has no
 * infinities or NaN, so they print as null. */
static void
put_double (GString *out, gdouble value)
{
  gchar text[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value)) {
    g_string_append (out, "null");
    return;
  }
  g_string_append (out, g_ascii_formatd (text, sizeof (text), "%.6g", value));
}

gchar *
gst_ddnn_result_to_json (const GstStructure *result)
{
  GString *out = g_string_sized_new (320);
  guint i;

  g_string_append_c (out, '{');
  for (i = 0; i < G_N_ELEMENTS (fields); i++) {
    const gchar *name = fields[i].name;
    const GValue *value = gst_structure_get_value (result, name);

    if (i)
      g_string_append_c (out, ',');
    put_string (out, name);
    g_string_append_c (out, ':');
    if (!value) {
      /* a record made before a field existed, or a field it has not got:
       * strings empty, numbers null */
      g_string_append (out, fields[i].kind == FIELD_STRING ? "\"\"" : "null");
      continue;
    }
    switch (fields[i].kind) {
      case FIELD_STRING:
        put_string (out,
            G_VALUE_HOLDS_STRING (value) ? g_value_get_string (value) : "");
        break;
      case FIELD_UINT64: {
        guint64 v = G_VALUE_HOLDS_UINT64 (value) ? g_value_get_uint64 (value)
                                                 : GST_CLOCK_TIME_NONE;

        if (fields[i].nullable && !GST_CLOCK_TIME_IS_VALID (v))
          g_string_append (out, "null");
        else
          g_string_append_printf (out, "%" G_GUINT64_FORMAT, v);
        break;
      }
      case FIELD_UINT:
        g_string_append_printf (out, "%u",
            G_VALUE_HOLDS_UINT (value) ? g_value_get_uint (value) : 0);
        break;
      case FIELD_DOUBLE:
        put_double (out,
            G_VALUE_HOLDS_DOUBLE (value) ? g_value_get_double (value) : NAN);
        break;
      case FIELD_BOOLEAN:
        g_string_append (out,
            G_VALUE_HOLDS_BOOLEAN (value) && g_value_get_boolean (value)
                ? "true"
                : "false");
        break;
      case FIELD_CAMERAS: {
        guint k,
            n = GST_VALUE_HOLDS_ARRAY (value) ? gst_value_array_get_size (value)
                                              : 0;

        g_string_append_c (out, '[');
        for (k = 0; k < n; k++) {
          const GValue *camera = gst_value_array_get_value (value, k);

          g_string_append_printf (out, "%s%d", k ? "," : "",
              G_VALUE_HOLDS_INT (camera) ? g_value_get_int (camera) : -1);
        }
        g_string_append_c (out, ']');
        break;
      }
    }
  }
  g_string_append (out, "}\n");
  return g_string_free (out, FALSE);
}
