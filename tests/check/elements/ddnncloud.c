/* ddnncloud: answers equal the engine's cloud section on the fused
 * features; a sample of another model is a stream error naming both ids;
 * an edge answers what it is sure of and sends the rest on 'next'.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include "failed-start.h"
#include <gstddnnframe.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static gchar *
model_path (void)
{
  return g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
}

/* A fused sample: every camera sees a different pattern. */
static GstBuffer *
fused_sample (DdnnModel *model, const gchar *model_id, DdnnTensor **fused)
{
  DdnnSectionResult r[6] = { { 0 } };
  DdnnTensor *features[6];
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta;
  guint8 pixels[1024];
  guint v, i;

  for (v = 0; v < 6; v++) {
    for (i = 0; i < sizeof (pixels); i++)
      pixels[i] = (guint8) (i * (v + 5));
    fail_unless (
        ddnn_section_run_image (ddnn_model_get_device_section (model, v),
            pixels, 32, 32, 1, 32, &r[v], NULL));
    features[v] = r[v].features;
  }
  *fused = ddnn_model_fuse_features (model, features, 6, NULL);
  meta = gst_buffer_add_ddnn_meta (buffer, model_id, 10);
  meta->sample = 5;
  meta->view_mask = 0x3f;
  meta->entropy = 0.9f;
  gst_ddnn_meta_set_features (meta, *fused);
  for (v = 0; v < 6; v++)
    ddnn_section_result_clear (&r[v]);
  return buffer;
}

GST_START_TEST (test_cloud_answers)
{
  g_autofree gchar *path = model_path ();
  g_autofree gchar *launch = g_strdup_printf ("ddnncloud model=%s", path);
  DdnnModel *model = ddnn_model_load (path, NULL);
  GstHarness *h = gst_harness_new_parse (launch);
  DdnnSectionResult expect = { 0 };
  DdnnTensor *fused;
  GstBuffer *out;
  GstDdnnMeta *meta;
  GstDdnnFrame frame;
  GstMapInfo map;
  guint c;

  gst_harness_set_src_caps_str (h, GST_DDNN_CAPS);
  out = gst_harness_push_and_pull (
      h, fused_sample (model, ddnn_model_get_id (model), &fused));
  fail_unless (ddnn_section_run (
      ddnn_model_get_cloud_section (model), fused, &expect, NULL));
  meta = gst_buffer_get_ddnn_meta (out);
  fail_unless_equals_int (meta->tier, DDNN_TIER_CLOUD);
  fail_unless_equals_float (meta->entropy, expect.entropy);
  for (c = 0; c < 10; c++)
    fail_unless_equals_float (meta->scores[c], expect.scores[c]);
  gst_buffer_map (out, &map, GST_MAP_READ);
  fail_unless (gst_ddnn_frame_parse (map.data, map.size, &frame, NULL));
  fail_unless_equals_int (frame.tier, DDNN_TIER_CLOUD);
  fail_unless_equals_uint64 (frame.sample, 5);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
  ddnn_tensor_unref (fused);
  ddnn_section_result_clear (&expect);
  ddnn_model_unref (model);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_other_model)
{
  g_autofree gchar *path = model_path ();
  DdnnModel *model = ddnn_model_load (path, NULL);
  GstElement *e = gst_element_factory_make ("ddnncloud", NULL);
  GstHarness *h;
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  DdnnTensor *fused;
  GError *error = NULL;
  gchar *debug = NULL;

  g_object_set (e, "model", path, NULL);
  gst_element_set_bus (e, bus);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_harness_set_src_caps_str (h, GST_DDNN_CAPS);
  fail_unless_equals_int (gst_harness_push (h,
                              fused_sample (model,
                                  "00000000000000000000000000000000000000000000"
                                  "00000000000000000000",
                                  &fused)),
      GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (
      g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE));
  fail_unless (strstr (debug, ddnn_model_get_id (model)) != NULL);
  fail_unless (strstr (debug, "00000000") != NULL);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  ddnn_tensor_unref (fused);
  gst_harness_teardown (h);
  gst_element_set_bus (e, NULL);
  gst_object_unref (e);
  gst_object_unref (bus);
  ddnn_model_unref (model);
}

GST_END_TEST;

/* edge-tiny: two RGB 4x4 cameras, an edge with its own exit (threshold
 * 0.4), a cloud on the edge's features */
static gchar *
edge_model (DdnnModel **model)
{
  g_autofree gchar *arch = g_build_filename (g_getenv ("DDNN_SOURCE_DIR"),
      "tests", "fuzz", "seed-archs", "edge-tiny.json", NULL);
  g_autofree gchar *topology = NULL;
  gchar *path;
  gint fd;

  fail_unless (g_file_get_contents (arch, &topology, NULL, NULL));
  *model = ddnn_model_new_from_topology (topology, 3, NULL);
  fail_unless (*model != NULL);
  fd = g_file_open_tmp ("ddnncloud-XXXXXX.safetensors", &path, NULL);
  fail_unless (fd >= 0);
  close (fd);
  fail_unless (ddnn_model_save (*model, path, NULL));
  return path;
}

static GstBuffer *
edge_sample (DdnnModel *model, guint64 number, DdnnTensor **fused)
{
  DdnnSectionResult r[2] = { { 0 } };
  DdnnTensor *features[2];
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta;
  guint8 rgb[48];
  guint v, i;

  for (v = 0; v < 2; v++) {
    for (i = 0; i < sizeof (rgb); i++)
      rgb[i] = (guint8) (i * (v + 3) + number * 17);
    fail_unless (
        ddnn_section_run_image (ddnn_model_get_device_section (model, v), rgb,
            4, 4, 3, 12, &r[v], NULL));
    features[v] = r[v].features;
  }
  *fused = ddnn_model_fuse_features (model, features, 2, NULL);
  meta = gst_buffer_add_ddnn_meta (buffer, ddnn_model_get_id (model), 3);
  meta->sample = number;
  meta->view_mask = 0x3;
  gst_ddnn_meta_set_features (meta, *fused);
  GST_BUFFER_PTS (buffer) = number * GST_SECOND;
  GST_BUFFER_DURATION (buffer) = GST_SECOND;
  for (v = 0; v < 2; v++)
    ddnn_section_result_clear (&r[v]);
  return buffer;
}

/* The edge answers what it is sure of on src (tier edge, a result posted)
 * and sends the rest on next with its own features; a cloud after it
 * answers those as the engine does.  Thresholds 1 and 0 force each way,
 * -1 takes the model's 0.4. */
GST_START_TEST (test_edge_exit)
{
  DdnnModel *model;
  g_autofree gchar *path = edge_model (&model);
  DdnnSection *edge = ddnn_model_get_edge_section (model);
  DdnnSection *cloud = ddnn_model_get_cloud_section (model);
  GstElement *e = gst_element_factory_make ("ddnncloud", NULL);
  GstElement *c = gst_element_factory_make ("ddnncloud", NULL);
  GstHarness *hs, *hn, *hc;
  GstBus *bus = gst_bus_new ();
  static const gdouble thresholds[] = { 1.0, 0.0, -1.0 };
  guint t, k;

  g_object_set (e, "model", path, "section", "edge", NULL);
  g_object_set (c, "model", path, "section", "cloud", NULL);
  gst_element_set_bus (e, bus);
  hs = gst_harness_new_with_element (e, "sink", "src");
  hn = gst_harness_new_with_element (e, NULL, "next");
  hc = gst_harness_new_with_element (c, "sink", "src");
  gst_harness_set_src_caps_str (hs, GST_DDNN_CAPS);
  gst_harness_set_src_caps_str (hc, GST_DDNN_CAPS);

  for (t = 0; t < G_N_ELEMENTS (thresholds); t++) {
    for (k = 0; k < 4; k++) {
      DdnnSectionResult re = { 0 }, rc = { 0 };
      DdnnTensor *fused;
      GstBuffer *in = edge_sample (model, k, &fused), *out, *answer;
      GstDdnnMeta *meta;
      GstMessage *msg;
      gboolean exits;
      guint i;

      g_object_set (e, "threshold", thresholds[t], NULL);
      fail_unless (ddnn_section_run (edge, fused, &re, NULL));
      exits = re.entropy < (thresholds[t] < 0 ? 0.4 : thresholds[t]);
      fail_unless_equals_int (gst_harness_push (hs, in), GST_FLOW_OK);
      out = gst_harness_pull (exits ? hs : hn);
      fail_unless_equals_int (
          gst_harness_buffers_in_queue (exits ? hn : hs), 0);
      meta = gst_buffer_get_ddnn_meta (out);
      fail_unless_equals_int (meta->tier, DDNN_TIER_EDGE);
      fail_unless_equals_float (meta->entropy, re.entropy);
      for (i = 0; i < 3; i++)
        fail_unless_equals_float (meta->scores[i], re.scores[i]);
      msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
      if (exits) {
        fail_unless_equals_int (meta->exit, GST_DDNN_EXIT_LOCAL);
        fail_unless (msg != NULL);
        fail_unless_equals_string (
            gst_structure_get_string (gst_message_get_structure (msg), "tier"),
            "edge");
        gst_message_unref (msg);
        gst_buffer_unref (out);
      } else {
        fail_unless_equals_int (meta->exit, GST_DDNN_EXIT_NEXT);
        fail_unless (msg == NULL);
        fail_unless_equals_int (meta->features->n_bytes, re.features->n_bytes);
        fail_unless (memcmp (meta->features->data, re.features->data,
                         re.features->n_bytes) == 0);
        /* the cloud takes it from there */
        answer = gst_harness_push_and_pull (hc, out);
        fail_unless (ddnn_section_run (cloud, re.features, &rc, NULL));
        meta = gst_buffer_get_ddnn_meta (answer);
        fail_unless_equals_int (meta->tier, DDNN_TIER_CLOUD);
        for (i = 0; i < 3; i++)
          fail_unless_equals_float (meta->scores[i], rc.scores[i]);
        gst_buffer_unref (answer);
        ddnn_section_result_clear (&rc);
      }
      if (thresholds[t] == 1.0)
        fail_unless (exits);
      if (thresholds[t] == 0.0)
        fail_unless (!exits);
      ddnn_tensor_unref (fused);
      ddnn_section_result_clear (&re);
    }
  }
  gst_harness_teardown (hc);
  gst_harness_teardown (hn);
  gst_harness_teardown (hs);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  gst_object_unref (c);
  g_unlink (path);
  ddnn_model_unref (model);
}

GST_END_TEST;

/* A start that fails halfway (the results file opened, then a model that
 * is not there) frees what it made: ten PAUSED <-> NULL cycles leave
 * nothing behind (`elements/ddnncloud-failed-start-valgrind` runs this
 * under valgrind). */
GST_START_TEST (test_failed_start)
{
  check_failed_start ("ddnncloud");
}

GST_END_TEST;

static Suite *
ddnncloud_suite (void)
{
  Suite *s = suite_create ("ddnncloud");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_cloud_answers);
  tcase_add_test (tc, test_other_model);
  tcase_add_test (tc, test_edge_exit);
  tcase_add_test (tc, test_failed_start);
  return s;
}

GST_CHECK_MAIN (ddnncloud);
