/* libddnn: the device template of a topology, expanded and found.
 *
 * An architecture may give its device section once, as a template:
 *
 *   "device": { "body": [ ... ], "exit": [ ... ] },
 *   "sections": [ { "name": "cloud", ... } ]
 *
 * which stands for one section per view, "device0", "device1" ..., each
 * { "name", "tier": "device", "view", "body", "exit" }.  A view that must
 * differ keeps its own device section in "sections"; the template fills the
 * others.  Expanding gives the long form that model files store, member by
 * member in the order a long-form architecture has them, so that the same
 * network written either way gives the same model file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <string.h>

static JsonObject *
device_section (JsonObject *template, guint view)
{
  JsonObject *s = json_object_new ();
  g_autofree gchar *name = g_strdup_printf ("device%u", view);

  json_object_set_string_member (s, "name", name);
  json_object_set_string_member (s, "tier", "device");
  json_object_set_int_member (s, "view", view);
  json_object_set_member (
      s, "body", json_node_copy (json_object_get_member (template, "body")));
  json_object_set_member (
      s, "exit", json_node_copy (json_object_get_member (template, "exit")));
  return s;
}

/* The explicit device section of @view in @sections, or NULL. */
static JsonNode *
explicit_device (JsonArray *sections, guint view)
{
  guint i;

  for (i = 0; i < json_array_get_length (sections); i++) {
    JsonNode *node = json_array_get_element (sections, i);
    JsonObject *s;
    JsonNode *v;

    if (!JSON_NODE_HOLDS_OBJECT (node))
      continue;
    s = json_node_get_object (node);
    v = json_object_get_member (s, "view");
    if (g_strcmp0 (json_object_get_string_member_with_default (s, "tier", ""),
            "device") == 0 &&
        v && JSON_NODE_HOLDS_VALUE (v) &&
        json_node_get_value_type (v) == G_TYPE_INT64 &&
        json_node_get_int (v) == (gint64) view)
      return node;
  }
  return NULL;
}

static gboolean
check_template (JsonObject *root, GError **error)
{
  JsonNode *node = json_object_get_member (root, "device");
  JsonObject *t;
  GList *members, *l;
  gboolean ok = TRUE;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: 'device' (the template of every view's device section) "
        "must be an object");
    return FALSE;
  }
  t = json_node_get_object (node);
  members = json_object_get_members (t);
  for (l = members; l && ok; l = l->next)
    if (strcmp (l->data, "body") != 0 && strcmp (l->data, "exit") != 0) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "device: unknown field '%s' (a template has a body and an exit)",
          (const gchar *) l->data);
      ok = FALSE;
    }
  g_list_free (members);
  if (ok &&
      (!json_object_has_member (t, "body") ||
          !json_object_has_member (t, "exit"))) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "device: a template needs a body and an exit");
    ok = FALSE;
  }
  if (ok &&
      (!json_object_has_member (root, "views") ||
          json_object_get_int_member_with_default (root, "views", 0) < 1 ||
          json_object_get_int_member_with_default (root, "views", 0) >
              DDNN_MAX_VIEWS)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: a device template needs 'views' from 1 to %d",
        DDNN_MAX_VIEWS);
    ok = FALSE;
  }
  if (ok &&
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "sections"))) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology: 'sections' must be an array (the edge and cloud "
        "sections, and any view's own device section)");
    ok = FALSE;
  }
  return ok;
}

gboolean
ddnn_topology_expand (const gchar *topology, gchar **expanded, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (JsonGenerator) gen = NULL;
  g_autoptr (GError) json_error = NULL;
  JsonObject *root, *out, *template;
  JsonArray *sections, *all;
  GList *members, *l;
  guint views, v, i;

  *expanded = NULL;
  if (!ddnn_json_check_depth (
          topology, strlen (topology), DDNN_JSON_MAX_DEPTH, error)) {
    g_prefix_error (error, "topology: ");
    return FALSE;
  }
  if (!json_parser_load_from_data (parser, topology, -1, &json_error)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "topology is not valid JSON: %s", json_error->message);
    return FALSE;
  }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return TRUE; /* the parser says what is wrong */
  root = json_node_get_object (json_parser_get_root (parser));
  if (!json_object_has_member (root, "device"))
    return TRUE;
  if (!check_template (root, error))
    return FALSE;
  template = json_object_get_object_member (root, "device");
  sections = json_object_get_array_member (root, "sections");
  views = json_object_get_int_member (root, "views");

  /* the device sections first, in view order, then the rest as given */
  all = json_array_new ();
  for (v = 0; v < views; v++) {
    JsonNode *own = explicit_device (sections, v);

    if (own)
      json_array_add_element (all, json_node_copy (own));
    else
      json_array_add_object_element (all, device_section (template, v));
  }
  for (i = 0; i < json_array_get_length (sections); i++) {
    JsonNode *node = json_array_get_element (sections, i);

    if (JSON_NODE_HOLDS_OBJECT (node) &&
        g_strcmp0 (json_object_get_string_member_with_default (
                       json_node_get_object (node), "tier", ""),
            "device") == 0) {
      JsonNode *view = json_object_get_member (
          json_node_get_object (node), "view");

      /* a device section the template did not place is left for the
       * parser to refuse, with its own message */
      if (view && JSON_NODE_HOLDS_VALUE (view) &&
          json_node_get_value_type (view) == G_TYPE_INT64 &&
          json_node_get_int (view) >= 0 &&
          json_node_get_int (view) < (gint64) views &&
          explicit_device (sections, json_node_get_int (view)) == node)
        continue;
    }
    json_array_add_element (all, json_node_copy (node));
  }

  /* the members in their order, the template's place taken by nothing and
   * "sections" by the whole list */
  out = json_object_new ();
  members = json_object_get_members (root);
  for (l = members; l; l = l->next) {
    const gchar *name = l->data;

    if (strcmp (name, "device") == 0)
      continue;
    if (strcmp (name, "sections") == 0)
      json_object_set_array_member (out, name, json_array_ref (all));
    else
      json_object_set_member (
          out, name, json_node_copy (json_object_get_member (root, name)));
  }
  g_list_free (members);
  json_array_unref (all);

  gen = json_generator_new ();
  {
    g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), out);

    json_generator_set_root (gen, node);
  }
  json_object_unref (out);
  *expanded = json_generator_to_data (gen, NULL);
  return TRUE;
}

/* Whether device section @a and the template @t have equal body and exit. */
static gboolean
same_layers (JsonObject *a, JsonObject *t)
{
  return json_node_equal (json_object_get_member (a, "body"),
             json_object_get_member (t, "body")) &&
      json_node_equal (json_object_get_member (a, "exit"),
          json_object_get_member (t, "exit"));
}

gchar *
ddnn_topology_shorten (const gchar *topology, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autofree gchar *expanded = NULL;
  JsonObject *root, *out, *template = NULL;
  JsonArray *sections, *rest;
  GList *members, *l;
  JsonNode *best = NULL;
  guint i, best_count = 0;
  gchar *text;

  if (!ddnn_topology_expand (topology, &expanded, error))
    return NULL;
  if (!json_parser_load_from_data (
          parser, expanded ? expanded : topology, -1, error))
    return NULL;
  root = json_node_get_object (json_parser_get_root (parser));
  sections = json_object_get_array_member (root, "sections");

  /* the template is the device section most views share */
  for (i = 0; i < json_array_get_length (sections); i++) {
    JsonObject *s = json_array_get_object_element (sections, i);
    guint j, n = 0;

    if (g_strcmp0 (json_object_get_string_member_with_default (s, "tier", ""),
            "device") != 0)
      continue;
    for (j = 0; j < json_array_get_length (sections); j++) {
      JsonObject *o = json_array_get_object_element (sections, j);

      n += g_strcmp0 (
               json_object_get_string_member_with_default (o, "tier", ""),
               "device") == 0 &&
          same_layers (o, s);
    }
    if (n > best_count) {
      best_count = n;
      best = json_array_get_element (sections, i);
    }
  }
  if (best_count < 2) {
    /* nothing to share: the long form it is */
    json_generator_set_pretty (gen, TRUE);
    json_generator_set_root (gen, json_parser_get_root (parser));
    return json_generator_to_data (gen, NULL);
  }

  template = json_object_new ();
  json_object_set_member (template, "body",
      json_node_copy (
          json_object_get_member (json_node_get_object (best), "body")));
  json_object_set_member (template, "exit",
      json_node_copy (
          json_object_get_member (json_node_get_object (best), "exit")));
  rest = json_array_new ();
  for (i = 0; i < json_array_get_length (sections); i++) {
    JsonObject *s = json_array_get_object_element (sections, i);
    gboolean device = g_strcmp0 (json_object_get_string_member_with_default (
                                     s, "tier", ""),
                          "device") == 0;
    g_autofree gchar *name = device
        ? g_strdup_printf ("device%" G_GINT64_FORMAT,
              json_object_get_int_member_with_default (s, "view", -1))
        : NULL;

    /* a device the template stands for exactly (its name too) goes */
    if (device && same_layers (s, template) &&
        g_strcmp0 (json_object_get_string_member_with_default (s, "name", ""),
            name) == 0 &&
        json_object_get_size (s) == 5)
      continue;
    json_array_add_element (
        rest, json_node_copy (json_array_get_element (sections, i)));
  }

  out = json_object_new ();
  members = json_object_get_members (root);
  for (l = members; l; l = l->next) {
    const gchar *name = l->data;

    if (strcmp (name, "sections") == 0) {
      json_object_set_object_member (out, "device", template);
      json_object_set_array_member (out, name, rest);
    } else {
      json_object_set_member (
          out, name, json_node_copy (json_object_get_member (root, name)));
    }
  }
  g_list_free (members);
  {
    g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), out);

    json_generator_set_pretty (gen, TRUE);
    json_generator_set_root (gen, node);
  }
  json_object_unref (out);
  text = json_generator_to_data (gen, NULL);
  return text;
}
