/* ddnndevice: a DDNN's device section on one camera's frames.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnndevice
 * @title: ddnndevice
 *
 * Runs the device section of view #GstDdnnDevice:view of a DDNN model on
 * each video frame, and attaches a #GstDdnnMeta with the sample number, the
 * class scores, their normalized entropy and the section's features.  The
 * video passes through untouched.
 *
 * The frames must already have the model's input size and channels (GRAY8
 * for one channel, RGB for three): put `videoconvert ! videoscale` before
 * the element when they do not.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=cam0.mkv ! matroskademux ! \
 *     ddnndevice model=models/fmv6-binary.safetensors view=0 ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gstddnnmodel.h>
#include "gstddnndevice.h"

#include <gstddnnresult.h>

#include <gst/video/video.h>
#include <gstddnnmeta.h>

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_device_debug);
#define GST_CAT_DEFAULT gst_ddnn_device_debug

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_VIEW,
};

#define DEFAULT_MODEL NULL
#define DEFAULT_VIEW 0

struct _GstDdnnDevice
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *model_path;
  guint view;

  /* from start () to stop () */
  DdnnModel *model;
  DdnnSection *section;
  guint section_view;
  DdnnSectionResult result;
  GstVideoInfo info;
  guint64 frames;
  /* a flush came: the next segment says which frame comes next */
  gboolean resync;
};

#define CAPS_STR GST_VIDEO_CAPS_MAKE ("{ GRAY8, RGB }")

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (CAPS_STR));

G_DEFINE_TYPE (GstDdnnDevice, gst_ddnn_device, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    ddnndevice, "ddnndevice", GST_RANK_NONE, GST_TYPE_DDNN_DEVICE);

static void
gst_ddnn_device_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_VIEW:
      self->view = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_device_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_VIEW:
      g_value_set_uint (value, self->view);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_ddnn_device_start (GstBaseTransform *trans)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (trans);
  g_autofree gchar *path = NULL;
  guint view;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  view = self->view;
  GST_OBJECT_UNLOCK (self);

  self->model = gst_ddnn_element_load_model (GST_ELEMENT (self), path);
  if (!self->model)
    return FALSE;
  self->section = ddnn_model_get_device_section (self->model, view);
  if (!self->section || !ddnn_section_is_present (self->section)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("The model %s has no device section for view %u", path, view),
        ("it has %u views; an export may hold only some sections",
            ddnn_model_get_n_views (self->model)));
    g_clear_pointer (&self->model, ddnn_model_unref);
    self->section = NULL;
    return FALSE;
  }
  self->section_view = view;
  self->frames = 0;
  self->resync = FALSE;
  GST_INFO_OBJECT (self, "model %s (%.16s), view %u", path,
      ddnn_model_get_id (self->model), view);
  return TRUE;
}

static gboolean
gst_ddnn_device_stop (GstBaseTransform *trans)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (trans);

  ddnn_section_result_clear (&self->result);
  self->section = NULL;
  g_clear_pointer (&self->model, ddnn_model_unref);
  return TRUE;
}

/* What the model takes, as caps: its size, and GRAY8 or RGB. */
static GstCaps *
model_caps (GstDdnnDevice *self)
{
  const DdnnInputSpec *in = ddnn_model_get_input (self->model);

  return gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
      in->channels == 1 ? "GRAY8" : "RGB", "width", G_TYPE_INT, in->width,
      "height", G_TYPE_INT, in->height, NULL);
}

static GstCaps *
gst_ddnn_device_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (trans);
  GstCaps *result;

  if (self->model) {
    GstCaps *wanted = model_caps (self);

    result = gst_caps_intersect (caps, wanted);
    gst_caps_unref (wanted);
  } else {
    result = gst_caps_ref (caps);
  }
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (
        filter, result, GST_CAPS_INTERSECT_FIRST);

    gst_caps_unref (result);
    result = tmp;
  }
  return result;
}

static gboolean
gst_ddnn_device_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (trans);
  const DdnnInputSpec *in = ddnn_model_get_input (self->model);

  if (!gst_video_info_from_caps (&self->info, incaps))
    return FALSE;
  if ((guint) GST_VIDEO_INFO_WIDTH (&self->info) != in->width ||
      (guint) GST_VIDEO_INFO_HEIGHT (&self->info) != in->height ||
      GST_VIDEO_INFO_N_COMPONENTS (&self->info) != in->channels) {
    GST_DEBUG_OBJECT (self,
        "the model wants %ux%u %s; put videoconvert ! "
        "videoscale before ddnndevice",
        in->width, in->height, in->channels == 1 ? "GRAY8" : "RGB");
    return FALSE;
  }
  return TRUE;
}

/* When the frame was captured, on the pipeline's clock: with a live camera
 * its PTS is the running time of the capture, so base time + running time
 * is the clock's time then.  Cameras on separate hosts whose pipelines run
 * on one shared clock (ddnnsink clock=...) thus stamp times that compare.
 * NONE before the pipeline has a clock. */
static GstClockTime
capture_time (GstDdnnDevice *self, GstBuffer *buffer)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime running, base;
  gboolean has_clock;

  if (!GST_BUFFER_PTS_IS_VALID (buffer) ||
      trans->segment.format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  running = gst_segment_to_running_time (
      &trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));
  GST_OBJECT_LOCK (self);
  has_clock = GST_ELEMENT_CLOCK (self) != NULL;
  base = GST_ELEMENT_CAST (self)->base_time;
  GST_OBJECT_UNLOCK (self);
  if (!has_clock || !GST_CLOCK_TIME_IS_VALID (running))
    return GST_CLOCK_TIME_NONE;
  return base + running;
}

/* Once the caps are through, says downstream what this camera will send
 * (GST_DDNN_CAMERA_EVENT), so that a ddnnsink can open its link before the
 * first frame. */
static gboolean
gst_ddnn_device_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (trans);
  gboolean caps = GST_EVENT_TYPE (event) == GST_EVENT_CAPS, ret;

  /* After a flushing seek, frame k of the recording is still sample k: the
   * count starts again at the frame the new segment starts at (its stream
   * time times the frame rate; 0 for a rate the caps do not give). */
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    self->resync = TRUE;
  else if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT && self->resync) {
    const GstSegment *segment;
    gint fps_n = GST_VIDEO_INFO_FPS_N (&self->info),
         fps_d = GST_VIDEO_INFO_FPS_D (&self->info);

    gst_event_parse_segment (event, &segment);
    self->resync = FALSE;
    self->frames = segment->format == GST_FORMAT_TIME && fps_n > 0 &&
            fps_d > 0 && GST_CLOCK_TIME_IS_VALID (segment->time)
        ? gst_util_uint64_scale_round (
              segment->time, fps_n, (guint64) fps_d * GST_SECOND)
        : 0;
    GST_DEBUG_OBJECT (self,
        "flushed: the next frame is sample %" G_GUINT64_FORMAT, self->frames);
  }
  ret = GST_BASE_TRANSFORM_CLASS (gst_ddnn_device_parent_class)
            ->sink_event (trans, event);
  if (ret && caps && self->section) {
    DdnnDtype dtype;
    guint n_dims, d;
    gsize shape[3];
    GString *dims = g_string_new (NULL);

    ddnn_section_get_features_spec (self->section, &dtype, &n_dims, shape);
    for (d = 0; d < n_dims; d++)
      g_string_append_printf (
          dims, "%s%" G_GSIZE_FORMAT, d ? "x" : "", shape[d]);
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (trans),
        gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_STICKY,
            gst_structure_new (GST_DDNN_CAMERA_EVENT, "model-id", G_TYPE_STRING,
                ddnn_model_get_id (self->model), "view", G_TYPE_INT,
                (gint) self->section_view, "classes", G_TYPE_UINT,
                ddnn_model_get_n_classes (self->model), "int8", G_TYPE_BOOLEAN,
                ddnn_model_get_score_format (self->model) == DDNN_SCORES_INT8,
                "features-dtype", G_TYPE_INT, (gint) dtype, "features-shape",
                G_TYPE_STRING, dims->str, NULL)));
    g_string_free (dims, TRUE);
  }
  return ret;
}

static GstFlowReturn
gst_ddnn_device_transform_ip (GstBaseTransform *trans, GstBuffer *buffer)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (trans);
  const DdnnInputSpec *in = ddnn_model_get_input (self->model);
  GstVideoFrame frame;
  GstDdnnMeta *meta;
  GError *error = NULL;
  gboolean ok;

  if (!gst_video_frame_map (&frame, &self->info, buffer, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Cannot map the frame"), (NULL));
    return GST_FLOW_ERROR;
  }
  ok = ddnn_section_run_image (self->section,
      GST_VIDEO_FRAME_PLANE_DATA (&frame, 0), in->width, in->height,
      in->channels, GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), &self->result,
      &error);
  gst_video_frame_unmap (&frame);
  if (!ok) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("The device section failed"),
        ("%s", error->message));
    g_error_free (error);
    return GST_FLOW_ERROR;
  }

  meta = gst_buffer_add_ddnn_meta (
      buffer, ddnn_model_get_id (self->model), self->result.n_classes);
  /* frame k of a recording is sample k; a source that numbers its buffers
   * gives the number itself */
  meta->sample = GST_BUFFER_OFFSET_IS_VALID (buffer) &&
          GST_BUFFER_OFFSET (buffer) != 0
      ? GST_BUFFER_OFFSET (buffer)
      : self->frames;
  self->frames++;
  meta->pts = GST_BUFFER_PTS (buffer);
  meta->capture_time = capture_time (self, buffer);
  meta->view = (gint) self->section_view;
  meta->view_mask = G_GUINT64_CONSTANT (1) << self->section_view;
  memcpy (meta->scores, self->result.scores,
      self->result.n_classes * sizeof (float));
  meta->entropy = self->result.entropy;
  meta->tier = DDNN_TIER_DEVICE;
  /* the meta keeps these features; the next frame gets fresh ones */
  gst_ddnn_meta_set_features (meta, self->result.features);
  return GST_FLOW_OK;
}

static void
gst_ddnn_device_finalize (GObject *object)
{
  GstDdnnDevice *self = GST_DDNN_DEVICE (object);

  g_free (self->model_path);
  G_OBJECT_CLASS (gst_ddnn_device_parent_class)->finalize (object);
}

static void
gst_ddnn_device_class_init (GstDdnnDeviceClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_ddnn_device_set_property;
  gobject_class->get_property = gst_ddnn_device_get_property;
  gobject_class->finalize = gst_ddnn_device_finalize;

  /**
   * GstDdnnDevice:model:
   *
   * The model file (safetensors), whole or exported with this view's
   * device section.  It is loaded at READY to PAUSED.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "DDNN model file (.safetensors) holding this camera's device "
          "section",
          DEFAULT_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnDevice:view:
   *
   * Which camera of the model this element is.
   */
  g_object_class_install_property (gobject_class, PROP_VIEW,
      g_param_spec_uint ("view", "View",
          "The camera (view) of the model whose device section runs", 0,
          DDNN_MAX_VIEWS - 1, DEFAULT_VIEW,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "DDNN device section",
      "Filter/Analyzer/Video",
      "Runs a DDNN's device section on each frame of one camera and attaches "
      "its class scores, entropy and features as GstDdnnMeta; example: "
      "filesrc location=cam0.mkv ! matroskademux ! ddnndevice "
      "model=fmv6-binary.safetensors view=0 ! fakesink",
      "ddnn-gst developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ddnn_device_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ddnn_device_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR (
      gst_ddnn_device_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_ddnn_device_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ddnn_device_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_ddnn_device_transform_ip);
  trans_class->passthrough_on_same_caps = FALSE;

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_device_debug, "ddnndevice", 0, "DDNN device section");
}

static void
gst_ddnn_device_init (GstDdnnDevice *self)
{
  self->view = DEFAULT_VIEW;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
