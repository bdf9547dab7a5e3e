/* ddnnreplay: plays a recorded camera as a live one on a shared clock.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnnreplay
 * @title: ddnnreplay
 *
 * Makes a recording behave like a live camera watching one scene with the
 * others: frame k of the recording is the moment #GstDdnnReplay:start-time
 * + k frame periods on the pipeline's clock, and is let through at that
 * moment.  Frames whose moment has passed are dropped, so a camera
 * process that starts late (or restarts) starts at the current moment
 * (a quarter of a second ahead, the time for its link to open), not at
 * frame 0.  Each frame leaves with its offset set to k (ddnndevice
 * takes it as the sample number, so answers name the recording's sample
 * index) and its PTS at the running time of its moment (ddnndevice stamps
 * the capture time from it).
 *
 * Give every camera's pipeline the same shared clock (ddnnsink clock=net
 * or realtime) and the same start time, and capture-time alignment at the
 * edge (ddnnaggregate align=capture-time) fuses frame k of every camera.
 *
 * Like a live source it does not preroll: nothing leaves it before the
 * pipeline plays.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=cam3.mkv ! matroskademux ! \
 *     ddnnreplay start-time=1767225600000000000 ! \
 *     ddnndevice model=m.safetensors view=3 ! \
 *     ddnnsink location=ws://edge:9000/ddnn clock=net clock-address=edge \
 *     clock-port=9001
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnreplay.h"

#include <gst/video/video.h>

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_replay_debug);
#define GST_CAT_DEFAULT gst_ddnn_replay_debug

enum
{
  PROP_0,
  PROP_START_TIME,
  PROP_PERIOD,
  PROP_STATS,
};

#define DEFAULT_START_TIME 0
#define START_LEAD (250 * GST_MSECOND)
#define DEFAULT_PERIOD 0

struct _GstDdnnReplay
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  guint64 start_time, period;
  guint64 skipped, played;

  /* streaming thread */
  guint64 index;
  gboolean played_any;
  GstClockTime caps_period, start;

  /* waiting for PLAYING and for the moments, under lock */
  GMutex lock;
  GCond cond;
  gboolean playing, flushing;
  GstClockID wait;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

G_DEFINE_TYPE (GstDdnnReplay, gst_ddnn_replay, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnreplay, "ddnnreplay", GST_RANK_NONE, GST_TYPE_DDNN_REPLAY);

static gboolean
gst_ddnn_replay_start (GstBaseTransform *trans)
{
  GstDdnnReplay *self = GST_DDNN_REPLAY (trans);

  self->index = 0;
  self->played_any = FALSE;
  self->caps_period = GST_CLOCK_TIME_NONE;
  self->start = GST_CLOCK_TIME_NONE;
  GST_OBJECT_LOCK (self);
  self->skipped = self->played = 0;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_ddnn_replay_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstDdnnReplay *self = GST_DDNN_REPLAY (trans);
  GstStructure *s = gst_caps_get_structure (incaps, 0);
  gint num, den;

  if (gst_structure_get_fraction (s, "framerate", &num, &den) && num > 0 &&
      den > 0)
    self->caps_period = gst_util_uint64_scale_int (GST_SECOND, den, num);
  return TRUE;
}

/* Waits, unless flushing, until the pipeline plays; FALSE when flushing. */
static gboolean
wait_playing (GstDdnnReplay *self)
{
  g_mutex_lock (&self->lock);
  while (!self->playing && !self->flushing)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
  return !self->flushing;
}

static GstFlowReturn
gst_ddnn_replay_transform_ip (GstBaseTransform *trans, GstBuffer *buffer)
{
  GstDdnnReplay *self = GST_DDNN_REPLAY (trans);
  GstClock *clock;
  GstClockTime period, now, moment, base;
  GstClockID id;
  GstClockReturn waited;
  guint64 k = self->index++;

  if (!wait_playing (self))
    return GST_FLOW_FLUSHING;
  GST_OBJECT_LOCK (self);
  period = self->period ? self->period : self->caps_period;
  if (self->start == GST_CLOCK_TIME_NONE && self->start_time)
    self->start = self->start_time;
  clock = GST_ELEMENT_CLOCK (self) ? gst_object_ref (GST_ELEMENT_CLOCK (self))
                                   : NULL;
  base = GST_ELEMENT_CAST (self)->base_time;
  GST_OBJECT_UNLOCK (self);
  if (!GST_CLOCK_TIME_IS_VALID (period) || !clock) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("No frame period"),
        ("%s",
            clock ? "the caps carry no framerate: set the period property"
                  : "the pipeline has no clock"));
    gst_clear_object (&clock);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  now = gst_clock_get_time (clock);
  if (self->start == GST_CLOCK_TIME_NONE)
    self->start = now; /* frame 0 is now */
  moment = self->start + k * period;

  /* a moment that has passed is not played: a camera that starts late
   * joins the scene a little ahead (a frame period, and at least
   * START_LEAD: time for its link to open on a busy host, so that its
   * first frame is not late) */
  if (moment < now + (self->played_any ? 0 : MAX (period, START_LEAD))) {
    GST_OBJECT_LOCK (self);
    self->skipped++;
    GST_OBJECT_UNLOCK (self);
    gst_object_unref (clock);
    return GST_BASE_TRANSFORM_FLOW_DROPPED;
  }
  id = gst_clock_new_single_shot_id (clock, moment);
  g_mutex_lock (&self->lock);
  if (self->flushing) {
    g_mutex_unlock (&self->lock);
    gst_clock_id_unref (id);
    gst_object_unref (clock);
    return GST_FLOW_FLUSHING;
  }
  self->wait = id;
  g_mutex_unlock (&self->lock);
  waited = gst_clock_id_wait (id, NULL);
  g_mutex_lock (&self->lock);
  self->wait = NULL;
  g_mutex_unlock (&self->lock);
  gst_clock_id_unref (id);
  gst_object_unref (clock);
  if (waited == GST_CLOCK_UNSCHEDULED)
    return GST_FLOW_FLUSHING;

  self->played_any = TRUE;
  GST_BUFFER_OFFSET (buffer) = k;
  GST_BUFFER_PTS (buffer) = moment >= base ? moment - base : 0;
  GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buffer) = period;
  GST_OBJECT_LOCK (self);
  self->played++;
  GST_OBJECT_UNLOCK (self);
  return GST_FLOW_OK;
}

/* The buffers that leave carry running times, in a segment of their own. */
static gboolean
gst_ddnn_replay_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT) {
    GstSegment segment;

    gst_event_unref (event);
    gst_segment_init (&segment, GST_FORMAT_TIME);
    event = gst_event_new_segment (&segment);
  }
  return GST_BASE_TRANSFORM_CLASS (gst_ddnn_replay_parent_class)
      ->sink_event (trans, event);
}

static gboolean
gst_ddnn_replay_query (
    GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    /* live: a frame leaves at its moment */
    gst_query_set_latency (query, TRUE, 0, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return GST_BASE_TRANSFORM_CLASS (gst_ddnn_replay_parent_class)
      ->query (trans, direction, query);
}

static void
set_flushing (GstDdnnReplay *self, gboolean flushing)
{
  g_mutex_lock (&self->lock);
  self->flushing = flushing;
  if (flushing && self->wait)
    gst_clock_id_unschedule (self->wait);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static GstStateChangeReturn
gst_ddnn_replay_change_state (GstElement *element, GstStateChange transition)
{
  GstDdnnReplay *self = GST_DDNN_REPLAY (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      set_flushing (self, FALSE);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:
      g_mutex_lock (&self->lock);
      self->playing = TRUE;
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
      break;
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      g_mutex_lock (&self->lock);
      self->playing = FALSE;
      if (self->wait)
        gst_clock_id_unschedule (self->wait);
      g_mutex_unlock (&self->lock);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      set_flushing (self, TRUE);
      break;
    default:
      break;
  }
  ret = GST_ELEMENT_CLASS (gst_ddnn_replay_parent_class)
            ->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED ||
      transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED)
    ret = GST_STATE_CHANGE_NO_PREROLL;
  return ret;
}

static void
gst_ddnn_replay_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnReplay *self = GST_DDNN_REPLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_START_TIME:
      self->start_time = g_value_get_uint64 (value);
      break;
    case PROP_PERIOD:
      self->period = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_replay_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnReplay *self = GST_DDNN_REPLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_START_TIME:
      g_value_set_uint64 (value, self->start_time);
      break;
    case PROP_PERIOD:
      g_value_set_uint64 (value, self->period);
      break;
    case PROP_STATS:
      g_value_take_boxed (value,
          gst_structure_new ("ddnn-replay-stats", "played", G_TYPE_UINT64,
              self->played, "skipped", G_TYPE_UINT64, self->skipped, NULL));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_replay_finalize (GObject *object)
{
  GstDdnnReplay *self = GST_DDNN_REPLAY (object);

  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (gst_ddnn_replay_parent_class)->finalize (object);
}

static void
gst_ddnn_replay_class_init (GstDdnnReplayClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_ddnn_replay_set_property;
  gobject_class->get_property = gst_ddnn_replay_get_property;
  gobject_class->finalize = gst_ddnn_replay_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR (
      gst_ddnn_replay_change_state);

  /**
   * GstDdnnReplay:start-time:
   *
   * The time on the pipeline's clock (ns) of frame 0: give every camera of
   * a scene the same one.  With ddnnsink clock=net or realtime the clock is
   * the wall clock, so this is Unix time in ns.  0: the moment the first
   * frame comes while playing.
   */
  g_object_class_install_property (gobject_class, PROP_START_TIME,
      g_param_spec_uint64 ("start-time", "Start time",
          "Clock time (ns) of frame 0, the same for every camera of a scene "
          "(0 = when playing starts)",
          0, G_MAXUINT64, DEFAULT_START_TIME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PERIOD,
      g_param_spec_uint64 ("period", "Period",
          "Nanoseconds between frames (0 = from the caps' framerate)", 0,
          G_MAXUINT64, DEFAULT_PERIOD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "played (frames let through at their moment), skipped (frames "
          "whose moment had passed)",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "DDNN recorded camera as live", "Filter/Video",
      "Lets frame k of a recording through at start-time + k frame periods "
      "on the pipeline's clock, skipping moments that have passed, so that "
      "recorded cameras behave like live ones watching one scene; example: "
      "filesrc location=cam0.mkv ! matroskademux ! ddnnreplay "
      "start-time=... ! ddnndevice model=m.safetensors view=0 ! ddnnsink ...",
      "ddnn-gst developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ddnn_replay_start);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_ddnn_replay_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_ddnn_replay_transform_ip);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ddnn_replay_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_ddnn_replay_query);
  trans_class->passthrough_on_same_caps = FALSE;

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_replay_debug, "ddnnreplay", 0, "DDNN recorded camera as live");
}

static void
gst_ddnn_replay_init (GstDdnnReplay *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
