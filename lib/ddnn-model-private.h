/* libddnn: the insides of a model, for the engine's own modules (the
 * trainer reads and writes parameters through these).  Not installed.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "ddnn-model.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>

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
  DDNN_N_LAYER_TYPES
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
  guint groups; /* conv2d: channels in groups that do not see each other */
  float eps;
  guint in_c, in_h, in_w;
  guint out_c, out_h, out_w;
  DdnnConvShape conv; /* of one group: in_c / groups in, out / groups out */
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

/* ------------------------------------------------------------------ */
/* Shared between the engine's files (one concern each; see lib/README)  */

/* Bounds on what a topology may ask for, so that a hostile file cannot make
 * the loader allocate without limit. */
#define MAX_LAYERS 64
#define MAX_INPUT_SIDE DDNN_POOL_MAX_WIDTH
#define MAX_CHANNELS 4096
#define MAX_KERNEL 15
#define MAX_STRIDE 16
#define MAX_ACTIVATION ((gsize) 1 << 26)

typedef gboolean (*DdnnParamFunc) (DdnnSection *s, DdnnLayer *layer,
    DdnnParamKind kind, DdnnDtype dtype, guint n_dims, const gsize *shape,
    gpointer user_data, GError **error);

extern const gchar *const ddnn_tier_names[3];

/* What the interpreter carries from layer to layer: floats or packed bits,
 * in the caller's memory or in one of the section's scratch buffers. */
typedef struct
{
  gboolean bits;
  gconstpointer data;
  gboolean in_scratch; /* data is one of the section's buffers */
  gsize n;
} DdnnValue;

/* ddnn-json.c: bounded readers of a topology's fields; each sets @error,
 * naming @path and @key, when the field is absent (and required), of
 * another type or out of [lo, hi]. */
gboolean ddnn_json_check_keys (JsonObject *obj, const gchar *path,
    const gchar *const *allowed, GError **error);
gboolean ddnn_json_get_uint (JsonObject *obj, const gchar *path,
    const gchar *key, gboolean required, guint fallback, guint lo, guint hi,
    guint *value, GError **error);
gboolean ddnn_json_get_number (JsonObject *obj, const gchar *path,
    const gchar *key, gboolean required, double fallback, double lo, double hi,
    double *value, GError **error);
gboolean ddnn_json_get_bool (JsonObject *obj, const gchar *path,
    const gchar *key, gboolean fallback, gboolean *value, GError **error);
/* An absent optional string or object gives TRUE and NULL. */
gboolean ddnn_json_get_string (JsonObject *obj, const gchar *path,
    const gchar *key, gboolean required, const gchar **value, GError **error);
gboolean ddnn_json_get_object (JsonObject *obj, const gchar *path,
    const gchar *key, gboolean required, JsonObject **value, GError **error);
gboolean ddnn_json_get_array (JsonObject *obj, const gchar *path,
    const gchar *key, JsonArray **value, GError **error);

/* ddnn-topology.c */
DdnnModel *ddnn_model_parse_topology (const gchar *topology, GError **error);
gboolean ddnn_shape_fits (
    guint c, guint h, guint w, const gchar *path, GError **error);

/* ddnn-layer.c: the layer table, one row per DdnnLayerType. */
typedef struct _DdnnTrainLayer DdnnTrainLayer;
typedef struct
{
  const gchar *name; /* "type" in the topology */
  const gchar *const *keys; /* the fields a layer of this type may have */
  /* reads the fields beyond "type" and sets the output shape (out_c, out_h,
   * out_w) from the input's; NULL: no fields, the shape unchanged */
  gboolean (*parse) (DdnnLayer *layer, JsonObject *obj, const gchar *path,
      gboolean flat, GError **error);
  /* the shape of parameter @kind as stored; FALSE: the layer has none */
  gboolean (*param) (const DdnnLayer *layer, DdnnParamKind kind,
      DdnnDtype *dtype, guint *n_dims, gsize *shape);
  /* derives the inference forms from the parameters; NULL: nothing to do */
  gboolean (*prepare) (DdnnLayer *layer, GError **error);
  guint64 (*flops) (const DdnnLayer *layer);
  /* inference on one sample: the layer's input in @v becomes its output */
  void (*forward) (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v);
  /* training (ddnn-train-layers.c): its state, made once (NULL: none), and
   * the passes on a batch */
  void (*train_new) (DdnnTrainLayer *l, GRand *rand);
  void (*train_forward) (
      DdnnTrainLayer *l, guint n, const float *x, gboolean training);
  void (*train_backward) (
      DdnnTrainLayer *l, guint n, const float *dy, gboolean want_dx);
} DdnnLayerClass;

extern const DdnnLayerClass ddnn_layer_classes[DDNN_N_LAYER_TYPES];

void ddnn_layer_forward (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v);
/* The fusions the interpreter does on purpose: batch norm straight into
 * the sign (to bits) or the ReLU after it.  FALSE when @layer and @next are
 * not such a pair; TRUE when both were run. */
gboolean ddnn_layer_forward_fused (DdnnSection *s, const DdnnLayer *layer,
    const DdnnLayer *next, DdnnValue *v);
/* The value as floats, unpacking bits into a scratch buffer. */
const float *ddnn_value_floats (DdnnSection *s, DdnnValue *v);

DdnnLayer *ddnn_layer_parse (JsonNode *node, const gchar *path,
    const gchar *prefix, guint c, guint h, guint w, gboolean flat,
    GError **error);
gboolean ddnn_layer_param_spec (const DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype *dtype, guint *n_dims, gsize *shape);
void ddnn_param_stored_shape (DdnnDtype dtype, guint n_dims, const gsize *shape,
    DdnnStDtype *st_dtype, gsize *st_shape);
DdnnTensor *ddnn_param_tensor_new (
    DdnnDtype dtype, guint n_dims, const gsize *shape, GError **error);
gboolean ddnn_layer_prepare (DdnnLayer *layer, GError **error);
void ddnn_layer_cost (const DdnnLayer *layer, DdnnSectionCost *cost);

/* ddnn-model.c */
/* The tensor name of a parameter: "device0.body.0.weight". */
gchar *ddnn_param_name (const DdnnLayer *layer, DdnnParamKind kind);
void ddnn_layer_free (gpointer data);
void ddnn_section_free (gpointer data);
void ddnn_section_free_scratch (DdnnSection *s);
gboolean ddnn_section_foreach_param (
    DdnnSection *s, DdnnParamFunc func, gpointer user_data, GError **error);
gchar *ddnn_model_compute_id (const DdnnModel *model);
void ddnn_section_compute_digest (DdnnSection *s);
gboolean ddnn_section_prepare (DdnnSection *s, GError **error);

/* ddnn-section.c */
gboolean ddnn_section_alloc_scratch (DdnnSection *s, GError **error);
gboolean ddnn_section_check_runnable (DdnnSection *section, GError **error);
gboolean ddnn_section_run_value (
    DdnnSection *s, DdnnValue *v, DdnnSectionResult *result, GError **error);

/* ddnn-fusion.c */
gboolean ddnn_feature_fusion_fits (
    const DdnnModel *model, DdnnFusion mode, GError **error);

G_END_DECLS
