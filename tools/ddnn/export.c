/* ddnn export: a model file with only some of its sections.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

int
cmd_export (int argc, char **argv)
{
  gchar *sections = NULL, *out = NULL;
  GOptionEntry entries[] = {
    { "sections", 's', 0, G_OPTION_ARG_STRING, &sections,
        "Comma-separated section names to keep, e.g. device0", "NAMES" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "File to write", "FILE" },
    { NULL }
  };
  g_autoptr (DdnnModel) model = NULL;
  g_auto (GStrv) names = NULL;
  GError *error = NULL;
  int status;

  status = ddnn_cli_parse_options ("export",
      "MODEL --sections NAMES --out FILE",
      "Write a model file that holds only some sections, e.g. the device "
      "section of one camera.  The model id is kept, so tiers still check "
      "that they run parts of one model.",
      NULL, entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!sections || !out || argc != 2) {
    g_printerr ("ddnn export: needs MODEL, --sections and --out\n");
    goto out;
  }
  status = 1;
  names = g_strsplit (sections, ",", -1);
  if (!(model = ddnn_model_load (argv[1], &error)) ||
      !ddnn_model_save_sections (
          model, (const gchar *const *) names, out, &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  g_print ("wrote %s: sections %s of model %.16s\n", out, sections,
      ddnn_model_get_id (model));
  status = 0;
out:
  g_free (sections);
  g_free (out);
  return status;
}
