/* The model loader against a corpus of broken files: truncated at every
 * byte, flipped bytes, wrong shapes, huge lengths, overlapping offsets and
 * more.  Every one must be refused with a message; none may crash or leak
 * (meson runs this under valgrind as well).
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ddnn.h>
#include <json-glib/json-glib.h>
#include <string.h>

static const gchar topology[] =
    "{\"input\": {\"channels\": 1, \"height\": 4,"
    " \"width\": 4}, \"classes\": [\"a\", \"b\"], \"views\": 1,"
    " \"sections\": [{\"name\": \"d\", \"tier\": \"device\", \"view\": 0,"
    " \"body\": [{\"type\": \"conv2d\", \"out\": 2, \"kernel\": 3, \"pad\": 1,"
    " \"binary\": true}, {\"type\": \"batchnorm\"}, {\"type\": \"sign\"}],"
    " \"exit\": [{\"type\": \"linear\", \"out\": 2, \"binary\": true}]},"
    " {\"name\": \"c\", \"tier\": \"cloud\", \"body\": [],"
    " \"exit\": [{\"type\": \"linear\", \"out\": 2, \"bias\": true}]}]}";

static GBytes *
valid_file (void)
{
  g_autoptr (DdnnModel)
      model = ddnn_model_new_from_topology (topology, 1, NULL);

  g_assert_nonnull (model);
  return ddnn_model_serialize (model, NULL);
}

static void
assert_refused (
    GBytes *bytes, gint code, const gchar *message, const gchar *what)
{
  GError *error = NULL;
  DdnnModel *model = ddnn_model_load_from_bytes (bytes, &error);

  if (model)
    g_error ("%s: a broken file was accepted", what);
  g_assert_nonnull (error);
  g_assert_true (error->domain == DDNN_ERROR);
  g_assert_cmpuint (strlen (error->message), >, 0);
  if (code >= 0 && error->code != code)
    g_error ("%s: error code %d, expected %d (%s)", what, error->code, code,
        error->message);
  if (message && !strstr (error->message, message))
    g_error ("%s: '%s' does not say '%s'", what, error->message, message);
  g_error_free (error);
}

static void
test_valid (void)
{
  g_autoptr (GBytes) bytes = valid_file ();
  g_autoptr (DdnnModel) model = NULL;
  GError *error = NULL;

  model = ddnn_model_load_from_bytes (bytes, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);
}

static void
test_truncated_everywhere (void)
{
  g_autoptr (GBytes) bytes = valid_file ();
  gsize size = g_bytes_get_size (bytes), len;

  for (len = 0; len < size; len++) {
    g_autoptr (GBytes) cut = g_bytes_new_from_bytes (bytes, 0, len);
    g_autofree gchar *what = g_strdup_printf (
        "truncated to %" G_GSIZE_FORMAT, len);

    assert_refused (cut, -1, NULL, what);
  }
}

static void
test_flipped_everywhere (void)
{
  g_autoptr (GBytes) bytes = valid_file ();
  gsize size, pos;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  guint8 *copy = g_memdup2 (data, size);
  const guint8 masks[] = { 0x01, 0x80, 0xff };
  guint m;

  for (pos = 0; pos < size; pos++) {
    for (m = 0; m < G_N_ELEMENTS (masks); m++) {
      g_autoptr (GBytes) flipped = NULL;
      g_autofree gchar *what = NULL;

      copy[pos] ^= masks[m];
      flipped = g_bytes_new (copy, size);
      what = g_strdup_printf (
          "byte %" G_GSIZE_FORMAT " ^ 0x%02x", pos, masks[m]);
      assert_refused (flipped, -1, NULL, what);
      copy[pos] ^= masks[m];
    }
  }
  g_free (copy);
}

/* Rewrites the header of the valid file with @edit and reattaches its data
 * (or @data when given). */
typedef void (*EditFunc) (JsonObject *header);

static GBytes *
edited_file (EditFunc edit, const guint8 *data, gsize data_len,
    gint64 header_len_override)
{
  g_autoptr (GBytes) bytes = valid_file ();
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *json = NULL;
  gsize size, json_len;
  const guint8 *raw = g_bytes_get_data (bytes, &size);
  const guint8 *data_start;
  guint64 header_len;
  GByteArray *out = g_byte_array_new ();

  memcpy (&header_len, raw, 8);
  header_len = GUINT64_FROM_LE (header_len);
  g_assert_true (json_parser_load_from_data (
      parser, (const gchar *) raw + 8, header_len, NULL));
  data_start = raw + 8 + header_len;
  if (!data) {
    data = data_start;
    data_len = size - 8 - header_len;
  }
  edit (json_node_get_object (json_parser_get_root (parser)));
  json_generator_set_root (gen, json_parser_get_root (parser));
  json = json_generator_to_data (gen, &json_len);
  header_len = GUINT64_TO_LE (
      header_len_override >= 0 ? (guint64) header_len_override : json_len);
  g_byte_array_append (out, (const guint8 *) &header_len, 8);
  g_byte_array_append (out, (const guint8 *) json, json_len);
  g_byte_array_append (out, data, data_len);
  return g_byte_array_free_to_bytes (out);
}

static JsonObject *
entry (JsonObject *header, const gchar *name)
{
  return json_object_get_object_member (header, name);
}

static JsonObject *
metadata (JsonObject *header)
{
  return json_object_get_object_member (header, "__metadata__");
}

static void
edit_nothing (JsonObject *h)
{}

static void
edit_shape (JsonObject *h)
{
  JsonArray *shape = json_array_new ();

  json_array_add_int_element (shape, 3);
  json_object_set_array_member (entry (h, "c.exit.0.bias"), "shape", shape);
}

static void
edit_shape_consistent (JsonObject *h)
{
  /* [2] -> [1, 2]: same byte count, so only the topology check notices */
  JsonArray *shape = json_array_new ();

  json_array_add_int_element (shape, 1);
  json_array_add_int_element (shape, 2);
  json_object_set_array_member (entry (h, "c.exit.0.bias"), "shape", shape);
}

static void
edit_huge_shape (JsonObject *h)
{
  JsonArray *shape = json_array_new ();

  json_array_add_int_element (shape, G_GINT64_CONSTANT (1) << 31);
  json_array_add_int_element (shape, G_GINT64_CONSTANT (1) << 31);
  json_object_set_array_member (entry (h, "c.exit.0.bias"), "shape", shape);
}

static void
edit_negative_shape (JsonObject *h)
{
  JsonArray *shape = json_array_new ();

  json_array_add_int_element (shape, -2);
  json_object_set_array_member (entry (h, "c.exit.0.bias"), "shape", shape);
}

static void
edit_float_shape (JsonObject *h)
{
  JsonArray *shape = json_array_new ();

  json_array_add_double_element (shape, 2.0);
  json_object_set_array_member (entry (h, "c.exit.0.bias"), "shape", shape);
}

static void
set_offsets (JsonObject *h, const gchar *name, gint64 begin, gint64 end)
{
  JsonArray *offsets = json_array_new ();

  json_array_add_int_element (offsets, begin);
  json_array_add_int_element (offsets, end);
  json_object_set_array_member (entry (h, name), "data_offsets", offsets);
}

static void
edit_huge_offsets (JsonObject *h)
{
  set_offsets (h, "c.exit.0.bias", G_GINT64_CONSTANT (1) << 62,
      (G_GINT64_CONSTANT (1) << 62) + 8);
}

static void
edit_reversed_offsets (JsonObject *h)
{
  set_offsets (h, "c.exit.0.bias", 8, 0);
}

static void
edit_overlap (JsonObject *h)
{
  /* the bias claims the same 8 bytes as the batch norm's gamma */
  JsonArray *gamma = json_object_get_array_member (
      entry (h, "d.body.1.gamma"), "data_offsets");

  set_offsets (h, "c.exit.0.bias", json_array_get_int_element (gamma, 0),
      json_array_get_int_element (gamma, 1));
}

static void
edit_dtype (JsonObject *h)
{
  json_object_set_string_member (entry (h, "c.exit.0.bias"), "dtype", "F64");
}

static void
edit_dtype_u8 (JsonObject *h)
{
  JsonArray *shape = json_array_new ();

  json_array_add_int_element (shape, 8);
  json_object_set_array_member (entry (h, "c.exit.0.bias"), "shape", shape);
  json_object_set_string_member (entry (h, "c.exit.0.bias"), "dtype", "U8");
}

static void
edit_version (JsonObject *h)
{
  json_object_set_string_member (metadata (h), "ddnn_version", "2");
}

static void
edit_format (JsonObject *h)
{
  json_object_remove_member (metadata (h), "format");
}

static void
edit_metadata_type (JsonObject *h)
{
  json_object_set_int_member (metadata (h), "note", 5);
}

static void
edit_missing (JsonObject *h)
{
  json_object_remove_member (h, "c.exit.0.bias");
}

static void
edit_extra (JsonObject *h)
{
  JsonObject *copy = json_object_ref (entry (h, "c.exit.0.bias"));

  json_object_set_object_member (h, "c.exit.0.extra", copy);
}

static void
edit_model_id (JsonObject *h)
{
  json_object_set_string_member (metadata (h), "model_id",
      "0000000000000000000000000000000000000000000000000000000000000000");
}

static void
edit_topology (JsonObject *h)
{
  /* a valid topology, but not the one the id was computed from */
  const gchar *t = json_object_get_string_member (metadata (h), "topology");
  g_autofree gchar *changed = g_strdup (t);
  gchar *p = strstr (changed, "\"a\"");

  p[1] = 'z';
  json_object_set_string_member (metadata (h), "topology", changed);
}

static void
edit_bad_topology (JsonObject *h)
{
  json_object_set_string_member (metadata (h), "topology", "{\"views\": 0");
}

static void
edit_sections (JsonObject *h)
{
  json_object_set_string_member (metadata (h), "sections", "d,c,ghost");
}

static void
edit_not_object (JsonObject *h)
{
  json_object_set_int_member (h, "c.exit.0.bias", 3);
}

static void
test_header_corpus (void)
{
  static const struct
  {
    const gchar *what;
    EditFunc edit;
    gint code;
    const gchar *message;
  } cases[] = {
    { "wrong shape", edit_shape, DDNN_ERROR_SHAPE, "offsets span" },
    { "shape mismatch", edit_shape_consistent, DDNN_ERROR_SHAPE,
        "shape mismatch" },
    { "huge shape", edit_huge_shape, DDNN_ERROR_SHAPE, "elements" },
    { "negative shape", edit_negative_shape, DDNN_ERROR_SHAPE, "dimension 0" },
    { "fractional shape", edit_float_shape, DDNN_ERROR_SHAPE, "dimension 0" },
    { "huge offsets", edit_huge_offsets, DDNN_ERROR_CORRUPT, "out of range" },
    { "reversed offsets", edit_reversed_offsets, DDNN_ERROR_CORRUPT,
        "out of range" },
    { "overlap", edit_overlap, DDNN_ERROR_CORRUPT, "overlapping" },
    { "unknown dtype", edit_dtype, DDNN_ERROR_CORRUPT, "dtype 'F64'" },
    { "wrong dtype", edit_dtype_u8, DDNN_ERROR_SHAPE,
        "the topology needs F32" },
    { "unknown version", edit_version, DDNN_ERROR_VERSION, "version '2'" },
    { "not a ddnn model", edit_format, DDNN_ERROR_CORRUPT, "not a ddnn model" },
    { "metadata not string", edit_metadata_type, DDNN_ERROR_CORRUPT,
        "not a string" },
    { "missing tensor", edit_missing, DDNN_ERROR_CORRUPT,
        "belong to no tensor" },
    { "extra tensor", edit_extra, DDNN_ERROR_CORRUPT, "overlapping" },
    { "model id", edit_model_id, DDNN_ERROR_CORRUPT, "model id mismatch" },
    { "topology edited", edit_topology, DDNN_ERROR_CORRUPT,
        "model id mismatch" },
    { "topology broken", edit_bad_topology, DDNN_ERROR_TOPOLOGY,
        "not valid JSON" },
    { "unknown section", edit_sections, DDNN_ERROR_CORRUPT, "ghost" },
    { "entry not object", edit_not_object, DDNN_ERROR_CORRUPT,
        "not an object" },
  };
  guint i;

  {
    g_autoptr (GBytes) same = edited_file (edit_nothing, NULL, 0, -1);
    g_autoptr (DdnnModel) model = ddnn_model_load_from_bytes (same, NULL);

    /* the harness itself keeps a valid file valid */
    g_assert_nonnull (model);
  }
  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GBytes) bytes = edited_file (cases[i].edit, NULL, 0, -1);

    assert_refused (bytes, cases[i].code, cases[i].message, cases[i].what);
  }
}

static void
test_missing_tensor_with_data (void)
{
  /* drop the tensor and its bytes so that the file is otherwise sound */
  g_autoptr (GBytes) bytes = valid_file ();
  g_autoptr (DdnnSafetensors) st = ddnn_safetensors_parse (bytes, NULL);
  DdnnStWriter *writer = ddnn_st_writer_new ();
  g_autoptr (GBytes) rebuilt = NULL;
  GHashTableIter iter;
  gpointer key, value;
  guint i;

  for (i = 0; i < st->tensors->len; i++) {
    const DdnnStTensor *t = g_ptr_array_index (st->tensors, i);

    if (strcmp (t->name, "d.body.1.beta") != 0)
      ddnn_st_writer_add (writer, t->name, t->dtype, t->n_dims, t->shape,
          t->data, t->end - t->begin);
  }
  g_hash_table_iter_init (&iter, st->metadata);
  while (g_hash_table_iter_next (&iter, &key, &value))
    ddnn_st_writer_set_metadata (writer, key, value);
  rebuilt = ddnn_st_writer_finish (writer);
  ddnn_st_writer_free (writer);
  assert_refused (rebuilt, DDNN_ERROR_MISSING, "missing tensor 'd.body.1.beta'",
      "missing tensor");
}

static void
test_nan_weights (void)
{
  g_autoptr (GBytes) bytes = valid_file ();
  g_autoptr (DdnnSafetensors) st = ddnn_safetensors_parse (bytes, NULL);
  const DdnnStTensor *bias = ddnn_safetensors_find (st, "c.exit.0.bias");
  gsize size;
  guint8 *copy = g_bytes_unref_to_data (g_bytes_ref (bytes), &size);
  const guint32 nan_bits = 0x7fc00000;
  g_autoptr (GBytes) broken = NULL;

  memcpy (copy + (bias->data - (const guint8 *) g_bytes_get_data (bytes, NULL)),
      &nan_bits, 4);
  broken = g_bytes_new_take (copy, size);
  assert_refused (broken, DDNN_ERROR_CORRUPT, "NaN", "NaN weight");
}

static void
test_raw_headers (void)
{
  static const struct
  {
    const gchar *what;
    const gchar *header;
    gint64 length; /* -1: the header's own */
    gint code;
    const gchar *message;
  } cases[] = {
    { "huge header length", "{}", G_GINT64_CONSTANT (1) << 62,
        DDNN_ERROR_CORRUPT, "over the" },
    { "header past the end", "{}", 1000, DDNN_ERROR_TRUNCATED, "announces" },
    { "not JSON", "{nope", -1, DDNN_ERROR_CORRUPT, "not valid JSON" },
    { "not an object", "[1]", -1, DDNN_ERROR_CORRUPT, "JSON object" },
    { "no metadata", "{}", -1, DDNN_ERROR_CORRUPT, "not a ddnn model" },
    { "bad UTF-8", "{\"\xff\": 1}", -1, DDNN_ERROR_CORRUPT, "UTF-8" },
    { "trailing data", "{}   ", -1, DDNN_ERROR_CORRUPT, "not a ddnn model" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    GByteArray *out = g_byte_array_new ();
    guint64 len = GUINT64_TO_LE (cases[i].length >= 0
            ? (guint64) cases[i].length
            : strlen (cases[i].header));
    g_autoptr (GBytes) bytes = NULL;

    g_byte_array_append (out, (const guint8 *) &len, 8);
    g_byte_array_append (
        out, (const guint8 *) cases[i].header, strlen (cases[i].header));
    bytes = g_byte_array_free_to_bytes (out);
    assert_refused (bytes, cases[i].code, cases[i].message, cases[i].what);
  }
}

static void
test_deep_nesting (void)
{
  GString *json = g_string_new ("{\"a\":");
  GByteArray *out = g_byte_array_new ();
  g_autoptr (GBytes) bytes = NULL;
  guint64 len;
  guint i;

  for (i = 0; i < 100000; i++)
    g_string_append_c (json, '[');
  for (i = 0; i < 100000; i++)
    g_string_append_c (json, ']');
  g_string_append_c (json, '}');
  len = GUINT64_TO_LE (json->len);
  g_byte_array_append (out, (const guint8 *) &len, 8);
  g_byte_array_append (out, (const guint8 *) json->str, json->len);
  g_string_free (json, TRUE);
  bytes = g_byte_array_free_to_bytes (out);
  assert_refused (bytes, DDNN_ERROR_CORRUPT, "nests deeper", "deep nesting");
}

static void
test_missing_file (void)
{
  GError *error = NULL;

  g_assert_null (ddnn_model_load ("/nonexistent/model.safetensors", &error));
  g_assert_error (error, DDNN_ERROR, DDNN_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/model.safetensors"));
  g_error_free (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/loader/valid", test_valid);
  g_test_add_func ("/loader/truncated-everywhere", test_truncated_everywhere);
  g_test_add_func ("/loader/flipped-everywhere", test_flipped_everywhere);
  g_test_add_func ("/loader/header-corpus", test_header_corpus);
  g_test_add_func ("/loader/missing-tensor", test_missing_tensor_with_data);
  g_test_add_func ("/loader/nan", test_nan_weights);
  g_test_add_func ("/loader/raw-headers", test_raw_headers);
  g_test_add_func ("/loader/deep-nesting", test_deep_nesting);
  g_test_add_func ("/loader/missing-file", test_missing_file);
  return g_test_run ();
}
