/* ddnn dataset: the FMV-6 data set, and the command's dispatch to fmv and import.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

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

/* Rewrites DIR/test.safetensors with @drift from sample @start on. */
static gboolean
drift_test_split (const gchar *dir, DdnnDrift drift, const gchar *name,
    gint start, guint32 seed, GError **error)
{
  g_autofree gchar *path = g_build_filename (dir, "test.safetensors", NULL);
  g_autofree gchar *source = NULL;
  g_autofree guint8 *images = NULL, *labels = NULL, *view_labels = NULL;
  g_autoptr (DdnnDataset) data = NULL;
  gsize size;
  guint first;

  if (!(data = ddnn_dataset_open (path, error)))
    return FALSE;
  first = start >= 0 ? MIN ((guint) start, data->n_samples)
                     : data->n_samples / 3;
  size = (gsize) data->n_samples * data->n_views * data->height * data->width *
      data->channels;
  images = g_memdup2 (data->images, size);
  labels = g_memdup2 (data->labels, data->n_samples);
  view_labels = g_memdup2 (
      data->view_labels, (gsize) data->n_samples * data->n_views);
  ddnn_dataset_drift (images, data->n_samples, data->n_views, data->height,
      data->width, data->channels, drift, first, seed);
  source = g_strdup_printf ("FMV-6 (seed %u), test split drifting (%s) "
                            "from sample %u",
      seed, name, first);
  if (!ddnn_dataset_write (path, data->n_samples, data->n_views, data->height,
          data->width, data->channels, images, labels, view_labels,
          (const gchar *const *) data->class_names, source, error))
    return FALSE;
  g_print ("test split drifting (%s) from sample %u of %u\n", name, first,
      data->n_samples);
  return TRUE;
}

int
cmd_dataset_fmv (int argc, char **argv)
{
  gchar *out = NULL, *mnist = NULL, *video = NULL, *drift_name = NULL;
  gint seed = 1, limit = 0, drift_start = -1;
  DdnnDrift drift = DDNN_DRIFT_NONE;
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
    { "drift", 0, 0, G_OPTION_ARG_STRING, &drift_name,
        "Make the test split a stream whose conditions change part-way: "
        "noise (rising on every camera), contrast (one camera's collapsing) "
        "or occlusion (bands growing)",
        "KIND" },
    { "drift-start", 0, 0, G_OPTION_ARG_INT, &drift_start,
        "The sample the drift starts at (default: a third of the way in); "
        "it is at its worst at the last sample",
        "K" },
    { NULL }
  };
  GError *error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  int status;

  status = ddnn_cli_parse_options ("dataset fmv", "--out DIR",
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
  if (drift_name && !ddnn_drift_parse (drift_name, &drift, &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  status = 1;
  if (!ddnn_fmv_build (mnist ? mnist : DDNN_FASHION_MNIST_DIR, out, seed, limit,
          print_progress, NULL, &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  g_print ("wrote %s/train.safetensors and %s/test.safetensors (seed %d) in "
           "%.1f s\n",
      out, out, seed, (g_get_monotonic_time () - t0) / 1e6);
  if (drift != DDNN_DRIFT_NONE &&
      !drift_test_split (
          out, drift, drift_name, drift_start, (guint32) seed, &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  if (video && !write_videos (out, video, &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  status = 0;
out:
  g_free (out);
  g_free (mnist);
  g_free (video);
  g_free (drift_name);
  return status;
}

int
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
