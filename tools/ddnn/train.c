/* ddnn train: every exit of a model jointly, and the default thresholds.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

static void
train_progress (const DdnnTrainProgress *p, gpointer user_data)
{
  gboolean tty = GPOINTER_TO_INT (user_data);
  double eta = 0.0;

  if (p->samples_per_second > 0) {
    double per_epoch = p->seconds * p->n_batches / (p->batch + 1);

    eta = per_epoch * (p->epochs - p->epoch) - p->seconds;
  }
  if (tty) {
    guint width = 24, filled = (guint) (width * (p->batch + 1) / p->n_batches);
    gchar bar[32];

    memset (bar, '#', filled);
    memset (bar + filled, '.', width - filled);
    bar[width] = 0;
    g_print ("\repoch %u/%u [%s] batch %u/%u  loss %.4f  local %.1f %%  "
             "cloud %.1f %%  %.0f samples/s  ETA %.0f s   ",
        p->epoch, p->epochs, bar, p->batch + 1, p->n_batches, p->loss,
        100 * p->local_accuracy, 100 * p->cloud_accuracy, p->samples_per_second,
        MAX (eta, 0.0));
    if (p->batch + 1 == p->n_batches)
      g_print ("\n");
  } else if (p->batch + 1 == p->n_batches) {
    g_print ("epoch %u/%u  loss %.4f  train accuracy local %.1f %% cloud "
             "%.1f %%  %.0f samples/s  %.1f s\n",
        p->epoch, p->epochs, p->loss, 100 * p->local_accuracy,
        100 * p->cloud_accuracy, p->samples_per_second, p->seconds);
  }
}

int
cmd_train (int argc, char **argv)
{
  gchar *data_dir = NULL, *arch = NULL, *out = NULL;
  gint epochs = 0, seed = 1, threads = 1, batch = 0, limit = 0;
  gint validate = -1;
  gboolean remap = FALSE;
  gdouble exit_target = 0.0, edge_target = 0.0;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
        "Data set folder (its train.safetensors is used)", "DIR" },
    { "arch", 'a', 0, G_OPTION_ARG_FILENAME, &arch,
        "Topology JSON, with an optional \"training\" object", "ARCH.json" },
    { "epochs", 'e', 0, G_OPTION_ARG_INT, &epochs,
        "Epochs (default: the arch's, else 10)", "N" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Model file to write",
        "MODEL" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed, "Seed (default 1)", "S" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads,
        "Threads: the cameras' sections train side by side (default 1; the "
        "model is the same, byte for byte, whatever the number)",
        "T" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch,
        "Mini-batch size (default: the arch's, else 64)", "B" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "Use the first N samples only",
        "N" },
    { "validate", 'V', 0, G_OPTION_ARG_INT, &validate,
        "Hold the last N samples out of training, to choose the thresholds "
        "on (default: a tenth of the samples, at most 5000; 0 holds none "
        "out and keeps the arch's thresholds)",
        "N" },
    { "remap", 0, 0, G_OPTION_ARG_NONE, &remap, DDNN_CLI_REMAP_HELP, NULL },
    { "exit-target", 'x', 0, G_OPTION_ARG_DOUBLE, &exit_target,
        "Set the model's local threshold so that this share of the held-out "
        "samples exits locally (default: the arch's training.exit_target; "
        "none keeps the arch's threshold)",
        "F" },
    { "edge-target", 0, 0, G_OPTION_ARG_DOUBLE, &edge_target,
        "For a model with an edge section: set its edge threshold so that "
        "this share of all held-out samples exits at the edge, among those "
        "the local threshold sends on (default: the arch's "
        "training.edge_target; none keeps the arch's threshold)",
        "F" },
    { NULL }
  };
  g_autoptr (DdnnModel) model = NULL;
  g_autoptr (DdnnDataset) data = NULL;
  g_autoptr (DdnnTrainer) trainer = NULL;
  guint n_train, n_all;
  g_autofree gchar *topology = NULL, *train_path = NULL;
  DdnnTrainOptions options;
  DdnnTrainProgress summary;
  gboolean tty = isatty (fileno (stdout));
  GError *error = NULL;
  guint e;
  int status;

  status = ddnn_cli_parse_options ("train",
      "--data DIR --arch ARCH.json --out MODEL",
      "Train every exit of a DDNN jointly: the sum of softmax cross-entropy "
      "at each device exit (on its view's label), the fused local exit and "
      "the cloud exit, with Adam.  The same data, seed and thread count give "
      "the same model file, byte for byte.",
      "On a terminal a progress bar shows the epoch, batch, loss, samples/s "
      "and ETA; otherwise one line is printed per epoch.",
      entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!data_dir || !arch || !out || argc != 1 || epochs < 0 || threads < 1 ||
      batch < 0 || limit < 0) {
    g_printerr ("ddnn train: needs --data, --arch and --out (see --help)\n");
    goto out;
  }
  status = 1;
  if (!g_file_get_contents (arch, &topology, NULL, &error) ||
      !(model = ddnn_model_new_from_topology (topology, seed, &error)) ||
      !ddnn_train_options_from_model (model, &options, &error)) {
    g_prefix_error (&error, "%s: ", arch);
    ddnn_cli_fail (error);
    goto out;
  }
  train_path = g_build_filename (data_dir, "train.safetensors", NULL);
  if (!(data = ddnn_dataset_open (train_path, &error)) ||
      !ddnn_cli_match_classes (data, model, remap, &error)) {
    g_prefix_error (&error, "%s: ", train_path);
    ddnn_cli_fail (error);
    goto out;
  }
  if (limit > 0 && (guint) limit < data->n_samples)
    data->n_samples = limit;
  n_all = data->n_samples;
  if (validate < -1 || validate > G_MAXINT / 2) {
    g_printerr ("ddnn train: --validate takes a number of samples\n");
    status = 2;
    goto out;
  }
  if (validate == -1)
    validate = MIN (5000, n_all / 10);
  if ((guint) validate >= n_all / 2) {
    g_printerr ("ddnn train: --validate must leave at least half the data "
                "to train on\n");
    status = 2;
    goto out;
  }
  n_train = n_all - validate;
  if (exit_target <= 0.0)
    exit_target = options.exit_target;
  if (edge_target <= 0.0)
    edge_target = options.edge_target;
  if (edge_target > 0.0 && !ddnn_model_get_edge_section (model)) {
    g_printerr ("ddnn train: --edge-target is for models with an edge "
                "section; %s has none\n",
        arch);
    status = 2;
    goto out;
  }
  if (edge_target > 0.0 &&
      !(exit_target > 0.0 && exit_target + edge_target <= 1.0)) {
    g_printerr ("ddnn train: an edge target needs a local exit target, and "
                "the two shares may not add up to more than 1\n");
    status = 2;
    goto out;
  }
  if (epochs > 0)
    options.epochs = epochs;
  if (batch > 0)
    options.batch_size = batch;
  options.seed = seed;
  options.threads = threads;
  if (!(trainer = ddnn_trainer_new (model, &options, &error))) {
    ddnn_cli_fail (error);
    goto out;
  }
  data->n_samples = n_train;
  g_print ("training %s on %u samples (%d held out): %u epochs, batch %u, "
           "lr %g, view drop %g, seed %d, %d thread%s\n",
      ddnn_model_get_name (model), data->n_samples, validate, options.epochs,
      options.batch_size, options.learning_rate, options.view_drop, seed,
      threads, threads == 1 ? "" : "s");
  for (e = 1; e <= options.epochs; e++) {
    if (!ddnn_trainer_run_epoch (trainer, data, e, train_progress,
            GINT_TO_POINTER (tty), &summary, &error)) {
      ddnn_cli_fail (error);
      goto out;
    }
  }
  if (!ddnn_trainer_export (trainer, &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  data->n_samples = n_all;
  if (exit_target > 0.0 && validate > 0) {
    double local_t, edge_t;

    if (!ddnn_choose_thresholds (model, data, n_train, validate, exit_target,
            edge_target, &local_t, &edge_t, &error) ||
        !ddnn_model_set_threshold (model, DDNN_TIER_DEVICE, local_t, &error) ||
        (edge_target > 0.0 &&
            !ddnn_model_set_threshold (
                model, DDNN_TIER_EDGE, edge_t, &error))) {
      ddnn_cli_fail (error);
      goto out;
    }
    g_print ("local threshold %.3f: %.0f %% of the %d held-out samples exit "
             "locally\n",
        local_t, 100 * exit_target, validate);
    if (edge_target > 0.0)
      g_print ("edge threshold %.3f: %.0f %% of them exit at the edge\n",
          edge_t, 100 * edge_target);
  }
  if (!ddnn_model_save (model, out, &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  g_print ("wrote %s (id %.16s)\n", out, ddnn_model_get_id (model));
  status = 0;
out:
  g_free (data_dir);
  g_free (arch);
  g_free (out);
  return status;
}
