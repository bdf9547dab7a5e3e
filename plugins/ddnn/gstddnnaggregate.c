/* ddnnaggregate: fuses the cameras' views of each sample.
 * SPDX-License-Identifier: LGPL-2.1-or-later */

/**
 * SECTION:element-ddnnaggregate
 * @title: ddnnaggregate
 *
 * Takes one stream per camera on request pads `sink_%u`, each buffer
 * carrying a #GstDdnnMeta from `ddnndevice`, and gives one
 * `application/x-ddnn` buffer per sample: the views of one sample are fused,
 * scores by #GstDdnnAggregate:local-mode and features by
 * #GstDdnnAggregate:feature-mode (both default to the model's, as it was
 * trained), into a meta whose view mask says who took part.  The buffer's
 * payload is the serialized wire frame.
 *
 * Views belong to one sample by #GstDdnnAggregate:align:
 * - `sample-number` (the default, for recorded multi-view video): equal
 *   sample numbers.  A camera whose stream has moved past a sample (it
 *   skipped a frame) or has ended is left out of it; a camera's buffer for
 *   a sample already given (late beyond the timeout, or resent after a
 *   reconnect) is dropped and counted.
 * - `running-time` (live cameras): the earliest waiting buffer opens a sample
 *   and every camera's buffer that starts within its duration joins it.  A
 *   buffer that arrives after its sample left is dropped and counted.
 *
 * With live sources a camera that is late by more than
 * #GstDdnnAggregate:timeout (beyond the latency upstream reports) is left
 * out of the sample.  #GstDdnnAggregate:stats counts, per view, how often
 * that happened.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 ddnnaggregate name=fuse model=m.safetensors ! fakesink \
 *   filesrc location=cam0.mkv ! matroskademux ! ddnndevice model=m.safetensors view=0 ! fuse. \
 *   filesrc location=cam1.mkv ! matroskademux ! ddnndevice model=m.safetensors view=1 ! fuse.
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gstddnnmodel.h>
#include "gstddnnaggregate.h"

#include <gstddnnframe.h>
#include <gstddnnresult.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_ddnn_aggregate_debug);
#define GST_CAT_DEFAULT gst_ddnn_aggregate_debug

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_LOCAL_MODE,
  PROP_FEATURE_MODE,
  PROP_ALIGN,
  PROP_TIMEOUT,
  PROP_STATS,
  PROP_TOLERANCE,
  PROP_SAMPLE_WINDOW,
};

#define DEFAULT_MODEL NULL
#define DEFAULT_MODE GST_DDNN_FUSION_MODE_MODEL
#define DEFAULT_ALIGN GST_DDNN_ALIGN_SAMPLE_NUMBER
#define DEFAULT_TIMEOUT 0
#define DEFAULT_TOLERANCE 0
#define DEFAULT_SAMPLE_WINDOW 1000
/* capture-time alignment before a frame period is seen */
#define DEFAULT_AUTO_TOLERANCE (15 * GST_MSECOND)
/* fused samples remembered for answers going back to the cameras */
#define FUSED_RING 4096

typedef struct
{
  gboolean valid;
  guint64 sample; /* the fused sample's number */
  guint64 views;
  guint64 samples[DDNN_MAX_VIEWS]; /* each camera's own */
  GstPad *pads[DDNN_MAX_VIEWS]; /* not referenced: checked before use */
} FusedSample;

/* lib's fusion for a mode of the element (@model's own for "model"). */
static DdnnFusion
fusion_of (GstDdnnFusionMode mode, DdnnFusion model)
{
  switch (mode) {
    case GST_DDNN_FUSION_MODE_MAX:
      return DDNN_FUSION_MAX;
    case GST_DDNN_FUSION_MODE_AVG:
      return DDNN_FUSION_AVG;
    case GST_DDNN_FUSION_MODE_CONCAT:
      return DDNN_FUSION_CONCAT;
    case GST_DDNN_FUSION_MODE_MODEL:
    default:
      return model;
  }
}

GType
gst_ddnn_fusion_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_DDNN_FUSION_MODE_MODEL, "The model's, as it was trained", "model" },
    { GST_DDNN_FUSION_MODE_MAX, "Element-wise maximum", "max" },
    { GST_DDNN_FUSION_MODE_AVG, "Average over the views present", "avg" },
    { GST_DDNN_FUSION_MODE_CONCAT, "Concatenation in view order", "concat" },
    { 0, NULL, NULL },
  };
  /* every mode has its value (and fusion_of its case) */
  G_STATIC_ASSERT (G_N_ELEMENTS (values) == GST_DDNN_FUSION_MODE_CONCAT + 2);

  if (g_once_init_enter (&type))
    g_once_init_leave (
        &type, g_enum_register_static ("GstDdnnFusionMode", values));
  return type;
}

GType
gst_ddnn_align_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_DDNN_ALIGN_SAMPLE_NUMBER, "Equal sample numbers (recorded video)",
        "sample-number" },
    { GST_DDNN_ALIGN_RUNNING_TIME,
        "Overlapping running times (one host's live cameras)", "running-time" },
    { GST_DDNN_ALIGN_CAPTURE_TIME,
        "Capture times within the tolerance (cameras on a shared clock)",
        "capture-time" },
    { 0, NULL, NULL },
  };
  G_STATIC_ASSERT (G_N_ELEMENTS (values) == GST_DDNN_ALIGN_CAPTURE_TIME + 2);

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstDdnnAlign", values));
  return type;
}

struct _GstDdnnAggregate
{
  GstAggregator parent;

  /* properties, under the object lock */
  gchar *model_path;
  GstDdnnFusionMode local_mode, feature_mode;
  GstDdnnAlign align;
  GstClockTime tolerance;
  guint64 sample_window;

  /* from start () to stop (); the counters under the object lock */
  guint64 outside[DDNN_MAX_VIEWS];
  /* the aggregate thread's: the shortest frame period seen, the capture
   * time of the last moment given, warnings given once */
  GstClockTime period, done_capture;
  gboolean warned_no_capture, warned_outside;
  /* fused samples, newest last, for routing answers; under ring_lock */
  GMutex ring_lock;
  FusedSample *ring;
  guint ring_next;
  DdnnModel *model;
  DdnnFusion local_fusion, feature_fusion;
  guint64 missing[DDNN_MAX_VIEWS];
  guint64 late[DDNN_MAX_VIEWS];
  guint64 samples;
  /* running-time alignment: where the last sample ended */
  GstClockTime done_until;
  /* sample-number alignment: the last sample given, if any */
  guint64 done_sample;
  gboolean any_done;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE (
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (GST_DDNN_CAPS));

G_DEFINE_TYPE (GstDdnnAggregate, gst_ddnn_aggregate, GST_TYPE_AGGREGATOR);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnaggregate, "ddnnaggregate", GST_RANK_NONE, GST_TYPE_DDNN_AGGREGATE);

static gboolean
gst_ddnn_aggregate_start (GstAggregator *agg)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);
  g_autofree gchar *path = NULL;
  GstDdnnFusionMode local_mode, feature_mode;
  GError *error = NULL;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  local_mode = self->local_mode;
  feature_mode = self->feature_mode;
  GST_OBJECT_UNLOCK (self);
  self->model = gst_ddnn_element_load_model (GST_ELEMENT (self), path);
  if (!self->model)
    return FALSE;
  self->local_fusion = fusion_of (
      local_mode, ddnn_model_get_local_fusion (self->model));
  self->feature_fusion = fusion_of (
      feature_mode, ddnn_model_get_feature_fusion (self->model));
  if (!ddnn_model_check_fusion (
          self->model, self->local_fusion, self->feature_fusion, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("local-mode %s and feature-mode %s do not fit the model %s",
            ddnn_fusion_name (self->local_fusion),
            ddnn_fusion_name (self->feature_fusion), path),
        ("%s", error->message));
    g_error_free (error);
    g_clear_pointer (&self->model, ddnn_model_unref);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  memset (self->missing, 0, sizeof (self->missing));
  memset (self->late, 0, sizeof (self->late));
  memset (self->outside, 0, sizeof (self->outside));
  self->samples = 0;
  GST_OBJECT_UNLOCK (self);
  self->done_until = GST_CLOCK_TIME_NONE;
  self->any_done = FALSE;
  self->period = GST_CLOCK_TIME_NONE;
  self->done_capture = GST_CLOCK_TIME_NONE;
  self->warned_no_capture = self->warned_outside = FALSE;
  g_mutex_lock (&self->ring_lock);
  self->ring = g_new0 (FusedSample, FUSED_RING);
  self->ring_next = 0;
  g_mutex_unlock (&self->ring_lock);
  return TRUE;
}

static gboolean
gst_ddnn_aggregate_stop (GstAggregator *agg)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);

  g_clear_pointer (&self->model, ddnn_model_unref);
  g_mutex_lock (&self->ring_lock);
  g_clear_pointer (&self->ring, g_free);
  g_mutex_unlock (&self->ring_lock);
  return TRUE;
}

static GstFlowReturn
gst_ddnn_aggregate_update_src_caps (
    GstAggregator *agg, GstCaps *caps, GstCaps **ret)
{
  *ret = gst_caps_from_string (GST_DDNN_CAPS);
  return GST_FLOW_OK;
}

/* Fuses the views in @views (NULL where missing) into a new buffer. */
static GstBuffer *
fuse (
    GstDdnnAggregate *self, GstBuffer **views, GstClockTime pts, GError **error)
{
  DdnnModel *model = self->model;
  guint n_views = ddnn_model_get_n_views (model);
  guint n_classes = ddnn_model_get_n_classes (model), v;
  const float *scores[DDNN_MAX_VIEWS];
  DdnnTensor *features[DDNN_MAX_VIEWS];
  float probs[DDNN_MAX_CLASSES];
  GstDdnnMeta *first = NULL, *out;
  GstBuffer *buffer;
  DdnnTensor *fused;

  buffer = gst_buffer_new ();
  out = gst_buffer_add_ddnn_meta (buffer, ddnn_model_get_id (model), n_classes);
  for (v = 0; v < n_views; v++) {
    GstDdnnMeta *m = views[v] ? gst_buffer_get_ddnn_meta (views[v]) : NULL;

    scores[v] = m ? m->scores : NULL;
    features[v] = m ? m->features : NULL;
    if (m) {
      out->view_mask |= G_GUINT64_CONSTANT (1) << v;
      if (!first)
        first = m;
    }
  }
  out->sample = first->sample;
  out->pts = GST_CLOCK_TIME_IS_VALID (pts) ? pts : first->pts;
  out->capture_time = first->capture_time;
  out->view = -1;
  out->tier = DDNN_TIER_DEVICE;
  for (v = 0; v < n_views && !features[v]; v++)
    ;
  if (!ddnn_model_fuse_scores_as (model, self->local_fusion, scores, n_views,
          out->scores, probs, &out->entropy, error)) {
    gst_buffer_unref (buffer);
    return NULL;
  }
  /* with features on demand the scores come alone: the features are
   * fused later, for the samples that need them */
  if (v < n_views) {
    if (!(fused = ddnn_model_fuse_features_as (
              model, self->feature_fusion, features, n_views, error))) {
      gst_buffer_unref (buffer);
      return NULL;
    }
    gst_ddnn_meta_set_features (out, fused);
    ddnn_tensor_unref (fused);
  }

  /* the payload is the frame, so stock elements can record or carry it */
  if (!gst_ddnn_buffer_set_frame (buffer, out,
          ddnn_model_get_score_format (model) == DDNN_SCORES_INT8, TRUE,
          error)) {
    gst_buffer_unref (buffer);
    return NULL;
  }
  GST_BUFFER_PTS (buffer) = out->pts;
  return buffer;
}

/* The running time of @buffer on @pad, or NONE. */
static GstClockTime
running_time (GstAggregatorPad *pad, GstBuffer *buffer)
{
  GstClockTime pts = GST_BUFFER_PTS (buffer);

  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time (&pad->segment, GST_FORMAT_TIME, pts);
}

/* What the aggregate thread knows of a pad's camera (pad qdata; only that
 * thread touches it). */
typedef struct
{
  gint view; /* -1 until its first buffer */
  gboolean absent; /* left out after a timeout: not waited for */
  gboolean joined; /* has given a buffer since it (re)connected or left */
  GstClockTime last_capture; /* for the frame period */
  GstClockTime last_arrival; /* running time it last had a buffer waiting */
  /* the head buffer first seen waiting (compared, not referenced) and the
   * running time then: a sample waits timeout from when the aggregator
   * is ready for it, even when it runs behind the cameras */
  gconstpointer seen_head;
  GstClockTime seen_at;
} PadState;

static GQuark pad_state_quark;

static PadState *
pad_state (GstAggregatorPad *pad)
{
  PadState *state = g_object_get_qdata (G_OBJECT (pad), pad_state_quark);

  if (!state) {
    state = g_new0 (PadState, 1);
    state->view = -1;
    state->last_capture = GST_CLOCK_TIME_NONE;
    state->last_arrival = GST_CLOCK_TIME_NONE;
    state->seen_at = GST_CLOCK_TIME_NONE;
    g_object_set_qdata_full (G_OBJECT (pad), pad_state_quark, state, g_free);
  }
  return state;
}

static void
reset_pad_state (const GValue *item, gpointer data)
{
  PadState *state = g_object_get_qdata (
      g_value_get_object (item), pad_state_quark);

  /* the camera keeps its view; what it did before the flush is gone */
  if (state) {
    state->absent = state->joined = FALSE;
    state->last_capture = state->last_arrival = GST_CLOCK_TIME_NONE;
    state->seen_head = NULL;
    state->seen_at = GST_CLOCK_TIME_NONE;
  }
}

/* After a flushing seek (every pad's FLUSH_STOP in): the samples given
 * before it are forgotten, so that the stream played again is fused again
 * rather than dropped as late; the answers still due for them have
 * nowhere to go. */
static GstFlowReturn
gst_ddnn_aggregate_flush (GstAggregator *agg)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);
  GstIterator *pads = gst_element_iterate_sink_pads (GST_ELEMENT (agg));

  GST_DEBUG_OBJECT (self, "flushed: the sample bookkeeping starts afresh");
  self->done_until = GST_CLOCK_TIME_NONE;
  self->any_done = FALSE;
  self->done_sample = 0;
  self->done_capture = GST_CLOCK_TIME_NONE;
  self->period = GST_CLOCK_TIME_NONE;
  while (
      gst_iterator_foreach (pads, reset_pad_state, NULL) == GST_ITERATOR_RESYNC)
    gst_iterator_resync (pads);
  gst_iterator_free (pads);
  g_mutex_lock (&self->ring_lock);
  if (self->ring)
    memset (self->ring, 0, FUSED_RING * sizeof (FusedSample));
  self->ring_next = 0;
  g_mutex_unlock (&self->ring_lock);
  GST_AGGREGATOR_PAD (agg->srcpad)->segment.position = GST_CLOCK_TIME_NONE;
  return GST_FLOW_OK;
}

static void
post_view_message (GstDdnnAggregate *self, GstAggregatorPad *pad, gint view,
    const gchar *event)
{
  GST_INFO_OBJECT (pad, "view %d %s", view, event);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("ddnn-view", "event", G_TYPE_STRING, event, "view",
              G_TYPE_INT, view, "pad", G_TYPE_STRING, GST_PAD_NAME (pad),
              NULL)));
}

/* In live mode the base class waits for data until this running time plus
 * the latency (upstream's and #GstDdnnAggregate:timeout), then calls
 * aggregate () with timeout = TRUE: the earliest waiting buffer's time.
 * When every camera still taking part has a buffer waiting, there is
 * nothing to wait for: a camera that left is not waited for again. */
static GstClockTime
gst_ddnn_aggregate_get_next_time (GstAggregator *agg)
{
  GstClockTime next = GST_CLOCK_TIME_NONE, now = GST_CLOCK_TIME_NONE;
  gboolean all_present_ready = TRUE;
  GList *l;

  GST_OBJECT_LOCK (agg);
  if (GST_ELEMENT_CLOCK (agg)) {
    GstClockTime base = (GstClockTime) GST_ELEMENT_CAST (agg)->base_time;

    now = gst_clock_get_time (GST_ELEMENT_CLOCK (agg));
    now = now > base ? now - base : 0;
  }
  for (l = GST_ELEMENT (agg)->sinkpads; l; l = l->next) {
    GstAggregatorPad *pad = l->data;
    GstBuffer *head = gst_aggregator_pad_peek_buffer (pad);
    GstClockTime rt;

    if (!head) {
      if (!pad_state (pad)->absent && !gst_aggregator_pad_is_eos (pad))
        all_present_ready = FALSE;
      continue;
    }
    rt = running_time (pad, head);
    {
      PadState *state = pad_state (pad);

      /* a buffer that came long before the aggregator got to it (it runs
       * behind) is waited with from when it was first seen */
      if (state->seen_head != (gconstpointer) head) {
        state->seen_head = head;
        state->seen_at = now;
      }
      if (GST_CLOCK_TIME_IS_VALID (rt) &&
          GST_CLOCK_TIME_IS_VALID (state->seen_at))
        rt = MAX (rt, state->seen_at);
    }
    if (GST_CLOCK_TIME_IS_VALID (rt) &&
        (!GST_CLOCK_TIME_IS_VALID (next) || rt < next))
      next = rt;
    gst_buffer_unref (head);
  }
  GST_OBJECT_UNLOCK (agg);
  if (GST_CLOCK_TIME_IS_VALID (next) && all_present_ready)
    return 0;
  return next;
}

/* Checks a camera's buffer; posts the error and returns FALSE if unusable. */
static gboolean
check_view (GstDdnnAggregate *self, GstAggregatorPad *pad, GstDdnnMeta *meta)
{
  guint n_views = ddnn_model_get_n_views (self->model);

  if (!meta || meta->view < 0 || (guint) meta->view >= n_views) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT,
        ("A camera's buffer carries no usable DDNN data"),
        ("%s: needs GstDdnnMeta from ddnndevice with a view below %u",
            GST_PAD_NAME (pad), n_views));
    return FALSE;
  }
  if (!gst_ddnn_meta_has_model (meta, ddnn_model_get_id (self->model))) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("A camera runs another model"),
        ("%s: model %s, but this element has %s", GST_PAD_NAME (pad),
            meta->model_id, ddnn_model_get_id (self->model)));
    return FALSE;
  }
  return TRUE;
}

typedef struct
{
  GstAggregatorPad *pad;
  GstBuffer *buffer;
  GstDdnnMeta *meta;
  GstClockTime rt;
  gboolean outside; /* beyond sample-window of the last sample given */
} Head;

/* Capture-time alignment: the tolerance within which views are one moment
 * (the property, or half the shortest frame period seen). */
static GstClockTime
tolerance (GstDdnnAggregate *self)
{
  GstClockTime tol;

  GST_OBJECT_LOCK (self);
  tol = self->tolerance;
  GST_OBJECT_UNLOCK (self);
  if (tol)
    return tol;
  return GST_CLOCK_TIME_IS_VALID (self->period) ? self->period / 2
                                                : DEFAULT_AUTO_TOLERANCE;
}

/* Where a head stands against the last sample given: late (its moment has
 * left), within the window, or outside it (an absurd value, or a camera
 * whose counter or clock jumped). */
typedef enum
{
  HEAD_NEW,
  HEAD_LATE,
  HEAD_OUTSIDE,
} HeadPlace;

static HeadPlace
head_place (GstDdnnAggregate *self, const Head *h, GstDdnnAlign align,
    GstClockTime tol, guint64 window)
{
  if (align == GST_DDNN_ALIGN_SAMPLE_NUMBER) {
    guint64 s = h->meta->sample;

    if (!self->any_done)
      return HEAD_NEW;
    if (s > self->done_sample)
      return s - self->done_sample > window ? HEAD_OUTSIDE : HEAD_NEW;
    return self->done_sample - s > window ? HEAD_OUTSIDE : HEAD_LATE;
  }
  if (align == GST_DDNN_ALIGN_CAPTURE_TIME) {
    GstClockTime ct = h->meta->capture_time;
    GstClockTime span = window *
        (GST_CLOCK_TIME_IS_VALID (self->period) ? self->period : 2 * tol);

    if (!GST_CLOCK_TIME_IS_VALID (self->done_capture))
      return HEAD_NEW;
    if (ct > self->done_capture + tol)
      return ct - self->done_capture > span ? HEAD_OUTSIDE : HEAD_NEW;
    return self->done_capture - MIN (ct, self->done_capture) > span
        ? HEAD_OUTSIDE
        : HEAD_LATE;
  }
  return GST_CLOCK_TIME_IS_VALID (self->done_until) &&
          GST_CLOCK_TIME_IS_VALID (h->rt) && h->rt < self->done_until
      ? HEAD_LATE
      : HEAD_NEW;
}

/* Remembers which sample number each camera gave a fused sample, so that
 * answers and requests for features reach each camera with its own (live
 * cameras count on their own); under ring_lock. */
static void
remember_fused (GstDdnnAggregate *self, guint64 fused_sample, GstBuffer **views,
    GstAggregatorPad **pads, guint n_views)
{
  FusedSample *f;
  guint v;

  g_mutex_lock (&self->ring_lock);
  f = &self->ring[self->ring_next];
  self->ring_next = (self->ring_next + 1) % FUSED_RING;
  f->valid = TRUE;
  f->sample = fused_sample;
  f->views = 0;
  for (v = 0; v < n_views; v++) {
    if (!views[v])
      continue;
    f->views |= G_GUINT64_CONSTANT (1) << v;
    f->samples[v] = gst_buffer_get_ddnn_meta (views[v])->sample;
    f->pads[v] = GST_PAD (pads[v]);
  }
  g_mutex_unlock (&self->ring_lock);
}

/* Under ring_lock: the newest fused sample numbered @sample, or the one
 * where camera @view gave @sample (view >= 0). */
static FusedSample *
find_fused (GstDdnnAggregate *self, guint64 sample, gint view)
{
  guint i;

  for (i = 1; i <= FUSED_RING; i++) {
    FusedSample *f =
        &self->ring[(self->ring_next + FUSED_RING - i) % FUSED_RING];

    if (!f->valid)
      break;
    if (view < 0 ? f->sample == sample
                 : (f->views & (G_GUINT64_CONSTANT (1) << view)) &&
                f->samples[view] == sample)
      return f;
  }
  return NULL;
}

static GstFlowReturn
gst_ddnn_aggregate_aggregate (GstAggregator *agg, gboolean timeout)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);
  guint n_views = ddnn_model_get_n_views (self->model), v, i, n_heads = 0;
  GstBuffer *views[DDNN_MAX_VIEWS] = { NULL };
  GstAggregatorPad *view_pads[DDNN_MAX_VIEWS] = { NULL };
  Head heads[DDNN_MAX_VIEWS * 2];
  Head *first = NULL;
  gboolean all_eos = TRUE, bad = FALSE, dropped = FALSE, all_outside = TRUE;
  GstClockTime until = GST_CLOCK_TIME_NONE, pts = GST_CLOCK_TIME_NONE, tol;
  GstDdnnAlign align;
  guint64 window;
  GstFlowReturn ret;
  GstBuffer *out;
  GError *error = NULL;
  GList *l, *waited = NULL;
  HeadPlace places[DDNN_MAX_VIEWS * 2];
  GstClockTime now = GST_CLOCK_TIME_NONE, wait = 0;

  GST_OBJECT_LOCK (self);
  align = self->align;
  window = self->sample_window;
  for (l = GST_ELEMENT (self)->sinkpads; l; l = l->next) {
    GstAggregatorPad *pad = l->data;
    GstBuffer *head;

    if (!gst_aggregator_pad_is_eos (pad))
      all_eos = FALSE;
    if (n_heads == G_N_ELEMENTS (heads) ||
        !(head = gst_aggregator_pad_peek_buffer (pad))) {
      /* a camera that was waited for and did not come */
      if (timeout && !gst_aggregator_pad_is_eos (pad) &&
          !pad_state (pad)->absent)
        waited = g_list_prepend (waited, gst_object_ref (pad));
      continue;
    }
    heads[n_heads].pad = gst_object_ref (pad);
    heads[n_heads].buffer = head;
    heads[n_heads].meta = gst_buffer_get_ddnn_meta (head);
    heads[n_heads].rt = running_time (pad, head);
    n_heads++;
  }
  if (GST_ELEMENT_CLOCK (self)) {
    GstClockTime base = (GstClockTime) GST_ELEMENT_CAST (self)->base_time;

    now = gst_clock_get_time (GST_ELEMENT_CLOCK (self));
    now = now > base ? now - base : 0;
  }
  GST_OBJECT_UNLOCK (self);
  if (waited)
    wait = gst_aggregator_get_latency (agg);

  for (i = 0; i < n_heads && !bad; i++)
    bad = !check_view (self, heads[i].pad, heads[i].meta);
  if (bad) {
    ret = GST_FLOW_ERROR;
    goto done;
  }

  /* cameras that come (back) are waited for again */
  for (i = 0; i < n_heads; i++) {
    PadState *state = pad_state (heads[i].pad);
    GstClockTime ct = heads[i].meta->capture_time;

    if (!state->joined) {
      state->absent = FALSE;
      state->joined = TRUE;
      post_view_message (self, heads[i].pad, heads[i].meta->view, "joined");
    }
    state->view = heads[i].meta->view;
    /* when the aggregator last saw a buffer of this camera, on its own
     * clock: a camera is gone when it has seen none for the timeout, even
     * if the aggregator runs behind */
    state->last_arrival = GST_CLOCK_TIME_IS_VALID (now) ? now : heads[i].rt;
    /* the frame period, for the capture-time tolerance */
    if (align == GST_DDNN_ALIGN_CAPTURE_TIME && GST_CLOCK_TIME_IS_VALID (ct)) {
      if (GST_CLOCK_TIME_IS_VALID (state->last_capture) &&
          ct > state->last_capture &&
          (!GST_CLOCK_TIME_IS_VALID (self->period) ||
              ct - state->last_capture < self->period))
        self->period = ct - state->last_capture;
    }
  }
  tol = tolerance (self);

  /* capture-time alignment needs capture times */
  if (align == GST_DDNN_ALIGN_CAPTURE_TIME) {
    for (i = 0; i < n_heads; i++) {
      Head *h = &heads[i];

      if (GST_CLOCK_TIME_IS_VALID (h->meta->capture_time))
        continue;
      if (!self->warned_no_capture) {
        GST_ELEMENT_WARNING (self, STREAM, FORMAT,
            ("Camera %d's frames have no capture time: dropped", h->meta->view),
            ("align=capture-time needs cameras on a shared clock "
             "(ddnnsink clock=net|ptp|realtime); recorded video aligns by "
             "sample-number"));
        self->warned_no_capture = TRUE;
      }
      GST_OBJECT_LOCK (self);
      self->late[h->meta->view]++;
      GST_OBJECT_UNLOCK (self);
      gst_aggregator_pad_drop_buffer (h->pad);
      gst_clear_buffer (&h->buffer);
      dropped = TRUE;
    }
    if (dropped) {
      ret = GST_FLOW_OK;
      goto done;
    }
  }

  /* a view that arrives after its sample left (a live camera late beyond
   * the timeout, or resent after a reconnect) is dropped; so is one far
   * outside the window of the last sample, unless every camera is there
   * (they all jumped: start afresh) */
  for (i = 0; i < n_heads; i++) {
    places[i] = head_place (self, &heads[i], align, tol, window);
    if (places[i] != HEAD_OUTSIDE)
      all_outside = FALSE;
  }
  if (n_heads && all_outside) {
    GST_ELEMENT_WARNING (self, STREAM, FORMAT,
        ("Every camera's %s jumped: starting afresh",
            align == GST_DDNN_ALIGN_CAPTURE_TIME ? "capture time"
                                                 : "sample number"),
        ("beyond sample-window (%" G_GUINT64_FORMAT ") of the last sample",
            window));
    self->any_done = FALSE;
    self->done_capture = GST_CLOCK_TIME_NONE;
    for (i = 0; i < n_heads; i++)
      places[i] = HEAD_NEW;
  }
  for (i = 0; i < n_heads; i++) {
    Head *h = &heads[i];

    if (places[i] == HEAD_NEW)
      continue;
    if (places[i] == HEAD_OUTSIDE) {
      GST_OBJECT_LOCK (self);
      self->outside[h->meta->view]++;
      GST_OBJECT_UNLOCK (self);
      if (!self->warned_outside) {
        GST_ELEMENT_WARNING (self, STREAM, FORMAT,
            ("Camera %d's sample %" G_GUINT64_FORMAT " is far from the "
             "others': dropped",
                h->meta->view, h->meta->sample),
            ("beyond sample-window (%" G_GUINT64_FORMAT ") of the last "
             "sample; counted in stats (outside-view-N), warned once",
                window));
        self->warned_outside = TRUE;
      }
    } else {
      GST_DEBUG_OBJECT (h->pad,
          "view %d of sample %" G_GUINT64_FORMAT " came after its sample "
          "left",
          h->meta->view, h->meta->sample);
      GST_OBJECT_LOCK (self);
      self->late[h->meta->view]++;
      GST_OBJECT_UNLOCK (self);
    }
    gst_aggregator_pad_drop_buffer (h->pad);
    gst_clear_buffer (&h->buffer);
    dropped = TRUE;
  }
  if (dropped) {
    /* the pads are looked at again: a dropped one may have its next */
    ret = GST_FLOW_OK;
    goto done;
  }

  /* the head that opens the next sample */
  for (i = 0; i < n_heads; i++) {
    Head *h = &heads[i];

    if (!first)
      first = h;
    else if (align == GST_DDNN_ALIGN_RUNNING_TIME &&
        GST_CLOCK_TIME_IS_VALID (h->rt) &&
        (!GST_CLOCK_TIME_IS_VALID (first->rt) || h->rt < first->rt))
      first = h;
    else if (align == GST_DDNN_ALIGN_SAMPLE_NUMBER &&
        h->meta->sample < first->meta->sample)
      first = h;
    else if (align == GST_DDNN_ALIGN_CAPTURE_TIME &&
        h->meta->capture_time < first->meta->capture_time)
      first = h;
  }
  if (!first) {
    ret = all_eos ? GST_FLOW_EOS : GST_FLOW_OK;
    goto done;
  }
  if (align == GST_DDNN_ALIGN_RUNNING_TIME &&
      GST_CLOCK_TIME_IS_VALID (first->rt)) {
    GstClockTime duration = GST_BUFFER_DURATION (first->buffer);

    until = first->rt + (GST_CLOCK_TIME_IS_VALID (duration) ? duration : 1);
    pts = first->rt;
  } else if (align == GST_DDNN_ALIGN_CAPTURE_TIME) {
    pts = first->rt;
  }

  /* take that sample's views; heads ahead of it stay for the next */
  for (i = 0; i < n_heads; i++) {
    Head *h = &heads[i];
    gboolean joins;

    if (align == GST_DDNN_ALIGN_SAMPLE_NUMBER)
      joins = h->meta->sample == first->meta->sample;
    else if (align == GST_DDNN_ALIGN_CAPTURE_TIME)
      joins = h->meta->capture_time <= first->meta->capture_time + tol;
    else if (GST_CLOCK_TIME_IS_VALID (until))
      joins = GST_CLOCK_TIME_IS_VALID (h->rt) && h->rt < until;
    else
      joins = h == first;
    if (joins && views[h->meta->view]) {
      /* two cameras claim one view: the sample cannot be told apart */
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Two cameras send view %d", h->meta->view),
          ("%s and another pad both carry view %d of sample %" G_GUINT64_FORMAT
           "; give each ddnndevice its own view",
              GST_PAD_NAME (h->pad), h->meta->view, h->meta->sample));
      for (v = 0; v < n_views; v++)
        gst_clear_buffer (&views[v]);
      ret = GST_FLOW_ERROR;
      goto done;
    }
    if (joins) {
      views[h->meta->view] = gst_buffer_ref (h->buffer);
      view_pads[h->meta->view] = h->pad;
      pad_state (h->pad)->last_capture = h->meta->capture_time;
      gst_aggregator_pad_drop_buffer (h->pad);
    }
  }
  /* a camera waited for until the timeout, from which nothing at all came
   * for longer than the timeout, has left: later samples do not wait for
   * it, until it comes back.  One that is only slow (its frames still come)
   * is waited for again. */
  for (l = waited; l; l = l->next) {
    PadState *state = pad_state (l->data);

    if (GST_CLOCK_TIME_IS_VALID (state->last_arrival) &&
        (!GST_CLOCK_TIME_IS_VALID (now) || now <= state->last_arrival + wait))
      continue;
    state->absent = TRUE;
    state->joined = FALSE;
    if (state->view >= 0)
      post_view_message (self, l->data, state->view, "left");
  }

  /* the counters are read by the stats property, under the object lock */
  GST_OBJECT_LOCK (self);
  for (v = 0; v < n_views; v++)
    if (!views[v])
      self->missing[v]++;
  self->samples++;
  GST_OBJECT_UNLOCK (self);
  if (GST_CLOCK_TIME_IS_VALID (until))
    self->done_until = until;
  if (align == GST_DDNN_ALIGN_SAMPLE_NUMBER) {
    self->done_sample = first->meta->sample;
    self->any_done = TRUE;
  } else if (align == GST_DDNN_ALIGN_CAPTURE_TIME) {
    self->done_capture = first->meta->capture_time;
  }

  out = fuse (self, views, pts, &error);
  if (out)
    remember_fused (self, gst_buffer_get_ddnn_meta (out)->sample, views,
        view_pads, n_views);
  for (v = 0; v < n_views; v++)
    gst_clear_buffer (&views[v]);
  if (!out) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("Cannot fuse a sample"),
        ("%s", error->message));
    g_error_free (error);
    ret = GST_FLOW_ERROR;
    goto done;
  }
  if (GST_BUFFER_PTS_IS_VALID (out))
    GST_AGGREGATOR_PAD (agg->srcpad)->segment.position = GST_BUFFER_PTS (out);
  ret = gst_aggregator_finish_buffer (agg, out);

done:
  for (i = 0; i < n_heads; i++) {
    gst_clear_buffer (&heads[i].buffer);
    gst_object_unref (heads[i].pad);
  }
  g_list_free_full (waited, gst_object_unref);
  return ret;
}

/* Features that come back for a sample (features on demand) go straight
 * on to the element that holds the sample, under the fused sample's
 * number. */
static gboolean
gst_ddnn_aggregate_sink_event (
    GstAggregator *agg, GstAggregatorPad *pad, GstEvent *event)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM_OOB &&
      gst_event_has_name (event, GST_DDNN_FEATURES_REPLY)) {
    const GstStructure *s = gst_event_get_structure (event);
    guint64 sample = 0;
    gint view = -1;
    FusedSample *f;

    gst_structure_get (
        s, "sample", G_TYPE_UINT64, &sample, "view", G_TYPE_INT, &view, NULL);
    g_mutex_lock (&self->ring_lock);
    f = view >= 0 && view < DDNN_MAX_VIEWS ? find_fused (self, sample, view)
                                           : NULL;
    if (f && f->sample != sample) {
      GstStructure *copy = gst_structure_copy (s);

      gst_structure_set (copy, "sample", G_TYPE_UINT64, f->sample, NULL);
      gst_event_unref (event);
      event = gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM_OOB, copy);
    }
    g_mutex_unlock (&self->ring_lock);
    return gst_pad_push_event (agg->srcpad, event);
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM &&
      gst_event_has_name (event, GST_DDNN_CAMERA_CONNECTED)) {
    /* serialized: this runs in the aggregate thread, which owns the state */
    PadState *state = pad_state (pad);

    GST_INFO_OBJECT (pad, "a camera connected: waiting for its frames");
    state->absent = FALSE;
    state->joined = FALSE;
    gst_event_unref (event);
    return TRUE;
  }
  return GST_AGGREGATOR_CLASS (gst_ddnn_aggregate_parent_class)
      ->sink_event (agg, pad, event);
}

/* An answer, or a request for features, goes up only to the cameras that
 * took part in the sample, each with the sample number it gave. */
static gboolean
gst_ddnn_aggregate_src_event (GstAggregator *agg, GstEvent *event)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (agg);
  const GstStructure *s = gst_event_get_structure (event);
  GstStructure *copies[DDNN_MAX_VIEWS] = { NULL };
  GstPad *pads[DDNN_MAX_VIEWS] = { NULL };
  guint64 sample = 0;
  FusedSample *f;
  guint v;

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM || !s ||
      !(gst_structure_has_name (s, GST_DDNN_ANSWER_EVENT) ||
          gst_structure_has_name (s, GST_DDNN_FEATURES_REQUEST)) ||
      !gst_structure_get_uint64 (s, "sample", &sample))
    return GST_AGGREGATOR_CLASS (gst_ddnn_aggregate_parent_class)
        ->src_event (agg, event);

  g_mutex_lock (&self->ring_lock);
  f = find_fused (self, sample, -1);
  if (f) {
    for (v = 0; v < DDNN_MAX_VIEWS; v++) {
      if (!(f->views & (G_GUINT64_CONSTANT (1) << v)))
        continue;
      pads[v] = f->pads[v];
      copies[v] = gst_structure_copy (s);
      gst_structure_set (copies[v], "sample", G_TYPE_UINT64, f->samples[v],
          "view", G_TYPE_INT, (gint) v, NULL);
    }
  }
  g_mutex_unlock (&self->ring_lock);
  if (!f)
    return GST_AGGREGATOR_CLASS (gst_ddnn_aggregate_parent_class)
        ->src_event (agg, event);

  /* a pad of the sample may have been released since: only pads still
   * there are used, with a reference taken under the lock */
  GST_OBJECT_LOCK (self);
  for (v = 0; v < DDNN_MAX_VIEWS; v++)
    if (pads[v])
      pads[v] = g_list_find (GST_ELEMENT (self)->sinkpads, pads[v])
          ? gst_object_ref (pads[v])
          : NULL;
  GST_OBJECT_UNLOCK (self);
  for (v = 0; v < DDNN_MAX_VIEWS; v++) {
    if (pads[v])
      gst_pad_push_event (
          pads[v], gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, copies[v]));
    else if (copies[v])
      gst_structure_free (copies[v]);
    if (pads[v])
      gst_object_unref (pads[v]);
  }
  gst_event_unref (event);
  return TRUE;
}

static void
gst_ddnn_aggregate_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_LOCAL_MODE:
      self->local_mode = g_value_get_enum (value);
      break;
    case PROP_FEATURE_MODE:
      self->feature_mode = g_value_get_enum (value);
      break;
    case PROP_ALIGN:
      self->align = g_value_get_enum (value);
      break;
    case PROP_TOLERANCE:
      self->tolerance = g_value_get_uint64 (value);
      break;
    case PROP_SAMPLE_WINDOW:
      self->sample_window = g_value_get_uint64 (value);
      break;
    case PROP_TIMEOUT:
      /* the base class's latency is what a live sample waits beyond
       * upstream's; set outside the lock, as it takes it */
      GST_OBJECT_UNLOCK (self);
      g_object_set (object, "latency", g_value_get_uint64 (value), NULL);
      return;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_aggregate_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_LOCAL_MODE:
      g_value_set_enum (value, self->local_mode);
      break;
    case PROP_FEATURE_MODE:
      g_value_set_enum (value, self->feature_mode);
      break;
    case PROP_ALIGN:
      g_value_set_enum (value, self->align);
      break;
    case PROP_TOLERANCE:
      g_value_set_uint64 (value, self->tolerance);
      break;
    case PROP_SAMPLE_WINDOW:
      g_value_set_uint64 (value, self->sample_window);
      break;
    case PROP_TIMEOUT: {
      guint64 latency;

      GST_OBJECT_UNLOCK (self);
      g_object_get (object, "latency", &latency, NULL);
      g_value_set_uint64 (value, latency);
      return;
    }
    case PROP_STATS: {
      GstStructure *stats = gst_structure_new ("ddnn-aggregate-stats",
          "samples", G_TYPE_UINT64, self->samples, NULL);
      guint v, n = self->model ? ddnn_model_get_n_views (self->model) : 0;

      for (v = 0; v < n; v++) {
        gchar *field = g_strdup_printf ("missing-view-%u", v);

        gst_structure_set (stats, field, G_TYPE_UINT64, self->missing[v], NULL);
        g_free (field);
        field = g_strdup_printf ("late-view-%u", v);
        gst_structure_set (stats, field, G_TYPE_UINT64, self->late[v], NULL);
        g_free (field);
        field = g_strdup_printf ("outside-view-%u", v);
        gst_structure_set (stats, field, G_TYPE_UINT64, self->outside[v], NULL);
        g_free (field);
      }
      g_value_take_boxed (value, stats);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ddnn_aggregate_finalize (GObject *object)
{
  GstDdnnAggregate *self = GST_DDNN_AGGREGATE (object);

  g_free (self->model_path);
  g_mutex_clear (&self->ring_lock);
  G_OBJECT_CLASS (gst_ddnn_aggregate_parent_class)->finalize (object);
}

static void
gst_ddnn_aggregate_class_init (GstDdnnAggregateClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);

  gobject_class->set_property = gst_ddnn_aggregate_set_property;
  gobject_class->get_property = gst_ddnn_aggregate_get_property;
  gobject_class->finalize = gst_ddnn_aggregate_finalize;

  /**
   * GstDdnnAggregate:model:
   *
   * The model whose fusion modes apply; its id must match the cameras'.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "DDNN model file (.safetensors) whose fusion applies", DEFAULT_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnAggregate:local-mode:
   *
   * How the views' class scores are fused for the local exit: max or avg
   * (concat gives no class scores and is refused).  `model` takes the
   * model's.
   */
  g_object_class_install_property (gobject_class, PROP_LOCAL_MODE,
      g_param_spec_enum ("local-mode", "Local fusion",
          "How the views' class scores are fused (max, avg; model = as "
          "trained)",
          GST_TYPE_DDNN_FUSION_MODE, DEFAULT_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnAggregate:feature-mode:
   *
   * How the views' features are fused for the next tier.  The result must
   * have the size the model's next section takes: max and avg give one
   * view's size, concat all views'.  `model` takes the model's.
   */
  g_object_class_install_property (gobject_class, PROP_FEATURE_MODE,
      g_param_spec_enum ("feature-mode", "Feature fusion",
          "How the views' features are fused (max, avg, concat; model = as "
          "trained); the result must fit the next section",
          GST_TYPE_DDNN_FUSION_MODE, DEFAULT_MODE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnAggregate:align:
   *
   * Which cameras' buffers make one sample: equal sample numbers
   * (recorded video), capture times within #GstDdnnAggregate:tolerance
   * (cameras on separate hosts sharing a clock: see ddnnsink's clock), or
   * overlapping running times (live cameras of one host).
   */
  g_object_class_install_property (gobject_class, PROP_ALIGN,
      g_param_spec_enum ("align", "Alignment",
          "Which cameras' buffers make one sample", GST_TYPE_DDNN_ALIGN,
          DEFAULT_ALIGN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnAggregate:tolerance:
   *
   * align=capture-time: views whose capture times lie within this many
   * nanoseconds of the earliest are one moment.  0: half the shortest
   * frame period seen (15 ms until one is seen).
   */
  g_object_class_install_property (gobject_class, PROP_TOLERANCE,
      g_param_spec_uint64 ("tolerance", "Tolerance",
          "align=capture-time: capture times within this many ns are one "
          "moment (0 = half the frame period seen)",
          0, G_MAXUINT64, DEFAULT_TOLERANCE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  /**
   * GstDdnnAggregate:sample-window:
   *
   * A camera's sample number (or capture time, counted in frame periods)
   * more than this far from the last sample given is taken for absurd or
   * for a jump: that buffer is dropped, counted (stats: outside-view-N)
   * and warned of once, so that one wild value cannot make every later
   * sample "late".  If every camera jumps, fusion starts afresh there.
   */
  g_object_class_install_property (gobject_class, PROP_SAMPLE_WINDOW,
      g_param_spec_uint64 ("sample-window", "Sample window",
          "Samples (or frame periods) from the last sample given beyond "
          "which a camera's buffer is dropped as absurd",
          1, G_MAXUINT64, DEFAULT_SAMPLE_WINDOW,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnAggregate:timeout:
   *
   * With live sources: how long (ns) beyond the latency upstream reports
   * a sample waits for a late camera before it goes on without it,
   * counted from the later of the sample's first buffer's running time and
   * the moment the aggregator got to it (so an aggregator that runs behind
   * does not cut out cameras whose frames are merely queued).  The same
   * value as the base class's `latency`.  A camera left out this way
   * is taken to have left (a `ddnn-view` element message with event
   * "left"): later samples do not wait for it until its next buffer comes
   * ("joined").
   */
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_uint64 ("timeout", "Timeout",
          "Live sources: how long (ns) a sample waits for a late camera "
          "beyond upstream's latency (the same as latency)",
          0, G_MAXUINT64, DEFAULT_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));

  /**
   * GstDdnnAggregate:stats:
   *
   * Samples given so far, and per view how many of them it was missing
   * from and how many of its buffers came after their sample left (fields
   * "samples", "missing-view-N" and "late-view-N").
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Samples fused, and how often each view was missing",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &sink_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (
      element_class, &src_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_set_static_metadata (element_class, "DDNN aggregate",
      "Filter/Analyzer",
      "Fuses the cameras' DDNN results of each sample (request pads sink_%u) "
      "into one application/x-ddnn buffer, aligned by sample number or "
      "running time; example: ddnnaggregate name=f model=m.safetensors ! "
      "ddnnexit  cam0 ! ddnndevice view=0 ! f.  cam1 ! ddnndevice view=1 ! "
      "f.",
      "ddnn-gst developers");
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");

  agg_class->start = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_start);
  agg_class->stop = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_stop);
  agg_class->flush = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_flush);
  agg_class->aggregate = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_aggregate);
  agg_class->sink_event = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_sink_event);
  agg_class->src_event = GST_DEBUG_FUNCPTR (gst_ddnn_aggregate_src_event);
  agg_class->get_next_time = GST_DEBUG_FUNCPTR (
      gst_ddnn_aggregate_get_next_time);
  agg_class->update_src_caps = GST_DEBUG_FUNCPTR (
      gst_ddnn_aggregate_update_src_caps);

  gst_type_mark_as_plugin_api (GST_TYPE_DDNN_FUSION_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_DDNN_ALIGN, 0);

  GST_DEBUG_CATEGORY_INIT (
      gst_ddnn_aggregate_debug, "ddnnaggregate", 0, "DDNN aggregate");
  pad_state_quark = g_quark_from_static_string ("ddnn-aggregate-pad-state");
}

static void
gst_ddnn_aggregate_init (GstDdnnAggregate *self)
{
  self->local_mode = DEFAULT_MODE;
  self->feature_mode = DEFAULT_MODE;
  self->align = DEFAULT_ALIGN;
  self->tolerance = DEFAULT_TOLERANCE;
  self->sample_window = DEFAULT_SAMPLE_WINDOW;
  g_mutex_init (&self->ring_lock);
}
