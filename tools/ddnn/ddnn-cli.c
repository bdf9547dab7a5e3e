/* The ddnn command: helpers its commands share.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

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
