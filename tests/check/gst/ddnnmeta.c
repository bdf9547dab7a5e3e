/* GstDdnnMeta: added, read, copied with its buffer, and carried through a
 * tee with the features shared by reference.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gstddnnmeta.h>

static const gchar model_id[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static GstBuffer *
buffer_with_meta (DdnnTensor **features_out)
{
  const gsize shape[3] = { 4, 2, 2 };
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, 16, NULL);
  DdnnTensor *features = ddnn_tensor_new (DDNN_DTYPE_BIT, 3, shape, NULL);
  GstDdnnMeta *meta;

  meta = gst_buffer_add_ddnn_meta (buffer, model_id, 3);
  fail_unless (meta != NULL);
  meta->sample = 42;
  meta->pts = 7 * GST_SECOND;
  meta->view = 2;
  meta->view_mask = 1 << 2;
  meta->scores[0] = 0.5f;
  meta->scores[2] = -1.5f;
  meta->entropy = 0.25f;
  meta->exit = GST_DDNN_EXIT_NEXT;
  gst_ddnn_meta_set_features (meta, features);
  /* the meta holds its own reference */
  fail_unless_equals_int (g_atomic_int_get (&features->ref_count), 2);
  *features_out = features;
  return buffer;
}

static void
check_meta (GstDdnnMeta *meta, DdnnTensor *features)
{
  fail_unless (meta != NULL);
  fail_unless_equals_uint64 (meta->sample, 42);
  fail_unless_equals_uint64 (meta->pts, 7 * GST_SECOND);
  fail_unless_equals_int (meta->view, 2);
  fail_unless_equals_uint64 (meta->view_mask, 1 << 2);
  fail_unless_equals_string (meta->model_id, model_id);
  fail_unless_equals_int (meta->n_classes, 3);
  fail_unless_equals_float (meta->scores[0], 0.5f);
  fail_unless_equals_float (meta->scores[1], 0.0f);
  fail_unless_equals_float (meta->scores[2], -1.5f);
  fail_unless_equals_float (meta->entropy, 0.25f);
  fail_unless_equals_int (meta->exit, GST_DDNN_EXIT_NEXT);
  /* shared, not copied */
  fail_unless (meta->features == features);
}

GST_START_TEST (test_meta_add_get)
{
  DdnnTensor *features;
  GstBuffer *buffer = buffer_with_meta (&features);

  check_meta (gst_buffer_get_ddnn_meta (buffer), features);
  /* no tags, so no transforming element drops it */
  {
    const gchar *const *tags = gst_meta_api_type_get_tags (
        GST_DDNN_META_API_TYPE);

    fail_unless (tags == NULL || tags[0] == NULL);
  }
  gst_buffer_unref (buffer);
  /* the buffer's reference went with it */
  fail_unless_equals_int (g_atomic_int_get (&features->ref_count), 1);
  ddnn_tensor_unref (features);
}

GST_END_TEST;

GST_START_TEST (test_meta_copy)
{
  DdnnTensor *features;
  GstBuffer *buffer = buffer_with_meta (&features);
  GstBuffer *copy = gst_buffer_copy (buffer);
  GstDdnnMeta *a = gst_buffer_get_ddnn_meta (buffer);
  GstDdnnMeta *b = gst_buffer_get_ddnn_meta (copy);

  check_meta (b, features);
  /* scores are the copy's own */
  fail_unless (a->scores != b->scores);
  fail_unless_equals_int (g_atomic_int_get (&features->ref_count), 3);
  gst_buffer_unref (buffer);
  check_meta (b, features);
  gst_buffer_unref (copy);
  fail_unless_equals_int (g_atomic_int_get (&features->ref_count), 1);
  ddnn_tensor_unref (features);
}

GST_END_TEST;

GST_START_TEST (test_meta_through_tee)
{
  GstHarness *h = gst_harness_new_parse ("tee ! queue");
  DdnnTensor *features;
  GstBuffer *buffer = buffer_with_meta (&features), *out;

  gst_harness_set_src_caps_str (h, "application/x-test");
  out = gst_harness_push_and_pull (h, buffer);
  fail_unless (out != NULL);
  check_meta (gst_buffer_get_ddnn_meta (out), features);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
  fail_unless_equals_int (g_atomic_int_get (&features->ref_count), 1);
  ddnn_tensor_unref (features);
}

GST_END_TEST;

static Suite *
ddnnmeta_suite (void)
{
  Suite *s = suite_create ("ddnnmeta");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_meta_add_get);
  tcase_add_test (tc, test_meta_copy);
  tcase_add_test (tc, test_meta_through_tee);
  return s;
}

GST_CHECK_MAIN (ddnnmeta);
