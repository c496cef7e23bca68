/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Typed reads of untrusted JSON that never trip json-glib's preconditions. */
#include "util/ic-util.h"
#include <iommuctl/error.h>

/* The member's node, NULL when absent or null. */
static JsonNode *
present_member(JsonObject *o, const char *key)
{
  JsonNode *n = o ? json_object_get_member(o, key) : NULL;
  return n == NULL || JSON_NODE_HOLDS_NULL(n) ? NULL : n;
}

static gboolean
wrong_type(const char *where, const char *key, const char *type, GError **error)
{
  g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s%s%s must be %s", where ? where : "", where ? "." : "", key, type);
  return FALSE;
}

static gboolean
holds_value_of(JsonNode *n, GType type)
{
  return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type;
}

gboolean
ic_json_get_string(JsonObject *o, const char *key, const char *where, const char **out, GError **error)
{
  JsonNode *n = present_member(o, key);
  if (n == NULL)
    return TRUE;
  if (!holds_value_of(n, G_TYPE_STRING))
    return wrong_type(where, key, "a string", error);
  *out = json_node_get_string(n);
  return TRUE;
}

gboolean
ic_json_get_int(JsonObject *o, const char *key, const char *where, gint64 *out, GError **error)
{
  JsonNode *n = present_member(o, key);
  if (n == NULL)
    return TRUE;
  if (!holds_value_of(n, G_TYPE_INT64))
    return wrong_type(where, key, "an integer", error);
  *out = json_node_get_int(n);
  return TRUE;
}

gboolean
ic_json_get_tristate(JsonObject *o, const char *key, const char *where, int *out, GError **error)
{
  JsonNode *n = present_member(o, key);
  if (n == NULL)
    return TRUE;
  if (!holds_value_of(n, G_TYPE_BOOLEAN))
    return wrong_type(where, key, "true, false or null", error);
  *out = json_node_get_boolean(n) ? 1 : 0;
  return TRUE;
}

gboolean
ic_json_get_object(JsonObject *o, const char *key, const char *where, JsonObject **out, GError **error)
{
  JsonNode *n = present_member(o, key);
  if (n == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT(n))
    return wrong_type(where, key, "an object", error);
  *out = json_node_get_object(n);
  return TRUE;
}

gboolean
ic_json_get_array(JsonObject *o, const char *key, const char *where, JsonArray **out, GError **error)
{
  JsonNode *n = present_member(o, key);
  if (n == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY(n))
    return wrong_type(where, key, "an array", error);
  *out = json_node_get_array(n);
  return TRUE;
}

const char *
ic_json_array_string(JsonArray *a, guint i)
{
  JsonNode *n = json_array_get_element(a, i);
  return n != NULL && holds_value_of(n, G_TYPE_STRING) ? json_node_get_string(n) : NULL;
}

JsonObject *
ic_json_node_object(JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT(node) ? json_node_get_object(node) : NULL;
}
