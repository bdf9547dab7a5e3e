/* libddnn: one sample through every tier.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-eval.h"
#include "ddnn-model-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct _DdnnRunner
{
  DdnnModel *model;
  DdnnSectionResult devices[DDNN_MAX_VIEWS];
  DdnnSectionResult edge, cloud;
  float *fused, *probs;
};

DdnnRunner *
ddnn_runner_new (DdnnModel *model)
{
  DdnnRunner *r = g_new0 (DdnnRunner, 1);

  r->model = ddnn_model_ref (model);
  r->fused = g_new0 (float, ddnn_model_get_n_classes (model));
  r->probs = g_new0 (float, ddnn_model_get_n_classes (model));
  return r;
}

void
ddnn_runner_free (DdnnRunner *r)
{
  guint v;

  if (!r)
    return;
  for (v = 0; v < DDNN_MAX_VIEWS; v++)
    ddnn_section_result_clear (&r->devices[v]);
  ddnn_section_result_clear (&r->edge);
  ddnn_section_result_clear (&r->cloud);
  g_free (r->fused);
  g_free (r->probs);
  ddnn_model_unref (r->model);
  g_free (r);
}

static gsize
feature_bytes (DdnnSection *section)
{
  gsize shape[DDNN_TENSOR_MAX_DIMS], n_bytes = 0;
  DdnnDtype dtype;
  guint n_dims;

  ddnn_section_get_features_spec (section, &dtype, &n_dims, shape);
  ddnn_tensor_bytes_for (dtype, n_dims, shape, NULL, &n_bytes, NULL);
  return n_bytes;
}

gsize
ddnn_model_device_bytes (const DdnnModel *model, gboolean with_features)
{
  return ddnn_model_score_bytes (model) +
      (with_features ? feature_bytes (ddnn_model_get_device_section (model, 0))
                     : 0);
}

void
ddnn_sample_result_decide (const DdnnModel *model, DdnnSampleResult *r,
    double local_threshold, double edge_threshold)
{
  guint present = 0, v;

  for (v = 0; v < r->n_views; v++)
    present += (r->view_mask >> v) & 1;
  if (ddnn_model_exits (
          model, DDNN_TIER_DEVICE, local_threshold, r->local_entropy)) {
    r->tier = DDNN_TIER_DEVICE;
    r->answer = r->local_class;
  } else if (r->has_edge &&
      ddnn_model_exits (
          model, DDNN_TIER_EDGE, edge_threshold, r->edge_entropy)) {
    r->tier = DDNN_TIER_EDGE;
    r->answer = r->edge_class;
  } else {
    r->tier = DDNN_TIER_CLOUD;
    r->answer = r->cloud_class;
  }
  r->device_bytes = present *
      ddnn_model_device_bytes (model, r->tier != DDNN_TIER_DEVICE);
  r->cloud_bytes = r->tier != DDNN_TIER_CLOUD ? 0
      : r->has_edge
      ? feature_bytes (ddnn_model_get_edge_section (model))
      : present * feature_bytes (ddnn_model_get_device_section (model, 0));
}

gboolean
ddnn_runner_run (DdnnRunner *r, const guint8 *const *views, gsize stride,
    double local_threshold, double edge_threshold, DdnnSampleResult *result,
    GError **error)
{
  DdnnModel *model = r->model;
  const DdnnInputSpec *in = ddnn_model_get_input (model);
  guint n_views = ddnn_model_get_n_views (model), v;
  guint n_classes = ddnn_model_get_n_classes (model);
  const float *scores[DDNN_MAX_VIEWS];
  DdnnTensor *features[DDNN_MAX_VIEWS];
  DdnnSection *edge = ddnn_model_get_edge_section (model);

  memset (result, 0, sizeof (*result));
  result->n_views = n_views;
  for (v = 0; v < n_views; v++) {
    if (!views[v]) {
      scores[v] = NULL;
      features[v] = NULL;
      continue;
    }
    if (!ddnn_section_run_image (ddnn_model_get_device_section (model, v),
            views[v], in->width, in->height, in->channels, stride,
            &r->devices[v], error))
      return FALSE;
    scores[v] = r->devices[v].scores;
    features[v] = r->devices[v].features;
    result->view_mask |= G_GUINT64_CONSTANT (1) << v;
    result->device_class[v] = r->devices[v].class_index;
  }
  if (!ddnn_model_fuse_scores (model, scores, n_views, r->fused, r->probs,
          &result->local_entropy, error))
    return FALSE;
  result->local_class = ddnn_argmax (n_classes, r->fused);

  if (edge) {
    if (!ddnn_section_run_fused (edge, features, n_views, &r->edge, error) ||
        !ddnn_section_run_fused (ddnn_model_get_cloud_section (model),
            &r->edge.features, 1, &r->cloud, error))
      return FALSE;
    result->has_edge = TRUE;
    result->edge_class = r->edge.class_index;
    result->edge_entropy = r->edge.entropy;
  } else if (!ddnn_section_run_fused (ddnn_model_get_cloud_section (model),
                 features, n_views, &r->cloud, error)) {
    return FALSE;
  }
  result->cloud_class = r->cloud.class_index;
  result->cloud_entropy = r->cloud.entropy;
  ddnn_sample_result_decide (model, result, local_threshold, edge_threshold);
  return TRUE;
}

const DdnnSectionResult *
ddnn_runner_get_device (const DdnnRunner *r, guint view)
{
  g_return_val_if_fail (view < DDNN_MAX_VIEWS, NULL);
  return &r->devices[view];
}

const DdnnSectionResult *
ddnn_runner_get_edge (const DdnnRunner *r)
{
  return ddnn_model_get_edge_section (r->model) ? &r->edge : NULL;
}

const DdnnSectionResult *
ddnn_runner_get_cloud (const DdnnRunner *r)
{
  return &r->cloud;
}

const float *
ddnn_runner_get_local_scores (const DdnnRunner *r)
{
  return r->fused;
}

static gint
compare_floats (gconstpointer a, gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return x < y ? -1 : x > y;
}

/* The smallest threshold, in steps of 0.001, under which the @need lowest
 * of @entropy[0, n) fall (sorted in place). */
static double
threshold_for (float *entropy, guint n, guint need)
{
  double t;

  qsort (entropy, n, sizeof (float), compare_floats);
  need = CLAMP (need, 1, n);
  t = ceil ((entropy[need - 1] + 1e-7) * 1000.0) / 1000.0;
  return MIN (t, 1.0);
}

gboolean
ddnn_choose_thresholds (DdnnModel *model, const DdnnDataset *data, guint first,
    guint count, double local_fraction, double edge_fraction,
    double *local_threshold, double *edge_threshold, GError **error)
{
  g_autoptr (DdnnRunner) runner = ddnn_runner_new (model);
  guint n_views = ddnn_model_get_n_views (model), k, v, n_up = 0;
  gsize stride = (gsize) data->width * data->channels;
  gboolean has_edge = ddnn_model_get_edge_section (model) != NULL;
  float *local, *edge, *up;
  double t;

  if (count == 0 || first + count > data->n_samples ||
      !(local_fraction > 0.0 && local_fraction <= 1.0)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "no held-out samples to choose a threshold on");
    return FALSE;
  }
  if (edge_fraction > 0.0 &&
      (!has_edge || !edge_threshold || local_fraction + edge_fraction > 1.0)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        has_edge ? "the local and edge exit shares add up to more than all "
                   "samples"
                 : "an edge exit share was given for a model without an edge "
                   "section");
    return FALSE;
  }
  local = g_new (float, count);
  edge = g_new (float, count);
  up = g_new (float, count);
  for (k = 0; k < count; k++) {
    const guint8 *views[DDNN_MAX_VIEWS];
    DdnnSampleResult r;

    for (v = 0; v < n_views; v++)
      views[v] = ddnn_dataset_view (data, first + k, v);
    if (!ddnn_runner_run (runner, views, stride, 0.0, 0.0, &r, error)) {
      g_free (local);
      g_free (edge);
      g_free (up);
      return FALSE;
    }
    local[k] = r.local_entropy;
    edge[k] = has_edge ? r.edge_entropy : 1.0f;
  }
  memcpy (up, local, count * sizeof (float));
  t = threshold_for (up, count, (guint) ceil (local_fraction * count));
  *local_threshold = t;
  if (edge_fraction > 0.0) {
    /* of the samples that go on at the local threshold, the edge answers
     * the @edge_fraction of all with the least uncertain edge scores */
    for (k = 0; k < count; k++)
      if (!ddnn_model_exits (model, DDNN_TIER_DEVICE, t, local[k]))
        up[n_up++] = edge[k];
    *edge_threshold = n_up
        ? threshold_for (up, n_up, (guint) ceil (edge_fraction * count))
        : 0.0;
  }
  g_free (local);
  g_free (edge);
  g_free (up);
  return TRUE;
}
