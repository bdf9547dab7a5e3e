/* ddnn eval: accuracy by exit, the share each tier answers, bytes, sweeps.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

typedef struct
{
  guint samples;
  guint device_right[DDNN_MAX_VIEWS], device_seen[DDNN_MAX_VIEWS];
  guint local_right, edge_right, cloud_right, overall_right, local_exits;
  guint edge_exits;
  guint64 bytes, cloud_bytes;
  DdnnSampleResult *results; /* one per sample, for sweeps */
} EvalStats;

static void
eval_stats_clear (EvalStats *s)
{
  g_free (s->results);
  memset (s, 0, sizeof (*s));
}

/* Runs the test split with the views in @alive only. */
static gboolean
evaluate (DdnnModel *model, const DdnnDataset *data, guint first, guint n,
    guint64 alive, double threshold, double edge_threshold, EvalStats *stats,
    GError **error)
{
  g_autoptr (DdnnRunner) runner = ddnn_runner_new (model);
  guint n_views = ddnn_model_get_n_views (model), k, v;
  gsize stride = (gsize) data->width * data->channels;

  memset (stats, 0, sizeof (*stats));
  stats->results = g_new0 (DdnnSampleResult, n);
  for (k = 0; k < n; k++) {
    const guint8 *views[DDNN_MAX_VIEWS];
    DdnnSampleResult *r = &stats->results[k];
    guint label = data->labels[first + k];

    for (v = 0; v < n_views; v++)
      views[v] = (alive >> v) & 1 ? ddnn_dataset_view (data, first + k, v)
                                  : NULL;
    if (!ddnn_runner_run (
            runner, views, stride, threshold, edge_threshold, r, error)) {
      g_prefix_error (error, "sample %u: ", first + k);
      return FALSE;
    }
    for (v = 0; v < n_views; v++)
      if ((alive >> v) & 1) {
        stats->device_seen[v]++;
        stats->device_right[v] += r->device_class[v] == label;
      }
    stats->local_right += r->local_class == label;
    stats->edge_right += r->has_edge && r->edge_class == label;
    stats->cloud_right += r->cloud_class == label;
    stats->overall_right += r->answer == label;
    stats->local_exits += r->tier == DDNN_TIER_DEVICE;
    stats->edge_exits += r->tier == DDNN_TIER_EDGE;
    stats->bytes += r->device_bytes;
    stats->cloud_bytes += r->cloud_bytes;
  }
  stats->samples = n;
  return TRUE;
}

static double
pct (guint right, guint total)
{
  return total ? 100.0 * right / total : 0.0;
}

static guint64
parse_views (const gchar *list, guint n_views, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (list, ",", -1);
  guint64 mask = 0;
  guint i;

  for (i = 0; parts[i]; i++) {
    gchar *end;
    guint64 v = g_ascii_strtoull (g_strstrip (parts[i]), &end, 10);

    if (!*parts[i] || *end || v >= n_views) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
          "'%s' is not a camera number from 0 to %u", parts[i], n_views - 1);
      return 0;
    }
    mask |= G_GUINT64_CONSTANT (1) << v;
  }
  return mask;
}

static gboolean
write_sweep (const gchar *dir, const double *t, const double *acc,
    const double *exits, const double *edge_exits, const double *bytes,
    const double *cloud_bytes, guint n, double raw, const gchar *title,
    GError **error)
{
  g_autofree gchar *csv_path = g_build_filename (dir, "sweep.csv", NULL);
  g_autofree gchar *svg_path = g_build_filename (dir, "sweep.svg", NULL);
  GString *csv = g_string_new ("threshold,overall_accuracy,local_exit_fraction,"
                               "bytes_per_sample,raw_bytes_per_sample,"
                               "edge_exit_fraction,cloud_bytes_per_sample\n");
  GString *svg = g_string_new (NULL);
  const double W = 640, H = 420, L = 60, R = 70, T = 60, B = 50;
  double pw = W - L - R, ph = H - T - B, max_bytes = 1;
  const gchar *colors[3] = { "#1f77b4", "#2ca02c", "#d62728" };
  guint i, s;
  gboolean ok;

  for (i = 0; i < n; i++) {
    g_string_append_printf (csv, "%.2f,%.4f,%.4f,%.1f,%.0f,%.4f,%.1f\n", t[i],
        acc[i] / 100, exits[i] / 100, bytes[i], raw, edge_exits[i] / 100,
        cloud_bytes[i]);
    max_bytes = MAX (max_bytes, bytes[i]);
  }
  max_bytes *= 1.1;
  g_string_append_printf (svg,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
      "height=\"%.0f\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">%s"
      "</text>\n",
      W, H, W / 2, title);
  for (i = 0; i <= 10; i++) {
    double y = T + ph - ph * i / 10, x = L + pw * i / 10;

    g_string_append_printf (svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%u %%</text>"
        "<text x=\"%.1f\" y=\"%.1f\">%.0f B</text>"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n",
        L, y, L + pw, y, L - 6, y + 4, i * 10, L + pw + 6, y + 4,
        max_bytes * i / 10, x, T + ph + 18, i / 10.0);
  }
  g_string_append_printf (svg,
      "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
      "fill=\"none\" "
      "stroke=\"black\"/>\n<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">"
      "exit threshold T (normalized entropy)</text>\n",
      L, T, pw, ph, L + pw / 2, H - 10);
  for (s = 0; s < 3; s++) {
    const double *series = s == 0 ? acc : s == 1 ? exits : bytes;
    double scale = s == 2 ? 100.0 / max_bytes : 1.0;

    g_string_append_printf (svg,
        "<polyline fill=\"none\" stroke=\"%s\" "
        "stroke-width=\"2\" points=\"",
        colors[s]);
    for (i = 0; i < n; i++)
      g_string_append_printf (svg, "%.1f,%.1f ", L + pw * t[i],
          T + ph - ph * series[i] * scale / 100);
    g_string_append (svg, "\"/>\n");
  }
  g_string_append_printf (svg,
      "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">overall accuracy (left)</text>"
      "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">exits locally (left)</text>"
      "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">bytes per sample (right; raw "
      "%.0f B)</text>\n</svg>\n",
      L, T - 12.0, colors[0], L + 175, T - 12.0, colors[1], L + 310, T - 12.0,
      colors[2], raw);
  ok = g_file_set_contents (csv_path, csv->str, -1, error) &&
      g_file_set_contents (svg_path, svg->str, -1, error);
  if (ok)
    g_print ("wrote %s and %s\n", csv_path, svg_path);
  g_string_free (csv, TRUE);
  g_string_free (svg, TRUE);
  return ok;
}

int
cmd_eval (int argc, char **argv)
{
  gchar *model_path = NULL, *data_dir = NULL, *fail_list = NULL;
  gchar *out_dir = NULL, *split = NULL, *adaptive = NULL, *adaptive_svg = NULL;
  gchar *decisions = NULL;
  gdouble threshold = -1.0, edge_threshold = -1.0, audit_rate = 0.02;
  gdouble fps = 30.0;
  gint limit = 0, views_k = 0, skip = 0, window = 1000;
  gboolean json = FALSE, sweep = FALSE, faults = FALSE, scaling = FALSE;
  gboolean remap = FALSE;
  GOptionEntry entries[] = { { "model", 'm', 0, G_OPTION_ARG_FILENAME,
                                 &model_path, "Model file", "MODEL" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
        "Data set folder (its test.safetensors is used)", "DIR" },
    { "threshold", 't', 0, G_OPTION_ARG_DOUBLE, &threshold,
        "Local exit threshold (default: the model's)", "T" },
    { "edge-threshold", 0, 0, G_OPTION_ARG_DOUBLE, &edge_threshold,
        "Edge exit threshold (default: the model's)", "T" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { "sweep", 0, 0, G_OPTION_ARG_NONE, &sweep,
        "Also sweep T from 0 to 1 in steps of 0.05 (table, CSV and SVG)",
        NULL },
    { "fail", 'f', 0, G_OPTION_ARG_STRING, &fail_list,
        "Cameras that are dead: their views are missing", "V[,V...]" },
    { "faults", 0, 0, G_OPTION_ARG_NONE, &faults,
        "Also fail each single camera in turn (a fault table)", NULL },
    { "views", 'k', 0, G_OPTION_ARG_INT, &views_k,
        "Use only the first K cameras", "K" },
    { "scaling", 0, 0, G_OPTION_ARG_NONE, &scaling,
        "Also use the first K cameras for K = 1 to all (a scaling table)",
        NULL },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit,
        "Evaluate the first N test samples only", "N" },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split,
        "Which split to evaluate: test (default) or train", "SPLIT" },
    { "skip", 0, 0, G_OPTION_ARG_INT, &skip,
        "Skip the first N samples (with --split train --skip 55000: the "
        "samples ddnn train holds out by default)",
        "N" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
        "Folder for sweep.csv and sweep.svg (default .)", "DIR" },
    { "remap", 0, 0, G_OPTION_ARG_NONE, &remap, DDNN_CLI_REMAP_HELP, NULL },
    { "adaptive", 0, 0, G_OPTION_ARG_STRING, &adaptive,
        "Also replay the adaptive local exit with this target over the "
        "samples in order: accuracy=POINTS (the largest share of answers, in "
        "points, that may differ from the next "
        "tier's answers), offload=FRACTION, bytes=BYTES (per sample) or "
        "bytes-per-second=BYTES; with --json its windows are a second JSON "
        "line",
        "TARGET" },
    { "audit-rate", 0, 0, G_OPTION_ARG_DOUBLE, &audit_rate,
        "--adaptive: the share of local exits also sent on for feedback "
        "(default 0.02)",
        "R" },
    { "window", 0, 0, G_OPTION_ARG_INT, &window,
        "--adaptive: samples per window of the table (default 1000)", "N" },
    { "adaptive-svg", 0, 0, G_OPTION_ARG_FILENAME, &adaptive_svg,
        "--adaptive: write the windows' figure to this SVG file", "FILE" },
    { "fps", 0, 0, G_OPTION_ARG_DOUBLE, &fps,
        "--adaptive: the samples' rate, for bytes-per-second (default 30, "
        "as the recorded videos)",
        "F" },
    { "decisions", 0, 0, G_OPTION_ARG_FILENAME, &decisions,
        "--adaptive: write each sample's decision (exit, audit or next) and "
        "the threshold after it to this CSV file",
        "FILE" },
    { NULL } };
  g_autoptr (DdnnModel) model = NULL;
  g_autoptr (DdnnDataset) data = NULL;
  g_autofree gchar *test_path = NULL;
  EvalStats stats = { 0 };
  GError *error = NULL;
  guint n_views, n, v;
  guint64 alive;
  double raw, bytes;
  int status;

  status = ddnn_cli_parse_options ("eval", "--model MODEL --data DIR",
      "Evaluate a model on a data set's test split as a deployment would run "
      "it: the accuracy of each device exit, the fused local exit and the "
      "cloud exit, the overall accuracy at the exit threshold, the share of "
      "samples that exit locally, and the bytes the devices send per sample.",
      "Bytes follow the paper's cost model: each camera that takes part "
      "sends 4 C bytes of float32 scores, plus its features when the sample "
      "does not exit locally.  A device's accuracy is how often it alone "
      "names the sample's class.",
      entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!model_path || !data_dir || argc != 1 || limit < 0 || views_k < 0) {
    g_printerr ("ddnn eval: needs --model and --data (see --help)\n");
    goto out;
  }
  status = 1;
  /* one sample at a time: BLAS threads would only wait on each other */
  ddnn_blas_set_threads (1);
  if (!(model = ddnn_model_load (model_path, &error))) {
    ddnn_cli_fail (error);
    goto out;
  }
  if (split && strcmp (split, "test") != 0 && strcmp (split, "train") != 0) {
    g_printerr ("ddnn eval: --split is test or train\n");
    status = 2;
    goto out;
  }
  test_path = g_build_filename (data_dir,
      split && strcmp (split, "train") == 0 ? "train.safetensors"
                                            : "test.safetensors",
      NULL);
  if (!(data = ddnn_dataset_open (test_path, &error)) ||
      !ddnn_cli_match_classes (data, model, remap, &error)) {
    g_prefix_error (&error, "%s: ", test_path);
    ddnn_cli_fail (error);
    goto out;
  }
  n_views = ddnn_model_get_n_views (model);
  if (data->n_views != n_views ||
      data->width != ddnn_model_get_input (model)->width ||
      data->height != ddnn_model_get_input (model)->height ||
      data->channels != ddnn_model_get_input (model)->channels) {
    g_printerr ("ddnn eval: the data set's %u views of %ux%ux%u do not fit "
                "the model\n",
        data->n_views, data->width, data->height, data->channels);
    goto out;
  }
  if (skip < 0 || (guint) skip >= data->n_samples) {
    g_printerr (
        "ddnn eval: --skip %d leaves no sample of %u\n", skip, data->n_samples);
    goto out;
  }
  n = data->n_samples - skip;
  if (limit > 0)
    n = MIN ((guint) limit, n);
  threshold = ddnn_model_resolve_threshold (model, DDNN_TIER_DEVICE, threshold);
  edge_threshold = ddnn_model_resolve_threshold (
      model, DDNN_TIER_EDGE, edge_threshold);
  alive = n_views == 64 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << n_views) - 1;
  if (views_k > 0) {
    if ((guint) views_k > n_views) {
      g_printerr ("ddnn eval: --views %d, but the model has %u cameras\n",
          views_k, n_views);
      goto out;
    }
    alive &= (G_GUINT64_CONSTANT (1) << views_k) - 1;
  }
  if (fail_list) {
    guint64 dead = parse_views (fail_list, n_views, &error);

    if (!dead) {
      ddnn_cli_fail (error);
      goto out;
    }
    alive &= ~dead;
  }
  if (!alive) {
    g_printerr ("ddnn eval: no camera is left alive\n");
    goto out;
  }
  if (!evaluate (model, data, skip, n, alive, threshold, edge_threshold, &stats,
          &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  raw = (double) __builtin_popcountll (alive) * data->width * data->height *
      data->channels;
  bytes = (double) stats.bytes / n;

  if (json) {
    g_autoptr (JsonBuilder) j = json_builder_new ();
    GHashTable *nulls = ddnn_cli_json_nulls_new ();
    guint cloud_n = n - stats.local_exits - stats.edge_exits;

    json_builder_begin_object (j);
    ddnn_cli_json_string (j, "model_id", ddnn_model_get_id (model));
    ddnn_cli_json_uint (j, "samples", n);
    ddnn_cli_json_number (j, nulls, "threshold", threshold, 4);
    json_builder_set_member_name (j, "views");
    json_builder_begin_array (j);
    for (v = 0; v < n_views; v++)
      if ((alive >> v) & 1)
        json_builder_add_int_value (j, v);
    json_builder_end_array (j);
    json_builder_set_member_name (j, "device_accuracy");
    json_builder_begin_array (j);
    for (v = 0; v < n_views; v++) {
      if ((alive >> v) & 1)
        ddnn_cli_json_number (j, nulls, NULL,
            pct (stats.device_right[v], stats.device_seen[v]) / 100, 4);
      else
        json_builder_add_null_value (j);
    }
    json_builder_end_array (j);
    ddnn_cli_json_number (
        j, nulls, "local_accuracy", pct (stats.local_right, n) / 100, 4);
    ddnn_cli_json_number (
        j, nulls, "cloud_accuracy", pct (stats.cloud_right, n) / 100, 4);
    ddnn_cli_json_number (
        j, nulls, "overall_accuracy", pct (stats.overall_right, n) / 100, 4);
    ddnn_cli_json_number (
        j, nulls, "local_exit_fraction", pct (stats.local_exits, n) / 100, 4);
    ddnn_cli_json_number (j, nulls, "bytes_per_sample", bytes, 1);
    ddnn_cli_json_number (j, nulls, "raw_bytes_per_sample", raw, 0);
    ddnn_cli_json_number (j, nulls, "reduction", raw / MAX (bytes, 1e-9), 2);
    ddnn_cli_json_number (
        j, nulls, "cloud_bytes_per_sample", (double) stats.cloud_bytes / n, 1);
    if (ddnn_model_get_edge_section (model)) {
      ddnn_cli_json_number (j, nulls, "edge_threshold", edge_threshold, 4);
      ddnn_cli_json_number (
          j, nulls, "edge_accuracy", pct (stats.edge_right, n) / 100, 4);
      ddnn_cli_json_number (
          j, nulls, "edge_exit_fraction", pct (stats.edge_exits, n) / 100, 4);
      ddnn_cli_json_number (
          j, nulls, "cloud_exit_fraction", pct (cloud_n, n) / 100, 4);
    }
    ddnn_cli_json_end_nulls (j, nulls);
    json_builder_end_object (j);
    ddnn_cli_print_json (j);
  } else {
    g_print ("model %s (id %.16s) on %s: %u samples, local exit when "
             "entropy < %.2f\n",
        ddnn_model_get_name (model), ddnn_model_get_id (model), test_path, n,
        threshold);
    for (v = 0; v < n_views; v++)
      if ((alive >> v) & 1)
        g_print ("  device %-2u exit        %5.1f %%\n", v,
            pct (stats.device_right[v], stats.device_seen[v]));
      else
        g_print ("  device %-2u             dead\n", v);
    g_print ("  local exit (fused)    %5.1f %%\n", pct (stats.local_right, n));
    if (ddnn_model_get_edge_section (model))
      g_print ("  edge exit             %5.1f %%\n", pct (stats.edge_right, n));
    g_print ("  cloud exit            %5.1f %%\n", pct (stats.cloud_right, n));
    g_print ("  overall at T = %.2f   %5.1f %%, %.1f %% of samples exit "
             "locally\n",
        threshold, pct (stats.overall_right, n), pct (stats.local_exits, n));
    if (ddnn_model_get_edge_section (model))
      g_print ("  answered              %.1f %% locally, %.1f %% at the edge "
               "(T = %.2f), %.1f %% in the cloud\n",
          pct (stats.local_exits, n), pct (stats.edge_exits, n), edge_threshold,
          pct (n - stats.local_exits - stats.edge_exits, n));
    g_print ("  bytes per sample      %.1f B from the devices; raw offload "
             "%.0f B: %.1fx fewer\n",
        bytes, raw, raw / MAX (bytes, 1e-9));
    g_print ("  bytes to the cloud    %.1f B per sample (%s features of the "
             "samples the cloud answers)\n",
        (double) stats.cloud_bytes / n,
        ddnn_model_get_edge_section (model) ? "the edge's" : "the cameras'");
  }

  if (sweep) {
    double t[21], acc[21], exits[21], b[21], edge_exits[21], cloud_b[21];
    g_autofree gchar *title = g_strdup_printf (
        "%s: threshold sweep", ddnn_model_get_name (model));
    guint i, k;

    if (ddnn_model_get_edge_section (model))
      g_print (
          "\nlocal threshold T; the edge's stays at %.3f\n", edge_threshold);
    g_print ("\n%6s %12s %11s %10s %12s %8s %12s\n", "T", "exit local",
        "exit edge", "overall", "bytes/sample", "x fewer", "to cloud");
    for (i = 0; i <= 20; i++) {
      guint right = 0, exits_n = 0, edge_n = 0;
      guint64 total = 0, to_cloud = 0;

      t[i] = i * 0.05;
      for (k = 0; k < n; k++) {
        DdnnSampleResult *r = &stats.results[k];

        ddnn_sample_result_decide (model, r, t[i] + 1e-9, edge_threshold);
        right += r->answer == data->labels[skip + k];
        exits_n += r->tier == DDNN_TIER_DEVICE;
        edge_n += r->tier == DDNN_TIER_EDGE;
        total += r->device_bytes;
        to_cloud += r->cloud_bytes;
      }
      acc[i] = pct (right, n);
      exits[i] = pct (exits_n, n);
      edge_exits[i] = pct (edge_n, n);
      b[i] = (double) total / n;
      cloud_b[i] = (double) to_cloud / n;
      g_print ("%6.2f %10.1f %% %9.1f %% %8.1f %% %12.1f %7.1fx %10.1f B\n",
          t[i], exits[i], edge_exits[i], acc[i], b[i], raw / b[i], cloud_b[i]);
    }
    if (!write_sweep (out_dir ? out_dir : ".", t, acc, exits, edge_exits, b,
            cloud_b, 21, raw, title, &error)) {
      ddnn_cli_fail (error);
      goto out;
    }
  }

  if (adaptive) {
    DdnnAdaptiveParams params;

    ddnn_adaptive_params_init (&params);
    params.audit_rate = audit_rate;
    if (window < 1 || audit_rate < 0 || audit_rate > 0.5 || !(fps > 0)) {
      g_printerr ("ddnn eval: --window is at least 1, --audit-rate from 0 to "
                  "0.5, --fps above 0\n");
      status = 2;
      goto out;
    }
    /* the paper's cost model: every camera sends its scores, and its
     * features for a sample that goes on */
    if (!ddnn_adaptive_parse_target (adaptive,
            (double) __builtin_popcountll (alive) *
                ddnn_model_device_bytes (model, FALSE),
            (double) __builtin_popcountll (alive) *
                (ddnn_model_device_bytes (model, TRUE) -
                    ddnn_model_device_bytes (model, FALSE)),
            &params, &error) ||
        !ddnn_eval_adaptive (model, data, skip, n, stats.results, threshold,
            edge_threshold, &params, (guint) window, json, adaptive_svg,
            decisions, fps, &error)) {
      ddnn_cli_fail (error);
      goto out;
    }
  }

  if (faults || scaling) {
    guint r;

    g_print ("\n%-16s %8s %8s %8s %11s\n", faults ? "failed camera" : "cameras",
        "local", "cloud", "overall", "exit local");
    for (r = 0; r < n_views; r++) {
      EvalStats s;
      guint64 mask = faults ? (alive & ~(G_GUINT64_CONSTANT (1) << r))
                            : ((G_GUINT64_CONSTANT (1) << (r + 1)) - 1);
      gchar label[32];

      if (!mask)
        continue;
      if (!evaluate (model, data, skip, n, mask, threshold, edge_threshold, &s,
              &error)) {
        ddnn_cli_fail (error);
        goto out;
      }
      if (faults)
        g_snprintf (label, sizeof (label), "%u", r);
      else
        g_snprintf (label, sizeof (label), "first %u", r + 1);
      g_print ("%-16s %7.1f%% %7.1f%% %7.1f%% %10.1f%%\n", label,
          pct (s.local_right, n), pct (s.cloud_right, n),
          pct (s.overall_right, n), pct (s.local_exits, n));
      eval_stats_clear (&s);
    }
    if (faults && scaling)
      g_print ("(--faults and --scaling together: the fault table only)\n");
  }
  status = 0;
out:
  eval_stats_clear (&stats);
  g_free (model_path);
  g_free (data_dir);
  g_free (fail_list);
  g_free (out_dir);
  g_free (split);
  g_free (adaptive);
  g_free (adaptive_svg);
  g_free (decisions);
  return status;
}
