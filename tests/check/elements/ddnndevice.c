/* ddnndevice: the meta it attaches equals the engine's own result for the
 * frame; a missing model fails at READY to PAUSED; caps the model cannot
 * take are refused.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gstddnnmeta.h>
#include <string.h>

static gchar *
model_path (void)
{
  return g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR"), "models", "fmv6-binary.safetensors", NULL);
}

static GstBuffer *
frame (guint seed)
{
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, 32 * 32, NULL);
  GstMapInfo map;
  guint i;

  gst_buffer_map (buffer, &map, GST_MAP_WRITE);
  for (i = 0; i < map.size; i++)
    map.data[i] = (guint8) ((i * 7 + seed * 13 + (i / 32) * 3) & 0xff);
  gst_buffer_unmap (buffer, &map);
  return buffer;
}

GST_START_TEST (test_meta_equals_engine)
{
  g_autofree gchar *path = model_path ();
  g_autofree gchar *launch = g_strdup_printf (
      "ddnndevice model=%s view=1", path);
  GstHarness *h = gst_harness_new_parse (launch);
  DdnnModel *model = ddnn_model_load (path, NULL);
  DdnnSectionResult expect = { 0 };
  guint k, c;

  fail_unless (model != NULL);
  gst_harness_set_src_caps_str (
      h, "video/x-raw,format=GRAY8,width=32,height=32,framerate=30/1");
  for (k = 0; k < 3; k++) {
    GstBuffer *in = frame (k), *out;
    GstDdnnMeta *meta;
    GstMapInfo map;

    gst_buffer_map (in, &map, GST_MAP_READ);
    fail_unless (
        ddnn_section_run_image (ddnn_model_get_device_section (model, 1),
            map.data, 32, 32, 1, 32, &expect, NULL));
    gst_buffer_unmap (in, &map);

    out = gst_harness_push_and_pull (h, in);
    meta = gst_buffer_get_ddnn_meta (out);
    fail_unless (meta != NULL);
    fail_unless_equals_uint64 (meta->sample, k);
    fail_unless_equals_int (meta->view, 1);
    fail_unless_equals_uint64 (meta->view_mask, 1 << 1);
    fail_unless_equals_string (meta->model_id, ddnn_model_get_id (model));
    fail_unless_equals_int (meta->n_classes, 10);
    for (c = 0; c < 10; c++)
      fail_unless_equals_float (meta->scores[c], expect.scores[c]);
    fail_unless_equals_float (meta->entropy, expect.entropy);
    fail_unless (meta->features != NULL);
    fail_unless_equals_int (meta->features->dtype, DDNN_DTYPE_BIT);
    fail_unless (memcmp (meta->features->data, expect.features->data,
                     expect.features->n_bytes) == 0);
    gst_buffer_unref (out);
  }
  ddnn_section_result_clear (&expect);
  ddnn_model_unref (model);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_missing_model)
{
  GstElement *e = gst_element_factory_make ("ddnndevice", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  fail_unless (e != NULL);
  gst_element_set_bus (e, bus);
  g_object_set (e, "model", "/nonexistent/model.safetensors", NULL);
  fail_unless_equals_int (
      gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ));
  fail_unless (strstr (error->message, "/nonexistent/model.safetensors"));
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_wrong_caps)
{
  g_autofree gchar *path = model_path ();
  g_autofree gchar *launch = g_strdup_printf ("ddnndevice model=%s", path);
  GstHarness *h = gst_harness_new_parse (launch);

  /* the model takes 32x32 GRAY8 */
  gst_harness_set_src_caps_str (
      h, "video/x-raw,format=GRAY8,width=64,height=64,framerate=30/1");
  fail_unless_equals_int (
      gst_harness_push (h, gst_buffer_new_allocate (NULL, 64 * 64, NULL)),
      GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
ddnndevice_suite (void)
{
  Suite *s = suite_create ("ddnndevice");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_meta_equals_engine);
  tcase_add_test (tc, test_missing_model);
  tcase_add_test (tc, test_wrong_caps);
  return s;
}

GST_CHECK_MAIN (ddnndevice);
