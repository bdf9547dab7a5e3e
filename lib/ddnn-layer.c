/* libddnn: one row per layer type: parsing, parameters, preparing, cost.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

const gchar *const ddnn_layer_type_names[] = {
  [DDNN_LAYER_CONV2D] = "conv2d",
  [DDNN_LAYER_LINEAR] = "linear",
  [DDNN_LAYER_MAXPOOL] = "maxpool",
  [DDNN_LAYER_AVGPOOL] = "avgpool",
  [DDNN_LAYER_BATCHNORM] = "batchnorm",
  [DDNN_LAYER_SIGN] = "sign",
  [DDNN_LAYER_RELU] = "relu",
};
G_STATIC_ASSERT (G_N_ELEMENTS (ddnn_layer_type_names) == DDNN_LAYER_RELU + 1);

/* Parses one layer and infers its output shape from (c, h, w). */
DdnnLayer *
ddnn_layer_parse (JsonNode *node, const gchar *path, const gchar *prefix,
    guint c, guint h, guint w, gboolean flat, GError **error)
{
  static const gchar *const conv_keys[] = { "type", "out", "kernel", "stride",
    "pad", "binary", "bias", NULL };
  static const gchar *const linear_keys[] = { "type", "out", "binary", "bias",
    NULL };
  static const gchar *const pool_keys[] = { "type", "kernel", "stride", "pad",
    NULL };
  static const gchar *const bn_keys[] = { "type", "eps", NULL };
  static const gchar *const plain_keys[] = { "type", NULL };
  g_autoptr (GError) local = NULL;
  DdnnLayer *layer;
  JsonObject *obj;
  const gchar *type;
  guint t;
  double eps;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: a layer must be an object", path);
    return NULL;
  }
  obj = json_node_get_object (node);
  if (!(type = ddnn_json_get_string (obj, path, "type", TRUE, error)))
    return NULL;
  for (t = 0; t < G_N_ELEMENTS (ddnn_layer_type_names); t++)
    if (strcmp (type, ddnn_layer_type_names[t]) == 0)
      break;
  if (t == G_N_ELEMENTS (ddnn_layer_type_names)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: unknown layer type '%s'", path, type);
    return NULL;
  }

  layer = g_new0 (DdnnLayer, 1);
  layer->type = t;
  layer->prefix = g_strdup (prefix);
  layer->in_c = c;
  layer->in_h = h;
  layer->in_w = w;
  layer->out_c = c;
  layer->out_h = h;
  layer->out_w = w;

  switch (layer->type) {
    case DDNN_LAYER_CONV2D:
      if (!ddnn_json_check_keys (obj, path, conv_keys, error) ||
          !ddnn_json_get_uint (
              obj, path, "out", TRUE, 0, 1, MAX_CHANNELS, &layer->out, error) ||
          !ddnn_json_get_uint (obj, path, "kernel", TRUE, 0, 1, MAX_KERNEL,
              &layer->kernel, error) ||
          !ddnn_json_get_uint (obj, path, "stride", FALSE, 1, 1, MAX_STRIDE,
              &layer->stride, error) ||
          !ddnn_json_get_uint (obj, path, "pad", FALSE, 0, 0, MAX_KERNEL - 1,
              &layer->pad, error) ||
          !ddnn_json_get_bool (
              obj, path, "binary", FALSE, &layer->binary, error) ||
          !ddnn_json_get_bool (
              obj, path, "bias", FALSE, &layer->has_bias, error))
        goto fail;
      if (flat) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: conv2d cannot follow a linear layer", path);
        goto fail;
      }
      if (!ddnn_conv_shape_init (&layer->conv, c, h, w, layer->out,
              layer->kernel, layer->kernel, layer->stride, layer->pad,
              &local)) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY, "%s: %s", path,
            local->message);
        goto fail;
      }
      layer->out_c = layer->out;
      layer->out_h = layer->conv.out_height;
      layer->out_w = layer->conv.out_width;
      if ((gsize) ddnn_conv_patch_size (&layer->conv) *
              ddnn_conv_out_pixels (&layer->conv) >
          MAX_ACTIVATION) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: the convolution's patch matrix is over the size limit", path);
        goto fail;
      }
      break;
    case DDNN_LAYER_LINEAR:
      if (!ddnn_json_check_keys (obj, path, linear_keys, error) ||
          !ddnn_json_get_uint (obj, path, "out", TRUE, 0, 1, MAX_CHANNELS * 16,
              &layer->out, error) ||
          !ddnn_json_get_bool (
              obj, path, "binary", FALSE, &layer->binary, error) ||
          !ddnn_json_get_bool (
              obj, path, "bias", FALSE, &layer->has_bias, error))
        goto fail;
      layer->in_c = c * h * w;
      layer->in_h = layer->in_w = 1;
      layer->out_c = layer->out;
      layer->out_h = layer->out_w = 1;
      if ((guint64) layer->in_c * layer->out > MAX_ACTIVATION) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: %u x %u weights are over the size limit", path, layer->in_c,
            layer->out);
        goto fail;
      }
      break;
    case DDNN_LAYER_MAXPOOL:
    case DDNN_LAYER_AVGPOOL:
      if (!ddnn_json_check_keys (obj, path, pool_keys, error) ||
          !ddnn_json_get_uint (obj, path, "kernel", TRUE, 0, 1, MAX_KERNEL,
              &layer->kernel, error) ||
          !ddnn_json_get_uint (obj, path, "stride", FALSE, layer->kernel, 1,
              MAX_STRIDE, &layer->stride, error) ||
          !ddnn_json_get_uint (obj, path, "pad", FALSE, 0, 0, MAX_KERNEL - 1,
              &layer->pad, error))
        goto fail;
      if (flat) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: pooling cannot follow a linear layer", path);
        goto fail;
      }
      layer->out_h = ddnn_pool_out_size (
          h, layer->kernel, layer->stride, layer->pad);
      layer->out_w = ddnn_pool_out_size (
          w, layer->kernel, layer->stride, layer->pad);
      if (layer->out_h == 0 || layer->out_w == 0 ||
          layer->pad >= layer->kernel) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: pooling %u stride %u pad %u does not fit a %ux%u input", path,
            layer->kernel, layer->stride, layer->pad, h, w);
        goto fail;
      }
      break;
    case DDNN_LAYER_BATCHNORM:
      if (!ddnn_json_check_keys (obj, path, bn_keys, error) ||
          !ddnn_json_get_number (
              obj, path, "eps", FALSE, 1e-5, 1e-12, 1.0, &eps, error))
        goto fail;
      layer->eps = (float) eps;
      break;
    case DDNN_LAYER_SIGN:
    case DDNN_LAYER_RELU:
      if (!ddnn_json_check_keys (obj, path, plain_keys, error))
        goto fail;
      break;
  }
  if (!ddnn_shape_fits (layer->out_c, layer->out_h, layer->out_w, path, error))
    goto fail;
  return layer;

fail:
  ddnn_layer_free (layer);
  return NULL;
}

/* The shape each parameter must have, as stored in the file. */
gboolean
ddnn_layer_param_spec (const DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype *dtype, guint *n_dims, gsize *shape)
{
  gsize fan_in;

  switch (layer->type) {
    case DDNN_LAYER_CONV2D:
    case DDNN_LAYER_LINEAR:
      fan_in = layer->type == DDNN_LAYER_CONV2D
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
          shape[1] = layer->in_c;
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
    case DDNN_LAYER_BATCHNORM:
      if (kind == DDNN_PARAM_WEIGHT || kind == DDNN_PARAM_BIAS)
        return FALSE;
      *dtype = DDNN_DTYPE_F32;
      *n_dims = 1;
      shape[0] = layer->in_c;
      return TRUE;
    default:
      return FALSE;
  }
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

gboolean
ddnn_layer_prepare (DdnnLayer *layer, GError **error)
{
  DdnnTensor *weight = layer->params[DDNN_PARAM_WEIGHT];

  g_clear_pointer (&layer->weight_pm1, ddnn_aligned_free);
  g_clear_pointer (&layer->weight_words, ddnn_aligned_free);
  g_clear_pointer (&layer->bn_scale, g_free);
  g_clear_pointer (&layer->bn_shift, g_free);

  if (layer->type == DDNN_LAYER_BATCHNORM) {
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
        ddnn_tensor_f32 (layer->params[DDNN_PARAM_RUNNING_MEAN]), var,
        layer->eps, layer->bn_scale, layer->bn_shift);
    return TRUE;
  }

  if (!layer->binary || !weight)
    return TRUE;

  {
    gsize rows = weight->shape[0], cols = weight->shape[1];
    gsize row_bytes = (cols + 7) / 8, r;
    const guint8 *packed = ddnn_tensor_u8 (weight);

    layer->weight_pm1 = ddnn_aligned_alloc0 (rows * cols * sizeof (float));
    for (r = 0; r < rows; r++)
      ddnn_bits_unpack (
          packed + r * row_bytes, cols, layer->weight_pm1 + r * cols);

    if (layer->type == DDNN_LAYER_CONV2D) {
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
  }
  return TRUE;
}

void
ddnn_layer_cost (const DdnnLayer *layer, DdnnSectionCost *cost)
{
  guint64 in = (guint64) layer->in_c * layer->in_h * layer->in_w;
  guint64 out = (guint64) layer->out_c * layer->out_h * layer->out_w;
  guint k;

  switch (layer->type) {
    case DDNN_LAYER_CONV2D:
      cost->flops += 2 * (guint64) layer->out *
          ddnn_conv_patch_size (&layer->conv) *
          ddnn_conv_out_pixels (&layer->conv);
      break;
    case DDNN_LAYER_LINEAR:
      cost->flops += 2 * (guint64) layer->out * layer->in_c;
      break;
    case DDNN_LAYER_MAXPOOL:
    case DDNN_LAYER_AVGPOOL:
      cost->flops += out * layer->kernel * layer->kernel;
      break;
    case DDNN_LAYER_BATCHNORM:
      cost->flops += 2 * in;
      break;
    case DDNN_LAYER_SIGN:
    case DDNN_LAYER_RELU:
      cost->flops += in;
      break;
  }
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
