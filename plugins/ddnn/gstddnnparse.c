/* ddnnparse: cuts a byte stream of DDNN wire frames into frames.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnnparse
 * @title: ddnnparse
 *
 * Recorded `application/x-ddnn` streams (`... ! filesink`) are the frames
 * back to back; `filesrc` reads them in arbitrary chunks.  `ddnnparse`
 * cuts such a stream into one buffer per frame, each checked whole
 * (header, lengths, checksum) before it is passed on, and gives it the PTS
 * the frame carries.  Bytes that are not a valid frame are skipped up to
 * the next one, with a warning that gives the reason, and counted in
 * #GstDdnnParse:rejected.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m filesrc location=fused.ddnn ! ddnnparse ! \
 *     ddnnexit name=x  x.exit ! fakesink  x.next ! ddnncloud model=m.safetensors ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnparse.h"

#include <gstddnnframe.h>

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_parse_debug);
#define GST_CAT_DEFAULT gst_ddnn_parse_debug

enum
{
  PROP_0,
  PROP_REJECTED,
};

struct _GstDdnnParse
{
  GstBaseParse parent;

  /* under the object lock */
  guint64 rejected;
  /* streaming thread only */
  gboolean in_garbage;
  GstClockTime frame_pts;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));

G_DEFINE_TYPE (GstDdnnParse, gst_ddnn_parse, GST_TYPE_BASE_PARSE);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnparse, "ddnnparse", GST_RANK_NONE, GST_TYPE_DDNN_PARSE);

static gboolean
gst_ddnn_parse_start (GstBaseParse *parse)
{
  GstDdnnParse *self = GST_DDNN_PARSE (parse);

  GST_OBJECT_LOCK (self);
  self->rejected = 0;
  GST_OBJECT_UNLOCK (self);
  self->in_garbage = FALSE;
  gst_base_parse_set_min_frame_size (parse, GST_DDNN_FRAME_HEADER_SIZE);
  return TRUE;
}

/* Skips what cannot be a frame here: up to the next magic, or @at_least. */
static void
reject (GstDdnnParse *self, const guint8 *data, gsize size, gsize at_least,
    const gchar *reason, gint *skipsize)
{
  gsize skip = MAX (at_least, 1);

  while (skip + 1 < size && !(data[skip] == 'D' && data[skip + 1] == 'N'))
    skip++;
  if (skip + 1 >= size && !(size > 0 && data[size - 1] == 'D'))
    skip = size;
  /* one warning and one count for each run of bad bytes */
  if (!self->in_garbage) {
    GST_ELEMENT_WARNING (
        self, STREAM, DECODE, ("Skipped a malformed frame"), ("%s", reason));
    GST_OBJECT_LOCK (self);
    self->rejected++;
    GST_OBJECT_UNLOCK (self);
  }
  GST_DEBUG_OBJECT (
      self, "skipping %" G_GSIZE_FORMAT " bytes: %s", skip, reason);
  self->in_garbage = TRUE;
  *skipsize = (gint) skip;
}

static GstFlowReturn
gst_ddnn_parse_handle_frame (
    GstBaseParse *parse, GstBaseParseFrame *frame, gint *skipsize)
{
  GstDdnnParse *self = GST_DDNN_PARSE (parse);
  GstDdnnFrame parsed;
  GstMapInfo map;
  GError *error = NULL;
  GstFlowReturn ret = GST_FLOW_OK;
  gsize size;

  if (!gst_buffer_map (frame->buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  if (!gst_ddnn_frame_size (map.data, map.size, &size, &error)) {
    reject (self, map.data, map.size, 1, error->message, skipsize);
    g_clear_error (&error);
    goto out;
  }
  if (map.size < size && GST_BASE_PARSE_DRAINING (parse)) {
    reject (self, map.data, map.size, map.size,
        "the stream ends inside a frame", skipsize);
    goto out;
  }
  if (map.size < size) {
    /* the header is sane: wait for the rest */
    gst_base_parse_set_min_frame_size (parse, size);
    goto out;
  }
  if (!gst_ddnn_frame_parse (map.data, size, &parsed, &error)) {
    /* a sane length with a bad body: skip the whole frame */
    reject (self, map.data, map.size, size, error->message, skipsize);
    g_clear_error (&error);
    goto out;
  }
  gst_buffer_unmap (frame->buffer, &map);
  self->in_garbage = FALSE;
  gst_base_parse_set_min_frame_size (parse, GST_DDNN_FRAME_HEADER_SIZE);
  if (!gst_pad_has_current_caps (GST_BASE_PARSE_SRC_PAD (parse))) {
    GstCaps *caps = gst_caps_from_string (GST_DDNN_CAPS);

    gst_pad_set_caps (GST_BASE_PARSE_SRC_PAD (parse), caps);
    gst_caps_unref (caps);
  }
  /* the frame's own PTS goes on the buffer pushed (pre_push_frame) */
  self->frame_pts = parsed.pts;
  return gst_base_parse_finish_frame (parse, frame, (gint) size);

out:
  gst_buffer_unmap (frame->buffer, &map);
  return ret;
}

static GstFlowReturn
gst_ddnn_parse_pre_push_frame (GstBaseParse *parse, GstBaseParseFrame *frame)
{
  GstDdnnParse *self = GST_DDNN_PARSE (parse);

  GST_BUFFER_PTS (frame->buffer) = self->frame_pts;
  GST_BUFFER_DTS (frame->buffer) = GST_CLOCK_TIME_NONE;
  return GST_FLOW_OK;
}

static void
gst_ddnn_parse_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnParse *self = GST_DDNN_PARSE (object);

  switch (prop_id) {
    case PROP_REJECTED:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->rejected);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_ddnn_parse_class_init (GstDdnnParseClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseParseClass *parse_class = GST_BASE_PARSE_CLASS (klass);

  gobject_class->get_property = gst_ddnn_parse_get_property;

  /**
   * GstDdnnParse:rejected:
   *
   * How many runs of bytes that were not a valid frame were skipped.
   */
  g_object_class_install_property (gobject_class, PROP_REJECTED,
      g_param_spec_uint64 ("rejected", "Rejected",
          "Runs of malformed bytes skipped (each with a warning giving the "
          "reason)",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "DDNN frame parser",
      "Codec/Parser",
      "Cuts a recorded stream of DDNN wire frames into checked frames; "
      "example: filesrc location=fused.ddnn ! ddnnparse ! ddnnexit",
      "ddnn-gst developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");

  parse_class->start = GST_DEBUG_FUNCPTR (gst_ddnn_parse_start);
  parse_class->handle_frame = GST_DEBUG_FUNCPTR (gst_ddnn_parse_handle_frame);
  parse_class->pre_push_frame = GST_DEBUG_FUNCPTR (
      gst_ddnn_parse_pre_push_frame);

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_parse_debug, "ddnnparse", 0, "DDNN frame parser");
}

static void
gst_ddnn_parse_init (GstDdnnParse *self)
{}
