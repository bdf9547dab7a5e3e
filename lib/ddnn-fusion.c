/* libddnn: fusing the views' features and scores, and int8 scores.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* Checks the inputs of an upper section and fuses them by the model's
 * feature fusion: into @bits (when every view is present as bits and the
 * fusion is max or concat) or into @floats, whichever *is_bits says.
 * @unpacked has room for every view's features as float.  A section fed by
 * an edge takes one input, which is not handled here. */
static gboolean
fuse_section_input (DdnnSection *section, DdnnFusion mode,
    DdnnTensor *const *features, guint n_inputs, guint8 *bits, float *floats,
    float *unpacked, gboolean *is_bits, GError **error)
{
  DdnnModel *model = section->model;
  DdnnSection *below = ddnn_model_get_device_section (model, 0);
  gsize per_view = (gsize) below->feat_c * below->feat_h * below->feat_w;
  gboolean all_bits = TRUE;
  guint v;

  if (n_inputs != model->n_views) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "section '%s' takes the features of %u input%s, not %u", section->name,
        model->n_views, model->n_views == 1 ? "" : "s", n_inputs);
    return FALSE;
  }
  for (v = 0; v < n_inputs; v++) {
    if (!features[v]) {
      all_bits = FALSE;
      continue;
    }
    if (features[v]->n_elements != per_view ||
        (features[v]->dtype != DDNN_DTYPE_F32 &&
            features[v]->dtype != DDNN_DTYPE_BIT)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
          "section '%s': input %u has %" G_GSIZE_FORMAT " %s values; the "
          "tier below gives %" G_GSIZE_FORMAT " f32 or bit values",
          section->name, v, features[v]->n_elements,
          ddnn_dtype_name (features[v]->dtype), per_view);
      return FALSE;
    }
    all_bits &= features[v]->dtype == DDNN_DTYPE_BIT;
  }

  *is_bits = all_bits && mode != DDNN_FUSION_AVG;
  if (*is_bits) {
    const guint8 *views[DDNN_MAX_VIEWS];

    for (v = 0; v < n_inputs; v++)
      views[v] = features[v]->data;
    return ddnn_fuse_bits (mode, n_inputs, views, per_view, bits, error);
  } else {
    const float *views[DDNN_MAX_VIEWS];

    for (v = 0; v < n_inputs; v++) {
      float *dst = unpacked + v * per_view;

      if (!features[v]) {
        views[v] = NULL;
        continue;
      }
      if (features[v]->dtype == DDNN_DTYPE_BIT)
        ddnn_bits_unpack (features[v]->data, per_view, dst);
      else
        memcpy (dst, features[v]->data, per_view * sizeof (float));
      views[v] = dst;
    }
    return ddnn_fuse_f32 (mode, n_inputs, views, per_view, floats, error);
  }
}

gboolean
ddnn_section_run_fused (DdnnSection *section, DdnnTensor *const *features,
    guint n_inputs, DdnnSectionResult *result, GError **error)
{
  DdnnModel *model = section->model;
  gboolean is_bits;
  DdnnValue value;

  if (!ddnn_section_check_runnable (section, error))
    return FALSE;
  if (section->tier == DDNN_TIER_DEVICE) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "section '%s' is a device section and takes an image", section->name);
    return FALSE;
  }
  if (section->tier == DDNN_TIER_CLOUD && ddnn_model_get_edge_section (model)) {
    /* a cloud after an edge takes the edge's features alone */
    if (n_inputs != 1 || !features[0]) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
          "section '%s' takes the features of 1 input (the edge), not %u",
          section->name, n_inputs);
      return FALSE;
    }
    return ddnn_section_run (section, features[0], result, error);
  }
  if (!fuse_section_input (section, model->feature_fusion, features, n_inputs,
          section->bits, section->buf[0], section->unpacked, &is_bits, error))
    return FALSE;
  value.bits = is_bits;
  value.data = is_bits ? (gconstpointer) section->bits : section->buf[0];
  value.in_scratch = TRUE;
  value.n = (gsize) section->in_c * section->in_h * section->in_w;
  return ddnn_section_run_value (section, &value, result, error);
}

/* Whether @mode fuses the views' features into what the edge (or the cloud)
 * takes; a fusion that does not would overrun its input. */
gboolean
ddnn_feature_fusion_fits (
    const DdnnModel *model, DdnnFusion mode, GError **error)
{
  DdnnSection *upper = ddnn_model_get_edge_section (model);
  DdnnSection *device = ddnn_model_get_device_section (model, 0);
  gsize per_view = (gsize) device->feat_c * device->feat_h * device->feat_w;
  gsize takes, gives;

  if (!upper)
    upper = ddnn_model_get_cloud_section (model);
  if (!upper || !ddnn_section_is_present (upper))
    return TRUE;
  takes = (gsize) upper->in_c * upper->in_h * upper->in_w;
  gives = mode == DDNN_FUSION_CONCAT ? per_view * model->n_views : per_view;
  if (takes != gives) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "feature fusion '%s' gives %" G_GSIZE_FORMAT " values, but section "
        "'%s' takes %" G_GSIZE_FORMAT " (the model was trained with '%s')",
        ddnn_fusion_name (mode), gives, upper->name, takes,
        ddnn_fusion_name (model->feature_fusion));
    return FALSE;
  }
  return TRUE;
}

gboolean
ddnn_model_check_fusion (const DdnnModel *model, DdnnFusion local_mode,
    DdnnFusion feature_mode, GError **error)
{
  if (local_mode == DDNN_FUSION_CONCAT) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "local fusion 'concat' gives no class scores to exit on; use max or "
        "avg");
    return FALSE;
  }
  return ddnn_feature_fusion_fits (model, feature_mode, error);
}

DdnnTensor *
ddnn_model_fuse_features (const DdnnModel *model, DdnnTensor *const *features,
    guint n_views, GError **error)
{
  return ddnn_model_fuse_features_as (
      model, model->feature_fusion, features, n_views, error);
}

DdnnTensor *
ddnn_model_fuse_features_as (const DdnnModel *model, DdnnFusion mode,
    DdnnTensor *const *features, guint n_views, GError **error)
{
  DdnnSection *upper = ddnn_model_get_edge_section (model);
  DdnnSection *device = ddnn_model_get_device_section (model, 0);
  gsize per_view = (gsize) device->feat_c * device->feat_h * device->feat_w;
  gsize shape[3];
  DdnnTensor *bits = NULL, *floats = NULL;
  float *unpacked;
  gboolean is_bits, ok;
  guint n_dims;

  if (!ddnn_feature_fusion_fits (model, mode, error))
    return NULL;
  if (!upper)
    upper = ddnn_model_get_cloud_section (model);
  if (upper->in_h == 1 && upper->in_w == 1 && device->feat_flat) {
    n_dims = 1;
    shape[0] = upper->in_c;
  } else {
    n_dims = 3;
    shape[0] = upper->in_c;
    shape[1] = upper->in_h;
    shape[2] = upper->in_w;
  }
  bits = ddnn_tensor_new (DDNN_DTYPE_BIT, n_dims, shape, error);
  floats = bits ? ddnn_tensor_new (DDNN_DTYPE_F32, n_dims, shape, error) : NULL;
  if (!floats) {
    ddnn_tensor_unref (bits);
    return NULL;
  }
  unpacked = g_new0 (float, (gsize) n_views *per_view + 1);
  ok = fuse_section_input (upper, mode, features, n_views,
      ddnn_tensor_u8 (bits), ddnn_tensor_f32 (floats), unpacked, &is_bits,
      error);
  g_free (unpacked);
  if (!ok) {
    ddnn_tensor_unref (bits);
    ddnn_tensor_unref (floats);
    return NULL;
  }
  if (is_bits) {
    ddnn_tensor_unref (floats);
    return bits;
  }
  ddnn_tensor_unref (bits);
  return floats;
}

gsize
ddnn_model_score_bytes (const DdnnModel *model)
{
  guint n_classes = model->class_names->len;

  /* int8: one byte a class and a float16 scale */
  return model->score_format == DDNN_SCORES_INT8 ? n_classes + 2
                                                 : 4 * (gsize) n_classes;
}

DdnnScoreFormat
ddnn_model_get_score_format (const DdnnModel *model)
{
  return model->score_format;
}

void
ddnn_scores_quantize_int8 (guint n, const float *scores, float *dequantized)
{
  float top = 0.0f, scale;
  guint i;

  for (i = 0; i < n; i++)
    top = MAX (top, fabsf (scores[i]));
  /* the scale travels as float16: round it to 11 significant bits and
   * keep it in float16's normal range, [2^-14, 65504], as the wire does */
  scale = top > 0.0f ? top / 127.0f : 1.0f;
  {
    int exp;
    float mant = frexpf (scale, &exp);

    scale = ldexpf (roundf (mant * 2048.0f) / 2048.0f, exp);
    scale = CLAMP (scale, ldexpf (1.0f, -14), 65504.0f);
  }
  for (i = 0; i < n; i++) {
    float q = roundf (scores[i] / scale);

    dequantized[i] = CLAMP (q, -127.0f, 127.0f) * scale;
  }
}

gboolean
ddnn_model_fuse_scores (const DdnnModel *model, const float *const *scores,
    guint n_views, float *fused, float *probs, float *entropy, GError **error)
{
  return ddnn_model_fuse_scores_as (model, model->local_fusion, scores, n_views,
      fused, probs, entropy, error);
}

gboolean
ddnn_model_fuse_scores_as (const DdnnModel *model, DdnnFusion mode,
    const float *const *scores, guint n_views, float *fused, float *probs,
    float *entropy, GError **error)
{
  guint n_classes = model->class_names->len, v;
  const float *wire[DDNN_MAX_VIEWS];
  float *quantized = NULL;

  if (mode == DDNN_FUSION_CONCAT) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "local fusion 'concat' gives no class scores; use max or avg");
    return FALSE;
  }
  if (n_views > DDNN_MAX_VIEWS) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "%u views, at most %d", n_views, DDNN_MAX_VIEWS);
    return FALSE;
  }
  /* fuse what the wire carries */
  if (model->score_format == DDNN_SCORES_INT8) {
    quantized = g_new (float, (gsize) n_views *n_classes);
    for (v = 0; v < n_views; v++) {
      wire[v] = NULL;
      if (scores[v]) {
        ddnn_scores_quantize_int8 (
            n_classes, scores[v], quantized + v * n_classes);
        wire[v] = quantized + v * n_classes;
      }
    }
    scores = wire;
  }
  if (!ddnn_fuse_f32 (mode, n_views, scores, n_classes, fused, error)) {
    g_free (quantized);
    return FALSE;
  }
  g_free (quantized);
  ddnn_softmax (n_classes, fused, probs);
  *entropy = ddnn_normalized_entropy (n_classes, probs);
  return TRUE;
}
