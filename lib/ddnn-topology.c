/* libddnn: the topology JSON parsed into a model's sections and layers.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

gboolean
ddnn_shape_fits (guint c, guint h, guint w, const gchar *path, GError **error)
{
  if ((gsize) c * h * w > MAX_ACTIVATION) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: output of %ux%ux%u values is over the limit of %" G_GSIZE_FORMAT,
        path, c, h, w, MAX_ACTIVATION);
    return FALSE;
  }
  return TRUE;
}

static gboolean
parse_layers (JsonObject *obj, const gchar *section_path,
    const gchar *section_name, const gchar *key, guint *c, guint *h, guint *w,
    gboolean *flat, gboolean *bits, GPtrArray *layers, GError **error)
{
  g_autofree gchar *array_path = g_strdup_printf ("%s.%s", section_path, key);
  JsonArray *array;
  guint i, n;

  if (!ddnn_json_get_array (obj, section_path, key, &array, error))
    return FALSE;
  n = json_array_get_length (array);
  if (n > MAX_LAYERS) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: %u layers, at most %d are allowed", array_path, n, MAX_LAYERS);
    return FALSE;
  }
  for (i = 0; i < n; i++) {
    g_autofree gchar *path = g_strdup_printf ("%s[%u]", array_path, i);
    g_autofree gchar *prefix = g_strdup_printf (
        "%s.%s.%u", section_name, key, i);
    DdnnLayer *layer = ddnn_layer_parse (json_array_get_element (array, i),
        path, prefix, *c, *h, *w, *flat, error);

    if (!layer)
      return FALSE;
    g_ptr_array_add (layers, layer);
    *c = layer->out_c;
    *h = layer->out_h;
    *w = layer->out_w;
    if (layer->type == DDNN_LAYER_LINEAR)
      *flat = TRUE;
    *bits = layer->type == DDNN_LAYER_SIGN;
  }
  return TRUE;
}

static gboolean
parse_input (JsonObject *root, DdnnInputSpec *input, GError **error)
{
  static const gchar *const keys[] = { "channels", "height", "width", "scale",
    "mean", "std", NULL };
  JsonObject *obj;
  double scale;
  guint c;

  if (!ddnn_json_get_object (root, "topology", "input", TRUE, &obj, error) ||
      !ddnn_json_check_keys (obj, "input", keys, error) ||
      !ddnn_json_get_uint (
          obj, "input", "channels", TRUE, 0, 1, 4, &input->channels, error) ||
      !ddnn_json_get_uint (obj, "input", "height", TRUE, 0, 1, MAX_INPUT_SIDE,
          &input->height, error) ||
      !ddnn_json_get_uint (obj, "input", "width", TRUE, 0, 1, MAX_INPUT_SIDE,
          &input->width, error) ||
      !ddnn_json_get_number (
          obj, "input", "scale", FALSE, 1.0 / 255.0, 1e-9, 1e9, &scale, error))
    return FALSE;
  input->scale = (float) scale;
  for (c = 0; c < 4; c++) {
    input->mean[c] = 0.0f;
    input->std[c] = 1.0f;
  }
  for (c = 0; c < 2; c++) {
    const gchar *key = c == 0 ? "mean" : "std";
    JsonNode *node = json_object_get_member (obj, key);
    JsonArray *array;
    guint i;

    if (!node)
      continue;
    if (!JSON_NODE_HOLDS_ARRAY (node) ||
        json_array_get_length (array = json_node_get_array (node)) !=
            input->channels) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "input: '%s' must be an array of one number per channel", key);
      return FALSE;
    }
    for (i = 0; i < input->channels; i++) {
      JsonNode *e = json_array_get_element (array, i);
      GType type = JSON_NODE_HOLDS_VALUE (e) ? json_node_get_value_type (e) : 0;
      double v = type == G_TYPE_INT64 ? (double) json_node_get_int (e)
          : type == G_TYPE_DOUBLE     ? json_node_get_double (e)
                                      : NAN;

      if (!isfinite (v) || fabs (v) > 1e6 || (c == 1 && v <= 1e-9)) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "input: '%s'[%u] is not a usable number", key, i);
        return FALSE;
      }
      if (c == 0)
        input->mean[i] = (float) v;
      else
        input->std[i] = (float) v;
    }
  }
  return TRUE;
}

static gboolean
parse_fusion (JsonObject *root, const gchar *key, DdnnFusion fallback,
    DdnnFusion *mode, GError **error)
{
  const gchar *name;

  if (!ddnn_json_get_string (root, "topology", key, FALSE, &name, error))
    return FALSE;
  if (!name) {
    *mode = fallback;
    return TRUE;
  }
  if (!ddnn_fusion_from_name (name, mode)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: '%s' must be max, avg or concat, not '%s'", key, name);
    return FALSE;
  }
  return TRUE;
}

DdnnModel *
ddnn_model_parse_topology (const gchar *topology, GError **error)
{
  static const gchar *const keys[] = { "name", "description", "input",
    "classes", "views", "local_fusion", "feature_fusion", "thresholds",
    "sections", "training", "wire", NULL };
  static const gchar *const section_keys[] = { "name", "tier", "view", "body",
    "exit", NULL };
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (DdnnModel) model = NULL;
  g_autoptr (GError) json_error = NULL;
  JsonObject *root, *thresholds;
  JsonArray *classes, *sections;
  guint i, n_sections, n_devices = 0;
  gboolean have_edge = FALSE, have_cloud = FALSE;
  guint feat_c = 0, feat_h = 0, feat_w = 0;
  gboolean feat_flat = FALSE, feat_bits = FALSE;
  g_autofree gchar *expanded = NULL;
  const gchar *text;

  /* a device template stands for its long form */
  if (!ddnn_topology_expand (topology, &expanded, error))
    return NULL;
  text = expanded ? expanded : topology;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, &json_error)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology is not valid JSON: %s", json_error->message);
    return NULL;
  }
  if (!json_parser_get_root (parser) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology is not a JSON object");
    return NULL;
  }
  root = json_node_get_object (json_parser_get_root (parser));

  model = g_new0 (DdnnModel, 1);
  model->ref_count = 1;
  model->topology = g_strdup (topology);
  model->class_names = g_ptr_array_new_with_free_func (g_free);
  model->sections = g_ptr_array_new_with_free_func (ddnn_section_free);
  for (i = 0; i < G_N_ELEMENTS (model->thresholds); i++)
    model->thresholds[i] = -1.0;

  if (!ddnn_json_check_keys (root, "topology", keys, error))
    return NULL;
  {
    const gchar *name;

    if (!ddnn_json_get_string (root, "topology", "name", FALSE, &name, error))
      return NULL;
    model->name = g_strdup (name ? name : "unnamed");
  }
  if (!parse_input (root, &model->input, error) ||
      !ddnn_json_get_uint (root, "topology", "views", TRUE, 0, 1,
          DDNN_MAX_VIEWS, &model->n_views, error) ||
      !parse_fusion (
          root, "local_fusion", DDNN_FUSION_MAX, &model->local_fusion, error) ||
      !parse_fusion (root, "feature_fusion", DDNN_FUSION_CONCAT,
          &model->feature_fusion, error) ||
      !ddnn_json_get_array (root, "topology", "classes", &classes, error))
    return NULL;

  if (json_array_get_length (classes) < 2 ||
      json_array_get_length (classes) > DDNN_MAX_CLASSES) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: 'classes' must name from 2 to %d classes", DDNN_MAX_CLASSES);
    return NULL;
  }
  for (i = 0; i < json_array_get_length (classes); i++) {
    JsonNode *e = json_array_get_element (classes, i);

    if (!JSON_NODE_HOLDS_VALUE (e) ||
        json_node_get_value_type (e) != G_TYPE_STRING) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "topology: classes[%u] is not a string", i);
      return NULL;
    }
    g_ptr_array_add (model->class_names, g_strdup (json_node_get_string (e)));
  }

  if (!ddnn_json_get_object (
          root, "topology", "thresholds", FALSE, &thresholds, error))
    return NULL;
  if (thresholds) {
    static const gchar *const threshold_keys[] = { "local", "edge", NULL };
    double v;

    if (!ddnn_json_check_keys (
            thresholds, "thresholds", threshold_keys, error) ||
        !ddnn_json_get_number (thresholds, "thresholds", "local", FALSE, -1.0,
            -1.0, 1.0, &v, error))
      return NULL;
    model->thresholds[DDNN_TIER_DEVICE] = v;
    if (!ddnn_json_get_number (thresholds, "thresholds", "edge", FALSE, -1.0,
            -1.0, 1.0, &v, error))
      return NULL;
    model->thresholds[DDNN_TIER_EDGE] = v;
  }

  model->score_format = DDNN_SCORES_F32;
  {
    static const gchar *const wire_keys[] = { "scores", NULL };
    JsonObject *wire;
    const gchar *format;

    if (!ddnn_json_get_object (root, "topology", "wire", FALSE, &wire, error))
      return NULL;
    if (wire) {
      if (!ddnn_json_check_keys (wire, "wire", wire_keys, error) ||
          !ddnn_json_get_string (wire, "wire", "scores", FALSE, &format, error))
        return NULL;
      if (!format || strcmp (format, "f32") == 0)
        model->score_format = DDNN_SCORES_F32;
      else if (strcmp (format, "int8") == 0)
        model->score_format = DDNN_SCORES_INT8;
      else {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "wire: 'scores' must be f32 or int8, not '%s'", format);
        return NULL;
      }
    }
  }

  if (!ddnn_json_get_array (root, "topology", "sections", &sections, error))
    return NULL;
  n_sections = json_array_get_length (sections);
  for (i = 0; i < n_sections; i++) {
    g_autofree gchar *path = g_strdup_printf ("sections[%u]", i);
    JsonNode *node = json_array_get_element (sections, i);
    JsonObject *obj;
    DdnnSection *s;
    const gchar *name, *tier;
    guint c, h, w, t, view;
    gboolean flat = FALSE, bits = FALSE;

    if (!JSON_NODE_HOLDS_OBJECT (node)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: a section must be an object", path);
      return NULL;
    }
    obj = json_node_get_object (node);
    if (!ddnn_json_check_keys (obj, path, section_keys, error) ||
        !ddnn_json_get_string (obj, path, "name", TRUE, &name, error) ||
        !ddnn_json_get_string (obj, path, "tier", TRUE, &tier, error))
      return NULL;
    if (!g_regex_match_simple ("^[A-Za-z][A-Za-z0-9_-]{0,31}$", name, 0, 0)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: section name '%s' must be a letter then up to 31 letters, "
          "digits, '_' or '-'",
          path, name);
      return NULL;
    }
    if (ddnn_model_find_section (model, name)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: a second section named '%s'", path, name);
      return NULL;
    }
    for (t = 0; t < G_N_ELEMENTS (ddnn_tier_names); t++)
      if (strcmp (tier, ddnn_tier_names[t]) == 0)
        break;
    if (t == G_N_ELEMENTS (ddnn_tier_names)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: tier must be device, edge or cloud, not '%s'", path, tier);
      return NULL;
    }

    /* Order: the devices, in view order, then edge, then cloud. */
    if ((t == DDNN_TIER_DEVICE && (n_devices != i)) ||
        (t == DDNN_TIER_EDGE &&
            (have_edge || have_cloud || n_devices != model->n_views)) ||
        (t == DDNN_TIER_CLOUD && (have_cloud || n_devices != model->n_views))) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: sections must be one device per view in view order, then at "
          "most one edge, then one cloud",
          path);
      return NULL;
    }
    view = 0;
    if (t == DDNN_TIER_DEVICE) {
      if (!ddnn_json_get_uint (
              obj, path, "view", TRUE, 0, 0, model->n_views - 1, &view, error))
        return NULL;
      if (view != n_devices) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: device sections must come in view order; expected view %u",
            path, n_devices);
        return NULL;
      }
    } else if (json_object_has_member (obj, "view")) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: only device sections have a view", path);
      return NULL;
    }

    s = g_new0 (DdnnSection, 1);
    g_ptr_array_add (model->sections, s);
    s->model = model;
    s->name = g_strdup (name);
    s->tier = t;
    s->view = t == DDNN_TIER_DEVICE ? (gint) view : -1;
    s->present = TRUE;
    s->body = g_ptr_array_new_with_free_func (ddnn_layer_free);
    s->exit = g_ptr_array_new_with_free_func (ddnn_layer_free);

    if (t == DDNN_TIER_DEVICE) {
      c = model->input.channels;
      h = model->input.height;
      w = model->input.width;
    } else {
      c = feat_c;
      h = feat_h;
      w = feat_w;
      flat = feat_flat;
      /* An edge, or a cloud without an edge, sees every view's features. */
      if (!have_edge && model->feature_fusion == DDNN_FUSION_CONCAT)
        c *= model->n_views;
    }
    if (!ddnn_shape_fits (c, h, w, path, error))
      return NULL;
    s->in_c = c;
    s->in_h = h;
    s->in_w = w;
    if (!parse_layers (
            obj, path, name, "body", &c, &h, &w, &flat, &bits, s->body, error))
      return NULL;
    s->feat_c = c;
    s->feat_h = h;
    s->feat_w = w;
    s->feat_flat = flat;
    s->feat_bits = bits;
    if (!parse_layers (
            obj, path, name, "exit", &c, &h, &w, &flat, &bits, s->exit, error))
      return NULL;
    if (c * h * w != model->class_names->len) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: the exit gives %u values but there are %u classes", path,
          c * h * w, model->class_names->len);
      return NULL;
    }

    if (t == DDNN_TIER_DEVICE) {
      if (n_devices > 0 &&
          (feat_c != s->feat_c || feat_h != s->feat_h || feat_w != s->feat_w ||
              feat_flat != s->feat_flat || feat_bits != s->feat_bits)) {
        g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
            "%s: every device section must give features of one shape", path);
        return NULL;
      }
      n_devices++;
    } else if (t == DDNN_TIER_EDGE) {
      have_edge = TRUE;
    } else {
      have_cloud = TRUE;
    }
    feat_c = s->feat_c;
    feat_h = s->feat_h;
    feat_w = s->feat_w;
    feat_flat = s->feat_flat;
    feat_bits = s->feat_bits;
    if (!ddnn_section_alloc_scratch (s, error))
      return NULL;
  }
  if (n_devices != model->n_views || !have_cloud) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: %u views need %u device sections and a cloud section; "
        "found %u device sections%s",
        model->n_views, model->n_views, n_devices,
        have_cloud ? "" : " and no cloud");
    return NULL;
  }
  return g_steal_pointer (&model);
}
