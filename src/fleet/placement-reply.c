/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placement's replies, read as untrusted JSON: a reply of the wrong shape is
 * an error naming the request it answered, never a GLib critical.  Pure
 * functions over bytes and trees, so fuzz-fleet can drive them. */
#include "fleet-private.h"

JsonNode *
ic_placement_parse_object(const char *data, gsize len, const char *what, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) local = NULL;
  /* through the depth pre-scan: a reply nested 100,000 deep would
   * overflow json-glib's recursive parser */
  if (len > G_MAXSSIZE || !ic_json_parser_load(parser, data, (gssize) len, what, &local)) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply is not JSON: %s", what,
                local ? local->message : "too large");
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply is not a JSON object", what);
    return NULL;
  }
  /* a reference, not a copy: a 10,000-provider listing is 7 MB of JSON */
  return json_node_ref(root);
}

char *
ic_placement_error_detail(const char *data, gsize len, char **code)
{
  if (code != NULL)
    *code = NULL;
  g_autoptr(JsonNode) root = ic_placement_parse_object(data, len, "error", NULL);
  JsonArray *errors = NULL;
  if (root != NULL && ic_json_get_array(json_node_get_object(root), "errors", "error", &errors, NULL) &&
      errors != NULL && json_array_get_length(errors) > 0) {
    JsonObject *first = ic_json_node_object(json_array_get_element(errors, 0));
    const char *detail = NULL, *c = NULL;
    if (first != NULL && ic_json_get_string(first, "detail", "error", &detail, NULL) && detail != NULL) {
      if (code != NULL && ic_json_get_string(first, "code", "error", &c, NULL) && c != NULL)
        *code = g_strdup(c);
      /* webob puts the status line and a blank line in front of the detail */
      g_autofree char *one = g_strdup(detail);
      g_strdelimit(one, "\r\n", ' ');
      return g_strdup(g_strstrip(one));
    }
  }
  /* not Placement's format (noauth2's 401, a proxy's page): a short excerpt */
  gsize n = MIN(len, 200);
  g_autofree char *excerpt = g_strndup(data ? data : "", n);
  for (char *p = excerpt; *p; p++)
    if (!g_ascii_isprint(*p))
      *p = ' ';
  return g_strdup(g_strstrip(excerpt));
}

void
ic_placement_provider_free(IcPlacementProvider *rp)
{
  if (rp == NULL)
    return;
  g_free(rp->uuid);
  g_free(rp->name);
  g_free(rp->parent_uuid);
  g_free(rp->root_uuid);
  g_free(rp);
}

static IcPlacementProvider *
parse_provider(JsonObject *o, const char *what, GError **error)
{
  const char *uuid = NULL, *name = NULL, *parent = NULL, *root = NULL;
  gint64 gen = -1;
  if (o == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: a resource provider is not an object", what);
    return NULL;
  }
  if (!ic_json_get_string(o, "uuid", what, &uuid, error) || !ic_json_get_string(o, "name", what, &name, error) ||
      !ic_json_get_string(o, "parent_provider_uuid", what, &parent, error) ||
      !ic_json_get_string(o, "root_provider_uuid", what, &root, error) ||
      !ic_json_get_int(o, "generation", what, &gen, error))
    return NULL;
  if (uuid == NULL || name == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: a resource provider lacks its uuid or name", what);
    return NULL;
  }
  IcPlacementProvider *rp = g_new0(IcPlacementProvider, 1);
  rp->uuid = g_strdup(uuid);
  rp->name = g_strdup(name);
  rp->parent_uuid = g_strdup(parent);
  rp->root_uuid = g_strdup(root);
  rp->generation = gen;
  return rp;
}

IcPlacementProvider *
ic_placement_parse_provider(JsonNode *root, const char *what, GError **error)
{
  return parse_provider(ic_json_node_object(root), what, error);
}

/* NODE as an object, or an error naming WHAT and which part of the reply
 * is not an object (a NULL with no error would read as success). */
static JsonObject *
reply_object(JsonNode *node, const char *what, const char *part, GError **error)
{
  JsonObject *o = ic_json_node_object(node);
  if (o == NULL)
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: %s is not a JSON object", what, part);
  return o;
}

GPtrArray *
ic_placement_parse_providers(JsonNode *root, const char *what, GError **error)
{
  JsonArray *list = NULL;
  JsonObject *o = reply_object(root, what, "the reply", error);
  if (o == NULL || !ic_json_get_array(o, "resource_providers", what, &list, error))
    return NULL;
  if (list == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply has no resource_providers list", what);
    return NULL;
  }
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) ic_placement_provider_free);
  for (guint i = 0; i < json_array_get_length(list); i++) {
    IcPlacementProvider *rp = parse_provider(ic_json_node_object(json_array_get_element(list, i)), what, error);
    if (rp == NULL)
      return NULL;
    g_ptr_array_add(out, rp);
  }
  return g_steal_pointer(&out);
}

GPtrArray *
ic_placement_parse_traits(JsonNode *root, const char *what, gint64 *generation, GError **error)
{
  JsonArray *list = NULL;
  JsonObject *o = reply_object(root, what, "the reply", error);
  gint64 gen = -1;
  if (o == NULL || !ic_json_get_array(o, "traits", what, &list, error) ||
      !ic_json_get_int(o, "resource_provider_generation", what, &gen, error))
    return NULL;
  if (list == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply has no traits list", what);
    return NULL;
  }
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < json_array_get_length(list); i++) {
    const char *t = ic_json_array_string(list, i);
    if (t == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: traits[%u] is not a string", what, i);
      return NULL;
    }
    g_ptr_array_add(out, g_strdup(t));
  }
  if (generation != NULL)
    *generation = gen;
  return g_steal_pointer(&out);
}

GHashTable *
ic_placement_parse_candidates(JsonNode *root, const char *what, GError **error)
{
  JsonArray *reqs = NULL;
  JsonObject *o = reply_object(root, what, "the reply", error);
  if (o == NULL || !ic_json_get_array(o, "allocation_requests", what, &reqs, error))
    return NULL;
  if (reqs == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply has no allocation_requests", what);
    return NULL;
  }
  g_autoptr(GHashTable) set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < json_array_get_length(reqs); i++) {
    g_autofree char *part = g_strdup_printf("allocation_requests[%u]", i);
    JsonObject *ar = reply_object(json_array_get_element(reqs, i), what, part, error);
    JsonObject *alloc = NULL;
    if (ar == NULL || !ic_json_get_object(ar, "allocations", what, &alloc, error))
      return NULL;
    if (alloc == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: allocation_requests[%u] has no allocations object", what, i);
      return NULL;
    }
    JsonObjectIter it;
    const char *uuid;
    JsonNode *ignored;
    json_object_iter_init(&it, alloc);
    while (json_object_iter_next(&it, &uuid, &ignored))
      g_hash_table_add(set, g_strdup(uuid));
  }
  return g_steal_pointer(&set);
}

/* A candidate that allocates from a child provider counts for its root:
 * provider_summaries names each one's root_provider_uuid. */
gboolean
ic_placement_candidate_roots(JsonNode *root, GHashTable *candidates, const char *what, GError **error)
{
  JsonObject *summaries = NULL;
  if (!ic_json_get_object(json_node_get_object(root), "provider_summaries", what, &summaries, error))
    return FALSE;
  if (summaries == NULL)
    return TRUE;
  g_autoptr(GPtrArray) roots = g_ptr_array_new_with_free_func(g_free);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, candidates);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    JsonObject *summary = NULL;
    const char *r = NULL;
    if (!ic_json_get_object(summaries, key, what, &summary, error) ||
        (summary != NULL && !ic_json_get_string(summary, "root_provider_uuid", what, &r, error)))
      return FALSE;
    if (r != NULL && strcmp(r, key) != 0)
      g_ptr_array_add(roots, g_strdup(r));
  }
  for (guint i = 0; i < roots->len; i++)
    g_hash_table_add(candidates, g_strdup(g_ptr_array_index(roots, i)));
  return TRUE;
}
