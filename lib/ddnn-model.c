/* libddnn: models, sections and their forward pass.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "libddnn reads and writes little-endian tensors in place"
#endif

/* Bounds on what a topology may ask for, so that a hostile file cannot make
 * the loader allocate without limit. */
#define MAX_LAYERS 64
#define MAX_INPUT_SIDE DDNN_POOL_MAX_WIDTH
#define MAX_CHANNELS 4096
#define MAX_KERNEL 15
#define MAX_STRIDE 16
#define MAX_ACTIVATION ((gsize) 1 << 26)

const gchar *const ddnn_param_names[DDNN_N_PARAMS] = {
  "weight",
  "bias",
  "gamma",
  "beta",
  "running_mean",
  "running_var",
};

static const gchar *const layer_type_names[] = {
  [DDNN_LAYER_CONV2D] = "conv2d",
  [DDNN_LAYER_LINEAR] = "linear",
  [DDNN_LAYER_MAXPOOL] = "maxpool",
  [DDNN_LAYER_AVGPOOL] = "avgpool",
  [DDNN_LAYER_BATCHNORM] = "batchnorm",
  [DDNN_LAYER_SIGN] = "sign",
  [DDNN_LAYER_RELU] = "relu",
};
G_STATIC_ASSERT (G_N_ELEMENTS (layer_type_names) == DDNN_LAYER_RELU + 1);

static const gchar *const tier_names[] = {
  [DDNN_TIER_DEVICE] = "device",
  [DDNN_TIER_EDGE] = "edge",
  [DDNN_TIER_CLOUD] = "cloud",
};
G_STATIC_ASSERT (G_N_ELEMENTS (tier_names) == DDNN_TIER_CLOUD + 1);

const gchar *
ddnn_tier_name (DdnnTier tier)
{
  return tier <= DDNN_TIER_CLOUD ? tier_names[tier] : "unknown";
}

/* ------------------------------------------------------------------ */
/* Freeing                                                             */

static void
layer_free (gpointer data)
{
  DdnnLayer *layer = data;
  guint i;

  for (i = 0; i < DDNN_N_PARAMS; i++)
    ddnn_tensor_unref (layer->params[i]);
  g_free (layer->prefix);
  ddnn_aligned_free (layer->weight_pm1);
  ddnn_aligned_free (layer->weight_words);
  g_free (layer->bn_scale);
  g_free (layer->bn_shift);
  g_free (layer);
}

static void
section_free_scratch (DdnnSection *s)
{
  g_clear_pointer (&s->buf[0], ddnn_aligned_free);
  g_clear_pointer (&s->buf[1], ddnn_aligned_free);
  g_clear_pointer (&s->col, ddnn_aligned_free);
  g_clear_pointer (&s->bits, ddnn_aligned_free);
  g_clear_pointer (&s->hwc, ddnn_aligned_free);
  g_clear_pointer (&s->unpacked, ddnn_aligned_free);
}

static void
section_free (gpointer data)
{
  DdnnSection *s = data;

  section_free_scratch (s);
  g_clear_pointer (&s->body, g_ptr_array_unref);
  g_clear_pointer (&s->exit, g_ptr_array_unref);
  g_free (s->name);
  g_free (s);
}

DdnnModel *
ddnn_model_ref (DdnnModel *model)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_atomic_int_inc (&model->ref_count);
  return model;
}

void
ddnn_model_unref (DdnnModel *model)
{
  if (!model || !g_atomic_int_dec_and_test (&model->ref_count))
    return;
  g_clear_pointer (&model->sections, g_ptr_array_unref);
  g_clear_pointer (&model->class_names, g_ptr_array_unref);
  g_free (model->topology);
  g_free (model->name);
  g_free (model->id);
  g_free (model);
}

/* ------------------------------------------------------------------ */
/* Topology                                                            */

typedef struct
{
  const gchar *path;
  JsonObject *obj;
} Ctx;

static gboolean
check_keys (JsonObject *obj, const gchar *path, const gchar *const *allowed,
    GError **error)
{
  JsonObjectIter iter;
  const gchar *key;
  JsonNode *node;

  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &key, &node)) {
    if (!g_strv_contains (allowed, key)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: unknown field '%s'", path, key);
      return FALSE;
    }
  }
  return TRUE;
}

/* Sets the error for a required field that is absent; returns FALSE. */
static gboolean
missing_field (const gchar *path, const gchar *key, GError **error)
{
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY, "%s: missing field '%s'",
      path, key);
  return FALSE;
}

static gboolean
get_uint (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean required, guint fallback, guint lo, guint hi, guint *value,
    GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  gint64 v;

  if (!node) {
    *value = fallback;
    return !required || missing_field (path, key, error);
  }
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64 ||
      (v = json_node_get_int (node)) < lo || v > hi) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be an integer from %u to %u", path, key, lo, hi);
    return FALSE;
  }
  *value = (guint) v;
  return TRUE;
}

static gboolean
get_number (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean required, double fallback, double lo, double hi, double *value,
    GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  GType type;
  double v;

  if (!node) {
    *value = fallback;
    return !required || missing_field (path, key, error);
  }
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : 0;
  if (type == G_TYPE_INT64)
    v = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    v = json_node_get_double (node);
  else
    v = NAN;
  if (!(v >= lo && v <= hi)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be a number from %g to %g", path, key, lo, hi);
    return FALSE;
  }
  *value = v;
  return TRUE;
}

static gboolean
get_bool (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean fallback, gboolean *value, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (!node) {
    *value = fallback;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be true or false", path, key);
    return FALSE;
  }
  *value = json_node_get_boolean (node);
  return TRUE;
}

static const gchar *
get_string (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean required, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (!node && !required)
    return NULL;
  if (!node || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be a string", path, key);
    return NULL;
  }
  return json_node_get_string (node);
}

static JsonObject *
get_object (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean required, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (!node && !required)
    return NULL;
  if (!node || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be an object", path, key);
    return NULL;
  }
  return json_node_get_object (node);
}

static JsonArray *
get_array (JsonObject *obj, const gchar *path, const gchar *key, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (!node || !JSON_NODE_HOLDS_ARRAY (node)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be an array", path, key);
    return NULL;
  }
  return json_node_get_array (node);
}

static gboolean
shape_fits (guint c, guint h, guint w, const gchar *path, GError **error)
{
  if ((gsize) c * h * w > MAX_ACTIVATION) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: output of %ux%ux%u values is over the limit of %" G_GSIZE_FORMAT,
        path, c, h, w, MAX_ACTIVATION);
    return FALSE;
  }
  return TRUE;
}

/* Parses one layer and infers its output shape from (c, h, w). */
static DdnnLayer *
parse_layer (JsonNode *node, const gchar *path, const gchar *prefix, guint c,
    guint h, guint w, gboolean flat, GError **error)
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
  if (!(type = get_string (obj, path, "type", TRUE, error)))
    return NULL;
  for (t = 0; t < G_N_ELEMENTS (layer_type_names); t++)
    if (strcmp (type, layer_type_names[t]) == 0)
      break;
  if (t == G_N_ELEMENTS (layer_type_names)) {
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
      if (!check_keys (obj, path, conv_keys, error) ||
          !get_uint (
              obj, path, "out", TRUE, 0, 1, MAX_CHANNELS, &layer->out, error) ||
          !get_uint (obj, path, "kernel", TRUE, 0, 1, MAX_KERNEL,
              &layer->kernel, error) ||
          !get_uint (obj, path, "stride", FALSE, 1, 1, MAX_STRIDE,
              &layer->stride, error) ||
          !get_uint (obj, path, "pad", FALSE, 0, 0, MAX_KERNEL - 1, &layer->pad,
              error) ||
          !get_bool (obj, path, "binary", FALSE, &layer->binary, error) ||
          !get_bool (obj, path, "bias", FALSE, &layer->has_bias, error))
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
      if (!check_keys (obj, path, linear_keys, error) ||
          !get_uint (obj, path, "out", TRUE, 0, 1, MAX_CHANNELS * 16,
              &layer->out, error) ||
          !get_bool (obj, path, "binary", FALSE, &layer->binary, error) ||
          !get_bool (obj, path, "bias", FALSE, &layer->has_bias, error))
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
      if (!check_keys (obj, path, pool_keys, error) ||
          !get_uint (obj, path, "kernel", TRUE, 0, 1, MAX_KERNEL,
              &layer->kernel, error) ||
          !get_uint (obj, path, "stride", FALSE, layer->kernel, 1, MAX_STRIDE,
              &layer->stride, error) ||
          !get_uint (obj, path, "pad", FALSE, 0, 0, MAX_KERNEL - 1, &layer->pad,
              error))
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
      if (!check_keys (obj, path, bn_keys, error) ||
          !get_number (obj, path, "eps", FALSE, 1e-5, 1e-12, 1.0, &eps, error))
        goto fail;
      layer->eps = (float) eps;
      break;
    case DDNN_LAYER_SIGN:
    case DDNN_LAYER_RELU:
      if (!check_keys (obj, path, plain_keys, error))
        goto fail;
      break;
  }
  if (!shape_fits (layer->out_c, layer->out_h, layer->out_w, path, error))
    goto fail;
  return layer;

fail:
  layer_free (layer);
  return NULL;
}

/* The shape each parameter must have, as stored in the file. */
static gboolean
param_spec (const DdnnLayer *layer, DdnnParamKind kind, DdnnDtype *dtype,
    guint *n_dims, gsize *shape)
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
static void
stored_shape (DdnnDtype dtype, guint n_dims, const gsize *shape,
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

static DdnnTensor *
new_param_tensor (
    DdnnDtype dtype, guint n_dims, const gsize *shape, GError **error)
{
  gsize st_shape[DDNN_TENSOR_MAX_DIMS];
  DdnnStDtype st_dtype;

  /* A BIT parameter is held as its stored rows, [rows, ceil(cols / 8)]
   * bytes, so that every row starts on a byte. */
  stored_shape (dtype, n_dims, shape, &st_dtype, st_shape);
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

static gboolean
parse_layers (JsonObject *obj, const gchar *section_path,
    const gchar *section_name, const gchar *key, guint *c, guint *h, guint *w,
    gboolean *flat, gboolean *bits, GPtrArray *layers, GError **error)
{
  g_autofree gchar *array_path = g_strdup_printf ("%s.%s", section_path, key);
  JsonArray *array;
  guint i, n;

  if (!(array = get_array (obj, section_path, key, error)))
    return FALSE;
  n = json_array_get_length (array);
  if (n > MAX_LAYERS) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: %u layers, at most %d are allowed", array_path, n, MAX_LAYERS);
    return FALSE;
  }
  for (i = 0; i < n; i++) {
    g_autofree gchar *path = g_strdup_printf ("%s[%u]", array_path, i);
    g_autofree gchar *prefix = g_strdup_printf (
        "%s.%s.%u", section_name, key, i);
    DdnnLayer *layer = parse_layer (json_array_get_element (array, i), path,
        prefix, *c, *h, *w, *flat, error);

    if (!layer)
      return FALSE;
    g_ptr_array_add (layers, layer);
    *c = layer->out_c;
    *h = layer->out_h;
    *w = layer->out_w;
    if (layer->type == DDNN_LAYER_LINEAR)
      *flat = TRUE;
    *bits = layer->type == DDNN_LAYER_SIGN;
  }
  return TRUE;
}

static gboolean
section_alloc_scratch (DdnnSection *s, GError **error)
{
  gsize most = (gsize) s->in_c * s->in_h * s->in_w, col = 0, hwc = 0;
  GPtrArray *lists[2] = { s->body, s->exit };
  guint l, i;

  for (l = 0; l < 2; l++) {
    for (i = 0; i < lists[l]->len; i++) {
      DdnnLayer *layer = g_ptr_array_index (lists[l], i);

      most = MAX (most, (gsize) layer->in_c * layer->in_h * layer->in_w);
      most = MAX (most, (gsize) layer->out_c * layer->out_h * layer->out_w);
      if (layer->type == DDNN_LAYER_CONV2D) {
        col = MAX (col, ddnn_conv2d_scratch_size (&layer->conv));
        hwc = MAX (hwc,
            (gsize) layer->in_h * layer->in_w *
                ddnn_binary_words_per_pixel (layer->in_c));
      }
    }
  }
  s->max_elements = most;
  s->max_col = col;
  s->buf[0] = ddnn_aligned_alloc0 (most * sizeof (float));
  s->buf[1] = ddnn_aligned_alloc0 (most * sizeof (float));
  s->col = ddnn_aligned_alloc0 (col * sizeof (float));
  s->bits = ddnn_aligned_alloc0 (ddnn_binary_row_words (most) * 8);
  s->hwc = ddnn_aligned_alloc0 (hwc * sizeof (guint64));
  /* room for every view's features as float, whatever the fusion */
  if (s->tier != DDNN_TIER_DEVICE)
    s->unpacked = ddnn_aligned_alloc0 ((gsize) s->model->n_views * s->in_c *
        s->in_h * s->in_w * sizeof (float));
  if (!s->buf[0] || !s->buf[1] || !s->col || !s->bits || !s->hwc ||
      (s->tier != DDNN_TIER_DEVICE && !s->unpacked)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_NO_MEMORY,
        "section %s: cannot allocate scratch memory", s->name);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_input (JsonObject *root, DdnnInputSpec *input, GError **error)
{
  static const gchar *const keys[] = { "channels", "height", "width", "scale",
    "mean", "std", NULL };
  JsonObject *obj;
  double scale;
  guint c;

  if (!(obj = get_object (root, "topology", "input", TRUE, error)) ||
      !check_keys (obj, "input", keys, error) ||
      !get_uint (
          obj, "input", "channels", TRUE, 0, 1, 4, &input->channels, error) ||
      !get_uint (obj, "input", "height", TRUE, 0, 1, MAX_INPUT_SIDE,
          &input->height, error) ||
      !get_uint (obj, "input", "width", TRUE, 0, 1, MAX_INPUT_SIDE,
          &input->width, error) ||
      !get_number (
          obj, "input", "scale", FALSE, 1.0 / 255.0, 1e-9, 1e9, &scale, error))
    return FALSE;
  input->scale = (float) scale;
  for (c = 0; c < 4; c++) {
    input->mean[c] = 0.0f;
    input->std[c] = 1.0f;
  }
  for (c = 0; c < 2; c++) {
    const gchar *key = c == 0 ? "mean" : "std";
    JsonNode *node = json_object_get_member (obj, key);
    JsonArray *array;
    guint i;

    if (!node)
      continue;
    if (!JSON_NODE_HOLDS_ARRAY (node) ||
        json_array_get_length (array = json_node_get_array (node)) !=
            input->channels) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "input: '%s' must be an array of one number per channel", key);
      return FALSE;
    }
    for (i = 0; i < input->channels; i++) {
      JsonNode *e = json_array_get_element (array, i);
      GType type = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : 0;
      double v = type == G_TYPE_INT64 ? (double) json_node_get_int (e)
          : type == G_TYPE_DOUBLE     ? json_node_get_double (e)
                                      : NAN;

      if (!isfinite (v) || fabs (v) > 1e6 || (c == 1 && v <= 1e-9)) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "input: '%s'[%u] is not a usable number", key, i);
        return FALSE;
      }
      if (c == 0)
        input->mean[i] = (float) v;
      else
        input->std[i] = (float) v;
    }
  }
  return TRUE;
}

static gboolean
parse_fusion (JsonObject *root, const gchar *key, DdnnFusion fallback,
    DdnnFusion *mode, GError **error)
{
  g_autoptr (GError) local = NULL;
  const gchar *name = get_string (root, "topology", key, FALSE, &local);

  if (local) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  if (!name) {
    *mode = fallback;
    return TRUE;
  }
  if (!ddnn_fusion_from_name (name, mode)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: '%s' must be max, avg or concat, not '%s'", key, name);
    return FALSE;
  }
  return TRUE;
}

static DdnnModel *
model_from_topology (const gchar *topology, GError **error)
{
  static const gchar *const keys[] = { "name", "description", "input",
    "classes", "views", "local_fusion", "feature_fusion", "thresholds",
    "sections", "training", "wire", NULL };
  static const gchar *const section_keys[] = { "name", "tier", "view", "body",
    "exit", NULL };
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (DdnnModel) model = NULL;
  g_autoptr (GError) json_error = NULL;
  JsonObject *root, *thresholds;
  JsonArray *classes, *sections;
  guint i, n_sections, n_devices = 0;
  gboolean have_edge = FALSE, have_cloud = FALSE;
  guint feat_c = 0, feat_h = 0, feat_w = 0;
  gboolean feat_flat = FALSE, feat_bits = FALSE;
  g_autofree gchar *expanded = NULL;
  const gchar *text;

  /* a device template stands for its long form */
  if (!ddnn_topology_expand (topology, &expanded, error))
    return NULL;
  text = expanded ? expanded : topology;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, &json_error)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology is not valid JSON: %s", json_error->message);
    return NULL;
  }
  if (!json_parser_get_root (parser) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology is not a JSON object");
    return NULL;
  }
  root = json_node_get_object (json_parser_get_root (parser));

  model = g_new0 (DdnnModel, 1);
  model->ref_count = 1;
  model->topology = g_strdup (topology);
  model->class_names = g_ptr_array_new_with_free_func (g_free);
  model->sections = g_ptr_array_new_with_free_func (section_free);
  for (i = 0; i < G_N_ELEMENTS (model->thresholds); i++)
    model->thresholds[i] = -1.0;

  if (!check_keys (root, "topology", keys, error))
    return NULL;
  {
    g_autoptr (GError) local = NULL;
    const gchar *name = get_string (root, "topology", "name", FALSE, &local);

    if (local) {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
    model->name = g_strdup (name ? name : "unnamed");
  }
  if (!parse_input (root, &model->input, error) ||
      !get_uint (root, "topology", "views", TRUE, 0, 1, DDNN_MAX_VIEWS,
          &model->n_views, error) ||
      !parse_fusion (
          root, "local_fusion", DDNN_FUSION_MAX, &model->local_fusion, error) ||
      !parse_fusion (root, "feature_fusion", DDNN_FUSION_CONCAT,
          &model->feature_fusion, error) ||
      !(classes = get_array (root, "topology", "classes", error)))
    return NULL;

  if (json_array_get_length (classes) < 2 ||
      json_array_get_length (classes) > DDNN_MAX_CLASSES) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: 'classes' must name from 2 to %d classes", DDNN_MAX_CLASSES);
    return NULL;
  }
  for (i = 0; i < json_array_get_length (classes); i++) {
    JsonNode *e = json_array_get_element (classes, i);

    if (!JSON_NODE_HOLDS_VALUE (e) ||
        json_node_get_value_type (e) != G_TYPE_STRING) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "topology: classes[%u] is not a string", i);
      return NULL;
    }
    g_ptr_array_add (model->class_names, g_strdup (json_node_get_string (e)));
  }

  {
    g_autoptr (GError) local = NULL;

    thresholds = get_object (root, "topology", "thresholds", FALSE, &local);
    if (local) {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  }
  if (thresholds) {
    static const gchar *const threshold_keys[] = { "local", "edge", NULL };
    double v;

    if (!check_keys (thresholds, "thresholds", threshold_keys, error) ||
        !get_number (thresholds, "thresholds", "local", FALSE, -1.0, -1.0, 1.0,
            &v, error))
      return NULL;
    model->thresholds[DDNN_TIER_DEVICE] = v;
    if (!get_number (thresholds, "thresholds", "edge", FALSE, -1.0, -1.0, 1.0,
            &v, error))
      return NULL;
    model->thresholds[DDNN_TIER_EDGE] = v;
  }

  model->score_format = DDNN_SCORES_F32;
  {
    g_autoptr (GError) local = NULL;
    JsonObject *wire = get_object (root, "topology", "wire", FALSE, &local);
    static const gchar *const wire_keys[] = { "scores", NULL };
    const gchar *format;

    if (local) {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
    if (wire) {
      if (!check_keys (wire, "wire", wire_keys, error))
        return NULL;
      format = get_string (wire, "wire", "scores", FALSE, &local);
      if (local) {
        g_propagate_error (error, g_steal_pointer (&local));
        return NULL;
      }
      if (!format || strcmp (format, "f32") == 0)
        model->score_format = DDNN_SCORES_F32;
      else if (strcmp (format, "int8") == 0)
        model->score_format = DDNN_SCORES_INT8;
      else {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "wire: 'scores' must be f32 or int8, not '%s'", format);
        return NULL;
      }
    }
  }

  if (!(sections = get_array (root, "topology", "sections", error)))
    return NULL;
  n_sections = json_array_get_length (sections);
  for (i = 0; i < n_sections; i++) {
    g_autofree gchar *path = g_strdup_printf ("sections[%u]", i);
    JsonNode *node = json_array_get_element (sections, i);
    JsonObject *obj;
    DdnnSection *s;
    const gchar *name, *tier;
    guint c, h, w, t, view;
    gboolean flat = FALSE, bits = FALSE;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: a section must be an object", path);
      return NULL;
    }
    obj = json_node_get_object (node);
    if (!check_keys (obj, path, section_keys, error) ||
        !(name = get_string (obj, path, "name", TRUE, error)) ||
        !(tier = get_string (obj, path, "tier", TRUE, error)))
      return NULL;
    if (!g_regex_match_simple ("^[A-Za-z][A-Za-z0-9_-]{0,31}$", name, 0, 0)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: section name '%s' must be a letter then up to 31 letters, "
          "digits, '_' or '-'",
          path, name);
      return NULL;
    }
    if (ddnn_model_find_section (model, name)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: a second section named '%s'", path, name);
      return NULL;
    }
    for (t = 0; t < G_N_ELEMENTS (tier_names); t++)
      if (strcmp (tier, tier_names[t]) == 0)
        break;
    if (t == G_N_ELEMENTS (tier_names)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: tier must be device, edge or cloud, not '%s'", path, tier);
      return NULL;
    }

    /* Order: the devices, in view order, then edge, then cloud. */
    if ((t == DDNN_TIER_DEVICE && (n_devices != i)) ||
        (t == DDNN_TIER_EDGE &&
            (have_edge || have_cloud || n_devices != model->n_views)) ||
        (t == DDNN_TIER_CLOUD && (have_cloud || n_devices != model->n_views))) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: sections must be one device per view in view order, then at "
          "most one edge, then one cloud",
          path);
      return NULL;
    }
    view = 0;
    if (t == DDNN_TIER_DEVICE) {
      if (!get_uint (
              obj, path, "view", TRUE, 0, 0, model->n_views - 1, &view, error))
        return NULL;
      if (view != n_devices) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: device sections must come in view order; expected view %u",
            path, n_devices);
        return NULL;
      }
    } else if (json_object_has_member (obj, "view")) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: only device sections have a view", path);
      return NULL;
    }

    s = g_new0 (DdnnSection, 1);
    g_ptr_array_add (model->sections, s);
    s->model = model;
    s->name = g_strdup (name);
    s->tier = t;
    s->view = t == DDNN_TIER_DEVICE ? (gint) view : -1;
    s->present = TRUE;
    s->body = g_ptr_array_new_with_free_func (layer_free);
    s->exit = g_ptr_array_new_with_free_func (layer_free);

    if (t == DDNN_TIER_DEVICE) {
      c = model->input.channels;
      h = model->input.height;
      w = model->input.width;
    } else {
      c = feat_c;
      h = feat_h;
      w = feat_w;
      flat = feat_flat;
      /* An edge, or a cloud without an edge, sees every view's features. */
      if (!have_edge && model->feature_fusion == DDNN_FUSION_CONCAT)
        c *= model->n_views;
    }
    if (!shape_fits (c, h, w, path, error))
      return NULL;
    s->in_c = c;
    s->in_h = h;
    s->in_w = w;
    if (!parse_layers (
            obj, path, name, "body", &c, &h, &w, &flat, &bits, s->body, error))
      return NULL;
    s->feat_c = c;
    s->feat_h = h;
    s->feat_w = w;
    s->feat_flat = flat;
    s->feat_bits = bits;
    if (!parse_layers (
            obj, path, name, "exit", &c, &h, &w, &flat, &bits, s->exit, error))
      return NULL;
    if (c * h * w != model->class_names->len) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: the exit gives %u values but there are %u classes", path,
          c * h * w, model->class_names->len);
      return NULL;
    }

    if (t == DDNN_TIER_DEVICE) {
      if (n_devices > 0 &&
          (feat_c != s->feat_c || feat_h != s->feat_h || feat_w != s->feat_w ||
              feat_flat != s->feat_flat || feat_bits != s->feat_bits)) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: every device section must give features of one shape", path);
        return NULL;
      }
      n_devices++;
    } else if (t == DDNN_TIER_EDGE) {
      have_edge = TRUE;
    } else {
      have_cloud = TRUE;
    }
    feat_c = s->feat_c;
    feat_h = s->feat_h;
    feat_w = s->feat_w;
    feat_flat = s->feat_flat;
    feat_bits = s->feat_bits;
    if (!section_alloc_scratch (s, error))
      return NULL;
  }
  if (n_devices != model->n_views || !have_cloud) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: %u views need %u device sections and a cloud section; "
        "found %u device sections%s",
        model->n_views, model->n_views, n_devices,
        have_cloud ? "" : " and no cloud");
    return NULL;
  }
  return g_steal_pointer (&model);
}

/* ------------------------------------------------------------------ */
/* Parameters: preparing, hashing, initialising                        */

static gboolean
layer_prepare (DdnnLayer *layer, GError **error)
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

typedef gboolean (*ParamFunc) (DdnnSection *s, DdnnLayer *layer,
    DdnnParamKind kind, DdnnDtype dtype, guint n_dims, const gsize *shape,
    gpointer user_data, GError **error);

/* Calls @func on each parameter of a section, in the canonical order. */
static gboolean
section_foreach_param (
    DdnnSection *s, ParamFunc func, gpointer user_data, GError **error)
{
  GPtrArray *lists[2] = { s->body, s->exit };
  guint l, i, k;

  for (l = 0; l < 2; l++) {
    for (i = 0; i < lists[l]->len; i++) {
      DdnnLayer *layer = g_ptr_array_index (lists[l], i);

      for (k = 0; k < DDNN_N_PARAMS; k++) {
        gsize shape[DDNN_TENSOR_MAX_DIMS];
        DdnnDtype dtype;
        guint n_dims;

        if (param_spec (layer, k, &dtype, &n_dims, shape) &&
            !func (s, layer, k, dtype, n_dims, shape, user_data, error))
          return FALSE;
      }
    }
  }
  return TRUE;
}

/* A section's digest: SHA-256 over its tensors in canonical order, each as
 * its name, a NUL, then its stored bytes.  Shapes need no hashing: the
 * topology fixes them, and the model id hashes the topology. */
static gboolean
hash_param (DdnnSection *s, DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype dtype, guint n_dims, const gsize *shape, gpointer user_data,
    GError **error)
{
  GChecksum *sum = user_data;
  DdnnTensor *t = layer->params[kind];
  g_autofree gchar *name = g_strdup_printf (
      "%s.%s", layer->prefix, ddnn_param_names[kind]);

  g_checksum_update (sum, (const guchar *) name, strlen (name) + 1);
  g_checksum_update (sum, t->data, t->n_bytes);
  return TRUE;
}

static void
section_compute_digest (DdnnSection *s)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);

  section_foreach_param (s, hash_param, sum, NULL);
  g_strlcpy (s->digest, g_checksum_get_string (sum), sizeof (s->digest));
  g_checksum_free (sum);
}

static gchar *
model_compute_id (const DdnnModel *model)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  gchar *id;
  guint i;

  g_checksum_update (
      sum, (const guchar *) model->topology, strlen (model->topology) + 1);
  for (i = 0; i < model->sections->len; i++) {
    DdnnSection *s = g_ptr_array_index (model->sections, i);

    g_checksum_update (sum, (const guchar *) s->name, strlen (s->name) + 1);
    g_checksum_update (sum, (const guchar *) s->digest, strlen (s->digest) + 1);
  }
  id = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return id;
}

static gboolean
prepare_section (DdnnSection *s, GError **error)
{
  GPtrArray *lists[2] = { s->body, s->exit };
  guint l, i;

  for (l = 0; l < 2; l++)
    for (i = 0; i < lists[l]->len; i++)
      if (!layer_prepare (g_ptr_array_index (lists[l], i), error))
        return FALSE;
  return TRUE;
}

gboolean
ddnn_model_refresh (DdnnModel *model, GError **error)
{
  guint i;

  for (i = 0; i < model->sections->len; i++) {
    DdnnSection *s = g_ptr_array_index (model->sections, i);

    if (!s->present)
      continue;
    if (!prepare_section (s, error))
      return FALSE;
    section_compute_digest (s);
  }
  g_free (model->id);
  model->id = model_compute_id (model);
  return TRUE;
}

static gboolean
init_param (DdnnSection *s, DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype dtype, guint n_dims, const gsize *shape, gpointer user_data,
    GError **error)
{
  GRand *rand = user_data;
  DdnnTensor *t = new_param_tensor (dtype, n_dims, shape, error);
  gsize i;

  if (!t)
    return FALSE;
  layer->params[kind] = t;
  if (kind == DDNN_PARAM_WEIGHT && dtype == DDNN_DTYPE_BIT) {
    for (i = 0; i < t->n_bytes; i++)
      ddnn_tensor_u8 (t)[i] = (guint8) g_rand_int_range (rand, 0, 256);
    /* keep each row's unused high bits zero */
    if (shape[1] % 8) {
      gsize row_bytes = (shape[1] + 7) / 8, r;

      for (r = 0; r < shape[0]; r++)
        ddnn_tensor_u8 (t)[r * row_bytes + row_bytes - 1] &=
            (guint8) ((1u << (shape[1] % 8)) - 1);
    }
  } else if (kind == DDNN_PARAM_WEIGHT) {
    gsize fan_in = t->n_elements / shape[0];
    double limit = sqrt (6.0 / (double) (fan_in + shape[0]));

    for (i = 0; i < t->n_elements; i++)
      ddnn_tensor_f32 (t)[i] = (float) g_rand_double_range (
          rand, -limit, limit);
  } else if (kind == DDNN_PARAM_GAMMA || kind == DDNN_PARAM_RUNNING_VAR) {
    for (i = 0; i < t->n_elements; i++)
      ddnn_tensor_f32 (t)[i] = 1.0f;
  }
  return TRUE;
}

DdnnModel *
ddnn_model_new_from_topology (
    const gchar *topology_json, guint32 seed, GError **error)
{
  g_autoptr (DdnnModel) model = model_from_topology (topology_json, error);
  g_autofree gchar *expanded = NULL;
  GRand *rand;
  guint i;

  if (!model)
    return NULL;
  /* a new model keeps the long form: written with or without the device
   * template, the same network is the same file */
  if (!ddnn_topology_expand (topology_json, &expanded, error))
    return NULL;
  if (expanded) {
    g_free (model->topology);
    model->topology = g_steal_pointer (&expanded);
  }
  rand = g_rand_new_with_seed (seed);
  for (i = 0; i < model->sections->len; i++) {
    if (!section_foreach_param (
            g_ptr_array_index (model->sections, i), init_param, rand, error)) {
      g_rand_free (rand);
      return NULL;
    }
  }
  g_rand_free (rand);
  if (!ddnn_model_refresh (model, error))
    return NULL;
  return g_steal_pointer (&model);
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */

typedef struct
{
  const DdnnSafetensors *st;
  GHashTable *used;
} BindData;

static gboolean
bind_param (DdnnSection *s, DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype dtype, guint n_dims, const gsize *shape, gpointer user_data,
    GError **error)
{
  BindData *bind = user_data;
  g_autofree gchar *name = g_strdup_printf (
      "%s.%s", layer->prefix, ddnn_param_names[kind]);
  gsize st_shape[DDNN_TENSOR_MAX_DIMS];
  const DdnnStTensor *found;
  DdnnStDtype st_dtype;
  DdnnTensor *t;
  guint d;

  found = ddnn_safetensors_find (bind->st, name);
  if (!found) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_MISSING,
        "missing tensor '%s', which the topology needs", name);
    return FALSE;
  }
  g_hash_table_add (bind->used, (gpointer) found->name);
  stored_shape (dtype, n_dims, shape, &st_dtype, st_shape);
  if (found->dtype != st_dtype) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "tensor '%s' is %s, the topology needs %s", name,
        ddnn_st_dtype_name (found->dtype), ddnn_st_dtype_name (st_dtype));
    return FALSE;
  }
  for (d = 0; d < n_dims; d++)
    if (found->n_dims != n_dims || found->shape[d] != st_shape[d])
      break;
  if (found->n_dims != n_dims || d < n_dims) {
    GString *have = g_string_new (NULL), *want = g_string_new (NULL);

    for (d = 0; d < found->n_dims; d++)
      g_string_append_printf (
          have, "%s%" G_GSIZE_FORMAT, d ? ", " : "", found->shape[d]);
    for (d = 0; d < n_dims; d++)
      g_string_append_printf (
          want, "%s%" G_GSIZE_FORMAT, d ? ", " : "", st_shape[d]);
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "shape mismatch: tensor '%s' is [%s], the topology needs [%s]", name,
        have->str, want->str);
    g_string_free (have, TRUE);
    g_string_free (want, TRUE);
    return FALSE;
  }

  if (!(t = new_param_tensor (dtype, n_dims, shape, error)))
    return FALSE;
  memcpy (t->data, found->data, found->end - found->begin);
  layer->params[kind] = t;

  if (dtype == DDNN_DTYPE_F32) {
    gsize i;

    for (i = 0; i < t->n_elements; i++) {
      if (!isfinite (ddnn_tensor_f32 (t)[i])) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
            "tensor '%s' holds NaN or infinite values", name);
        return FALSE;
      }
    }
  } else if (shape[1] % 8) {
    gsize row_bytes = (shape[1] + 7) / 8, r;
    guint8 unused = (guint8) ~((1u << (shape[1] % 8)) - 1);

    for (r = 0; r < shape[0]; r++) {
      if (ddnn_tensor_u8 (t)[r * row_bytes + row_bytes - 1] & unused) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
            "tensor '%s': row %" G_GSIZE_FORMAT
            " sets bits past its %" G_GSIZE_FORMAT " weights",
            name, r, shape[1]);
        return FALSE;
      }
    }
  }
  return TRUE;
}

DdnnModel *
ddnn_model_load_from_bytes (GBytes *bytes, GError **error)
{
  g_autoptr (DdnnSafetensors) st = NULL;
  g_autoptr (DdnnModel) model = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GHashTable) used = NULL;
  g_auto (GStrv) present = NULL;
  const gchar *format, *version, *topology, *id, *digests, *sections;
  JsonObject *digest_obj = NULL;
  BindData bind;
  guint i;

  if (!(st = ddnn_safetensors_parse (bytes, error)))
    return NULL;

  format = g_hash_table_lookup (st->metadata, "format");
  version = g_hash_table_lookup (st->metadata, "ddnn_version");
  if (g_strcmp0 (format, DDNN_MODEL_FORMAT) != 0 || !version) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "not a ddnn model: __metadata__ lacks format \"ddnn\" and a "
        "ddnn_version");
    return NULL;
  }
  if (strcmp (version, G_STRINGIFY (DDNN_MODEL_VERSION)) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_VERSION,
        "unknown model version '%s' (this libddnn reads version %d)", version,
        DDNN_MODEL_VERSION);
    return NULL;
  }
  topology = g_hash_table_lookup (st->metadata, "topology");
  id = g_hash_table_lookup (st->metadata, "model_id");
  digests = g_hash_table_lookup (st->metadata, "section_digests");
  sections = g_hash_table_lookup (st->metadata, "sections");
  if (!topology || !id || !digests || !sections) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_MISSING,
        "__metadata__ lacks one of topology, model_id, section_digests, "
        "sections");
    return NULL;
  }
  if (!(model = model_from_topology (topology, error)))
    return NULL;

  if (!ddnn_json_check_depth (digests, strlen (digests), 2, error)) {
    g_prefix_error (error, "section_digests: ");
    return NULL;
  }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, digests, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "section_digests is not a JSON object");
    return NULL;
  }
  digest_obj = json_node_get_object (json_parser_get_root (parser));

  present = g_strsplit (sections, ",", -1);
  used = g_hash_table_new (g_str_hash, g_str_equal);
  bind.st = st;
  bind.used = used;
  for (i = 0; i < model->sections->len; i++) {
    DdnnSection *s = g_ptr_array_index (model->sections, i);
    const gchar *stored = get_string (
        digest_obj, "section_digests", s->name, TRUE, error);

    if (!stored)
      return NULL;
    if (strlen (stored) != DDNN_MODEL_ID_LENGTH) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "section_digests: '%s' is not a SHA-256 digest", s->name);
      return NULL;
    }
    s->present = g_strv_contains ((const gchar *const *) present, s->name);
    if (!s->present) {
      g_strlcpy (s->digest, stored, sizeof (s->digest));
      section_free_scratch (s);
      continue;
    }
    if (!section_foreach_param (s, bind_param, &bind, error) ||
        !prepare_section (s, error))
      return NULL;
    section_compute_digest (s);
    if (strcmp (s->digest, stored) != 0) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "section '%s': its tensors do not match the digest stored with "
          "them (the file was altered)",
          s->name);
      return NULL;
    }
  }
  for (i = 0; present[i]; i++) {
    if (!ddnn_model_find_section (model, present[i])) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "__metadata__ lists section '%s', which the topology lacks",
          present[i]);
      return NULL;
    }
  }
  for (i = 0; i < st->tensors->len; i++) {
    const DdnnStTensor *t = g_ptr_array_index (st->tensors, i);

    if (!g_hash_table_contains (used, t->name)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "tensor '%s' is not part of the topology", t->name);
      return NULL;
    }
  }

  model->id = model_compute_id (model);
  if (strcmp (model->id, id) != 0) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "model id mismatch: the file says %s but its topology and digests "
        "give %s",
        id, model->id);
    return NULL;
  }
  return g_steal_pointer (&model);
}

DdnnModel *
ddnn_model_load (const gchar *path, GError **error)
{
  g_autoptr (GMappedFile) file = NULL;
  g_autoptr (GBytes) bytes = NULL;
  GError *local = NULL;
  DdnnModel *model;

  file = g_mapped_file_new (path, FALSE, &local);
  if (!file) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO, "%s", local->message);
    g_error_free (local);
    return NULL;
  }
  bytes = g_mapped_file_get_bytes (file);
  model = ddnn_model_load_from_bytes (bytes, error);
  if (!model)
    g_prefix_error (error, "%s: ", path);
  return model;
}

/* ------------------------------------------------------------------ */
/* Saving                                                              */

static gboolean
write_param (DdnnSection *s, DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype dtype, guint n_dims, const gsize *shape, gpointer user_data,
    GError **error)
{
  DdnnStWriter *writer = user_data;
  g_autofree gchar *name = g_strdup_printf (
      "%s.%s", layer->prefix, ddnn_param_names[kind]);
  gsize st_shape[DDNN_TENSOR_MAX_DIMS];
  DdnnStDtype st_dtype;
  DdnnTensor *t = layer->params[kind];

  stored_shape (dtype, n_dims, shape, &st_dtype, st_shape);
  ddnn_st_writer_add (
      writer, name, st_dtype, n_dims, st_shape, t->data, t->n_bytes);
  return TRUE;
}

static GBytes *
serialize_sections (DdnnModel *model, const gchar *const *names, GError **error)
{
  DdnnStWriter *writer;
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree gchar *digests = NULL;
  GString *present = g_string_new (NULL);
  GBytes *bytes;
  guint i;

  for (i = 0; names && names[i]; i++) {
    DdnnSection *s = ddnn_model_find_section (model, names[i]);

    if (!s || !s->present) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
          "model has no section '%s' to write", names[i]);
      g_string_free (present, TRUE);
      return NULL;
    }
  }

  writer = ddnn_st_writer_new ();
  json_builder_begin_object (builder);
  for (i = 0; i < model->sections->len; i++) {
    DdnnSection *s = g_ptr_array_index (model->sections, i);

    json_builder_set_member_name (builder, s->name);
    json_builder_add_string_value (builder, s->digest);
    if (!s->present || (names && !g_strv_contains (names, s->name)))
      continue;
    section_foreach_param (s, write_param, writer, NULL);
    g_string_append_printf (present, "%s%s", present->len ? "," : "", s->name);
  }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  digests = json_generator_to_data (generator, NULL);

  ddnn_st_writer_set_metadata (writer, "format", DDNN_MODEL_FORMAT);
  ddnn_st_writer_set_metadata (
      writer, "ddnn_version", G_STRINGIFY (DDNN_MODEL_VERSION));
  ddnn_st_writer_set_metadata (writer, "model_id", model->id);
  ddnn_st_writer_set_metadata (writer, "sections", present->str);
  ddnn_st_writer_set_metadata (writer, "section_digests", digests);
  ddnn_st_writer_set_metadata (writer, "topology", model->topology);
  bytes = ddnn_st_writer_finish (writer);
  ddnn_st_writer_free (writer);
  g_string_free (present, TRUE);
  return bytes;
}

GBytes *
ddnn_model_serialize (DdnnModel *model, GError **error)
{
  return serialize_sections (model, NULL, error);
}

static gboolean
write_bytes (GBytes *bytes, const gchar *path, GError **error)
{
  GError *local = NULL;
  gsize size;
  gconstpointer data = g_bytes_get_data (bytes, &size);

  if (!g_file_set_contents (path, data, size, &local)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_IO, "%s", local->message);
    g_error_free (local);
    return FALSE;
  }
  return TRUE;
}

gboolean
ddnn_model_save (DdnnModel *model, const gchar *path, GError **error)
{
  return ddnn_model_save_sections (model, NULL, path, error);
}

gboolean
ddnn_model_save_sections (DdnnModel *model, const gchar *const *section_names,
    const gchar *path, GError **error)
{
  g_autoptr (GBytes) bytes = serialize_sections (model, section_names, error);

  return bytes && write_bytes (bytes, path, error);
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */

const gchar *
ddnn_model_get_id (const DdnnModel *model)
{
  return model->id;
}

const gchar *
ddnn_model_get_name (const DdnnModel *model)
{
  return model->name;
}

const gchar *
ddnn_model_get_topology (const DdnnModel *model)
{
  return model->topology;
}

guint
ddnn_model_get_n_views (const DdnnModel *model)
{
  return model->n_views;
}

guint
ddnn_model_get_n_classes (const DdnnModel *model)
{
  return model->class_names->len;
}

const gchar *
ddnn_model_get_class_name (const DdnnModel *model, guint class_index)
{
  if (class_index >= model->class_names->len)
    return NULL;
  return g_ptr_array_index (model->class_names, class_index);
}

const DdnnInputSpec *
ddnn_model_get_input (const DdnnModel *model)
{
  return &model->input;
}

DdnnFusion
ddnn_model_get_local_fusion (const DdnnModel *model)
{
  return model->local_fusion;
}

DdnnFusion
ddnn_model_get_feature_fusion (const DdnnModel *model)
{
  return model->feature_fusion;
}

double
ddnn_model_get_threshold (const DdnnModel *model, DdnnTier tier)
{
  return tier <= DDNN_TIER_CLOUD ? model->thresholds[tier] : -1.0;
}

double
ddnn_model_resolve_threshold (
    const DdnnModel *model, DdnnTier tier, double threshold)
{
  if (threshold >= 0)
    return threshold;
  return model ? MAX (ddnn_model_get_threshold (model, tier), 0.0) : 0.0;
}

gboolean
ddnn_model_exits (
    const DdnnModel *model, DdnnTier tier, double threshold, double entropy)
{
  if (tier >= DDNN_TIER_CLOUD)
    return TRUE;
  return entropy < ddnn_model_resolve_threshold (model, tier, threshold);
}

guint
ddnn_model_get_n_sections (const DdnnModel *model)
{
  return model->sections->len;
}

DdnnSection *
ddnn_model_get_section (const DdnnModel *model, guint index)
{
  if (index >= model->sections->len)
    return NULL;
  return g_ptr_array_index (model->sections, index);
}

DdnnSection *
ddnn_model_find_section (const DdnnModel *model, const gchar *name)
{
  guint i;

  for (i = 0; i < model->sections->len; i++) {
    DdnnSection *s = g_ptr_array_index (model->sections, i);

    if (strcmp (s->name, name) == 0)
      return s;
  }
  return NULL;
}

DdnnSection *
ddnn_model_get_device_section (const DdnnModel *model, guint view)
{
  if (view >= model->n_views)
    return NULL;
  return g_ptr_array_index (model->sections, view);
}

DdnnSection *
ddnn_model_get_edge_section (const DdnnModel *model)
{
  DdnnSection *s;

  if (model->sections->len < model->n_views + 2)
    return NULL;
  s = g_ptr_array_index (model->sections, model->n_views);
  return s->tier == DDNN_TIER_EDGE ? s : NULL;
}

DdnnSection *
ddnn_model_get_cloud_section (const DdnnModel *model)
{
  return g_ptr_array_index (model->sections, model->sections->len - 1);
}

const gchar *
ddnn_section_get_name (const DdnnSection *section)
{
  return section->name;
}

DdnnTier
ddnn_section_get_tier (const DdnnSection *section)
{
  return section->tier;
}

gboolean
ddnn_section_is_present (const DdnnSection *section)
{
  return section->present;
}

gint
ddnn_section_get_view (const DdnnSection *section)
{
  return section->view;
}

gsize
ddnn_section_get_input_size (const DdnnSection *section)
{
  return (gsize) section->in_c * section->in_h * section->in_w;
}

void
ddnn_section_get_features_spec (
    const DdnnSection *section, DdnnDtype *dtype, guint *n_dims, gsize *shape)
{
  *dtype = section->feat_bits ? DDNN_DTYPE_BIT : DDNN_DTYPE_F32;
  if (section->feat_flat) {
    *n_dims = 1;
    shape[0] = section->feat_c;
  } else {
    *n_dims = 3;
    shape[0] = section->feat_c;
    shape[1] = section->feat_h;
    shape[2] = section->feat_w;
  }
}

static void
layer_cost (const DdnnLayer *layer, DdnnSectionCost *cost)
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

    if (!param_spec (layer, k, &dtype, &n_dims, shape) ||
        !ddnn_tensor_bytes_for (
            dtype, n_dims, shape, &n_elements, &n_bytes, NULL))
      continue;
    cost->params += n_elements;
    cost->bytes += dtype == DDNN_DTYPE_BIT ? shape[0] * ((shape[1] + 7) / 8)
                                           : n_bytes;
  }
}

void
ddnn_section_get_cost (const DdnnSection *section, DdnnSectionCost *cost)
{
  GPtrArray *lists[2] = { section->body, section->exit };
  DdnnSection *device = ddnn_model_get_device_section (section->model, 0);
  gboolean bits_in;
  guint l, i;

  memset (cost, 0, sizeof (*cost));
  /* Whether each layer's input arrives as bits, as run_layers() sees it. */
  if (section->tier == DDNN_TIER_CLOUD &&
      ddnn_model_get_edge_section (section->model))
    bits_in = ddnn_model_get_edge_section (section->model)->feat_bits;
  else
    bits_in = section->tier != DDNN_TIER_DEVICE && device->feat_bits &&
        section->model->feature_fusion != DDNN_FUSION_AVG;
  for (l = 0; l < 2; l++) {
    if (l == 1)
      bits_in = section->feat_bits;
    for (i = 0; i < lists[l]->len; i++) {
      const DdnnLayer *layer = g_ptr_array_index (lists[l], i);
      guint64 before = cost->flops;

      layer_cost (layer, cost);
      if (layer->binary && bits_in)
        cost->binary_ops += cost->flops - before;
      bits_in = layer->type == DDNN_LAYER_SIGN;
    }
  }
}

gchar *
ddnn_section_describe (const DdnnSection *section)
{
  GString *out = g_string_new (NULL);
  GPtrArray *lists[2] = { section->body, section->exit };
  guint l, i;

  for (l = 0; l < 2; l++) {
    for (i = 0; i < lists[l]->len; i++) {
      const DdnnLayer *layer = g_ptr_array_index (lists[l], i);

      g_string_append_printf (out, "%-5s %-2u %s%-9s", l ? "exit" : "body", i,
          layer->binary ? "binary " : "", layer_type_names[layer->type]);
      if (layer->type == DDNN_LAYER_CONV2D)
        g_string_append_printf (out, " %ux%u/%u pad %u", layer->kernel,
            layer->kernel, layer->stride, layer->pad);
      else if (layer->type == DDNN_LAYER_MAXPOOL ||
          layer->type == DDNN_LAYER_AVGPOOL)
        g_string_append_printf (out, " %ux%u/%u pad %u", layer->kernel,
            layer->kernel, layer->stride, layer->pad);
      g_string_append_printf (out, "  %ux%ux%u -> %ux%ux%u\n", layer->in_c,
          layer->in_h, layer->in_w, layer->out_c, layer->out_h, layer->out_w);
    }
  }
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------ */
/* Running                                                             */

typedef struct
{
  gboolean bits;
  gconstpointer data;
  gboolean in_scratch; /* data is one of the section's buffers */
  gsize n;
} Value;

static float *
other_buffer (DdnnSection *s, const Value *v)
{
  return v->data == s->buf[0] ? s->buf[1] : s->buf[0];
}

/* Packed bits in the scratch bit buffer, with the padding up to the next
 * 64-bit word zeroed, as the binary kernels read whole words. */
static const guint8 *
value_bits (DdnnSection *s, Value *v)
{
  gsize n_bytes = (v->n + 7) / 8, padded = ddnn_binary_row_words (v->n) * 8;

  if (v->data != s->bits)
    memcpy (s->bits, v->data, n_bytes);
  memset (s->bits + n_bytes, 0, padded - n_bytes);
  v->data = s->bits;
  v->in_scratch = TRUE;
  return s->bits;
}

static const float *
value_floats (DdnnSection *s, Value *v)
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

static void
run_layers (DdnnSection *s, GPtrArray *layers, Value *v)
{
  guint i;

  for (i = 0; i < layers->len; i++) {
    DdnnLayer *layer = g_ptr_array_index (layers, i);
    DdnnLayer *next = i + 1 < layers->len ? g_ptr_array_index (layers, i + 1)
                                          : NULL;
    gsize out_n = (gsize) layer->out_c * layer->out_h * layer->out_w;
    const float *bias = layer->params[DDNN_PARAM_BIAS]
        ? ddnn_tensor_f32 (layer->params[DDNN_PARAM_BIAS])
        : NULL;
    float *out;

    switch (layer->type) {
      case DDNN_LAYER_CONV2D:
        if (layer->binary && v->bits) {
          ddnn_bits_chw_to_hwc (
              v->data, layer->in_c, layer->in_h, layer->in_w, s->hwc);
          out = other_buffer (s, v);
          ddnn_binary_conv2d (
              &layer->conv, s->hwc, layer->weight_words, bias, out);
        } else {
          const float *in = value_floats (s, v);

          out = other_buffer (s, v);
          ddnn_conv2d_f32 (&layer->conv, in,
              layer->binary
                  ? layer->weight_pm1
                  : ddnn_tensor_f32 (layer->params[DDNN_PARAM_WEIGHT]),
              bias, s->col, out);
        }
        break;
      case DDNN_LAYER_LINEAR:
        if (layer->binary && v->bits) {
          const guint8 *in = value_bits (s, v);

          out = other_buffer (s, v);
          ddnn_binary_linear (layer->in_c, layer->out, (const guint64 *) in,
              layer->weight_words, bias, out);
        } else {
          const float *in = value_floats (s, v);

          out = other_buffer (s, v);
          ddnn_linear_f32 (layer->in_c, layer->out, in,
              layer->binary
                  ? layer->weight_pm1
                  : ddnn_tensor_f32 (layer->params[DDNN_PARAM_WEIGHT]),
              bias, out);
        }
        break;
      case DDNN_LAYER_MAXPOOL:
      case DDNN_LAYER_AVGPOOL: {
        const float *in = value_floats (s, v);

        out = other_buffer (s, v);
        (layer->type == DDNN_LAYER_MAXPOOL ? ddnn_max_pool2d
                                           : ddnn_avg_pool2d) (layer->in_c,
            layer->in_h, layer->in_w, layer->kernel, layer->stride, layer->pad,
            in, out);
        break;
      }
      case DDNN_LAYER_BATCHNORM: {
        const float *in = value_floats (s, v);
        gsize spatial = (gsize) layer->in_h * layer->in_w;

        if (next && next->type == DDNN_LAYER_SIGN) {
          /* batch norm and sign in one pass, straight to bits */
          ddnn_channel_affine_sign_bits (layer->in_c, spatial, layer->bn_scale,
              layer->bn_shift, in, s->bits);
          v->bits = TRUE;
          v->data = s->bits;
          v->in_scratch = TRUE;
          v->n = out_n;
          i++;
          continue;
        }
        /* in place when the value is ours to overwrite */
        out = v->in_scratch ? (float *) in : other_buffer (s, v);
        if (out != in)
          memcpy (out, in, out_n * sizeof (float));
        if (next && next->type == DDNN_LAYER_RELU) {
          ddnn_channel_affine_relu (
              layer->in_c, spatial, layer->bn_scale, layer->bn_shift, out);
          i++;
        } else {
          ddnn_channel_affine (
              layer->in_c, spatial, layer->bn_scale, layer->bn_shift, out);
        }
        break;
      }
      case DDNN_LAYER_SIGN:
        if (!v->bits) {
          ddnn_bits_pack (v->data, out_n, s->bits);
          v->bits = TRUE;
          v->data = s->bits;
          v->in_scratch = TRUE;
        }
        v->n = out_n;
        continue;
      case DDNN_LAYER_RELU: {
        const float *in = value_floats (s, v);

        out = v->in_scratch ? (float *) in : other_buffer (s, v);
        if (out != in)
          memcpy (out, in, out_n * sizeof (float));
        ddnn_relu (out_n, out);
        break;
      }
      default:
        g_assert_not_reached ();
    }
    v->bits = FALSE;
    v->data = out;
    v->in_scratch = TRUE;
    v->n = out_n;
  }
}

void
ddnn_section_result_clear (DdnnSectionResult *result)
{
  g_clear_pointer (&result->features, ddnn_tensor_unref);
  g_clear_pointer (&result->scores, g_free);
  g_clear_pointer (&result->probs, g_free);
  result->n_classes = 0;
}

static gboolean
section_check_runnable (DdnnSection *section, GError **error)
{
  if (!section->present) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_MISSING,
        "section '%s' is not in this model file (it was exported without it)",
        section->name);
    return FALSE;
  }
  return TRUE;
}

/* Runs body and exit from a value that holds the section's input. */
static gboolean
section_run_value (
    DdnnSection *s, Value *v, DdnnSectionResult *result, GError **error)
{
  guint n_classes = s->model->class_names->len;
  gsize shape[DDNN_TENSOR_MAX_DIMS];
  DdnnDtype dtype;
  guint n_dims;
  Value features;

  run_layers (s, s->body, v);

  /* Hand out the features; reuse the result's tensor when no one else
   * holds it. */
  ddnn_section_get_features_spec (s, &dtype, &n_dims, shape);
  if (v->bits != (dtype == DDNN_DTYPE_BIT)) {
    /* an empty body hands the input on as it came */
    dtype = v->bits ? DDNN_DTYPE_BIT : DDNN_DTYPE_F32;
  }
  if (result->features &&
      (g_atomic_int_get (&result->features->ref_count) != 1 ||
          result->features->dtype != dtype ||
          result->features->n_elements != v->n))
    g_clear_pointer (&result->features, ddnn_tensor_unref);
  if (!result->features &&
      !(result->features = ddnn_tensor_new (dtype, n_dims, shape, error)))
    return FALSE;
  memcpy (result->features->data, v->data, result->features->n_bytes);

  features.bits = v->bits;
  features.data = result->features->data;
  features.in_scratch = FALSE;
  features.n = v->n;
  run_layers (s, s->exit, &features);

  if (result->n_classes != n_classes) {
    g_clear_pointer (&result->scores, g_free);
    g_clear_pointer (&result->probs, g_free);
    result->scores = g_new (float, n_classes);
    result->probs = g_new (float, n_classes);
    result->n_classes = n_classes;
  }
  memcpy (
      result->scores, value_floats (s, &features), n_classes * sizeof (float));
  ddnn_softmax (n_classes, result->scores, result->probs);
  result->entropy = ddnn_normalized_entropy (n_classes, result->probs);
  result->class_index = ddnn_argmax (n_classes, result->scores);
  return TRUE;
}

gboolean
ddnn_section_run (DdnnSection *section, const DdnnTensor *input,
    DdnnSectionResult *result, GError **error)
{
  gsize expected = (gsize) section->in_c * section->in_h * section->in_w;
  Value v;

  if (!section_check_runnable (section, error))
    return FALSE;
  if (input->n_elements != expected ||
      (input->dtype != DDNN_DTYPE_F32 && input->dtype != DDNN_DTYPE_BIT)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "section '%s' takes %" G_GSIZE_FORMAT " f32 or bit values (%ux%ux%u),"
        " not %" G_GSIZE_FORMAT " %s values",
        section->name, expected, section->in_c, section->in_h, section->in_w,
        input->n_elements, ddnn_dtype_name (input->dtype));
    return FALSE;
  }
  v.bits = input->dtype == DDNN_DTYPE_BIT;
  v.data = input->data;
  v.in_scratch = FALSE;
  v.n = expected;
  return section_run_value (section, &v, result, error);
}

gboolean
ddnn_section_run_image (DdnnSection *section, const guint8 *pixels, guint width,
    guint height, guint channels, gsize stride, DdnnSectionResult *result,
    GError **error)
{
  const DdnnInputSpec *in = &section->model->input;
  gsize plane = (gsize) in->height * in->width;
  float *x = section->buf[0];
  guint c, y, col;
  Value v;

  if (!section_check_runnable (section, error))
    return FALSE;
  if (section->tier != DDNN_TIER_DEVICE) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "section '%s' is not a device section and takes no image",
        section->name);
    return FALSE;
  }
  if (width != in->width || height != in->height || channels != in->channels ||
      stride < (gsize) width * channels) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "the model takes %ux%u images with %u channel%s, not %ux%u with %u",
        in->width, in->height, in->channels, in->channels == 1 ? "" : "s",
        width, height, channels);
    return FALSE;
  }
  for (c = 0; c < channels; c++) {
    float a = in->scale / in->std[c], b = -in->mean[c] / in->std[c];
    float *dst = x + c * plane;

    for (y = 0; y < height; y++) {
      const guint8 *row = pixels + y * stride + c;
      float *out = dst + (gsize) y * width;

      if (channels == 1)
        for (col = 0; col < width; col++)
          out[col] = row[col] * a + b;
      else
        for (col = 0; col < width; col++)
          out[col] = row[(gsize) col * channels] * a + b;
    }
  }
  v.bits = FALSE;
  v.data = x;
  v.in_scratch = TRUE;
  v.n = plane * channels;
  return section_run_value (section, &v, result, error);
}

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
  Value value;

  if (!section_check_runnable (section, error))
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
  return section_run_value (section, &value, result, error);
}

/* Whether @mode fuses the views' features into what the edge (or the cloud)
 * takes; a fusion that does not would overrun its input. */
static gboolean
feature_fusion_fits (const DdnnModel *model, DdnnFusion mode, GError **error)
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
  return feature_fusion_fits (model, feature_mode, error);
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

  if (!feature_fusion_fits (model, mode, error))
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
  /* the scale travels as float16: round it the way the wire would */
  scale = top > 0.0f ? top / 127.0f : 1.0f;
  {
    int exp;
    float mant = frexpf (scale, &exp);

    scale = ldexpf (roundf (mant * 2048.0f) / 2048.0f, exp);
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

gboolean
ddnn_model_set_threshold (
    DdnnModel *model, DdnnTier tier, double threshold, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  JsonObject *root, *thresholds;
  gchar *topology;

  if (tier == DDNN_TIER_CLOUD || !(threshold >= 0.0 && threshold <= 1.0)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_INVALID_ARGUMENT,
        "a local or edge threshold from 0 to 1");
    return FALSE;
  }
  if (!json_parser_load_from_data (parser, model->topology, -1, error))
    return FALSE;
  root = json_node_get_object (json_parser_get_root (parser));
  thresholds = json_object_get_object_member (root, "thresholds");
  if (!thresholds) {
    thresholds = json_object_new ();
    json_object_set_object_member (root, "thresholds", thresholds);
  }
  /* three decimals, so the topology reads cleanly */
  json_object_set_double_member (thresholds,
      tier == DDNN_TIER_DEVICE ? "local" : "edge",
      round (threshold * 1000.0) / 1000.0);
  json_generator_set_root (gen, json_parser_get_root (parser));
  topology = json_generator_to_data (gen, NULL);
  g_free (model->topology);
  model->topology = topology;
  model->thresholds[tier] = round (threshold * 1000.0) / 1000.0;
  g_free (model->id);
  model->id = model_compute_id (model);
  return TRUE;
}
