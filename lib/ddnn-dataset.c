/* libddnn: multi-view data sets, and the FMV-6 builder.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-dataset.h"
#include "ddnn-idx.h"
#include "ddnn-safetensors.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DATASET_FORMAT "ddnn-dataset"
#define DATASET_VERSION "1"

void
ddnn_dataset_free (DdnnDataset *dataset)
{
  if (!dataset)
    return;
  g_strfreev (dataset->class_names);
  g_free (dataset->remapped);
  ddnn_safetensors_free (dataset->st);
  g_clear_pointer (&dataset->file, g_mapped_file_unref);
  g_free (dataset);
}

static gchar *
class_list (const gchar *const *names, guint n)
{
  GString *s = g_string_new ("[");
  guint i;

  for (i = 0; i < n; i++)
    g_string_append_printf (s, "%s\"%s\"", i ? ", " : "", names[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

gboolean
ddnn_dataset_match_classes (DdnnDataset *d, const gchar *const *class_names,
    guint n_classes, gboolean remap, GError **error)
{
  guint8 map[256];
  gboolean same_order = d->n_classes == n_classes, same_set = same_order;
  guint i, j;
  gsize k, n_views_labels;

  for (i = 0; i < 256; i++)
    map[i] = (guint8) i;
  for (i = 0; same_order && i < n_classes; i++)
    same_order = strcmp (d->class_names[i], class_names[i]) == 0;
  if (same_order)
    return TRUE;
  for (i = 0; same_set && i < d->n_classes; i++) {
    for (j = 0; j < n_classes; j++)
      if (strcmp (d->class_names[i], class_names[j]) == 0)
        break;
    same_set = j < n_classes;
    map[i] = (guint8) j;
  }
  if (!same_set || !remap) {
    g_autofree gchar *ours = class_list (
        (const gchar *const *) d->class_names, d->n_classes);
    g_autofree gchar *theirs = class_list (class_names, n_classes);

    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "the data set's classes are %s, the model's are %s: %s", ours, theirs,
        same_set ? "the same classes in another order, so every label would "
                   "mean another class; --remap maps the data set's labels "
                   "onto the model's order by name"
                 : "label k would not mean the same class to both; name the "
                   "model's classes as the data set does (ddnn arch --data "
                   "writes an architecture with them)");
    return FALSE;
  }
  /* same names, another order: relabel a copy */
  n_views_labels = (gsize) d->n_samples * d->n_views;
  g_free (d->remapped);
  d->remapped = g_malloc (d->n_samples + n_views_labels);
  for (k = 0; k < d->n_samples; k++)
    d->remapped[k] = map[d->labels[k]];
  for (k = 0; k < n_views_labels; k++)
    d->remapped[d->n_samples + k] = map[d->view_labels[k]];
  d->labels = d->remapped;
  d->view_labels = d->remapped + d->n_samples;
  for (i = 0; i < n_classes; i++) {
    g_free (d->class_names[i]);
    d->class_names[i] = g_strdup (class_names[i]);
  }
  return TRUE;
}

static const DdnnStTensor *
find_u8 (DdnnSafetensors *st, const gchar *name, guint n_dims, GError **error)
{
  const DdnnStTensor *t = ddnn_safetensors_find (st, name);

  if (!t || t->dtype != DDNN_ST_U8 || t->n_dims != n_dims) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_MISSING,
        "no %u-dimensional U8 tensor '%s'", n_dims, name);
    return NULL;
  }
  return t;
}

DdnnDataset *
ddnn_dataset_open (const gchar *path, GError **error)
{
  g_autoptr (DdnnDataset) d = g_new0 (DdnnDataset, 1);
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (JsonParser) parser = NULL;
  const DdnnStTensor *images, *labels, *view_labels;
  DdnnSafetensors *st;
  const gchar *format, *version, *classes;
  GError *local = NULL;
  JsonNode *root;
  guint i, j;

  d->file = g_mapped_file_new (path, FALSE, &local);
  if (!d->file) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO, "%s", local->message);
    g_error_free (local);
    return NULL;
  }
  bytes = g_mapped_file_get_bytes (d->file);
  if (!(st = ddnn_safetensors_parse (bytes, error)))
    goto fail;
  d->st = st;
  format = g_hash_table_lookup (st->metadata, "format");
  version = g_hash_table_lookup (st->metadata, "version");
  classes = g_hash_table_lookup (st->metadata, "classes");
  if (g_strcmp0 (format, DATASET_FORMAT) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "not a ddnn data set (no format \"" DATASET_FORMAT "\")");
    goto fail;
  }
  if (g_strcmp0 (version, DATASET_VERSION) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_VERSION,
        "unknown data set version '%s' (this libddnn reads %s)",
        version ? version : "", DATASET_VERSION);
    goto fail;
  }
  if (!(images = find_u8 (st, "images", 5, error)) ||
      !(labels = find_u8 (st, "labels", 1, error)) ||
      !(view_labels = find_u8 (st, "view_labels", 2, error)))
    goto fail;
  d->n_samples = images->shape[0];
  d->n_views = images->shape[1];
  d->height = images->shape[2];
  d->width = images->shape[3];
  d->channels = images->shape[4];
  if (labels->shape[0] != d->n_samples ||
      view_labels->shape[0] != d->n_samples ||
      view_labels->shape[1] != d->n_views || d->n_views == 0 ||
      d->n_views > 64) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "images, labels and view_labels disagree on samples or views");
    goto fail;
  }
  d->images = images->data;
  d->labels = labels->data;
  d->view_labels = view_labels->data;

  parser = json_parser_new ();
  if (!classes || !ddnn_json_check_depth (classes, strlen (classes), 2, NULL) ||
      !json_parser_load_from_data (parser, classes, -1, NULL) ||
      !JSON_NODE_HOLDS_ARRAY (root = json_parser_get_root (parser))) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "metadata 'classes' is not a JSON array of names");
    goto fail;
  }
  d->n_classes = json_array_get_length (json_node_get_array (root));
  if (d->n_classes < 2 || d->n_classes >= DDNN_LABEL_ABSENT) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "a data set needs 2 to 254 classes, not %u", d->n_classes);
    goto fail;
  }
  d->class_names = g_new0 (gchar *, d->n_classes + 1);
  for (i = 0; i < d->n_classes; i++) {
    JsonNode *e = json_array_get_element (json_node_get_array (root), i);

    d->class_names[i] = g_strdup (JSON_NODE_HOLDS_VALUE (e) &&
                json_node_get_value_type (e) == G_TYPE_STRING
            ? json_node_get_string (e)
            : "?");
  }
  /* every label is checked once here, so readers never meet a bad one */
  for (i = 0; i < d->n_samples; i++) {
    if (d->labels[i] >= d->n_classes) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "sample %u has label %u, but there are %u classes", i, d->labels[i],
          d->n_classes);
      goto fail;
    }
    for (j = 0; j < d->n_views; j++) {
      guint8 v = d->view_labels[(gsize) i * d->n_views + j];

      if (v >= d->n_classes && v != DDNN_LABEL_ABSENT) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
            "sample %u, view %u has label %u", i, j, v);
        goto fail;
      }
    }
  }
  return g_steal_pointer (&d);

fail:
  g_prefix_error (error, "%s: ", path);
  return NULL;
}

gboolean
ddnn_dataset_write (const gchar *path, guint n_samples, guint n_views,
    guint height, guint width, guint channels, const guint8 *images,
    const guint8 *labels, const guint8 *view_labels,
    const gchar *const *class_names, const gchar *source, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GBytes) header = NULL;
  g_autofree gchar *classes = NULL;
  g_autofree gchar *tmp = g_strdup_printf ("%s.part", path);
  gsize shape[5] = { n_samples, n_views, height, width, channels };
  gsize n_images = (gsize) n_samples * n_views * height * width * channels;
  DdnnStWriter *writer;
  gboolean ok;
  FILE *f;
  guint i;

  json_builder_begin_array (b);
  for (i = 0; class_names[i]; i++)
    json_builder_add_string_value (b, class_names[i]);
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  classes = json_generator_to_data (gen, NULL);

  writer = ddnn_st_writer_new ();
  ddnn_st_writer_reserve (writer, "images", DDNN_ST_U8, 5, shape, n_images);
  ddnn_st_writer_reserve (writer, "labels", DDNN_ST_U8, 1, shape, n_samples);
  ddnn_st_writer_reserve (
      writer, "view_labels", DDNN_ST_U8, 2, shape, (gsize) n_samples * n_views);
  ddnn_st_writer_set_metadata (writer, "format", DATASET_FORMAT);
  ddnn_st_writer_set_metadata (writer, "version", DATASET_VERSION);
  ddnn_st_writer_set_metadata (writer, "classes", classes);
  ddnn_st_writer_set_metadata (writer, "source", source ? source : "");
  header = ddnn_st_writer_finish_header (writer);
  ddnn_st_writer_free (writer);

  /* written beside, then renamed: a reader never sees half a file */
  f = g_fopen (tmp, "wb");
  if (!f) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO, "cannot write %s: %s", tmp,
        g_strerror (errno));
    return FALSE;
  }
  ok = fwrite (g_bytes_get_data (header, NULL), 1, g_bytes_get_size (header),
           f) == g_bytes_get_size (header) &&
      fwrite (images, 1, n_images, f) == n_images &&
      fwrite (labels, 1, n_samples, f) == n_samples &&
      fwrite (view_labels, 1, (gsize) n_samples * n_views, f) ==
          (gsize) n_samples * n_views;
  ok = (fclose (f) == 0) && ok;
  if (!ok || g_rename (tmp, path) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO, "cannot write %s: %s", path,
        g_strerror (errno));
    g_unlink (tmp);
    return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* FMV-6                                                               */

#define FMV_VIEWS 6
#define FMV_SIDE 32
#define MNIST_SIDE 28

static const gchar *const fashion_classes[] = { "T-shirt/top", "Trouser",
  "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
  "Ankle boot", NULL };

/* Per camera: object scale, sensor noise, chance of missing the object,
 * and which side (0 top, 1 right, 2 bottom, 3 left; -1 none) a band of
 * background hides. */
static const struct
{
  double scale, noise, miss;
  gint hidden_side;
} cameras[FMV_VIEWS] = {
  { 1.0, 0.03, 0.05, 0 },
  { 1.0, 0.03, 0.05, 1 },
  { 1.0, 0.03, 0.05, 2 },
  { 1.0, 0.03, 0.05, 3 },
  { 0.7, 0.10, 0.10, -1 },
  { 0.6, 0.15, 0.10, -1 },
};

static double
gaussian (GRand *rand)
{
  double u = g_rand_double (rand), v = g_rand_double (rand);

  return sqrt (-2.0 * log (1.0 - u)) * cos (2.0 * G_PI * v);
}

/* Area-average resampling of a 28x28 item to side x side. */
static void
resample (const guint8 *object, guint side, float *out)
{
  double step = (double) MNIST_SIDE / side;
  guint y, x;

  for (y = 0; y < side; y++) {
    for (x = 0; x < side; x++) {
      double y0 = y * step, y1 = y0 + step, x0 = x * step, x1 = x0 + step;
      double sum = 0.0;
      guint iy, ix;

      for (iy = (guint) y0; iy < MNIST_SIDE && iy < y1; iy++) {
        double wy = MIN (y1, iy + 1.0) - MAX (y0, (double) iy);

        for (ix = (guint) x0; ix < MNIST_SIDE && ix < x1; ix++) {
          double wx = MIN (x1, ix + 1.0) - MAX (x0, (double) ix);

          sum += wy * wx * object[iy * MNIST_SIDE + ix];
        }
      }
      out[y * side + x] = (float) (sum / (step * step) / 255.0);
    }
  }
}

void
ddnn_fmv_render (const guint8 *object, guint label, guint32 seed, guint split,
    guint index, guint8 *views, guint8 *view_labels)
{
  guint32 key[3] = { seed, split, index };
  GRand *rand = g_rand_new_with_seed_array (key, 3);
  float canvas[FMV_SIDE * FMV_SIDE], item[MNIST_SIDE * MNIST_SIDE];
  guint v, y, x;

  for (v = 0; v < FMV_VIEWS; v++) {
    double background = g_rand_double_range (rand, 0.0, 0.35);
    gboolean present = g_rand_double (rand) >= cameras[v].miss;
    guint8 *out = views + v * FMV_SIDE * FMV_SIDE;

    for (x = 0; x < FMV_SIDE * FMV_SIDE; x++)
      canvas[x] = (float) background;

    if (present) {
      guint side = (guint) lround (MNIST_SIDE * cameras[v].scale);
      gint ox = (FMV_SIDE - (gint) side) / 2 + g_rand_int_range (rand, -2, 3);
      gint oy = (FMV_SIDE - (gint) side) / 2 + g_rand_int_range (rand, -2, 3);
      guint top = side, bottom = 0, left = side, right = 0;

      resample (object, side, item);
      /* the object's box: where it has ink */
      for (y = 0; y < side; y++)
        for (x = 0; x < side; x++)
          if (item[y * side + x] > 0.05f) {
            top = MIN (top, y);
            bottom = MAX (bottom, y + 1);
            left = MIN (left, x);
            right = MAX (right, x + 1);
          }
      if (cameras[v].hidden_side >= 0 && bottom > top) {
        double band = g_rand_double_range (rand, 0.35, 0.50);
        guint bh = (guint) lround ((bottom - top) * band);
        guint bw = (guint) lround ((right - left) * band);

        for (y = 0; y < side; y++)
          for (x = 0; x < side; x++) {
            gboolean hidden = FALSE;

            switch (cameras[v].hidden_side) {
              case 0:
                hidden = y < top + bh;
                break;
              case 1:
                hidden = x >= right - bw;
                break;
              case 2:
                hidden = y >= bottom - bh;
                break;
              case 3:
                hidden = x < left + bw;
                break;
            }
            if (hidden)
              item[y * side + x] = 0.0f;
          }
      }
      for (y = 0; y < side; y++) {
        gint cy = oy + (gint) y;

        if (cy < 0 || cy >= FMV_SIDE)
          continue;
        for (x = 0; x < side; x++) {
          gint cx = ox + (gint) x;
          float a = item[y * side + x];
          float *p;

          if (cx < 0 || cx >= FMV_SIDE)
            continue;
          p = &canvas[cy * FMV_SIDE + cx];
          *p = a + *p * (1.0f - a);
        }
      }
      view_labels[v] = (guint8) label;
    } else {
      /* clutter: a few shapes that are not the object */
      guint n = g_rand_int_range (rand, 2, 5), k;

      for (k = 0; k < n; k++) {
        guint w = g_rand_int_range (rand, 3, 14),
              h = g_rand_int_range (rand, 3, 14);
        guint x0 = g_rand_int_range (rand, 0, FMV_SIDE - w + 1);
        guint y0 = g_rand_int_range (rand, 0, FMV_SIDE - h + 1);
        float a = (float) g_rand_double_range (rand, 0.2, 0.8);

        for (y = y0; y < y0 + h; y++)
          for (x = x0; x < x0 + w; x++)
            canvas[y * FMV_SIDE + x] = a + canvas[y * FMV_SIDE + x] * (1 - a);
      }
      view_labels[v] = DDNN_LABEL_ABSENT;
    }

    for (x = 0; x < FMV_SIDE * FMV_SIDE; x++) {
      double p = canvas[x] + cameras[v].noise * gaussian (rand);

      out[x] = (guint8) lround (CLAMP (p, 0.0, 1.0) * 255.0);
    }
  }
  g_rand_free (rand);
}

static gboolean
build_split (const gchar *mnist_dir, const gchar *out_dir, const gchar *prefix,
    const gchar *name, guint split, guint32 seed, guint limit,
    DdnnProgressFunc progress, gpointer user_data, GError **error)
{
  g_autofree gchar *images_path = NULL, *labels_path = NULL, *out = NULL;
  g_autofree gchar *source = NULL;
  g_autoptr (DdnnIdx) images = NULL;
  g_autoptr (DdnnIdx) labels = NULL;
  guint8 *views, *view_labels, *sample_labels;
  const guint8 *pixels, *classes;
  guint n, i;
  gboolean ok;

  images_path = g_strdup_printf (
      "%s/%s-images-idx3-ubyte.gz", mnist_dir, prefix);
  labels_path = g_strdup_printf (
      "%s/%s-labels-idx1-ubyte.gz", mnist_dir, prefix);
  if (!(images = ddnn_idx_load (images_path, error)) ||
      !(labels = ddnn_idx_load (labels_path, error)))
    return FALSE;
  if (images->n_dims != 3 || images->dims[1] != MNIST_SIDE ||
      images->dims[2] != MNIST_SIDE || labels->n_dims != 1 ||
      labels->dims[0] != images->dims[0]) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "%s: expected N 28x28 images and N labels", images_path);
    return FALSE;
  }
  n = images->dims[0];
  if (limit && limit < n)
    n = limit;
  pixels = g_bytes_get_data (images->data, NULL);
  classes = g_bytes_get_data (labels->data, NULL);
  for (i = 0; i < n; i++) {
    if (classes[i] >= 10) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "%s: label %u of item %u is not a Fashion-MNIST class", labels_path,
          classes[i], i);
      return FALSE;
    }
  }

  views = g_malloc ((gsize) n * FMV_VIEWS * FMV_SIDE * FMV_SIDE);
  view_labels = g_malloc ((gsize) n * FMV_VIEWS);
  sample_labels = g_malloc (n);
  for (i = 0; i < n; i++) {
    ddnn_fmv_render (pixels + (gsize) i * MNIST_SIDE * MNIST_SIDE, classes[i],
        seed, split, i, views + (gsize) i * FMV_VIEWS * FMV_SIDE * FMV_SIDE,
        view_labels + (gsize) i * FMV_VIEWS);
    sample_labels[i] = classes[i];
    if (progress && (i % 1000 == 999 || i + 1 == n))
      progress (name, i + 1, n, user_data);
  }
  out = g_build_filename (
      out_dir, split == 0 ? "train.safetensors" : "test.safetensors", NULL);
  source = g_strdup_printf (
      "FMV-6 v1 from Fashion-MNIST %s, seed %u", prefix, seed);
  ok = ddnn_dataset_write (out, n, FMV_VIEWS, FMV_SIDE, FMV_SIDE, 1, views,
      sample_labels, view_labels, fashion_classes, source, error);
  g_free (views);
  g_free (view_labels);
  g_free (sample_labels);
  return ok;
}

gboolean
ddnn_fmv_build (const gchar *mnist_dir, const gchar *out_dir, guint32 seed,
    guint limit, DdnnProgressFunc progress, gpointer user_data, GError **error)
{
  if (g_mkdir_with_parents (out_dir, 0755) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO, "cannot create %s: %s",
        out_dir, g_strerror (errno));
    return FALSE;
  }
  return build_split (mnist_dir, out_dir, "train", "train", 0, seed, limit,
             progress, user_data, error) &&
      build_split (mnist_dir, out_dir, "t10k", "test", 1, seed, limit, progress,
          user_data, error);
}

gboolean
ddnn_drift_parse (const gchar *name, DdnnDrift *drift, GError **error)
{
  static const gchar *names[] = { "none", "noise", "contrast", "occlusion" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (name, names[i]) == 0) {
      *drift = (DdnnDrift) i;
      return TRUE;
    }
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
      "unknown drift '%s': give noise, contrast or occlusion", name);
  return FALSE;
}

void
ddnn_dataset_drift (guint8 *images, guint n_samples, guint n_views,
    guint height, guint width, guint channels, DdnnDrift drift, guint start,
    guint32 seed)
{
  gsize view_size = (gsize) height * width * channels;
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed ^ 0x5eed0d71u);
  guint contrast_view = seed % MAX (n_views, 1), band_row[64], k, v;
  gsize i;

  for (v = 0; v < n_views && v < 64; v++)
    band_row[v] = (guint) g_rand_int_range (rand, 0, (gint32) height);
  for (k = start; k < n_samples; k++) {
    double s = n_samples - start > 1
        ? (double) (k - start) / (n_samples - start - 1)
        : 1.0;

    for (v = 0; v < n_views; v++) {
      guint8 *p = images + ((gsize) k * n_views + v) * view_size;

      switch (drift) {
        case DDNN_DRIFT_NOISE:
          for (i = 0; i < view_size; i++) {
            /* Box-Muller */
            double u = 1.0 - g_rand_double (rand), w = g_rand_double (rand);
            double x = p[i] +
                96.0 * s * sqrt (-2.0 * log (u)) * cos (2 * G_PI * w);

            p[i] = (guint8) CLAMP (lround (x), 0, 255);
          }
          break;
        case DDNN_DRIFT_CONTRAST:
          if (v == contrast_view) {
            double mean = 0, keep = 1 - 0.95 * s;

            for (i = 0; i < view_size; i++)
              mean += p[i];
            mean /= view_size;
            for (i = 0; i < view_size; i++)
              p[i] = (guint8) CLAMP (
                  lround (mean + (p[i] - mean) * keep), 0, 255);
          }
          break;
        case DDNN_DRIFT_OCCLUSION: {
          guint rows = (guint) lround (0.6 * s * height), y;
          guint top = band_row[v % 64] >= rows / 2
              ? MIN (band_row[v % 64] - rows / 2, height - rows)
              : 0;

          for (y = top; y < top + rows && y < height; y++)
            memset (
                p + (gsize) y * width * channels, 0, (gsize) width * channels);
          break;
        }
        case DDNN_DRIFT_NONE:
          break;
      }
    }
  }
}
