/* ddnn dataset import: a data set from your own cameras' images or videos.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

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

/* One CSV line split into cells: a cell may be in double quotes, where a
 * comma is part of it and "" is a quote; spaces around a cell go.  NULL for
 * a quote left open. */
static GStrv
split_csv_line (const gchar *line)
{
  GPtrArray *cells = g_ptr_array_new ();
  GString *cell = g_string_new (NULL);
  const gchar *p = line;
  gboolean quoted = FALSE, was_quoted = FALSE;

  for (;; p++) {
    if (quoted) {
      if (!*p) {
        g_string_free (cell, TRUE);
        g_ptr_array_set_free_func (cells, g_free);
        g_ptr_array_unref (cells);
        return NULL;
      }
      if (*p == '"' && p[1] == '"')
        g_string_append_c (cell, *p++);
      else if (*p == '"')
        quoted = FALSE;
      else
        g_string_append_c (cell, *p);
      continue;
    }
    if (*p == '"' && !*g_strstrip (cell->str)) {
      g_string_truncate (cell, 0);
      quoted = was_quoted = TRUE;
    } else if (*p == ',' || !*p) {
      gchar *text = g_string_free (cell, FALSE);

      g_ptr_array_add (cells, was_quoted ? text : g_strstrip (text));
      if (!*p)
        break;
      cell = g_string_new (NULL);
      was_quoted = FALSE;
    } else if (!was_quoted) {
      g_string_append_c (cell, *p);
    }
  }
  g_ptr_array_add (cells, NULL);
  return (GStrv) g_ptr_array_free (cells, FALSE);
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
  header = split_csv_line (lines[0]);
  if (!header) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "%s:1: a quote is left open", path);
    return NULL;
  }
  n_cols = g_strv_length (header);
  for (v = 0; v < n_views; v++)
    view_col[v] = -1;
  for (i = 0; i < n_cols; i++) {
    gchar *name = header[i];

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
    cells = split_csv_line (lines[i]);
    if (!cells) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "%s:%u: a quote is left open", path, i + 1);
      g_ptr_array_unref (rows);
      return NULL;
    }
    if (g_strv_length (cells) != n_cols) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "%s:%u: %u cells, the header has %u", path, i + 1,
          g_strv_length (cells), n_cols);
      g_ptr_array_unref (rows);
      return NULL;
    }
    row = g_new0 (ImportRow, 1);
    row->line = i + 1;
    row->label = g_strdup (cells[label_col]);
    row->file = file_col >= 0 ? g_strdup (cells[file_col]) : NULL;
    row->view_labels = g_new0 (gchar *, n_views + 1);
    for (v = 0; v < n_views; v++)
      row->view_labels[v] = g_strdup (
          view_col[v] >= 0 ? cells[view_col[v]] : row->label);
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

int
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
  gboolean tty = isatty (fileno (stdout));
  GError *error = NULL;
  int status;

  status = ddnn_cli_parse_options ("dataset import",
      "--cameras PATH --cameras PATH ... --labels labels.csv --out DIR",
      "Turn your own multi-view data into a ddnn data set: one folder of "
      "images, or one video, per camera, and a labels CSV.  Views are "
      "scaled to --size; every camera's images must share one size.",
      "Decoding runs in process through stock GStreamer elements "
      "(decodebin into appsink), so any format they read works; one camera's "
      "pictures must share a format.",
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
    ddnn_cli_fail (error);
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
      g_autoptr (DdnnDecoder) decoder = ddnn_decoder_new (channels, &error);
      guint first_w = 0, first_h = 0;

      if (!decoder) {
        ddnn_cli_fail (error);
        goto out;
      }
      for (k = 0; k < n; k++) {
        ImportRow *row = g_ptr_array_index (rows, k);
        g_autofree gchar *path = NULL;
        g_autofree guint8 *pixels = NULL;
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
        if (!ddnn_decoder_picture (decoder, path, &pixels, &w, &h, &error)) {
          g_prefix_error (&error, "%s:%u: ", labels, row->line);
          ddnn_cli_fail (error);
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
        resample_frame (pixels, w, h, channels,
            images + ((gsize) k * n_views + v) * frame, width, height);
        if (tty && (k % 64 == 63 || k + 1 == n))
          g_print ("\rcamera %u: %u/%u pictures", v, k + 1, n);
      }
      if (tty)
        g_print ("\r");
    } else {
      g_autoptr (GBytes) pixels = NULL;
      guint frames = 0;

      if (!g_file_test (cameras[v], G_FILE_TEST_IS_REGULAR)) {
        g_printerr (
            "ddnn dataset import: camera %u: %s is missing\n", v, cameras[v]);
        goto out;
      }
      if (tty)
        g_print ("camera %u: decoding %s", v, cameras[v]);
      if (!(pixels = ddnn_decode_video (
                cameras[v], channels, width, height, &frames, &error))) {
        if (tty)
          g_print ("\n");
        ddnn_cli_fail (error);
        goto out;
      }
      if (tty)
        g_print ("\r");
      if (frames != n) {
        g_printerr ("ddnn dataset import: %s has %u frames, but %s has %u "
                    "rows\n",
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
        ddnn_cli_fail (error);
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
