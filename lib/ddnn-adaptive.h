/* libddnn: an exit threshold that adapts, on a live stream, to a target.
 *
 * The user states a target instead of a threshold:
 *   accuracy  stay within P points of what the next tier would answer;
 *   offload   send on at most a fraction F of the samples (a byte budget
 *             per sample is a fraction of the bytes one sample costs).
 * The controller learns from feedback: for every sample that goes on, the
 * next tier's answer says whether the local answer would have agreed.
 * Samples that exit give no feedback, so a small audit rate sends some of
 * them on as well (they are still answered locally at once); which ones is
 * a function of the sample number and a seed, so that an element and an
 * offline replay (`ddnn eval --adaptive`) audit the same samples and so
 * make the same decisions.
 *
 * The accuracy estimate.  Every sample's entropy is known locally, so the
 * entropy distribution of the last samples is known exactly; what feedback
 * teaches is the chance that the local answer disagrees with the next
 * tier's at a given entropy, p(η).  It is estimated per entropy bin (from
 * the samples sent on above the threshold, from audits below it), made
 * non-decreasing in η (no bin above the next), and the accuracy drop at
 * a threshold T is the mean of p over the window's samples with η < T.
 * The threshold is the largest T whose drop, plus z standard errors, is
 * within the target.  Feedback that never comes (the next tier
 * unreachable, or later than the caller's deadline) is reported with
 * ddnn_adaptive_feedback_lost() and taught nothing: missing feedback is
 * not agreement.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  DDNN_TARGET_NONE, /* the fixed threshold */
  DDNN_TARGET_ACCURACY, /* value: the largest accuracy drop, in points */
  DDNN_TARGET_OFFLOAD, /* value: the largest fraction sent on, audits too */
  /* value: bytes a second, at most: every sample costs base_bytes and one
   * sent on sent_bytes more; the rate of samples is measured from their
   * times (ddnn_adaptive_decide_at) */
  DDNN_TARGET_BYTES_PER_SECOND,
} DdnnTargetKind;

typedef struct
{
  DdnnTargetKind kind;
  double value;
  /* the fraction of local exits also sent on, as audits (0 to 0.5) */
  double audit_rate;
  /* samples whose entropies the estimate covers (default 2000; an
   * offload target keeps an eighth, to follow a drift sooner), and the
   * feedback kept (2 x window: drifts that change how often the local
   * answer is wrong at a given entropy are followed within it) */
  guint window;
  /* samples between two threshold updates (default 50) */
  guint update_every;
  /* the threshold until the controller has learnt enough (an offload
   * target; an accuracy target sends everything on until then) */
  double initial_threshold;
  /* one-sided confidence for the accuracy target, in standard errors
   * (default 1.0) */
  double z;
  guint32 seed;
  /* DDNN_TARGET_BYTES_PER_SECOND: what a sample costs */
  double base_bytes, sent_bytes;
} DdnnAdaptiveParams;

typedef enum
{
  DDNN_DECIDE_EXIT, /* answered here */
  DDNN_DECIDE_EXIT_AUDIT, /* answered here, and sent on for feedback */
  DDNN_DECIDE_NEXT, /* sent on */
} DdnnDecision;

typedef struct _DdnnAdaptive DdnnAdaptive;

/* A byte budget per sample as the fraction of samples that may go on,
 * when every sample costs @base_bytes (its scores) and one sent on costs
 * @sent_bytes more (its features); an error when the budget is below
 * @base_bytes. */
gboolean ddnn_adaptive_bytes_to_offload (double bytes, double base_bytes,
    double sent_bytes, double *fraction, GError **error);

/* Parses "accuracy=1.0", "offload=0.3", "bytes=200" (a budget per
 * sample, see ddnn_adaptive_bytes_to_offload) or "bytes-per-second=6000"
 * into @params' kind and value (and the costs). */
gboolean ddnn_adaptive_parse_target (const gchar *text, double base_bytes,
    double sent_bytes, DdnnAdaptiveParams *params, GError **error);

/* Fills @params with the defaults (no target, audit rate 0.02). */
void ddnn_adaptive_params_init (DdnnAdaptiveParams *params);

DdnnAdaptive *ddnn_adaptive_new (const DdnnAdaptiveParams *params);
void ddnn_adaptive_free (DdnnAdaptive *adaptive);

/* The decision for sample @sample of local entropy @entropy. */
DdnnDecision ddnn_adaptive_decide (
    DdnnAdaptive *adaptive, guint64 sample, double entropy);
/* The same, for a sample of stream time @seconds (NaN when unknown): a
 * byte budget per second turns into a share of samples by the rate the
 * times show. */
DdnnDecision ddnn_adaptive_decide_at (
    DdnnAdaptive *adaptive, guint64 sample, double entropy, double seconds);

/* What the next tier answered for a sample sent on (a NEXT or an
 * EXIT_AUDIT decision): whether the local answer agreed with it. */
void ddnn_adaptive_feedback (DdnnAdaptive *adaptive, double entropy,
    DdnnDecision decision, gboolean agree);
/* The next tier gave no answer for a sample sent on. */
void ddnn_adaptive_feedback_lost (DdnnAdaptive *adaptive);

double ddnn_adaptive_get_threshold (const DdnnAdaptive *adaptive);

typedef struct
{
  guint64 samples, exited, sent_on, audits, feedback, lost;
  double threshold;
  /* the target's figure at the current threshold, over the window: the
   * accuracy drop in points (accuracy target) or the fraction sent on
   * (offload), with a 95 % interval; NaN until feedback came */
  double estimate, low, high;
} DdnnAdaptiveStats;

void ddnn_adaptive_get_stats (
    const DdnnAdaptive *adaptive, DdnnAdaptiveStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DdnnAdaptive, ddnn_adaptive_free)

G_END_DECLS
