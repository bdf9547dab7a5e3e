/* ddnnaggregate: views of one sample are fused by the model's fusion, the
 * view mask says who took part, a camera that skipped a sample is left out
 * of it, and the payload is the wire frame of the fused meta.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gstddnnframe.h>
#include <string.h>

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

static Suite *
ddnnaggregate_suite (void)
{
  Suite *s = suite_create ("ddnnaggregate");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_fuse_three_views);
  return s;
}

GST_CHECK_MAIN (ddnnaggregate);
