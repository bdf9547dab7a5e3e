/* ddnn run: every section of a model on sample images, as a deployment would.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (GArray *values)
{
  if (values->len == 0)
    return 0.0;
  qsort (values->data, values->len, sizeof (double), compare_doubles);
  return g_array_index (values, double, values->len / 2);
}

/* Places a 28x28 image in the middle of a w x h canvas of @background. */
static void
place_image (
    const guint8 *image, guint iw, guint ih, guint8 *canvas, guint w, guint h)
{
  guint y, x, ox = (w > iw) ? (w - iw) / 2 : 0,
              oy = (h > ih) ? (h - ih) / 2 : 0;

  memset (canvas, 0, (gsize) w * h);
  for (y = 0; y < MIN (ih, h); y++)
    for (x = 0; x < MIN (iw, w); x++)
      canvas[(y + oy) * w + x + ox] = image[y * iw + x];
}

static const gchar *
run_tier_name (DdnnTier tier)
{
  switch (tier) {
    case DDNN_TIER_DEVICE:
      return "local";
    case DDNN_TIER_EDGE:
      return "edge";
    default:
      return "cloud";
  }
}

static void
print_sample_json (guint sample, guint label, guint n_classes,
    const DdnnRunner *runner, const DdnnSampleResult *r)
{
  g_autoptr (JsonBuilder) j = json_builder_new ();
  GHashTable *nulls = ddnn_cli_json_nulls_new ();
  const DdnnSectionResult *edge = ddnn_runner_get_edge (runner);
  guint v;

  json_builder_begin_object (j);
  ddnn_cli_json_uint (j, "sample", sample);
  ddnn_cli_json_uint (j, "label", label);
  json_builder_set_member_name (j, "device_scores");
  json_builder_begin_array (j);
  for (v = 0; v < r->n_views; v++)
    ddnn_cli_json_floats (
        j, nulls, NULL, ddnn_runner_get_device (runner, v)->scores, n_classes);
  json_builder_end_array (j);
  ddnn_cli_json_floats (j, nulls, "local_scores",
      ddnn_runner_get_local_scores (runner), n_classes);
  ddnn_cli_json_number (j, nulls, "local_entropy", r->local_entropy, -9);
  if (edge) {
    ddnn_cli_json_floats (j, nulls, "edge_scores", edge->scores, n_classes);
    ddnn_cli_json_number (j, nulls, "edge_entropy", r->edge_entropy, -9);
  }
  ddnn_cli_json_floats (j, nulls, "cloud_scores",
      ddnn_runner_get_cloud (runner)->scores, n_classes);
  ddnn_cli_json_string (j, "tier", run_tier_name (r->tier));
  ddnn_cli_json_uint (j, "answer", r->answer);
  ddnn_cli_json_end_nulls (j, nulls);
  json_builder_end_object (j);
  ddnn_cli_print_json (j);
}

int
cmd_run (int argc, char **argv)
{
  gchar *images_path = NULL, *labels_path = NULL, *data_dir = NULL;
  gint n_samples = 8;
  gdouble threshold = -1.0, edge_threshold = -1.0;
  gboolean quiet = FALSE, json = FALSE, remap = FALSE;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
        "Run the test split of this data set folder (each camera sees its "
        "own view)",
        "DIR" },
    { "images", 'i', 0, G_OPTION_ARG_FILENAME, &images_path,
        "IDX image file (default: Fashion-MNIST's test images)", "FILE" },
    { "labels", 'L', 0, G_OPTION_ARG_FILENAME, &labels_path,
        "IDX label file (default: Fashion-MNIST's test labels)", "FILE" },
    { "samples", 'n', 0, G_OPTION_ARG_INT, &n_samples,
        "How many samples to run (default 8)", "N" },
    { "threshold", 't', 0, G_OPTION_ARG_DOUBLE, &threshold,
        "Local exit threshold (default: the model's)", "T" },
    { "edge-threshold", 'e', 0, G_OPTION_ARG_DOUBLE, &edge_threshold,
        "Edge exit threshold, for models with an edge section (default: the "
        "model's)",
        "T" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the summary",
        NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
        "Print one JSON object per sample with every tier's scores", NULL },
    { "remap", 0, 0, G_OPTION_ARG_NONE, &remap, DDNN_CLI_REMAP_HELP, NULL },
    { NULL }
  };
  g_autoptr (DdnnModel) model = NULL;
  g_autoptr (DdnnIdx) images = NULL;
  g_autoptr (DdnnIdx) labels = NULL;
  g_autoptr (DdnnDataset) data = NULL;
  g_autoptr (GArray) t_sample = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (DdnnRunner) runner = NULL;
  const DdnnInputSpec *in;
  GError *error = NULL;
  guint n_views, n_classes, v, k, correct = 0,
                                  by_tier[DDNN_TIER_CLOUD + 1] = { 0 };
  guint8 *canvas = NULL;
  int status;

  status = ddnn_cli_parse_options ("run", "MODEL",
      "Run every section of a model on "
      "sample images and say what each tier answered.  With --data, each "
      "camera sees its own view of a data set's test sample; otherwise each "
      "sample shows one Fashion-MNIST test image to every camera, centred on "
      "the model's input size.",
      NULL, entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (argc != 2 || n_samples <= 0) {
    g_printerr ("ddnn run: give one model file and a positive --samples\n");
    goto out;
  }
  status = 1;
  ddnn_blas_set_threads (1);
  if (!(model = ddnn_model_load (argv[1], &error))) {
    ddnn_cli_fail (error);
    goto out;
  }
  in = ddnn_model_get_input (model);
  if (data_dir) {
    g_autofree gchar *path = g_build_filename (
        data_dir, "test.safetensors", NULL);

    if (!(data = ddnn_dataset_open (path, &error)) ||
        !ddnn_cli_match_classes (data, model, remap, &error)) {
      g_prefix_error (&error, "%s: ", path);
      ddnn_cli_fail (error);
      goto out;
    }
    if (data->n_views != ddnn_model_get_n_views (model) ||
        data->width != in->width || data->height != in->height ||
        data->channels != in->channels) {
      g_printerr ("ddnn run: the data set's views do not fit the model\n");
      goto out;
    }
  } else if (in->channels != 1) {
    g_printerr ("ddnn run: sample images are gray; this model takes %u "
                "channels\n",
        in->channels);
    goto out;
  }
  if (!data) {
    if (!(images = ddnn_idx_load (images_path ? images_path
                                              : DDNN_FASHION_MNIST_DIR
                  "/t10k-images-idx3-ubyte.gz",
              &error)) ||
        !(labels = ddnn_idx_load (labels_path ? labels_path
                                              : DDNN_FASHION_MNIST_DIR
                  "/t10k-labels-idx1-ubyte.gz",
              &error))) {
      ddnn_cli_fail (error);
      goto out;
    }
    if (images->n_dims != 3 || labels->n_dims != 1 ||
        labels->dims[0] != images->dims[0]) {
      g_printerr ("ddnn run: expected N images of HxW and N labels\n");
      goto out;
    }
  }
  threshold = ddnn_model_resolve_threshold (model, DDNN_TIER_DEVICE, threshold);
  edge_threshold = ddnn_model_resolve_threshold (
      model, DDNN_TIER_EDGE, edge_threshold);
  n_samples = MIN ((guint) n_samples, data ? data->n_samples : images->dims[0]);
  n_views = ddnn_model_get_n_views (model);
  n_classes = ddnn_model_get_n_classes (model);
  runner = ddnn_runner_new (model);
  canvas = g_malloc ((gsize) in->width * in->height);

  if (!json)
    g_print ("model %s (id %.16s), %u views, local exit when entropy < %.2f\n",
        ddnn_model_get_name (model), ddnn_model_get_id (model), n_views,
        threshold);
  if (!json && ddnn_model_get_edge_section (model))
    g_print ("edge exit when entropy < %.2f\n", edge_threshold);
  if (!quiet && !json)
    g_print ("%-6s %-12s %-22s %-8s %-12s %s\n", "sample", "label",
        "local (entropy)", "exit", "last tier", "answer");
  for (k = 0; k < (guint) n_samples; k++) {
    const guint8 *view_pixels[DDNN_MAX_VIEWS];
    guint label;
    DdnnSampleResult r;
    gint64 t0;

    if (data) {
      label = data->labels[k];
      for (v = 0; v < n_views; v++)
        view_pixels[v] = ddnn_dataset_view (data, k, v);
    } else {
      const guint8 *pixels = (const guint8 *) g_bytes_get_data (
                                 images->data, NULL) +
          (gsize) k * images->dims[1] * images->dims[2];

      label = ((const guint8 *) g_bytes_get_data (labels->data, NULL))[k];
      place_image (pixels, images->dims[2], images->dims[1], canvas, in->width,
          in->height);
      for (v = 0; v < n_views; v++)
        view_pixels[v] = canvas;
    }
    /* every section, as a deployment would run them (the edge's and the
     * cloud's whatever the exits decide, so that all are shown) */
    t0 = g_get_monotonic_time ();
    if (!ddnn_runner_run (runner, view_pixels, (gsize) in->width * in->channels,
            threshold, edge_threshold, &r, &error)) {
      ddnn_cli_fail (error);
      goto out;
    }
    g_array_append_val (t_sample, (double){ g_get_monotonic_time () - t0 });
    by_tier[r.tier]++;
    correct += r.answer == label;
    if (json)
      print_sample_json (k, label, n_classes, runner, &r);
    else if (!quiet)
      g_print ("%-6u %-12s %-12s (%.3f) %-8s %-12s %s%s\n", k,
          ddnn_model_get_class_name (model, label),
          ddnn_model_get_class_name (model, r.local_class), r.local_entropy,
          run_tier_name (r.tier),
          ddnn_model_get_class_name (model,
              r.has_edge && r.tier == DDNN_TIER_EDGE ? r.edge_class
                                                     : r.cloud_class),
          ddnn_model_get_class_name (model, r.answer),
          r.answer == label ? "" : "  (wrong)");
  }
  if (json)
    goto done;
  if (ddnn_model_get_edge_section (model))
    g_print ("%d samples: %u exited locally, %u at the edge, %u went to the "
             "cloud; %u answered right (%.1f %%)\n",
        n_samples, by_tier[DDNN_TIER_DEVICE], by_tier[DDNN_TIER_EDGE],
        by_tier[DDNN_TIER_CLOUD], correct, 100.0 * correct / n_samples);
  else
    g_print ("%d samples: %u exited locally, %u went to the cloud; %u "
             "answered right (%.1f %%)\n",
        n_samples, by_tier[DDNN_TIER_DEVICE], by_tier[DDNN_TIER_CLOUD], correct,
        100.0 * correct / n_samples);
  g_print (
      "median time a sample, every section run: %.1f us\n", median (t_sample));
done:
  status = 0;

out:
  g_free (canvas);
  g_free (images_path);
  g_free (labels_path);
  g_free (data_dir);
  return status;
}
