/* libddnn: the insides of a model, for the engine's own modules (the
 * trainer reads and writes parameters through these).  Not installed.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ddnn-model.h"

G_BEGIN_DECLS

typedef enum
{
  DDNN_LAYER_CONV2D,
  DDNN_LAYER_LINEAR,
  DDNN_LAYER_MAXPOOL,
  DDNN_LAYER_AVGPOOL,
  DDNN_LAYER_BATCHNORM,
  DDNN_LAYER_SIGN,
  DDNN_LAYER_RELU,
} DdnnLayerType;

typedef enum
{
  DDNN_PARAM_WEIGHT,
  DDNN_PARAM_BIAS,
  DDNN_PARAM_GAMMA,
  DDNN_PARAM_BETA,
  DDNN_PARAM_RUNNING_MEAN,
  DDNN_PARAM_RUNNING_VAR,
  DDNN_N_PARAMS,
} DdnnParamKind;

typedef struct
{
  DdnnLayerType type;
  gboolean binary, has_bias;
  guint out, kernel, stride, pad;
  float eps;
  guint in_c, in_h, in_w;
  guint out_c, out_h, out_w;
  DdnnConvShape conv;
  gchar *prefix; /* tensor name prefix, "device0.body.0" */

  /* As stored: F32, or packed BIT rows for binary weights. */
  DdnnTensor *params[DDNN_N_PARAMS];

  /* Prepared for inference from params. */
  float *weight_pm1; /* binary weights as +/-1 floats */
  guint64 *weight_words; /* binary weights packed for XNOR-popcount */
  float *bn_scale, *bn_shift;
} DdnnLayer;

struct _DdnnSection
{
  DdnnModel *model; /* not a reference: the model owns sections */
  gchar *name;
  DdnnTier tier;
  gint view;
  gboolean present;
  GPtrArray *body; /* DdnnLayer* */
  GPtrArray *exit;
  guint in_c, in_h, in_w;
  guint feat_c, feat_h, feat_w;
  gboolean feat_flat, feat_bits;
  gchar digest[DDNN_MODEL_ID_LENGTH + 1];

  /* scratch for one run at a time */
  gsize max_elements, max_col;
  float *buf[2];
  float *col;
  guint8 *bits;
  guint64 *hwc;
  float *unpacked; /* fused inputs as float, one view after another */
};

struct _DdnnModel
{
  gint ref_count;
  gchar *topology;
  gchar *name;
  gchar *id;
  DdnnInputSpec input;
  GPtrArray *class_names;
  guint n_views;
  DdnnFusion local_fusion, feature_fusion;
  double thresholds[3];
  DdnnScoreFormat score_format;
  GPtrArray *sections; /* DdnnSection*, devices first */
};

extern const gchar *const ddnn_param_names[DDNN_N_PARAMS];

/* Re-derives the inference forms (packed and folded weights) after the
 * parameters changed, and recomputes digests and the model id. */
gboolean ddnn_model_refresh (DdnnModel *model, GError **error);

G_END_DECLS
