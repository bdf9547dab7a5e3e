/* ddnn arch: an architecture for your own data, from a preset.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

static const gchar *const presets[] = { "paper", "binary", "float", "edge",
  NULL };

static JsonArray *
repeat_first (JsonObject *input, const gchar *key, guint n, double fallback)
{
  JsonArray *out = json_array_new ();
  JsonArray *given = json_object_has_member (input, key)
      ? json_object_get_array_member (input, key)
      : NULL;
  double first = given && json_array_get_length (given) > 0
      ? json_array_get_double_element (given, 0)
      : fallback;
  guint i;

  for (i = 0; i < n; i++)
    json_array_add_double_element (out, first);
  return out;
}

/* The exit's last linear layer gives one score per class. */
static void
set_exit_classes (JsonObject *section, guint n_classes)
{
  JsonArray *exit = json_object_get_array_member (section, "exit");
  gint i;

  for (i = (gint) json_array_get_length (exit) - 1; i >= 0; i--) {
    JsonObject *layer = json_array_get_object_element (exit, i);

    if (g_strcmp0 (json_object_get_string_member (layer, "type"), "linear") ==
        0) {
      json_object_set_int_member (layer, "out", n_classes);
      return;
    }
  }
}

int
cmd_arch (int argc, char **argv)
{
  gchar *preset = NULL, *data_dir = NULL, *classes = NULL, *size = NULL;
  gchar *out = NULL, *name = NULL;
  gint views = 0, channels = 0;
  GOptionEntry entries[] = {
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset,
        "The network to start from: paper, binary, float or edge (the "
        "shipped models' architectures, see models/README.md)",
        "NAME" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
        "Take the views, the input size and channels and the class names "
        "from this data set folder (its train.safetensors)",
        "DIR" },
    { "views", 'v', 0, G_OPTION_ARG_INT, &views, "Number of cameras", "N" },
    { "classes", 'c', 0, G_OPTION_ARG_STRING, &classes,
        "Class names, comma-separated, in the order of the data set's labels",
        "A,B,..." },
    { "size", 's', 0, G_OPTION_ARG_STRING, &size, "Input size of a view",
        "WxH" },
    { "channels", 0, 0, G_OPTION_ARG_INT, &channels,
        "Input channels: 1 (grey) or 3 (RGB)", "C" },
    { "name", 'n', 0, G_OPTION_ARG_STRING, &name, "The model's name", "NAME" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Architecture file to write",
        "ARCH.json" },
    { NULL }
  };
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (DdnnDataset) data = NULL;
  g_autoptr (DdnnModel) model = NULL;
  g_autofree gchar *resource = NULL, *text = NULL;
  JsonObject *root, *input;
  guint width = 0, height = 0, i;
  GError *error = NULL;
  int status;

  status = ddnn_cli_parse_options ("arch",
      "--preset NAME [--data DIR] [--views N] [--classes A,B,...] "
      "[--size WxH] [--channels C] --out ARCH.json",
      "Write an architecture for your own cameras: a preset network with "
      "your number of cameras, input size and channels, and class names.  "
      "The layers adapt to the input size; the device section is one "
      "template for every camera.  Train it with ddnn train --arch.",
      "With --data, everything but the preset comes from the data set, so "
      "that the model's classes are the data set's, name for name.  Options "
      "given beside --data override it.",
      entries, &argc, &argv);
  if (status >= 0)
    goto out;
  status = 2;
  if (!preset || !out || argc != 1 || !g_strv_contains (presets, preset)) {
    g_printerr ("ddnn arch: needs --preset (paper, binary, float or edge) "
                "and --out\n");
    goto out;
  }
  if ((views && (views < 1 || views > DDNN_MAX_VIEWS)) ||
      (channels && channels != 1 && channels != 3) ||
      (size &&
          (sscanf (size, "%ux%u", &width, &height) != 2 || width < 4 ||
              height < 4 || width > 1024 || height > 1024))) {
    g_printerr ("ddnn arch: --views from 1 to %d, --channels 1 or 3, --size "
                "from 4x4 to 1024x1024\n",
        DDNN_MAX_VIEWS);
    goto out;
  }
  status = 1;
  if (data_dir) {
    g_autofree gchar *path = g_build_filename (
        data_dir, "train.safetensors", NULL);

    if (!(data = ddnn_dataset_open (path, &error))) {
      ddnn_cli_fail (error);
      goto out;
    }
  }

  resource = g_strdup_printf ("/org/ddnn/presets/%s.json", preset);
  bytes = g_resources_lookup_data (resource, 0, &error);
  if (!bytes ||
      !json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
          g_bytes_get_size (bytes), &error)) {
    ddnn_cli_fail (error);
    goto out;
  }
  root = json_node_get_object (json_parser_get_root (parser));
  input = json_object_get_object_member (root, "input");

  if (!views)
    views = data ? (gint) data->n_views
                 : (gint) json_object_get_int_member (root, "views");
  if (!channels)
    channels = data ? (gint) data->channels
                    : (gint) json_object_get_int_member (input, "channels");
  if (!size) {
    width = data ? data->width : json_object_get_int_member (input, "width");
    height = data ? data->height : json_object_get_int_member (input, "height");
  }
  json_object_set_string_member (
      root, "name", name ? name : (data_dir ? "my-cameras" : preset));
  json_object_set_string_member (root, "description",
      "Made by ddnn arch from a shipped network (the preset named in "
      "models/README.md), for these cameras, input and classes.");
  json_object_set_int_member (root, "views", views);
  json_object_set_int_member (input, "channels", channels);
  json_object_set_int_member (input, "width", width);
  json_object_set_int_member (input, "height", height);
  json_object_set_array_member (
      input, "mean", repeat_first (input, "mean", channels, 0.0));
  json_object_set_array_member (
      input, "std", repeat_first (input, "std", channels, 1.0));
  if (classes || data) {
    g_auto (GStrv) list = classes ? g_strsplit (classes, ",", -1)
                                  : g_strdupv (data->class_names);
    JsonArray *array = json_array_new ();
    JsonArray *sections = json_object_get_array_member (root, "sections");
    guint n_classes = g_strv_length (list);

    for (i = 0; i < n_classes; i++)
      json_array_add_string_element (array, g_strstrip (list[i]));
    json_object_set_array_member (root, "classes", array);
    /* every exit gives one score per class */
    set_exit_classes (
        json_object_get_object_member (root, "device"), n_classes);
    for (i = 0; i < json_array_get_length (sections); i++)
      set_exit_classes (json_array_get_object_element (sections, i), n_classes);
  }

  /* written, and checked: the layers must fit the input */
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, json_parser_get_root (parser));
  text = json_generator_to_data (gen, NULL);
  if (!(model = ddnn_model_new_from_topology (text, 1, &error))) {
    g_prefix_error (&error,
        "the %s preset does not fit %ux%ux%d input: ", preset, width, height,
        channels);
    ddnn_cli_fail (error);
    goto out;
  }
  {
    g_autofree gchar *line = g_strconcat (text, "\n", NULL);

    if (!g_file_set_contents (out, line, -1, &error)) {
      ddnn_cli_fail (error);
      goto out;
    }
  }
  g_print ("wrote %s: the %s preset for %d camera%s of %ux%u, %d channel%s, "
           "%u classes\n",
      out, preset, views, views == 1 ? "" : "s", width, height, channels,
      channels == 1 ? "" : "s", ddnn_model_get_n_classes (model));
  status = 0;
out:
  g_free (preset);
  g_free (data_dir);
  g_free (classes);
  g_free (size);
  g_free (out);
  g_free (name);
  return status;
}
