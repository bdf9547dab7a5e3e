/* libddnn: sections and the interpreter that runs their layers.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

gboolean
ddnn_section_alloc_scratch (DdnnSection *s, GError **error)
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

      ddnn_layer_cost (layer, cost);
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
          layer->binary ? "binary " : "", ddnn_layer_classes[layer->type].name);
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

static void
run_layers (DdnnSection *s, GPtrArray *layers, DdnnValue *v)
{
  guint i;

  for (i = 0; i < layers->len; i++) {
    const DdnnLayer *layer = g_ptr_array_index (layers, i);
    const DdnnLayer *next = i + 1 < layers->len
        ? g_ptr_array_index (layers, i + 1)
        : NULL;

    if (ddnn_layer_forward_fused (s, layer, next, v))
      i++;
    else
      ddnn_layer_forward (s, layer, v);
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

gboolean
ddnn_section_check_runnable (DdnnSection *section, GError **error)
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
gboolean
ddnn_section_run_value (
    DdnnSection *s, DdnnValue *v, DdnnSectionResult *result, GError **error)
{
  guint n_classes = s->model->class_names->len;
  gsize shape[DDNN_TENSOR_MAX_DIMS];
  DdnnDtype dtype;
  guint n_dims;
  DdnnValue features;

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
  memcpy (result->scores, ddnn_value_floats (s, &features),
      n_classes * sizeof (float));
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
  DdnnValue v;

  if (!ddnn_section_check_runnable (section, error))
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
  return ddnn_section_run_value (section, &v, result, error);
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
  DdnnValue v;

  if (!ddnn_section_check_runnable (section, error))
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
  return ddnn_section_run_value (section, &v, result, error);
}
