/* The per-buffer cost of each ddnn element beyond its compute.
 *
 * Method: the element runs alone (no pipeline, no clock), fed by a bare
 * source pad linked to its sink pad and drained by bare sink pads whose chain
 * function drops the buffer; the buffers are made before the clock starts.
 * A round pushes N buffers and is timed as a whole; the median of ROUNDS
 * rounds is reported per buffer.  In the same run:
 * - "bare link": the same pads linked to each other, no element between;
 * - "compute": the library calls the element makes for its result (the
 *   device section, the fusion, the cloud section) on the same inputs,
 *   timed the same way.
 * overhead = element - bare link - compute.  ddnnexit's compute (one
 * comparison) is counted as zero; its ddnn-result messages go to a bus that
 * drops them, as a pipeline's bus would take them.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/gst.h>
#include <gstddnnframe.h>
#include "bench-util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 7

static guint n_buffers = 18000; /* a multiple of 6 */

static GstFlowReturn
drop_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  gst_buffer_unref (buffer);
  return GST_FLOW_OK;
}

static gboolean
drop_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  gst_event_unref (event);
  return TRUE;
}

static GstPad *
sink_pad_for (GstPad *src)
{
  GstPad *pad = gst_pad_new (NULL, GST_PAD_SINK);

  gst_pad_set_chain_function (pad, drop_chain);
  gst_pad_set_event_function (pad, drop_event);
  gst_pad_set_active (pad, TRUE);
  g_assert (gst_pad_link (src, pad) == GST_PAD_LINK_OK);
  return pad;
}

static GstPad *
src_pad_for (GstPad *sink, const gchar *caps_string)
{
  GstPad *pad = gst_pad_new (NULL, GST_PAD_SRC);
  GstCaps *caps = gst_caps_from_string (caps_string);
  GstSegment segment;

  gst_pad_set_active (pad, TRUE);
  g_assert (gst_pad_link (pad, sink) == GST_PAD_LINK_OK);
  gst_pad_push_event (pad, gst_event_new_stream_start ("bench"));
  gst_pad_push_event (pad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (pad, gst_event_new_segment (&segment));
  return pad;
}

typedef GstBuffer *(*MakeFunc) (guint i, gpointer data);

/* Median ns per buffer of pushing n_buffers made by @make into @src. */
static double
time_pushes (GstPad *src, MakeFunc make, gpointer data)
{
  GstBuffer **buffers = g_new (GstBuffer *, n_buffers);
  double t[ROUNDS];
  guint r, i;

  for (r = 0; r < ROUNDS; r++) {
    double t0;

    for (i = 0; i < n_buffers; i++)
      buffers[i] = make (i, data);
    t0 = bench_now_ns ();
    for (i = 0; i < n_buffers; i++)
      if (gst_pad_push (src, buffers[i]) != GST_FLOW_OK)
        g_error ("push failed");
    t[r] = (bench_now_ns () - t0) / n_buffers;
  }
  g_free (buffers);
  return bench_median (t, ROUNDS);
}

typedef void (*ComputeFunc) (guint i, gpointer data);

static double
time_compute (ComputeFunc compute, gpointer data)
{
  double t[ROUNDS];
  guint r, i;

  for (r = 0; r < ROUNDS; r++) {
    double t0 = bench_now_ns ();

    for (i = 0; i < n_buffers; i++)
      compute (i, data);
    t[r] = (bench_now_ns () - t0) / n_buffers;
  }
  return bench_median (t, ROUNDS);
}

/* ------------------------------------------------------------------ */

typedef struct
{
  DdnnModel *model;
  guint8 pixels[4][1024];
  DdnnTensor *fused;
  DdnnTensor *view_features[6];
  float view_scores[6][10];
  DdnnSectionResult result;
} Inputs;

static GstBuffer *
make_frame (guint i, gpointer data)
{
  Inputs *in = data;
  GstBuffer *b = gst_buffer_new_memdup (in->pixels[i % 4], 1024);

  GST_BUFFER_PTS (b) = i * GST_MSECOND;
  GST_BUFFER_OFFSET (b) = i + 1;
  return b;
}

static void
compute_device (guint i, gpointer data)
{
  Inputs *in = data;

  ddnn_section_run_image (ddnn_model_get_device_section (in->model, 0),
      in->pixels[i % 4], 32, 32, 1, 32, &in->result, NULL);
}

static GstBuffer *
make_fused (guint i, gpointer data)
{
  Inputs *in = data;
  GstBuffer *b = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (
      b, ddnn_model_get_id (in->model), 10);

  meta->sample = i;
  meta->view = -1;
  meta->view_mask = 0x3f;
  meta->entropy = i % 2 ? 0.2f : 0.7f;
  meta->scores[i % 10] = 1.0f;
  gst_ddnn_meta_set_features (meta, in->fused);
  GST_BUFFER_PTS (b) = i * GST_MSECOND;
  return b;
}

static void
compute_cloud (guint i, gpointer data)
{
  Inputs *in = data;

  ddnn_section_run (
      ddnn_model_get_cloud_section (in->model), in->fused, &in->result, NULL);
}

static GstBuffer *
make_view (guint i, gpointer data)
{
  Inputs *in = data;
  guint v = i % 6;
  GstBuffer *b = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (
      b, ddnn_model_get_id (in->model), 10);

  meta->sample = i / 6;
  meta->view = v;
  meta->view_mask = 1 << v;
  memcpy (meta->scores, in->view_scores[v], sizeof (in->view_scores[v]));
  gst_ddnn_meta_set_features (meta, in->view_features[v]);
  GST_BUFFER_PTS (b) = (i / 6) * GST_MSECOND;
  return b;
}

static void
compute_fusion (guint i, gpointer data)
{
  Inputs *in = data;
  const float *scores[6];
  float fused[10], probs[10], entropy;
  DdnnTensor *t;
  guint v;

  /* one sample's fusion, spread over its six buffers */
  if (i % 6 != 5)
    return;
  for (v = 0; v < 6; v++)
    scores[v] = in->view_scores[v];
  ddnn_model_fuse_scores (in->model, scores, 6, fused, probs, &entropy, NULL);
  t = ddnn_model_fuse_features (in->model, in->view_features, 6, NULL);
  ddnn_tensor_unref (t);
}

static GstBusSyncReply
drop_message (GstBus *bus, GstMessage *message, gpointer data)
{
  return GST_BUS_DROP;
}

/* Sets @e playing with a bus that drops messages. */
static GstBus *
start (GstElement *e)
{
  GstBus *bus = gst_bus_new ();

  gst_bus_set_sync_handler (bus, drop_message, NULL, NULL);
  gst_element_set_bus (e, bus);
  if (gst_element_set_state (e, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    g_error ("%s does not start", GST_ELEMENT_NAME (e));
  return bus;
}

static void
stop (GstElement *e, GstBus *bus)
{
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
}

static void
report (const gchar *name, double element, double bare, double compute,
    const gchar *unit)
{
  printf ("%-14s %10.2f %10.2f %10.2f %10.2f  %s\n", name, element / 1000,
      bare / 1000, compute / 1000, (element - bare - compute) / 1000, unit);
}

/* ddnnaggregate: six pads, buffers pushed in view order from this thread;
 * the aggregator's own thread fuses each sample.  With @queue_ns > 0 its
 * pads may queue that much stream time (the timeout property), so this
 * thread does not wait for each sample to be fused. */
static void
bench_aggregate (const gchar *path, Inputs *in, double bare, guint64 queue_ns)
{
  GstPad *srcs[6], *sink, *esrc;
  GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);
  GstBuffer **buffers = g_new (GstBuffer *, n_buffers);
  double t[ROUNDS], t_elem, t_comp;
  GstBus *bus;
  guint r, i, v;
  gchar *name;

  g_object_set (e, "model", path, "timeout", queue_ns, NULL);
  for (v = 0; v < 6; v++) {
    GstPad *pad = gst_element_request_pad_simple (e, "sink_%u");

    srcs[v] = gst_pad_new (NULL, GST_PAD_SRC);
    gst_pad_set_active (srcs[v], TRUE);
    gst_pad_link (srcs[v], pad);
    gst_object_unref (pad);
  }
  esrc = gst_element_get_static_pad (e, "src");
  sink = sink_pad_for (esrc);
  bus = start (e);
  for (v = 0; v < 6; v++) {
    GstCaps *caps = gst_caps_from_string ("application/x-test");
    GstSegment segment;

    gst_pad_push_event (srcs[v], gst_event_new_stream_start ("bench"));
    gst_pad_push_event (srcs[v], gst_event_new_caps (caps));
    gst_caps_unref (caps);
    gst_segment_init (&segment, GST_FORMAT_TIME);
    gst_pad_push_event (srcs[v], gst_event_new_segment (&segment));
  }
  for (r = 0; r < ROUNDS; r++) {
    double t0;

    for (i = 0; i < n_buffers; i++)
      buffers[i] = make_view (i + r * n_buffers, in);
    t0 = bench_now_ns ();
    for (i = 0; i < n_buffers; i++)
      gst_pad_push (srcs[i % 6], buffers[i]);
    t[r] = (bench_now_ns () - t0) / n_buffers;
  }
  t_elem = bench_median (t, ROUNDS);
  t_comp = time_compute (compute_fusion, in);
  name = g_strdup_printf ("ddnnaggregate%s", queue_ns ? "+q" : "");
  report (name, t_elem, bare, t_comp,
      queue_ns ? "per camera buffer, pads queue (timeout=1s)"
               : "per camera buffer (6 make a sample)");
  g_free (name);
  for (v = 0; v < 6; v++)
    gst_pad_push_event (srcs[v], gst_event_new_eos ());
  g_free (buffers);
  gst_object_unref (esrc);
  stop (e, bus);
  for (v = 0; v < 6; v++)
    gst_object_unref (srcs[v]);
  gst_object_unref (sink);
}

int
main (int argc, char **argv)
{
  const gchar *path = argc > 1 ? argv[1] : "models/fmv6-binary.safetensors";
  Inputs in = { 0 };
  GstPad *src, *sink, *sink2;
  GstElement *e;
  GstBus *bus;
  double bare, t_elem, t_comp;
  GError *error = NULL;
  guint i, v;

  setvbuf (stdout, NULL, _IOLBF, 0);
  gst_init (&argc, &argv);
  if (argc > 2)
    n_buffers = MAX (1200, atoi (argv[2]) / 6 * 6);
  ddnn_blas_set_threads (1);
  in.model = ddnn_model_load (path, &error);
  if (!in.model)
    g_error ("%s", error->message);
  for (i = 0; i < 4; i++)
    for (v = 0; v < 1024; v++)
      in.pixels[i][v] = (guint8) (v * (i + 3));
  for (v = 0; v < 6; v++) {
    DdnnSectionResult r = { 0 };

    ddnn_section_run_image (ddnn_model_get_device_section (in.model, v),
        in.pixels[v % 4], 32, 32, 1, 32, &r, NULL);
    in.view_features[v] = ddnn_tensor_ref (r.features);
    memcpy (in.view_scores[v], r.scores, sizeof (in.view_scores[v]));
    ddnn_section_result_clear (&r);
  }
  in.fused = ddnn_model_fuse_features (in.model, in.view_features, 6, NULL);

  printf ("# per-buffer cost of each element beyond its compute; %u buffers a "
          "round, median of %d rounds, 1 thread for the engine (us)\n",
      n_buffers, ROUNDS);
  printf ("%-14s %10s %10s %10s %10s\n", "element", "element", "bare link",
      "compute", "overhead");

  /* the bare link, with the buffers each element gets */
  {
    GstPad *bare_sink = gst_pad_new (NULL, GST_PAD_SINK);

    gst_pad_set_chain_function (bare_sink, drop_chain);
    gst_pad_set_event_function (bare_sink, drop_event);
    gst_pad_set_active (bare_sink, TRUE);
    src = src_pad_for (bare_sink, "application/x-test");
    sink = bare_sink;
  }

  /* ddnndevice */
  bare = time_pushes (src, make_frame, &in);
  e = gst_element_factory_make ("ddnndevice", NULL);
  g_object_set (e, "model", path, "view", 0, NULL);
  bus = start (e);
  {
    GstPad *esink = gst_element_get_static_pad (e, "sink");
    GstPad *esrc = gst_element_get_static_pad (e, "src");
    GstPad *s = sink_pad_for (esrc);
    GstPad *p = src_pad_for (
        esink, "video/x-raw,format=GRAY8,width=32,height=32,framerate=30/1");

    t_elem = time_pushes (p, make_frame, &in);
    t_comp = time_compute (compute_device, &in);
    report ("ddnndevice", t_elem, bare, t_comp, "per frame");
    gst_object_unref (esink);
    gst_object_unref (esrc);
    stop (e, bus);
    gst_object_unref (s);
    gst_object_unref (p);
  }

  /* ddnnexit: half exit, half go on */
  bare = time_pushes (src, make_fused, &in);
  e = gst_element_factory_make ("ddnnexit", NULL);
  g_object_set (e, "threshold", 0.5, NULL);
  bus = start (e);
  {
    GstPad *esink = gst_element_get_static_pad (e, "sink");
    GstPad *eexit = gst_element_get_static_pad (e, "exit");
    GstPad *enext = gst_element_get_static_pad (e, "next");
    GstPad *p = src_pad_for (esink, GST_DDNN_CAPS);

    sink = sink_pad_for (eexit);
    sink2 = sink_pad_for (enext);
    t_elem = time_pushes (p, make_fused, &in);
    report ("ddnnexit", t_elem, bare, 0, "per sample");
    gst_object_unref (esink);
    gst_object_unref (eexit);
    gst_object_unref (enext);
    stop (e, bus);
    gst_object_unref (sink);
    gst_object_unref (sink2);
    gst_object_unref (p);
  }

  /* ddnncloud */
  e = gst_element_factory_make ("ddnncloud", NULL);
  g_object_set (e, "model", path, NULL);
  bus = start (e);
  {
    GstPad *esink = gst_element_get_static_pad (e, "sink");
    GstPad *esrc = gst_element_get_static_pad (e, "src");
    GstPad *p = src_pad_for (esink, GST_DDNN_CAPS);

    sink = sink_pad_for (esrc);
    t_elem = time_pushes (p, make_fused, &in);
    t_comp = time_compute (compute_cloud, &in);
    report ("ddnncloud", t_elem, bare, t_comp, "per sample");
    gst_object_unref (esink);
    gst_object_unref (esrc);
    stop (e, bus);
    gst_object_unref (sink);
    gst_object_unref (p);
  }

  bare = time_pushes (src, make_view, &in);
  bench_aggregate (path, &in, bare, 0);
  bench_aggregate (path, &in, bare, GST_SECOND);

  gst_object_unref (src);
  for (v = 0; v < 6; v++)
    ddnn_tensor_unref (in.view_features[v]);
  ddnn_tensor_unref (in.fused);
  ddnn_section_result_clear (&in.result);
  ddnn_model_unref (in.model);
  return 0;
}
