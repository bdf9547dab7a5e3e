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
 * Features on demand: when a sample that goes on came with scores only (its
 * cameras keep their features until asked), ddnnexit asks for them with a
 * `ddnn-features` event upstream, which a `ddnnsrc` carries to the cameras'
 * hosts, holds the sample, fuses the features as they come back (the
 * model's feature fusion; #GstDdnnExit:model is needed) and sends it on.
 * What has not come within #GstDdnnExit:features-timeout goes on without
 * it, or, with nothing, is answered here marked degraded.
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

#include "gstddnnadaptive.h"
#include "gstddnnelement.h"
#include "gstddnnexit-private.h"

#include <gstddnnmodel.h>

#include <gst/base/gstflowcombiner.h>
#include <gstddnnframe.h>
#include <gstddnnresult.h>

/* Threads and locks.  Buffers are pushed by the streaming thread (in
 * chain, and at EOS) and by the timer thread (samples whose features came,
 * or whose time ran out, while no buffer comes).  Pushes are serialized by
 * the sink pad's stream lock, which the streaming thread holds in chain and
 * in serialized events and the timer thread takes around its pushes; no
 * lock of this element is held across a push.  Lock order: the sink pad's
 * stream lock, then `lock` (which guards the waiting samples, the finished
 * ones and the timer), then the object lock (properties); never the other
 * way.  Features replies come out of band, on another element's thread:
 * they only hand finished samples to the timer thread, and never push. */

/* (shared with gstddnnexit-features.c) */
GST_DEBUG_CATEGORY (gst_ddnn_exit_debug);
#define GST_CAT_DEFAULT gst_ddnn_exit_debug

enum
{
  PROP_0,
  PROP_THRESHOLD,
  PROP_MODEL,
  PROP_RESULTS,
  PROP_SITE,
  PROP_REJECTED,
  PROP_FEATURES_TIMEOUT,
  /* then max-accuracy-drop, max-offload, audit-rate, adaptive */
  PROP_ADAPT_FIRST,
};

#define DEFAULT_FEATURES_TIMEOUT GST_SECOND

#define DEFAULT_THRESHOLD -1.0
#define DEFAULT_MODEL NULL
#define DEFAULT_RESULTS NULL

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE (
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate exit_template = GST_STATIC_PAD_TEMPLATE (
    "exit", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate next_template = GST_STATIC_PAD_TEMPLATE (
    "next", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

G_DEFINE_TYPE (GstDdnnExit, gst_ddnn_exit, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE (
    ddnnexit, "ddnnexit", GST_RANK_NONE, GST_TYPE_DDNN_EXIT);

/* Sends @buffer on @out with a GAP on the other pad; combines the flows.
 * The caller holds the sink pad's stream lock. */
GstFlowReturn
gst_ddnn_exit_push_to (GstDdnnExit *self, GstPad *out, GstBuffer *buffer)
{
  GstPad *idle = out == self->exitpad ? self->nextpad : self->exitpad;

  return gst_ddnn_push_routed (self->combiner, out, idle, buffer);
}

/* The pad to send answers up from, if anything upstream takes them. */
GstPad *
gst_ddnn_exit_answer_pad (GstDdnnExit *self)
{
  return gst_ddnn_answer_pad (self->sinkpad, &self->answers_up);
}

static GstFlowReturn
gst_ddnn_exit_chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)
{
  GstDdnnExit *self = GST_DDNN_EXIT (parent);
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
  GstPad *out;
  GstFlowReturn ret;
  gdouble threshold;
  guint64 timeout;
  gboolean exits, audit = FALSE;

  buffer = gst_buffer_make_writable (buffer);
  if (!meta && !self->frames) {
    gst_buffer_unref (buffer);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("A buffer carries no DDNN data"),
        ("ddnnexit needs GstDdnnMeta on every buffer, or application/x-ddnn "
         "frames; put ddnnaggregate or ddnndevice before it"));
    return GST_FLOW_ERROR;
  }
  /* a frame (from filesrc ! ddnnparse, a socket...) is parsed first */
  if (!(meta = gst_ddnn_element_take_meta (
            GST_ELEMENT (self), buffer, &self->rejected)))
    return GST_FLOW_OK;
  if (self->model &&
      !gst_ddnn_meta_has_model (meta, ddnn_model_get_id (self->model))) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("The sample comes from another model"),
        ("sample %" G_GUINT64_FORMAT " of model %s, this element's model %s",
            meta->sample, meta->model_id, ddnn_model_get_id (self->model)));
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  GST_OBJECT_LOCK (self);
  threshold = self->threshold;
  timeout = self->features_timeout;
  GST_OBJECT_UNLOCK (self);
  if (self->adapt) {
    DdnnDecision d = gst_ddnn_adapt_decide (self->adapt, meta);

    exits = d != DDNN_DECIDE_NEXT;
    audit = d == DDNN_DECIDE_EXIT_AUDIT;
  } else {
    exits = ddnn_model_exits (
        self->model, DDNN_TIER_DEVICE, threshold, meta->entropy);
  }
  meta->exit = exits ? GST_DDNN_EXIT_LOCAL : GST_DDNN_EXIT_NEXT;
  out = exits ? self->exitpad : self->nextpad;

  if (exits) {
    gst_ddnn_post_result (GST_ELEMENT (self), gst_ddnn_exit_answer_pad (self),
        buffer, meta, gst_ddnn_model_label (self->model, meta), self->site_used,
        self->results);
    self->exited++;
  } else {
    self->went_on++;
  }
  if (audit)
    gst_ddnn_adapt_send_audit (
        self->adapt, buffer, self->nextpad, self->combiner);

  if (!exits && !meta->features && meta->view_mask) {
    /* the scores came alone: ask the cameras for this sample's features,
     * and send it on when they come */
    Awaiting *a;
    GstStructure *request;

    if (!self->model) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT,
          ("Sample %" G_GUINT64_FORMAT " came without features", meta->sample),
          ("to ask the cameras for features (features on demand), ddnnexit "
           "needs its model property"));
      gst_buffer_unref (buffer);
      return GST_FLOW_ERROR;
    }
    a = g_new0 (Awaiting, 1);
    a->buffer = buffer;
    a->views = meta->view_mask;
    a->deadline = gst_ddnn_exit_deadline_now (self) + timeout;
    request = gst_structure_new (GST_DDNN_FEATURES_REQUEST, "sample",
        G_TYPE_UINT64, meta->sample, "views", G_TYPE_UINT64, meta->view_mask,
        NULL);
    g_mutex_lock (&self->lock);
    g_hash_table_insert (
        self->awaiting, g_memdup2 (&meta->sample, sizeof (guint64)), a);
    self->requested++;
    /* the timer waits for the earliest deadline */
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
    gst_pad_push_event (self->sinkpad,
        gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, request));
    gst_ddnn_exit_expire_awaiting (self, FALSE);
    return GST_FLOW_OK;
  }
  ret = gst_ddnn_exit_push_to (self, out, buffer);
  gst_ddnn_exit_expire_awaiting (self, FALSE);
  return ret;
}

/* Answers coming back up from the next tier teach the adaptive threshold;
 * an audit's goes no further (it was answered here), nor does any answer
 * when nothing upstream takes answers back. */
static gboolean
gst_ddnn_exit_next_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstDdnnExit *self = GST_DDNN_EXIT (parent);

  if (gst_ddnn_adapt_next_event (
          self->adapt, event, gst_ddnn_exit_answer_pad (self) != NULL))
    return TRUE;
  return gst_pad_event_default (pad, parent, event);
}

/* With an adaptive threshold, this exit takes the next tier's answers. */
static gboolean
gst_ddnn_exit_next_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstDdnnExit *self = GST_DDNN_EXIT (parent);

  return gst_ddnn_adapt_next_query (self->adapt, query) ||
      gst_pad_query_default (pad, parent, query);
}

static gboolean
gst_ddnn_exit_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstDdnnExit *self = GST_DDNN_EXIT (parent);

  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM_OOB &&
      gst_event_has_name (event, GST_DDNN_FEATURES_REPLY)) {
    gst_ddnn_exit_features_reply (self, gst_event_get_structure (event));
    gst_event_unref (event);
    return TRUE;
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    guint64 timeout;
    gint64 until;

    /* the samples still waiting for features get them, or their time
     * runs out, before the stream ends */
    GST_OBJECT_LOCK (self);
    timeout = self->features_timeout;
    GST_OBJECT_UNLOCK (self);
    until = g_get_monotonic_time () + (gint64) (timeout / 1000);
    g_mutex_lock (&self->lock);
    while (self->awaiting && g_hash_table_size (self->awaiting) > 0 &&
        g_cond_wait_until (&self->cond, &self->lock, until)) {
      /* this thread holds the stream lock: it sends on what came */
      if (!g_queue_is_empty (&self->ready)) {
        g_mutex_unlock (&self->lock);
        gst_ddnn_exit_expire_awaiting (self, FALSE);
        g_mutex_lock (&self->lock);
      }
    }
    g_mutex_unlock (&self->lock);
    gst_ddnn_exit_expire_awaiting (self, TRUE);
    if (self->adapt)
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_element (
              GST_OBJECT (self), gst_ddnn_adapt_stats (self->adapt)));
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;

    gst_event_parse_caps (event, &caps);
    self->frames = gst_structure_has_name (
        gst_caps_get_structure (caps, 0), GST_DDNN_CAPS);
  }
  return gst_pad_event_default (pad, parent, event);
}

/* Frees what start () made, all of it or what it got to. */
static void
gst_ddnn_exit_stop (GstDdnnExit *self)
{
  GstDdnnAdapt *adapt;

  gst_ddnn_exit_timer_stop (self);
  g_mutex_lock (&self->lock);
  g_clear_pointer (&self->awaiting, g_hash_table_unref);
  g_queue_clear_full (
      &self->ready, (GDestroyNotify) gst_ddnn_exit_awaiting_free);
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&self->model, ddnn_model_unref);
  g_clear_pointer (&self->results, gst_ddnn_result_writer_close);
  GST_OBJECT_LOCK (self);
  adapt = g_steal_pointer (&self->adapt);
  GST_OBJECT_UNLOCK (self);
  gst_ddnn_adapt_free (adapt);
}

static gboolean
gst_ddnn_exit_start (GstDdnnExit *self)
{
  g_autofree gchar *path = NULL;
  g_autofree gchar *results = NULL;
  GstDdnnAdapt *adapt;
  gdouble base = 0, sent = 0;
  guint views;
  gdouble threshold;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  results = g_strdup (self->results_path);
  g_free (self->site_used);
  self->site_used = g_strdup (self->site);
  threshold = self->threshold;
  GST_OBJECT_UNLOCK (self);
  if (threshold < 0 && !path) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("No threshold: threshold=-1 takes the model's, and there is no model"),
        ("set model=FILE (its trained threshold is used), or threshold=T"));
    return FALSE;
  }
  self->exited = self->went_on = self->rejected = self->requested = 0;
  self->answers_up = -1;
  g_mutex_lock (&self->lock);
  self->awaiting = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
      (GDestroyNotify) gst_ddnn_exit_awaiting_free);
  self->timer_running = TRUE;
  self->timer = g_thread_new ("ddnnexit-timer", gst_ddnn_exit_timer_loop, self);
  g_mutex_unlock (&self->lock);
  gst_flow_combiner_reset (self->combiner);
  if (results &&
      !(self->results = gst_ddnn_element_open_results (
            GST_ELEMENT (self), results)))
    return FALSE;
  /* the model is optional with a threshold given: it names the classes */
  if (path &&
      !(self->model = gst_ddnn_element_load_model (GST_ELEMENT (self), path)))
    return FALSE;
  /* a byte budget by the paper's cost model: every camera's scores, and
   * its features for a sample that goes on (needs the model) */
  if (self->model) {
    views = ddnn_model_get_n_views (self->model);
    base = views * (gdouble) ddnn_model_device_bytes (self->model, FALSE);
    sent = views * (gdouble) ddnn_model_device_bytes (self->model, TRUE) - base;
  }
  if (!gst_ddnn_adapt_start (GST_ELEMENT (self), &self->adapt_settings,
          ddnn_model_resolve_threshold (
              self->model, DDNN_TIER_DEVICE, threshold),
          base, sent, &adapt))
    return FALSE;
  GST_OBJECT_LOCK (self);
  self->adapt = adapt;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static GstStateChangeReturn
gst_ddnn_exit_change_state (GstElement *element, GstStateChange transition)
{
  GstDdnnExit *self = GST_DDNN_EXIT (element);
  GstStateChangeReturn ret;

  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED &&
      !gst_ddnn_exit_start (self)) {
    gst_ddnn_exit_stop (self);
    return GST_STATE_CHANGE_FAILURE;
  }
  /* (the timer stops after the pads are down: it may be waiting for the
   * stream lock that a push held) */
  ret = GST_ELEMENT_CLASS (gst_ddnn_exit_parent_class)
            ->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    GST_INFO_OBJECT (self,
        "%" G_GUINT64_FORMAT " samples exited, %" G_GUINT64_FORMAT " went on",
        self->exited, self->went_on);
    gst_ddnn_exit_stop (self);
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
    case PROP_FEATURES_TIMEOUT:
      self->features_timeout = g_value_get_uint64 (value);
      break;
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_RESULTS:
      g_free (self->results_path);
      g_free (self->site);
      g_free (self->site_used);
      self->results_path = g_value_dup_string (value);
      break;
    case PROP_SITE:
      g_free (self->site);
      self->site = g_value_dup_string (value);
      break;
    default:
      if (!gst_ddnn_adapt_set_property (
              &self->adapt_settings, PROP_ADAPT_FIRST, prop_id, value))
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
    case PROP_FEATURES_TIMEOUT:
      g_value_set_uint64 (value, self->features_timeout);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_RESULTS:
      g_value_set_string (value, self->results_path);
      break;
    case PROP_SITE:
      g_value_set_string (value, self->site);
      break;
    default:
      if (!gst_ddnn_adapt_get_property (&self->adapt_settings, self->adapt,
              PROP_ADAPT_FIRST, prop_id, value))
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
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
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
   * below this (the rule is lib's, ddnn_model_exits(), as in `ddnn eval`
   * and `ddnn run`).  -1, the default, takes the model's trained local
   * threshold (`ddnn inspect` prints it), and then needs
   * #GstDdnnExit:model.  Range -1 to 1.
   */
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Exit when the normalized entropy of the fused scores is below this "
          "(-1 = the model's trained threshold)",
          -1.0, 1.0, DEFAULT_THRESHOLD,
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
   * GstDdnnExit:site:
   *
   * The site or source id that this element's answer records carry (the
   * `site` field of ddnn-result messages, results files and ddnnpublish's
   * records); NULL gives the host name.
   */
  g_object_class_install_property (gobject_class, PROP_SITE,
      g_param_spec_string ("site", "Site",
          "Site id in the answer records (NULL: the host name)", NULL,
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

  /**
   * GstDdnnExit:features-timeout:
   *
   * Features on demand: how long (ns) a sample that goes on waits for its
   * cameras' features; it then goes on with those that came, or, with
   * none, is answered here marked degraded.  The deadline is kept on the
   * element's clock by a thread of its own, so it holds when no further
   * buffer comes (a live stream that pauses).
   */
  g_object_class_install_property (gobject_class, PROP_FEATURES_TIMEOUT,
      g_param_spec_uint64 ("features-timeout", "Features timeout",
          "Features on demand: how long (ns) a sample waits for its cameras' "
          "features before it goes on with those that came",
          0, G_MAXUINT64, DEFAULT_FEATURES_TIMEOUT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_PLAYING));

  /* max-accuracy-drop, max-offload, audit-rate and adaptive: an adaptive
   * threshold instead of a fixed one (see lib/ddnn-adaptive.h) */
  gst_ddnn_adapt_install_properties (gobject_class, PROP_ADAPT_FIRST, "local");

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
  gst_element_class_add_static_metadata (element_class,
      GST_ELEMENT_METADATA_DOC_URI,
      PACKAGE_ORIGIN "/blob/main/README.md#element-reference");
  GST_DEBUG_CATEGORY_INIT (gst_ddnn_exit_debug, "ddnnexit", 0, "DDNN exit");
}

static void
gst_ddnn_exit_init (GstDdnnExit *self)
{
  self->threshold = DEFAULT_THRESHOLD;
  self->features_timeout = DEFAULT_FEATURES_TIMEOUT;
  gst_ddnn_adapt_settings_init (&self->adapt_settings);
  g_mutex_init (&self->lock);
  g_queue_init (&self->ready);
  g_cond_init (&self->cond);
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
  gst_pad_set_event_function (
      self->nextpad, GST_DEBUG_FUNCPTR (gst_ddnn_exit_next_event));
  gst_pad_set_query_function (
      self->nextpad, GST_DEBUG_FUNCPTR (gst_ddnn_exit_next_query));
  GST_PAD_SET_PROXY_CAPS (self->nextpad);
  gst_element_add_pad (GST_ELEMENT (self), self->nextpad);

  self->combiner = gst_flow_combiner_new ();
  gst_flow_combiner_add_pad (self->combiner, self->exitpad);
  gst_flow_combiner_add_pad (self->combiner, self->nextpad);
}
