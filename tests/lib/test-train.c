/* The trainer: every float layer's backward pass against central finite
 * differences, the straight-through estimator, Adam on a hand-worked step,
 * and byte-for-byte determinism of a training run.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ddnn.h>
#include <ddnn-train-private.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#define TOLERANCE 1e-3

/* A one-layer "section" to pull a DdnnLayer spec out of a topology. */
static DdnnModel *
model_with_body (const gchar *in, const gchar *layers)
{
  g_autofree gchar *topology = g_strdup_printf (
      "{\"input\": %s, "
      "\"classes\": [\"a\", \"b\"], \"views\": 1, \"sections\": ["
      "{\"name\": \"d\", \"tier\": \"device\", \"view\": 0, \"body\": [%s],"
      " \"exit\": [{\"type\": \"linear\", \"out\": 2}]},"
      "{\"name\": \"c\", \"tier\": \"cloud\", \"body\": [],"
      " \"exit\": [{\"type\": \"linear\", \"out\": 2}]}]}",
      in, layers);
  GError *error = NULL;
  DdnnModel *model = ddnn_model_new_from_topology (topology, 1, &error);

  g_assert_no_error (error);
  return model;
}

/* L = sum_i r_i y_i for fixed random r; dL/dy = r. */
static double
loss_of (DdnnTrainLayer *l, guint n, const float *x, const float *r)
{
  double loss = 0.0;
  gsize i;

  ddnn_train_layer_forward (l, n, x, TRUE);
  for (i = 0; i < n * l->out_size; i++)
    loss += (double) r[i] * l->out[i];
  return loss;
}

/* Checks dL/dx and dL/dparams of the first body layer of @model against
 * central differences of step @eps.  Layers linear in what is varied (conv,
 * linear, average pooling) take a large step, which float32 rounding cannot
 * swamp; the others a small one. */
static void
check_gradients (
    const gchar *what, DdnnModel *model, guint n, guint32 seed, double eps)
{
  DdnnSection *s = ddnn_model_get_device_section (model, 0);
  DdnnLayer *spec = g_ptr_array_index (s->body, 0);
  GRand *rand = g_rand_new_with_seed (seed);
  DdnnTrainLayer *l = ddnn_train_layer_new (spec, n, rand);
  gsize in_n = n * l->in_size, out_n = n * l->out_size, i;
  float *x = g_new (float, in_n), *r = g_new (float, out_n);
  float *dx = g_new (float, in_n);
  DdnnTrainParam *params[4] = { &l->weight, &l->bias, &l->gamma, &l->beta };
  double worst = 0.0;
  guint p;

  for (i = 0; i < in_n; i++)
    x[i] = (float) g_rand_double_range (rand, -2, 2);
  for (i = 0; i < out_n; i++)
    r[i] = (float) g_rand_double_range (rand, -1, 1);
  for (p = 0; p < 4; p++)
    for (i = 0; params[p]->value && i < params[p]->n; i++)
      params[p]->value[i] = (float) g_rand_double_range (rand, 0.5, 1.5) *
          (g_rand_boolean (rand) ? 1 : -1);

  loss_of (l, n, x, r);
  ddnn_train_layer_backward (l, n, r, TRUE);
  memcpy (dx, l->dx, in_n * sizeof (float));

  {
    /* dL/dx: the relative error of the whole gradient, ||a - n|| /
     * (||a|| + ||n||), the usual measure for float32 checks */
    double diff = 0.0, norm_a = 0.0, norm_n = 0.0;

    for (i = 0; i < in_n; i++) {
      float keep = x[i];
      double up, down, numeric;

      x[i] = keep + eps;
      up = loss_of (l, n, x, r);
      x[i] = keep - eps;
      down = loss_of (l, n, x, r);
      x[i] = keep;
      numeric = (up - down) / (2 * eps);
      diff += (numeric - dx[i]) * (numeric - dx[i]);
      norm_a += (double) dx[i] * dx[i];
      norm_n += numeric * numeric;
    }
    worst = MAX (
        worst, sqrt (diff) / MAX (sqrt (norm_a) + sqrt (norm_n), 1e-12));
  }
  for (p = 0; p < 4; p++) {
    DdnnTrainParam *q = params[p];
    double diff = 0.0, norm_a = 0.0, norm_n = 0.0;
    float *grad;

    if (!q->value)
      continue;
    loss_of (l, n, x, r);
    ddnn_train_layer_backward (l, n, r, TRUE);
    grad = g_memdup2 (q->grad, q->n * sizeof (float));
    for (i = 0; i < q->n; i++) {
      float keep = q->value[i];
      double up, down, numeric;

      q->value[i] = keep + eps;
      up = loss_of (l, n, x, r);
      q->value[i] = keep - eps;
      down = loss_of (l, n, x, r);
      q->value[i] = keep;
      numeric = (up - down) / (2 * eps);
      diff += (numeric - grad[i]) * (numeric - grad[i]);
      norm_a += (double) grad[i] * grad[i];
      norm_n += numeric * numeric;
    }
    worst = MAX (
        worst, sqrt (diff) / MAX (sqrt (norm_a) + sqrt (norm_n), 1e-12));
    g_free (grad);
  }
  if (worst > TOLERANCE)
    g_error ("%s: worst relative error %.3g > %g", what, worst, TOLERANCE);
  g_test_message ("%s: worst relative error %.2g", what, worst);

  ddnn_train_layer_free (l);
  g_free (x);
  g_free (r);
  g_free (dx);
  g_rand_free (rand);
}

static const gchar image[] = "{\"channels\": 2, \"height\": 5, \"width\": 6}";

static void
test_grad_conv (void)
{
  g_autoptr (DdnnModel) a = model_with_body (image,
      "{\"type\": \"conv2d\", \"out\": 3, \"kernel\": 3, \"pad\": 1,"
      " \"bias\": true}");
  g_autoptr (DdnnModel) b = model_with_body (image,
      "{\"type\": \"conv2d\", \"out\": 2, \"kernel\": 2, \"stride\": 2}");

  check_gradients ("conv 3x3 pad 1", a, 3, 1, 0.25);
  check_gradients ("conv 2x2 stride 2", b, 2, 2, 0.25);
}

static void
test_grad_grouped_conv (void)
{
  g_autoptr (DdnnModel) a = model_with_body (image,
      "{\"type\": \"conv2d\", \"out\": 4, \"kernel\": 3, \"pad\": 1,"
      " \"groups\": 2, \"bias\": true}");
  g_autoptr (DdnnModel) b = model_with_body (image,
      "{\"type\": \"conv2d\", \"out\": 2, \"kernel\": 2, \"stride\": 2,"
      " \"groups\": 2}");

  check_gradients ("grouped conv 3x3 pad 1, 2 groups", a, 3, 4, 0.25);
  check_gradients ("depthwise conv 2x2 stride 2", b, 2, 5, 0.25);
}

static void
test_grad_linear (void)
{
  g_autoptr (DdnnModel) m = model_with_body (
      image, "{\"type\": \"linear\", \"out\": 7, \"bias\": true}");

  check_gradients ("linear", m, 4, 3, 0.25);
}

static void
test_grad_pools (void)
{
  g_autoptr (DdnnModel) a = model_with_body (image,
      "{\"type\": \"maxpool\", \"kernel\": 3, \"stride\": 2, \"pad\": 1}");
  g_autoptr (DdnnModel) b = model_with_body (image,
      "{\"type\": \"avgpool\", \"kernel\": 2, \"stride\": 1, \"pad\": 1}");

  /* random inputs almost never tie within eps of a window's maximum */
  check_gradients ("maxpool", a, 2, 4, 1e-3);
  check_gradients ("avgpool", b, 2, 5, 0.25);
}

static void
test_grad_batch_norm (void)
{
  g_autoptr (DdnnModel)
      m = model_with_body (image, "{\"type\": \"batchnorm\"}");

  check_gradients ("batch norm (training)", m, 4, 6, 1e-2);
}

static void
test_grad_relu (void)
{
  g_autoptr (DdnnModel) m = model_with_body (image, "{\"type\": \"relu\"}");

  check_gradients ("relu", m, 2, 7, 1e-3);
}

static void
test_sign_straight_through (void)
{
  g_autoptr (DdnnModel) m = model_with_body ("{\"channels\": 1, "
                                             "\"height\": 1, \"width\": 4}",
      "{\"type\": \"sign\"}");
  DdnnLayer *spec = g_ptr_array_index (
      ddnn_model_get_device_section (m, 0)->body, 0);
  GRand *rand = g_rand_new_with_seed (1);
  DdnnTrainLayer *l = ddnn_train_layer_new (spec, 1, rand);
  const float x[4] = { -2.0f, -0.5f, 0.0f, 1.5f };
  const float dy[4] = { 1, 2, 3, 4 };

  ddnn_train_layer_forward (l, 1, x, TRUE);
  g_assert_cmpfloat (l->out[0], ==, -1);
  g_assert_cmpfloat (l->out[2], ==, 1);
  ddnn_train_layer_backward (l, 1, dy, TRUE);
  /* passes where |x| <= 1, blocks elsewhere */
  g_assert_cmpfloat (l->dx[0], ==, 0);
  g_assert_cmpfloat (l->dx[1], ==, 2);
  g_assert_cmpfloat (l->dx[2], ==, 3);
  g_assert_cmpfloat (l->dx[3], ==, 0);
  ddnn_train_layer_free (l);
  g_rand_free (rand);
}

static void
test_binary_weights_straight_through (void)
{
  /* A binary linear multiplies by sign(w) and hands dL/dsign(w) to w. */
  g_autoptr (DdnnModel) m = model_with_body ("{\"channels\": 1, "
                                             "\"height\": 1, \"width\": 2}",
      "{\"type\": \"linear\", \"out\": 1,"
      " \"binary\": true}");
  DdnnLayer *spec = g_ptr_array_index (
      ddnn_model_get_device_section (m, 0)->body, 0);
  GRand *rand = g_rand_new_with_seed (1);
  DdnnTrainLayer *l = ddnn_train_layer_new (spec, 1, rand);
  const float x[2] = { 3, 5 }, dy[1] = { 2 };

  l->weight.value[0] = 0.25f;
  l->weight.value[1] = -0.1f;
  ddnn_train_layer_forward (l, 1, x, TRUE);
  g_assert_cmpfloat (l->out[0], ==, 3 - 5);
  ddnn_train_layer_backward (l, 1, dy, TRUE);
  g_assert_cmpfloat (l->weight.grad[0], ==, 6);
  g_assert_cmpfloat (l->weight.grad[1], ==, 10);
  g_assert_cmpfloat (l->dx[0], ==, 2);
  g_assert_cmpfloat (l->dx[1], ==, -2);
  ddnn_train_layer_free (l);
  g_rand_free (rand);
}

/* A tiny data set in memory, written to disk. */
static gchar *
tiny_dataset (const gchar *dir)
{
  const gchar *classes[] = { "a", "b", NULL };
  gchar *path = g_build_filename (dir, "train.safetensors", NULL);
  guint n = 96, v, i;
  guint8 *images = g_new (guint8, n * 2 * 16), labels[96], view_labels[192];
  GRand *rand = g_rand_new_with_seed (3);

  for (i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (v = 0; v < 2; v++) {
      guint p;

      view_labels[i * 2 + v] = (i % 7 == v) ? DDNN_LABEL_ABSENT : labels[i];
      for (p = 0; p < 16; p++)
        images[(i * 2 + v) * 16 + p] = (guint8) (labels[i] * 120 +
            g_rand_int_range (rand, 0, 100) + (p % 4) * 10);
    }
  }
  g_assert_true (ddnn_dataset_write (
      path, n, 2, 4, 4, 1, images, labels, view_labels, classes, "test", NULL));
  g_free (images);
  g_rand_free (rand);
  return path;
}

static const gchar tiny_topology[] =
    "{\"input\": {\"channels\": 1,"
    " \"height\": 4, \"width\": 4}, \"classes\": [\"a\", \"b\"],"
    " \"views\": 2, \"training\": {\"batch\": 16, \"view_drop\": 0.2},"
    " \"sections\": ["
    "{\"name\": \"d0\", \"tier\": \"device\", \"view\": 0, \"body\": ["
    "{\"type\": \"conv2d\", \"out\": 2, \"kernel\": 3, \"pad\": 1,"
    " \"binary\": true}, {\"type\": \"maxpool\", \"kernel\": 2},"
    " {\"type\": \"batchnorm\"}, {\"type\": \"sign\"}],"
    " \"exit\": [{\"type\": \"linear\", \"out\": 2, \"binary\": true},"
    " {\"type\": \"batchnorm\"}]},"
    "{\"name\": \"d1\", \"tier\": \"device\", \"view\": 1, \"body\": ["
    "{\"type\": \"conv2d\", \"out\": 2, \"kernel\": 3, \"pad\": 1,"
    " \"binary\": true}, {\"type\": \"maxpool\", \"kernel\": 2},"
    " {\"type\": \"batchnorm\"}, {\"type\": \"sign\"}],"
    " \"exit\": [{\"type\": \"linear\", \"out\": 2, \"binary\": true},"
    " {\"type\": \"batchnorm\"}]},"
    "{\"name\": \"cloud\", \"tier\": \"cloud\", \"body\": ["
    "{\"type\": \"linear\", \"out\": 8, \"bias\": true}, {\"type\": \"relu\"}],"
    " \"exit\": [{\"type\": \"linear\", \"out\": 2, \"bias\": true}]}]}";

static GBytes *
train_once (const DdnnDataset *data, guint32 seed, guint threads,
    double *loss_first, double *loss_last)
{
  g_autoptr (DdnnModel)
      model = ddnn_model_new_from_topology (tiny_topology, seed, NULL);
  g_autoptr (DdnnTrainer) trainer = NULL;
  DdnnTrainOptions options;
  DdnnTrainProgress p;
  GError *error = NULL;
  guint e;

  g_assert_true (ddnn_train_options_from_model (model, &options, &error));
  g_assert_cmpuint (options.batch_size, ==, 16);
  options.seed = seed;
  options.threads = threads;
  options.epochs = 8;
  trainer = ddnn_trainer_new (model, &options, &error);
  g_assert_no_error (error);
  for (e = 1; e <= options.epochs; e++) {
    g_assert_true (
        ddnn_trainer_run_epoch (trainer, data, e, NULL, NULL, &p, &error));
    if (e == 1)
      *loss_first = p.loss;
  }
  *loss_last = p.loss;
  g_assert_true (ddnn_trainer_export (trainer, &error));
  return ddnn_model_serialize (model, NULL);
}

static void
test_training_deterministic (void)
{
  g_autofree gchar *dir = g_dir_make_tmp ("ddnn-train-XXXXXX", NULL);
  g_autofree gchar *path = tiny_dataset (dir);
  g_autoptr (DdnnDataset) data = ddnn_dataset_open (path, NULL);
  g_autoptr (GBytes) a = NULL, b = NULL, c = NULL, d = NULL;
  double first, last, first2, last2;

  g_assert_nonnull (data);
  a = train_once (data, 5, 1, &first, &last);
  b = train_once (data, 5, 1, &first2, &last2);
  c = train_once (data, 6, 1, &first2, &last2);
  d = train_once (data, 5, 3, &first2, &last2);
  /* same seed, same bytes; another seed, other bytes; the cameras trained
   * side by side on three threads, the same bytes again */
  g_assert_true (g_bytes_equal (a, b));
  g_assert_false (g_bytes_equal (a, c));
  g_assert_true (g_bytes_equal (a, d));
  /* and it learns: the loss falls on this easy set */
  g_assert_cmpfloat (last, <, first);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ddnn_blas_set_threads (1);
  g_test_add_func ("/train/grad/conv", test_grad_conv);
  g_test_add_func ("/train/grad/grouped-conv", test_grad_grouped_conv);
  g_test_add_func ("/train/grad/linear", test_grad_linear);
  g_test_add_func ("/train/grad/pools", test_grad_pools);
  g_test_add_func ("/train/grad/batch-norm", test_grad_batch_norm);
  g_test_add_func ("/train/grad/relu", test_grad_relu);
  g_test_add_func ("/train/sign-ste", test_sign_straight_through);
  g_test_add_func (
      "/train/binary-weights", test_binary_weights_straight_through);
  g_test_add_func ("/train/deterministic", test_training_deterministic);
  return g_test_run ();
}
