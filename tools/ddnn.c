/* ddnn: build data sets, train, evaluate and inspect DDNN models.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <ddnn.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

typedef struct
{
  const gchar *name;
  const gchar *summary;
  int (*run) (int argc, char **argv);
} Command;

static int
fail (GError *error)
{
  g_printerr ("ddnn: %s\n", error->message);
  g_error_free (error);
  return 1;
}

/* Parses a subcommand's options; prints --help and usage errors itself.
 * Returns -1 when the caller should go on, else the exit status. */
static int
parse_options (const gchar *command, const gchar *args, const gchar *summary,
    const gchar *description, GOptionEntry *entries, int *argc, char ***argv)
{
  g_autofree gchar *prgname = g_strdup_printf ("ddnn %s", command);
  g_autoptr (GOptionContext) context = g_option_context_new (args);
  GError *error = NULL;

  /* so that --help reads "ddnn train [OPTION...] --data DIR ..." */
  g_set_prgname (prgname);
  g_option_context_set_summary (context, summary);
  if (description)
    g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error)) {
    g_printerr ("ddnn %s: %s\nTry 'ddnn %s --help'.\n", command, error->message,
        command);
    g_error_free (error);
    return 2;
  }
  return -1;
}

/* ------------------------------------------------------------------ */
/* inspect                                                             */

static void
device_traffic (DdnnModel *model, gsize *score_bytes, gsize *feature_bytes,
    gsize *raw_bytes)
{
  DdnnSection *device = ddnn_model_get_device_section (model, 0);
  const DdnnInputSpec *in = ddnn_model_get_input (model);
  gsize shape[DDNN_TENSOR_MAX_DIMS];
  DdnnDtype dtype;
  guint n_dims;

  ddnn_section_get_features_spec (device, &dtype, &n_dims, shape);
  ddnn_tensor_bytes_for (dtype, n_dims, shape, NULL, feature_bytes, NULL);
  *score_bytes = ddnn_model_score_bytes (model);
  *raw_bytes = (gsize) in->channels * in->height * in->width;
}

static gchar *
features_string (DdnnSection *section)
{
  gsize shape[DDNN_TENSOR_MAX_DIMS];
  DdnnDtype dtype;
  guint n_dims, i;
  GString *s = g_string_new (NULL);

  ddnn_section_get_features_spec (section, &dtype, &n_dims, shape);
  for (i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, i ? "x" : "", shape[i]);
  g_string_append_printf (s, " %s", dtype == DDNN_DTYPE_BIT ? "1-bit" : "f32");
  return g_string_free (s, FALSE);
}

static void
inspect_json (DdnnModel *model)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  const DdnnInputSpec *in = ddnn_model_get_input (model);
  g_autofree gchar *text = NULL;
  gsize score_bytes, feature_bytes, raw_bytes;
  guint i;

  device_traffic (model, &score_bytes, &feature_bytes, &raw_bytes);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model_id");
  json_builder_add_string_value (b, ddnn_model_get_id (model));
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, ddnn_model_get_name (model));
  json_builder_set_member_name (b, "views");
  json_builder_add_int_value (b, ddnn_model_get_n_views (model));
  json_builder_set_member_name (b, "classes");
  json_builder_add_int_value (b, ddnn_model_get_n_classes (model));
  json_builder_set_member_name (b, "class_names");
  json_builder_begin_array (b);
  for (i = 0; i < ddnn_model_get_n_classes (model); i++)
    json_builder_add_string_value (b, ddnn_model_get_class_name (model, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "input");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "channels");
  json_builder_add_int_value (b, in->channels);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, in->height);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, in->width);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "local_fusion");
  json_builder_add_string_value (
      b, ddnn_fusion_name (ddnn_model_get_local_fusion (model)));
  json_builder_set_member_name (b, "feature_fusion");
  json_builder_add_string_value (
      b, ddnn_fusion_name (ddnn_model_get_feature_fusion (model)));
  json_builder_set_member_name (b, "local_threshold");
  json_builder_add_double_value (
      b, ddnn_model_get_threshold (model, DDNN_TIER_DEVICE));
  json_builder_set_member_name (b, "sections");
  json_builder_begin_array (b);
  for (i = 0; i < ddnn_model_get_n_sections (model); i++) {
    DdnnSection *s = ddnn_model_get_section (model, i);
    DdnnSectionCost cost;
    gsize shape[DDNN_TENSOR_MAX_DIMS], fbytes;
    DdnnDtype dtype;
    guint n_dims, d;

    ddnn_section_get_cost (s, &cost);
    ddnn_section_get_features_spec (s, &dtype, &n_dims, shape);
    ddnn_tensor_bytes_for (dtype, n_dims, shape, NULL, &fbytes, NULL);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, ddnn_section_get_name (s));
    json_builder_set_member_name (b, "tier");
    json_builder_add_string_value (
        b, ddnn_tier_name (ddnn_section_get_tier (s)));
    json_builder_set_member_name (b, "present");
    json_builder_add_boolean_value (b, ddnn_section_is_present (s));
    json_builder_set_member_name (b, "params");
    json_builder_add_int_value (b, cost.params);
    json_builder_set_member_name (b, "bytes");
    json_builder_add_int_value (b, cost.bytes);
    json_builder_set_member_name (b, "flops");
    json_builder_add_int_value (b, cost.flops);
    json_builder_set_member_name (b, "binary_ops");
    json_builder_add_int_value (b, cost.binary_ops);
    json_builder_set_member_name (b, "features");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, ddnn_dtype_name (dtype));
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (d = 0; d < n_dims; d++)
      json_builder_add_int_value (b, shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "bytes");
    json_builder_add_int_value (b, fbytes);
    json_builder_end_object (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "device_bytes_per_sample");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "scores");
  json_builder_add_int_value (b, score_bytes);
  json_builder_set_member_name (b, "features");
  json_builder_add_int_value (b, feature_bytes);
  json_builder_set_member_name (b, "exits_locally");
  json_builder_add_int_value (b, score_bytes);
  json_builder_set_member_name (b, "goes_on");
  json_builder_add_int_value (b, score_bytes + feature_bytes);
  json_builder_set_member_name (b, "raw_offload");
  json_builder_add_int_value (b, raw_bytes);
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

static void
inspect_text (DdnnModel *model, gboolean layers)
{
  const DdnnInputSpec *in = ddnn_model_get_input (model);
  gsize score_bytes, feature_bytes, raw_bytes;
  double threshold = ddnn_model_get_threshold (model, DDNN_TIER_DEVICE);
  guint i;

  device_traffic (model, &score_bytes, &feature_bytes, &raw_bytes);
  g_print ("model     %s\n", ddnn_model_get_name (model));
  g_print ("id        %s\n", ddnn_model_get_id (model));
  g_print ("input     %u channel%s, %ux%u; %u views; %u classes\n",
      in->channels, in->channels == 1 ? "" : "s", in->width, in->height,
      ddnn_model_get_n_views (model), ddnn_model_get_n_classes (model));
  g_print ("classes  ");
  for (i = 0; i < ddnn_model_get_n_classes (model); i++)
    g_print (" %s%s", ddnn_model_get_class_name (model, i),
        i + 1 < ddnn_model_get_n_classes (model) ? "," : "\n");
  g_print ("fusion    local scores by %s, features by %s\n",
      ddnn_fusion_name (ddnn_model_get_local_fusion (model)),
      ddnn_fusion_name (ddnn_model_get_feature_fusion (model)));
  if (threshold >= 0)
    g_print (
        "exit      local exit when normalized entropy < %.3g\n", threshold);
  g_print ("\n%-10s %-6s %10s %10s %12s %12s  %s\n", "section", "tier",
      "params", "bytes", "FLOPs", "of which 1b", "features");
  for (i = 0; i < ddnn_model_get_n_sections (model); i++) {
    DdnnSection *s = ddnn_model_get_section (model, i);
    g_autofree gchar *features = features_string (s);
    DdnnSectionCost cost;

    ddnn_section_get_cost (s, &cost);
    g_print ("%-10s %-6s %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
             " %12" G_GUINT64_FORMAT " %12" G_GUINT64_FORMAT "  %s%s\n",
        ddnn_section_get_name (s), ddnn_tier_name (ddnn_section_get_tier (s)),
        cost.params, cost.bytes, cost.flops, cost.binary_ops, features,
        ddnn_section_is_present (s) ? "" : "  (not in this file)");
    if (layers) {
      g_autofree gchar *text = ddnn_section_describe (s);
      gchar **lines = g_strsplit (text, "\n", -1);
      guint l;

      for (l = 0; lines[l] && *lines[l]; l++)
        g_print ("    %s\n", lines[l]);
      g_strfreev (lines);
    }
  }
  g_print ("\nper device per sample: %" G_GSIZE_FORMAT " B of scores "
           "when the sample exits locally, %" G_GSIZE_FORMAT " B with its "
           "features when it goes on; raw offload of the view: %" G_GSIZE_FORMAT
           " B\n",
      score_bytes, score_bytes + feature_bytes, raw_bytes);
}

static int
cmd_inspect (int argc, char **argv)
{
  gboolean json = FALSE, layers = FALSE;
  GOptionEntry entries[] = { { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
                                 "Print one JSON object instead of tables",
                                 NULL },
    { "layers", 'l', 0, G_OPTION_ARG_NONE, &layers,
        "List each section's layers with their shapes", NULL },
    { NULL } };
  g_autoptr (DdnnModel) model = NULL;
  GError *error = NULL;
  int status;

  status = parse_options ("inspect", "MODEL",
      "Print a model's topology: "
      "per section its parameters, stored bytes (binary weights packed) and "
      "FLOPs per sample, and the bytes a device sends per sample.",
      "FLOPs count a multiply-add as 2; 'of which 1b' is the part done by "
      "XNOR-popcount on 1-bit values.",
      entries, &argc, &argv);
  if (status >= 0)
    return status;
  if (argc != 2) {
    g_printerr ("ddnn inspect: give one model file\n");
    return 2;
  }
  if (!(model = ddnn_model_load (argv[1], &error)))
    return fail (error);
  if (json)
    inspect_json (model);
  else
    inspect_text (model, layers);
  return 0;
}

/* ------------------------------------------------------------------ */
/* init, export                                                        */

static int
cmd_init (int argc, char **argv)
{
  gchar *arch = NULL, *out = NULL;
  gint seed = 1;
  GOptionEntry entries[] = { { "arch", 'a', 0, G_OPTION_ARG_FILENAME, &arch,
                                 "Topology JSON (see models/README.md)",
                                 "ARCH.json" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Model file to write",
        "MODEL" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed,
        "Seed of the random weights (default 1)", "S" },
    { NULL } };
  g_autoptr (DdnnModel) model = NULL;
  g_autofree gchar *topology = NULL;
  GError *error = NULL;
  int status;

  status = parse_options ("init", "--arch ARCH.json --out MODEL",
      "Write an untrained model: the topology of ARCH.json with seeded "
      "random weights (Glorot-uniform float weights, random signs for "
      "binary ones, identity batch norm).",
      NULL, entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!arch || !out || argc != 1) {
    g_printerr ("ddnn init: needs --arch and --out\n");
    goto out;
  }
  status = 1;
  if (!g_file_get_contents (arch, &topology, NULL, &error) ||
      !(model = ddnn_model_new_from_topology (topology, seed, &error))) {
    g_prefix_error (&error, "%s: ", arch);
    fail (error);
    goto out;
  }
  if (!ddnn_model_save (model, out, &error)) {
    fail (error);
    goto out;
  }
  g_print ("wrote %s: %s, untrained (seed %d), id %.16s\n", out,
      ddnn_model_get_name (model), seed, ddnn_model_get_id (model));
  status = 0;
out:
  g_free (arch);
  g_free (out);
  return status;
}

static int
cmd_export (int argc, char **argv)
{
  gchar *sections = NULL, *out = NULL;
  GOptionEntry entries[] = {
    { "sections", 's', 0, G_OPTION_ARG_STRING, &sections,
        "Comma-separated section names to keep, e.g. device0", "NAMES" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "File to write", "FILE" },
    { NULL }
  };
  g_autoptr (DdnnModel) model = NULL;
  g_auto (GStrv) names = NULL;
  GError *error = NULL;
  int status;

  status = parse_options ("export", "MODEL --sections NAMES --out FILE",
      "Write a model file that holds only some sections, e.g. the device "
      "section of one camera.  The model id is kept, so tiers still check "
      "that they run parts of one model.",
      NULL, entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!sections || !out || argc != 2) {
    g_printerr ("ddnn export: needs MODEL, --sections and --out\n");
    goto out;
  }
  status = 1;
  names = g_strsplit (sections, ",", -1);
  if (!(model = ddnn_model_load (argv[1], &error)) ||
      !ddnn_model_save_sections (
          model, (const gchar *const *) names, out, &error)) {
    fail (error);
    goto out;
  }
  g_print ("wrote %s: sections %s of model %.16s\n", out, sections,
      ddnn_model_get_id (model));
  status = 0;
out:
  g_free (sections);
  g_free (out);
  return status;
}

/* ------------------------------------------------------------------ */
/* dataset                                                             */

static void
print_progress (const gchar *what, guint done, guint total, gpointer user_data)
{
  gboolean tty = isatty (fileno (stdout));

  if (tty)
    g_print ("\r%-6s %6u / %u samples", what, done, total);
  /* off a terminal: a line at each tenth */
  if (done == total ||
      (!tty && (done * 10 / total) != ((done - 1000) * 10 / total)))
    g_print ("%s%-6s %6u / %u samples\n", tty ? "\r" : "", what, done, total);
}

/* Records the test split as one lossless video per camera (raw GRAY8 in
 * Matroska, made and read by stock GStreamer elements) and a labels file. */
static gboolean
write_videos (const gchar *data_dir, const gchar *video_dir, GError **error)
{
  g_autofree gchar *test = g_build_filename (
      data_dir, "test.safetensors", NULL);
  g_autofree gchar *labels_path = NULL;
  g_autoptr (DdnnDataset) data = NULL;
  GString *csv;
  gsize frame;
  guint v, k;

  if (!(data = ddnn_dataset_open (test, error)))
    return FALSE;
  if (g_mkdir_with_parents (video_dir, 0755) != 0) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_IO, "cannot create %s", video_dir);
    return FALSE;
  }
  frame = (gsize) data->width * data->height * data->channels;
  for (v = 0; v < data->n_views; v++) {
    g_autofree gchar *raw = g_strdup_printf (
        "%s/cam%u.gray.part", video_dir, v);
    g_autofree gchar *mkv = g_strdup_printf ("%s/cam%u.mkv", video_dir, v);
    g_autofree gchar *src = g_strdup_printf ("location=%s", raw);
    g_autofree gchar *dst = g_strdup_printf ("location=%s", mkv);
    g_autofree gchar *w = g_strdup_printf ("width=%u", data->width);
    g_autofree gchar *h = g_strdup_printf ("height=%u", data->height);
    g_autofree gchar *errors = NULL;
    const gchar *argv[] = { "gst-launch-1.0", "-q", "filesrc", src, "!",
      "rawvideoparse", w, h,
      data->channels == 1 ? "format=gray8" : "format=rgb", "framerate=30/1",
      "!", "matroskamux", "!", "filesink", dst, NULL };
    GString *frames = g_string_sized_new (frame * data->n_samples);
    gint exit_status;
    gboolean ok;

    for (k = 0; k < data->n_samples; k++)
      g_string_append_len (
          frames, (const gchar *) ddnn_dataset_view (data, k, v), frame);
    ok = g_file_set_contents (raw, frames->str, frames->len, error);
    g_string_free (frames, TRUE);
    if (!ok)
      return FALSE;
    ok = g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
        NULL, NULL, &errors, &exit_status, error);
    g_unlink (raw);
    if (!ok)
      return FALSE;
    if (!g_spawn_check_wait_status (exit_status, NULL)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
          "gst-launch-1.0 could not write %s: %s", mkv, errors);
      return FALSE;
    }
  }
  csv = g_string_new ("frame,label,class");
  for (v = 0; v < data->n_views; v++)
    g_string_append_printf (csv, ",view%u", v);
  g_string_append_c (csv, '\n');
  for (k = 0; k < data->n_samples; k++) {
    g_string_append_printf (csv, "%u,%u,%s", k, data->labels[k],
        data->class_names[data->labels[k]]);
    for (v = 0; v < data->n_views; v++) {
      guint8 l = data->view_labels[(gsize) k * data->n_views + v];

      if (l == DDNN_LABEL_ABSENT)
        g_string_append (csv, ",absent");
      else
        g_string_append_printf (csv, ",%u", l);
    }
    g_string_append_c (csv, '\n');
  }
  labels_path = g_build_filename (video_dir, "labels.csv", NULL);
  if (!g_file_set_contents (labels_path, csv->str, csv->len, error)) {
    g_string_free (csv, TRUE);
    return FALSE;
  }
  g_string_free (csv, TRUE);
  g_print ("wrote %s/cam0.mkv .. cam%u.mkv (%u frames each, lossless) and "
           "%s\nplay camera 0:\n  gst-launch-1.0 filesrc location=%s/cam0.mkv"
           " ! matroskademux ! videoconvert ! videoscale ! "
           "video/x-raw,width=256,height=256 ! autovideosink\n",
      video_dir, data->n_views - 1, data->n_samples, labels_path, video_dir);
  return TRUE;
}

static int
cmd_dataset_fmv (int argc, char **argv)
{
  gchar *out = NULL, *mnist = NULL, *video = NULL;
  gint seed = 1, limit = 0;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
        "Folder to write train.safetensors and test.safetensors into", "DIR" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed, "Seed (default 1)", "S" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit,
        "Keep only the first N samples of each split", "N" },
    { "fashion-mnist", 0, 0, G_OPTION_ARG_FILENAME, &mnist,
        "Folder of the Fashion-MNIST IDX files (default " DDNN_FASHION_MNIST_DIR
        ")",
        "DIR" },
    { "video", 0, 0, G_OPTION_ARG_FILENAME, &video,
        "Also record the test split as one lossless video per camera "
        "(Matroska, raw GRAY8; frame k is sample k) plus labels.csv",
        "DIR" },
    { NULL }
  };
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  int status;

  status = parse_options ("dataset fmv", "--out DIR",
      "Build FMV-6: six 32x32 GRAY8 cameras over each Fashion-MNIST item. "
      "Near cameras 0-3 see it whole-size with one side (top, right, bottom, "
      "left) hidden by a band of background; far cameras 4-5 see it at 0.7x "
      "and 0.6x with more noise; every camera misses it now and then.",
      "The output is the same for the same seed, and sample k is the same "
      "whatever --limit.  See lib/ddnn-dataset.h for the file format.",
      entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!out || argc != 1 || limit < 0) {
    g_printerr ("ddnn dataset fmv: needs --out DIR (and a --limit >= 0)\n");
    goto out;
  }
  status = 1;
  if (!ddnn_fmv_build (mnist ? mnist : DDNN_FASHION_MNIST_DIR, out, seed, limit,
          print_progress, NULL, &error)) {
    fail (error);
    goto out;
  }
  g_print ("wrote %s/train.safetensors and %s/test.safetensors (seed %d) in "
           "%.1f s\n",
      out, out, seed, (g_get_monotonic_time () - t0) / 1e6);
  if (video && !write_videos (out, video, &error)) {
    fail (error);
    goto out;
  }
  status = 0;
out:
  g_free (out);
  g_free (mnist);
  g_free (video);
  return status;
}

/* ---- dataset import ---- */

/* Decodes a picture or video with stock GStreamer elements into @format
 * (gray8 or rgb) frames of their own size, which it reports. */
static GBytes *
decode_media (const gchar *path, guint channels, gboolean scale, guint width,
    guint height, guint *out_width, guint *out_height, GError **error)
{
  g_autofree gchar *tmp = NULL, *src = NULL, *dst = NULL, *caps = NULL;
  g_autofree gchar *out = NULL, *errors = NULL, *contents = NULL;
  const gchar *format = channels == 1 ? "GRAY8" : "RGB";
  gint fd, exit_status;
  gsize length;
  GMatchInfo *match = NULL;
  GRegex *re;
  gboolean found;

  fd = g_file_open_tmp ("ddnn-import-XXXXXX.raw", &tmp, error);
  if (fd < 0)
    return NULL;
  close (fd);
  src = g_strdup_printf ("location=%s", path);
  dst = g_strdup_printf ("location=%s", tmp);
  caps = scale ? g_strdup_printf ("video/x-raw,format=%s,width=%u,height=%u",
                     format, width, height)
               : g_strdup_printf ("video/x-raw,format=%s", format);
  {
    const gchar *argv[] = { "gst-launch-1.0", "-v", "filesrc", src, "!",
      "decodebin", "!", "videoconvert", "!", "videoscale", "!", caps, "!",
      "filesink", dst, NULL };

    if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
            NULL, &out, &errors, &exit_status, error)) {
      g_unlink (tmp);
      return NULL;
    }
  }
  if (!g_spawn_check_wait_status (exit_status, NULL)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
        "%s: GStreamer cannot decode it%s%s", path,
        errors && *errors ? ": " : "", errors ? g_strstrip (errors) : "");
    g_unlink (tmp);
    return NULL;
  }
  /* the size the frames came out at, from the negotiated caps */
  re = g_regex_new ("filesink.*caps = video/x-raw.*width=\\(int\\)([0-9]+), "
                    "height=\\(int\\)([0-9]+)",
      0, 0, NULL);
  found = g_regex_match (re, out, 0, &match);
  if (found) {
    g_autofree gchar *w = g_match_info_fetch (match, 1);
    g_autofree gchar *h = g_match_info_fetch (match, 2);

    *out_width = atoi (w);
    *out_height = atoi (h);
  }
  g_match_info_free (match);
  g_regex_unref (re);
  if (!found || !g_file_get_contents (tmp, &contents, &length, error)) {
    if (!found)
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO,
          "%s: GStreamer gave no video frames", path);
    g_unlink (tmp);
    return NULL;
  }
  g_unlink (tmp);
  return g_bytes_new_take (g_steal_pointer (&contents), length);
}

/* Area-average resampling of one frame. */
static void
resample_frame (const guint8 *src, guint sw, guint sh, guint channels,
    guint8 *dst, guint dw, guint dh)
{
  guint y, x, c;

  for (y = 0; y < dh; y++)
    for (x = 0; x < dw; x++)
      for (c = 0; c < channels; c++) {
        double y0 = (double) y * sh / dh, y1 = (double) (y + 1) * sh / dh;
        double x0 = (double) x * sw / dw, x1 = (double) (x + 1) * sw / dw;
        double sum = 0.0, area = 0.0;
        guint iy, ix;

        for (iy = (guint) y0; iy < sh && iy < y1; iy++)
          for (ix = (guint) x0; ix < sw && ix < x1; ix++) {
            double a = (MIN (y1, iy + 1.0) - MAX (y0, (double) iy)) *
                (MIN (x1, ix + 1.0) - MAX (x0, (double) ix));

            sum += a * src[((gsize) iy * sw + ix) * channels + c];
            area += a;
          }
        dst[((gsize) y * dw + x) * channels + c] = (guint8) CLAMP (
            sum / MAX (area, 1e-9) + 0.5, 0, 255);
      }
}

typedef struct
{
  gchar *file;
  gchar *label;
  gchar **view_labels;
  guint line;
} ImportRow;

static void
import_row_free (gpointer data)
{
  ImportRow *r = data;

  g_free (r->file);
  g_free (r->label);
  g_strfreev (r->view_labels);
  g_free (r);
}

/* labels.csv: a header naming the columns "file" (images; optional for
 * videos), "label", and optionally "view0" .. "viewN" (a class name, or
 * "absent"). */
static GPtrArray *
read_labels_csv (const gchar *path, guint n_views, GError **error)
{
  g_autofree gchar *contents = NULL;
  g_auto (GStrv) lines = NULL, header = NULL;
  gint file_col = -1, label_col = -1, view_col[DDNN_MAX_VIEWS];
  GPtrArray *rows;
  guint i, v, n_cols;

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  lines = g_strsplit (contents, "\n", -1);
  if (!lines[0]) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "%s: empty", path);
    return NULL;
  }
  header = g_strsplit (g_strstrip (lines[0]), ",", -1);
  n_cols = g_strv_length (header);
  for (v = 0; v < n_views; v++)
    view_col[v] = -1;
  for (i = 0; i < n_cols; i++) {
    gchar *name = g_strstrip (header[i]);

    if (strcmp (name, "file") == 0)
      file_col = i;
    else if (strcmp (name, "label") == 0)
      label_col = i;
    else if (g_str_has_prefix (name, "view") && atoi (name + 4) >= 0 &&
        (guint) atoi (name + 4) < n_views)
      view_col[atoi (name + 4)] = i;
  }
  if (label_col < 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "%s:1: the header names no 'label' column", path);
    return NULL;
  }
  rows = g_ptr_array_new_with_free_func (import_row_free);
  for (i = 1; lines[i]; i++) {
    g_auto (GStrv) cells = NULL;
    ImportRow *row;

    if (!*g_strstrip (lines[i]))
      continue;
    cells = g_strsplit (lines[i], ",", -1);
    if (g_strv_length (cells) != n_cols) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "%s:%u: %u cells, the header has %u", path, i + 1,
          g_strv_length (cells), n_cols);
      g_ptr_array_unref (rows);
      return NULL;
    }
    row = g_new0 (ImportRow, 1);
    row->line = i + 1;
    row->label = g_strdup (g_strstrip (cells[label_col]));
    row->file = file_col >= 0 ? g_strdup (g_strstrip (cells[file_col])) : NULL;
    row->view_labels = g_new0 (gchar *, n_views + 1);
    for (v = 0; v < n_views; v++)
      row->view_labels[v] = g_strdup (
          view_col[v] >= 0 ? g_strstrip (cells[view_col[v]]) : row->label);
    if (!*row->label) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "%s:%u: empty label",
          path, i + 1);
      import_row_free (row);
      g_ptr_array_unref (rows);
      return NULL;
    }
    g_ptr_array_add (rows, row);
  }
  if (rows->len == 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "%s: no rows", path);
    g_ptr_array_unref (rows);
    return NULL;
  }
  return rows;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar *const *) a, *(const gchar *const *) b);
}

static int
cmd_dataset_import (int argc, char **argv)
{
  gchar **cameras = NULL, *labels = NULL, *out = NULL, *size = NULL;
  gboolean rgb = FALSE;
  gdouble test_fraction = 0.2;
  gint seed = 1;
  GOptionEntry entries[] = {
    { "cameras", 'c', 0, G_OPTION_ARG_FILENAME_ARRAY, &cameras,
        "A camera: a folder of PNG/JPEG images or one video file (give it "
        "once per camera, in view order)",
        "PATH" },
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels,
        "CSV with a header: 'file' (the image's name in every camera folder; "
        "not needed for videos, where row k is frame k), 'label', and "
        "optionally 'view0'..'viewN' (a class, or 'absent')",
        "labels.csv" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Data set folder to write",
        "DIR" },
    { "size", 's', 0, G_OPTION_ARG_STRING, &size,
        "Size the views are scaled to (default 32x32)", "WxH" },
    { "rgb", 0, 0, G_OPTION_ARG_NONE, &rgb, "Keep colour (default: gray)",
        NULL },
    { "test-fraction", 't', 0, G_OPTION_ARG_DOUBLE, &test_fraction,
        "Share of the samples that go to the test split (default 0.2)", "F" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed,
        "Seed of the train/test split (default 1)", "S" },
    { NULL }
  };
  g_autoptr (GPtrArray) rows = NULL;
  g_autoptr (GPtrArray) classes = NULL;
  g_autoptr (GHashTable) class_index = NULL;
  guint8 *images = NULL, *sample_labels = NULL, *view_labels = NULL;
  guint width = 32, height = 32, channels, n_views, n, v, k;
  gsize frame;
  GError *error = NULL;
  int status;

  status = parse_options ("dataset import",
      "--cameras PATH --cameras PATH ... --labels labels.csv --out DIR",
      "Turn your own multi-view data into a ddnn data set: one folder of "
      "images, or one video, per camera, and a labels CSV.  Views are "
      "scaled to --size; every camera's images must share one size.",
      "Decoding uses stock GStreamer elements (decodebin), so any format "
      "they read works.",
      entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!cameras || !labels || !out || argc != 1 || !(test_fraction >= 0) ||
      test_fraction >= 1) {
    g_printerr ("ddnn dataset import: needs --cameras (one per camera), "
                "--labels and --out\n");
    goto out;
  }
  if (size &&
      (sscanf (size, "%ux%u", &width, &height) != 2 || width == 0 ||
          height == 0 || width > 4096 || height > 4096)) {
    g_printerr ("ddnn dataset import: --size must be WxH, e.g. 32x32\n");
    goto out;
  }
  status = 1;
  n_views = g_strv_length (cameras);
  if (n_views > DDNN_MAX_VIEWS) {
    g_printerr ("ddnn dataset import: at most %d cameras\n", DDNN_MAX_VIEWS);
    goto out;
  }
  channels = rgb ? 3 : 1;
  if (!(rows = read_labels_csv (labels, n_views, &error))) {
    fail (error);
    goto out;
  }
  n = rows->len;

  /* classes: every name used, sorted, so the order does not depend on the
   * order of the rows */
  class_index = g_hash_table_new (g_str_hash, g_str_equal);
  classes = g_ptr_array_new ();
  for (k = 0; k < n; k++) {
    ImportRow *row = g_ptr_array_index (rows, k);

    if (!g_hash_table_contains (class_index, row->label)) {
      g_hash_table_insert (class_index, row->label, NULL);
      g_ptr_array_add (classes, row->label);
    }
  }
  g_ptr_array_sort (classes, compare_strings);
  if (classes->len < 2 || classes->len >= DDNN_LABEL_ABSENT) {
    g_printerr ("ddnn dataset import: %s: %u classes; 2 to 254 are needed\n",
        labels, classes->len);
    goto out;
  }
  for (k = 0; k < classes->len; k++)
    g_hash_table_insert (
        class_index, g_ptr_array_index (classes, k), GUINT_TO_POINTER (k));
  g_ptr_array_add (classes, NULL);

  frame = (gsize) width * height * channels;
  images = g_malloc0 (frame * n * n_views);
  sample_labels = g_malloc (n);
  view_labels = g_malloc ((gsize) n * n_views);
  for (k = 0; k < n; k++) {
    ImportRow *row = g_ptr_array_index (rows, k);

    sample_labels[k] = GPOINTER_TO_UINT (
        g_hash_table_lookup (class_index, row->label));
    for (v = 0; v < n_views; v++) {
      const gchar *l = row->view_labels[v];
      gpointer value;

      if (strcmp (l, "absent") == 0)
        view_labels[(gsize) k * n_views + v] = DDNN_LABEL_ABSENT;
      else if (g_hash_table_lookup_extended (class_index, l, NULL, &value))
        view_labels[(gsize) k * n_views + v] = GPOINTER_TO_UINT (value);
      else {
        g_printerr ("ddnn dataset import: %s:%u: view%u label '%s' is "
                    "neither a class nor 'absent'\n",
            labels, row->line, v, l);
        goto out;
      }
    }
  }

  for (v = 0; v < n_views; v++) {
    if (g_file_test (cameras[v], G_FILE_TEST_IS_DIR)) {
      guint first_w = 0, first_h = 0;

      for (k = 0; k < n; k++) {
        ImportRow *row = g_ptr_array_index (rows, k);
        g_autofree gchar *path = NULL;
        g_autoptr (GBytes) pixels = NULL;
        guint w = 0, h = 0;

        if (!row->file) {
          g_printerr ("ddnn dataset import: %s:%u: camera %u is a folder, so "
                      "the CSV needs a 'file' column\n",
              labels, row->line, v);
          goto out;
        }
        path = g_build_filename (cameras[v], row->file, NULL);
        if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
          g_printerr ("ddnn dataset import: %s:%u: %s is missing\n", labels,
              row->line, path);
          goto out;
        }
        if (!(pixels = decode_media (
                  path, channels, FALSE, 0, 0, &w, &h, &error))) {
          g_prefix_error (&error, "%s:%u: ", labels, row->line);
          fail (error);
          goto out;
        }
        if (k == 0) {
          first_w = w;
          first_h = h;
        } else if (w != first_w || h != first_h) {
          g_printerr ("ddnn dataset import: %s:%u: %s is %ux%u, but camera "
                      "%u's first image is %ux%u\n",
              labels, row->line, path, w, h, v, first_w, first_h);
          goto out;
        }
        if (g_bytes_get_size (pixels) < (gsize) w * h * channels) {
          g_printerr ("ddnn dataset import: %s: decoded short\n", path);
          goto out;
        }
        resample_frame (g_bytes_get_data (pixels, NULL), w, h, channels,
            images + ((gsize) k * n_views + v) * frame, width, height);
      }
    } else {
      g_autoptr (GBytes) pixels = NULL;
      guint w = 0, h = 0;
      gsize frames;

      if (!g_file_test (cameras[v], G_FILE_TEST_IS_REGULAR)) {
        g_printerr (
            "ddnn dataset import: camera %u: %s is missing\n", v, cameras[v]);
        goto out;
      }
      if (!(pixels = decode_media (
                cameras[v], channels, TRUE, width, height, &w, &h, &error))) {
        fail (error);
        goto out;
      }
      frames = g_bytes_get_size (pixels) / frame;
      if (frames != n) {
        g_printerr ("ddnn dataset import: %s has %" G_GSIZE_FORMAT
                    " frames, but %s has %u rows\n",
            cameras[v], frames, labels, n);
        goto out;
      }
      for (k = 0; k < n; k++)
        memcpy (images + ((gsize) k * n_views + v) * frame,
            (const guint8 *) g_bytes_get_data (pixels, NULL) + k * frame,
            frame);
    }
    g_print ("camera %u: %u views from %s\n", v, n, cameras[v]);
  }

  {
    /* a seeded split: sample k goes to test with the chance given */
    GRand *rand = g_rand_new_with_seed (seed);
    guint8 *split = g_malloc (n), *img[2], *lab[2], *vl[2];
    guint count[2] = { 0, 0 }, s;
    const gchar *names[2] = { "train.safetensors", "test.safetensors" };

    for (k = 0; k < n; k++) {
      split[k] = g_rand_double (rand) < test_fraction;
      count[split[k]]++;
    }
    g_rand_free (rand);
    for (s = 0; s < 2; s++) {
      img[s] = g_malloc (frame * n_views * MAX (count[s], 1));
      lab[s] = g_malloc (MAX (count[s], 1));
      vl[s] = g_malloc ((gsize) n_views * MAX (count[s], 1));
      count[s] = 0;
    }
    for (k = 0; k < n; k++) {
      s = split[k];
      memcpy (img[s] + (gsize) count[s] * n_views * frame,
          images + (gsize) k * n_views * frame, n_views * frame);
      lab[s][count[s]] = sample_labels[k];
      memcpy (vl[s] + (gsize) count[s] * n_views,
          view_labels + (gsize) k * n_views, n_views);
      count[s]++;
    }
    status = 0;
    if (g_mkdir_with_parents (out, 0755) != 0) {
      g_printerr ("ddnn dataset import: cannot create %s\n", out);
      status = 1;
    }
    for (s = 0; s < 2 && status == 0; s++) {
      g_autofree gchar *path = g_build_filename (out, names[s], NULL);

      if (!ddnn_dataset_write (path, count[s], n_views, height, width, channels,
              img[s], lab[s], vl[s], (const gchar *const *) classes->pdata,
              "imported", &error)) {
        fail (error);
        status = 1;
      } else {
        g_print ("wrote %s: %u samples\n", path, count[s]);
      }
    }
    for (s = 0; s < 2; s++) {
      g_free (img[s]);
      g_free (lab[s]);
      g_free (vl[s]);
    }
    g_free (split);
  }

out:
  g_free (images);
  g_free (sample_labels);
  g_free (view_labels);
  g_strfreev (cameras);
  g_free (labels);
  g_free (out);
  g_free (size);
  return status;
}

static int
cmd_dataset (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "fmv") == 0)
    return cmd_dataset_fmv (argc - 1, argv + 1);
  if (argc >= 2 && strcmp (argv[1], "import") == 0)
    return cmd_dataset_import (argc - 1, argv + 1);
  if (argc >= 2 &&
      (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)) {
    g_print ("Usage: ddnn dataset fmv --out DIR [--seed S] [--limit N] "
             "[--video DIR]\n\n"
             "       ddnn dataset import --cameras PATH... --labels CSV "
             "--out DIR\n\n"
             "  fmv      build the FMV-6 multi-view set from Fashion-MNIST\n"
             "  import   turn your own images or videos into a data set\n");
    return 0;
  }
  g_printerr ("ddnn dataset: say which: fmv or import\n");
  return 2;
}

/* ------------------------------------------------------------------ */
/* train                                                               */

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

static int
cmd_train (int argc, char **argv)
{
  gchar *data_dir = NULL, *arch = NULL, *out = NULL;
  gint epochs = 0, seed = 1, threads = 1, batch = 0, limit = 0;
  gint validate = 5000;
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
        "OpenBLAS threads (default 1)", "T" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch,
        "Mini-batch size (default: the arch's, else 64)", "B" },
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "Use the first N samples only",
        "N" },
    { "validate", 'V', 0, G_OPTION_ARG_INT, &validate,
        "Hold the last N samples out of training (default 5000)", "N" },
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

  status = parse_options ("train", "--data DIR --arch ARCH.json --out MODEL",
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
    fail (error);
    goto out;
  }
  train_path = g_build_filename (data_dir, "train.safetensors", NULL);
  if (!(data = ddnn_dataset_open (train_path, &error))) {
    fail (error);
    goto out;
  }
  if (limit > 0 && (guint) limit < data->n_samples)
    data->n_samples = limit;
  n_all = data->n_samples;
  if (validate < 0 || (guint) validate >= n_all / 2) {
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
    fail (error);
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
      fail (error);
      goto out;
    }
  }
  if (!ddnn_trainer_export (trainer, &error)) {
    fail (error);
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
      fail (error);
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
    fail (error);
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

/* ------------------------------------------------------------------ */
/* eval                                                                */

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

static int
cmd_eval (int argc, char **argv)
{
  gchar *model_path = NULL, *data_dir = NULL, *fail_list = NULL;
  gchar *out_dir = NULL, *split = NULL;
  gdouble threshold = -1.0, edge_threshold = -1.0;
  gint limit = 0, views_k = 0, skip = 0;
  gboolean json = FALSE, sweep = FALSE, faults = FALSE, scaling = FALSE;
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

  status = parse_options ("eval", "--model MODEL --data DIR",
      "Evaluate a model on a data set's test split as a deployment would run "
      "it: the accuracy of each device exit, the fused local exit and the "
      "cloud exit, the overall accuracy at the exit threshold, the share of "
      "samples that exit locally, and the bytes the devices send per sample.",
      "Bytes follow the cost model of DESIGN.md: each camera that takes part "
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
    fail (error);
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
  if (!(data = ddnn_dataset_open (test_path, &error))) {
    fail (error);
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
      fail (error);
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
    fail (error);
    goto out;
  }
  raw = (double) __builtin_popcountll (alive) * data->width * data->height *
      data->channels;
  bytes = (double) stats.bytes / n;

  if (json) {
    GString *o = g_string_new ("{");

    g_string_append_printf (o,
        "\"model_id\": \"%s\", \"samples\": %u, \"threshold\": %.4f, "
        "\"views\": [",
        ddnn_model_get_id (model), n, threshold);
    for (v = 0; v < n_views; v++)
      if ((alive >> v) & 1)
        g_string_append_printf (
            o, "%s%u", o->str[o->len - 1] == '[' ? "" : ", ", v);
    g_string_append (o, "], \"device_accuracy\": [");
    for (v = 0; v < n_views; v++) {
      if ((alive >> v) & 1)
        g_string_append_printf (o, "%s%.4f", v ? ", " : "",
            pct (stats.device_right[v], stats.device_seen[v]) / 100);
      else
        g_string_append_printf (o, "%snull", v ? ", " : "");
    }
    g_string_append_printf (o,
        "], \"local_accuracy\": %.4f, \"cloud_accuracy\": %.4f, "
        "\"overall_accuracy\": %.4f, \"local_exit_fraction\": %.4f, "
        "\"bytes_per_sample\": %.1f, \"raw_bytes_per_sample\": %.0f, "
        "\"reduction\": %.2f",
        pct (stats.local_right, n) / 100, pct (stats.cloud_right, n) / 100,
        pct (stats.overall_right, n) / 100, pct (stats.local_exits, n) / 100,
        bytes, raw, raw / MAX (bytes, 1e-9));
    g_string_append_printf (o, ", \"cloud_bytes_per_sample\": %.1f",
        (double) stats.cloud_bytes / n);
    if (ddnn_model_get_edge_section (model))
      g_string_append_printf (o,
          ", \"edge_threshold\": %.4f, \"edge_accuracy\": %.4f, "
          "\"edge_exit_fraction\": %.4f, \"cloud_exit_fraction\": %.4f",
          edge_threshold, pct (stats.edge_right, n) / 100,
          pct (stats.edge_exits, n) / 100,
          pct (n - stats.local_exits - stats.edge_exits, n) / 100);
    g_string_append (o, "}");
    g_print ("%s\n", o->str);
    g_string_free (o, TRUE);
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
    g_print ("  bytes to the cloud    %.1f B per sample (the %s's features "
             "for the samples the cloud answers)\n",
        (double) stats.cloud_bytes / n,
        ddnn_model_get_edge_section (model) ? "edge" : "cameras");
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
      fail (error);
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
        fail (error);
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
  return status;
}

/* ------------------------------------------------------------------ */
/* run                                                                 */

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

static void
print_floats (GString *out, const float *values, guint n)
{
  guint i;

  g_string_append_c (out, '[');
  for (i = 0; i < n; i++)
    g_string_append_printf (out, "%s%.9g", i ? ", " : "", values[i]);
  g_string_append_c (out, ']');
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
  GString *out = g_string_new (NULL);
  const DdnnSectionResult *edge = ddnn_runner_get_edge (runner);
  guint v;

  g_string_append_printf (out,
      "{\"sample\": %u, \"label\": %u, "
      "\"device_scores\": [",
      sample, label);
  for (v = 0; v < r->n_views; v++) {
    if (v)
      g_string_append (out, ", ");
    print_floats (out, ddnn_runner_get_device (runner, v)->scores, n_classes);
  }
  g_string_append (out, "], \"local_scores\": ");
  print_floats (out, ddnn_runner_get_local_scores (runner), n_classes);
  g_string_append_printf (out, ", \"local_entropy\": %.9g", r->local_entropy);
  if (edge) {
    g_string_append (out, ", \"edge_scores\": ");
    print_floats (out, edge->scores, n_classes);
    g_string_append_printf (out, ", \"edge_entropy\": %.9g", r->edge_entropy);
  }
  g_string_append (out, ", \"cloud_scores\": ");
  print_floats (out, ddnn_runner_get_cloud (runner)->scores, n_classes);
  g_string_append_printf (out, ", \"tier\": \"%s\", \"answer\": %u}",
      run_tier_name (r->tier), r->answer);
  g_print ("%s\n", out->str);
  g_string_free (out, TRUE);
}

static int
cmd_run (int argc, char **argv)
{
  gchar *images_path = NULL, *labels_path = NULL, *data_dir = NULL;
  gint n_samples = 8;
  gdouble threshold = -1.0, edge_threshold = -1.0;
  gboolean quiet = FALSE, json = FALSE;
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

  status = parse_options ("run", "MODEL",
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
    fail (error);
    goto out;
  }
  in = ddnn_model_get_input (model);
  if (data_dir) {
    g_autofree gchar *path = g_build_filename (
        data_dir, "test.safetensors", NULL);

    if (!(data = ddnn_dataset_open (path, &error))) {
      fail (error);
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
                                              : FASHION_MNIST_DIR
                  "/t10k-images-idx3-ubyte.gz",
              &error)) ||
        !(labels = ddnn_idx_load (labels_path ? labels_path
                                              : FASHION_MNIST_DIR
                  "/t10k-labels-idx1-ubyte.gz",
              &error))) {
      fail (error);
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
      fail (error);
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

/* ------------------------------------------------------------------ */

static const Command commands[] = {
  { "dataset", "build a multi-view data set (FMV-6)", cmd_dataset },
  { "inspect", "print a model's topology, sizes and costs", cmd_inspect },
  { "run", "run a model's sections on sample images", cmd_run },
  { "train", "train every exit of a model jointly", cmd_train },
  { "init", "write an untrained model from a topology", cmd_init },
  { "eval", "evaluate a model: accuracy by exit, local exits, bytes",
      cmd_eval },
  { "export", "write a model file with only some sections", cmd_export },
};

static void
usage (FILE *out)
{
  guint i;

  fprintf (out,
      "Usage: ddnn COMMAND [OPTION...]\n\n"
      "Build data sets, train, evaluate and inspect distributed deep neural "
      "network models.\n\nCommands:\n");
  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n'ddnn COMMAND --help' explains a command.\n");
}

int
main (int argc, char **argv)
{
  guint i;

  setlocale (LC_ALL, "");
  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0) {
    usage (stdout);
    return 0;
  }
  if (strcmp (argv[1], "--version") == 0) {
    g_print ("ddnn %s\n", PACKAGE_VERSION);
    return 0;
  }
  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  g_printerr ("ddnn: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return 2;
}
