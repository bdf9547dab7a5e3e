/* libFuzzer target: arbitrary bytes as a received frame.  Any input must be
 * parsed into a meta or refused with a GError, never crash or leak.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gstddnnframe.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static gboolean initialized = FALSE;
  GstDdnnFrame frame;
  GError *error = NULL;

  if (!initialized) {
    gst_init (NULL, NULL);
    initialized = TRUE;
  }
  if (gst_ddnn_frame_parse (data, size, &frame, &error)) {
    GstBuffer *buffer = gst_buffer_new ();
    GstDdnnMeta *meta = gst_ddnn_frame_add_meta (&frame, buffer, NULL);

    /* what parses must serialize again, to the same bytes */
    if (meta) {
      GBytes *again = frame.features_only
          ? gst_ddnn_frame_features_only (meta, NULL)
          : gst_ddnn_frame_from_meta (meta, frame.int8_scores, TRUE, NULL);

      g_assert (again != NULL);
      if (!frame.int8_scores)
        g_assert (g_bytes_get_size (again) == size);
      g_bytes_unref (again);
    }
    gst_buffer_unref (buffer);
  } else {
    g_assert (error != NULL);
    g_error_free (error);
  }
  return 0;
}
