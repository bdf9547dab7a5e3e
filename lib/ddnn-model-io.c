/* libddnn: model files: loading, saving and exporting sections.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

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
  g_autofree gchar *name = ddnn_param_name (layer, kind);
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
  ddnn_param_stored_shape (dtype, n_dims, shape, &st_dtype, st_shape);
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

  if (!(t = ddnn_param_tensor_new (dtype, n_dims, shape, error)))
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
  if (!(model = ddnn_model_parse_topology (topology, error)))
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
    const gchar *stored;

    if (!ddnn_json_get_string (
            digest_obj, "section_digests", s->name, TRUE, &stored, error))
      return NULL;
    if (strlen (stored) != DDNN_MODEL_ID_LENGTH) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "section_digests: '%s' is not a SHA-256 digest", s->name);
      return NULL;
    }
    s->present = g_strv_contains ((const gchar *const *) present, s->name);
    if (!s->present) {
      g_strlcpy (s->digest, stored, sizeof (s->digest));
      ddnn_section_free_scratch (s);
      continue;
    }
    if (!ddnn_section_foreach_param (s, bind_param, &bind, error) ||
        !ddnn_section_prepare (s, error))
      return NULL;
    ddnn_section_compute_digest (s);
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

  model->id = ddnn_model_compute_id (model);
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

static gboolean
write_param (DdnnSection *s, DdnnLayer *layer, DdnnParamKind kind,
    DdnnDtype dtype, guint n_dims, const gsize *shape, gpointer user_data,
    GError **error)
{
  DdnnStWriter *writer = user_data;
  g_autofree gchar *name = ddnn_param_name (layer, kind);
  gsize st_shape[DDNN_TENSOR_MAX_DIMS];
  DdnnStDtype st_dtype;
  DdnnTensor *t = layer->params[kind];

  ddnn_param_stored_shape (dtype, n_dims, shape, &st_dtype, st_shape);
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
    ddnn_section_foreach_param (s, write_param, writer, NULL);
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
