/* The ddnn command: helpers its commands share.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

#include <math.h>

int
ddnn_cli_fail (GError *error)
{
  g_printerr ("ddnn: %s\n", error->message);
  g_error_free (error);
  return 1;
}

int
ddnn_cli_parse_options (const gchar *command, const gchar *args,
    const gchar *summary, const gchar *description, GOptionEntry *entries,
    int *argc, char ***argv)
{
  g_autofree gchar *prgname = g_strdup_printf ("ddnn %s", command);
  g_autoptr (GOptionContext) context = g_option_context_new (args);
  GError *error = NULL;

  /* so that --help reads "ddnn train [OPTION...] --data DIR ..." */
  g_set_prgname (prgname);
  g_option_context_set_summary (context, summary);
  if (description)
    g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, argc, argv, &error)) {
    g_printerr ("ddnn %s: %s\nTry 'ddnn %s --help'.\n", command, error->message,
        command);
    g_error_free (error);
    return 2;
  }
  return -1;
}

gboolean
ddnn_cli_match_classes (
    DdnnDataset *data, DdnnModel *model, gboolean remap, GError **error)
{
  guint n = ddnn_model_get_n_classes (model), i;
  g_autofree const gchar **names = g_new0 (const gchar *, n + 1);

  for (i = 0; i < n; i++)
    names[i] = ddnn_model_get_class_name (model, i);
  return ddnn_dataset_match_classes (data, names, n, remap, error);
}

void
ddnn_cli_print_json (JsonBuilder *builder)
{
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autofree gchar *text = NULL;

  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

GHashTable *
ddnn_cli_json_nulls_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

void
ddnn_cli_json_number (JsonBuilder *b, GHashTable *nulls, const gchar *name,
    double value, gint digits)
{
  gchar text[64];

  if (name)
    json_builder_set_member_name (b, name);
  if (!isfinite (value)) {
    json_builder_add_null_value (b);
    g_hash_table_add (nulls, g_strdup (name ? name : "an element"));
    return;
  }
  if (digits >= 0)
    g_snprintf (text, sizeof (text), "%.*f", digits, value);
  else
    g_snprintf (text, sizeof (text), "%.*g", -digits, value);
  json_builder_add_double_value (b, g_ascii_strtod (text, NULL));
}

void
ddnn_cli_json_floats (JsonBuilder *b, GHashTable *nulls, const gchar *name,
    const float *values, guint n)
{
  guint i;
  gboolean bad = FALSE;

  if (name)
    json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (i = 0; i < n; i++) {
    if (!isfinite (values[i])) {
      json_builder_add_null_value (b);
      bad = TRUE;
    } else {
      gchar text[32];

      /* nine digits give a float back exactly */
      g_snprintf (text, sizeof (text), "%.9g", values[i]);
      json_builder_add_double_value (b, g_ascii_strtod (text, NULL));
    }
  }
  json_builder_end_array (b);
  if (bad)
    g_hash_table_add (nulls, g_strdup (name ? name : "an element"));
}

void
ddnn_cli_json_uint (JsonBuilder *b, const gchar *name, guint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, (gint64) value);
}

void
ddnn_cli_json_string (JsonBuilder *b, const gchar *name, const gchar *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

void
ddnn_cli_json_end_nulls (JsonBuilder *b, GHashTable *nulls)
{
  if (g_hash_table_size (nulls) > 0) {
    GList *keys = g_list_sort (
        g_hash_table_get_keys (nulls), (GCompareFunc) g_strcmp0);
    GList *l;

    json_builder_set_member_name (b, "null_reasons");
    json_builder_begin_object (b);
    for (l = keys; l; l = l->next) {
      json_builder_set_member_name (b, l->data);
      json_builder_add_string_value (b,
          "not a finite number (NaN or infinity): the model's weights or "
          "the input gave a value no class score can have");
    }
    json_builder_end_object (b);
    g_list_free (keys);
  }
  g_hash_table_unref (nulls);
}
