/* libddnn: an exit threshold that adapts, on a live stream, to a target.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-adaptive.h"

#include "ddnn-error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* entropy bins of the disagreement estimate, each a twentieth of the
 * window's samples */
#define N_BINS 20
/* feedback and samples needed before the threshold moves */
#define MIN_FEEDBACK 100
#define MIN_SAMPLES 100
/* the prior on a bin's disagreement rate: this many observations at the
 * rate of all feedback (pessimistic below the threshold, where the rate
 * is lower: a bin nobody audited is not trusted) */
#define PRIOR_WEIGHT 1.0
/* how much of the offload error over the window the next quantile
 * makes up */
#define OFFLOAD_GAIN 0.5

typedef struct
{
  float entropy;
  gboolean disagree;
} Feedback;

struct _DdnnAdaptive
{
  DdnnAdaptiveParams p;
  double threshold;

  /* the last window samples' entropies, whether each was sent on, and
   * their times (seconds, NaN when unknown), a ring */
  float *entropies;
  gboolean *sent;
  double *times;
  guint n_entropies, next_entropy;
  /* the last feedback, a ring */
  Feedback *feedback;
  guint n_feedback, next_feedback, feedback_size;

  guint since_update;
  DdnnAdaptiveStats stats;
};

void
ddnn_adaptive_params_init (DdnnAdaptiveParams *params)
{
  memset (params, 0, sizeof (*params));
  params->kind = DDNN_TARGET_NONE;
  params->audit_rate = 0.02;
  params->window = 2000;
  params->update_every = 50;
  params->initial_threshold = 0.5;
  params->z = 1.0;
  params->seed = 1;
}

gboolean
ddnn_adaptive_bytes_to_offload (double bytes, double base_bytes,
    double sent_bytes, double *fraction, GError **error)
{
  if (!(sent_bytes > 0) || bytes < base_bytes) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "a budget of %.1f bytes a sample is below what every sample costs "
        "(%.1f bytes of scores)",
        bytes, base_bytes);
    return FALSE;
  }
  *fraction = MIN (1.0, (bytes - base_bytes) / sent_bytes);
  return TRUE;
}

gboolean
ddnn_adaptive_parse_target (const gchar *text, double base_bytes,
    double sent_bytes, DdnnAdaptiveParams *params, GError **error)
{
  const gchar *eq = strchr (text, '=');
  gchar *end = NULL;
  double value;

  if (!eq)
    goto bad;
  value = g_ascii_strtod (eq + 1, &end);
  if (end == eq + 1 || *end || !isfinite (value) || value < 0)
    goto bad;
  if (g_str_has_prefix (text, "accuracy=")) {
    params->kind = DDNN_TARGET_ACCURACY;
    params->value = value;
  } else if (g_str_has_prefix (text, "offload=") && value <= 1) {
    params->kind = DDNN_TARGET_OFFLOAD;
    params->value = value;
  } else if (g_str_has_prefix (text, "bytes-per-second=")) {
    if (!(sent_bytes > 0)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
          "a byte budget needs what a sample costs");
      return FALSE;
    }
    params->kind = DDNN_TARGET_BYTES_PER_SECOND;
    params->value = value;
    params->base_bytes = base_bytes;
    params->sent_bytes = sent_bytes;
  } else if (g_str_has_prefix (text, "bytes=")) {
    params->kind = DDNN_TARGET_OFFLOAD;
    return ddnn_adaptive_bytes_to_offload (
        value, base_bytes, sent_bytes, &params->value, error);
  } else {
    goto bad;
  }
  return TRUE;

bad:
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
      "bad target '%s': give accuracy=POINTS (the largest accuracy drop), "
      "offload=FRACTION (0 to 1), bytes=BYTES (per sample) or "
      "bytes-per-second=BYTES",
      text);
  return FALSE;
}

DdnnAdaptive *
ddnn_adaptive_new (const DdnnAdaptiveParams *params)
{
  DdnnAdaptive *a = g_new0 (DdnnAdaptive, 1);

  a->p = *params;
  a->p.window = MAX (a->p.window, 100);
  /* an offload target needs no feedback, only the entropies of the last
   * samples: a shorter window follows a drift sooner */
  if (a->p.kind == DDNN_TARGET_OFFLOAD ||
      a->p.kind == DDNN_TARGET_BYTES_PER_SECOND)
    a->p.window = MAX (a->p.window / 8, 100);
  a->p.update_every = MAX (a->p.update_every, 1);
  a->p.audit_rate = CLAMP (a->p.audit_rate, 0.0, 0.5);
  /* an accuracy target learns before it trusts the local exit: until the
   * first update every sample goes on, and its feedback, unbiased over all
   * entropies, is what the first estimate stands on */
  a->threshold = params->kind == DDNN_TARGET_ACCURACY
      ? 0.0
      : params->initial_threshold;
  a->entropies = g_new (float, a->p.window);
  a->sent = g_new (gboolean, a->p.window);
  a->times = g_new (double, a->p.window);
  a->feedback_size = 2 * a->p.window;
  a->feedback = g_new (Feedback, a->feedback_size);
  a->stats.estimate = a->stats.low = a->stats.high = NAN;
  return a;
}

void
ddnn_adaptive_free (DdnnAdaptive *adaptive)
{
  if (!adaptive)
    return;
  g_free (adaptive->entropies);
  g_free (adaptive->sent);
  g_free (adaptive->times);
  g_free (adaptive->feedback);
  g_free (adaptive);
}

/* splitmix64: the audit draw of a sample, uniform in [0, 1). */
static double
audit_draw (guint32 seed, guint64 sample)
{
  guint64 z = sample + ((guint64) seed << 32) + 0x9E3779B97F4A7C15ull;

  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double) (z >> 11) * (1.0 / 9007199254740992.0);
}

static int
compare_floats (const void *x, const void *y)
{
  float a = *(const float *) x, b = *(const float *) y;

  return a < b ? -1 : a > b;
}

/* The bin of @entropy among @edges (N_BINS - 1 inner edges). */
static guint
bin_of (const float *edges, float entropy)
{
  guint lo = 0, hi = N_BINS - 1;

  while (lo < hi) {
    guint mid = (lo + hi) / 2;

    if (entropy < edges[mid])
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* Disagreement per bin: the bin's observations with a weak prior at the
 * rate of all feedback, then capped from above: p is non-decreasing in
 * entropy, so no bin's rate exceeds the next one's (a bin below the
 * threshold, seen only through audits, is bounded by the well-measured
 * bins above it, and takes their precision when it is).  @n receives each
 * bin's effective number of observations. */
static void
bin_rates (const DdnnAdaptive *a, const float *edges, double *rate, double *n)
{
  double d[N_BINS] = { 0 }, all_d = 0;
  guint b, i;

  for (b = 0; b < N_BINS; b++)
    n[b] = 0;
  for (i = 0; i < a->n_feedback; i++) {
    b = bin_of (edges, a->feedback[i].entropy);
    n[b] += 1;
    d[b] += a->feedback[i].disagree;
    all_d += a->feedback[i].disagree;
  }
  all_d = (all_d + 1) / (a->n_feedback + 2);
  for (b = 0; b < N_BINS; b++) {
    rate[b] = (d[b] + PRIOR_WEIGHT * all_d) / (n[b] + PRIOR_WEIGHT);
    n[b] += PRIOR_WEIGHT;
  }
  for (b = N_BINS - 1; b-- > 0;)
    if (rate[b] > rate[b + 1]) {
      rate[b] = rate[b + 1];
      n[b] = MAX (n[b], n[b + 1]);
    }
}

/* The accuracy target: the largest threshold whose estimated drop, plus z
 * standard errors, stays within the target (thresholds tried between the
 * window's sorted entropies, upwards, up to the first that breaks it);
 * then the estimate and its 95 % interval at that threshold. */
static void
update_accuracy (DdnnAdaptive *a, const float *sorted)
{
  guint n = a->n_entropies, b, k;
  float edges[N_BINS - 1];
  double rate[N_BINS], weight[N_BINS], mass[N_BINS] = { 0 };
  double drop = 0, budget = a->p.value / 100.0, var, se;

  for (b = 0; b + 1 < N_BINS; b++)
    edges[b] = sorted[(gsize) (b + 1) * n / N_BINS];
  bin_rates (a, edges, rate, weight);

  a->threshold = 0.5 * sorted[0];
  for (k = 0; k < n; k++) {
    double next_drop, next_var = 0;

    b = bin_of (edges, sorted[k]);
    next_drop = drop + rate[b];
    mass[b] += 1;
    for (guint c = 0; c < N_BINS; c++)
      next_var += mass[c] * mass[c] * rate[c] * (1 - rate[c]) / weight[c];
    if (next_drop / n + a->p.z * sqrt (next_var) / n > budget) {
      mass[b] -= 1;
      break;
    }
    drop = next_drop;
    a->threshold = k + 1 < n ? 0.5 * ((double) sorted[k] + sorted[k + 1])
                             : 1.0 + 1e-6;
  }
  for (var = 0, b = 0; b < N_BINS; b++)
    var += mass[b] * mass[b] * rate[b] * (1 - rate[b]) / weight[b];
  se = sqrt (var) / n;
  a->stats.estimate = 100 * drop / n;
  a->stats.low = MAX (0.0, 100 * (drop / n - 1.96 * se));
  a->stats.high = 100 * (drop / n + 1.96 * se);
}

/* The offload target: the threshold that sends on the target fraction,
 * the audits counted in. */
static void
update_offload (DdnnAdaptive *a, const float *sorted)
{
  guint n = a->n_entropies, on, i, sent_n = 0;
  double rate = a->p.audit_rate, f = a->p.value, goal, sent;

  if (a->p.kind == DDNN_TARGET_BYTES_PER_SECOND) {
    /* samples a second over the window, from the oldest time to the
     * newest; the budget a second is then a budget a sample */
    guint newest = (a->next_entropy + a->p.window - 1) % a->p.window;
    guint oldest = n < a->p.window ? 0 : a->next_entropy;
    double span = a->times[newest] - a->times[oldest], per_second;

    if (!(span > 0))
      return;
    per_second = (n - 1) / span;
    f = CLAMP ((a->p.value / per_second - a->p.base_bytes) / a->p.sent_bytes,
        0.0, 1.0);
  }

  /* what was sent on over the window, audits included: the estimate, and
   * the error that corrects the next quantile (entropies drifting up or
   * down move faster than a window's quantile follows) */
  for (i = 0; i < n; i++)
    sent_n += a->sent[i];
  sent = (double) sent_n / n;
  /* sent = on + rate (1 - on): the fraction of non-audits to send on */
  goal = rate >= 1 ? 0 : (f - rate) / (1 - rate);
  goal = CLAMP (goal + OFFLOAD_GAIN * (f - sent), 0.0, 1.0);
  on = (guint) floor (goal * n + 1e-9);
  a->threshold = on == 0 ? 1.0 + 1e-6
      : on >= n          ? 0.0
                         : 0.5 * ((double) sorted[n - on - 1] + sorted[n - on]);
  a->stats.estimate = sent;
  a->stats.low = MAX (0.0, sent - 1.96 * sqrt (sent * (1 - sent) / n));
  a->stats.high = MIN (1.0, sent + 1.96 * sqrt (sent * (1 - sent) / n));
}

static void
update (DdnnAdaptive *a)
{
  g_autofree float *sorted = NULL;

  if (a->p.kind == DDNN_TARGET_NONE || a->n_entropies < MIN_SAMPLES ||
      (a->p.kind == DDNN_TARGET_ACCURACY && a->n_feedback < MIN_FEEDBACK))
    return;
  sorted = g_memdup2 (a->entropies, a->n_entropies * sizeof (float));
  qsort (sorted, a->n_entropies, sizeof (float), compare_floats);
  if (a->p.kind == DDNN_TARGET_ACCURACY)
    update_accuracy (a, sorted);
  else
    update_offload (a, sorted);
  /* (a byte budget a second reports the share sent, as offload does) */
}

DdnnDecision
ddnn_adaptive_decide (DdnnAdaptive *a, guint64 sample, double entropy)
{
  return ddnn_adaptive_decide_at (a, sample, entropy, NAN);
}

DdnnDecision
ddnn_adaptive_decide_at (
    DdnnAdaptive *a, guint64 sample, double entropy, double seconds)
{
  DdnnDecision d;

  guint at = a->next_entropy;

  a->entropies[at] = (float) entropy;
  a->times[at] = seconds;
  a->next_entropy = (at + 1) % a->p.window;
  a->n_entropies = MIN (a->n_entropies + 1, a->p.window);
  a->stats.samples++;

  if (entropy >= a->threshold) {
    d = DDNN_DECIDE_NEXT;
    a->stats.sent_on++;
  } else if (a->p.kind != DDNN_TARGET_NONE &&
      audit_draw (a->p.seed, sample) < a->p.audit_rate) {
    d = DDNN_DECIDE_EXIT_AUDIT;
    a->stats.exited++;
    a->stats.audits++;
  } else {
    d = DDNN_DECIDE_EXIT;
    a->stats.exited++;
  }
  a->sent[at] = d != DDNN_DECIDE_EXIT;
  if (++a->since_update >= a->p.update_every) {
    a->since_update = 0;
    update (a);
  }
  return d;
}

void
ddnn_adaptive_feedback (
    DdnnAdaptive *a, double entropy, DdnnDecision decision, gboolean agree)
{
  g_return_if_fail (decision != DDNN_DECIDE_EXIT);
  a->feedback[a->next_feedback].entropy = (float) entropy;
  a->feedback[a->next_feedback].disagree = !agree;
  a->next_feedback = (a->next_feedback + 1) % a->feedback_size;
  a->n_feedback = MIN (a->n_feedback + 1, a->feedback_size);
  a->stats.feedback++;
}

void
ddnn_adaptive_feedback_lost (DdnnAdaptive *a)
{
  a->stats.lost++;
}

double
ddnn_adaptive_get_threshold (const DdnnAdaptive *a)
{
  return a->threshold;
}

void
ddnn_adaptive_get_stats (const DdnnAdaptive *a, DdnnAdaptiveStats *stats)
{
  *stats = a->stats;
  stats->threshold = a->threshold;
}
