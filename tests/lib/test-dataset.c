/* FMV-6 and the data set container: deterministic for a seed, a --limit is
 * a prefix of the whole, the camera model holds, and a broken file is
 * refused.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ddnn.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static gchar *
build (const gchar *name, guint32 seed, guint limit)
{
  gchar *dir = g_build_filename (g_get_tmp_dir (), name, NULL);
  GError *error = NULL;

  g_assert_true (ddnn_fmv_build (
      DDNN_FASHION_MNIST_DIR, dir, seed, limit, NULL, NULL, &error));
  g_assert_no_error (error);
  return dir;
}

static GBytes *
read_split (const gchar *dir, const gchar *file)
{
  g_autofree gchar *path = g_build_filename (dir, file, NULL);
  gchar *contents;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  return g_bytes_new_take (contents, length);
}

static void
remove_dir (const gchar *dir)
{
  g_autofree gchar *a = g_build_filename (dir, "train.safetensors", NULL);
  g_autofree gchar *b = g_build_filename (dir, "test.safetensors", NULL);

  g_unlink (a);
  g_unlink (b);
  g_rmdir (dir);
}

static void
test_deterministic_and_prefix (void)
{
  g_autofree gchar *a = build ("ddnn-fmv-a", 7, 200);
  g_autofree gchar *b = build ("ddnn-fmv-b", 7, 200);
  g_autofree gchar *c = build ("ddnn-fmv-c", 7, 120);
  g_autofree gchar *d = build ("ddnn-fmv-d", 8, 200);
  g_autoptr (GBytes) ta = read_split (a, "test.safetensors");
  g_autoptr (GBytes) tb = read_split (b, "test.safetensors");
  g_autoptr (GBytes) td = read_split (d, "test.safetensors");
  g_autofree gchar *pa = g_build_filename (a, "test.safetensors", NULL);
  g_autofree gchar *pc = g_build_filename (c, "test.safetensors", NULL);
  g_autoptr (DdnnDataset) full = ddnn_dataset_open (pa, NULL);
  g_autoptr (DdnnDataset) part = ddnn_dataset_open (pc, NULL);

  g_assert_true (g_bytes_equal (ta, tb));
  g_assert_false (g_bytes_equal (ta, td));
  g_assert_nonnull (full);
  g_assert_nonnull (part);
  g_assert_cmpuint (full->n_samples, ==, 200);
  g_assert_cmpuint (part->n_samples, ==, 120);
  g_assert_cmpuint (full->n_views, ==, 6);
  g_assert_cmpuint (full->width, ==, 32);
  g_assert_cmpstr (full->class_names[9], ==, "Ankle boot");
  /* sample k is the same whatever the limit */
  g_assert_cmpmem (full->images, (gsize) 120 * 6 * 1024, part->images,
      (gsize) 120 * 6 * 1024);
  g_assert_cmpmem (full->view_labels, 120 * 6, part->view_labels, 120 * 6);
  remove_dir (a);
  remove_dir (b);
  remove_dir (c);
  remove_dir (d);
}

static void
test_camera_model (void)
{
  /* Render many samples of one item and count what the cameras see. */
  g_autoptr (DdnnIdx) images = ddnn_idx_load (
      DDNN_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz", NULL);
  const guint8 *item;
  guint8 views[6 * 1024], labels[6];
  guint missed[6] = { 0 }, k, v, n = 4000;
  double near_noise = 0, far_noise = 0;

  g_assert_nonnull (images);
  item = g_bytes_get_data (images->data, NULL);
  for (k = 0; k < n; k++) {
    ddnn_fmv_render (item, 9, 1, 1, k, views, labels);
    for (v = 0; v < 6; v++)
      missed[v] += labels[v] == DDNN_LABEL_ABSENT;
    for (v = 0; v < 6; v++)
      if (labels[v] != DDNN_LABEL_ABSENT)
        g_assert_cmpuint (labels[v], ==, 9);
  }
  /* 5 % near, 10 % far, within a generous band of the binomial spread */
  for (v = 0; v < 4; v++)
    g_assert_cmpfloat_with_epsilon (missed[v] / (double) n, 0.05, 0.015);
  for (v = 4; v < 6; v++)
    g_assert_cmpfloat_with_epsilon (missed[v] / (double) n, 0.10, 0.02);
  /* far cameras are noisier: compare the corner pixel's spread, which is
   * background alone */
  for (k = 0; k < 2000; k++) {
    ddnn_fmv_render (item, 9, 1, 1, k, views, labels);
    near_noise += fabs ((double) views[0] - views[1]);
    far_noise += fabs ((double) views[5 * 1024] - views[5 * 1024 + 1]);
  }
  g_assert_cmpfloat (far_noise, >, 2 * near_noise);
}

static void
test_broken_dataset (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("ddnn-ds-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "x.safetensors", NULL);
  const gchar *classes[] = { "a", "b", NULL };
  guint8 images[2 * 4] = { 0 }, labels[2] = { 0, 5 }, view_labels[2] = { 0 };
  GError *error = NULL;

  /* label 5 of 2 classes */
  g_assert_true (ddnn_dataset_write (
      path, 2, 1, 2, 2, 1, images, labels, view_labels, classes, "test", NULL));
  g_assert_null (ddnn_dataset_open (path, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, "garbage", -1, NULL));
  g_assert_null (ddnn_dataset_open (path, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func (
      "/dataset/deterministic-prefix", test_deterministic_and_prefix);
  g_test_add_func ("/dataset/camera-model", test_camera_model);
  g_test_add_func ("/dataset/broken", test_broken_dataset);
  return g_test_run ();
}
