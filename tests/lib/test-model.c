/* Unit tests of models and sections: a hand-computed forward pass, binary
 * sections against float ones, save / load / export round trips, and
 * topology errors; a grouped convolution, float, binary and on bits, by
 * hand.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ddnn.h>
#include <ddnn-model-private.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define assert_close(a, b) g_assert_cmpfloat_with_epsilon ((a), (b), 1e-5)

static const gchar hand_topology[] =
    "{"
    "\"name\": \"hand\", \"input\": {\"channels\": 1, \"height\": 2,"
    " \"width\": 2, \"scale\": 1},"
    "\"classes\": [\"a\", \"b\"], \"views\": 2,"
    "\"local_fusion\": \"max\", \"feature_fusion\": \"concat\","
    "\"thresholds\": {\"local\": 0.5},"
    "\"sections\": ["
    " {\"name\": \"d0\", \"tier\": \"device\", \"view\": 0,"
    "  \"body\": [{\"type\": \"linear\", \"out\": 2, \"bias\": true}],"
    "  \"exit\": [{\"type\": \"linear\", \"out\": 2}]},"
    " {\"name\": \"d1\", \"tier\": \"device\", \"view\": 1,"
    "  \"body\": [{\"type\": \"linear\", \"out\": 2, \"bias\": true}],"
    "  \"exit\": [{\"type\": \"linear\", \"out\": 2}, {\"type\": \"batchnorm\","
    "   \"eps\": 1e-12}]},"
    " {\"name\": \"cloud\", \"tier\": \"cloud\", \"body\": [],"
    "  \"exit\": [{\"type\": \"linear\", \"out\": 2}]}]}";

static void
set_param (DdnnModel *model, const gchar *section, guint list, guint index,
    DdnnParamKind kind, const float *values)
{
  DdnnSection *s = ddnn_model_find_section (model, section);
  DdnnLayer *layer = g_ptr_array_index (list ? s->exit : s->body, index);
  DdnnTensor *t = layer->params[kind];

  memcpy (t->data, values, t->n_bytes);
}

static DdnnModel *
hand_model (void)
{
  /* d0: features [p0, p3 + 1], scores = features
   * d1: features [p1, p2], scores = BN(features) = 2 x + 1 (gamma 2,
   *     beta 1, mean 0, var 1)
   * cloud: scores = [[1 1 1 1] [1 -1 0 0]] . concat(features) */
  const float d0w[8] = { 1, 0, 0, 0, 0, 0, 0, 1 }, d0b[2] = { 0, 1 };
  const float d1w[8] = { 0, 1, 0, 0, 0, 0, 1, 0 }, d1b[2] = { 0, 0 };
  const float eye[4] = { 1, 0, 0, 1 };
  const float gamma[2] = { 2, 2 }, beta[2] = { 1, 1 }, mean[2] = { 0, 0 },
              var[2] = { 1, 1 };
  const float cw[8] = { 1, 1, 1, 1, 1, -1, 0, 0 };
  GError *error = NULL;
  DdnnModel *model;

  model = ddnn_model_new_from_topology (hand_topology, 1, &error);
  g_assert_no_error (error);
  set_param (model, "d0", 0, 0, DDNN_PARAM_WEIGHT, d0w);
  set_param (model, "d0", 0, 0, DDNN_PARAM_BIAS, d0b);
  set_param (model, "d0", 1, 0, DDNN_PARAM_WEIGHT, eye);
  set_param (model, "d1", 0, 0, DDNN_PARAM_WEIGHT, d1w);
  set_param (model, "d1", 0, 0, DDNN_PARAM_BIAS, d1b);
  set_param (model, "d1", 1, 0, DDNN_PARAM_WEIGHT, eye);
  set_param (model, "d1", 1, 1, DDNN_PARAM_GAMMA, gamma);
  set_param (model, "d1", 1, 1, DDNN_PARAM_BETA, beta);
  set_param (model, "d1", 1, 1, DDNN_PARAM_RUNNING_MEAN, mean);
  set_param (model, "d1", 1, 1, DDNN_PARAM_RUNNING_VAR, var);
  set_param (model, "cloud", 1, 0, DDNN_PARAM_WEIGHT, cw);
  g_assert_true (ddnn_model_refresh (model, NULL));
  return model;
}

static void
test_hand_forward (void)
{
  g_autoptr (DdnnModel) model = hand_model ();
  const guint8 pixels[4] = { 2, 3, 5, 7 };
  DdnnSectionResult r0 = { 0 }, r1 = { 0 }, rc = { 0 };
  const float *scores[2];
  DdnnTensor *features[2];
  float fused[2], probs[2], entropy, p1, expect_h;
  GError *error = NULL;

  g_assert_true (
      ddnn_section_run_image (ddnn_model_get_device_section (model, 0), pixels,
          2, 2, 1, 2, &r0, &error));
  g_assert_no_error (error);
  g_assert_true (
      ddnn_section_run_image (ddnn_model_get_device_section (model, 1), pixels,
          2, 2, 1, 2, &r1, &error));
  /* d0: features [2, 8]; d1: features [3, 5], scores [7, 11] */
  g_assert_cmpuint (r0.features->dtype, ==, DDNN_DTYPE_F32);
  assert_close (ddnn_tensor_f32 (r0.features)[0], 2);
  assert_close (ddnn_tensor_f32 (r0.features)[1], 8);
  assert_close (r0.scores[1], 8);
  assert_close (ddnn_tensor_f32 (r1.features)[0], 3);
  assert_close (r1.scores[0], 7);
  assert_close (r1.scores[1], 11);
  g_assert_cmpuint (r1.class_index, ==, 1);

  /* fused by max: [7, 11]; p1 = 1 / (1 + e^-4) */
  scores[0] = r0.scores;
  scores[1] = r1.scores;
  g_assert_true (
      ddnn_model_fuse_scores (model, scores, 2, fused, probs, &entropy, NULL));
  assert_close (fused[0], 7);
  assert_close (fused[1], 11);
  p1 = 1.0f / (1.0f + expf (-4.0f));
  assert_close (probs[1], p1);
  expect_h = -(p1 * logf (p1) + (1 - p1) * logf (1 - p1)) / logf (2);
  assert_close (entropy, expect_h);
  assert_close (ddnn_model_get_threshold (model, DDNN_TIER_DEVICE), 0.5);

  /* cloud: concat [2, 8, 3, 5] -> [18, -6] */
  features[0] = r0.features;
  features[1] = r1.features;
  g_assert_true (ddnn_section_run_fused (
      ddnn_model_get_cloud_section (model), features, 2, &rc, &error));
  g_assert_no_error (error);
  assert_close (rc.scores[0], 18);
  assert_close (rc.scores[1], -6);
  g_assert_cmpuint (rc.class_index, ==, 0);
  /* a missing view counts as zeros: [2, 8, 0, 0] -> [10, -6] */
  features[1] = NULL;
  g_assert_true (ddnn_section_run_fused (
      ddnn_model_get_cloud_section (model), features, 2, &rc, &error));
  assert_close (rc.scores[0], 10);

  ddnn_section_result_clear (&r0);
  ddnn_section_result_clear (&r1);
  ddnn_section_result_clear (&rc);
}

static void
test_wrong_inputs (void)
{
  g_autoptr (DdnnModel) model = hand_model ();
  const guint8 pixels[9] = { 0 };
  const gsize three[1] = { 3 };
  DdnnSectionResult r = { 0 };
  DdnnTensor *bad, *features[2];
  GError *error = NULL;

  g_assert_false (
      ddnn_section_run_image (ddnn_model_get_device_section (model, 0), pixels,
          3, 3, 1, 3, &r, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_false (ddnn_section_run_image (
      ddnn_model_get_cloud_section (model), pixels, 2, 2, 1, 2, &r, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  bad = ddnn_tensor_new (DDNN_DTYPE_F32, 1, three, NULL);
  features[0] = bad;
  features[1] = bad;
  g_assert_false (ddnn_section_run_fused (
      ddnn_model_get_cloud_section (model), features, 2, &r, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_false (ddnn_section_run_fused (
      ddnn_model_get_cloud_section (model), features, 1, &r, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE);
  g_clear_error (&error);
  ddnn_tensor_unref (bad);
  ddnn_section_result_clear (&r);
}

/* A small version of the paper's network, binary or float. */
static gchar *
convp_topology (gboolean binary)
{
  const gchar *b = binary ? "true" : "false";
  GString *s = g_string_new (NULL);
  guint v;

  g_string_append (s,
      "{\"name\": \"convp\", \"input\": {\"channels\": 1,"
      " \"height\": 8, \"width\": 8, \"mean\": [0.5], \"std\": [0.25]},"
      " \"classes\": [\"a\", \"b\", \"c\"], \"views\": 3, \"sections\": [");
  for (v = 0; v < 3; v++)
    g_string_append_printf (s,
        "{\"name\": \"device%u\", \"tier\": \"device\","
        " \"view\": %u, \"body\": ["
        "{\"type\": \"conv2d\", \"out\": 3, \"kernel\": 3, \"pad\": 1,"
        " \"binary\": %s},"
        "{\"type\": \"maxpool\", \"kernel\": 3, \"stride\": 2, \"pad\": 1},"
        "{\"type\": \"batchnorm\"}, {\"type\": \"sign\"}],"
        " \"exit\": [{\"type\": \"linear\", \"out\": 3, \"binary\": %s},"
        " {\"type\": \"batchnorm\"}]},",
        v, v, b, b);
  g_string_append_printf (s,
      "{\"name\": \"cloud\", \"tier\": \"cloud\","
      " \"body\": [{\"type\": \"conv2d\", \"out\": 4, \"kernel\": 3, \"pad\": "
      "1,"
      " \"binary\": %s}, {\"type\": \"maxpool\", \"kernel\": 3, \"stride\": 1,"
      " \"pad\": 1}, {\"type\": \"batchnorm\"}, {\"type\": \"sign\"}],"
      " \"exit\": [{\"type\": \"linear\", \"out\": 3, \"binary\": %s}]}]}",
      b, b);
  return g_string_free (s, FALSE);
}

/* Gives every batch norm non-trivial statistics, so signs depend on them. */
static void
randomise_batch_norms (DdnnModel *model, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  guint i, l, j, k;

  for (i = 0; i < ddnn_model_get_n_sections (model); i++) {
    DdnnSection *s = ddnn_model_get_section (model, i);
    GPtrArray *lists[2] = { s->body, s->exit };

    for (l = 0; l < 2; l++)
      for (j = 0; j < lists[l]->len; j++) {
        DdnnLayer *layer = g_ptr_array_index (lists[l], j);

        if (layer->type != DDNN_LAYER_BATCHNORM)
          continue;
        for (k = DDNN_PARAM_GAMMA; k <= DDNN_PARAM_RUNNING_VAR; k++) {
          DdnnTensor *t = layer->params[k];
          gsize e;

          for (e = 0; e < t->n_elements; e++)
            ddnn_tensor_f32 (t)[e] = k == DDNN_PARAM_RUNNING_VAR
                ? (float) g_rand_double_range (rand, 0.5, 2)
                : (float) g_rand_double_range (rand, -1, 1);
        }
      }
  }
  g_rand_free (rand);
  g_assert_true (ddnn_model_refresh (model, NULL));
}

/* Copies binary weights into a float model as +/-1 and the rest as is. */
static void
copy_as_float (DdnnModel *binary, DdnnModel *flt)
{
  guint i, l, j, k;

  for (i = 0; i < ddnn_model_get_n_sections (binary); i++) {
    DdnnSection *sb = ddnn_model_get_section (binary, i);
    DdnnSection *sf = ddnn_model_get_section (flt, i);
    GPtrArray *lb[2] = { sb->body, sb->exit }, *lf[2] = { sf->body, sf->exit };

    for (l = 0; l < 2; l++)
      for (j = 0; j < lb[l]->len; j++) {
        DdnnLayer *a = g_ptr_array_index (lb[l], j);
        DdnnLayer *b = g_ptr_array_index (lf[l], j);

        for (k = 0; k < DDNN_N_PARAMS; k++) {
          if (!a->params[k])
            continue;
          if (k == DDNN_PARAM_WEIGHT && a->binary)
            memcpy (b->params[k]->data, a->weight_pm1, b->params[k]->n_bytes);
          else
            memcpy (
                b->params[k]->data, a->params[k]->data, a->params[k]->n_bytes);
        }
      }
  }
  g_assert_true (ddnn_model_refresh (flt, NULL));
}

static void
run_all (DdnnModel *model, const guint8 *pixels, gboolean drop_view_1,
    float *device_scores, float *cloud_scores)
{
  DdnnSectionResult r[3] = { { 0 } }, rc = { 0 };
  DdnnTensor *features[3];
  GError *error = NULL;
  guint v;

  for (v = 0; v < 3; v++) {
    g_assert_true (
        ddnn_section_run_image (ddnn_model_get_device_section (model, v),
            pixels + v * 64, 8, 8, 1, 8, &r[v], &error));
    g_assert_no_error (error);
    memcpy (device_scores + v * 3, r[v].scores, 3 * sizeof (float));
    features[v] = r[v].features;
  }
  if (drop_view_1)
    features[1] = NULL;
  g_assert_true (ddnn_section_run_fused (
      ddnn_model_get_cloud_section (model), features, 3, &rc, &error));
  g_assert_no_error (error);
  memcpy (cloud_scores, rc.scores, 3 * sizeof (float));
  for (v = 0; v < 3; v++)
    ddnn_section_result_clear (&r[v]);
  ddnn_section_result_clear (&rc);
}

static void
test_binary_equals_float_model (void)
{
  g_autofree gchar *tb = convp_topology (TRUE), *tf = convp_topology (FALSE);
  g_autoptr (DdnnModel) binary = ddnn_model_new_from_topology (tb, 3, NULL);
  g_autoptr (DdnnModel) flt = ddnn_model_new_from_topology (tf, 3, NULL);
  GRand *rand = g_rand_new_with_seed (5);
  guint8 pixels[3 * 64];
  float db[9], cb[3], df[9], cf[3];
  guint trial, i;

  g_assert_nonnull (binary);
  g_assert_nonnull (flt);
  randomise_batch_norms (binary, 9);
  copy_as_float (binary, flt);
  for (trial = 0; trial < 20; trial++) {
    for (i = 0; i < sizeof (pixels); i++)
      pixels[i] = g_rand_int_range (rand, 0, 256);
    run_all (binary, pixels, trial % 2, db, cb);
    run_all (flt, pixels, trial % 2, df, cf);
    for (i = 0; i < 9; i++)
      assert_close (db[i], df[i]);
    for (i = 0; i < 3; i++)
      assert_close (cb[i], cf[i]);
  }
  g_rand_free (rand);
}

static void
test_save_load_export (void)
{
  g_autofree gchar *tb = convp_topology (TRUE);
  g_autoptr (DdnnModel) model = ddnn_model_new_from_topology (tb, 4, NULL);
  g_autoptr (DdnnModel) loaded = NULL;
  g_autoptr (DdnnModel) part = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autofree gchar *dir = g_dir_make_tmp ("ddnn-test-XXXXXX", NULL);
  g_autofree gchar *path = g_build_filename (dir, "m.safetensors", NULL);
  g_autofree gchar *part_path = g_build_filename (dir, "d0.safetensors", NULL);
  const gchar *names[] = { "device0", NULL };
  const gchar *bad_names[] = { "device9", NULL };
  guint8 pixels[3 * 64];
  float d1[9], c1[3], d2[9], c2[3];
  DdnnSectionResult r = { 0 }, r2 = { 0 };
  DdnnSectionCost cost;
  GError *error = NULL;
  guint i;

  randomise_batch_norms (model, 2);
  for (i = 0; i < sizeof (pixels); i++)
    pixels[i] = (i * 37) % 256;

  g_assert_true (ddnn_model_save (model, path, &error));
  g_assert_no_error (error);
  loaded = ddnn_model_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ddnn_model_get_id (loaded), ==, ddnn_model_get_id (model));
  g_assert_cmpuint (strlen (ddnn_model_get_id (model)), ==, 64);
  run_all (model, pixels, FALSE, d1, c1);
  run_all (loaded, pixels, FALSE, d2, c2);
  for (i = 0; i < 9; i++)
    g_assert_cmpfloat (d1[i], ==, d2[i]);
  for (i = 0; i < 3; i++)
    g_assert_cmpfloat (c1[i], ==, c2[i]);

  /* serialising twice gives the same bytes */
  bytes = ddnn_model_serialize (loaded, NULL);
  {
    gchar *contents;
    gsize length;

    g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
    g_assert_cmpmem (contents, length, g_bytes_get_data (bytes, NULL),
        g_bytes_get_size (bytes));
    g_free (contents);
  }

  /* a device-only export keeps the id and refuses to run the rest */
  g_assert_true (ddnn_model_save_sections (model, names, part_path, &error));
  part = ddnn_model_load (part_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ddnn_model_get_id (part), ==, ddnn_model_get_id (model));
  g_assert_true (
      ddnn_section_is_present (ddnn_model_get_device_section (part, 0)));
  g_assert_false (
      ddnn_section_is_present (ddnn_model_get_cloud_section (part)));
  ddnn_section_get_cost (ddnn_model_get_cloud_section (part), &cost);
  g_assert_cmpuint (cost.params, >, 0);
  g_assert_true (ddnn_section_run_image (
      ddnn_model_get_device_section (part, 0), pixels, 8, 8, 1, 8, &r, &error));
  for (i = 0; i < 3; i++)
    g_assert_cmpfloat (r.scores[i], ==, d1[i]);
  g_assert_false (
      ddnn_section_run_image (ddnn_model_get_device_section (part, 1), pixels,
          8, 8, 1, 8, &r2, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_MISSING);
  g_clear_error (&error);
  g_assert_false (
      ddnn_model_save_sections (model, bad_names, part_path, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  ddnn_section_result_clear (&r);
  ddnn_section_result_clear (&r2);
  g_unlink (path);
  g_unlink (part_path);
  g_rmdir (dir);
}

static void
test_same_weights_same_id (void)
{
  g_autofree gchar *tb = convp_topology (TRUE);
  g_autoptr (DdnnModel) a = ddnn_model_new_from_topology (tb, 4, NULL);
  g_autoptr (DdnnModel) b = ddnn_model_new_from_topology (tb, 4, NULL);
  g_autoptr (DdnnModel) c = ddnn_model_new_from_topology (tb, 5, NULL);

  g_assert_cmpstr (ddnn_model_get_id (a), ==, ddnn_model_get_id (b));
  g_assert_cmpstr (ddnn_model_get_id (a), !=, ddnn_model_get_id (c));
}

typedef struct
{
  const gchar *topology;
  const gchar *message;
} BadTopology;

static void
test_bad_topologies (void)
{
  static const BadTopology cases[] = {
    { "[1, 2]", "not a JSON object" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 1, \"sections\": ["
      "{\"name\": \"d\", \"tier\": \"device\", \"view\": 0,"
      " \"body\": [{\"type\": \"fancy\"}], \"exit\": []}]}",
        "unknown layer type 'fancy'" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 1, \"sections\": ["
      "{\"name\": \"d\", \"tier\": \"device\", \"view\": 0,"
      " \"body\": [], \"exit\": [{\"type\": \"linear\", \"out\": 3}]},"
      "{\"name\": \"c\", \"tier\": \"cloud\", \"body\": [],"
      " \"exit\": [{\"type\": \"linear\", \"out\": 2}]}]}",
        "the exit gives 3 values but there are 2 classes" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 2, \"sections\": ["
      "{\"name\": \"d\", \"tier\": \"device\", \"view\": 0,"
      " \"body\": [], \"exit\": [{\"type\": \"linear\", \"out\": 2}]},"
      "{\"name\": \"c\", \"tier\": \"cloud\", \"body\": [],"
      " \"exit\": [{\"type\": \"linear\", \"out\": 2}]}]}",
        "one device per view" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 1, \"sections\": ["
      "{\"name\": \"d\", \"tier\": \"device\", \"view\": 0,"
      " \"body\": [{\"type\": \"conv2d\", \"out\": 2, \"kernel\": 9}],"
      " \"exit\": []}]}",
        "does not fit" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 1, \"sections\": []}",
        "need 1 device sections and a cloud section" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 1, \"typo\": 1,"
      " \"sections\": []}",
        "unknown field 'typo'" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 1,"
      " \"local_fusion\": \"median\", \"sections\": []}",
        "must be max, avg or concat" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 1,"
      " \"thresholds\": {\"local\": 7}, \"sections\": []}",
        "'local' must be a number from -1 to 1" },
    { "{\"input\": {\"channels\": 1, \"height\": 4, \"width\": 4},"
      " \"classes\": [\"a\", \"b\"], \"views\": 1, \"sections\": ["
      "{\"name\": \"d\", \"tier\": \"device\", \"view\": 0,"
      " \"body\": [{\"type\": \"linear\", \"out\": 100000000}],"
      " \"exit\": []}]}",
        "must be an integer" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    GError *error = NULL;
    DdnnModel *model = ddnn_model_new_from_topology (
        cases[i].topology, 1, &error);

    g_assert_null (model);
    g_assert_nonnull (error);
    if (!strstr (error->message, cases[i].message))
      g_error ("case %u: '%s' does not say '%s'", i, error->message,
          cases[i].message);
    g_error_free (error);
  }
}

static void
test_edge_section (void)
{
  g_autofree gchar *path = g_build_filename (
      g_getenv ("DDNN_SOURCE_DIR") ? g_getenv ("DDNN_SOURCE_DIR") : ".",
      "tests", "fuzz", "seed-archs", "edge-tiny.json", NULL);
  g_autofree gchar *topology = NULL;
  g_autoptr (DdnnModel) model = NULL;
  DdnnSectionResult r[2] = { { 0 } }, re = { 0 }, rc = { 0 }, rc2 = { 0 };
  DdnnTensor *features[2];
  guint8 rgb[4 * 4 * 3];
  GError *error = NULL;
  guint i;

  g_assert_true (g_file_get_contents (path, &topology, NULL, &error));
  model = ddnn_model_new_from_topology (topology, 2, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ddnn_model_get_edge_section (model));
  assert_close (ddnn_model_get_threshold (model, DDNN_TIER_EDGE), 0.4);
  for (i = 0; i < sizeof (rgb); i++)
    rgb[i] = i * 5;
  for (i = 0; i < 2; i++) {
    g_assert_true (
        ddnn_section_run_image (ddnn_model_get_device_section (model, i), rgb,
            4, 4, 3, 12, &r[i], &error));
    g_assert_no_error (error);
    features[i] = r[i].features;
  }
  /* the edge fuses the devices' features (max) ... */
  g_assert_true (ddnn_section_run_fused (
      ddnn_model_get_edge_section (model), features, 2, &re, &error));
  g_assert_no_error (error);
  /* ... and the cloud takes the edge's features alone */
  g_assert_false (ddnn_section_run_fused (
      ddnn_model_get_cloud_section (model), features, 2, &rc, &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE);
  g_clear_error (&error);
  g_assert_true (ddnn_section_run_fused (
      ddnn_model_get_cloud_section (model), &re.features, 1, &rc, &error));
  g_assert_no_error (error);
  g_assert_true (ddnn_section_run (
      ddnn_model_get_cloud_section (model), re.features, &rc2, &error));
  for (i = 0; i < 3; i++)
    g_assert_cmpfloat (rc.scores[i], ==, rc2.scores[i]);
  for (i = 0; i < 2; i++)
    ddnn_section_result_clear (&r[i]);
  ddnn_section_result_clear (&re);
  ddnn_section_result_clear (&rc);
  ddnn_section_result_clear (&rc2);
}

/* Fusing features apart, then running the cloud on them, is what
 * ddnn_section_run_fused() does in one step. */
static void
test_fuse_features (void)
{
  g_autofree gchar *tb = convp_topology (TRUE);
  g_autoptr (DdnnModel) model = ddnn_model_new_from_topology (tb, 8, NULL);
  DdnnSection *cloud;
  DdnnSectionResult r[3] = { { 0 } }, a = { 0 }, b = { 0 };
  DdnnTensor *features[3];
  guint8 pixels[64];
  guint v, i, drop;

  randomise_batch_norms (model, 4);
  cloud = ddnn_model_get_cloud_section (model);
  for (v = 0; v < 3; v++) {
    for (i = 0; i < 64; i++)
      pixels[i] = (guint8) (i * (v + 3) * 11);
    g_assert_true (
        ddnn_section_run_image (ddnn_model_get_device_section (model, v),
            pixels, 8, 8, 1, 8, &r[v], NULL));
  }
  for (drop = 0; drop < 2; drop++) {
    DdnnTensor *fused;

    for (v = 0; v < 3; v++)
      features[v] = r[v].features;
    if (drop)
      features[1] = NULL;
    fused = ddnn_model_fuse_features (model, features, 3, NULL);
    g_assert_nonnull (fused);
    /* bits when every view is there, floats with zeros when one is not */
    g_assert_cmpuint (fused->dtype, ==, drop ? DDNN_DTYPE_F32 : DDNN_DTYPE_BIT);
    g_assert_cmpuint (fused->n_elements, ==, 3 * 3 * 4 * 4);
    g_assert_true (ddnn_section_run_fused (cloud, features, 3, &a, NULL));
    g_assert_true (ddnn_section_run (cloud, fused, &b, NULL));
    for (i = 0; i < 3; i++)
      g_assert_cmpfloat (a.scores[i], ==, b.scores[i]);
    ddnn_tensor_unref (fused);
  }
  for (v = 0; v < 3; v++)
    ddnn_section_result_clear (&r[v]);
  ddnn_section_result_clear (&a);
  ddnn_section_result_clear (&b);
}

/* A grouped convolution: six filters in three groups of two over an RGB
 * 2x2 image, kernel 2, so each output is one number.  Filter o belongs to
 * group o / 2 and sees only channel o / 2. */
static gchar *
grouped_topology (gboolean binary, gboolean sign_first)
{
  return g_strdup_printf (
      "{\"input\": {\"channels\": 3, \"height\": 2, \"width\": 2,"
      " \"scale\": 1, \"mean\": [%s], \"std\": [1, 1, 1]},"
      "\"classes\": [\"a\", \"b\"], \"views\": 1, \"sections\": ["
      "{\"name\": \"d\", \"tier\": \"device\", \"view\": 0, \"body\": [%s"
      "{\"type\": \"conv2d\", \"out\": 6, \"kernel\": 2, \"groups\": 3,"
      " \"binary\": %s}],"
      " \"exit\": [{\"type\": \"linear\", \"out\": 2}]},"
      "{\"name\": \"c\", \"tier\": \"cloud\", \"body\": [],"
      " \"exit\": [{\"type\": \"linear\", \"out\": 2}]}]}",
      sign_first ? "2.5, 25, 0.5" : "0, 0, 0",
      sign_first ? "{\"type\": \"sign\"}, " : "", binary ? "true" : "false");
}

static void
grouped_features (DdnnModel *model, float *out)
{
  /* interleaved RGB: channel 0 is 1 2 3 4, channel 1 10 20 30 40, channel 2
   * 0 0 0 1 */
  const guint8 pixels[12] = { 1, 10, 0, 2, 20, 0, 3, 30, 0, 4, 40, 1 };
  DdnnSectionResult r = { 0 };
  GError *error = NULL;

  g_assert_true (
      ddnn_section_run_image (ddnn_model_get_device_section (model, 0), pixels,
          2, 2, 3, 6, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (r.features->n_elements, ==, 6);
  memcpy (out, ddnn_tensor_f32 (r.features), 6 * sizeof (float));
  ddnn_section_result_clear (&r);
}

static void
test_grouped_conv (void)
{
  g_autofree gchar *tf = grouped_topology (FALSE, FALSE);
  g_autofree gchar *tb = grouped_topology (TRUE, FALSE);
  g_autofree gchar *ts = grouped_topology (TRUE, TRUE);
  g_autoptr (DdnnModel) flt = ddnn_model_new_from_topology (tf, 1, NULL);
  g_autoptr (DdnnModel) bin = ddnn_model_new_from_topology (tb, 1, NULL);
  g_autoptr (DdnnModel) sgn = ddnn_model_new_from_topology (ts, 1, NULL);
  DdnnLayer *layer;
  float w[24], out[6];
  guint8 bits[6];
  guint o, i;

  g_assert_nonnull (flt);
  g_assert_nonnull (bin);
  g_assert_nonnull (sgn);
  /* float: filter o is all (o + 1), so out[o] = (o + 1) x the sum of its
   * group's channel: sums 10, 100, 1 */
  layer = g_ptr_array_index (ddnn_model_get_device_section (flt, 0)->body, 0);
  g_assert_cmpuint (layer->params[DDNN_PARAM_WEIGHT]->shape[1], ==, 1);
  for (o = 0; o < 6; o++)
    for (i = 0; i < 4; i++)
      w[o * 4 + i] = o + 1;
  set_param (flt, "d", 0, 0, DDNN_PARAM_WEIGHT, w);
  g_assert_true (ddnn_model_refresh (flt, NULL));
  grouped_features (flt, out);
  assert_close (out[0], 10);
  assert_close (out[1], 20);
  assert_close (out[2], 300);
  assert_close (out[3], 400);
  assert_close (out[4], 5);
  assert_close (out[5], 6);

  /* binary: even filters all +1, odd all -1 (4 bits a row) */
  for (o = 0; o < 6; o++)
    bits[o] = o % 2 ? 0x00 : 0x0f;
  for (i = 0; i < 2; i++) {
    DdnnModel *m = i ? sgn : bin;

    layer = g_ptr_array_index (
        ddnn_model_get_device_section (m, 0)->body, i ? 1 : 0);
    memcpy (layer->params[DDNN_PARAM_WEIGHT]->data, bits, 6);
    g_assert_true (ddnn_model_refresh (m, NULL));
  }
  grouped_features (bin, out);
  assert_close (out[0], 10);
  assert_close (out[1], -10);
  assert_close (out[2], 100);
  assert_close (out[3], -100);
  assert_close (out[4], 1);
  assert_close (out[5], -1);
  /* on bits: after the means, the signs are - - + + (sum 0), - - + + (0)
   * and - - - + (-2) */
  grouped_features (sgn, out);
  assert_close (out[0], 0);
  assert_close (out[1], 0);
  assert_close (out[2], 0);
  assert_close (out[3], 0);
  assert_close (out[4], -2);
  assert_close (out[5], 2);
}

static void
test_grouped_conv_refused (void)
{
  static const gchar *const bad[] = { "\"groups\": 2", "\"groups\": 0",
    "\"out\": 4, \"groups\": 3" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree gchar *t = g_strdup_printf (
        "{\"input\": {\"channels\": 3, \"height\": 4, \"width\": 4},"
        "\"classes\": [\"a\", \"b\"], \"views\": 1, \"sections\": ["
        "{\"name\": \"d\", \"tier\": \"device\", \"view\": 0, \"body\": ["
        "{\"type\": \"conv2d\", \"out\": 6, \"kernel\": 3, %s}],"
        " \"exit\": [{\"type\": \"linear\", \"out\": 2}]},"
        "{\"name\": \"c\", \"tier\": \"cloud\", \"body\": [],"
        " \"exit\": [{\"type\": \"linear\", \"out\": 2}]}]}",
        bad[i]);
    GError *error = NULL;
    DdnnModel *m = ddnn_model_new_from_topology (t, 1, &error);

    g_assert_null (m);
    g_assert_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY);
    g_test_message ("%s: %s", bad[i], error->message);
    g_error_free (error);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ddnn_blas_set_threads (1);
  g_test_add_func ("/model/hand-forward", test_hand_forward);
  g_test_add_func ("/model/wrong-inputs", test_wrong_inputs);
  g_test_add_func (
      "/model/binary-equals-float", test_binary_equals_float_model);
  g_test_add_func ("/model/save-load-export", test_save_load_export);
  g_test_add_func ("/model/id", test_same_weights_same_id);
  g_test_add_func ("/model/bad-topologies", test_bad_topologies);
  g_test_add_func ("/model/edge", test_edge_section);
  g_test_add_func ("/model/fuse-features", test_fuse_features);
  g_test_add_func ("/model/grouped-conv", test_grouped_conv);
  g_test_add_func ("/model/grouped-conv-refused", test_grouped_conv_refused);
  return g_test_run ();
}
