/* libddnn: the model object: references, accessors, thresholds, parameters
 * by section, digests and the model id.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "libddnn reads and writes little-endian tensors in place"
#endif

const gchar *const ddnn_param_names[DDNN_N_PARAMS] = {
  "weight",
  "bias",
  "gamma",
  "beta",
  "running_mean",
  "running_var",
};

const gchar *const ddnn_tier_names[] = {
  [DDNN_TIER_DEVICE] = "device",
  [DDNN_TIER_EDGE] = "edge",
  [DDNN_TIER_CLOUD] = "cloud",
};
G_STATIC_ASSERT (G_N_ELEMENTS (ddnn_tier_names) == DDNN_TIER_CLOUD + 1);

const gchar *
ddnn_tier_name (DdnnTier tier)
{
  return tier <= DDNN_TIER_CLOUD ? ddnn_tier_names[tier] : "unknown";
}

void
ddnn_layer_free (gpointer data)
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

void
ddnn_section_free_scratch (DdnnSection *s)
{
  g_clear_pointer (&s->buf[0], ddnn_aligned_free);
  g_clear_pointer (&s->buf[1], ddnn_aligned_free);
  g_clear_pointer (&s->col, ddnn_aligned_free);
  g_clear_pointer (&s->bits, ddnn_aligned_free);
  g_clear_pointer (&s->hwc, ddnn_aligned_free);
  g_clear_pointer (&s->unpacked, ddnn_aligned_free);
}

void
ddnn_section_free (gpointer data)
{
  DdnnSection *s = data;

  ddnn_section_free_scratch (s);
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

/* Calls @func on each parameter of a section, in the canonical order. */
gboolean
ddnn_section_foreach_param (
    DdnnSection *s, DdnnParamFunc func, gpointer user_data, GError **error)
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

        if (ddnn_layer_param_spec (layer, k, &dtype, &n_dims, shape) &&
            !func (s, layer, k, dtype, n_dims, shape, user_data, error))
          return FALSE;
      }
    }
  }
  return TRUE;
}

gchar *
ddnn_param_name (const DdnnLayer *layer, DdnnParamKind kind)
{
  return g_strdup_printf ("%s.%s", layer->prefix, ddnn_param_names[kind]);
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
  g_autofree gchar *name = ddnn_param_name (layer, kind);

  g_checksum_update (sum, (const guchar *) name, strlen (name) + 1);
  g_checksum_update (sum, t->data, t->n_bytes);
  return TRUE;
}

void
ddnn_section_compute_digest (DdnnSection *s)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);

  ddnn_section_foreach_param (s, hash_param, sum, NULL);
  g_strlcpy (s->digest, g_checksum_get_string (sum), sizeof (s->digest));
  g_checksum_free (sum);
}

gchar *
ddnn_model_compute_id (const DdnnModel *model)
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

gboolean
ddnn_section_prepare (DdnnSection *s, GError **error)
{
  GPtrArray *lists[2] = { s->body, s->exit };
  guint l, i;

  for (l = 0; l < 2; l++)
    for (i = 0; i < lists[l]->len; i++)
      if (!ddnn_layer_prepare (g_ptr_array_index (lists[l], i), error))
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
    if (!ddnn_section_prepare (s, error))
      return FALSE;
    ddnn_section_compute_digest (s);
  }
  g_free (model->id);
  model->id = ddnn_model_compute_id (model);
  return TRUE;
}

static gboolean
init_param (DdnnSection *s, DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype dtype, guint n_dims, const gsize *shape, gpointer user_data,
    GError **error)
{
  GRand *rand = user_data;
  DdnnTensor *t = ddnn_param_tensor_new (dtype, n_dims, shape, error);
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
  g_autoptr (DdnnModel)
      model = ddnn_model_parse_topology (topology_json, error);
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
    if (!ddnn_section_foreach_param (
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
  model->id = ddnn_model_compute_id (model);
  return TRUE;
}
