/* An exit element's adaptive threshold: lib's controller (ddnn-adaptive.h)
 * with the samples it waits to hear about, and its figures as a message.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gstddnnmeta.h>

G_BEGIN_DECLS

typedef struct _GstDdnnAdapt GstDdnnAdapt;

/* @params as lib takes them; @element posts the figures. */
GstDdnnAdapt *gst_ddnn_adapt_new (
    GstElement *element, const DdnnAdaptiveParams *params);
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

/* The figures: a "ddnn-adaptive" structure (threshold, estimate, low,
 * high, samples, exited, sent-on, audits, feedback, lost). */
GstStructure *gst_ddnn_adapt_stats (GstDdnnAdapt *adapt);

/* Every this many samples the element posts its figures. */
#define GST_DDNN_ADAPT_REPORT_EVERY 500

G_END_DECLS
