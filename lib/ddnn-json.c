/* libddnn: bounded readers of JSON fields for the topology parser.
 * SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ddnn-model-private.h"
#include "ddnn-safetensors.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

gboolean
ddnn_json_check_keys (JsonObject *obj, const gchar *path,
    const gchar *const *allowed, GError **error)
{
  JsonObjectIter iter;
  const gchar *key;
  JsonNode *node;

  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &key, &node)) {
    if (!g_strv_contains (allowed, key)) {
      g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
          "%s: unknown field '%s'", path, key);
      return FALSE;
    }
  }
  return TRUE;
}

/* Sets the error for a required field that is absent; returns FALSE. */
static gboolean
missing_field (const gchar *path, const gchar *key, GError **error)
{
  g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY, "%s: missing field '%s'",
      path, key);
  return FALSE;
}

gboolean
ddnn_json_get_uint (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean required, guint fallback, guint lo, guint hi, guint *value,
    GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  gint64 v;

  if (!node) {
    *value = fallback;
    return !required || missing_field (path, key, error);
  }
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64 ||
      (v = json_node_get_int (node)) < lo || v > hi) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be an integer from %u to %u", path, key, lo, hi);
    return FALSE;
  }
  *value = (guint) v;
  return TRUE;
}

gboolean
ddnn_json_get_number (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean required, double fallback, double lo, double hi, double *value,
    GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);
  GType type;
  double v;

  if (!node) {
    *value = fallback;
    return !required || missing_field (path, key, error);
  }
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : 0;
  if (type == G_TYPE_INT64)
    v = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    v = json_node_get_double (node);
  else
    v = NAN;
  if (!(v >= lo && v <= hi)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be a number from %g to %g", path, key, lo, hi);
    return FALSE;
  }
  *value = v;
  return TRUE;
}

gboolean
ddnn_json_get_bool (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean fallback, gboolean *value, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (!node) {
    *value = fallback;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be true or false", path, key);
    return FALSE;
  }
  *value = json_node_get_boolean (node);
  return TRUE;
}

gboolean
ddnn_json_get_string (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean required, const gchar **value, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  *value = NULL;
  if (!node && !required)
    return TRUE;
  if (!node || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be a string", path, key);
    return FALSE;
  }
  *value = json_node_get_string (node);
  return TRUE;
}

gboolean
ddnn_json_get_object (JsonObject *obj, const gchar *path, const gchar *key,
    gboolean required, JsonObject **value, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  *value = NULL;
  if (!node && !required)
    return TRUE;
  if (!node || !JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be an object", path, key);
    return FALSE;
  }
  *value = json_node_get_object (node);
  return TRUE;
}

gboolean
ddnn_json_get_array (JsonObject *obj, const gchar *path, const gchar *key,
    JsonArray **value, GError **error)
{
  JsonNode *node = json_object_get_member (obj, key);

  *value = NULL;
  if (!node || !JSON_NODE_HOLDS_ARRAY (node)) {
    g_set_error (error, DDNN_ERROR, DDNN_ERROR_TOPOLOGY,
        "%s: '%s' must be an array", path, key);
    return FALSE;
  }
  *value = json_node_get_array (node);
  return TRUE;
}
