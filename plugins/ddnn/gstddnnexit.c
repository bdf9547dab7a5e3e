/* ddnnexit: a sample leaves here when its fused answer is confident.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnnexit
 * @title: ddnnexit
 *
 * Routes each sample by the normalized entropy of its fused scores (carried
 * in its #GstDdnnMeta): below #GstDdnnExit:threshold the answer is given
 * here, the buffer leaves on the `exit` pad and a `ddnn-result` element
 * message is posted; otherwise the buffer goes on to the next tier on the
 * `next` pad.  The pad that does not get a buffer gets a GAP event for its
 * time, so that nothing downstream waits for it, and the two pads' flows
 * are combined.  As after any element with several src pads, give each
 * branch a `queue` (or sinks `async=false`): a sink that prerolls on the
 * first buffer or GAP would otherwise block the one streaming thread.
 *
 * On an `application/x-ddnn` link a buffer without a meta (a frame read
 * back by `filesrc ! ddnnparse`, or from a socket) is parsed from its
 * payload; a malformed one is dropped with a warning that gives the reason
 * and counted in #GstDdnnExit:rejected.
 *
 * ## Example launch line
 * |[
 * ... ! ddnnaggregate name=fuse ! ddnnexit name=exit threshold=0.45
 *     exit.exit ! queue ! fakesink  exit.next ! queue ! ddnncloud ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnexit.h"

#include <gstddnnmodel.h>

#include <gst/base/gstflowcombiner.h>
#include <gstddnnframe.h>
#include <gstddnnresult.h>

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_exit_debug);
#define GST_CAT_DEFAULT gst_ddnn_exit_debug

enum
{
  PROP_0,
  PROP_THRESHOLD,
  PROP_MODEL,
  PROP_RESULTS,
  PROP_REJECTED,
};

#define DEFAULT_THRESHOLD 0.5
#define DEFAULT_MODEL NULL
#define DEFAULT_RESULTS NULL

struct _GstDdnnExit
{
  GstElement parent;

  GstPad *sinkpad, *exitpad, *nextpad;
  GstFlowCombiner *combiner;

  /* properties, under the object lock */
  gdouble threshold;
  gchar *model_path;
  gchar *results_path;
  GstDdnnResultWriter *results;

  /* class names, loaded at READY to PAUSED when a model is given */
  DdnnModel *model;
  guint64 exited, went_on, rejected;
  /* the sink caps are application/x-ddnn: payloads are frames */
  gboolean frames;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate exit_template = GST_STATIC_PAD_TEMPLATE (
    "exit", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate next_template = GST_STATIC_PAD_TEMPLATE (
    "next", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

G_DEFINE_TYPE (GstDdnnExit, gst_ddnn_exit, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnexit, "ddnnexit", GST_RANK_NONE, GST_TYPE_DDNN_EXIT);

static GstFlowReturn
gst_ddnn_exit_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstDdnnExit *self = GST_DDNN_EXIT (parent);
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
  GstPad *out, *idle;
  GstFlowReturn ret;
  GError *error = NULL;
  gdouble threshold;
  gboolean exits;

  buffer = gst_buffer_make_writable (buffer);
  if (!meta && !self->frames) {
    gst_buffer_unref (buffer);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("A buffer carries no DDNN data"),
        ("ddnnexit needs GstDdnnMeta on every buffer, or application/x-ddnn "
         "frames; put ddnnaggregate or ddnndevice before it"));
    return GST_FLOW_ERROR;
  }
  /* a frame (from filesrc ! ddnnparse, a socket...) is parsed first */
  if (!(meta = gst_ddnn_buffer_ensure_meta (buffer, &error))) {
    GST_ELEMENT_WARNING (self, STREAM, DECODE, ("Rejected a malformed frame"),
        ("%s", error->message));
    g_error_free (error);
    GST_OBJECT_LOCK (self);
    self->rejected++;
    GST_OBJECT_UNLOCK (self);
    gst_buffer_unref (buffer);
    return GST_FLOW_OK;
  }
  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  GST_OBJECT_UNLOCK (self);
  exits = meta->entropy < threshold;
  meta->exit = exits ? GST_DDNN_EXIT_LOCAL : GST_DDNN_EXIT_NEXT;
  out = exits ? self->exitpad : self->nextpad;
  idle = exits ? self->nextpad : self->exitpad;

  if (exits) {
    const gchar *label = NULL;

    if (self->model &&
        meta->n_classes == ddnn_model_get_n_classes (self->model))
      label = ddnn_model_get_class_name (
          self->model, ddnn_argmax (meta->n_classes, meta->scores));
    gst_ddnn_post_result (
        GST_ELEMENT (self), self->sinkpad, meta, label, self->results);
    self->exited++;
  } else {
    self->went_on++;
  }

  /* the other pad learns that this time holds nothing for it */
  if (GST_BUFFER_PTS_IS_VALID (buffer))
    gst_pad_push_event (idle,
        gst_event_new_gap (
            GST_BUFFER_PTS (buffer), GST_BUFFER_DURATION (buffer)));

  ret = gst_pad_push (out, buffer);
  return gst_flow_combiner_update_pad_flow (self->combiner, out, ret);
}

static gboolean
gst_ddnn_exit_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstDdnnExit *self = GST_DDNN_EXIT (parent);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;

    gst_event_parse_caps (event, &caps);
    self->frames = gst_structure_has_name (
        gst_caps_get_structure (caps, 0), GST_DDNN_CAPS);
  }
  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_ddnn_exit_start (GstDdnnExit *self)
{
  g_autofree gchar *path = NULL;

  g_autofree gchar *results = NULL;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  results = g_strdup (self->results_path);
  GST_OBJECT_UNLOCK (self);
  self->exited = self->went_on = self->rejected = 0;
  gst_flow_combiner_reset (self->combiner);
  if (results &&
      !(self->results = gst_ddnn_element_open_results (
            GST_ELEMENT (self), results)))
    return FALSE;
  /* the model is optional here: it only names the classes */
  if (!path)
    return TRUE;
  self->model = gst_ddnn_element_load_model (GST_ELEMENT (self), path);
  return self->model != NULL;
}

static GstStateChangeReturn
gst_ddnn_exit_change_state (GstElement *element, GstStateChange transition)
{
  GstDdnnExit *self = GST_DDNN_EXIT (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
      !gst_ddnn_exit_start (self))
    return GST_STATE_CHANGE_FAILURE;
  ret = GST_ELEMENT_CLASS (gst_ddnn_exit_parent_class)
            ->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    GST_INFO_OBJECT (self,
        "%" G_GUINT64_FORMAT " samples exited, %" G_GUINT64_FORMAT " went on",
        self->exited, self->went_on);
    g_clear_pointer (&self->model, ddnn_model_unref);
    g_clear_pointer (&self->results, gst_ddnn_result_writer_close);
  }
  return ret;
}

static void
gst_ddnn_exit_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnExit *self = GST_DDNN_EXIT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      break;
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_RESULTS:
      g_free (self->results_path);
      self->results_path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_exit_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnExit *self = GST_DDNN_EXIT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_REJECTED:
      g_value_set_uint64 (value, self->rejected);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_RESULTS:
      g_value_set_string (value, self->results_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_exit_finalize (GObject *object)
{
  GstDdnnExit *self = GST_DDNN_EXIT (object);

  gst_flow_combiner_free (self->combiner);
  g_free (self->model_path);
  g_free (self->results_path);
  G_OBJECT_CLASS (gst_ddnn_exit_parent_class)->finalize (object);
}

static void
gst_ddnn_exit_class_init (GstDdnnExitClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_ddnn_exit_set_property;
  gobject_class->get_property = gst_ddnn_exit_get_property;
  gobject_class->finalize = gst_ddnn_exit_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_ddnn_exit_change_state);

  /**
   * GstDdnnExit:threshold:
   *
   * A sample exits here when the normalized entropy of its fused scores is
   * below this.  `ddnn inspect` prints a model's default.
   */
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Exit when the normalized entropy of the fused scores is below this",
          0.0, 1.0, DEFAULT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstDdnnExit:model:
   *
   * Optional: the model, so that results carry class names.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Model file (.safetensors) whose class names label the results",
          DEFAULT_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnExit:results:
   *
   * A file that each answer is appended to as one JSON line (the fields of
   * the ddnn-result message).  Several elements may share it.
   */
  g_object_class_install_property (gobject_class, PROP_RESULTS,
      g_param_spec_string ("results", "Results",
          "Append each answer as a JSON line to this file", DEFAULT_RESULTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnExit:rejected:
   *
   * How many malformed frames were dropped since READY to PAUSED.
   */
  g_object_class_install_property (gobject_class, PROP_REJECTED,
      g_param_spec_uint64 ("rejected", "Rejected",
          "Malformed frames dropped (each with a warning giving the reason)", 0,
          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &exit_template);
  gst_element_class_add_static_pad_template (element_class, &next_template);
  gst_element_class_set_static_metadata (element_class, "DDNN exit",
      "Filter/Analyzer",
      "Gives the answer on the 'exit' pad when the fused answer is confident "
      "(normalized entropy below 'threshold'), else passes the sample on the "
      "'next' pad, with a GAP on the other; example: ddnnaggregate ! "
      "ddnnexit name=x threshold=0.45  x.exit ! queue ! fakesink  x.next ! "
      "queue ! ddnncloud ! fakesink",
      "ddnn-gst developers");
  GST_DEBUG_CATEGORY_INIT (gst_ddnn_exit_debug, "ddnnexit", 0, "DDNN exit");
}

static void
gst_ddnn_exit_init (GstDdnnExit *self)
{
  self->threshold = DEFAULT_THRESHOLD;
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_ddnn_exit_chain));
  gst_pad_set_event_function (
      self->sinkpad, GST_DEBUG_FUNCPTR (gst_ddnn_exit_sink_event));
  GST_PAD_SET_PROXY_CAPS (self->sinkpad);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->exitpad = gst_pad_new_from_static_template (&exit_template, "exit");
  GST_PAD_SET_PROXY_CAPS (self->exitpad);
  gst_element_add_pad (GST_ELEMENT (self), self->exitpad);
  self->nextpad = gst_pad_new_from_static_template (&next_template, "next");
  GST_PAD_SET_PROXY_CAPS (self->nextpad);
  gst_element_add_pad (GST_ELEMENT (self), self->nextpad);

  self->combiner = gst_flow_combiner_new ();
  gst_flow_combiner_add_pad (self->combiner, self->exitpad);
  gst_flow_combiner_add_pad (self->combiner, self->nextpad);
}
