/* libddnn: the safetensors container.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const struct
{
  const gchar *name;
  gsize size;
} st_dtypes[] = {
  [DDNN_ST_F32] = { "F32", 4 },
  [DDNN_ST_U8] = { "U8", 1 },
  [DDNN_ST_I8] = { "I8", 1 },
};

const gchar *
ddnn_st_dtype_name (DdnnStDtype dtype)
{
  return st_dtypes[dtype].name;
}

gsize
ddnn_st_dtype_size (DdnnStDtype dtype)
{
  return st_dtypes[dtype].size;
}

gboolean
ddnn_json_check_depth (
    const gchar *text, gsize length, guint max_depth, GError **error)
{
  gboolean in_string = FALSE, escaped = FALSE;
  guint depth = 0;
  gsize i;

  for (i = 0; i < length; i++) {
    gchar c = text[i];

    if (in_string) {
      if (escaped)
        escaped = FALSE;
      else if (c == '\\')
        escaped = TRUE;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
            "JSON nests deeper than %u levels", max_depth);
        return FALSE;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

static void
st_tensor_free (gpointer data)
{
  DdnnStTensor *t = data;

  g_free (t->name);
  g_free (t);
}

void
ddnn_safetensors_free (DdnnSafetensors *st)
{
  if (!st)
    return;
  g_clear_pointer (&st->bytes, g_bytes_unref);
  g_clear_pointer (&st->tensors, g_ptr_array_unref);
  g_clear_pointer (&st->metadata, g_hash_table_unref);
  g_free (st);
}

const DdnnStTensor *
ddnn_safetensors_find (const DdnnSafetensors *st, const gchar *name)
{
  guint i;

  for (i = 0; i < st->tensors->len; i++) {
    const DdnnStTensor *t = g_ptr_array_index (st->tensors, i);

    if (strcmp (t->name, name) == 0)
      return t;
  }
  return NULL;
}

/* An unsigned integer that JSON gives exactly (no fraction, no sign). */
static gboolean
json_node_get_size (JsonNode *node, guint64 *value)
{
  gint64 v;

  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *value = (guint64) v;
  return TRUE;
}

static gboolean
parse_tensor_entry (const gchar *name, JsonNode *node, gsize data_size,
    DdnnStTensor *t, GError **error)
{
  JsonObject *obj;
  JsonNode *member;
  JsonArray *shape, *offsets;
  const gchar *dtype;
  guint64 begin, end, expected;
  gsize n_elements;
  guint i, d;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "tensor '%s': header entry is not an object", name);
    return FALSE;
  }
  obj = json_node_get_object (node);

  member = json_object_get_member (obj, "dtype");
  dtype = member && JSON_NODE_HOLDS_VALUE (member) &&
          json_node_get_value_type (member) == G_TYPE_STRING
      ? json_node_get_string (member)
      : NULL;
  if (!dtype) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "tensor '%s': no dtype string", name);
    return FALSE;
  }
  for (d = 0; d < G_N_ELEMENTS (st_dtypes); d++)
    if (strcmp (dtype, st_dtypes[d].name) == 0)
      break;
  if (d == G_N_ELEMENTS (st_dtypes)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "tensor '%s': dtype '%s' is not one libddnn reads (F32, U8, I8)", name,
        dtype);
    return FALSE;
  }
  t->dtype = d;

  member = json_object_get_member (obj, "shape");
  if (!member || !JSON_NODE_HOLDS_ARRAY (member)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "tensor '%s': no shape array", name);
    return FALSE;
  }
  shape = json_node_get_array (member);
  if (json_array_get_length (shape) > DDNN_TENSOR_MAX_DIMS) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "tensor '%s': %u dimensions, at most %d are supported", name,
        json_array_get_length (shape), DDNN_TENSOR_MAX_DIMS);
    return FALSE;
  }
  t->n_dims = json_array_get_length (shape);
  for (i = 0; i < t->n_dims; i++) {
    guint64 extent;

    if (!json_node_get_size (json_array_get_element (shape, i), &extent) ||
        extent > DDNN_TENSOR_MAX_ELEMENTS) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
          "tensor '%s': dimension %u is not an integer in [0, 2^31]", name, i);
      return FALSE;
    }
    t->shape[i] = extent;
  }
  if (!ddnn_tensor_bytes_for (
          DDNN_DTYPE_I8, t->n_dims, t->shape, &n_elements, NULL, error)) {
    g_prefix_error (error, "tensor '%s': ", name);
    return FALSE;
  }

  member = json_object_get_member (obj, "data_offsets");
  if (!member || !JSON_NODE_HOLDS_ARRAY (member) ||
      json_array_get_length (offsets = json_node_get_array (member)) != 2 ||
      !json_node_get_size (json_array_get_element (offsets, 0), &begin) ||
      !json_node_get_size (json_array_get_element (offsets, 1), &end)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "tensor '%s': data_offsets is not a pair of non-negative integers",
        name);
    return FALSE;
  }
  if (begin > end || end > data_size) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "tensor '%s': offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
        "] out of range (the data section holds %" G_GSIZE_FORMAT " bytes)",
        name, begin, end, data_size);
    return FALSE;
  }
  expected = (guint64) n_elements * st_dtypes[t->dtype].size;
  if (end - begin != expected) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_SHAPE,
        "tensor '%s': shape needs %" G_GUINT64_FORMAT " bytes of %s but its "
        "offsets span %" G_GUINT64_FORMAT,
        name, expected, dtype, end - begin);
    return FALSE;
  }
  t->begin = begin;
  t->end = end;
  return TRUE;
}

static gint
compare_by_offset (gconstpointer a, gconstpointer b)
{
  const DdnnStTensor *ta = *(DdnnStTensor *const *) a;
  const DdnnStTensor *tb = *(DdnnStTensor *const *) b;

  if (ta->begin != tb->begin)
    return ta->begin < tb->begin ? -1 : 1;
  if (ta->end != tb->end)
    return ta->end < tb->end ? -1 : 1;
  return 0;
}

static gboolean
parse_metadata (JsonNode *node, GHashTable *metadata, GError **error)
{
  JsonObjectIter iter;
  const gchar *key;
  JsonNode *value;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "__metadata__ is not an object");
    return FALSE;
  }
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &key, &value)) {
    if (!JSON_NODE_HOLDS_VALUE (value) ||
        json_node_get_value_type (value) != G_TYPE_STRING) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "__metadata__ value of '%s' is not a string", key);
      return FALSE;
    }
    g_hash_table_insert (
        metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
  }
  return TRUE;
}

DdnnSafetensors *
ddnn_safetensors_parse (GBytes *bytes, GError **error)
{
  g_autoptr (DdnnSafetensors) st = NULL;
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GPtrArray) by_offset = NULL;
  GError *json_error = NULL;
  const guint8 *data;
  gsize size, data_size, expected_begin = 0;
  guint64 header_size;
  JsonNode *root;
  JsonObjectIter iter;
  const gchar *name;
  JsonNode *node;
  guint i;

  data = g_bytes_get_data (bytes, &size);
  if (size < 8) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TRUNCATED,
        "truncated: %" G_GSIZE_FORMAT " bytes, but a safetensors file starts "
        "with an 8-byte header length",
        size);
    return NULL;
  }
  memcpy (&header_size, data, 8);
  header_size = GUINT64_FROM_LE (header_size);
  if (header_size > DDNN_SAFETENSORS_MAX_HEADER) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "header length %" G_GUINT64_FORMAT " is over the %d-byte limit",
        header_size, DDNN_SAFETENSORS_MAX_HEADER);
    return NULL;
  }
  if (header_size > size - 8) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TRUNCATED,
        "truncated: the header announces %" G_GUINT64_FORMAT " bytes of JSON "
        "but only %" G_GSIZE_FORMAT " follow",
        header_size, size - 8);
    return NULL;
  }
  if (header_size < 2 || data[8] != '{') {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the header does not start with a JSON object");
    return NULL;
  }
  if (!g_utf8_validate ((const gchar *) data + 8, header_size, NULL)) {
    g_set_error (
        error, DDNN_ERROR, DDNN_ERROR_CORRUPT, "the header is not valid UTF-8");
    return NULL;
  }
  if (!ddnn_json_check_depth (
          (const gchar *) data + 8, header_size, DDNN_JSON_MAX_DEPTH, error)) {
    g_prefix_error (error, "header: ");
    return NULL;
  }

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (
          parser, (const gchar *) data + 8, header_size, &json_error)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the header is not valid JSON: %s", json_error->message);
    g_error_free (json_error);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "the header is not a JSON object");
    return NULL;
  }

  st = g_new0 (DdnnSafetensors, 1);
  st->bytes = g_bytes_ref (bytes);
  st->tensors = g_ptr_array_new_with_free_func (st_tensor_free);
  st->metadata = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, g_free);
  data_size = size - 8 - header_size;

  json_object_iter_init (&iter, json_node_get_object (root));
  while (json_object_iter_next (&iter, &name, &node)) {
    DdnnStTensor *t;

    if (strcmp (name, "__metadata__") == 0) {
      if (!parse_metadata (node, st->metadata, error))
        return NULL;
      continue;
    }
    t = g_new0 (DdnnStTensor, 1);
    t->name = g_strdup (name);
    g_ptr_array_add (st->tensors, t);
    if (!parse_tensor_entry (name, node, data_size, t, error))
      return NULL;
    t->data = data + 8 + header_size + t->begin;
  }

  /* Tensors must tile the data section: no overlap, no gap, no tail. */
  /* g_ptr_array_copy() would keep the free func; this array only borrows. */
  by_offset = g_ptr_array_sized_new (st->tensors->len);
  for (i = 0; i < st->tensors->len; i++)
    g_ptr_array_add (by_offset, g_ptr_array_index (st->tensors, i));
  g_ptr_array_sort (by_offset, compare_by_offset);
  for (i = 0; i < by_offset->len; i++) {
    const DdnnStTensor *t = g_ptr_array_index (by_offset, i);

    if (t->begin < expected_begin) {
      const DdnnStTensor *prev = g_ptr_array_index (by_offset, i - 1);

      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "offsets overlapping: tensors '%s' and '%s' share bytes", prev->name,
          t->name);
      return NULL;
    }
    if (t->begin > expected_begin) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
          "%" G_GSIZE_FORMAT " bytes before tensor '%s' belong to no tensor",
          t->begin - expected_begin, t->name);
      return NULL;
    }
    expected_begin = t->end;
  }
  if (expected_begin != data_size) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_CORRUPT,
        "%" G_GSIZE_FORMAT " bytes at the end of the file belong to no tensor",
        data_size - expected_begin);
    return NULL;
  }

  return g_steal_pointer (&st);
}

struct _DdnnStWriter
{
  JsonBuilder *header;
  GByteArray *data;
  gsize reserved; /* bytes of data announced so far */
  gboolean external; /* the caller writes the data itself */
  GHashTable *metadata;
  GPtrArray *metadata_keys;
};

DdnnStWriter *
ddnn_st_writer_new (void)
{
  DdnnStWriter *writer = g_new0 (DdnnStWriter, 1);

  writer->header = json_builder_new ();
  json_builder_begin_object (writer->header);
  writer->data = g_byte_array_new ();
  writer->metadata = g_hash_table_new_full (
      g_str_hash, g_str_equal, g_free, g_free);
  writer->metadata_keys = g_ptr_array_new_with_free_func (g_free);
  return writer;
}

static void
writer_add_entry (DdnnStWriter *writer, const gchar *name, DdnnStDtype dtype,
    guint n_dims, const gsize *shape, gsize n_bytes)
{
  guint i;

  json_builder_set_member_name (writer->header, name);
  json_builder_begin_object (writer->header);
  json_builder_set_member_name (writer->header, "dtype");
  json_builder_add_string_value (writer->header, st_dtypes[dtype].name);
  json_builder_set_member_name (writer->header, "shape");
  json_builder_begin_array (writer->header);
  for (i = 0; i < n_dims; i++)
    json_builder_add_int_value (writer->header, shape[i]);
  json_builder_end_array (writer->header);
  json_builder_set_member_name (writer->header, "data_offsets");
  json_builder_begin_array (writer->header);
  json_builder_add_int_value (writer->header, writer->reserved);
  json_builder_add_int_value (writer->header, writer->reserved + n_bytes);
  json_builder_end_array (writer->header);
  json_builder_end_object (writer->header);
  writer->reserved += n_bytes;
}

void
ddnn_st_writer_add (DdnnStWriter *writer, const gchar *name, DdnnStDtype dtype,
    guint n_dims, const gsize *shape, gconstpointer data, gsize n_bytes)
{
  writer_add_entry (writer, name, dtype, n_dims, shape, n_bytes);
  /* The data section is little-endian; so are the hosts libddnn runs on,
   * which model loading checks at build time. */
  g_byte_array_append (writer->data, data, n_bytes);
}

void
ddnn_st_writer_reserve (DdnnStWriter *writer, const gchar *name,
    DdnnStDtype dtype, guint n_dims, const gsize *shape, gsize n_bytes)
{
  writer_add_entry (writer, name, dtype, n_dims, shape, n_bytes);
  writer->external = TRUE;
}

void
ddnn_st_writer_set_metadata (
    DdnnStWriter *writer, const gchar *key, const gchar *value)
{
  if (!g_hash_table_contains (writer->metadata, key))
    g_ptr_array_add (writer->metadata_keys, g_strdup (key));
  g_hash_table_insert (writer->metadata, g_strdup (key), g_strdup (value));
}

static GByteArray *
writer_header (DdnnStWriter *writer)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  GByteArray *out;
  gchar *json;
  gsize json_len, padded;
  guint64 header_le;
  guint i;

  if (writer->metadata_keys->len) {
    json_builder_set_member_name (writer->header, "__metadata__");
    json_builder_begin_object (writer->header);
    for (i = 0; i < writer->metadata_keys->len; i++) {
      const gchar *key = g_ptr_array_index (writer->metadata_keys, i);

      json_builder_set_member_name (writer->header, key);
      json_builder_add_string_value (
          writer->header, g_hash_table_lookup (writer->metadata, key));
    }
    json_builder_end_object (writer->header);
  }
  json_builder_end_object (writer->header);
  root = json_builder_get_root (writer->header);
  json_generator_set_root (generator, root);
  json = json_generator_to_data (generator, &json_len);

  /* Pad the header with spaces so the data starts 8-byte aligned, as the
   * reference writer does. */
  padded = (json_len + 7) & ~(gsize) 7;
  header_le = GUINT64_TO_LE ((guint64) padded);
  out = g_byte_array_sized_new (8 + padded + writer->data->len);
  g_byte_array_append (out, (const guint8 *) &header_le, 8);
  g_byte_array_append (out, (const guint8 *) json, json_len);
  for (i = json_len; i < padded; i++)
    g_byte_array_append (out, (const guint8 *) " ", 1);
  g_free (json);
  return out;
}

GBytes *
ddnn_st_writer_finish (DdnnStWriter *writer)
{
  GByteArray *out;

  g_return_val_if_fail (!writer->external, NULL);
  out = writer_header (writer);
  g_byte_array_append (out, writer->data->data, writer->data->len);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
ddnn_st_writer_finish_header (DdnnStWriter *writer)
{
  return g_byte_array_free_to_bytes (writer_header (writer));
}

void
ddnn_st_writer_free (DdnnStWriter *writer)
{
  if (!writer)
    return;
  g_object_unref (writer->header);
  g_byte_array_unref (writer->data);
  g_hash_table_unref (writer->metadata);
  g_ptr_array_free (writer->metadata_keys, TRUE);
  g_free (writer);
}
