/* ddnnexit: confident samples leave on 'exit' with a ddnn-result message,
 * the others on 'next'; the idle pad gets a GAP; a video buffer without meta
 * is a stream error; frames are parsed, malformed ones dropped and counted;
 * features on demand are asked for, fused when they come, or the sample is
 * answered degraded.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include "failed-start.h"
#include <gstddnnframe.h>
#include <gstddnnresult.h>
#include <string.h>

static GstBuffer *
sample (guint64 number, float entropy)
{
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (buffer, "abc", 3);

  gsize shape[1] = { 4 };
  DdnnTensor *features = ddnn_tensor_new (DDNN_DTYPE_F32, 1, shape, NULL);

  meta->sample = number;
  meta->entropy = entropy;
  meta->scores[1] = 2.0f;
  meta->view_mask = 0x3f;
  gst_ddnn_meta_set_features (meta, features);
  ddnn_tensor_unref (features);
  GST_BUFFER_PTS (buffer) = number * GST_SECOND;
  GST_BUFFER_DURATION (buffer) = GST_SECOND;
  return buffer;
}

static gboolean
has_gap_at (GstHarness *h, GstClockTime ts)
{
  GstEvent *event;
  gboolean found = FALSE;

  while ((event = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (event) == GST_EVENT_GAP) {
      GstClockTime t, d;

      gst_event_parse_gap (event, &t, &d);
      found |= t == ts && d == GST_SECOND;
    }
    gst_event_unref (event);
  }
  return found;
}

/* A ddnnexit with @threshold, in a harness on its sink and exit pads. */
static GstHarness *
exit_harness (gdouble threshold)
{
  GstElement *e = gst_element_factory_make ("ddnnexit", NULL);
  GstHarness *h;

  g_object_set (e, "threshold", threshold, NULL);
  h = gst_harness_new_with_element (e, "sink", "exit");
  gst_object_unref (e);
  return h;
}

GST_START_TEST (test_routing)
{
  GstHarness *hx = exit_harness (0.5);
  GstHarness *hn = gst_harness_new_with_element (hx->element, NULL, "next");
  GstBus *bus = gst_bus_new ();
  GstBuffer *out;
  GstMessage *msg;
  const GstStructure *s;
  guint64 number = 0;
  GstDdnnMeta *meta;

  gst_element_set_bus (hx->element, bus);
  g_object_set (hx->element, "threshold", 0.5, NULL);
  gst_harness_set_src_caps_str (hx, "application/x-ddnn");

  /* confident: leaves on exit, GAP on next, a result on the bus */
  fail_unless_equals_int (gst_harness_push (hx, sample (1, 0.2f)), GST_FLOW_OK);
  out = gst_harness_pull (hx);
  meta = gst_buffer_get_ddnn_meta (out);
  fail_unless_equals_int (meta->exit, GST_DDNN_EXIT_LOCAL);
  gst_buffer_unref (out);
  fail_unless_equals_int (gst_harness_buffers_in_queue (hn), 0);
  fail_unless (has_gap_at (hn, 1 * GST_SECOND));
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_has_name (s, "ddnn-result"));
  fail_unless (gst_structure_get_uint64 (s, "sample", &number));
  fail_unless_equals_uint64 (number, 1);
  fail_unless_equals_string (gst_structure_get_string (s, "tier"), "device");
  {
    gchar *json = gst_ddnn_result_to_json (s);

    fail_unless (strstr (json, "\"sample\":1") != NULL ||
        strstr (json, "\"sample\" : 1") != NULL);
    fail_unless (g_str_has_suffix (json, "\n"));
    g_free (json);
  }
  gst_message_unref (msg);

  /* not confident: goes on, GAP on exit, no result */
  fail_unless_equals_int (gst_harness_push (hx, sample (2, 0.7f)), GST_FLOW_OK);
  out = gst_harness_pull (hn);
  meta = gst_buffer_get_ddnn_meta (out);
  fail_unless_equals_int (meta->exit, GST_DDNN_EXIT_NEXT);
  fail_unless_equals_uint64 (meta->sample, 2);
  gst_buffer_unref (out);
  fail_unless_equals_int (gst_harness_buffers_in_queue (hx), 0);
  fail_unless (has_gap_at (hx, 2 * GST_SECOND));
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);

  gst_element_set_bus (hx->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (hn);
  gst_harness_teardown (hx);
}

GST_END_TEST;

GST_START_TEST (test_no_meta)
{
  GstHarness *hx = exit_harness (0.5);
  GstHarness *hn = gst_harness_new_with_element (hx->element, NULL, "next");

  gst_harness_set_src_caps_str (hx, "video/x-raw");
  fail_unless_equals_int (
      gst_harness_push (hx, gst_buffer_new ()), GST_FLOW_ERROR);
  gst_harness_teardown (hn);
  gst_harness_teardown (hx);
}

GST_END_TEST;

/* The bytes of a frame for a sample (entropy 0.2, so it exits). */
static GBytes *
frame_bytes (guint64 number)
{
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (buffer,
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 3);
  GBytes *bytes;

  meta->sample = number;
  meta->entropy = 0.2f;
  meta->view = -1;
  meta->view_mask = 0x3f;
  bytes = gst_ddnn_frame_from_meta (meta, FALSE, TRUE, NULL);
  fail_unless (bytes != NULL);
  gst_buffer_unref (buffer);
  return bytes;
}

static GstBuffer *
buffer_of (const guint8 *data, gsize size)
{
  return gst_buffer_new_memdup (data, size);
}

/* Frames without a meta (from filesrc ! ddnnparse, or a socket) are parsed;
 * corrupt, truncated and oversized ones are dropped, each with a warning
 * giving the reason, and counted; the stream goes on. */
GST_START_TEST (test_frames)
{
  GstHarness *hx = exit_harness (0.5);
  GstHarness *hn = gst_harness_new_with_element (hx->element, NULL, "next");
  GstBus *bus = gst_bus_new ();
  GBytes *good = frame_bytes (7);
  gsize size;
  const guint8 *data = g_bytes_get_data (good, &size);
  guint8 *bad = g_malloc (size + 16);
  /* what each reason says */
  static const gchar *reasons[] = { "checksum", "header announces",
    "header announces", "at most" };
  guint64 rejected = 0;
  GstBuffer *out;
  guint i;

  gst_element_set_bus (hx->element, bus);
  gst_harness_set_src_caps_str (hx, "application/x-ddnn");
  for (i = 0; i < G_N_ELEMENTS (reasons); i++) {
    GstMessage *msg;
    GError *error = NULL;
    gchar *debug = NULL;
    gsize n = size;
    guint32 crc;

    memcpy (bad, data, size);
    if (i == 0) {
      bad[size - 1] ^= 0x40; /* a flipped bit in the payload */
    } else if (i == 1) {
      n = size - 5; /* cut short */
    } else if (i == 2) {
      memset (bad + size, 0, 16); /* longer than its header says */
      n = size + 16;
    } else {
      /* a header that claims 4096 x 4096 features, checksum made right */
      bad[6] = 1;
      bad[7] = 2;
      bad[54] = 0x00;
      bad[55] = 0x10;
      bad[56] = 0x00;
      bad[57] = 0x10;
      crc = gst_ddnn_crc32 (0, bad, 60);
      crc = gst_ddnn_crc32 (crc, bad + 64, size - 64);
      bad[60] = crc & 0xff;
      bad[61] = (crc >> 8) & 0xff;
      bad[62] = (crc >> 16) & 0xff;
      bad[63] = crc >> 24;
    }
    fail_unless_equals_int (
        gst_harness_push (hx, buffer_of (bad, n)), GST_FLOW_OK);
    fail_unless_equals_int (gst_harness_buffers_in_queue (hx), 0);
    fail_unless_equals_int (gst_harness_buffers_in_queue (hn), 0);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
    fail_unless (msg != NULL);
    gst_message_parse_warning (msg, &error, &debug);
    GST_INFO ("%s: %s", reasons[i], debug);
    fail_unless (debug != NULL && strstr (debug, reasons[i]) != NULL);
    g_error_free (error);
    g_free (debug);
    gst_message_unref (msg);
  }
  g_object_get (hx->element, "rejected", &rejected, NULL);
  fail_unless_equals_uint64 (rejected, G_N_ELEMENTS (reasons));

  /* the good frame is parsed and routed */
  fail_unless_equals_int (
      gst_harness_push (hx, buffer_of (data, size)), GST_FLOW_OK);
  out = gst_harness_pull (hx);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->sample, 7);
  fail_unless_equals_uint64 (gst_buffer_get_ddnn_meta (out)->view_mask, 0x3f);
  gst_buffer_unref (out);

  g_free (bad);
  g_bytes_unref (good);
  gst_element_set_bus (hx->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (hn);
  gst_harness_teardown (hx);
}

GST_END_TEST;

/* A camera's result on a made-up frame, for features on demand. */
static GstBuffer *
camera_meta (DdnnModel *model, guint view, guint64 sample)
{
  DdnnSectionResult r = { 0 };
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (
      buffer, ddnn_model_get_id (model), ddnn_model_get_n_classes (model));
  guint8 pixels[1024];
  guint i;

  for (i = 0; i < sizeof (pixels); i++)
    pixels[i] = (guint8) (i * (view + 3) + sample);
  fail_unless (
      ddnn_section_run_image (ddnn_model_get_device_section (model, view),
          pixels, 32, 32, 1, 32, &r, NULL));
  meta->sample = sample;
  meta->view = view;
  meta->view_mask = 1 << view;
  gst_ddnn_meta_set_features (meta, r.features);
  ddnn_section_result_clear (&r);
  return buffer;
}

/* Features on demand: a sample that goes on with scores alone is held, its
 * features are asked for upstream, and it goes on with them fused once all
 * its cameras' replies came; a sample whose features never come is
 * answered here, marked degraded. */
GST_START_TEST (test_features_on_demand)
{
  g_autofree gchar *path = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
  DdnnModel *model = ddnn_model_load (path, NULL);
  GstElement *e = gst_element_factory_make ("ddnnexit", NULL);
  GstHarness *hx, *hn;
  GstBus *bus = gst_bus_new ();
  DdnnTensor *features[6] = { NULL }, *expect;
  GstBuffer *in, *out;
  GstDdnnMeta *meta;
  GstEvent *event;
  const GstStructure *s;
  guint64 sample = 0, views = 0;
  GstMessage *msg;
  gboolean degraded = FALSE;
  guint v;

  fail_unless (model != NULL);
  g_object_set (e, "model", path, "threshold", 0.5, "features-timeout",
      50 * GST_MSECOND, NULL);
  gst_element_set_bus (e, bus);
  hx = gst_harness_new_with_element (e, "sink", "exit");
  hn = gst_harness_new_with_element (e, NULL, "next");
  gst_harness_use_testclock (hx);
  gst_harness_set_src_caps_str (hx, GST_DDNN_CAPS);

  /* sample 4, from cameras 0-2, scores only, not confident */
  in = gst_buffer_new ();
  meta = gst_buffer_add_ddnn_meta (in, ddnn_model_get_id (model), 10);
  meta->sample = 4;
  meta->view = -1;
  meta->view_mask = 0x7;
  meta->entropy = 0.9f;
  fail_unless_equals_int (gst_harness_push (hx, in), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_buffers_in_queue (hn), 0);
  fail_unless_equals_int (gst_harness_buffers_in_queue (hx), 0);
  while ((event = gst_harness_try_pull_upstream_event (hx))) {
    if (gst_event_has_name (event, GST_DDNN_FEATURES_REQUEST)) {
      s = gst_event_get_structure (event);
      gst_structure_get_uint64 (s, "sample", &sample);
      gst_structure_get_uint64 (s, "views", &views);
    }
    gst_event_unref (event);
  }
  fail_unless_equals_uint64 (sample, 4);
  fail_unless_equals_uint64 (views, 0x7);

  /* the three cameras' features come back, out of band */
  for (v = 0; v < 3; v++) {
    GstBuffer *cam = camera_meta (model, v, 4);
    GBytes *bytes = gst_ddnn_frame_features_only (
        gst_buffer_get_ddnn_meta (cam), NULL);
    GstBuffer *frame = gst_buffer_new_wrapped_bytes (bytes);

    features[v] = ddnn_tensor_ref (gst_buffer_get_ddnn_meta (cam)->features);
    fail_unless (gst_harness_push_event (hx,
        gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_OOB,
            gst_structure_new (GST_DDNN_FEATURES_REPLY, "sample", G_TYPE_UINT64,
                (guint64) 4, "view", G_TYPE_INT, v, "frame", GST_TYPE_BUFFER,
                frame, NULL))));
    gst_buffer_unref (frame);
    g_bytes_unref (bytes);
    gst_buffer_unref (cam);
    /* it goes on only when all three are in (sent on by the element's
     * timer thread, as the reply comes on another element's thread) */
    if (v < 2) {
      fail_unless_equals_int (gst_harness_buffers_in_queue (hn), 0);
    }
  }
  out = gst_harness_pull (hn);
  meta = gst_buffer_get_ddnn_meta (out);
  fail_unless_equals_uint64 (meta->sample, 4);
  fail_unless_equals_int (meta->exit, GST_DDNN_EXIT_NEXT);
  expect = ddnn_model_fuse_features (model, features, 6, NULL);
  fail_unless (meta->features != NULL);
  fail_unless_equals_int (meta->features->n_bytes, expect->n_bytes);
  fail_unless (
      memcmp (meta->features->data, expect->data, expect->n_bytes) == 0);
  ddnn_tensor_unref (expect);
  gst_buffer_unref (out);

  /* sample 5's features never come, and no buffer comes after it (a live
   * stream that pauses): once its time is up on the element's clock, it is
   * answered here, degraded */
  in = gst_buffer_new ();
  meta = gst_buffer_add_ddnn_meta (in, ddnn_model_get_id (model), 10);
  meta->sample = 5;
  meta->view = -1;
  meta->view_mask = 0x3;
  meta->entropy = 0.9f;
  gst_harness_push (hx, in);
  fail_unless (gst_harness_try_pull (hx) == NULL);
  fail_unless (gst_harness_wait_for_clock_id_waits (hx, 1, 5));
  fail_unless (gst_harness_crank_single_clock_wait (hx));
  out = gst_harness_pull (hx);
  meta = gst_buffer_get_ddnn_meta (out);
  fail_unless_equals_uint64 (meta->sample, 5);
  fail_unless_equals_int (meta->exit, GST_DDNN_EXIT_DEGRADED);
  fail_unless_equals_uint64 (
      gst_clock_get_time (GST_ELEMENT_CLOCK (e)), 50 * GST_MSECOND);
  gst_buffer_unref (out);
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    s = gst_message_get_structure (msg);
    gst_structure_get_uint64 (s, "sample", &sample);
    if (sample == 5)
      gst_structure_get_boolean (s, "degraded", &degraded);
    gst_message_unref (msg);
  }
  fail_unless (degraded);

  for (v = 0; v < 3; v++)
    ddnn_tensor_unref (features[v]);
  gst_harness_teardown (hn);
  gst_harness_teardown (hx);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  ddnn_model_unref (model);
}

GST_END_TEST;

/* A sample of another model is refused, as the aggregator and the cloud
 * refuse it: a stream error that names both ids. */
GST_START_TEST (test_other_model)
{
  g_autofree gchar *path = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
  GstElement *e = gst_element_factory_make ("ddnnexit", NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;
  GstBuffer *in;
  GstDdnnMeta *meta;
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  g_object_set (e, "model", path, NULL);
  gst_element_set_bus (e, bus);
  h = gst_harness_new_with_element (e, "sink", "exit");
  gst_harness_set_src_caps_str (h, GST_DDNN_CAPS);
  in = gst_buffer_new ();
  meta = gst_buffer_add_ddnn_meta (in, "0123456789abcdef0123", 10);
  meta->view = -1;
  meta->entropy = 0.1f;
  fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (
      g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE));
  fail_unless (strstr (debug, "0123456789abcdef") != NULL);
  fail_unless (strstr (debug, "182fbc27799c70e0") != NULL);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  gst_harness_teardown (h);
  gst_object_unref (e);
  gst_object_unref (bus);
}

GST_END_TEST;

/* threshold=-1 (the default) is the model's trained threshold: a sample
 * just under it exits, one just over goes on; without a model there is no
 * threshold, and the element does not start. */
GST_START_TEST (test_model_threshold)
{
  g_autofree gchar *path = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
  DdnnModel *model = ddnn_model_load (path, NULL);
  double trained = ddnn_model_get_threshold (model, DDNN_TIER_DEVICE);
  GstElement *e = gst_element_factory_make ("ddnnexit", NULL);
  GstHarness *hx, *hn;
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  gdouble threshold = 0;
  guint k;

  fail_unless (trained > 0.05 && trained < 0.95);
  g_object_get (e, "threshold", &threshold, NULL);
  fail_unless_equals_float (threshold, -1.0);
  g_object_set (e, "model", path, NULL);
  hx = gst_harness_new_with_element (e, "sink", "exit");
  hn = gst_harness_new_with_element (e, NULL, "next");
  gst_harness_set_src_caps_str (hx, GST_DDNN_CAPS);
  for (k = 0; k < 2; k++) {
    GstBuffer *in = gst_buffer_new ();
    GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (
        in, ddnn_model_get_id (model), 10);

    meta->sample = k;
    meta->view = -1;
    /* no cameras named: the one that goes on is not held for features */
    meta->view_mask = 0;
    meta->entropy = (float) (k == 0 ? trained - 0.01 : trained + 0.01);
    fail_unless_equals_int (gst_harness_push (hx, in), GST_FLOW_OK);
  }
  fail_unless_equals_int (gst_harness_buffers_in_queue (hx), 1);
  fail_unless_equals_int (gst_harness_buffers_in_queue (hn), 1);
  gst_harness_teardown (hn);
  gst_harness_teardown (hx);
  gst_object_unref (e);

  e = gst_element_factory_make ("ddnnexit", NULL);
  gst_element_set_bus (e, bus);
  fail_unless_equals_int (
      gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  ddnn_model_unref (model);
}

GST_END_TEST;

/* A start that fails halfway (the results file opened, then a model that
 * is not there) frees what it made: ten PAUSED <-> NULL cycles leave
 * nothing behind (`elements/ddnnexit-failed-start-valgrind` runs this
 * under valgrind). */
GST_START_TEST (test_failed_start)
{
  check_failed_start ("ddnnexit");
}

GST_END_TEST;

static Suite *
ddnnexit_suite (void)
{
  Suite *s = suite_create ("ddnnexit");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_routing);
  tcase_add_test (tc, test_no_meta);
  tcase_add_test (tc, test_frames);
  tcase_add_test (tc, test_features_on_demand);
  tcase_add_test (tc, test_other_model);
  tcase_add_test (tc, test_model_threshold);
  tcase_add_test (tc, test_failed_start);
  return s;
}

GST_CHECK_MAIN (ddnnexit);
