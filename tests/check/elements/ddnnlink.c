/* ddnnsink -> ddnnsrc on 127.0.0.1 (port 0): the handshake and link frames
 * carry a camera's samples, which come out of the source as file frames
 * equal to what was sent; acknowledgements are cumulative (fewer ack
 * messages than frames); a sink that announces another model is refused
 * with a warning naming both; heartbeat=0 does not make the source drop
 * the link.  The sink is driven by GstHarness; the source sits in a
 * pipeline with an appsink.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gstddnnframe.h>
#include <string.h>

static gchar *model_path;
static DdnnModel *model;

typedef struct
{
  GstElement *pipeline, *src, *appsink;
  gint port;
} Server;

static void
server_start (Server *server, const gchar *model_for_src)
{
  GError *error = NULL;
  gchar *line = g_strdup_printf (
      "ddnnsrc name=in port=0 address=127.0.0.1 token=t views=1 model=%s "
      "in.src_0 ! appsink name=out sync=false emit-signals=false "
      "max-buffers=0",
      model_for_src);

  server->pipeline = gst_parse_launch (line, &error);
  g_free (line);
  fail_unless (server->pipeline != NULL, "%s", error ? error->message : "");
  server->src = gst_bin_get_by_name (GST_BIN (server->pipeline), "in");
  server->appsink = gst_bin_get_by_name (GST_BIN (server->pipeline), "out");
  fail_unless (gst_element_set_state (server->pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  g_object_get (server->src, "bound-port", &server->port, NULL);
  fail_unless (server->port > 0);
}

static void
server_stop (Server *server)
{
  gst_element_set_state (server->pipeline, GST_STATE_NULL);
  gst_object_unref (server->src);
  gst_object_unref (server->appsink);
  gst_object_unref (server->pipeline);
}

static GstHarness *
camera (const Server *server, guint64 heartbeat)
{
  GstElement *sink = gst_element_factory_make ("ddnnsink", NULL);
  gchar *location = g_strdup_printf ("ws://127.0.0.1:%d/ddnn", server->port);
  GstHarness *h;

  /* set before the harness starts it; no preroll to wait for */
  g_object_set (sink, "location", location, "token", "t", "model", model_path,
      "heartbeat", heartbeat, "timeout", (guint64) 0, "async", FALSE, NULL);
  g_free (location);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_object_unref (sink);
  gst_harness_set_src_caps_str (h, "application/x-test");
  return h;
}

static GstBuffer *
camera_buffer (guint64 sample)
{
  DdnnSectionResult r = { 0 };
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (
      buffer, ddnn_model_get_id (model), ddnn_model_get_n_classes (model));
  guint8 pixels[1024];
  guint i;

  for (i = 0; i < sizeof (pixels); i++)
    pixels[i] = (guint8) (i * 7 + sample * 31);
  fail_unless (ddnn_section_run_image (ddnn_model_get_device_section (model, 0),
      pixels, 32, 32, 1, 32, &r, NULL));
  memcpy (meta->scores, r.scores, r.n_classes * sizeof (float));
  meta->entropy = r.entropy;
  meta->sample = sample;
  meta->view = 0;
  meta->view_mask = 1;
  meta->pts = sample * 33 * GST_MSECOND;
  meta->capture_time = 1000 * GST_SECOND + sample * 33 * GST_MSECOND;
  gst_ddnn_meta_set_features (meta, r.features);
  ddnn_section_result_clear (&r);
  GST_BUFFER_PTS (buffer) = meta->pts;
  return buffer;
}

static guint64
stat (GstElement *element, const gchar *field)
{
  GstStructure *stats = NULL;
  guint64 value = 0;

  g_object_get (element, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, field, &value), "%s", field);
  gst_structure_free (stats);
  return value;
}

/* 200 samples of camera 0 cross as link frames; each comes out as the file
 * frame the sink would have written itself. */
GST_START_TEST (test_link_frames)
{
  Server server;
  GstHarness *h;
  guint64 s;
  gint64 until;

  server_start (&server, model_path);
  h = camera (&server, GST_SECOND);
  for (s = 0; s < 200; s++)
    fail_unless_equals_int (
        gst_harness_push (h, camera_buffer (s)), GST_FLOW_OK);
  for (s = 0; s < 200; s++) {
    GstSample *sample = gst_app_sink_try_pull_sample (
        GST_APP_SINK (server.appsink), 10 * GST_SECOND);
    GstBuffer *got, *sent = camera_buffer (s);
    GstMapInfo map;
    GBytes *expect;
    gsize size;
    const guint8 *bytes;
    GstDdnnFrame frame;

    fail_unless (sample != NULL, "sample %" G_GUINT64_FORMAT " lost", s);
    got = gst_sample_get_buffer (sample);
    expect = gst_ddnn_frame_from_meta (
        gst_buffer_get_ddnn_meta (sent), TRUE, TRUE, NULL);
    bytes = g_bytes_get_data (expect, &size);
    gst_buffer_map (got, &map, GST_MAP_READ);
    fail_unless (gst_ddnn_frame_parse (map.data, map.size, &frame, NULL));
    fail_unless_equals_uint64 (frame.sample, s);
    fail_unless_equals_uint64 (
        frame.capture_time, 1000 * GST_SECOND + s * 33 * GST_MSECOND);
    /* the same bytes but the entropy (the receiver computes it from the
     * int8 scores) and the checksum */
    fail_unless_equals_int (map.size, size);
    fail_unless (memcmp (map.data, bytes, 48) == 0);
    fail_unless (memcmp (map.data + 52, bytes + 52, 8) == 0);
    fail_unless (memcmp (map.data + 64, bytes + 64, size - 64) == 0);
    gst_buffer_unmap (got, &map);
    g_bytes_unref (expect);
    gst_buffer_unref (sent);
    gst_sample_unref (sample);
  }
  /* every frame acknowledged, by fewer messages than frames */
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (stat (h->element, "acked") < 200 && g_get_monotonic_time () < until)
    g_usleep (10000);
  fail_unless_equals_uint64 (stat (h->element, "acked"), 200);
  fail_unless (stat (h->element, "acks") < 200);
  /* a camera's frame with its features is a few bytes over its payload */
  fail_unless (
      stat (h->element, "bytes") - stat (h->element, "payload-bytes") <=
      200 * 12);
  gst_harness_teardown (h);
  server_stop (&server);
}

GST_END_TEST;

/* A source serving another model refuses the camera before the upgrade;
 * the camera's bus says so, naming both models. */
GST_START_TEST (test_other_model_refused)
{
  g_autofree gchar *other = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-float.safetensors", NULL);
  Server server;
  GstHarness *h;
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;
  DdnnModel *m = ddnn_model_load (other, NULL);
  gchar prefix[17];

  server_start (&server, other);
  h = camera (&server, GST_SECOND);
  gst_element_set_bus (h->element, bus);
  gst_harness_push (h, camera_buffer (0));
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  gst_message_parse_warning (msg, &error, &debug);
  g_strlcpy (prefix, ddnn_model_get_id (m), sizeof (prefix));
  fail_unless (strstr (error->message, "refused the link") != NULL, "%s",
      error->message);
  fail_unless (strstr (error->message, prefix) != NULL, "%s", error->message);
  g_strlcpy (prefix, ddnn_model_get_id (model), sizeof (prefix));
  fail_unless (strstr (error->message, prefix) != NULL, "%s", error->message);
  fail_unless (strstr (debug, "409") != NULL);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  fail_unless_equals_uint64 (stat (server.src, "refused"), 1);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  server_stop (&server);
  ddnn_model_unref (m);
}

GST_END_TEST;

/* A sink with heartbeat=0 announces no beat: the source does not take its
 * silence for a dead link (it used to drop it every 3 s). */
GST_START_TEST (test_no_heartbeat)
{
  Server server;
  GstHarness *h;
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;

  server_start (&server, model_path);
  h = camera (&server, 0);
  gst_element_set_bus (h->element, bus);
  gst_harness_push (h, camera_buffer (0));
  g_usleep (4500 * 1000);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);

    fail_if (gst_structure_has_name (s, "ddnn-link") &&
            g_strcmp0 (gst_structure_get_string (s, "event"), "connected") != 0,
        "the link went %s", gst_structure_get_string (s, "event"));
    gst_message_unref (msg);
  }
  fail_unless_equals_uint64 (stat (server.src, "idle"), 0);
  fail_unless_equals_uint64 (stat (server.src, "peers"), 1);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  server_stop (&server);
}

GST_END_TEST;

static Suite *
ddnnlink_suite (void)
{
  Suite *s = suite_create ("ddnnlink");
  TCase *tc = tcase_create ("general");

  model_path = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
  model = ddnn_model_load (model_path, NULL);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_link_frames);
  tcase_add_test (tc, test_other_model_refused);
  tcase_add_test (tc, test_no_heartbeat);
  return s;
}

GST_CHECK_MAIN (ddnnlink);
