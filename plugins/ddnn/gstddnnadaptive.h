/* An exit element's adaptive threshold: lib's controller (ddnn-adaptive.h)
 * with the samples it waits to hear about, and its figures as a message.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/base/gstflowcombiner.h>
#include <gstddnnmeta.h>

G_BEGIN_DECLS

typedef struct _GstDdnnAdapt GstDdnnAdapt;

/* The properties an exit element takes for a target (under its object
 * lock): max-accuracy-drop, max-offload, max-bytes, max-bytes-per-second
 * (-1: off), audit-rate, and the read-only adaptive figures. */
typedef struct
{
  gdouble max_drop, max_offload, max_bytes, max_bytes_per_second, audit_rate;
} GstDdnnAdaptSettings;

enum
{
  GST_DDNN_ADAPT_PROP_MAX_ACCURACY_DROP,
  GST_DDNN_ADAPT_PROP_MAX_OFFLOAD,
  GST_DDNN_ADAPT_PROP_MAX_BYTES,
  GST_DDNN_ADAPT_PROP_MAX_BYTES_PER_SECOND,
  GST_DDNN_ADAPT_PROP_AUDIT_RATE,
  GST_DDNN_ADAPT_PROP_ADAPTIVE,
  GST_DDNN_ADAPT_N_PROPS,
};

void gst_ddnn_adapt_settings_init (GstDdnnAdaptSettings *settings);
/* Installs the properties as ids @first to @first + 5; @what names the
 * exit ("local", "edge") in their blurbs. */
void gst_ddnn_adapt_install_properties (
    GObjectClass *klass, guint first, const gchar *what);
/* Sets or gets property @id - @first; FALSE when @id is not one of them. */
gboolean gst_ddnn_adapt_set_property (
    GstDdnnAdaptSettings *settings, guint first, guint id, const GValue *value);
gboolean gst_ddnn_adapt_get_property (const GstDdnnAdaptSettings *settings,
    GstDdnnAdapt *adapt, guint first, guint id, GValue *value);

/* @params as lib takes them; @element posts the figures. */
GstDdnnAdapt *gst_ddnn_adapt_new (
    GstElement *element, const DdnnAdaptiveParams *params);
/* The controller @settings ask for, starting from @threshold, in *@adapt
 * (NULL without a target); FALSE, with an element error, for two targets
 * or a byte budget that cannot be kept.  A sample costs @base_bytes
 * whatever happens and @sent_bytes more when it goes on (0: this exit
 * takes no byte budget). */
gboolean gst_ddnn_adapt_start (GstElement *element,
    const GstDdnnAdaptSettings *settings, gdouble threshold, gdouble base_bytes,
    gdouble sent_bytes, GstDdnnAdapt **adapt);
void gst_ddnn_adapt_free (GstDdnnAdapt *adapt);

/* The decision for @meta's sample; a sample sent on (NEXT, EXIT_AUDIT) is
 * remembered until its answer comes back (gst_ddnn_adapt_answer) or is
 * given up (gst_ddnn_adapt_lost). */
DdnnDecision gst_ddnn_adapt_decide (
    GstDdnnAdapt *adapt, const GstDdnnMeta *meta);

/* An answer coming back up from the next tier: the feedback of the sample
 * it answers, if this exit sent it.  Returns TRUE when it was an audit's
 * (answered here already: the answer goes no further). */
gboolean gst_ddnn_adapt_answer (
    GstDdnnAdapt *adapt, const GstStructure *answer);

/* A sample sent on got no answer from the next tier (or a degraded one):
 * the controller is told, so that silence is not taken for agreement. */
void gst_ddnn_adapt_lost (GstDdnnAdapt *adapt, guint64 sample);

/* An audited sample, answered already: a copy of @buffer goes on @next,
 * flagged GST_DDNN_EXIT_AUDIT, for the next tier's answer to teach the
 * threshold (one without features cannot be checked: lost). */
void gst_ddnn_adapt_send_audit (GstDdnnAdapt *adapt, GstBuffer *buffer,
    GstPad *next, GstFlowCombiner *combiner);

/* For the next pad: takes the answers coming back up (TRUE: @event is
 * consumed, an audit's answer or one nobody upstream wants, @forward being
 * FALSE) and says that answers are wanted. */
gboolean gst_ddnn_adapt_next_event (
    GstDdnnAdapt *adapt, GstEvent *event, gboolean forward);
gboolean gst_ddnn_adapt_next_query (GstDdnnAdapt *adapt, GstQuery *query);

/* The figures: a "ddnn-adaptive" structure (threshold, estimate, low,
 * high, samples, exited, sent-on, audits, feedback, lost). */
GstStructure *gst_ddnn_adapt_stats (GstDdnnAdapt *adapt);

/* Every this many samples the element posts its figures. */
#define GST_DDNN_ADAPT_REPORT_EVERY 500

G_END_DECLS
