/* Runs a fuzz target over the files named on the command line, so that the
 * seed corpus and any crash found are checked by every build, with or
 * without libFuzzer.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
main (int argc, char **argv)
{
  int i, ran = 0;

  for (i = 1; i < argc; i++) {
    GDir *dir = g_dir_open (argv[i], 0, NULL);
    const gchar *name;

    if (!dir) {
      gchar *contents;
      gsize length;

      if (!g_file_get_contents (argv[i], &contents, &length, NULL)) {
        fprintf (stderr, "cannot read %s\n", argv[i]);
        return 1;
      }
      LLVMFuzzerTestOneInput ((const guint8 *) contents, length);
      g_free (contents);
      ran++;
      continue;
    }
    while ((name = g_dir_read_name (dir))) {
      gchar *path = g_build_filename (argv[i], name, NULL);
      gchar *contents;
      gsize length;

      if (g_file_get_contents (path, &contents, &length, NULL)) {
        LLVMFuzzerTestOneInput ((const guint8 *) contents, length);
        g_free (contents);
        ran++;
      }
      g_free (path);
    }
    g_dir_close (dir);
  }
  printf ("replayed %d inputs\n", ran);
  return ran > 0 ? 0 : 1;
}
