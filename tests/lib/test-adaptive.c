/* The adaptive exit controller, against figures worked out by hand:
 * - offload 0.3 over the 500 entropies k/500, after half went on at the
 *   initial 0.5: the quantile aims at 0.3 + 0.5 (0.3 - 0.5) = 0.2, so the
 *   threshold lies between the 400th and 401st smallest: 0.799; with
 *   audits the non-audits' share is (0.3 - 0.1) / 0.9 before the same
 *   correction; a steady stream then settles within 2 points of 0.3;
 * - an accuracy target of 1 point when the local answer disagrees exactly
 *   above entropy 0.5 (entropies uniform): the drop at T > 0.5 is T - 0.5,
 *   so the threshold lands below 0.51, and (bins below the threshold are
 *   estimated from audits with a pessimistic prior) not far below 0.5;
 * - audits are a function of the sample number (the same decision twice),
 *   at the rate asked (binomial bounds); none without a target;
 * - lost feedback is counted and teaches nothing;
 * - targets parse, and bad ones are refused naming the forms;
 * - drift leaves samples before its start alone and is deterministic.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ddnn.h>
#include <math.h>
#include <string.h>

/* The entropies k/n, k = 0..n-1, in a fixed shuffled order. */
static double
shuffled (guint i, guint n)
{
  return (double) ((i * 7919u) % n) / n;
}

static void
test_offload_quantile (void)
{
  DdnnAdaptiveParams p;
  g_autoptr (DdnnAdaptive) a = NULL;
  DdnnAdaptiveStats s;
  double sent, goal, t;
  guint i, on;

  ddnn_adaptive_params_init (&p);
  p.kind = DDNN_TARGET_OFFLOAD;
  p.value = 0.3;
  p.audit_rate = 0.0;
  p.window = 4000; /* an offload target keeps an eighth: 500 */
  p.update_every = 500;
  p.initial_threshold = 0.5;
  a = ddnn_adaptive_new (&p);
  for (i = 0; i < 500; i++)
    ddnn_adaptive_decide (a, i, shuffled (i, 500));
  /* at 0.5, half went on: the quantile aims at 0.3 + 0.5 (0.3 - 0.5) =
   * 0.2, 100 of 500, between the 400th and 401st smallest entropies */
  g_assert_cmpfloat_with_epsilon (ddnn_adaptive_get_threshold (a), 0.799, 1e-6);
  ddnn_adaptive_get_stats (a, &s);
  g_assert_cmpfloat_with_epsilon (s.estimate, 0.5, 1e-9);
  g_clear_pointer (&a, ddnn_adaptive_free);

  /* with audits: of the non-audits, (0.3 - 0.1) / 0.9 go on, plus half
   * the error over what went on, audits included */
  p.audit_rate = 0.1;
  a = ddnn_adaptive_new (&p);
  for (i = 0; i < 500; i++)
    ddnn_adaptive_decide (a, i, shuffled (i, 500));
  ddnn_adaptive_get_stats (a, &s);
  sent = (double) (s.sent_on + s.audits) / 500;
  g_assert_cmpuint (s.sent_on, ==, 250);
  g_assert_cmpuint (s.audits, >, 0);
  goal = (0.3 - 0.1) / 0.9 + 0.5 * (0.3 - sent);
  on = (guint) floor (goal * 500 + 1e-9);
  t = 0.5 * ((499.0 - on) / 500 + (500.0 - on) / 500);
  g_assert_cmpfloat_with_epsilon (ddnn_adaptive_get_threshold (a), t, 1e-6);

  /* a steady stream settles on the target: 20 000 more samples */
  for (i = 500; i < 20500; i++)
    ddnn_adaptive_decide (a, i, shuffled (i, 500));
  ddnn_adaptive_get_stats (a, &s);
  g_assert_cmpfloat (fabs (s.estimate - 0.3), <, 0.02);
}

/* 3000 bytes a second at 10 samples a second is 300 a sample; at 100
 * always and 400 more sent on, half may go on: after half went on at 0.5,
 * the quantile aims at 0.5, between the 250th and 251st smallest of the
 * 500 entropies k/500: 0.499. */
static void
test_bytes_per_second (void)
{
  DdnnAdaptiveParams p;
  g_autoptr (DdnnAdaptive) a = NULL;
  guint i;

  ddnn_adaptive_params_init (&p);
  p.kind = DDNN_TARGET_BYTES_PER_SECOND;
  p.value = 3000;
  p.base_bytes = 100;
  p.sent_bytes = 400;
  p.audit_rate = 0.0;
  p.window = 4000;
  p.update_every = 500;
  p.initial_threshold = 0.5;
  a = ddnn_adaptive_new (&p);
  for (i = 0; i < 500; i++)
    ddnn_adaptive_decide_at (a, i, shuffled (i, 500), i / 10.0);
  g_assert_cmpfloat_with_epsilon (ddnn_adaptive_get_threshold (a), 0.499, 1e-6);
  /* without times the rate is unknown: the threshold stays */
  g_clear_pointer (&a, ddnn_adaptive_free);
  a = ddnn_adaptive_new (&p);
  for (i = 0; i < 500; i++)
    ddnn_adaptive_decide (a, i, shuffled (i, 500));
  g_assert_cmpfloat (ddnn_adaptive_get_threshold (a), ==, 0.5);
}

static void
test_accuracy_target (void)
{
  DdnnAdaptiveParams p;
  g_autoptr (DdnnAdaptive) a = NULL;
  DdnnAdaptiveStats s;
  guint i;

  ddnn_adaptive_params_init (&p);
  p.kind = DDNN_TARGET_ACCURACY;
  p.value = 1.0;
  p.audit_rate = 0.05;
  a = ddnn_adaptive_new (&p);
  /* it learns before it trusts: everything goes on at first */
  g_assert_cmpint (ddnn_adaptive_decide (a, 0, 0.01), ==, DDNN_DECIDE_NEXT);
  ddnn_adaptive_feedback (a, 0.01, DDNN_DECIDE_NEXT, TRUE);
  for (i = 1; i < 20000; i++) {
    double e = shuffled (i, 1000);
    DdnnDecision d = ddnn_adaptive_decide (a, i, e);

    if (d != DDNN_DECIDE_EXIT)
      ddnn_adaptive_feedback (a, e, d, e <= 0.5);
  }
  ddnn_adaptive_get_stats (a, &s);
  g_assert_cmpfloat (s.threshold, >, 0.45);
  g_assert_cmpfloat (s.threshold, <=, 0.51);
  /* the estimate at that threshold is within the target, and errs on the
   * safe side: the true drop, T - 0.5 (0 below 0.5) in points, is no more
   * than the estimate (bins seen through audits alone carry a prior at the
   * rate of all feedback, so the estimate is high, not low) */
  g_assert_cmpfloat (s.estimate, <=, 1.0);
  g_assert_cmpfloat (100 * MAX (0.0, s.threshold - 0.5), <=, s.estimate);
  g_assert_cmpfloat (s.low, <=, s.estimate);
  g_assert_cmpfloat (s.high, >=, s.estimate);
  g_assert_cmpuint (s.samples, ==, 20000);
  g_assert_cmpuint (s.exited + s.sent_on, ==, 20000);
  g_assert_cmpuint (s.feedback, ==, s.sent_on + s.audits);
}

static void
test_audits (void)
{
  DdnnAdaptiveParams p;
  g_autoptr (DdnnAdaptive) a = NULL, b = NULL;
  guint i, audits = 0, n = 100000;
  double sd = sqrt (n * 0.02 * 0.98);

  ddnn_adaptive_params_init (&p);
  p.kind = DDNN_TARGET_OFFLOAD;
  p.value = 0.0; /* everything exits: every sample may be audited */
  p.audit_rate = 0.02;
  a = ddnn_adaptive_new (&p);
  b = ddnn_adaptive_new (&p);
  for (i = 0; i < n; i++) {
    DdnnDecision d = ddnn_adaptive_decide (a, i, 0.1);

    /* the same sample, the same draw, whatever came before */
    g_assert_cmpint (d, ==, ddnn_adaptive_decide (b, i, 0.1));
    audits += d == DDNN_DECIDE_EXIT_AUDIT;
  }
  /* audits are 2 % of the local exits, to within 4 binomial deviations
   * (everything exits once the first 100 samples are seen) */
  g_assert_cmpfloat (fabs (audits - 0.02 * n), <, 4 * sd + 0.02 * 100);

  /* no target, no audits */
  p.kind = DDNN_TARGET_NONE;
  g_clear_pointer (&a, ddnn_adaptive_free);
  a = ddnn_adaptive_new (&p);
  for (i = 0; i < 1000; i++)
    g_assert_cmpint (ddnn_adaptive_decide (a, i, 0.1), ==, DDNN_DECIDE_EXIT);
}

static void
test_lost_feedback (void)
{
  DdnnAdaptiveParams p;
  g_autoptr (DdnnAdaptive) a = NULL;
  DdnnAdaptiveStats s;
  guint i;

  ddnn_adaptive_params_init (&p);
  p.kind = DDNN_TARGET_ACCURACY;
  p.value = 1.0;
  a = ddnn_adaptive_new (&p);
  for (i = 0; i < 5000; i++) {
    ddnn_adaptive_decide (a, i, shuffled (i, 1000));
    ddnn_adaptive_feedback_lost (a);
  }
  ddnn_adaptive_get_stats (a, &s);
  /* no feedback came: it still sends everything, and does not pretend */
  g_assert_cmpfloat (s.threshold, ==, 0.0);
  g_assert_cmpuint (s.lost, ==, 5000);
  g_assert_cmpuint (s.feedback, ==, 0);
  g_assert_true (isnan (s.estimate));
}

static void
test_parse_target (void)
{
  DdnnAdaptiveParams p;
  GError *error = NULL;

  ddnn_adaptive_params_init (&p);
  g_assert_true (ddnn_adaptive_parse_target ("accuracy=1.5", 0, 0, &p, NULL));
  g_assert_cmpint (p.kind, ==, DDNN_TARGET_ACCURACY);
  g_assert_cmpfloat (p.value, ==, 1.5);
  g_assert_true (ddnn_adaptive_parse_target ("offload=0.25", 0, 0, &p, NULL));
  g_assert_cmpint (p.kind, ==, DDNN_TARGET_OFFLOAD);
  g_assert_cmpfloat (p.value, ==, 0.25);
  /* 200 bytes a sample when each costs 100 and one sent on 400 more: a
   * quarter may go on; under 100, none can be kept to */
  g_assert_true (ddnn_adaptive_parse_target ("bytes=200", 100, 400, &p, NULL));
  g_assert_cmpint (p.kind, ==, DDNN_TARGET_OFFLOAD);
  g_assert_cmpfloat (p.value, ==, 0.25);
  g_assert_true (ddnn_adaptive_parse_target ("bytes=900", 100, 400, &p, NULL));
  g_assert_cmpfloat (p.value, ==, 1.0);
  g_assert_false (
      ddnn_adaptive_parse_target ("bytes=50", 100, 400, &p, &error));
  g_assert_nonnull (strstr (error->message, "below what every sample costs"));
  g_clear_error (&error);
  for (const gchar *const *bad =
           (const gchar *const[]){ "accuracy", "accuracy=", "accuracy=-1",
               "offload=1.5", "speed=3", "accuracy=1x", NULL };
       *bad; bad++) {
    g_assert_false (ddnn_adaptive_parse_target (*bad, 0, 800, &p, &error));
    g_assert_nonnull (strstr (error->message, "offload=FRACTION"));
    g_clear_error (&error);
  }
}

static void
test_drift (void)
{
  guint n = 40, views = 2, size = 8 * 8;
  g_autofree guint8 *a = g_malloc ((gsize) n * views * size);
  g_autofree guint8 *b = NULL;
  g_autofree guint8 *orig = NULL;
  DdnnDrift kinds[] = { DDNN_DRIFT_NOISE, DDNN_DRIFT_CONTRAST,
    DDNN_DRIFT_OCCLUSION };
  guint k, i;

  for (i = 0; i < n * views * size; i++)
    a[i] = (guint8) (100 + (i * 37) % 100);
  orig = g_memdup2 (a, (gsize) n * views * size);
  for (k = 0; k < G_N_ELEMENTS (kinds); k++) {
    memcpy (a, orig, (gsize) n * views * size);
    ddnn_dataset_drift (a, n, views, 8, 8, 1, kinds[k], 20, 3);
    b = g_memdup2 (orig, (gsize) n * views * size);
    ddnn_dataset_drift (b, n, views, 8, 8, 1, kinds[k], 20, 3);
    /* deterministic, and nothing before sample 20 (nor sample 20 itself,
     * at severity 0) changes; the last sample does */
    g_assert_cmpmem (a, (gsize) n * views * size, b, (gsize) n * views * size);
    g_assert_cmpmem (
        a, (gsize) 21 * views * size, orig, (gsize) 21 * views * size);
    g_assert_true (
        memcmp (a + (gsize) (n - 1) * views * size,
            orig + (gsize) (n - 1) * views * size, (gsize) views * size) != 0);
    g_clear_pointer (&b, g_free);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/adaptive/offload-quantile", test_offload_quantile);
  g_test_add_func ("/adaptive/bytes-per-second", test_bytes_per_second);
  g_test_add_func ("/adaptive/accuracy-target", test_accuracy_target);
  g_test_add_func ("/adaptive/audits", test_audits);
  g_test_add_func ("/adaptive/lost-feedback", test_lost_feedback);
  g_test_add_func ("/adaptive/parse-target", test_parse_target);
  g_test_add_func ("/adaptive/drift", test_drift);
  return g_test_run ();
}
