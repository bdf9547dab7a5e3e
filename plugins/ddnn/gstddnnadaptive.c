/* An exit element's adaptive threshold.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstddnnadaptive.h"

#include <gstddnnresult.h>

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
  d = ddnn_adaptive_decide (adapt->controller, meta->sample, meta->entropy);
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
