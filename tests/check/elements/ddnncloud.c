/* ddnncloud: answers equal the engine's cloud section on the fused
 * features; a sample of another model is a stream error naming both ids.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gstddnnframe.h>
#include <string.h>

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

static Suite *
ddnncloud_suite (void)
{
  Suite *s = suite_create ("ddnncloud");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_cloud_answers);
  tcase_add_test (tc, test_other_model);
  return s;
}

GST_CHECK_MAIN (ddnncloud);
