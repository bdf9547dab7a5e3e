/* ddnn build data sets, train, evaluate and inspect DDNN models: the
 * command table and main(); each command lives in its own file.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

#include <locale.h>

typedef struct
{
  const gchar *name;
  const gchar *summary;
  int (*run) (int argc, char **argv);
} Command;

static const Command commands[] = {
  { "dataset", "build a multi-view data set (FMV-6)", cmd_dataset },
  { "inspect", "print a model's topology, sizes and costs", cmd_inspect },
  { "run", "run a model's sections on sample images", cmd_run },
  { "train", "train every exit of a model jointly", cmd_train },
  { "init", "write an untrained model from a topology", cmd_init },
  { "arch", "write an architecture for your cameras from a preset", cmd_arch },
  { "eval", "evaluate a model: accuracy by exit, local exits, bytes",
      cmd_eval },
  { "export", "write a model file with only some sections", cmd_export },
};

static void
usage (FILE *out)
{
  guint i;

  fprintf (out,
      "Usage: ddnn COMMAND [OPTION...]\n\n"
      "Build data sets, train, evaluate and inspect distributed deep neural "
      "network models.\n\nCommands:\n");
  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-9s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\n'ddnn COMMAND --help' explains a command.\n");
}

int
main (int argc, char **argv)
{
  guint i;

  setlocale (LC_ALL, "");
  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0) {
    usage (stdout);
    return 0;
  }
  if (strcmp (argv[1], "--version") == 0) {
    g_print ("ddnn %s\n", PACKAGE_VERSION);
    return 0;
  }
  for (i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  g_printerr ("ddnn: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return 2;
}
