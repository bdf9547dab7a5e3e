/* ddnnaggregate: views of one sample are fused by the model's fusion, the
 * view mask says who took part, a camera that skipped a sample is left out
 * of it, and the payload is the wire frame of the fused meta; each fusion
 * mode against values worked out here; live alignment by running time with
 * a late camera, driven by the test clock; another model refused; a
 * flushing seek, through the harness and on recorded cameras in a pipeline.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <gstddnnframe.h>
#include <gstddnnresult.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static DdnnModel *model;

static GstBuffer *
view_buffer (guint view, guint64 sample)
{
  DdnnSection *s = ddnn_model_get_device_section (model, view);
  DdnnSectionResult r = { 0 };
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (
      buffer, ddnn_model_get_id (model), ddnn_model_get_n_classes (model));
  guint8 pixels[1024];
  guint i;

  for (i = 0; i < sizeof (pixels); i++)
    pixels[i] = (guint8) (i * (view + 2) + sample * 31);
  fail_unless (ddnn_section_run_image (s, pixels, 32, 32, 1, 32, &r, NULL));
  memcpy (meta->scores, r.scores, r.n_classes * sizeof (float));
  meta->entropy = r.entropy;
  meta->sample = sample;
  meta->view = view;
  meta->view_mask = 1 << view;
  gst_ddnn_meta_set_features (meta, r.features);
  ddnn_section_result_clear (&r);
  GST_BUFFER_PTS (buffer) = sample * GST_SECOND;
  return buffer;
}

static void
check_fused (GstBuffer *out, GstBuffer **in, guint64 mask)
{
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (out);
  const float *scores[6] = { NULL };
  DdnnTensor *features[6] = { NULL };
  float fused[10], probs[10], entropy;
  DdnnTensor *expect;
  GstDdnnFrame frame;
  GstMapInfo map;
  guint v, c;

  fail_unless (meta != NULL);
  fail_unless_equals_uint64 (meta->view_mask, mask);
  for (v = 0; v < 6; v++)
    if (in[v]) {
      GstDdnnMeta *m = gst_buffer_get_ddnn_meta (in[v]);

      scores[v] = m->scores;
      features[v] = m->features;
    }
  fail_unless (
      ddnn_model_fuse_scores (model, scores, 6, fused, probs, &entropy, NULL));
  for (c = 0; c < 10; c++)
    fail_unless_equals_float (meta->scores[c], fused[c]);
  fail_unless_equals_float (meta->entropy, entropy);
  expect = ddnn_model_fuse_features (model, features, 6, NULL);
  fail_unless_equals_int (meta->features->dtype, expect->dtype);
  fail_unless (
      memcmp (meta->features->data, expect->data, expect->n_bytes) == 0);
  ddnn_tensor_unref (expect);

  /* the payload is the frame of this meta */
  gst_buffer_map (out, &map, GST_MAP_READ);
  fail_unless (gst_ddnn_frame_parse (map.data, map.size, &frame, NULL));
  fail_unless_equals_uint64 (frame.sample, meta->sample);
  fail_unless_equals_uint64 (frame.view_mask, mask);
  gst_buffer_unmap (out, &map);
}

GST_START_TEST (test_fuse_three_views)
{
  g_autofree gchar *path = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
  GstHarness *h[3];
  GstBuffer *in[6] = { NULL }, *out;
  guint v;

  model = ddnn_model_load (path, NULL);
  fail_unless (model != NULL);
  {
    /* the harness starts the element, so the model is set first */
    GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);

    g_object_set (e, "model", path, NULL);
    h[0] = gst_harness_new_with_element (e, "sink_0", "src");
    gst_object_unref (e);
  }
  h[1] = gst_harness_new_with_element (h[0]->element, "sink_1", NULL);
  h[2] = gst_harness_new_with_element (h[0]->element, "sink_2", NULL);
  for (v = 0; v < 3; v++)
    gst_harness_set_src_caps_str (h[v], "application/x-test");

  /* sample 0 from all three */
  for (v = 0; v < 3; v++) {
    in[v] = view_buffer (v, 0);
    fail_unless_equals_int (
        gst_harness_push (h[v], gst_buffer_ref (in[v])), GST_FLOW_OK);
  }
  out = gst_harness_pull (h[0]);
  check_fused (out, in, 0x7);
  gst_buffer_unref (out);

  /* camera 2 skipped sample 1: it is left out of it */
  for (v = 0; v < 3; v++) {
    gst_buffer_unref (in[v]);
    in[v] = view_buffer (v, v == 2 ? 2 : 1);
  }
  for (v = 0; v < 3; v++)
    gst_harness_push (h[v], gst_buffer_ref (in[v]));
  out = gst_harness_pull (h[0]);
  {
    GstBuffer *sample1[6] = { in[0], in[1], NULL };

    check_fused (out, sample1, 0x3);
  }
  gst_buffer_unref (out);

  {
    /* sample 0 lacked views 3-5; sample 1 lacked view 2 as well */
    GstStructure *stats = NULL;
    guint64 n = 0;

    g_object_get (h[0]->element, "stats", &stats, NULL);
    fail_unless (gst_structure_get_uint64 (stats, "samples", &n));
    fail_unless_equals_uint64 (n, 2);
    fail_unless (gst_structure_get_uint64 (stats, "missing-view-2", &n));
    fail_unless_equals_uint64 (n, 1);
    fail_unless (gst_structure_get_uint64 (stats, "missing-view-4", &n));
    fail_unless_equals_uint64 (n, 2);
    fail_unless (gst_structure_get_uint64 (stats, "missing-view-0", &n));
    fail_unless_equals_uint64 (n, 0);
    gst_structure_free (stats);
  }
  for (v = 0; v < 3; v++)
    gst_buffer_unref (in[v]);
  for (v = 3; v > 0; v--)
    gst_harness_teardown (h[v - 1]);
  ddnn_model_unref (model);
}

GST_END_TEST;

#define DEVICE                                                                 \
  "{\"name\": \"d%d\", \"tier\": \"device\", \"view\": %d, \"body\": "         \
  "[{\"type\": \"conv2d\", \"out\": 2, \"kernel\": 3, \"stride\": 2, "         \
  "\"pad\": 1, \"bias\": true}, {\"type\": \"relu\"}], \"exit\": "             \
  "[{\"type\": \"linear\", \"out\": 4, \"bias\": true}]}, "

/* A three-camera model on 8x8 grey frames with float features (2x4x4 a
 * view), so each fusion can be worked out by hand below. */
static gchar *
tiny_model (const gchar *local, const gchar *feature)
{
  GString *topology = g_string_new (NULL);
  g_autoptr (DdnnModel) m = NULL;
  gchar *path;
  gint v, fd;

  g_string_append_printf (topology,
      "{\"input\": {\"channels\": 1, \"height\": 8, \"width\": 8}, "
      "\"classes\": [\"a\", \"b\", \"c\", \"d\"], \"views\": 3, "
      "\"local_fusion\": \"%s\", \"feature_fusion\": \"%s\", \"sections\": [",
      local, feature);
  for (v = 0; v < 3; v++)
    g_string_append_printf (topology, DEVICE, v, v);
  g_string_append (topology,
      "{\"name\": \"cloud\", \"tier\": \"cloud\", \"body\": [{\"type\": "
      "\"linear\", \"out\": 5}, {\"type\": \"relu\"}], \"exit\": "
      "[{\"type\": \"linear\", \"out\": 4}]}]}");
  m = ddnn_model_new_from_topology (topology->str, 7, NULL);
  g_string_free (topology, TRUE);
  fail_unless (m != NULL);
  fd = g_file_open_tmp ("ddnnaggregate-XXXXXX.safetensors", &path, NULL);
  fail_unless (fd >= 0);
  close (fd);
  fail_unless (ddnn_model_save (m, path, NULL));
  return path;
}

/* Camera @view's result on a made-up frame of @sample. */
static GstBuffer *
tiny_view (DdnnModel *m, guint view, guint64 sample)
{
  DdnnSectionResult r = { 0 };
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (
      buffer, ddnn_model_get_id (m), 4);
  guint8 pixels[64];
  guint i;

  for (i = 0; i < sizeof (pixels); i++)
    pixels[i] = (guint8) ((i * 37 + view * 101 + sample * 13) % 251);
  fail_unless (ddnn_section_run_image (
      ddnn_model_get_device_section (m, view), pixels, 8, 8, 1, 8, &r, NULL));
  fail_unless_equals_int (r.features->dtype, DDNN_DTYPE_F32);
  memcpy (meta->scores, r.scores, 4 * sizeof (float));
  meta->entropy = r.entropy;
  meta->sample = sample;
  meta->view = view;
  meta->view_mask = 1 << view;
  gst_ddnn_meta_set_features (meta, r.features);
  ddnn_section_result_clear (&r);
  GST_BUFFER_PTS (buffer) = sample * 33 * GST_MSECOND;
  GST_BUFFER_DURATION (buffer) = 33 * GST_MSECOND;
  return buffer;
}

/* Max or average of what the present views hold, worked out here. */
static float
by_hand (const gchar *mode, const float *const *values, gsize i)
{
  float max = -G_MAXFLOAT, sum = 0;
  guint v, n = 0;

  for (v = 0; v < 3; v++) {
    if (!values[v])
      continue;
    max = MAX (max, values[v][i]);
    sum += values[v][i];
    n++;
  }
  return strcmp (mode, "max") == 0 ? max : sum / n;
}

static void
check_by_hand (
    GstBuffer *out, GstBuffer **in, const gchar *local, const gchar *feature)
{
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (out);
  const float *scores[3] = { NULL }, *features[3] = { NULL };
  double probs[4], z = 0, entropy = 0;
  guint v, c;
  gsize i;

  fail_unless (meta != NULL);
  for (v = 0; v < 3; v++) {
    GstDdnnMeta *m = in[v] ? gst_buffer_get_ddnn_meta (in[v]) : NULL;

    scores[v] = m ? m->scores : NULL;
    features[v] = m ? ddnn_tensor_f32 (m->features) : NULL;
  }
  for (c = 0; c < 4; c++) {
    fail_unless_equals_float (meta->scores[c], by_hand (local, scores, c));
    probs[c] = exp (meta->scores[c]);
    z += probs[c];
  }
  for (c = 0; c < 4; c++)
    entropy -= probs[c] / z * log (probs[c] / z);
  fail_unless (fabs (meta->entropy - entropy / log (4)) < 1e-5);

  fail_unless_equals_int (meta->features->dtype, DDNN_DTYPE_F32);
  if (strcmp (feature, "concat") == 0) {
    fail_unless_equals_int (meta->features->n_elements, 3 * 32);
    for (v = 0; v < 3; v++)
      for (i = 0; i < 32; i++)
        fail_unless_equals_float (ddnn_tensor_f32 (meta->features)[v * 32 + i],
            features[v] ? features[v][i] : 0.0f);
  } else {
    fail_unless_equals_int (meta->features->n_elements, 32);
    for (i = 0; i < 32; i++)
      fail_unless_equals_float (
          ddnn_tensor_f32 (meta->features)[i], by_hand (feature, features, i));
  }
}

static GstHarness **
tiny_harness (GstElement *e, GstHarness **h)
{
  guint v;

  h[0] = gst_harness_new_with_element (e, "sink_0", "src");
  h[1] = gst_harness_new_with_element (h[0]->element, "sink_1", NULL);
  h[2] = gst_harness_new_with_element (h[0]->element, "sink_2", NULL);
  for (v = 0; v < 3; v++)
    gst_harness_set_src_caps_str (h[v], "application/x-test");
  return h;
}

/* local-mode max and avg (the model was trained with max), each with
 * feature-mode max, avg and concat */
GST_START_TEST (test_modes)
{
  static const gchar *features[] = { "max", "avg", "concat" };
  static const gchar *locals[] = { "max", "avg" };
  guint f, l, v;

  for (f = 0; f < G_N_ELEMENTS (features); f++) {
    g_autofree gchar *path = tiny_model ("max", features[f]);
    DdnnModel *m = ddnn_model_load (path, NULL);

    fail_unless (m != NULL);
    for (l = 0; l < G_N_ELEMENTS (locals); l++) {
      GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);
      GstBuffer *in[3], *out;
      GstHarness *h[3];

      gst_util_set_object_arg (G_OBJECT (e), "local-mode", locals[l]);
      gst_util_set_object_arg (G_OBJECT (e), "feature-mode", features[f]);
      g_object_set (e, "model", path, NULL);
      tiny_harness (e, h);
      gst_object_unref (e);

      /* all three, then one without camera 1 (it skipped to sample 2) */
      for (v = 0; v < 3; v++) {
        in[v] = tiny_view (m, v, 0);
        gst_harness_push (h[v], gst_buffer_ref (in[v]));
      }
      out = gst_harness_pull (h[0]);
      fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 7);
      check_by_hand (out, in, locals[l], features[f]);
      gst_buffer_unref (out);
      for (v = 0; v < 3; v++) {
        gst_buffer_unref (in[v]);
        in[v] = tiny_view (m, v, v == 1 ? 2 : 1);
        gst_harness_push (h[v], gst_buffer_ref (in[v]));
      }
      out = gst_harness_pull (h[0]);
      fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 5);
      gst_buffer_replace (&in[1], NULL);
      check_by_hand (out, in, locals[l], features[f]);
      gst_buffer_unref (out);
      for (v = 0; v < 3; v++)
        gst_clear_buffer (&in[v]);
      for (v = 3; v > 0; v--)
        gst_harness_teardown (h[v - 1]);
    }
    g_unlink (path);
    ddnn_model_unref (m);
  }
}

GST_END_TEST;

/* Modes that do not fit the model fail at READY -> PAUSED and say why. */
GST_START_TEST (test_mode_refused)
{
  g_autofree gchar *path = tiny_model ("max", "concat");
  static const gchar *props[][2] = { { "feature-mode", "max" },
    { "local-mode", "concat" } };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (props); i++) {
    GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);
    GstBus *bus = gst_bus_new ();
    GstMessage *msg;
    GError *error = NULL;
    gchar *debug = NULL;

    g_object_set (e, "model", path, NULL);
    gst_util_set_object_arg (G_OBJECT (e), props[i][0], props[i][1]);
    gst_element_set_bus (e, bus);
    fail_unless_equals_int (
        gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (msg != NULL);
    gst_message_parse_error (msg, &error, &debug);
    fail_unless (g_error_matches (
        error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
    fail_unless (strstr (error->message, props[i][1]) != NULL);
    GST_INFO ("refused: %s (%s)", error->message, debug);
    fail_unless (strstr (debug, i == 0 ? "takes 96" : "no class scores"));
    g_error_free (error);
    g_free (debug);
    gst_message_unref (msg);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_element_set_bus (e, NULL);
    gst_object_unref (bus);
    gst_object_unref (e);
  }
  g_unlink (path);
}

GST_END_TEST;

/* Live cameras aligned by running time: camera 2 is late by more than the
 * timeout, so sample 0 goes on without it; its late buffer is dropped and
 * counted; the next sample has all three.  The test clock drives it. */
GST_START_TEST (test_live_missing_view)
{
  g_autofree gchar *path = tiny_model ("max", "max");
  DdnnModel *m = ddnn_model_load (path, NULL);
  GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);
  GstBuffer *in[3], *out;
  GstStructure *stats = NULL;
  GstHarness *h[3];
  guint64 n = 0;
  guint v;

  g_object_set (e, "model", path, "timeout", 10 * GST_MSECOND, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "align", "running-time");
  tiny_harness (e, h);
  gst_object_unref (e);
  gst_harness_use_testclock (h[0]);
  for (v = 0; v < 3; v++)
    gst_harness_set_upstream_latency (h[v], 5 * GST_MSECOND);

  for (v = 0; v < 2; v++) {
    in[v] = tiny_view (m, v, 0);
    gst_harness_push (h[v], gst_buffer_ref (in[v]));
  }
  in[2] = NULL;
  /* nothing leaves before the deadline: 0 + 5 ms upstream + 10 ms */
  fail_unless (gst_harness_wait_for_clock_id_waits (h[0], 1, 5));
  fail_unless (gst_harness_try_pull (h[0]) == NULL);
  fail_unless (gst_harness_crank_single_clock_wait (h[0]));
  fail_unless_equals_uint64 (
      gst_clock_get_time (GST_ELEMENT_CLOCK (h[0]->element)), 15 * GST_MSECOND);
  out = gst_harness_pull (h[0]);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 3);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 0);
  check_by_hand (out, in, "max", "max");
  gst_buffer_unref (out);
  gst_buffer_unref (in[0]);
  gst_buffer_unref (in[1]);

  /* camera 2's frame of sample 0 comes too late, then all three of 1 */
  gst_harness_push (h[2], tiny_view (m, 2, 0));
  for (v = 0; v < 3; v++) {
    in[v] = tiny_view (m, v, 1);
    gst_harness_push (h[v], gst_buffer_ref (in[v]));
  }
  out = gst_harness_pull (h[0]);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 7);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 33 * GST_MSECOND);
  check_by_hand (out, in, "max", "max");
  gst_buffer_unref (out);

  g_object_get (h[0]->element, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "samples", &n));
  fail_unless_equals_uint64 (n, 2);
  fail_unless (gst_structure_get_uint64 (stats, "missing-view-2", &n));
  fail_unless_equals_uint64 (n, 1);
  fail_unless (gst_structure_get_uint64 (stats, "late-view-2", &n));
  fail_unless_equals_uint64 (n, 1);
  fail_unless (gst_structure_get_uint64 (stats, "missing-view-0", &n));
  fail_unless_equals_uint64 (n, 0);
  gst_structure_free (stats);

  for (v = 0; v < 3; v++)
    gst_buffer_unref (in[v]);
  for (v = 3; v > 0; v--)
    gst_harness_teardown (h[v - 1]);
  g_unlink (path);
  ddnn_model_unref (m);
}

GST_END_TEST;

/* A camera's buffer captured at @capture_ms on the shared clock, with its
 * own sample counter, arriving at running time @arrival_ms. */
static GstBuffer *
captured (DdnnModel *m, guint view, guint64 sample, guint capture_ms,
    guint arrival_ms)
{
  GstBuffer *buffer = tiny_view (m, view, sample);

  gst_buffer_get_ddnn_meta (buffer)->capture_time = (GstClockTime) capture_ms *
      GST_MSECOND;
  GST_BUFFER_PTS (buffer) = (GstClockTime) arrival_ms * GST_MSECOND;
  GST_BUFFER_DURATION (buffer) = GST_CLOCK_TIME_NONE;
  return buffer;
}

static guint64
pull_upstream_sample (GstHarness *h)
{
  GstEvent *event;
  guint64 sample = G_MAXUINT64;

  /* the pad's own events (latency, reconfigure) may come first */
  while ((event = gst_harness_pull_upstream_event (h)) &&
      !gst_event_has_name (event, GST_DDNN_ANSWER_EVENT))
    gst_event_unref (event);
  fail_unless (event != NULL);
  fail_unless (gst_structure_get_uint64 (
      gst_event_get_structure (event), "sample", &sample));
  gst_event_unref (event);
  return sample;
}

/* Cameras on separate hosts: their counters disagree, their capture times
 * (a shared clock) do.  Views within the tolerance are one moment whatever
 * their sample numbers; an answer goes back to each camera under its own
 * number; a camera that stays away past the timeout is not waited for
 * again (the next moment leaves at once), and it rejoins with its next
 * buffer.  The test clock drives the timeout. */
GST_START_TEST (test_capture_time)
{
  g_autofree gchar *path = tiny_model ("max", "max");
  DdnnModel *m = ddnn_model_load (path, NULL);
  GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);
  GstBuffer *in[3], *out;
  GstDdnnMeta *meta;
  GstHarness *h[3];
  GstStructure *stats = NULL;
  guint64 n = 0;
  guint v;

  g_object_set (e, "model", path, "timeout", 10 * GST_MSECOND, "tolerance",
      (guint64) 5 * GST_MSECOND, NULL);
  gst_util_set_object_arg (G_OBJECT (e), "align", "capture-time");
  tiny_harness (e, h);
  gst_object_unref (e);
  gst_harness_use_testclock (h[0]);
  for (v = 0; v < 3; v++)
    gst_harness_set_upstream_latency (h[v], 5 * GST_MSECOND);

  /* moment 1000 ms: counters 7, 100 and 3, capture times within 3 ms */
  in[0] = captured (m, 0, 7, 1000, 0);
  in[1] = captured (m, 1, 100, 1003, 1);
  in[2] = captured (m, 2, 3, 998, 2);
  for (v = 0; v < 3; v++)
    gst_harness_push (h[v], gst_buffer_ref (in[v]));
  out = gst_harness_pull (h[0]);
  meta = gst_buffer_get_ddnn_meta (out);
  fail_unless_equals_uint64 (meta->view_mask, 7);
  fail_unless_equals_uint64 (meta->sample, 7);
  check_by_hand (out, in, "max", "max");
  for (v = 0; v < 3; v++)
    gst_buffer_unref (in[v]);

  /* its answer reaches each camera's pad with that camera's number */
  fail_unless (gst_pad_push_event (h[0]->sinkpad,
      gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
          gst_structure_new (GST_DDNN_ANSWER_EVENT, "sample", G_TYPE_UINT64,
              meta->sample, "views", G_TYPE_UINT64, meta->view_mask, NULL))));
  fail_unless_equals_uint64 (pull_upstream_sample (h[0]), 7);
  fail_unless_equals_uint64 (pull_upstream_sample (h[1]), 100);
  fail_unless_equals_uint64 (pull_upstream_sample (h[2]), 3);
  gst_buffer_unref (out);

  /* moment 1033 ms: camera 2 does not come; after the timeout (arrival
   * 33 ms + 5 ms upstream + 10 ms) the moment goes on without it */
  in[0] = captured (m, 0, 8, 1033, 33);
  in[1] = captured (m, 1, 101, 1034, 33);
  in[2] = NULL;
  for (v = 0; v < 2; v++)
    gst_harness_push (h[v], gst_buffer_ref (in[v]));
  fail_unless (gst_harness_wait_for_clock_id_waits (h[0], 1, 5));
  fail_unless (gst_harness_try_pull (h[0]) == NULL);
  fail_unless (gst_harness_crank_single_clock_wait (h[0]));
  out = gst_harness_pull (h[0]);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 3);
  check_by_hand (out, in, "max", "max");
  gst_buffer_unref (out);
  for (v = 0; v < 2; v++)
    gst_buffer_unref (in[v]);

  /* moment 1066 ms: camera 2 has left; the moment leaves with no wait
   * beyond the clock's present (48 ms) */
  in[0] = captured (m, 0, 9, 1066, 66);
  in[1] = captured (m, 1, 102, 1066, 66);
  gst_harness_set_time (h[0], 70 * GST_MSECOND);
  for (v = 0; v < 2; v++)
    gst_harness_push (h[v], gst_buffer_ref (in[v]));
  /* (a test clock wants a crank even for a time that has passed) */
  fail_unless (gst_harness_wait_for_clock_id_waits (h[0], 1, 5));
  fail_unless (gst_test_clock_get_next_entry_time (GST_TEST_CLOCK (
                   GST_ELEMENT_CLOCK (h[0]->element))) <= 70 * GST_MSECOND);
  fail_unless (gst_harness_crank_single_clock_wait (h[0]));
  out = gst_harness_pull (h[0]);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 3);
  fail_unless_equals_uint64 (
      gst_clock_get_time (GST_ELEMENT_CLOCK (h[0]->element)), 70 * GST_MSECOND);
  gst_buffer_unref (out);
  for (v = 0; v < 2; v++)
    gst_buffer_unref (in[v]);

  /* moment 1100 ms: camera 2 is back, with a counter of its own */
  in[2] = captured (m, 2, 0, 1101, 100);
  in[0] = captured (m, 0, 10, 1100, 100);
  in[1] = captured (m, 1, 103, 1099, 100);
  gst_harness_set_time (h[0], 100 * GST_MSECOND);
  for (v = 3; v > 0; v--)
    gst_harness_push (h[v - 1], gst_buffer_ref (in[v - 1]));
  out = gst_harness_pull (h[0]);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 7);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->sample, 10);
  check_by_hand (out, in, "max", "max");
  gst_buffer_unref (out);
  for (v = 0; v < 3; v++)
    gst_buffer_unref (in[v]);

  g_object_get (h[0]->element, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "samples", &n));
  fail_unless_equals_uint64 (n, 4);
  fail_unless (gst_structure_get_uint64 (stats, "missing-view-2", &n));
  fail_unless_equals_uint64 (n, 2);
  gst_structure_free (stats);
  for (v = 3; v > 0; v--)
    gst_harness_teardown (h[v - 1]);
  g_unlink (path);
  ddnn_model_unref (m);
}

GST_END_TEST;

/* One absurd sample number (2^64 - 1, from a peer that lies) is dropped
 * and counted, and the samples after it are fused as before; when every
 * camera jumps, fusion starts afresh at the new numbers. */
GST_START_TEST (test_sample_window)
{
  g_autofree gchar *path = tiny_model ("max", "max");
  DdnnModel *m = ddnn_model_load (path, NULL);
  GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);
  GstStructure *stats = NULL;
  GstHarness *h[3];
  GstBuffer *out;
  guint64 n = 0, s;
  guint v;

  g_object_set (e, "model", path, "sample-window", (guint64) 100, NULL);
  tiny_harness (e, h);
  gst_object_unref (e);

  for (v = 0; v < 3; v++)
    gst_harness_push (h[v], tiny_view (m, v, 0));
  gst_buffer_unref (gst_harness_pull (h[0]));
  gst_harness_push (h[2], tiny_view (m, 2, G_MAXUINT64));
  for (s = 1; s <= 3; s++) {
    for (v = 0; v < 3; v++)
      gst_harness_push (h[v], tiny_view (m, v, s));
    out = gst_harness_pull (h[0]);
    fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->sample, s);
    fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 7);
    gst_buffer_unref (out);
  }
  g_object_get (h[0]->element, "stats", &stats, NULL);
  fail_unless (gst_structure_get_uint64 (stats, "outside-view-2", &n));
  fail_unless_equals_uint64 (n, 1);
  gst_structure_free (stats);

  /* all three jump together (a replay restarted elsewhere): afresh there */
  for (v = 0; v < 3; v++)
    gst_harness_push (h[v], tiny_view (m, v, 500));
  out = gst_harness_pull (h[0]);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->sample, 500);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 7);
  gst_buffer_unref (out);

  for (v = 3; v > 0; v--)
    gst_harness_teardown (h[v - 1]);
  g_unlink (path);
  ddnn_model_unref (m);
}

GST_END_TEST;

/* A camera that runs another model is a stream error naming both ids. */
GST_START_TEST (test_other_model)
{
  g_autofree gchar *a = tiny_model ("max", "max");
  g_autofree gchar *b = tiny_model ("avg", "max");
  DdnnModel *ma = ddnn_model_load (a, NULL), *mb = ddnn_model_load (b, NULL);
  GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;
  GstHarness *h[3];
  guint v;

  g_object_set (e, "model", a, NULL);
  gst_element_set_bus (e, bus);
  tiny_harness (e, h);
  for (v = 0; v < 3; v++)
    gst_harness_push (h[v], tiny_view (v == 1 ? mb : ma, v, 0));
  msg = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (
      g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE));
  fail_unless (strstr (debug, ddnn_model_get_id (ma)) != NULL);
  fail_unless (strstr (debug, ddnn_model_get_id (mb)) != NULL);
  fail_unless (strstr (debug, "sink_1") != NULL);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  for (v = 3; v > 0; v--)
    gst_harness_teardown (h[v - 1]);
  gst_element_set_bus (e, NULL);
  gst_object_unref (e);
  gst_object_unref (bus);
  g_unlink (a);
  g_unlink (b);
  ddnn_model_unref (ma);
  ddnn_model_unref (mb);
}

GST_END_TEST;

/* The next buffer out of @h, or NULL after 5 s. */
static GstBuffer *
pull_soon (GstHarness *h)
{
  gint64 until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  GstBuffer *b;

  while (!(b = gst_harness_try_pull (h)) && g_get_monotonic_time () < until)
    g_usleep (1000);
  return b;
}

/* A flushing seek back to the start: the samples played again are fused
 * again, every one, rather than dropped as late. */
GST_START_TEST (test_flushing_seek)
{
  g_autofree gchar *path = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
  GstHarness *h[3];
  GstElement *e = gst_element_factory_make ("ddnnaggregate", NULL);
  GstEvent *seek, *event;
  GstSegment segment;
  guint32 seqnum;
  guint v, round, k;

  model = ddnn_model_load (path, NULL);
  g_object_set (e, "model", path, NULL);
  tiny_harness (e, h);
  gst_object_unref (e);
  gst_segment_init (&segment, GST_FORMAT_TIME);

  for (round = 0; round < 2; round++) {
    for (k = 0; k < 5; k++)
      for (v = 0; v < 3; v++)
        fail_unless_equals_int (
            gst_harness_push (h[v], view_buffer (v, k)), GST_FLOW_OK);
    for (k = 0; k < 5; k++) {
      GstBuffer *out = pull_soon (h[0]);
      GstDdnnMeta *meta;

      fail_unless (out != NULL, "round %u: sample %u not given", round, k);
      meta = gst_buffer_get_ddnn_meta (out);
      fail_unless_equals_uint64 (meta->sample, k);
      fail_unless_equals_uint64 (meta->view_mask, 0x7);
      gst_buffer_unref (out);
    }
    if (round == 1)
      break;

    /* seek back to the start: the aggregator sends the seek up to every
     * camera, which flushes and plays from the start again */
    seek = gst_event_new_seek (1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH,
        GST_SEEK_TYPE_SET, 0, GST_SEEK_TYPE_NONE, GST_CLOCK_TIME_NONE);
    seqnum = gst_event_get_seqnum (seek);
    fail_unless (gst_harness_push_upstream_event (h[0], seek));
    for (v = 0; v < 3; v++) {
      event = gst_event_new_flush_start ();
      gst_event_set_seqnum (event, seqnum);
      fail_unless (gst_harness_push_event (h[v], event));
    }
    for (v = 0; v < 3; v++) {
      event = gst_event_new_flush_stop (TRUE);
      gst_event_set_seqnum (event, seqnum);
      fail_unless (gst_harness_push_event (h[v], event));
      event = gst_event_new_segment (&segment);
      gst_event_set_seqnum (event, seqnum);
      fail_unless (gst_harness_push_event (h[v], event));
    }
  }
  for (v = 0; v < 3; v++)
    gst_harness_teardown (h[2 - v]);
  ddnn_model_unref (model);
}

GST_END_TEST;

/* Recorded cameras played through the one-host pipeline: after answers
 * have started to come, a flushing seek back to the start plays every
 * sample again, and every one is answered again, under its own number. */
#define SEEK_FRAMES 40
#define SEEK_VIEWS 6

typedef struct
{
  GMutex lock;
  GCond cond;
  guint before; /* answers before the seek */
  gboolean flushed[2]; /* each sink, once the seek's flush reached it */
  guint8 after[SEEK_FRAMES]; /* answers per sample after it */
  guint out_of_range;
} SeekRun;

static GstPadProbeReturn
answer_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  SeekRun *run = g_object_get_data (G_OBJECT (pad), "run");
  guint sink = GPOINTER_TO_UINT (user_data);
  GstDdnnMeta *meta;

  if (info->type & GST_PAD_PROBE_TYPE_EVENT_FLUSH) {
    if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) ==
        GST_EVENT_FLUSH_STOP) {
      g_mutex_lock (&run->lock);
      run->flushed[sink] = TRUE;
      g_mutex_unlock (&run->lock);
    }
    return GST_PAD_PROBE_OK;
  }
  meta = gst_buffer_get_ddnn_meta (GST_PAD_PROBE_INFO_BUFFER (info));
  if (!meta)
    return GST_PAD_PROBE_OK;
  g_mutex_lock (&run->lock);
  if (!run->flushed[sink])
    run->before++;
  else if (meta->sample < SEEK_FRAMES)
    run->after[meta->sample]++;
  else
    run->out_of_range++;
  g_cond_signal (&run->cond);
  g_mutex_unlock (&run->lock);
  return GST_PAD_PROBE_OK;
}

static void
run_to_eos (GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (
      bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);

  fail_unless (msg != NULL, "no EOS in 60 s");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error = NULL;

    gst_message_parse_error (msg, &error, NULL);
    fail ("error: %s", error->message);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
}

GST_START_TEST (test_seek_recorded_cameras)
{
  g_autofree gchar *path = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
  g_autofree gchar *dir = g_dir_make_tmp ("ddnn-seek-XXXXXX", NULL);
  GString *desc = g_string_new (NULL);
  GstElement *pipeline, *e;
  GstPad *pad;
  SeekRun run = { 0 };
  guint v, k;

  fail_unless (dir != NULL);
  /* the recordings: SEEK_FRAMES frames of a test pattern per camera */
  for (v = 0; v < SEEK_VIEWS; v++) {
    g_autofree gchar *line = g_strdup_printf (
        "videotestsrc num-buffers=%u pattern=%u ! "
        "video/x-raw,format=GRAY8,width=32,height=32,framerate=30/1 ! "
        "matroskamux ! filesink location=%s/cam%u.mkv",
        SEEK_FRAMES, v, dir, v);

    pipeline = gst_parse_launch (line, NULL);
    fail_unless (pipeline != NULL);
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    run_to_eos (pipeline);
    gst_element_set_state (pipeline, GST_STATE_NULL);
    gst_object_unref (pipeline);
  }

  g_string_printf (desc,
      "ddnnaggregate name=fuse model=%s ! ddnnexit name=exit model=%s "
      "exit.exit ! fakesink name=local async=false "
      "exit.next ! ddnncloud model=%s ! fakesink name=cloud async=false",
      path, path, path);
  for (v = 0; v < SEEK_VIEWS; v++)
    g_string_append_printf (desc,
        " filesrc location=%s/cam%u.mkv ! matroskademux ! "
        "ddnndevice model=%s view=%u ! fuse.",
        dir, v, path, v);
  pipeline = gst_parse_launch (desc->str, NULL);
  fail_unless (pipeline != NULL);
  g_mutex_init (&run.lock);
  g_cond_init (&run.cond);
  for (k = 0; k < 2; k++) {
    e = gst_bin_get_by_name (GST_BIN (pipeline), k ? "cloud" : "local");
    pad = gst_element_get_static_pad (e, "sink");
    g_object_set_data (G_OBJECT (pad), "run", &run);
    gst_pad_add_probe (pad,
        GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_FLUSH,
        answer_probe, GUINT_TO_POINTER (k), NULL);
    gst_object_unref (pad);
    gst_object_unref (e);
  }

  /* paused at the first frames, then played until answers come */
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING) !=
      GST_STATE_CHANGE_FAILURE);
  g_mutex_lock (&run.lock);
  while (run.before < 5)
    g_cond_wait (&run.cond, &run.lock);
  g_mutex_unlock (&run.lock);

  /* answers count as replayed once the seek's flush has reached their
   * sink; what was under way before it does not */
  fail_unless (gst_element_get_state (pipeline, NULL, NULL, 10 * GST_SECOND) ==
      GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_element_seek_simple (
      pipeline, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, 0));
  run_to_eos (pipeline);

  /* no camera's frame was late or missing: the aggregator started afresh */
  e = gst_bin_get_by_name (GST_BIN (pipeline), "fuse");
  {
    GstStructure *stats;

    g_object_get (e, "stats", &stats, NULL);
    fail_unless (stats != NULL);
    GST_INFO ("aggregator stats after the seek: %" GST_PTR_FORMAT, stats);
    for (v = 0; v < SEEK_VIEWS; v++) {
      g_autofree gchar *late = g_strdup_printf ("late-view-%u", v);
      g_autofree gchar *missing = g_strdup_printf ("missing-view-%u", v);
      guint64 n_late = 1, n_missing = 1;

      fail_unless (gst_structure_get_uint64 (stats, late, &n_late));
      fail_unless (gst_structure_get_uint64 (stats, missing, &n_missing));
      fail_unless_equals_uint64 (n_late, 0);
      fail_unless_equals_uint64 (n_missing, 0);
    }
    gst_structure_free (stats);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  for (k = 0; k < SEEK_FRAMES; k++)
    fail_unless (run.after[k] == 1,
        "sample %u answered %u times after the seek", k, run.after[k]);
  fail_unless_equals_int (run.out_of_range, 0);
  fail_unless (run.flushed[0] && run.flushed[1]);
  gst_object_unref (e);
  gst_object_unref (pipeline);
  g_mutex_clear (&run.lock);
  g_cond_clear (&run.cond);
  for (v = 0; v < SEEK_VIEWS; v++) {
    g_autofree gchar *f = g_strdup_printf ("%s/cam%u.mkv", dir, v);

    g_unlink (f);
  }
  g_rmdir (dir);
  g_string_free (desc, TRUE);
}

GST_END_TEST;

static Suite *
ddnnaggregate_suite (void)
{
  Suite *s = suite_create ("ddnnaggregate");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_fuse_three_views);
  tcase_add_test (tc, test_modes);
  tcase_add_test (tc, test_mode_refused);
  tcase_add_test (tc, test_live_missing_view);
  tcase_add_test (tc, test_other_model);
  tcase_add_test (tc, test_flushing_seek);
  tcase_add_test (tc, test_seek_recorded_cameras);
  tcase_add_test (tc, test_capture_time);
  tcase_add_test (tc, test_sample_window);
  return s;
}

GST_CHECK_MAIN (ddnnaggregate);
