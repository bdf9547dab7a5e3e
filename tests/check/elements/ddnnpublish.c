/* The answer record and ddnnpublish.  The record of a hand-made meta is
 * checked field by field against values worked out by hand (softmax of
 * (2, 0, 0) is e^2 / (e^2 + 2) = 0.786986 to 6 digits); a JSON line reads
 * back to the same line; lines with a missing, mistyped or contradictory
 * field are refused naming it; labels with quotes and control characters
 * stay valid JSON.  ddnnpublish (method=file) writes the record riding on
 * a buffer and the record of an answer event coming up, lets buffers and
 * events through untouched, asks for answers, counts what it wrote, and
 * refuses bad settings with an error naming them.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <gstddnnresult.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define MODEL_ID                                                               \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* A device answer of 3 classes, scores (2, 0, 0), cameras 0 and 2. */
static GstBuffer *
answered (guint64 sample)
{
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (buffer, MODEL_ID, 3);

  meta->sample = sample;
  meta->pts = sample * 40 * GST_MSECOND;
  meta->view_mask = 0x5;
  meta->scores[0] = 2.0f;
  meta->entropy = 0.25f;
  meta->tier = DDNN_TIER_DEVICE;
  meta->exit = GST_DDNN_EXIT_LOCAL;
  return buffer;
}

/* The line without its time (checked apart: 2026-12-01T22:53:54.123Z). */
static gchar *
timeless (const gchar *line)
{
  const gchar *prefix = "{\"time\":\"";

  fail_unless (g_str_has_prefix (line, prefix), "%s", line);
  line += strlen (prefix);
  fail_unless (g_regex_match_simple (
                   "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z\",",
                   line, 0, 0),
      "%s", line);
  return g_strdup (line + 26);
}

GST_START_TEST (test_record_fields)
{
  GstBuffer *buffer = answered (7);
  GstStructure *s = gst_ddnn_result_new (
      gst_buffer_get_ddnn_meta (buffer), "Dress", "lab-1", 12.5);
  gchar *line = gst_ddnn_result_to_json (s), *rest = timeless (line);
  const GValue *cameras = gst_structure_get_value (s, "cameras");

  fail_unless_equals_string (rest,
      "\"site\":\"lab-1\",\"model\":\"0123456789abcdef\",\"sample\":7,"
      "\"pts\":280000000,\"class\":0,\"label\":\"Dress\","
      "\"confidence\":0.786986,\"entropy\":0.25,\"tier\":\"device\","
      "\"cameras\":[0,2],\"views\":5,\"degraded\":false,\"latency_ms\":12.5}"
      "\n");
  /* the message has the list as an array of ints */
  fail_unless (GST_VALUE_HOLDS_ARRAY (cameras));
  fail_unless_equals_int (gst_value_array_get_size (cameras), 2);
  fail_unless_equals_int (
      g_value_get_int (gst_value_array_get_value (cameras, 1)), 2);
  g_free (rest);
  g_free (line);
  gst_structure_free (s);

  /* latency unknown: absent from the message, null in the line; the site
   * defaults to the host name */
  s = gst_ddnn_result_new (gst_buffer_get_ddnn_meta (buffer), NULL, NULL, -1);
  fail_if (gst_structure_has_field (s, "latency_ms"));
  fail_unless_equals_string (
      gst_structure_get_string (s, "site"), g_get_host_name ());
  line = gst_ddnn_result_to_json (s);
  fail_unless (strstr (line, "\"latency_ms\":null}") != NULL, "%s", line);
  fail_unless (strstr (line, "\"label\":\"\"") != NULL, "%s", line);
  g_free (line);
  gst_structure_free (s);
  gst_buffer_unref (buffer);
}

GST_END_TEST;

GST_START_TEST (test_record_round_trip)
{
  GstBuffer *buffer = answered (3);
  GstStructure *s = gst_ddnn_result_new (
      gst_buffer_get_ddnn_meta (buffer), "T-shirt/top", "lab", 0.125);
  gchar *line = gst_ddnn_result_to_json (s), *again;
  GError *error = NULL;
  GstStructure *back = gst_ddnn_result_from_json (line, &error);

  fail_unless (back != NULL, "%s", error ? error->message : "");
  again = gst_ddnn_result_to_json (back);
  fail_unless_equals_string (again, line);
  g_free (again);
  gst_structure_free (back);

  /* no PTS: null, and back */
  gst_structure_set (s, "pts", G_TYPE_UINT64, GST_CLOCK_TIME_NONE, NULL);
  g_free (line);
  line = gst_ddnn_result_to_json (s);
  fail_unless (strstr (line, "\"pts\":null,") != NULL, "%s", line);
  back = gst_ddnn_result_from_json (line, &error);
  fail_unless (back != NULL, "%s", error ? error->message : "");
  again = gst_ddnn_result_to_json (back);
  fail_unless_equals_string (again, line);
  g_free (again);
  gst_structure_free (back);
  g_free (line);
  gst_structure_free (s);
  gst_buffer_unref (buffer);
}

GST_END_TEST;

GST_START_TEST (test_record_refused)
{
  static const struct
  {
    const gchar *from, *to, *named;
  } cases[] = {
    { "\"cameras\":[0,2]", "\"cameras\":[0,1]", "cameras and views" },
    { "\"cameras\":[0,2]", "\"cameras\":[0,64]", "cameras" },
    { "\"cameras\":[0,2]", "\"cameras\":\"0,2\"", "cameras" },
    { "\"sample\":3", "\"sample\":-3", "sample" },
    { "\"class\":0", "\"class\":\"0\"", "class" },
    { "\"class\":0", "\"class\":4294967296", "class" },
    { "\"degraded\":false", "\"degraded\":0", "degraded" },
    { "\"site\":\"lab\",", "", "site" },
    { "\"tier\":\"device\"", "\"tier\":null", "tier" },
    { "\"confidence\":0.786986", "\"confidence\":\"high\"", "confidence" },
  };
  GstBuffer *buffer = answered (3);
  GstStructure *s = gst_ddnn_result_new (
      gst_buffer_get_ddnn_meta (buffer), "x", "lab", 1);
  gchar *line = gst_ddnn_result_to_json (s);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar **parts = g_strsplit (line, cases[i].from, 2);
    gchar *bad;
    GError *error = NULL;

    fail_unless (parts[1] != NULL, "%s not in %s", cases[i].from, line);
    bad = g_strjoin (cases[i].to, parts[0], parts[1], NULL);
    fail_if (gst_ddnn_result_from_json (bad, &error) != NULL, "%s", bad);
    fail_unless (error && strstr (error->message, cases[i].named), "%s: %s",
        bad, error ? error->message : "no error");
    g_clear_error (&error);
    g_free (bad);
    g_strfreev (parts);
  }
  g_free (line);
  gst_structure_free (s);
  gst_buffer_unref (buffer);
}

GST_END_TEST;

GST_START_TEST (test_record_escapes)
{
  GstBuffer *buffer = answered (1);
  const gchar *label = "say \"hi\"\\\n\tnow";
  GstStructure *s = gst_ddnn_result_new (
      gst_buffer_get_ddnn_meta (buffer), label, "l", 1);
  gchar *line = gst_ddnn_result_to_json (s);
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;

  /* one line, parsed by another JSON reader to the same label */
  fail_unless (strchr (line, '\n') == line + strlen (line) - 1);
  fail_unless (json_parser_load_from_data (parser, line, -1, &error), "%s",
      error ? error->message : "");
  fail_unless_equals_string (
      json_object_get_string_member (
          json_node_get_object (json_parser_get_root (parser)), "label"),
      label);
  g_object_unref (parser);
  g_free (line);
  gst_structure_free (s);
  gst_buffer_unref (buffer);
}

GST_END_TEST;

static gchar *
temp_path (void)
{
  gchar *dir = g_dir_make_tmp ("ddnnpublish-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "answers.jsonl", NULL);

  g_free (dir);
  return path;
}

static void
remove_temp (gchar *path)
{
  gchar *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

GST_START_TEST (test_publish_file)
{
  gchar *path = temp_path (), *text, *want, *line, *line2;
  gchar *launch = g_strdup_printf (
      "ddnnpublish name=pub method=file location=%s", path);
  GstHarness *h = gst_harness_new_parse (launch);
  GstBuffer *buffer = answered (1), *out;
  GstStructure *record, *event_record, *stats;
  GstQuery *query;
  guint64 published = 0, dropped = 9;
  GstEvent *event;

  g_free (launch);
  gst_harness_set_src_caps_str (h, "application/x-ddnn");

  /* asked whether anyone takes answers back: it does */
  query = gst_query_new_custom (
      GST_QUERY_CUSTOM, gst_structure_new_empty (GST_DDNN_ANSWERS_QUERY));
  fail_unless (gst_pad_peer_query (h->sinkpad, query));
  gst_query_unref (query);

  /* a record riding on a buffer; a buffer without one writes nothing */
  record = gst_ddnn_result_new (
      gst_buffer_get_ddnn_meta (buffer), "Dress", "lab", 3.5);
  gst_buffer_add_ddnn_result (buffer, record);
  fail_unless_equals_int (gst_harness_push (h, buffer), GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless (out == buffer);
  fail_unless (
      gst_structure_is_equal (gst_buffer_get_ddnn_result (out), record));
  gst_buffer_unref (out);
  fail_unless_equals_int (gst_harness_push (h, answered (2)), GST_FLOW_OK);
  gst_buffer_unref (gst_harness_pull (h));

  /* an answer coming up from downstream, which goes on up */
  event_record = gst_structure_copy (record);
  gst_structure_set (event_record, "sample", G_TYPE_UINT64, (guint64) 9, NULL);
  line = gst_ddnn_result_to_json (record);
  line2 = gst_ddnn_result_to_json (event_record);
  want = g_strconcat (line, line2, NULL);
  gst_structure_set_name (event_record, GST_DDNN_ANSWER_EVENT);
  fail_unless (gst_harness_push_upstream_event (
      h, gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, event_record)));
  while ((event = gst_harness_try_pull_upstream_event (h)) &&
      !gst_ddnn_answer_event_get_result (event))
    gst_event_unref (event);
  fail_unless (event != NULL, "the answer event did not go on up");
  gst_event_unref (event);

  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  fail_unless_equals_string (text, want);
  {
    GstElement *pub = gst_bin_get_by_name (GST_BIN (h->element), "pub");

    g_object_get (pub, "stats", &stats, NULL);
    gst_object_unref (pub);
  }
  fail_unless (gst_structure_get_uint64 (stats, "published", &published));
  fail_unless (gst_structure_get_uint64 (stats, "dropped", &dropped));
  fail_unless_equals_uint64 (published, 2);
  fail_unless_equals_uint64 (dropped, 0);
  gst_structure_free (stats);
  g_free (text);
  g_free (want);
  g_free (line);
  g_free (line2);
  gst_structure_free (record);
  gst_harness_teardown (h);
  remove_temp (path);
}

GST_END_TEST;

/* Whether starting ddnnpublish with @settings fails with an error whose
 * text holds @named. */
static void
refused (const gchar *settings, const gchar *named)
{
  gchar *line = g_strdup_printf (
      "fakesrc num-buffers=1 ! ddnnpublish %s ! fakesink", settings);
  GstElement *pipeline = gst_parse_launch (line, NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  fail_unless_equals_int (gst_element_set_state (pipeline, GST_STATE_PAUSED),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "%s: no error", settings);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (strstr (error->message, named) || strstr (debug, named),
      "%s: %s (%s)", settings, error->message, debug);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_free (line);
}

GST_START_TEST (test_publish_bad_settings)
{
  refused ("method=file", "location");
  refused ("method=file location=/nonexistent/dir/a.jsonl", "/nonexistent");
  refused ("method=mqtt address=broker:99999", "broker:99999");
  refused ("method=mqtt address=:1883", "no host");
  refused ("method=mqtt topic=site/#", "site/#");
  refused (
      "method=mqtt tls-ca-file=/ca.pem tls-cert-file=/c.pem", "tls-key-file");
  refused ("method=mqtt password-file=/nonexistent/pw", "/nonexistent/pw");
}

GST_END_TEST;

static Suite *
ddnnpublish_suite (void)
{
  Suite *s = suite_create ("ddnnpublish");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_record_fields);
  tcase_add_test (tc, test_record_round_trip);
  tcase_add_test (tc, test_record_refused);
  tcase_add_test (tc, test_record_escapes);
  tcase_add_test (tc, test_publish_file);
  tcase_add_test (tc, test_publish_bad_settings);
  return s;
}

GST_CHECK_MAIN (ddnnpublish);
