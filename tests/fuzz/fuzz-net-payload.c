/* libFuzzer target: what a peer sends, as the network elements get it.
 * The first byte chooses: 0 mod 3, a binary message at a ddnnsrc
 * (gst_ddnn_buffer_new_from_frame, what ddnnsrc calls on every message
 * before anything else); 1 mod 3, the text of an answer at a ddnnsink
 * (gst_ddnn_result_from_json); 2 mod 3, a handshake: lines "Name: value"
 * up to an empty line, read as the upgrade request's headers
 * (gst_ddnn_announce_read), then the rest as the connection's first link
 * frame (gst_ddnn_link_frame_decode), again as a run of frames each
 * after a length byte, and again as one message of frames back to back;
 * every file frame is checked against that
 * announcement at the door (gst_ddnn_announce_check_frame).  Any input must
 * give a buffer, structure or announcement or be refused with a GError,
 * never crash or leak.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "gstddnnlink.h"
#include <gstddnnframe.h>
#include <gstddnnlinkframe.h>
#include <gstddnnresult.h>
#include <string.h>

/* The handshake case: headers, then a frame at the door. */
static void
handshake (const guint8 *data, size_t size)
{
  SoupMessageHeaders *headers = soup_message_headers_new (
      SOUP_MESSAGE_HEADERS_REQUEST);
  const guint8 *end = data + size, *line = data;
  GstDdnnAnnounce announce;
  GError *error = NULL;

  while (line < end) {
    const guint8 *nl = memchr (line, '\n', end - line);
    gsize n = (nl ? nl : end) - line;
    gchar *text = g_strndup ((const gchar *) line, n);
    gchar *colon = strchr (text, ':');

    line += n + (nl ? 1 : 0);
    if (n == 0) {
      g_free (text);
      break;
    }
    if (colon && colon > text) {
      *colon = '\0';
      soup_message_headers_append (headers, text, g_strstrip (colon + 1));
    }
    g_free (text);
  }
  if (gst_ddnn_announce_read (&announce, headers, &error)) {
    GstDdnnFrame frame;
    gchar *what = gst_ddnn_announce_describe (&announce);
    GstDdnnLinkState link;
    GBytes *file;
    const guint8 *p;
    guint pass;

    g_assert (what != NULL);
    g_free (what);

    /* the rest: the connection's first link frame; then a connection's
     * frames one after another, each after a length byte; then one
     * message of frames back to back (the running state: sample deltas,
     * predicted times, frames in step) */
    for (pass = 0; pass < 3; pass++) {
      gst_ddnn_link_state_init (&link, announce.model_id, announce.view,
          announce.n_classes, announce.int8_scores, announce.has_features,
          announce.features_dtype, announce.n_dims, announce.shape);
      for (p = line; p < end;) {
        gsize left = (gsize) (end - p), used = 0;
        gsize n = pass == 1 ? MIN ((gsize) *p, left - 1) : left;

        if (pass == 1)
          p++;
        file = gst_ddnn_link_frame_decode (
            &link, p, n, pass == 2 ? &used : NULL, &error);
        if (file) {
          gsize got;
          const guint8 *bytes = g_bytes_get_data (file, &got);

          g_assert (pass != 2 || (used > 0 && used <= n));
          p += pass == 2 ? used : n;
          /* what the link decoder gives, the file parser takes */
          g_assert (gst_ddnn_frame_parse (bytes, got, &frame, NULL));
          if (!gst_ddnn_announce_check_frame (&announce, &frame, &error)) {
            g_assert (error != NULL);
            g_clear_error (&error);
          }
          g_bytes_unref (file);
        } else {
          g_assert (error != NULL);
          g_clear_error (&error);
          break;
        }
      }
    }
    gst_ddnn_announce_clear (&announce);
  } else {
    g_assert (error != NULL);
    g_error_free (error);
  }
  soup_message_headers_unref (headers);
}

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
  if (data[0] % 3 == 2) {
    handshake (data + 1, size - 1);
  } else if (data[0] % 3 == 0) {
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
