/* An exit element's adaptive threshold.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnadaptive.h"

#include <gstddnnresult.h>
#include <math.h>

/* at most this many samples wait for their answer; the oldest beyond is
 * given up (a next tier that never answers must not grow the table) */
#define MAX_WAITING 65536

typedef struct
{
  guint64 sample;
  guint local_class;
  double entropy;
  DdnnDecision decision;
} Waiting;

struct _GstDdnnAdapt
{
  GstElement *element;
  GMutex lock;
  DdnnAdaptive *controller;
  GHashTable *waiting; /* sample -> Waiting */
  GQueue order; /* the waiting samples, oldest first */
};

GstDdnnAdapt *
gst_ddnn_adapt_new (GstElement *element, const DdnnAdaptiveParams *params)
{
  GstDdnnAdapt *adapt = g_new0 (GstDdnnAdapt, 1);

  adapt->element = element;
  g_mutex_init (&adapt->lock);
  adapt->controller = ddnn_adaptive_new (params);
  adapt->waiting = g_hash_table_new_full (
      g_int64_hash, g_int64_equal, NULL, g_free);
  g_queue_init (&adapt->order);
  return adapt;
}

void
gst_ddnn_adapt_free (GstDdnnAdapt *adapt)
{
  if (!adapt)
    return;
  ddnn_adaptive_free (adapt->controller);
  g_hash_table_unref (adapt->waiting);
  g_queue_clear (&adapt->order);
  g_mutex_clear (&adapt->lock);
  g_free (adapt);
}

GstStructure *
gst_ddnn_adapt_stats (GstDdnnAdapt *adapt)
{
  DdnnAdaptiveStats s;

  g_mutex_lock (&adapt->lock);
  ddnn_adaptive_get_stats (adapt->controller, &s);
  g_mutex_unlock (&adapt->lock);
  return gst_structure_new ("ddnn-adaptive", "threshold", G_TYPE_DOUBLE,
      s.threshold, "estimate", G_TYPE_DOUBLE, s.estimate, "low", G_TYPE_DOUBLE,
      s.low, "high", G_TYPE_DOUBLE, s.high, "samples", G_TYPE_UINT64, s.samples,
      "exited", G_TYPE_UINT64, s.exited, "sent-on", G_TYPE_UINT64, s.sent_on,
      "audits", G_TYPE_UINT64, s.audits, "feedback", G_TYPE_UINT64, s.feedback,
      "lost", G_TYPE_UINT64, s.lost, NULL);
}

/* Under lock: forgets the oldest waiting sample, unanswered. */
static void
give_up_oldest (GstDdnnAdapt *adapt)
{
  Waiting *w = g_queue_pop_head (&adapt->order);

  ddnn_adaptive_feedback_lost (adapt->controller);
  g_hash_table_remove (adapt->waiting, &w->sample);
}

DdnnDecision
gst_ddnn_adapt_decide (GstDdnnAdapt *adapt, const GstDdnnMeta *meta)
{
  DdnnDecision d;
  DdnnAdaptiveStats s;

  g_mutex_lock (&adapt->lock);
  d = ddnn_adaptive_decide_at (adapt->controller, meta->sample, meta->entropy,
      GST_CLOCK_TIME_IS_VALID (meta->pts) ? (double) meta->pts / GST_SECOND
                                          : NAN);
  if (d != DDNN_DECIDE_EXIT) {
    Waiting *w = g_new (Waiting, 1);

    w->sample = meta->sample;
    w->local_class = ddnn_argmax (meta->n_classes, meta->scores);
    w->entropy = meta->entropy;
    w->decision = d;
    if (g_hash_table_contains (adapt->waiting, &w->sample))
      g_queue_remove (
          &adapt->order, g_hash_table_lookup (adapt->waiting, &w->sample));
    g_hash_table_replace (adapt->waiting, &w->sample, w);
    g_queue_push_tail (&adapt->order, w);
    if (g_queue_get_length (&adapt->order) > MAX_WAITING)
      give_up_oldest (adapt);
  }
  ddnn_adaptive_get_stats (adapt->controller, &s);
  g_mutex_unlock (&adapt->lock);
  if (s.samples % GST_DDNN_ADAPT_REPORT_EVERY == 0)
    gst_element_post_message (adapt->element,
        gst_message_new_element (
            GST_OBJECT (adapt->element), gst_ddnn_adapt_stats (adapt)));
  return d;
}

gboolean
gst_ddnn_adapt_answer (GstDdnnAdapt *adapt, const GstStructure *answer)
{
  guint64 sample = 0;
  guint cls = 0;
  gboolean degraded = FALSE, audit = FALSE;
  Waiting *w;

  if (!gst_structure_get_uint64 (answer, "sample", &sample) ||
      !gst_structure_get_uint (answer, "class", &cls))
    return FALSE;
  gst_structure_get_boolean (answer, "degraded", &degraded);
  g_mutex_lock (&adapt->lock);
  w = g_hash_table_lookup (adapt->waiting, &sample);
  if (w) {
    audit = w->decision == DDNN_DECIDE_EXIT_AUDIT;
    /* a degraded answer is this tier's own, not the next tier's view */
    if (degraded)
      ddnn_adaptive_feedback_lost (adapt->controller);
    else
      ddnn_adaptive_feedback (
          adapt->controller, w->entropy, w->decision, cls == w->local_class);
    g_queue_remove (&adapt->order, w);
    g_hash_table_remove (adapt->waiting, &sample);
  }
  g_mutex_unlock (&adapt->lock);
  return audit;
}

void
gst_ddnn_adapt_lost (GstDdnnAdapt *adapt, guint64 sample)
{
  Waiting *w;

  g_mutex_lock (&adapt->lock);
  if ((w = g_hash_table_lookup (adapt->waiting, &sample))) {
    ddnn_adaptive_feedback_lost (adapt->controller);
    g_queue_remove (&adapt->order, w);
    g_hash_table_remove (adapt->waiting, &sample);
  }
  g_mutex_unlock (&adapt->lock);
}

void
gst_ddnn_adapt_settings_init (GstDdnnAdaptSettings *settings)
{
  settings->max_drop = settings->max_offload = settings->max_bytes = -1;
  settings->max_bytes_per_second = -1;
  settings->audit_rate = 0.02;
}

gboolean
gst_ddnn_adapt_start (GstElement *element, const GstDdnnAdaptSettings *settings,
    gdouble threshold, gdouble base_bytes, gdouble sent_bytes,
    GstDdnnAdapt **adapt)
{
  DdnnAdaptiveParams params;
  GstDdnnAdaptSettings s;
  GError *error = NULL;
  gint targets;

  GST_OBJECT_LOCK (element);
  s = *settings;
  GST_OBJECT_UNLOCK (element);
  *adapt = NULL;
  targets = (s.max_drop >= 0) + (s.max_offload >= 0) + (s.max_bytes >= 0) +
      (s.max_bytes_per_second >= 0);
  if (targets == 0)
    return TRUE;
  if (targets > 1) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS, ("Two targets"),
        ("set one of max-accuracy-drop, max-offload, max-bytes and "
         "max-bytes-per-second"));
    return FALSE;
  }
  if (s.max_bytes_per_second >= 0) {
    if (!(sent_bytes > 0)) {
      GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
          ("This exit takes no byte budget"),
          ("max-bytes-per-second is for ddnnexit with its model (the "
           "cameras' bytes); give max-offload"));
      return FALSE;
    }
    ddnn_adaptive_params_init (&params);
    params.audit_rate = s.audit_rate;
    params.initial_threshold = threshold;
    params.kind = DDNN_TARGET_BYTES_PER_SECOND;
    params.value = s.max_bytes_per_second;
    params.base_bytes = base_bytes;
    params.sent_bytes = sent_bytes;
    *adapt = gst_ddnn_adapt_new (element, &params);
    return TRUE;
  }
  ddnn_adaptive_params_init (&params);
  params.audit_rate = s.audit_rate;
  params.initial_threshold = threshold;
  if (s.max_drop >= 0) {
    params.kind = DDNN_TARGET_ACCURACY;
    params.value = s.max_drop;
  } else if (s.max_offload >= 0) {
    params.kind = DDNN_TARGET_OFFLOAD;
    params.value = s.max_offload;
  } else {
    params.kind = DDNN_TARGET_OFFLOAD;
    if (!(sent_bytes > 0)) {
      GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
          ("This exit takes no byte budget"),
          ("max-bytes is for ddnnexit with its model (the cameras' bytes); "
           "give max-offload"));
      return FALSE;
    }
    if (!ddnn_adaptive_bytes_to_offload (
            s.max_bytes, base_bytes, sent_bytes, &params.value, &error)) {
      GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS,
          ("max-bytes cannot be kept"), ("%s", error->message));
      g_error_free (error);
      return FALSE;
    }
    GST_INFO_OBJECT (element, "%.1f bytes a sample: at most %.3f sent on",
        s.max_bytes, params.value);
  }
  *adapt = gst_ddnn_adapt_new (element, &params);
  return TRUE;
}

void
gst_ddnn_adapt_send_audit (GstDdnnAdapt *adapt, GstBuffer *buffer, GstPad *next,
    GstFlowCombiner *combiner)
{
  GstDdnnMeta *meta = gst_buffer_get_ddnn_meta (buffer);
  GstBuffer *copy;

  if (!meta->features) {
    gst_ddnn_adapt_lost (adapt, meta->sample);
    return;
  }
  copy = gst_buffer_copy (buffer);
  gst_buffer_get_ddnn_meta (copy)->exit = GST_DDNN_EXIT_AUDIT;
  gst_flow_combiner_update_pad_flow (combiner, next, gst_pad_push (next, copy));
}

gboolean
gst_ddnn_adapt_next_event (
    GstDdnnAdapt *adapt, GstEvent *event, gboolean forward)
{
  const GstStructure *answer;

  if (!adapt || !(answer = gst_ddnn_answer_event_get_result (event)))
    return FALSE;
  if (gst_ddnn_adapt_answer (adapt, answer) || !forward) {
    gst_event_unref (event);
    return TRUE;
  }
  return FALSE;
}

gboolean
gst_ddnn_adapt_next_query (GstDdnnAdapt *adapt, GstQuery *query)
{
  const GstStructure *s;

  return adapt && GST_QUERY_TYPE (query) == GST_QUERY_CUSTOM &&
      (s = gst_query_get_structure (query)) &&
      gst_structure_has_name (s, GST_DDNN_ANSWERS_QUERY);
}

void
gst_ddnn_adapt_install_properties (
    GObjectClass *klass, guint first, const gchar *what)
{
  /* (the blurbs are copied: no G_PARAM_STATIC_BLURB) */
  g_autofree gchar *drop = g_strdup_printf (
      "Adaptive %s exit: the largest share of answers, in points, that may "
      "differ from the next tier's (-1: off, the fixed threshold)",
      what);
  g_autofree gchar *offload = g_strdup_printf (
      "Adaptive %s exit: the largest fraction of samples sent on, audits "
      "included (-1: off)",
      what);

  g_object_class_install_property (klass,
      first + GST_DDNN_ADAPT_PROP_MAX_ACCURACY_DROP,
      g_param_spec_double ("max-accuracy-drop", "Max accuracy drop", drop, -1,
          100, -1,
          G_PARAM_READWRITE | G_PARAM_STATIC_NAME | G_PARAM_STATIC_NICK |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass,
      first + GST_DDNN_ADAPT_PROP_MAX_OFFLOAD,
      g_param_spec_double ("max-offload", "Max offload", offload, -1, 1, -1,
          G_PARAM_READWRITE | G_PARAM_STATIC_NAME | G_PARAM_STATIC_NICK |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass, first + GST_DDNN_ADAPT_PROP_MAX_BYTES,
      g_param_spec_double ("max-bytes", "Max bytes",
          "Adaptive exit: the cameras' bytes a sample, at most, by the "
          "paper's cost model (scores always, features for a sample sent "
          "on): a share of samples sent on (-1: off)",
          -1, G_MAXDOUBLE, -1,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass,
      first + GST_DDNN_ADAPT_PROP_MAX_BYTES_PER_SECOND,
      g_param_spec_double ("max-bytes-per-second", "Max bytes per second",
          "Adaptive exit: the cameras' bytes a second, at most, by the cost "
          "model, at the rate the samples' PTS show (-1: off)",
          -1, G_MAXDOUBLE, -1,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass,
      first + GST_DDNN_ADAPT_PROP_AUDIT_RATE,
      g_param_spec_double ("audit-rate", "Audit rate",
          "With a target: the share of exits also sent on, as audits, so "
          "that the exit's accuracy is estimated without bias (still "
          "answered here at once)",
          0, 0.5, 0.02,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
              GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (klass, first + GST_DDNN_ADAPT_PROP_ADAPTIVE,
      g_param_spec_boxed ("adaptive", "Adaptive",
          "With a target, its figures (also a ddnn-adaptive message every "
          "500 samples and at EOS): threshold, estimate, low, high, samples, "
          "exited, sent-on, audits, feedback, lost; NULL without a target",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

gboolean
gst_ddnn_adapt_set_property (
    GstDdnnAdaptSettings *settings, guint first, guint id, const GValue *value)
{
  switch ((gint) id - (gint) first) {
    case GST_DDNN_ADAPT_PROP_MAX_ACCURACY_DROP:
      settings->max_drop = g_value_get_double (value);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_MAX_OFFLOAD:
      settings->max_offload = g_value_get_double (value);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_MAX_BYTES:
      settings->max_bytes = g_value_get_double (value);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_MAX_BYTES_PER_SECOND:
      settings->max_bytes_per_second = g_value_get_double (value);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_AUDIT_RATE:
      settings->audit_rate = g_value_get_double (value);
      return TRUE;
    default:
      return FALSE;
  }
}

gboolean
gst_ddnn_adapt_get_property (const GstDdnnAdaptSettings *settings,
    GstDdnnAdapt *adapt, guint first, guint id, GValue *value)
{
  switch ((gint) id - (gint) first) {
    case GST_DDNN_ADAPT_PROP_MAX_ACCURACY_DROP:
      g_value_set_double (value, settings->max_drop);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_MAX_OFFLOAD:
      g_value_set_double (value, settings->max_offload);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_MAX_BYTES:
      g_value_set_double (value, settings->max_bytes);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_MAX_BYTES_PER_SECOND:
      g_value_set_double (value, settings->max_bytes_per_second);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_AUDIT_RATE:
      g_value_set_double (value, settings->audit_rate);
      return TRUE;
    case GST_DDNN_ADAPT_PROP_ADAPTIVE:
      g_value_take_boxed (value, adapt ? gst_ddnn_adapt_stats (adapt) : NULL);
      return TRUE;
    default:
      return FALSE;
  }
}
