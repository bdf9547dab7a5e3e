/* libFuzzer target: raw socket payloads as the network elements get them.
 * The first byte chooses the direction: even, a binary message at a
 * ddnnsrc (gst_ddnn_buffer_new_from_frame, what ddnnsrc calls on every
 * message before anything else); odd, the text of an answer at a ddnnsink
 * (gst_ddnn_result_from_json).  Any input must give a buffer or structure
 * or be refused with a GError, never crash or leak.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <gstddnnframe.h>
#include <gstddnnresult.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  static gboolean initialized = FALSE;
  GError *error = NULL;

  if (!initialized) {
    gst_init (NULL, NULL);
    initialized = TRUE;
  }
  if (size == 0)
    return 0;
  if (data[0] % 2 == 0) {
    GstDdnnFrame frame;
    GstBuffer *buffer = gst_ddnn_buffer_new_from_frame (
        g_bytes_new (data + 1, size - 1), &frame, &error);

    if (buffer) {
      GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);

      g_assert (meta != NULL);
      g_assert (meta->sample == frame.sample);
      g_assert (gst_buffer_get_size (buffer) == size - 1);
      gst_buffer_unref (buffer);
    } else {
      g_assert (error != NULL);
      g_error_free (error);
    }
  } else {
    gchar *text = g_strndup ((const gchar *) data + 1, size - 1);
    GstStructure *result = gst_ddnn_result_from_json (text, &error);

    if (result) {
      gchar *json = gst_ddnn_result_to_json (result);

      g_assert (json != NULL);
      g_free (json);
      gst_structure_free (result);
    } else {
      g_assert (error != NULL);
      g_error_free (error);
    }
    g_free (text);
  }
  return 0;
}
