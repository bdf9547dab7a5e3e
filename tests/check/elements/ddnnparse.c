/* ddnnparse: a recorded stream of frames, read in small chunks, comes out
 * one checked frame a buffer; garbage, a corrupt frame and a frame cut off
 * by the end of the stream are skipped, each with a warning, and counted.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gstddnnframe.h>
#include <string.h>

static GBytes *
frame_bytes (guint64 number)
{
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (buffer,
      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 4);
  gsize shape[1] = { 8 };
  DdnnTensor *features = ddnn_tensor_new (DDNN_DTYPE_F32, 1, shape, NULL);
  GBytes *bytes;
  guint i;

  for (i = 0; i < 8; i++)
    ddnn_tensor_f32 (features)[i] = number + i * 0.5f;
  meta->sample = number;
  meta->pts = number * 40 * GST_MSECOND;
  meta->entropy = 0.25f;
  meta->view = -1;
  meta->view_mask = 0x7;
  meta->scores[number % 4] = 3.0f;
  gst_ddnn_meta_set_features (meta, features);
  ddnn_tensor_unref (features);
  bytes = gst_ddnn_frame_from_meta (meta, FALSE, TRUE, NULL);
  fail_unless (bytes != NULL);
  gst_buffer_unref (buffer);
  return bytes;
}

GST_START_TEST (test_cut_and_check)
{
  GstHarness *h = gst_harness_new ("ddnnparse");
  GstBus *bus = gst_bus_new ();
  GByteArray *stream = g_byte_array_new ();
  GBytes *frames[4];
  guint64 rejected = 0;
  guint i, n_warnings = 0;
  gsize off, size;
  GstMessage *msg;

  for (i = 0; i < 4; i++)
    frames[i] = frame_bytes (i);
  /* garbage, frame 0, frame 1 with a flipped bit, frame 2, half of 3 */
  g_byte_array_append (stream, (const guint8 *) "xyzzy garbage", 13);
  for (i = 0; i < 4; i++) {
    const guint8 *data = g_bytes_get_data (frames[i], &size);
    gsize start = stream->len;

    g_byte_array_append (stream, data, i == 3 ? size / 2 : size);
    if (i == 1)
      stream->data[start + 70] ^= 0x08;
  }

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h, GST_DDNN_CAPS);
  for (off = 0; off < stream->len; off += 7) {
    gsize n = MIN (7, stream->len - off);

    fail_unless_equals_int (
        gst_harness_push (h, gst_buffer_new_memdup (stream->data + off, n)),
        GST_FLOW_OK);
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

  for (i = 0; i < 2; i++) {
    GstBuffer *out = gst_harness_pull (h);
    guint expect = i == 0 ? 0 : 2;
    const guint8 *data = g_bytes_get_data (frames[expect], &size);
    GstDdnnFrame frame;
    GstMapInfo map;

    gst_buffer_map (out, &map, GST_MAP_READ);
    fail_unless_equals_uint64 (map.size, size);
    fail_unless (memcmp (map.data, data, size) == 0);
    fail_unless (gst_ddnn_frame_parse (map.data, map.size, &frame, NULL));
    fail_unless_equals_uint64 (frame.sample, expect);
    gst_buffer_unmap (out, &map);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (out), expect * 40 * GST_MSECOND);
    gst_buffer_unref (out);
  }
  fail_unless (gst_harness_try_pull (h) == NULL);

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING))) {
    GError *error = NULL;
    gchar *debug = NULL;

    gst_message_parse_warning (msg, &error, &debug);
    GST_INFO ("warning: %s", debug);
    fail_unless (debug != NULL);
    n_warnings++;
    g_error_free (error);
    g_free (debug);
    gst_message_unref (msg);
  }
  fail_unless_equals_int (n_warnings, 3);
  g_object_get (h->element, "rejected", &rejected, NULL);
  fail_unless_equals_uint64 (rejected, 3);

  for (i = 0; i < 4; i++)
    g_bytes_unref (frames[i]);
  g_byte_array_unref (stream);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
ddnnparse_suite (void)
{
  Suite *s = suite_create ("ddnnparse");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_cut_and_check);
  return s;
}

GST_CHECK_MAIN (ddnnparse);
