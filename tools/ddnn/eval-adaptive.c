/* ddnn eval --adaptive: the adaptive exit replayed over a recorded stream,
 * beside the fixed threshold, window by window.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

/* the decisions' names below are indexed by them */
G_STATIC_ASSERT (DDNN_DECIDE_EXIT == 0 && DDNN_DECIDE_EXIT_AUDIT == 1 &&
    DDNN_DECIDE_NEXT == 2);

typedef struct
{
  guint n, right_adaptive, right_fixed, right_upper, sent_adaptive, sent_fixed,
      audits;
  double threshold; /* the adaptive threshold at the window's end */
} Window;

/* The figure: accuracy by window (adaptive, fixed, the next tier alone)
 * and the fraction sent on (adaptive, fixed), as an SVG of polylines. */
static gboolean
write_svg (const gchar *path, const Window *w, guint n_windows, guint size,
    const gchar *title, GError **error)
{
  const double W = 720, H = 400, L = 60, R = 20, T = 40, B = 50;
  const double pw = W - L - R, ph = H - T - B;
  const gchar *colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd",
    "#ff7f0e" };
  const gchar *names[] = { "accuracy, adaptive", "accuracy, fixed",
    "accuracy, next tier alone", "sent on, adaptive", "sent on, fixed" };
  GString *svg = g_string_new (NULL);
  gboolean ok;
  guint s, i;

  g_string_append_printf (svg,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
      "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"11\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"18\" font-size=\"14\">%s</text>\n",
      W, H, L, title);
  for (i = 0; i <= 10; i++) {
    double y = T + ph - ph * i / 10.0;

    g_string_append_printf (svg,
        "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/><text x=\"%.0f\" y=\"%.1f\" "
        "text-anchor=\"end\">%u %%</text>\n",
        L, L + pw, y, y, L - 6, y + 4, i * 10);
  }
  for (i = 0; i < n_windows; i++)
    if (n_windows <= 20 || i % (n_windows / 10) == 0)
      g_string_append_printf (svg,
          "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%u</text>\n",
          L + pw * (i + 0.5) / n_windows, T + ph + 16, i * size);
  g_string_append_printf (svg,
      "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">sample (windows of "
      "%u)</text>\n",
      L + pw / 2, H - 12, size);
  for (s = 0; s < 5; s++) {
    g_string_append_printf (svg,
        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
        "points=\"",
        colors[s], s == 4 || s == 1 ? " stroke-dasharray=\"5,3\"" : "");
    for (i = 0; i < n_windows; i++) {
      const Window *x = &w[i];
      double v = s == 0 ? (double) x->right_adaptive / x->n
          : s == 1      ? (double) x->right_fixed / x->n
          : s == 2      ? (double) x->right_upper / x->n
          : s == 3      ? (double) x->sent_adaptive / x->n
                        : (double) x->sent_fixed / x->n;

      g_string_append_printf (
          svg, "%.1f,%.1f ", L + pw * (i + 0.5) / n_windows, T + ph - ph * v);
    }
    g_string_append (svg, "\"/>\n");
    g_string_append_printf (svg,
        "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n",
        L + 10 + (s % 3) * 200.0, T + ph - 10 - (s / 3) * 14.0 - 0.0, colors[s],
        names[s]);
  }
  g_string_append (svg, "</svg>\n");
  ok = g_file_set_contents (path, svg->str, -1, error);
  g_string_free (svg, TRUE);
  return ok;
}

gboolean
ddnn_eval_adaptive (DdnnModel *model, const DdnnDataset *data, guint first,
    guint n, DdnnSampleResult *results, double threshold, double edge_threshold,
    const DdnnAdaptiveParams *params, guint window_size, gboolean json,
    const gchar *svg_path, const gchar *decisions_path, double fps,
    GError **error)
{
  static const gchar *names[] = { "exit", "audit", "next" };
  g_autoptr (GString) decisions = g_string_new ("sample,decision,threshold\n");
  g_autoptr (DdnnAdaptive) adaptive = NULL;
  DdnnAdaptiveParams p = *params;
  guint n_windows = (n + window_size - 1) / window_size, k, i;
  g_autofree Window *w = g_new0 (Window, n_windows);
  double worst_adaptive = 0, worst_fixed = 0;
  guint right_a = 0, right_f = 0, right_u = 0, sent_a = 0, sent_f = 0;
  DdnnAdaptiveStats stats;

  p.initial_threshold = threshold;
  adaptive = ddnn_adaptive_new (&p);
  for (k = 0; k < n; k++) {
    DdnnSampleResult *r = &results[k];
    Window *x = &w[k / window_size];
    guint label = data->labels[first + k], upper, fixed;
    gboolean fixed_sent;
    DdnnDecision d;

    /* what the tiers above the local exit answer, whatever the exit (no
     * entropy is below 0; a negative threshold would mean the model's) */
    ddnn_sample_result_decide (model, r, 0.0, edge_threshold);
    upper = r->answer;
    ddnn_sample_result_decide (model, r, threshold, edge_threshold);
    fixed = r->answer;
    fixed_sent = r->tier != DDNN_TIER_DEVICE;

    /* sample k is frame k of a recording at @fps */
    d = ddnn_adaptive_decide_at (
        adaptive, first + k, r->local_entropy, (first + k) / fps);
    if (d != DDNN_DECIDE_EXIT)
      ddnn_adaptive_feedback (
          adaptive, r->local_entropy, d, r->local_class == upper);

    x->n++;
    x->right_upper += upper == label;
    x->right_fixed += fixed == label;
    x->sent_fixed += fixed_sent;
    x->right_adaptive += (d == DDNN_DECIDE_NEXT ? upper : r->local_class) ==
        label;
    x->sent_adaptive += d != DDNN_DECIDE_EXIT;
    x->audits += d == DDNN_DECIDE_EXIT_AUDIT;
    x->threshold = ddnn_adaptive_get_threshold (adaptive);
    if (decisions_path)
      g_string_append_printf (
          decisions, "%u,%s,%.6f\n", first + k, names[d], x->threshold);
  }
  if (decisions_path &&
      !g_file_set_contents (decisions_path, decisions->str, -1, error))
    return FALSE;
  ddnn_adaptive_get_stats (adaptive, &stats);

  if (!json)
    g_print ("\nadaptive exit (%s %.3g, audit rate %.3g) against the fixed "
             "threshold %.3f, windows of %u samples\n"
             "%8s %10s %10s %10s %10s %10s %8s %9s\n",
        p.kind == DDNN_TARGET_ACCURACY      ? "accuracy drop at most"
            : p.kind == DDNN_TARGET_OFFLOAD ? "sent on at most"
                                            : "bytes a second at most",
        p.value, p.audit_rate, threshold, window_size, "from", "adaptive",
        "fixed", "next tier", "sent (a)", "sent (f)", "audits", "T (a)");
  for (i = 0; i < n_windows; i++) {
    Window *x = &w[i];
    double a = 100.0 * x->right_adaptive / x->n,
           f = 100.0 * x->right_fixed / x->n, u = 100.0 * x->right_upper / x->n;

    /* a short last window says little: the worst case is over whole ones */
    if (x->n == window_size) {
      worst_adaptive = MAX (worst_adaptive, u - a);
      worst_fixed = MAX (worst_fixed, u - f);
    }
    right_a += x->right_adaptive;
    right_f += x->right_fixed;
    right_u += x->right_upper;
    sent_a += x->sent_adaptive;
    sent_f += x->sent_fixed;
    if (!json)
      g_print ("%8u %9.1f%% %9.1f%% %9.1f%% %9.1f%% %9.1f%% %8u %9.3f\n",
          first + i * window_size, a, f, u, 100.0 * x->sent_adaptive / x->n,
          100.0 * x->sent_fixed / x->n, x->audits, x->threshold);
  }
  if (json) {
    g_autoptr (JsonBuilder) j = json_builder_new ();
    GHashTable *nulls = ddnn_cli_json_nulls_new ();

    json_builder_begin_object (j);
    ddnn_cli_json_string (
        j, "target", p.kind == DDNN_TARGET_ACCURACY ? "accuracy" : "offload");
    ddnn_cli_json_number (j, nulls, "value", p.value, -6);
    ddnn_cli_json_number (j, nulls, "audit_rate", p.audit_rate, -6);
    ddnn_cli_json_number (j, nulls, "fixed_threshold", threshold, 4);
    ddnn_cli_json_uint (j, "window", window_size);
    json_builder_set_member_name (j, "windows");
    json_builder_begin_array (j);
    for (i = 0; i < n_windows; i++) {
      Window *x = &w[i];

      json_builder_begin_object (j);
      ddnn_cli_json_uint (j, "first", first + i * window_size);
      ddnn_cli_json_uint (j, "samples", x->n);
      ddnn_cli_json_number (
          j, nulls, "adaptive_accuracy", (double) x->right_adaptive / x->n, 4);
      ddnn_cli_json_number (
          j, nulls, "fixed_accuracy", (double) x->right_fixed / x->n, 4);
      ddnn_cli_json_number (
          j, nulls, "upper_accuracy", (double) x->right_upper / x->n, 4);
      ddnn_cli_json_number (
          j, nulls, "adaptive_sent", (double) x->sent_adaptive / x->n, 4);
      ddnn_cli_json_number (
          j, nulls, "fixed_sent", (double) x->sent_fixed / x->n, 4);
      ddnn_cli_json_uint (j, "audits", x->audits);
      ddnn_cli_json_number (j, nulls, "threshold", x->threshold, 4);
      json_builder_end_object (j);
    }
    json_builder_end_array (j);
    ddnn_cli_json_number (
        j, nulls, "worst_window_drop_adaptive", worst_adaptive, 2);
    ddnn_cli_json_number (j, nulls, "worst_window_drop_fixed", worst_fixed, 2);
    ddnn_cli_json_number (
        j, nulls, "adaptive_accuracy", (double) right_a / n, 4);
    ddnn_cli_json_number (j, nulls, "fixed_accuracy", (double) right_f / n, 4);
    ddnn_cli_json_number (j, nulls, "upper_accuracy", (double) right_u / n, 4);
    ddnn_cli_json_number (j, nulls, "adaptive_sent", (double) sent_a / n, 4);
    ddnn_cli_json_number (j, nulls, "fixed_sent", (double) sent_f / n, 4);
    ddnn_cli_json_uint (j, "audits", stats.audits);
    ddnn_cli_json_end_nulls (j, nulls);
    json_builder_end_object (j);
    ddnn_cli_print_json (j);
  } else {
    g_print ("overall: adaptive %.1f %% sending %.1f %% (%lu audits), fixed "
             "%.1f %% sending %.1f %%, the next tier alone %.1f %%\n"
             "worst whole window below the next tier alone: adaptive %.2f "
             "points, fixed %.2f points\n"
             "the controller's estimate at the end: %.3g (95 %% interval "
             "%.3g to %.3g) at T = %.3f\n",
        100.0 * right_a / n, 100.0 * sent_a / n, (gulong) stats.audits,
        100.0 * right_f / n, 100.0 * sent_f / n, 100.0 * right_u / n,
        worst_adaptive, worst_fixed, stats.estimate, stats.low, stats.high,
        stats.threshold);
  }
  if (svg_path) {
    g_autofree gchar *title = g_strdup_printf ("%s: adaptive exit (%s %.3g)",
        ddnn_model_get_name (model),
        p.kind == DDNN_TARGET_ACCURACY ? "accuracy drop" : "offload", p.value);

    if (!write_svg (svg_path, w, n_windows, window_size, title, error))
      return FALSE;
    if (!json)
      g_print ("wrote %s\n", svg_path);
  }
  return TRUE;
}
