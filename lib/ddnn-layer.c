/* libddnn: the layer table.  One row per layer type holds everything the
 * engine does with that type: its name and JSON fields, its output shape,
 * its parameters, what inference prepares from them, its cost, its forward
 * pass, and the trainer's forward and backward passes.  A new layer type is
 * an enum value, a row and its functions (and its kernels in ddnn-ops.c).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"
#include "ddnn-train-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Parsing: the fields after "type", and the output shape              */

static gboolean
parse_conv2d (DdnnLayer *layer, JsonObject *obj, const gchar *path,
    gboolean flat, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (!ddnn_json_get_uint (
          obj, path, "out", TRUE, 0, 1, MAX_CHANNELS, &layer->out, error) ||
      !ddnn_json_get_uint (
          obj, path, "kernel", TRUE, 0, 1, MAX_KERNEL, &layer->kernel, error) ||
      !ddnn_json_get_uint (obj, path, "stride", FALSE, 1, 1, MAX_STRIDE,
          &layer->stride, error) ||
      !ddnn_json_get_uint (
          obj, path, "pad", FALSE, 0, 0, MAX_KERNEL - 1, &layer->pad, error) ||
      !ddnn_json_get_bool (obj, path, "binary", FALSE, &layer->binary, error) ||
      !ddnn_json_get_bool (obj, path, "bias", FALSE, &layer->has_bias, error) ||
      !ddnn_json_get_uint (obj, path, "groups", FALSE, 1, 1, MAX_CHANNELS,
          &layer->groups, error))
    return FALSE;
  if (flat) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: conv2d cannot follow a linear layer", path);
    return FALSE;
  }
  if (layer->in_c % layer->groups || layer->out % layer->groups) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: %u groups must divide the %u input and %u output channels", path,
        layer->groups, layer->in_c, layer->out);
    return FALSE;
  }
  /* the shape of one group; the groups run side by side */
  if (!ddnn_conv_shape_init (&layer->conv, layer->in_c / layer->groups,
          layer->in_h, layer->in_w, layer->out / layer->groups, layer->kernel,
          layer->kernel, layer->stride, layer->pad, &local)) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY, "%s: %s", path, local->message);
    return FALSE;
  }
  layer->out_c = layer->out;
  layer->out_h = layer->conv.out_height;
  layer->out_w = layer->conv.out_width;
  if ((gsize) ddnn_conv_patch_size (&layer->conv) *
          ddnn_conv_out_pixels (&layer->conv) >
      MAX_ACTIVATION) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: the convolution's patch matrix is over the size limit", path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_linear (DdnnLayer *layer, JsonObject *obj, const gchar *path,
    gboolean flat, GError **error)
{
  if (!ddnn_json_get_uint (obj, path, "out", TRUE, 0, 1, MAX_CHANNELS * 16,
          &layer->out, error) ||
      !ddnn_json_get_bool (obj, path, "binary", FALSE, &layer->binary, error) ||
      !ddnn_json_get_bool (obj, path, "bias", FALSE, &layer->has_bias, error))
    return FALSE;
  layer->in_c = layer->in_c * layer->in_h * layer->in_w;
  layer->in_h = layer->in_w = 1;
  layer->out_c = layer->out;
  layer->out_h = layer->out_w = 1;
  if ((guint64) layer->in_c * layer->out > MAX_ACTIVATION) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: %u x %u weights are over the size limit", path, layer->in_c,
        layer->out);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_pool (DdnnLayer *layer, JsonObject *obj, const gchar *path, gboolean flat,
    GError **error)
{
  if (!ddnn_json_get_uint (
          obj, path, "kernel", TRUE, 0, 1, MAX_KERNEL, &layer->kernel, error) ||
      !ddnn_json_get_uint (obj, path, "stride", FALSE, layer->kernel, 1,
          MAX_STRIDE, &layer->stride, error) ||
      !ddnn_json_get_uint (
          obj, path, "pad", FALSE, 0, 0, MAX_KERNEL - 1, &layer->pad, error))
    return FALSE;
  if (flat) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: pooling cannot follow a linear layer", path);
    return FALSE;
  }
  layer->out_h = ddnn_pool_out_size (
      layer->in_h, layer->kernel, layer->stride, layer->pad);
  layer->out_w = ddnn_pool_out_size (
      layer->in_w, layer->kernel, layer->stride, layer->pad);
  if (layer->out_h == 0 || layer->out_w == 0 || layer->pad >= layer->kernel) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: pooling %u stride %u pad %u does not fit a %ux%u input", path,
        layer->kernel, layer->stride, layer->pad, layer->in_h, layer->in_w);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_batchnorm (DdnnLayer *layer, JsonObject *obj, const gchar *path,
    gboolean flat, GError **error)
{
  double eps;

  if (!ddnn_json_get_number (
          obj, path, "eps", FALSE, 1e-5, 1e-12, 1.0, &eps, error))
    return FALSE;
  layer->eps = (float) eps;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Parameters, as stored in the file                                   */

static gboolean
param_weights (const DdnnLayer *layer, DdnnParamKind kind, DdnnDtype *dtype,
    guint *n_dims, gsize *shape)
{
  gsize fan_in = layer->type == DDNN_LAYER_CONV2D
      ? ddnn_conv_patch_size (&layer->conv)
      : layer->in_c;

  if (kind == DDNN_PARAM_WEIGHT) {
    shape[0] = layer->out;
    if (layer->binary) {
      *dtype = DDNN_DTYPE_BIT;
      *n_dims = 2;
      shape[1] = fan_in;
    } else if (layer->type == DDNN_LAYER_CONV2D) {
      *dtype = DDNN_DTYPE_F32;
      *n_dims = 4;
      shape[1] = layer->in_c / layer->groups;
      shape[2] = shape[3] = layer->kernel;
    } else {
      *dtype = DDNN_DTYPE_F32;
      *n_dims = 2;
      shape[1] = fan_in;
    }
    return TRUE;
  }
  if (kind == DDNN_PARAM_BIAS && layer->has_bias) {
    *dtype = DDNN_DTYPE_F32;
    *n_dims = 1;
    shape[0] = layer->out;
    return TRUE;
  }
  return FALSE;
}

static gboolean
param_batchnorm (const DdnnLayer *layer, DdnnParamKind kind, DdnnDtype *dtype,
    guint *n_dims, gsize *shape)
{
  if (kind == DDNN_PARAM_WEIGHT || kind == DDNN_PARAM_BIAS)
    return FALSE;
  *dtype = DDNN_DTYPE_F32;
  *n_dims = 1;
  shape[0] = layer->in_c;
  return TRUE;
}

/* A BIT parameter of shape [rows, cols] is stored as U8 rows of
 * ceil(cols / 8) bytes, each row packed on its own. */
void
ddnn_param_stored_shape (DdnnDtype dtype, guint n_dims, const gsize *shape,
    DdnnStDtype *st_dtype, gsize *st_shape)
{
  memcpy (st_shape, shape, n_dims * sizeof (gsize));
  if (dtype == DDNN_DTYPE_BIT) {
    *st_dtype = DDNN_ST_U8;
    st_shape[1] = (shape[1] + 7) / 8;
  } else {
    *st_dtype = DDNN_ST_F32;
  }
}

DdnnTensor *
ddnn_param_tensor_new (
    DdnnDtype dtype, guint n_dims, const gsize *shape, GError **error)
{
  gsize st_shape[DDNN_TENSOR_MAX_DIMS];
  DdnnStDtype st_dtype;

  /* A BIT parameter is held as its stored rows, [rows, ceil(cols / 8)]
   * bytes, so that every row starts on a byte. */
  ddnn_param_stored_shape (dtype, n_dims, shape, &st_dtype, st_shape);
  if (dtype == DDNN_DTYPE_BIT) {
    DdnnTensor *t = ddnn_tensor_new (DDNN_DTYPE_I8, 2, st_shape, error);

    if (t) {
      t->dtype = DDNN_DTYPE_BIT;
      t->shape[1] = shape[1];
      t->n_elements = shape[0] * shape[1];
    }
    return t;
  }
  return ddnn_tensor_new (dtype, n_dims, shape, error);
}

/* ------------------------------------------------------------------ */
/* Preparing for inference                                             */

static gboolean
prepare_batchnorm (DdnnLayer *layer, GError **error)
{
  const float *var = ddnn_tensor_f32 (layer->params[DDNN_PARAM_RUNNING_VAR]);
  guint c;

  for (c = 0; c < layer->in_c; c++) {
    if (!(var[c] >= 0.0f)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "tensor '%s.running_var' holds a negative variance", layer->prefix);
      return FALSE;
    }
  }
  layer->bn_scale = g_new (float, layer->in_c);
  layer->bn_shift = g_new (float, layer->in_c);
  ddnn_batch_norm_fold (layer->in_c,
      ddnn_tensor_f32 (layer->params[DDNN_PARAM_GAMMA]),
      ddnn_tensor_f32 (layer->params[DDNN_PARAM_BETA]),
      ddnn_tensor_f32 (layer->params[DDNN_PARAM_RUNNING_MEAN]), var, layer->eps,
      layer->bn_scale, layer->bn_shift);
  return TRUE;
}

/* Binary weights: as +/-1 floats, and as words for XNOR-popcount (a
 * convolution's per tap and pixel, a linear layer's per row). */
static gboolean
prepare_weights (DdnnLayer *layer, GError **error)
{
  DdnnTensor *weight = layer->params[DDNN_PARAM_WEIGHT];
  gsize rows, cols, row_bytes, r;
  const guint8 *packed;

  if (!layer->binary || !weight)
    return TRUE;
  rows = weight->shape[0];
  cols = weight->shape[1];
  row_bytes = (cols + 7) / 8;
  packed = ddnn_tensor_u8 (weight);
  layer->weight_pm1 = ddnn_aligned_alloc0 (rows * cols * sizeof (float));
  for (r = 0; r < rows; r++)
    ddnn_bits_unpack (
        packed + r * row_bytes, cols, layer->weight_pm1 + r * cols);

  if (layer->type == DDNN_LAYER_CONV2D && layer->groups > 1) {
    /* grouped: the float kernel on +/-1 weights (bits are unpacked first) */
  } else if (layer->type == DDNN_LAYER_CONV2D) {
    gsize taps = (gsize) layer->kernel * layer->kernel;

    layer->weight_words = ddnn_aligned_alloc0 (rows * taps *
        ddnn_binary_words_per_pixel (layer->in_c) * sizeof (guint64));
    ddnn_binary_conv_pack_weights (&layer->conv, packed, layer->weight_words);
  } else {
    guint words = ddnn_binary_row_words (cols);

    layer->weight_words = ddnn_aligned_alloc0 (rows * words * 8);
    for (r = 0; r < rows; r++)
      memcpy ((guint8 *) (layer->weight_words + r * words),
          packed + r * row_bytes, row_bytes);
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Cost                                                                */

static guint64
in_size (const DdnnLayer *layer)
{
  return (guint64) layer->in_c * layer->in_h * layer->in_w;
}

/* each output channel sees the patch of its group */
static guint64
flops_conv2d (const DdnnLayer *layer)
{
  return 2 * (guint64) layer->out * ddnn_conv_patch_size (&layer->conv) *
      ddnn_conv_out_pixels (&layer->conv);
}

static guint64
flops_linear (const DdnnLayer *layer)
{
  return 2 * (guint64) layer->out * layer->in_c;
}

static guint64
flops_pool (const DdnnLayer *layer)
{
  return (guint64) layer->out_c * layer->out_h * layer->out_w * layer->kernel *
      layer->kernel;
}

static guint64
flops_batchnorm (const DdnnLayer *layer)
{
  return 2 * in_size (layer);
}

/* ------------------------------------------------------------------ */
/* Inference: each function takes the value in @v and leaves the        */
/* layer's output there                                                */

static float *
other_buffer (DdnnSection *s, const DdnnValue *v)
{
  return v->data == s->buf[0] ? s->buf[1] : s->buf[0];
}

/* Packed bits in the scratch bit buffer, with the padding up to the next
 * 64-bit word zeroed, as the binary kernels read whole words. */
static const guint8 *
value_bits (DdnnSection *s, DdnnValue *v)
{
  gsize n_bytes = (v->n + 7) / 8, padded = ddnn_binary_row_words (v->n) * 8;

  if (v->data != s->bits)
    memcpy (s->bits, v->data, n_bytes);
  memset (s->bits + n_bytes, 0, padded - n_bytes);
  v->data = s->bits;
  v->in_scratch = TRUE;
  return s->bits;
}

const float *
ddnn_value_floats (DdnnSection *s, DdnnValue *v)
{
  if (v->bits) {
    float *out = other_buffer (s, v);

    ddnn_bits_unpack (v->data, v->n, out);
    v->bits = FALSE;
    v->data = out;
    v->in_scratch = TRUE;
  }
  return v->data;
}

static gsize
out_size (const DdnnLayer *layer)
{
  return (gsize) layer->out_c * layer->out_h * layer->out_w;
}

static void
set_floats (DdnnValue *v, float *out, gsize n)
{
  v->bits = FALSE;
  v->data = out;
  v->in_scratch = TRUE;
  v->n = n;
}

static const float *
bias_of (const DdnnLayer *layer)
{
  return layer->params[DDNN_PARAM_BIAS]
      ? ddnn_tensor_f32 (layer->params[DDNN_PARAM_BIAS])
      : NULL;
}

static const float *
float_weights (const DdnnLayer *layer)
{
  return layer->binary ? layer->weight_pm1
                       : ddnn_tensor_f32 (layer->params[DDNN_PARAM_WEIGHT]);
}

static void
forward_conv2d (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v)
{
  float *out;

  if (layer->binary && v->bits && layer->groups == 1) {
    ddnn_bits_chw_to_hwc (
        v->data, layer->in_c, layer->in_h, layer->in_w, s->hwc);
    out = other_buffer (s, v);
    ddnn_binary_conv2d (
        &layer->conv, s->hwc, layer->weight_words, bias_of (layer), out);
  } else {
    const float *in = ddnn_value_floats (s, v), *bias = bias_of (layer);
    const float *weights = float_weights (layer);
    const DdnnConvShape *g = &layer->conv;
    gsize in_step = (gsize) g->in_channels * layer->in_h * layer->in_w;
    gsize out_step = (gsize) g->out_channels * ddnn_conv_out_pixels (g);
    gsize w_step = (gsize) g->out_channels * ddnn_conv_patch_size (g);
    guint k;

    out = other_buffer (s, v);
    for (k = 0; k < layer->groups; k++)
      ddnn_conv2d_f32 (g, in + k * in_step, weights + k * w_step,
          bias ? bias + k * g->out_channels : NULL, s->col, out + k * out_step);
  }
  set_floats (v, out, out_size (layer));
}

static void
forward_linear (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v)
{
  float *out;

  if (layer->binary && v->bits) {
    const guint8 *in = value_bits (s, v);

    out = other_buffer (s, v);
    ddnn_binary_linear (layer->in_c, layer->out, (const guint64 *) in,
        layer->weight_words, bias_of (layer), out);
  } else {
    const float *in = ddnn_value_floats (s, v);

    out = other_buffer (s, v);
    ddnn_linear_f32 (layer->in_c, layer->out, in, float_weights (layer),
        bias_of (layer), out);
  }
  set_floats (v, out, out_size (layer));
}

static void
forward_pool (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v)
{
  const float *in = ddnn_value_floats (s, v);
  float *out = other_buffer (s, v);

  (layer->type == DDNN_LAYER_MAXPOOL ? ddnn_max_pool2d : ddnn_avg_pool2d) (
      layer->in_c, layer->in_h, layer->in_w, layer->kernel, layer->stride,
      layer->pad, in, out);
  set_floats (v, out, out_size (layer));
}

/* The value's floats, where this layer may overwrite them. */
static float *
floats_in_place (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v)
{
  const float *in = ddnn_value_floats (s, v);
  float *out = v->in_scratch ? (float *) in : other_buffer (s, v);

  if (out != in)
    memcpy (out, in, out_size (layer) * sizeof (float));
  return out;
}

static void
forward_batchnorm (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v)
{
  float *out = floats_in_place (s, layer, v);

  ddnn_channel_affine (layer->in_c, (gsize) layer->in_h * layer->in_w,
      layer->bn_scale, layer->bn_shift, out);
  set_floats (v, out, out_size (layer));
}

static void
forward_sign (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v)
{
  if (!v->bits) {
    ddnn_bits_pack (v->data, out_size (layer), s->bits);
    v->bits = TRUE;
    v->data = s->bits;
    v->in_scratch = TRUE;
  }
  v->n = out_size (layer);
}

static void
forward_relu (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v)
{
  float *out = floats_in_place (s, layer, v);

  ddnn_relu (out_size (layer), out);
  set_floats (v, out, out_size (layer));
}

gboolean
ddnn_layer_forward_fused (
    DdnnSection *s, const DdnnLayer *layer, const DdnnLayer *next, DdnnValue *v)
{
  gsize spatial = (gsize) layer->in_h * layer->in_w;

  if (layer->type != DDNN_LAYER_BATCHNORM || !next)
    return FALSE;
  if (next->type == DDNN_LAYER_SIGN) {
    /* batch norm and sign in one pass, straight to bits */
    ddnn_channel_affine_sign_bits (layer->in_c, spatial, layer->bn_scale,
        layer->bn_shift, ddnn_value_floats (s, v), s->bits);
    v->bits = TRUE;
    v->data = s->bits;
    v->in_scratch = TRUE;
    v->n = out_size (layer);
    return TRUE;
  }
  if (next->type == DDNN_LAYER_RELU) {
    float *out = floats_in_place (s, layer, v);

    ddnn_channel_affine_relu (
        layer->in_c, spatial, layer->bn_scale, layer->bn_shift, out);
    set_floats (v, out, out_size (layer));
    return TRUE;
  }
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */

static const gchar *const conv_keys[] = { "type", "out", "kernel", "stride",
  "pad", "binary", "bias", "groups", NULL };
static const gchar *const linear_keys[] = { "type", "out", "binary", "bias",
  NULL };
static const gchar *const pool_keys[] = { "type", "kernel", "stride", "pad",
  NULL };
static const gchar *const bn_keys[] = { "type", "eps", NULL };
static const gchar *const plain_keys[] = { "type", NULL };

const DdnnLayerClass ddnn_layer_classes[] = {
  [DDNN_LAYER_CONV2D] = { "conv2d", conv_keys, parse_conv2d, param_weights,
      prepare_weights, flops_conv2d, forward_conv2d, ddnn_train_weights_new,
      ddnn_train_conv_forward, ddnn_train_conv_backward },
  [DDNN_LAYER_LINEAR] = { "linear", linear_keys, parse_linear, param_weights,
      prepare_weights, flops_linear, forward_linear, ddnn_train_weights_new,
      ddnn_train_linear_forward, ddnn_train_linear_backward },
  [DDNN_LAYER_MAXPOOL] = { "maxpool", pool_keys, parse_pool, NULL, NULL,
      flops_pool, forward_pool, ddnn_train_maxpool_new, ddnn_train_pool_forward,
      ddnn_train_pool_backward },
  [DDNN_LAYER_AVGPOOL] = { "avgpool", pool_keys, parse_pool, NULL, NULL,
      flops_pool, forward_pool, NULL, ddnn_train_pool_forward,
      ddnn_train_pool_backward },
  [DDNN_LAYER_BATCHNORM] = { "batchnorm", bn_keys, parse_batchnorm,
      param_batchnorm, prepare_batchnorm, flops_batchnorm, forward_batchnorm,
      ddnn_train_batchnorm_new, ddnn_train_batchnorm_forward,
      ddnn_train_batchnorm_backward },
  [DDNN_LAYER_SIGN] = { "sign", plain_keys, NULL, NULL, NULL, in_size,
      forward_sign, NULL, ddnn_train_sign_forward, ddnn_train_sign_backward },
  [DDNN_LAYER_RELU] = { "relu", plain_keys, NULL, NULL, NULL, in_size,
      forward_relu, NULL, ddnn_train_relu_forward, ddnn_train_relu_backward },
};
G_STATIC_ASSERT (G_N_ELEMENTS (ddnn_layer_classes) == DDNN_N_LAYER_TYPES);

/* ------------------------------------------------------------------ */
/* What the rest of the engine calls                                   */

DdnnLayer *
ddnn_layer_parse (JsonNode *node, const gchar *path, const gchar *prefix,
    guint c, guint h, guint w, gboolean flat, GError **error)
{
  const DdnnLayerClass *klass = NULL;
  DdnnLayer *layer;
  JsonObject *obj;
  const gchar *type;
  guint t;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: a layer must be an object", path);
    return NULL;
  }
  obj = json_node_get_object (node);
  if (!ddnn_json_get_string (obj, path, "type", TRUE, &type, error))
    return NULL;
  for (t = 0; t < DDNN_N_LAYER_TYPES; t++)
    if (strcmp (type, ddnn_layer_classes[t].name) == 0)
      klass = &ddnn_layer_classes[t];
  if (!klass) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: unknown layer type '%s'", path, type);
    return NULL;
  }

  layer = g_new0 (DdnnLayer, 1);
  layer->type = klass - ddnn_layer_classes;
  layer->prefix = g_strdup (prefix);
  layer->in_c = layer->out_c = c;
  layer->in_h = layer->out_h = h;
  layer->in_w = layer->out_w = w;
  if (!ddnn_json_check_keys (obj, path, klass->keys, error) ||
      (klass->parse && !klass->parse (layer, obj, path, flat, error)) ||
      !ddnn_shape_fits (
          layer->out_c, layer->out_h, layer->out_w, path, error)) {
    ddnn_layer_free (layer);
    return NULL;
  }
  return layer;
}

gboolean
ddnn_layer_param_spec (const DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype *dtype, guint *n_dims, gsize *shape)
{
  const DdnnLayerClass *klass = &ddnn_layer_classes[layer->type];

  return klass->param && klass->param (layer, kind, dtype, n_dims, shape);
}

gboolean
ddnn_layer_prepare (DdnnLayer *layer, GError **error)
{
  const DdnnLayerClass *klass = &ddnn_layer_classes[layer->type];

  g_clear_pointer (&layer->weight_pm1, ddnn_aligned_free);
  g_clear_pointer (&layer->weight_words, ddnn_aligned_free);
  g_clear_pointer (&layer->bn_scale, g_free);
  g_clear_pointer (&layer->bn_shift, g_free);
  return !klass->prepare || klass->prepare (layer, error);
}

void
ddnn_layer_forward (DdnnSection *s, const DdnnLayer *layer, DdnnValue *v)
{
  ddnn_layer_classes[layer->type].forward (s, layer, v);
}

void
ddnn_layer_cost (const DdnnLayer *layer, DdnnSectionCost *cost)
{
  guint k;

  cost->flops += ddnn_layer_classes[layer->type].flops (layer);
  /* From the topology, so that a section exported away still has a cost. */
  for (k = 0; k < DDNN_N_PARAMS; k++) {
    gsize shape[DDNN_TENSOR_MAX_DIMS], n_elements, n_bytes;
    DdnnDtype dtype;
    guint n_dims;

    if (!ddnn_layer_param_spec (layer, k, &dtype, &n_dims, shape) ||
        !ddnn_tensor_bytes_for (
            dtype, n_dims, shape, &n_elements, &n_bytes, NULL))
      continue;
    cost->params += n_elements;
    cost->bytes += dtype == DDNN_DTYPE_BIT ? shape[0] * ((shape[1] + 7) / 8)
                                           : n_bytes;
  }
}
