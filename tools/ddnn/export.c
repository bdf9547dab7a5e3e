/* ddnn export: a model file with only some of its sections, or a model's
 * architecture in the short form.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

int
cmd_export (int argc, char **argv)
{
  gchar *sections = NULL, *out = NULL, *arch = NULL;
  GOptionEntry entries[] = {
    { "sections", 's', 0, G_OPTION_ARG_STRING, &sections,
        "Comma-separated section names to keep, e.g. device0", "NAMES" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Model file to write",
        "FILE" },
    { "arch", 'a', 0, G_OPTION_ARG_FILENAME, &arch,
        "Write the model's architecture (topology JSON) to ARCH.json in the "
        "short form: one device template, and a section of their own only "
        "for the views that differ",
        "ARCH.json" },
    { NULL }
  };
  g_autoptr (DdnnModel) model = NULL;
  g_auto (GStrv) names = NULL;
  GError *error = NULL;
  int status;

  status = ddnn_cli_parse_options ("export",
      "MODEL (--sections NAMES --out FILE | --arch ARCH.json)",
      "Write a model file that holds only some sections, e.g. the device "
      "section of one camera.  The model id is kept, so tiers still check "
      "that they run parts of one model.  Or write the model's architecture "
      "in the short form, to train again or edit: `ddnn train --arch` on it "
      "builds the same network, and stores the same topology.",
      NULL, entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (argc != 2 || (!arch && (!sections || !out)) ||
      (arch && (sections || out))) {
    g_printerr ("ddnn export: needs MODEL and either --sections and --out, "
                "or --arch\n");
    goto out;
  }
  status = 1;
  if (!(model = ddnn_model_load (argv[1], &error))) {
    ddnn_cli_fail (error);
    goto out;
  }
  if (arch) {
    g_autofree gchar *text = ddnn_topology_shorten (
        ddnn_model_get_topology (model), &error);
    g_autofree gchar *line = NULL;

    if (!text) {
      ddnn_cli_fail (error);
      goto out;
    }
    line = g_strconcat (text, "\n", NULL);
    if (!g_file_set_contents (arch, line, -1, &error)) {
      ddnn_cli_fail (error);
      goto out;
    }
    g_print ("wrote %s: the architecture of model %.16s (%zu bytes; the "
             "model stores %zu)\n",
        arch, ddnn_model_get_id (model), strlen (line),
        strlen (ddnn_model_get_topology (model)));
    status = 0;
    goto out;
  }
  names = g_strsplit (sections, ",", -1);
  if (!ddnn_model_save_sections (
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
  g_free (arch);
  return status;
}
