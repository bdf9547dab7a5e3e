/* ddnn inspect: a model's topology, sizes and costs, as text or JSON.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-cli.h"

static void
device_traffic (DdnnModel *model, gsize *score_bytes, gsize *feature_bytes,
    gsize *raw_bytes)
{
  DdnnSection *device = ddnn_model_get_device_section (model, 0);
  const DdnnInputSpec *in = ddnn_model_get_input (model);
  gsize shape[DDNN_TENSOR_MAX_DIMS];
  DdnnDtype dtype;
  guint n_dims;

  ddnn_section_get_features_spec (device, &dtype, &n_dims, shape);
  ddnn_tensor_bytes_for (dtype, n_dims, shape, NULL, feature_bytes, NULL);
  *score_bytes = ddnn_model_score_bytes (model);
  *raw_bytes = (gsize) in->channels * in->height * in->width;
}

static gchar *
features_string (DdnnSection *section)
{
  gsize shape[DDNN_TENSOR_MAX_DIMS];
  DdnnDtype dtype;
  guint n_dims, i;
  GString *s = g_string_new (NULL);

  ddnn_section_get_features_spec (section, &dtype, &n_dims, shape);
  for (i = 0; i < n_dims; i++)
    g_string_append_printf (s, "%s%" G_GSIZE_FORMAT, i ? "x" : "", shape[i]);
  g_string_append_printf (s, " %s", dtype == DDNN_DTYPE_BIT ? "1-bit" : "f32");
  return g_string_free (s, FALSE);
}

static void
inspect_json (DdnnModel *model)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  const DdnnInputSpec *in = ddnn_model_get_input (model);
  g_autofree gchar *text = NULL;
  gsize score_bytes, feature_bytes, raw_bytes;
  guint i;

  device_traffic (model, &score_bytes, &feature_bytes, &raw_bytes);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model_id");
  json_builder_add_string_value (b, ddnn_model_get_id (model));
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, ddnn_model_get_name (model));
  json_builder_set_member_name (b, "views");
  json_builder_add_int_value (b, ddnn_model_get_n_views (model));
  json_builder_set_member_name (b, "classes");
  json_builder_add_int_value (b, ddnn_model_get_n_classes (model));
  json_builder_set_member_name (b, "class_names");
  json_builder_begin_array (b);
  for (i = 0; i < ddnn_model_get_n_classes (model); i++)
    json_builder_add_string_value (b, ddnn_model_get_class_name (model, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "input");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "channels");
  json_builder_add_int_value (b, in->channels);
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, in->height);
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, in->width);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "local_fusion");
  json_builder_add_string_value (
      b, ddnn_fusion_name (ddnn_model_get_local_fusion (model)));
  json_builder_set_member_name (b, "feature_fusion");
  json_builder_add_string_value (
      b, ddnn_fusion_name (ddnn_model_get_feature_fusion (model)));
  json_builder_set_member_name (b, "local_threshold");
  json_builder_add_double_value (
      b, ddnn_model_get_threshold (model, DDNN_TIER_DEVICE));
  json_builder_set_member_name (b, "sections");
  json_builder_begin_array (b);
  for (i = 0; i < ddnn_model_get_n_sections (model); i++) {
    DdnnSection *s = ddnn_model_get_section (model, i);
    DdnnSectionCost cost;
    gsize shape[DDNN_TENSOR_MAX_DIMS], fbytes;
    DdnnDtype dtype;
    guint n_dims, d;

    ddnn_section_get_cost (s, &cost);
    ddnn_section_get_features_spec (s, &dtype, &n_dims, shape);
    ddnn_tensor_bytes_for (dtype, n_dims, shape, NULL, &fbytes, NULL);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, ddnn_section_get_name (s));
    json_builder_set_member_name (b, "tier");
    json_builder_add_string_value (
        b, ddnn_tier_name (ddnn_section_get_tier (s)));
    json_builder_set_member_name (b, "present");
    json_builder_add_boolean_value (b, ddnn_section_is_present (s));
    json_builder_set_member_name (b, "params");
    json_builder_add_int_value (b, cost.params);
    json_builder_set_member_name (b, "bytes");
    json_builder_add_int_value (b, cost.bytes);
    json_builder_set_member_name (b, "flops");
    json_builder_add_int_value (b, cost.flops);
    json_builder_set_member_name (b, "binary_ops");
    json_builder_add_int_value (b, cost.binary_ops);
    json_builder_set_member_name (b, "features");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "dtype");
    json_builder_add_string_value (b, ddnn_dtype_name (dtype));
    json_builder_set_member_name (b, "shape");
    json_builder_begin_array (b);
    for (d = 0; d < n_dims; d++)
      json_builder_add_int_value (b, shape[d]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "bytes");
    json_builder_add_int_value (b, fbytes);
    json_builder_end_object (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "device_bytes_per_sample");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "scores");
  json_builder_add_int_value (b, score_bytes);
  json_builder_set_member_name (b, "features");
  json_builder_add_int_value (b, feature_bytes);
  json_builder_set_member_name (b, "exits_locally");
  json_builder_add_int_value (b, score_bytes);
  json_builder_set_member_name (b, "goes_on");
  json_builder_add_int_value (b, score_bytes + feature_bytes);
  json_builder_set_member_name (b, "raw_offload");
  json_builder_add_int_value (b, raw_bytes);
  json_builder_end_object (b);
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
}

static void
inspect_text (DdnnModel *model, gboolean layers)
{
  const DdnnInputSpec *in = ddnn_model_get_input (model);
  gsize score_bytes, feature_bytes, raw_bytes;
  double threshold = ddnn_model_get_threshold (model, DDNN_TIER_DEVICE);
  guint i;

  device_traffic (model, &score_bytes, &feature_bytes, &raw_bytes);
  g_print ("model     %s\n", ddnn_model_get_name (model));
  g_print ("id        %s\n", ddnn_model_get_id (model));
  g_print ("input     %u channel%s, %ux%u; %u views; %u classes\n",
      in->channels, in->channels == 1 ? "" : "s", in->width, in->height,
      ddnn_model_get_n_views (model), ddnn_model_get_n_classes (model));
  g_print ("classes  ");
  for (i = 0; i < ddnn_model_get_n_classes (model); i++)
    g_print (" %s%s", ddnn_model_get_class_name (model, i),
        i + 1 < ddnn_model_get_n_classes (model) ? "," : "\n");
  g_print ("fusion    local scores by %s, features by %s\n",
      ddnn_fusion_name (ddnn_model_get_local_fusion (model)),
      ddnn_fusion_name (ddnn_model_get_feature_fusion (model)));
  if (threshold >= 0)
    g_print (
        "exit      local exit when normalized entropy < %.3g\n", threshold);
  g_print ("\n%-10s %-6s %10s %10s %12s %12s  %s\n", "section", "tier",
      "params", "bytes", "FLOPs", "of which 1b", "features");
  for (i = 0; i < ddnn_model_get_n_sections (model); i++) {
    DdnnSection *s = ddnn_model_get_section (model, i);
    g_autofree gchar *features = features_string (s);
    DdnnSectionCost cost;

    ddnn_section_get_cost (s, &cost);
    g_print ("%-10s %-6s %10" G_GUINT64_FORMAT " %10" G_GUINT64_FORMAT
             " %12" G_GUINT64_FORMAT " %12" G_GUINT64_FORMAT "  %s%s\n",
        ddnn_section_get_name (s), ddnn_tier_name (ddnn_section_get_tier (s)),
        cost.params, cost.bytes, cost.flops, cost.binary_ops, features,
        ddnn_section_is_present (s) ? "" : "  (not in this file)");
    if (layers) {
      g_autofree gchar *text = ddnn_section_describe (s);
      gchar **lines = g_strsplit (text, "\n", -1);
      guint l;

      for (l = 0; lines[l] && *lines[l]; l++)
        g_print ("    %s\n", lines[l]);
      g_strfreev (lines);
    }
  }
  g_print ("\nper device per sample: %" G_GSIZE_FORMAT " B of scores "
           "when the sample exits locally, %" G_GSIZE_FORMAT " B with its "
           "features when it goes on; raw offload of the view: %" G_GSIZE_FORMAT
           " B\n",
      score_bytes, score_bytes + feature_bytes, raw_bytes);
}

int
cmd_inspect (int argc, char **argv)
{
  gboolean json = FALSE, layers = FALSE;
  GOptionEntry entries[] = { { "json", 'j', 0, G_OPTION_ARG_NONE, &json,
                                 "Print one JSON object instead of tables",
                                 NULL },
    { "layers", 'l', 0, G_OPTION_ARG_NONE, &layers,
        "List each section's layers with their shapes", NULL },
    { NULL } };
  g_autoptr (DdnnModel) model = NULL;
  GError *error = NULL;
  int status;

  status = ddnn_cli_parse_options ("inspect", "MODEL",
      "Print a model's topology: "
      "per section its parameters, stored bytes (binary weights packed) and "
      "FLOPs per sample, and the bytes a device sends per sample.",
      "FLOPs count a multiply-add as 2; 'of which 1b' is the part done by "
      "XNOR-popcount on 1-bit values.",
      entries, &argc, &argv);
  if (status >= 0)
    return status;
  if (argc != 2) {
    g_printerr ("ddnn inspect: give one model file\n");
    return 2;
  }
  if (!(model = ddnn_model_load (argv[1], &error)))
    return ddnn_cli_fail (error);
  if (json)
    inspect_json (model);
  else
    inspect_text (model, layers);
  return 0;
}
