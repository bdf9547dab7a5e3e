/* ddnnsink -> ddnnsrc on 127.0.0.1 (port 0): the handshake and link frames
 * carry a camera's samples, which come out of the source as file frames
 * equal to what was sent; acknowledgements are cumulative (fewer ack
 * messages than frames); a sink that announces another model is refused
 * with a warning naming both; a peer of another protocol version is
 * refused, with both versions named on both sides; frames a server took
 * but never acknowledged are sent again after the reconnect, and arrive
 * once; heartbeat=0 does not make the source drop the link.  The sink is
 * driven by GstHarness; the source sits in a pipeline with an appsink; a
 * bare libsoup server in the test stands for a server of another version,
 * and for one that vanishes without acknowledging.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gstddnnframe.h>
#include <libsoup/soup.h>
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

/* A bare libsoup server on its own thread: it refuses every upgrade with
 * @refusal, or (refusal NULL) takes the link and counts the frames, never
 * acknowledging them. */
typedef struct
{
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  SoupServer *server;
  const gchar *refusal;
  GPtrArray *conns;
  gint frames; /* messages of frames taken, atomic */
  gint port;
} FakeServer;

static void
fake_message (
    SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  FakeServer *fake = data;

  if (type == SOUP_WEBSOCKET_DATA_BINARY)
    g_atomic_int_inc (&fake->frames);
}

static void
fake_websocket (SoupServer *server, SoupServerMessage *msg, const char *path,
    SoupWebsocketConnection *conn, gpointer data)
{
  FakeServer *fake = data;

  g_ptr_array_add (fake->conns, g_object_ref (conn));
  g_signal_connect (conn, "message", G_CALLBACK (fake_message), fake);
}

static void
fake_refuse (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer data)
{
  FakeServer *fake = data;

  soup_server_message_set_status (msg, SOUP_STATUS_CONFLICT, fake->refusal);
  soup_message_headers_replace (
      soup_server_message_get_response_headers (msg), "Connection", "close");
}

static gpointer
fake_run (gpointer data)
{
  FakeServer *fake = data;

  g_main_context_push_thread_default (fake->context);
  g_main_loop_run (fake->loop);
  g_main_context_pop_thread_default (fake->context);
  return NULL;
}

static void
fake_start (FakeServer *fake, const gchar *refusal)
{
  GError *error = NULL;
  GSList *uris;

  memset (fake, 0, sizeof (*fake));
  fake->refusal = refusal;
  fake->conns = g_ptr_array_new_with_free_func (g_object_unref);
  fake->context = g_main_context_new ();
  fake->loop = g_main_loop_new (fake->context, FALSE);
  /* its sockets belong to the context that is the default when made */
  g_main_context_push_thread_default (fake->context);
  fake->server = soup_server_new (NULL, NULL);
  if (refusal)
    soup_server_add_early_handler (
        fake->server, "/ddnn", fake_refuse, fake, NULL);
  else
    soup_server_add_websocket_handler (
        fake->server, "/ddnn", NULL, NULL, fake_websocket, fake, NULL);
  fail_unless (soup_server_listen_local (
                   fake->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error),
      "%s", error ? error->message : "");
  g_main_context_pop_thread_default (fake->context);
  uris = soup_server_get_uris (fake->server);
  fake->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  fake->thread = g_thread_new ("fake-server", fake_run, fake);
}

static gboolean
fake_close (gpointer data)
{
  FakeServer *fake = data;
  guint i;

  /* gone without a word: the sockets shut, no close frame */
  for (i = 0; i < fake->conns->len; i++) {
    GIOStream *stream = soup_websocket_connection_get_io_stream (
        fake->conns->pdata[i]);

    g_io_stream_close (stream, NULL, NULL);
  }
  g_ptr_array_set_size (fake->conns, 0);
  soup_server_disconnect (fake->server);
  g_main_loop_quit (fake->loop);
  return G_SOURCE_REMOVE;
}

static void
fake_stop (FakeServer *fake)
{
  g_main_context_invoke (fake->context, fake_close, fake);
  g_thread_join (fake->thread);
  g_object_unref (fake->server);
  g_ptr_array_unref (fake->conns);
  g_main_loop_unref (fake->loop);
  g_main_context_unref (fake->context);
}

static gchar *
warning_text (GstBus *bus)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (
      bus, 10 * GST_SECOND, GST_MESSAGE_WARNING);
  GError *error = NULL;
  gchar *debug = NULL, *text;

  fail_unless (msg != NULL, "no warning on the bus");
  gst_message_parse_warning (msg, &error, &debug);
  text = g_strdup_printf ("%s | %s", error->message, debug ? debug : "");
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  return text;
}

/* A peer of another link protocol: ddnnsrc refuses a version-1 upgrade
 * with 409, naming both versions, and says so on its bus with the peer's
 * address; a ddnnsink refused by a server of version 3 says so on its
 * bus, with both versions (as the server named them) and the status. */
GST_START_TEST (test_other_version_refused)
{
  Server server;
  FakeServer fake;
  GSocketClient *client = g_socket_client_new ();
  GSocketConnection *conn;
  GError *error = NULL;
  GstBus *bus;
  GstHarness *h;
  gchar *request, *text, reply[1024] = { 0 };
  gssize got = 0, n;
  const gchar *model_id = ddnn_model_get_id (model);

  /* the source's side */
  server_start (&server, model_path);
  bus = gst_element_get_bus (server.pipeline);
  conn = g_socket_client_connect_to_host (
      client, "127.0.0.1", server.port, NULL, &error);
  fail_unless (conn != NULL, "%s", error ? error->message : "");
  request = g_strdup_printf (
      "GET /ddnn HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer t\r\n"
      "X-Ddnn-Protocol: 1\r\nX-Ddnn-Peer: old\r\nX-Ddnn-Session: s1\r\n"
      "X-Ddnn-Model: %.16s\r\nX-Ddnn-View: 0\r\nX-Ddnn-Classes: 10\r\n"
      "X-Ddnn-Scores: int8\r\nX-Ddnn-Features: bits:8x8x8\r\n"
      "X-Ddnn-Heartbeat: 1000\r\n\r\n",
      model_id);
  fail_unless (g_output_stream_write_all (
      g_io_stream_get_output_stream (G_IO_STREAM (conn)), request,
      strlen (request), NULL, NULL, NULL));
  g_free (request);
  while (got < (gssize) sizeof (reply) - 1 && !strstr (reply, "\r\n") &&
      (n = g_input_stream_read (
           g_io_stream_get_input_stream (G_IO_STREAM (conn)), reply + got,
           sizeof (reply) - 1 - got, NULL, NULL)) > 0)
    got += n;
  fail_unless (g_str_has_prefix (reply, "HTTP/1.1 409 "), "%s", reply);
  fail_unless (strstr (reply, "protocol 1") != NULL, "%s", reply);
  fail_unless (strstr (reply, "speaks 2") != NULL, "%s", reply);
  text = warning_text (bus);
  fail_unless (strstr (text, "protocol 1") != NULL, "%s", text);
  fail_unless (strstr (text, "speaks 2") != NULL, "%s", text);
  fail_unless (strstr (text, "127.0.0.1") != NULL, "%s", text);
  g_free (text);
  fail_unless_equals_uint64 (stat (server.src, "refused"), 1);
  fail_unless_equals_uint64 (stat (server.src, "peers"), 0);
  g_object_unref (conn);
  g_object_unref (client);
  gst_object_unref (bus);
  server_stop (&server);

  /* the sink's side, against a server of a later version */
  fake_start (&fake, "link protocol 2, but this server speaks 3");
  server.port = fake.port;
  h = camera (&server, GST_SECOND);
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  gst_harness_push (h, camera_buffer (0));
  text = warning_text (bus);
  fail_unless (strstr (text, "refused the link") != NULL, "%s", text);
  fail_unless (strstr (text, "protocol 2") != NULL, "%s", text);
  fail_unless (strstr (text, "speaks 3") != NULL, "%s", text);
  fail_unless (strstr (text, "409") != NULL, "%s", text);
  fail_unless (strstr (text, "127.0.0.1") != NULL, "%s", text);
  g_free (text);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  fake_stop (&fake);
}

GST_END_TEST;

/* A server that took frames and vanished before acknowledging them: after
 * the reconnect (to a ddnnsrc on the same port) every one of them is sent
 * again and arrives once, in order. */
GST_START_TEST (test_resend_after_reconnect)
{
  FakeServer fake;
  Server server;
  GstHarness *h;
  GstElement *pipeline;
  GstElement *src, *appsink;
  GError *error = NULL;
  gchar *line;
  guint64 s;
  gint64 until;

  fake_start (&fake, NULL);
  server.port = fake.port;
  h = camera (&server, GST_SECOND);
  g_object_set (h->element, "backoff-max", 100 * GST_MSECOND, NULL);
  for (s = 0; s < 20; s++)
    fail_unless_equals_int (
        gst_harness_push (h, camera_buffer (s)), GST_FLOW_OK);
  /* all sent (in one message or several), some of it taken */
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((stat (h->element, "sent") < 20 ||
             g_atomic_int_get (&fake.frames) == 0) &&
      g_get_monotonic_time () < until)
    g_usleep (10000);
  fail_unless_equals_uint64 (stat (h->element, "sent"), 20);
  fail_unless (g_atomic_int_get (&fake.frames) > 0);
  fail_unless_equals_uint64 (stat (h->element, "acked"), 0);
  fake_stop (&fake);

  /* a real source where the fake one was */
  line = g_strdup_printf (
      "ddnnsrc name=in port=%d address=127.0.0.1 token=t views=1 model=%s "
      "in.src_0 ! appsink name=out sync=false max-buffers=0",
      server.port, model_path);
  pipeline = gst_parse_launch (line, &error);
  g_free (line);
  fail_unless (pipeline != NULL, "%s", error ? error->message : "");
  src = gst_bin_get_by_name (GST_BIN (pipeline), "in");
  appsink = gst_bin_get_by_name (GST_BIN (pipeline), "out");
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  for (s = 0; s < 20; s++) {
    GstSample *sample = gst_app_sink_try_pull_sample (
        GST_APP_SINK (appsink), 10 * GST_SECOND);
    GstMapInfo map;
    GstDdnnFrame frame;

    fail_unless (sample != NULL, "sample %" G_GUINT64_FORMAT " lost", s);
    gst_buffer_map (gst_sample_get_buffer (sample), &map, GST_MAP_READ);
    fail_unless (gst_ddnn_frame_parse (map.data, map.size, &frame, NULL));
    fail_unless_equals_uint64 (frame.sample, s);
    gst_buffer_unmap (gst_sample_get_buffer (sample), &map);
    gst_sample_unref (sample);
  }
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (stat (h->element, "acked") < 20 && g_get_monotonic_time () < until)
    g_usleep (10000);
  fail_unless_equals_uint64 (stat (h->element, "acked"), 20);
  fail_unless_equals_uint64 (stat (h->element, "resent"), 20);
  /* and nothing twice */
  fail_unless (gst_app_sink_try_pull_sample (
                   GST_APP_SINK (appsink), 300 * GST_MSECOND) == NULL);
  fail_unless_equals_uint64 (stat (src, "received"), 20);
  gst_harness_teardown (h);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (appsink);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A next tier that never answers: each sample gets this tier's own answer,
 * marked degraded, once its timeout has passed (the sink's timer wakes for
 * the oldest deadline; nothing polls), with the class its scores say. */
GST_START_TEST (test_degraded_in_time)
{
  FakeServer fake;
  Server server;
  GstHarness *h;
  GstBus *bus = gst_bus_new ();
  guint64 s, got = 0;
  gint64 t0;

  fake_start (&fake, NULL);
  server.port = fake.port;
  h = camera (&server, GST_SECOND);
  g_object_set (h->element, "timeout", 200 * GST_MSECOND, NULL);
  gst_element_set_bus (h->element, bus);
  t0 = g_get_monotonic_time ();
  for (s = 0; s < 3; s++)
    fail_unless_equals_int (
        gst_harness_push (h, camera_buffer (s)), GST_FLOW_OK);
  while (got < 3) {
    GstMessage *msg = gst_bus_timed_pop_filtered (
        bus, 5 * GST_SECOND, GST_MESSAGE_ELEMENT);
    const GstStructure *st;
    guint64 sample = G_MAXUINT64;
    guint cls = G_MAXUINT;
    gboolean degraded = FALSE;
    GstBuffer *sent;
    GstDdnnMeta *meta;

    fail_unless (msg != NULL, "%" G_GUINT64_FORMAT " of 3 answers", got);
    st = gst_message_get_structure (msg);
    if (!gst_structure_has_name (st, "ddnn-result")) {
      gst_message_unref (msg);
      continue;
    }
    fail_unless (g_get_monotonic_time () - t0 >= 200 * 1000);
    fail_unless (
        gst_structure_get (st, "sample", G_TYPE_UINT64, &sample, "class",
            G_TYPE_UINT, &cls, "degraded", G_TYPE_BOOLEAN, &degraded, NULL));
    fail_unless_equals_uint64 (sample, got);
    fail_unless (degraded);
    sent = camera_buffer (sample);
    meta = gst_buffer_get_ddnn_meta (sent);
    fail_unless_equals_int (cls, ddnn_argmax (10, meta->scores));
    gst_buffer_unref (sent);
    gst_message_unref (msg);
    got++;
  }
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  fake_stop (&fake);
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
  tcase_add_test (tc, test_other_version_refused);
  tcase_add_test (tc, test_resend_after_reconnect);
  tcase_add_test (tc, test_degraded_in_time);
  return s;
}

GST_CHECK_MAIN (ddnnlink);
