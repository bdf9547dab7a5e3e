/* ddnn init: an untrained model file from a topology.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

int
cmd_init (int argc, char **argv)
{
  gchar *arch = NULL, *out = NULL;
  gint seed = 1;
  GOptionEntry entries[] = { { "arch", 'a', 0, G_OPTION_ARG_FILENAME, &arch,
                                 "Topology JSON (see models/README.md)",
                                 "ARCH.json" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Model file to write",
        "MODEL" },
    { "seed", 's', 0, G_OPTION_ARG_INT, &seed,
        "Seed of the random weights (default 1)", "S" },
    { NULL } };
  g_autoptr (DdnnModel) model = NULL;
  g_autofree gchar *topology = NULL;
  GError *error = NULL;
  int status;

  status = ddnn_cli_parse_options ("init", "--arch ARCH.json --out MODEL",
      "Write an untrained model: the topology of ARCH.json with seeded "
      "random weights (Glorot-uniform float weights, random signs for "
      "binary ones, identity batch norm).",
      NULL, entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!arch || !out || argc != 1) {
    g_printerr ("ddnn init: needs --arch and --out\n");
    goto out;
  }
  status = 1;
  if (!g_file_get_contents (arch, &topology, NULL, &error) ||
      !(model = ddnn_model_new_from_topology (topology, seed, &error))) {
    g_prefix_error (&error, "%s: ", arch);
    ddnn_cli_fail (error);
    goto out;
  }
  if (!ddnn_model_save (model, out, &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  g_print ("wrote %s: %s, untrained (seed %d), id %.16s\n", out,
      ddnn_model_get_name (model), seed, ddnn_model_get_id (model));
  status = 0;
out:
  g_free (arch);
  g_free (out);
  return status;
}
