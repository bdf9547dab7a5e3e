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

int
main (int argc, char **argv)
{
  guint n = argc > 1 ? (guint) atoi (argv[1]) : 20000, i, r, s, senders;
  GstElement *server, *sinks[6];
  GstPad *feeds[6];
  GstBus *buses[6];
  GstElement *pipeline;
  gchar *launch, *uri;
  GError *error = NULL;
  gint port = 0;
  Answers answers = { 0 };
  guint64 base = 0, sample = 1;

  setvbuf (stdout, NULL, _IOLBF, 0);
  gst_init (&argc, &argv);
  model_path = argc > 2 ? argv[2] : "models/fmv6-binary.safetensors";
  model = ddnn_model_load (model_path, &error);
  if (!model)
    g_error ("%s", error->message);

  launch = g_strdup_printf (
      "ddnnsrc name=in address=127.0.0.1 "
      "in.src_0 ! ddnnexit threshold=1 ! fakesink async=false "
      "in.src_1 ! ddnnexit threshold=1 ! fakesink async=false "
      "in.src_2 ! ddnnexit threshold=1 ! fakesink async=false "
      "in.src_3 ! ddnnexit threshold=1 ! fakesink async=false "
      "in.src_4 ! ddnnexit threshold=1 ! fakesink async=false "
      "in.src_5 ! ddnnexit threshold=1 ! fakesink async=false");
  pipeline = gst_parse_launch (launch, &error);
  if (!pipeline)
    g_error ("%s", error->message);
  g_free (launch);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gst_element_get_state (pipeline, NULL, NULL, GST_SECOND);
  server = gst_bin_get_by_name (GST_BIN (pipeline), "in");
  g_object_get (server, "bound-port", &port, NULL);
  uri = g_strdup_printf ("ws://127.0.0.1:%d/ddnn", port);

  g_mutex_init (&answers.lock);
  g_cond_init (&answers.cond);
  for (s = 0; s < 6; s++) {
    sinks[s] = gst_element_factory_make ("ddnnsink", NULL);
    g_object_set (sinks[s], "location", uri, "model", model_path, "timeout",
        (guint64) 0, "max-queue", n + 16, NULL);
    buses[s] = gst_bus_new ();
    gst_bus_set_sync_handler (buses[s], on_message, &answers, NULL);
    gst_element_set_bus (sinks[s], buses[s]);
    gst_element_set_state (sinks[s], GST_STATE_PLAYING);
    feeds[s] = feed (sinks[s]);
  }
  /* let the six connect */
  g_usleep (G_USEC_PER_SEC / 2);

  printf ("# DDNN link over loopback (ddnnsink -> ddnnsrc, libsoup WebSocket), "
          "binary model frames of %d B\n",
      64 + 12 + 64);
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
    bench_median (rates, ROUNDS);
    printf ("frames/s, %u sender%s: %.0f (median of %d rounds of %u frames)\n",
        senders, senders > 1 ? "s" : "", rates[ROUNDS / 2], ROUNDS, n);
    g_free (buffers);
  }

  /* round trip: one in flight */
  {
    guint reps = 2000;
    double *rtt = g_new (double, reps);

    g_usleep (G_USEC_PER_SEC / 2);
    g_mutex_lock (&answers.lock);
    answers.answered = 0;
    g_mutex_unlock (&answers.lock);
    for (i = 0; i < reps; i++) {
      GstBuffer *b = make_view (0, sample++);
      double t0 = now_s ();

      gst_pad_push (feeds[0], b);
      g_mutex_lock (&answers.lock);
      while (answers.answered < i + 1)
        g_cond_wait (&answers.cond, &answers.lock);
      g_mutex_unlock (&answers.lock);
      rtt[i] = (now_s () - t0) * 1e6;
    }
    bench_median (rtt, reps);
    printf ("answer round trip, one frame in flight: p50 %.0f us, p99 %.0f us "
            "(%u frames)\n",
        rtt[reps / 2], rtt[reps * 99 / 100], reps);
    g_free (rtt);
  }
  {
    /* what the sinks counted on the wire: link frames with the WebSocket's
     * header, against their scores and features; and what came down */
    guint64 sent = 0, bytes = 0, payload = 0, acks = 0, down = 0;

    for (s = 0; s < 6; s++) {
      GstStructure *stats = NULL;
      guint64 v;

      g_object_get (sinks[s], "stats", &stats, NULL);
      gst_structure_get_uint64 (stats, "sent", &v);
      sent += v;
      gst_structure_get_uint64 (stats, "bytes", &v);
      bytes += v;
      gst_structure_get_uint64 (stats, "payload-bytes", &v);
      payload += v;
      gst_structure_get_uint64 (stats, "acks", &v);
      acks += v;
      gst_structure_get_uint64 (stats, "wire-down", &v);
      down += v;
      gst_structure_free (stats);
    }
    printf ("framing per frame beyond its scores and features: %.1f B up "
            "(link frame header and WebSocket's); %.3f ack messages per frame; "
            "%.1f B down per frame (acks and answers)\n",
        sent ? (double) (bytes - payload) / sent : 0.0,
        sent ? (double) acks / sent : 0.0, sent ? (double) down / sent : 0.0);
  }

  for (s = 0; s < 6; s++) {
    gst_element_set_state (sinks[s], GST_STATE_NULL);
    gst_element_set_bus (sinks[s], NULL);
    gst_object_unref (buses[s]);
    gst_object_unref (feeds[s]);
    gst_object_unref (sinks[s]);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (server);
  gst_object_unref (pipeline);
  g_free (uri);
  ddnn_model_unref (model);
  return 0;
}
