/* A DDNN link over loopback: frames/s with one and with six senders, the
 * answer round trip with one frame in flight, and the framing per frame as
 * the sinks counted it.
 *
 * Method: one process.  The receiving pipeline is
 *   ddnnsrc port=0 ! ddnnexit threshold=1 ! fakesink   (per view; ddnnsrc's
 *   pads have their own threads)
 * so every frame is answered at once (an answer travels back up to ddnnsrc
 * and down the socket).  Senders are ddnnsink elements fed from bare pads
 * with buffers made before the clock starts.
 * - frames/s: N frames (binary model: int8 scores and 64 B of features, 140
 *   B a frame) pushed as fast as the sinks take them, timed until the
 *   receiver has counted all N; median of ROUNDS rounds.  With six senders
 *   each sends N/6 (one view each), pushed round-robin from one thread.
 * - round trip: one frame pushed, then wait for its ddnn-result message to
 *   come back on the sender's bus; 2 000 times; p50 and p99.
 * - framing: the frame header (64 B) and the WebSocket header of a
 *   client-to-server frame of that size (RFC 6455: 2 B, 4 B more above 125
 *   B of payload, and the 4-byte mask), per frame; acknowledgements down are
 *   "ack N" text frames (2 B header + the text).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/gst.h>
#include <gstddnnframe.h>
#include <libsoup/soup.h>
#include "bench-util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 5

static DdnnModel *model;
static const gchar *model_path;

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static GstBuffer *
make_view (guint view, guint64 sample)
{
  DdnnSectionResult r = { 0 };
  static guint8 pixels[1024];
  GstBuffer *b = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (
      b, ddnn_model_get_id (model), 10);
  guint i;

  for (i = 0; i < sizeof (pixels); i++)
    pixels[i] = (guint8) (i * (view + 3) + sample);
  ddnn_section_run_image (ddnn_model_get_device_section (model, view), pixels,
      32, 32, 1, 32, &r, NULL);
  memcpy (meta->scores, r.scores, sizeof (float) * 10);
  meta->entropy = r.entropy;
  meta->sample = sample;
  meta->view = view;
  meta->view_mask = 1 << view;
  gst_ddnn_meta_set_features (meta, r.features);
  ddnn_section_result_clear (&r);
  GST_BUFFER_PTS (b) = sample * GST_MSECOND;
  return b;
}

static GstPad *
feed (GstElement *sink)
{
  GstPad *src = gst_pad_new (NULL, GST_PAD_SRC), *pad;
  GstCaps *caps = gst_caps_from_string ("application/x-test");
  GstSegment segment;

  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_set_active (src, TRUE);
  gst_pad_link (src, pad);
  gst_object_unref (pad);
  gst_pad_push_event (src, gst_event_new_stream_start ("bench"));
  gst_pad_push_event (src, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (src, gst_event_new_segment (&segment));
  return src;
}

static guint64
received (GstElement *server)
{
  GstStructure *stats = NULL;
  guint64 n = 0;

  g_object_get (server, "stats", &stats, NULL);
  gst_structure_get_uint64 (stats, "received", &n);
  gst_structure_free (stats);
  return n;
}

typedef struct
{
  GMutex lock;
  GCond cond;
  guint64 answered;
} Answers;

static GstBusSyncReply
on_message (GstBus *bus, GstMessage *msg, gpointer data)
{
  Answers *a = data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_message_has_name (msg, "ddnn-result")) {
    g_mutex_lock (&a->lock);
    a->answered++;
    g_cond_signal (&a->cond);
    g_mutex_unlock (&a->lock);
  }
  return GST_BUS_DROP;
}

/* ------------------------------------------------------------------ */
/* The bare transport: a libsoup-3.0 WebSocket server and its clients,
 * each on its own thread and main context as ddnnsrc's and ddnnsink's
 * are, with no GStreamer between them.  The floor the link is set
 * beside. */

typedef struct
{
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
} Loop;

static gpointer
loop_run (gpointer data)
{
  Loop *l = data;

  g_main_context_push_thread_default (l->context);
  g_main_loop_run (l->loop);
  g_main_context_pop_thread_default (l->context);
  return NULL;
}

static void
loop_init (Loop *l)
{
  l->context = g_main_context_new ();
  l->loop = g_main_loop_new (l->context, FALSE);
}

static gboolean
loop_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
loop_clear (Loop *l)
{
  g_main_context_invoke (l->context, loop_quit, l->loop);
  g_thread_join (l->thread);
  g_main_loop_unref (l->loop);
  g_main_context_unref (l->context);
}

typedef struct
{
  Loop server_loop, client_loop;
  SoupServer *server;
  GPtrArray *server_conns;
  SoupSession *session;
  SoupWebsocketConnection *clients[6];
  gint n_clients;
  gint received; /* messages the server took, atomic */
  gsize up_size, down_size;
  gboolean echo;
  guint8 *up, *down;
  /* the round trip, run on the client's thread */
  GMutex lock;
  GCond cond;
  guint reps, done;
  double *rtt, t0;
  /* the one-way run: n messages over the first `senders` clients */
  guint n, senders;
} Bare;

static void
on_server_message (
    SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  Bare *b = data;

  if (b->echo)
    soup_websocket_connection_send_binary (conn, b->down, b->down_size);
  g_atomic_int_inc (&b->received);
}

static void
on_server_websocket (SoupServer *server, SoupServerMessage *msg,
    const char *path, SoupWebsocketConnection *conn, gpointer data)
{
  Bare *b = data;

  g_ptr_array_add (b->server_conns, g_object_ref (conn));
  g_signal_connect (conn, "message", G_CALLBACK (on_server_message), b);
}

static void
on_client_message (
    SoupWebsocketConnection *conn, gint type, GBytes *message, gpointer data)
{
  Bare *b = data;
  double now = now_s ();

  if (b->done >= b->reps)
    return;
  b->rtt[b->done++] = (now - b->t0) * 1e6;
  if (b->done < b->reps) {
    b->t0 = now_s ();
    soup_websocket_connection_send_binary (conn, b->up, b->up_size);
  } else {
    g_mutex_lock (&b->lock);
    g_cond_signal (&b->cond);
    g_mutex_unlock (&b->lock);
  }
}

static void
on_client_connected (GObject *session, GAsyncResult *res, gpointer data)
{
  Bare *b = data;
  GError *error = NULL;
  SoupWebsocketConnection *conn = soup_session_websocket_connect_finish (
      SOUP_SESSION (session), res, &error);

  if (!conn)
    g_error ("bare WebSocket: %s", error->message);
  g_signal_connect (conn, "message", G_CALLBACK (on_client_message), b);
  g_mutex_lock (&b->lock);
  b->clients[b->n_clients++] = conn;
  g_cond_signal (&b->cond);
  g_mutex_unlock (&b->lock);
}

static void
bare_start (Bare *b, gsize up_size, gsize down_size)
{
  GError *error = NULL;
  GSList *uris;
  gchar *uri;
  guint i;

  memset (b, 0, sizeof (*b));
  g_mutex_init (&b->lock);
  g_cond_init (&b->cond);
  b->up_size = up_size;
  b->down_size = down_size;
  b->up = g_malloc (up_size);
  b->down = g_malloc (down_size);
  for (i = 0; i < up_size; i++)
    b->up[i] = (guint8) (i * 13);
  for (i = 0; i < down_size; i++)
    b->down[i] = (guint8) (i * 7);
  b->server_conns = g_ptr_array_new_with_free_func (g_object_unref);

  /* sources attach to the thread-default context when they are made */
  loop_init (&b->server_loop);
  g_main_context_push_thread_default (b->server_loop.context);
  b->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (
      b->server, "/echo", NULL, NULL, on_server_websocket, b, NULL);
  if (!soup_server_listen_local (
          b->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error ("bare WebSocket server: %s", error->message);
  g_main_context_pop_thread_default (b->server_loop.context);
  b->server_loop.thread = g_thread_new (
      "bare-server", loop_run, &b->server_loop);
  uris = soup_server_get_uris (b->server);
  uri = g_strdup_printf ("ws://127.0.0.1:%u/echo", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  loop_init (&b->client_loop);
  g_main_context_push_thread_default (b->client_loop.context);
  b->session = soup_session_new ();
  for (i = 0; i < 6; i++) {
    SoupMessage *msg = soup_message_new ("GET", uri);

    soup_session_websocket_connect_async (b->session, msg, NULL, NULL,
        G_PRIORITY_DEFAULT, NULL, on_client_connected, b);
    g_object_unref (msg);
  }
  g_main_context_pop_thread_default (b->client_loop.context);
  b->client_loop.thread = g_thread_new (
      "bare-client", loop_run, &b->client_loop);
  g_mutex_lock (&b->lock);
  while (b->n_clients < 6)
    g_cond_wait (&b->cond, &b->lock);
  g_mutex_unlock (&b->lock);
  g_free (uri);
}

static gboolean
bare_send_first (gpointer data)
{
  Bare *b = data;

  b->t0 = now_s ();
  soup_websocket_connection_send_binary (b->clients[0], b->up, b->up_size);
  return G_SOURCE_REMOVE;
}

/* The echo round trip: the client sends up_size bytes, the server answers
 * with down_size, the client times it and sends the next; @reps times. */
static void
bare_round_trip (Bare *b, guint reps, double *rtt)
{
  b->echo = TRUE;
  b->reps = reps;
  b->done = 0;
  b->rtt = rtt;
  g_main_context_invoke (b->client_loop.context, bare_send_first, b);
  g_mutex_lock (&b->lock);
  while (b->done < reps)
    g_cond_wait (&b->cond, &b->lock);
  g_mutex_unlock (&b->lock);
  b->echo = FALSE;
}

static gboolean
bare_send_all (gpointer data)
{
  Bare *b = data;
  guint i;

  for (i = 0; i < b->n; i++)
    soup_websocket_connection_send_binary (
        b->clients[i % b->senders], b->up, b->up_size);
  return G_SOURCE_REMOVE;
}

/* One-way: @n messages of up_size bytes sent round-robin over @senders
 * connections as fast as they go, timed until the server took them all. */
static double
bare_rate (Bare *b, guint n, guint senders)
{
  gint base = g_atomic_int_get (&b->received);
  double t0 = now_s ();

  b->n = n;
  b->senders = senders;
  g_main_context_invoke (b->client_loop.context, bare_send_all, b);
  while (g_atomic_int_get (&b->received) < base + (gint) n) {
    if (now_s () - t0 > 60)
      g_error ("bare WebSocket: messages lost");
    g_usleep (200);
  }
  return n / (now_s () - t0);
}

static gboolean
bare_close (gpointer data)
{
  Bare *b = data;
  gint i;

  for (i = 0; i < b->n_clients; i++) {
    soup_websocket_connection_close (
        b->clients[i], SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    g_object_unref (b->clients[i]);
  }
  g_object_unref (b->session);
  return G_SOURCE_REMOVE;
}

static gboolean
bare_close_server (gpointer data)
{
  Bare *b = data;

  g_ptr_array_unref (b->server_conns);
  soup_server_disconnect (b->server);
  g_object_unref (b->server);
  return G_SOURCE_REMOVE;
}

static void
bare_stop (Bare *b)
{
  g_main_context_invoke (b->client_loop.context, bare_close, b);
  loop_clear (&b->client_loop);
  g_main_context_invoke (b->server_loop.context, bare_close_server, b);
  loop_clear (&b->server_loop);
  g_free (b->up);
  g_free (b->down);
}

int
main (int argc, char **argv)
{
  guint n = argc > 1 ? (guint) atoi (argv[1]) : 20000, i, r, s, senders;
  guint reps = 2000;
  GstElement *server, *rt, *sinks[7];
  GstPad *feeds[7];
  GstBus *buses[7];
  GstElement *pipeline;
  gchar *launch, *uri, *rt_uri;
  GError *error = NULL;
  gint port = 0;
  Answers answers = { 0 };
  guint64 base = 0, sample = 1;
  double rate[2], bare_rate_of[2], p50, p99, bare_p50, bare_p99;
  double *rtt = g_new (double, reps);
  guint64 sent = 0, bytes = 0, payload = 0, acks = 0, down = 0;
  guint64 answers_sent = 0, answers_down = 0;
  gsize up_size, down_size;
  Bare bare;
  GstElementFactory *factory;

  setvbuf (stdout, NULL, _IOLBF, 0);
  gst_init (&argc, &argv);
  model_path = argc > 2 ? argv[2] : "models/fmv6-binary.safetensors";
  model = ddnn_model_load (model_path, &error);
  if (!model)
    g_error ("%s", error->message);
  if (!(factory = gst_element_factory_find ("ddnnsrc")))
    g_error ("the ddnnsrc element is not found: set GST_PLUGIN_PATH to the "
             "build's plugins/ddnn and plugins/ddnnnet");
  gst_object_unref (factory);

  /* "in": frames counted and dropped (the one-way rate); "rt": each frame
   * answered at once by ddnnexit, the answer going back up to ddnnsrc and
   * down the socket (the round trip) */
  launch = g_strdup_printf (
      "ddnnsrc name=in address=127.0.0.1 threading=network "
      "in.src_0 ! fakesink async=false in.src_1 ! fakesink async=false "
      "in.src_2 ! fakesink async=false in.src_3 ! fakesink async=false "
      "in.src_4 ! fakesink async=false in.src_5 ! fakesink async=false "
      "ddnnsrc name=rt address=127.0.0.1 views=1 "
      "rt.src_0 ! ddnnexit threshold=1 ! fakesink async=false");
  pipeline = gst_parse_launch (launch, &error);
  if (!pipeline)
    g_error ("%s", error->message);
  g_free (launch);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, GST_SECOND);
  server = gst_bin_get_by_name (GST_BIN (pipeline), "in");
  g_object_get (server, "bound-port", &port, NULL);
  uri = g_strdup_printf ("ws://127.0.0.1:%d/ddnn", port);
  rt = gst_bin_get_by_name (GST_BIN (pipeline), "rt");
  g_object_get (rt, "bound-port", &port, NULL);
  rt_uri = g_strdup_printf ("ws://127.0.0.1:%d/ddnn", port);

  g_mutex_init (&answers.lock);
  g_cond_init (&answers.cond);
  for (s = 0; s < 7; s++) {
    sinks[s] = gst_element_factory_make ("ddnnsink", NULL);
    g_object_set (sinks[s], "location", s < 6 ? uri : rt_uri, "model",
        model_path, "timeout", (guint64) 0, "max-queue", n + 16, NULL);
    buses[s] = gst_bus_new ();
    gst_bus_set_sync_handler (buses[s], on_message, &answers, NULL);
    gst_element_set_bus (sinks[s], buses[s]);
    gst_element_set_state (sinks[s], GST_STATE_PLAYING);
    feeds[s] = feed (sinks[s]);
  }
  /* let the seven connect */
  g_usleep (G_USEC_PER_SEC / 2);

  printf ("# DDNN link over loopback (ddnnsink -> ddnnsrc -> ddnnexit, and "
          "back), binary model frames, beside the bare libsoup-3.0 "
          "WebSocket in the same process\n");
  for (senders = 1; senders <= 6; senders += 5) {
    double rates[ROUNDS];
    GstBuffer **buffers = g_new (GstBuffer *, n);

    for (r = 0; r < ROUNDS; r++) {
      double t0;

      for (i = 0; i < n; i++)
        buffers[i] = make_view (i % senders, sample + i / senders);
      sample += n / senders + 1;
      base = received (server);
      t0 = now_s ();
      for (i = 0; i < n; i++)
        gst_pad_push (feeds[i % senders], buffers[i]);
      while (received (server) < base + n) {
        if (now_s () - t0 > 60)
          g_error ("frames lost: %" G_GUINT64_FORMAT " of %u arrived",
              received (server) - base, n);
        g_usleep (200);
      }
      rates[r] = n / (now_s () - t0);
    }
    rate[senders > 1] = bench_median (rates, ROUNDS);
    g_free (buffers);
  }

  /* round trip: one in flight */
  g_usleep (G_USEC_PER_SEC / 2);
  g_mutex_lock (&answers.lock);
  answers.answered = 0;
  g_mutex_unlock (&answers.lock);
  for (i = 0; i < reps; i++) {
    GstBuffer *b = make_view (0, sample++);
    double t0 = now_s ();

    gst_pad_push (feeds[6], b);
    g_mutex_lock (&answers.lock);
    while (answers.answered < i + 1)
      g_cond_wait (&answers.cond, &answers.lock);
    g_mutex_unlock (&answers.lock);
    rtt[i] = (now_s () - t0) * 1e6;
  }
  bench_median (rtt, reps);
  p50 = rtt[reps / 2];
  p99 = rtt[reps * 99 / 100];

  /* what the sinks counted on the wire: link frames with the WebSocket's
   * header, against their scores and features; and what came down (acks;
   * for the round trip's sink, answers) */
  for (s = 0; s < 7; s++) {
    GstStructure *stats = NULL;
    guint64 v, w;

    g_object_get (sinks[s], "stats", &stats, NULL);
    gst_structure_get_uint64 (stats, "sent", &v);
    gst_structure_get_uint64 (stats, "wire-down", &w);
    if (s == 6) {
      answers_sent = v;
      answers_down = w;
    } else {
      sent += v;
      down += w;
      gst_structure_get_uint64 (stats, "bytes", &v);
      bytes += v;
      gst_structure_get_uint64 (stats, "payload-bytes", &v);
      payload += v;
      gst_structure_get_uint64 (stats, "acks", &v);
      acks += v;
    }
    gst_structure_free (stats);
  }
  for (s = 0; s < 7; s++) {
    gst_element_set_state (sinks[s], GST_STATE_NULL);
    gst_element_set_bus (sinks[s], NULL);
    gst_object_unref (buses[s]);
    gst_object_unref (feeds[s]);
    gst_object_unref (sinks[s]);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (server);
  gst_object_unref (rt);
  gst_object_unref (pipeline);
  g_free (uri);
  g_free (rt_uri);

  /* the bare transport with messages of the same sizes: up, a link frame
   * as sent (its WebSocket header of 6 B taken off); down, what came down
   * per answered frame (the answer; 2 B of header off) */
  up_size = sent ? MAX (1, (gsize) (bytes / sent) - 6) : 80;
  down_size = answers_sent ? MAX (1, (gsize) (answers_down / answers_sent) - 2)
                           : 150;
  bare_start (&bare, up_size, down_size);
  for (senders = 1; senders <= 6; senders += 5) {
    double rates[ROUNDS];

    for (r = 0; r < ROUNDS; r++)
      rates[r] = bare_rate (&bare, n, senders);
    bare_rate_of[senders > 1] = bench_median (rates, ROUNDS);
  }
  g_usleep (G_USEC_PER_SEC / 2);
  bare_round_trip (&bare, reps, rtt);
  bench_median (rtt, reps);
  bare_p50 = rtt[reps / 2];
  bare_p99 = rtt[reps * 99 / 100];
  bare_stop (&bare);

  printf ("%-36s %12s %12s %8s %8s\n", "", "link", "bare", "ratio", "goal");
  printf ("%-36s %12.0f %12.0f %7.2fx %8s\n", "frames/s, 1 sender", rate[0],
      bare_rate_of[0], rate[0] / bare_rate_of[0], "");
  printf ("%-36s %12.0f %12.0f %7.2fx %8s\n", "frames/s, 6 senders", rate[1],
      bare_rate_of[1], rate[1] / bare_rate_of[1], ">= 0.8x");
  printf ("%-36s %12.0f %12.0f %7.2fx %8s\n", "round trip p50, us", p50,
      bare_p50, p50 / bare_p50, "<= 2x");
  printf ("%-36s %12.0f %12.0f %7.2fx %8s\n", "round trip p99, us", p99,
      bare_p99, p99 / bare_p99, "<= 3x");
  printf ("(frames/s: median of %d rounds of %u frames; round trip: %u "
          "frames, one in flight; bare messages of %" G_GSIZE_FORMAT
          " B up and %" G_GSIZE_FORMAT " B down, the link's own sizes)\n",
      ROUNDS, n, reps, up_size, down_size);
  printf ("framing per frame beyond its scores and features: %.1f B up "
          "(link frame header and WebSocket's); %.3f ack messages per frame; "
          "%.1f B down per frame (acks)\n",
      sent ? (double) (bytes - payload) / sent : 0.0,
      sent ? (double) acks / sent : 0.0, sent ? (double) down / sent : 0.0);
  g_free (rtt);
  ddnn_model_unref (model);
  return 0;
}
