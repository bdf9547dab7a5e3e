/* ddnn dataset import: pictures and videos decoded in process by stock
 * GStreamer elements, into tightly packed GRAY8 or RGB frames.
 *
 * Pictures go through one pipeline per camera, appsrc ! decodebin !
 * videoconvert ! appsink, one file a buffer, one frame back for each: the
 * decoder (pngdec, jpegdec ...) is set up once, and the size of every frame
 * comes from the caps it was negotiated with.  A video is one pipeline of its
 * own, filesrc ! decodebin ! videoconvert ! videoscale ! appsink.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

/* How long one picture may take to come out (a picture the decoder cannot
 * finish, cut short, gives no error, only no frame), and one video frame. */
#define PICTURE_TIMEOUT (3 * GST_SECOND)
#define FRAME_TIMEOUT (10 * GST_SECOND)

struct _DdnnDecoder
{
  GstElement *pipeline;
  GstElement *src, *sink;
  guint channels;
  gchar *first_type; /* the media type of the first picture */
};

static const gchar *
raw_format (guint channels)
{
  return channels == 1 ? "GRAY8" : "RGB";
}

/* The error the pipeline posted, if any, as a GError for @path. */
static gboolean
pipeline_error (GstElement *pipeline, const gchar *path, GError **error)
{
  g_autoptr (GstBus) bus = gst_element_get_bus (pipeline);
  g_autoptr (GstMessage)
      msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
  GError *gst_error = NULL;

  if (!msg || GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ERROR)
    return FALSE;
  gst_message_parse_error (msg, &gst_error, NULL);
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
      "%s: GStreamer cannot decode it: %s", path, gst_error->message);
  g_error_free (gst_error);
  return TRUE;
}

/* Copies the frame in @sample, row by row, into @out (width x height x
 * channels bytes, no padding). */
static gboolean
copy_frame (GstSample *sample, guint channels, guint8 *out, GError **error)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  guint y, row;

  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) ||
      !gst_video_frame_map (
          &frame, &info, gst_sample_get_buffer (sample), GST_MAP_READ)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
        "GStreamer gave a frame that cannot be read");
    return FALSE;
  }
  row = GST_VIDEO_INFO_WIDTH (&info) * channels;
  for (y = 0; y < (guint) GST_VIDEO_INFO_HEIGHT (&info); y++)
    memcpy (out + (gsize) y * row,
        (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0) +
            (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
        row);
  gst_video_frame_unmap (&frame);
  return TRUE;
}

/* The next frame from @sink, NULL at the end of the stream or on an error
 * (then set), waiting at most @timeout for it. */
static GstSample *
next_frame (GstElement *pipeline, GstElement *sink, const gchar *path,
    GstClockTime timeout, GError **error)
{
  GstClockTime waited = 0;

  while (waited < timeout) {
    GstSample *sample = gst_app_sink_try_pull_sample (
        GST_APP_SINK (sink), 50 * GST_MSECOND);

    if (sample)
      return sample;
    if (gst_app_sink_is_eos (GST_APP_SINK (sink)) ||
        pipeline_error (pipeline, path, error))
      return NULL;
    waited += 50 * GST_MSECOND;
  }
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
      "%s: GStreamer gave no frame in %u s (is it cut short?)", path,
      (guint) (timeout / GST_SECOND));
  return NULL;
}

static gboolean
sample_size (GstSample *sample, guint *width, guint *height)
{
  GstVideoInfo info;

  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample)))
    return FALSE;
  *width = GST_VIDEO_INFO_WIDTH (&info);
  *height = GST_VIDEO_INFO_HEIGHT (&info);
  return TRUE;
}

DdnnDecoder *
ddnn_decoder_new (guint channels, GError **error)
{
  g_autofree gchar *description = g_strdup_printf (
      "appsrc name=src format=bytes ! decodebin ! videoconvert ! "
      "video/x-raw,format=%s ! appsink name=sink sync=false",
      raw_format (channels));
  DdnnDecoder *d = g_new0 (DdnnDecoder, 1);
  GError *parse_error = NULL;

  gst_init (NULL, NULL);
  d->channels = channels;
  d->pipeline = gst_parse_launch (description, &parse_error);
  if (!d->pipeline) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
        "cannot make the decoding pipeline (are gstreamer1.0-plugins-base "
        "and -good installed?): %s",
        parse_error->message);
    g_error_free (parse_error);
    g_free (d);
    return NULL;
  }
  d->src = gst_bin_get_by_name (GST_BIN (d->pipeline), "src");
  d->sink = gst_bin_get_by_name (GST_BIN (d->pipeline), "sink");
  if (gst_element_set_state (d->pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_IO, "cannot start the decoding pipeline");
    ddnn_decoder_free (d);
    return NULL;
  }
  return d;
}

void
ddnn_decoder_free (DdnnDecoder *d)
{
  if (!d)
    return;
  gst_element_set_state (d->pipeline, GST_STATE_NULL);
  gst_clear_object (&d->src);
  gst_clear_object (&d->sink);
  gst_object_unref (d->pipeline);
  g_free (d->first_type);
  g_free (d);
}

gboolean
ddnn_decoder_picture (DdnnDecoder *d, const gchar *path, guint8 **pixels,
    guint *width, guint *height, GError **error)
{
  g_autoptr (GstSample) sample = NULL;
  gchar *contents;
  gsize length;
  g_autofree gchar *type = NULL;
  GstBuffer *buffer;

  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  /* one decoder serves the whole camera: every picture of one type, by
   * its bytes, whatever its name says */
  type = g_content_type_guess (NULL, (const guchar *) contents, length, NULL);
  if (!d->first_type) {
    g_autofree gchar *mime = g_content_type_get_mime_type (type);
    g_autoptr (GstCaps) caps = NULL;

    /* the type, given up front: decodebin then needs no typefinding, which
     * would wait for more than one picture's bytes */
    d->first_type = g_strdup (type);
    if (mime && g_str_has_prefix (mime, "image/") &&
        (caps = gst_caps_from_string (mime)))
      gst_app_src_set_caps (GST_APP_SRC (d->src), caps);
  } else if (strcmp (type, d->first_type) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
        "%s is %s, but the camera's first picture is %s: give a camera "
        "pictures of one format",
        path, type, d->first_type);
    g_free (contents);
    return FALSE;
  }
  buffer = gst_buffer_new_wrapped (contents, length);
  if (gst_app_src_push_buffer (GST_APP_SRC (d->src), buffer) != GST_FLOW_OK) {
    if (!pipeline_error (d->pipeline, path, error))
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
          "%s: the decoder stopped taking pictures", path);
    return FALSE;
  }
  sample = next_frame (d->pipeline, d->sink, path, PICTURE_TIMEOUT, error);
  if (!sample) {
    if (error && !*error)
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
          "%s: GStreamer gave no picture for it", path);
    return FALSE;
  }
  if (!sample_size (sample, width, height)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
        "%s: GStreamer gave a picture of no known size", path);
    return FALSE;
  }
  *pixels = g_malloc ((gsize) *width * *height * d->channels);
  if (!copy_frame (sample, d->channels, *pixels, error)) {
    g_clear_pointer (pixels, g_free);
    g_prefix_error (error, "%s: ", path);
    return FALSE;
  }
  return TRUE;
}

GBytes *
ddnn_decode_video (const gchar *path, guint channels, guint width, guint height,
    guint *n_frames, GError **error)
{
  g_autofree gchar *description = g_strdup_printf (
      "filesrc name=src ! decodebin ! videoconvert ! videoscale ! "
      "video/x-raw,format=%s,width=%u,height=%u ! appsink name=sink "
      "sync=false",
      raw_format (channels), width, height);
  gsize frame = (gsize) width * height * channels;
  GByteArray *frames = g_byte_array_new ();
  GstElement *pipeline, *sink;
  GError *parse_error = NULL;
  GstSample *sample;
  GError *pull_error = NULL;
  gboolean ok = TRUE;

  gst_init (NULL, NULL);
  *n_frames = 0;
  pipeline = gst_parse_launch (description, &parse_error);
  if (!pipeline) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
        "%s: cannot make the decoding pipeline: %s", path,
        parse_error->message);
    g_error_free (parse_error);
    g_byte_array_unref (frames);
    return NULL;
  }
  /* the path as it is, whatever characters it holds */
  {
    GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "src");

    g_object_set (src, "location", path, NULL);
    gst_object_unref (src);
  }
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  while ((
      sample = next_frame (pipeline, sink, path, FRAME_TIMEOUT, &pull_error))) {
    g_byte_array_set_size (frames, frames->len + frame);
    ok = copy_frame (
        sample, channels, frames->data + frames->len - frame, error);
    gst_sample_unref (sample);
    if (!ok)
      break;
    (*n_frames)++;
  }
  if (ok && pull_error) {
    g_propagate_error (error, pull_error);
    ok = FALSE;
  }
  if (ok && *n_frames == 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
        "%s: GStreamer gave no video frames", path);
    ok = FALSE;
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  if (!ok) {
    g_byte_array_unref (frames);
    return NULL;
  }
  return g_byte_array_free_to_bytes (frames);
}
