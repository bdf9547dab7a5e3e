/* The wire frame: round trips, the documented layout, CRC-32's check
 * value, and refusal of every truncation, every flipped byte and trailing
 * bytes.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gst/check/gstcheck.h>
#include <math.h>
#include <gstddnnframe.h>
#include <gstddnnlinkframe.h>

static const gchar model_id[] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static GstBuffer *
sample_buffer (void)
{
  const gsize shape[3] = { 4, 8, 8 };
  GstBuffer *buffer = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (buffer, model_id, 10);
  DdnnTensor *features = ddnn_tensor_new (DDNN_DTYPE_BIT, 3, shape, NULL);
  guint i;

  for (i = 0; i < features->n_bytes; i++)
    ddnn_tensor_u8 (features)[i] = (guint8) (i * 37);
  for (i = 0; i < 10; i++)
    meta->scores[i] = (float) i * 1.5f - 4.0f;
  meta->sample = G_GUINT64_CONSTANT (0x0102030405060708);
  meta->pts = 33 * GST_MSECOND;
  meta->view = 3;
  meta->view_mask = 1 << 3;
  meta->entropy = 0.75f;
  meta->exit = GST_DDNN_EXIT_NEXT;
  gst_ddnn_meta_set_features (meta, features);
  ddnn_tensor_unref (features);
  return buffer;
}

GST_START_TEST (test_crc32_check_value)
{
  /* the standard check value of CRC-32 (IEEE) */
  fail_unless_equals_uint64 (
      gst_ddnn_crc32 (0, (const guint8 *) "123456789", 9), 0xcbf43926u);
  /* a longer run, whole and chained at odd places; the value is Python's
   * zlib.crc32 (bytes ((i * 7) % 251 for i in range (1000))) */
  {
    guint8 data[1000];
    guint i;

    for (i = 0; i < sizeof (data); i++)
      data[i] = (i * 7) % 251;
    fail_unless_equals_uint64 (
        gst_ddnn_crc32 (0, data, sizeof (data)), 0x04da8651u);
    fail_unless_equals_uint64 (
        gst_ddnn_crc32 (
            gst_ddnn_crc32 (gst_ddnn_crc32 (0, data, 13), data + 13, 500),
            data + 513, 487),
        0x04da8651u);
  }
}

GST_END_TEST;

GST_START_TEST (test_round_trip)
{
  GstBuffer *buffer = sample_buffer (), *back = gst_buffer_new ();
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer), *m2;
  GError *error = NULL;
  GBytes *bytes = gst_ddnn_frame_from_meta (meta, FALSE, TRUE, &error);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  GstDdnnFrame frame;
  guint i;

  fail_unless (bytes != NULL);
  /* 64 bytes of framing, then 10 float scores and 256 bits */
  fail_unless_equals_uint64 (size, 64 + 40 + 32);
  fail_unless (data[0] == 'D' && data[1] == 'N' && data[2] == 1);
  fail_unless_equals_int (data[8], 0x08); /* little-endian sample */
  fail_unless_equals_int (data[15], 0x01);
  fail_unless_equals_int (data[40], 0x01); /* model id 0123... */
  fail_unless_equals_int (data[41], 0x23);

  fail_unless (gst_ddnn_frame_parse (data, size, &frame, &error));
  fail_unless_equals_uint64 (frame.sample, meta->sample);
  fail_unless_equals_uint64 (frame.pts, meta->pts);
  fail_unless_equals_uint64 (frame.capture_time, GST_CLOCK_TIME_NONE);
  fail_unless_equals_int (frame.view, 3);
  fail_unless_equals_string (frame.model_id, "0123456789abcdef");
  fail_unless_equals_int (frame.exit, GST_DDNN_EXIT_NEXT);

  m2 = gst_ddnn_frame_add_meta (&frame, back, &error);
  fail_unless (m2 != NULL);
  for (i = 0; i < 10; i++)
    fail_unless_equals_float (m2->scores[i], meta->scores[i]);
  fail_unless_equals_float (m2->entropy, 0.75f);
  fail_unless (m2->features != NULL);
  fail_unless_equals_int (m2->features->dtype, DDNN_DTYPE_BIT);
  fail_unless (ddnn_tensor_same_shape (m2->features, meta->features));
  fail_unless (memcmp (m2->features->data, meta->features->data, 32) == 0);

  g_bytes_unref (bytes);
  gst_buffer_unref (back);

  /* a features reply: flag bit 5, no scores, the features */
  back = gst_buffer_new ();
  bytes = gst_ddnn_frame_features_only (meta, &error);
  fail_unless (bytes != NULL);
  data = g_bytes_get_data (bytes, &size);
  fail_unless_equals_uint64 (size, 64 + 32);
  fail_unless_equals_int (data[3] & 0x20, 0x20);
  fail_unless (gst_ddnn_frame_parse (data, size, &frame, &error));
  fail_unless (frame.features_only);
  fail_unless_equals_uint64 (frame.sample, meta->sample);
  m2 = gst_ddnn_frame_add_meta (&frame, back, &error);
  fail_unless (m2 != NULL);
  fail_unless (memcmp (m2->features->data, meta->features->data, 32) == 0);
  /* a features-only frame without features is refused */
  {
    guint8 *bad = g_memdup2 (data, 64);
    guint32 crc;

    bad[6] = bad[7] = 0;
    bad[54] = bad[55] = 0;
    crc = gst_ddnn_crc32 (0, bad, 60);
    bad[60] = crc & 0xff;
    bad[61] = (crc >> 8) & 0xff;
    bad[62] = (crc >> 16) & 0xff;
    bad[63] = crc >> 24;
    fail_if (gst_ddnn_frame_parse (bad, 64, &frame, NULL));
    g_free (bad);
  }
  g_bytes_unref (bytes);
  gst_buffer_unref (buffer);
  gst_buffer_unref (back);
}

GST_END_TEST;

GST_START_TEST (test_int8_scores)
{
  GstBuffer *buffer = sample_buffer ();
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
  GBytes *bytes = gst_ddnn_frame_from_meta (meta, TRUE, FALSE, NULL);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  float expect[10], got[10];
  GstDdnnFrame frame;
  guint i;

  /* C int8 values and a float16 scale; no features */
  fail_unless_equals_uint64 (size, 64 + 10 + 2);
  fail_unless (gst_ddnn_frame_parse (data, size, &frame, NULL));
  fail_if (frame.has_features);
  gst_ddnn_frame_get_scores (&frame, got);
  /* exactly what the engine's local fusion sees */
  ddnn_scores_quantize_int8 (10, meta->scores, expect);
  for (i = 0; i < 10; i++)
    fail_unless_equals_float (got[i], expect[i]);
  g_bytes_unref (bytes);
  gst_buffer_unref (buffer);
}

GST_END_TEST;

/* Scores so small or so large that their scale leaves float16's normal
 * range: the engine clamps it as the wire does, so both fuse the same
 * values.  Worked by hand: scores of 1e-4 take the smallest normal scale,
 * 2^-14, and q = round (1e-4 * 2^14) = 2; scores of 1e7 take 65504 and
 * q = round (1e7 / 65504) = 153, clamped to 127; 4e-5 gives
 * round (0.655) = 1. */
GST_START_TEST (test_int8_scale_range)
{
  const float tiny = ldexpf (1.0f, -14);
  struct
  {
    float score, deq;
  } cases[] = { { 1e-4f, 2 * tiny }, { -1e-4f, -2 * tiny },
    { 1e7f, 127 * 65504.0f }, { 4e-5f, tiny } };
  guint k;

  for (k = 0; k < G_N_ELEMENTS (cases); k++) {
    GstBuffer *buffer = sample_buffer ();
    GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
    float expect[10], got[10];
    GstDdnnFrame frame;
    GBytes *bytes;
    const guint8 *data;
    gsize size;
    guint i;

    for (i = 0; i < 10; i++)
      meta->scores[i] = i == 3 ? cases[k].score : 0.0f;
    ddnn_scores_quantize_int8 (10, meta->scores, expect);
    fail_unless_equals_float (expect[3], cases[k].deq);
    bytes = gst_ddnn_frame_from_meta (meta, TRUE, FALSE, NULL);
    data = g_bytes_get_data (bytes, &size);
    fail_unless (gst_ddnn_frame_parse (data, size, &frame, NULL));
    gst_ddnn_frame_get_scores (&frame, got);
    for (i = 0; i < 10; i++)
      fail_unless_equals_float (got[i], expect[i]);
    g_bytes_unref (bytes);
    gst_buffer_unref (buffer);
  }
}

GST_END_TEST;

GST_START_TEST (test_broken_frames)
{
  GstBuffer *buffer = sample_buffer ();
  GBytes *bytes = gst_ddnn_frame_from_meta (
      gst_buffer_get_ddnn_meta (buffer), FALSE, TRUE, NULL);
  gsize size, i;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  guint8 *copy = g_malloc (size + 1);
  GstDdnnFrame frame;
  GError *error = NULL;

  memcpy (copy, data, size);
  for (i = 0; i < size; i++) {
    fail_if (gst_ddnn_frame_parse (copy, i, &frame, &error),
        "truncated to %" G_GSIZE_FORMAT " accepted", i);
    fail_unless (error != NULL);
    g_clear_error (&error);
  }
  for (i = 0; i < size; i++) {
    copy[i] ^= 0x01;
    fail_if (gst_ddnn_frame_parse (copy, size, &frame, &error),
        "byte %" G_GSIZE_FORMAT " flipped accepted", i);
    fail_unless (error != NULL);
    g_clear_error (&error);
    copy[i] ^= 0x01;
  }
  copy[size] = 0;
  fail_if (gst_ddnn_frame_parse (copy, size + 1, &frame, &error));
  g_clear_error (&error);
  fail_unless (gst_ddnn_frame_parse (copy, size, &frame, NULL));
  g_free (copy);
  g_bytes_unref (bytes);
  gst_buffer_unref (buffer);
}

GST_END_TEST;

/* Link frames of a camera's scores-only samples: the first two carry the
 * sample delta and both times; from the third on, at a steady pace, the
 * frame is "in step" (flags and scores only: 1 + 10 + 2 bytes); a frame
 * off the pace carries its numbers again.  Each decodes to the file frame
 * it came from. */
GST_START_TEST (test_link_in_step)
{
  const gsize no_shape[3] = { 0 };
  GstDdnnLinkState tx, rx;
  /* 33 ms apart, but the sixth frame comes 5 ms late and the seventh is
   * sample 8 (one skipped: the next step is taken for 66 ms, so sample 9
   * is off the pace too, and sample 10 in step again) */
  const guint64 samples[] = { 1, 2, 3, 4, 5, 6, 8, 9, 10 };
  const GstClockTime late[] = { 0, 0, 0, 0, 0, 5, 5, 5, 5 };
  const gsize sizes[] = { 0, 0, 13, 13, 13, 0, 0, 0, 13 };
  guint k, i;

  gst_ddnn_link_state_init (
      &tx, model_id, 3, 10, TRUE, FALSE, DDNN_DTYPE_BIT, 0, no_shape);
  rx = tx;
  for (k = 0; k < G_N_ELEMENTS (samples); k++) {
    GstBuffer *buffer = gst_buffer_new ();
    GstDdnnMeta *meta = gst_buffer_add_ddnn_meta (buffer, model_id, 10);
    GBytes *file, *link, *back;
    GstDdnnFrame frame, got;
    const guint8 *data;
    gsize size;
    GError *error = NULL;

    for (i = 0; i < 10; i++)
      meta->scores[i] = (float) (i + k) * 0.5f - 2.0f;
    meta->sample = samples[k];
    meta->view = 3;
    meta->view_mask = 1 << 3;
    meta->pts = samples[k] * 33 * GST_MSECOND + late[k] * GST_MSECOND;
    meta->capture_time = 7 * GST_SECOND + meta->pts;
    file = gst_ddnn_frame_from_meta (meta, TRUE, FALSE, NULL);
    data = g_bytes_get_data (file, &size);
    fail_unless (gst_ddnn_frame_parse (data, size, &frame, NULL));
    link = gst_ddnn_link_frame_encode (&tx, &frame, &error);
    fail_unless (link != NULL, "%s", error ? error->message : "");
    if (sizes[k]) {
      fail_unless_equals_uint64 (g_bytes_get_size (link), sizes[k]);
    } else {
      fail_unless (g_bytes_get_size (link) > 13);
    }
    data = g_bytes_get_data (link, &size);
    back = gst_ddnn_link_frame_decode (&rx, data, size, NULL, &error);
    fail_unless (back != NULL, "%s", error ? error->message : "");
    data = g_bytes_get_data (back, &size);
    fail_unless (gst_ddnn_frame_parse (data, size, &got, NULL));
    fail_unless_equals_uint64 (got.sample, samples[k]);
    fail_unless_equals_uint64 (got.pts, meta->pts);
    fail_unless_equals_uint64 (got.capture_time, meta->capture_time);
    fail_unless_equals_int (got.scores_size, frame.scores_size);
    fail_unless (memcmp (got.scores, frame.scores, frame.scores_size) == 0);
    g_bytes_unref (back);
    g_bytes_unref (link);
    g_bytes_unref (file);
    gst_buffer_unref (buffer);
  }

  /* a frame in step where there is nothing to step from is refused */
  {
    guint8 bogus[13] = { 0x40 | 0x10 };
    GError *error = NULL;

    gst_ddnn_link_state_init (
        &rx, model_id, 3, 10, TRUE, FALSE, DDNN_DTYPE_BIT, 0, no_shape);
    fail_if (
        gst_ddnn_link_frame_decode (&rx, bogus, sizeof (bogus), NULL, &error));
    fail_unless (error != NULL);
    g_error_free (error);
  }
}

GST_END_TEST;

static Suite *
ddnnframe_suite (void)
{
  Suite *s = suite_create ("ddnnframe");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_crc32_check_value);
  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_int8_scores);
  tcase_add_test (tc, test_int8_scale_range);
  tcase_add_test (tc, test_broken_frames);
  tcase_add_test (tc, test_link_in_step);
  return s;
}

GST_CHECK_MAIN (ddnnframe);
