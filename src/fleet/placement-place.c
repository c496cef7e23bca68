/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* place --placement: ask Placement for allocation candidates, then say for
 * every root provider that is not one which trait it lacks (Placement does
 * not say why).  The explanation costs one provider listing per trait named
 * in the request, plus one listing of all providers: never one request per
 * provider, so it scales with the request, not with the fleet. */
#include "placement-private.h"

static void
verdict_free(gpointer p)
{
  IcPlacementVerdict *v = p;
  g_free(v->uuid);
  g_free(v->name);
  g_ptr_array_unref(v->lacks);
  g_ptr_array_unref(v->has_forbidden);
  g_ptr_array_unref(v->lacks_any_of);
  g_free(v);
}

void
ic_placement_answer_free(IcPlacementAnswer *a)
{
  if (a == NULL)
    return;
  g_clear_pointer(&a->providers, g_ptr_array_unref);
  g_clear_pointer(&a->unknown_traits, g_ptr_array_unref);
  g_free(a);
}

static void
add_unique(GPtrArray *a, const char *s)
{
  for (guint i = 0; i < a->len; i++)
    if (strcmp(g_ptr_array_index(a, i), s) == 0)
      return;
  g_ptr_array_add(a, (gpointer) s);
}

/* Root provider UUIDs that have trait t: one GET /resource_providers?required=t. */
static GHashTable *
providers_with(IcPlacement *p, const char *t, GError **error)
{
  g_autofree char *path = g_strdup_printf("/resource_providers?required=%s", t);
  g_autoptr(JsonNode) root = ic_placement_get_json(p, path, error);
  if (root == NULL)
    return NULL;
  g_autoptr(GPtrArray) list = ic_placement_parse_providers(root, path, error);
  if (list == NULL)
    return NULL;
  GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < list->len; i++)
    g_hash_table_add(set, g_strdup(((IcPlacementProvider *) g_ptr_array_index(list, i))->uuid));
  return set;
}

/* The query string; FALSE when a required trait (or every trait of an
 * in: group) is unknown to Placement, so nothing can be a candidate. */
static gboolean
build_query(const IcPlacementQuery *q, GHashTable *known, GString *path)
{
  g_string_append_printf(path, "/allocation_candidates?resources=%s", q->resources ? q->resources : "VCPU:1");
  GString *req = g_string_new(NULL);
  gboolean possible = TRUE;
  for (guint i = 0; q->required && i < q->required->len; i++) {
    const char *t = g_ptr_array_index(q->required, i);
    if (!g_hash_table_contains(known, t))
      possible = FALSE;
    g_string_append_printf(req, "%s%s", req->len ? "," : "", t);
  }
  for (guint i = 0; q->forbidden && i < q->forbidden->len; i++) {
    const char *t = g_ptr_array_index(q->forbidden, i);
    if (g_hash_table_contains(known, t)) /* nobody has an unknown trait: drop it */
      g_string_append_printf(req, "%s!%s", req->len ? "," : "", t);
  }
  if (req->len)
    g_string_append_printf(path, "&required=%s", req->str);
  g_string_free(req, TRUE);
  for (guint i = 0; q->any_of && i < q->any_of->len; i++) {
    char **group = g_ptr_array_index(q->any_of, i);
    GString *in = g_string_new(NULL);
    for (int k = 0; group[k]; k++)
      if (g_hash_table_contains(known, group[k]))
        g_string_append_printf(in, "%s%s", in->len ? "," : "", group[k]);
    if (in->len == 0)
      possible = FALSE;
    else
      g_string_append_printf(path, "&required=in:%s", in->str);
    g_string_free(in, TRUE);
  }
  return possible;
}

IcPlacementAnswer *
ic_placement_place(IcPlacement *p, const IcPlacementQuery *q, GError **error)
{
  guint requests0 = ic_placement_reads(p) + ic_placement_writes(p);
  g_autoptr(IcPlacementAnswer) a = g_new0(IcPlacementAnswer, 1);
  a->providers = g_ptr_array_new_with_free_func(verdict_free);
  a->unknown_traits = g_ptr_array_new_with_free_func(g_free);

  /* every trait the request names, once */
  g_autoptr(GPtrArray) named = g_ptr_array_new();
  for (guint i = 0; q->required && i < q->required->len; i++)
    add_unique(named, g_ptr_array_index(q->required, i));
  for (guint i = 0; q->forbidden && i < q->forbidden->len; i++)
    add_unique(named, g_ptr_array_index(q->forbidden, i));
  for (guint i = 0; q->any_of && i < q->any_of->len; i++)
    for (char **t = g_ptr_array_index(q->any_of, i); *t; t++)
      add_unique(named, *t);

  /* Placement answers 400 to a query naming a trait it does not know; ask
   * which ones it knows only then, so the usual answer costs one request less */
  g_autoptr(GHashTable) known = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < named->len; i++)
    g_hash_table_add(known, g_ptr_array_index(named, i));
  g_autoptr(GString) path = g_string_new(NULL);
  g_autoptr(GHashTable) candidates = NULL;
  g_autoptr(GHashTable) checked = NULL;
  for (int attempt = 0; attempt < 2 && candidates == NULL; attempt++) {
    g_string_truncate(path, 0);
    if (!build_query(q, known, path)) {
      candidates = g_hash_table_new(g_str_hash, g_str_equal);
      break;
    }
    g_auto(PlacementReply) r = {0};
    if (!ic_placement_http(p, "GET", path->str, NULL, &r, error))
      return NULL;
    g_autofree char *code = NULL;
    g_autofree char *detail = r.status == 400 ? ic_placement_error_detail(r.data, r.len, &code) : NULL;
    if (r.status == 400 && attempt == 0 && strstr(detail, "No such trait") != NULL) {
      checked = ic_placement_known_traits(p, named, error);
      if (checked == NULL)
        return NULL;
      g_hash_table_remove_all(known);
      for (guint i = 0; i < named->len; i++) {
        const char *t = g_ptr_array_index(named, i);
        if (g_hash_table_contains(checked, t))
          g_hash_table_add(known, (gpointer) t);
        else
          g_ptr_array_add(a->unknown_traits, g_strdup(t));
      }
      continue;
    }
    if (r.status != 200) {
      ic_placement_fail("GET", path->str, &r, error);
      return NULL;
    }
    g_autoptr(JsonNode) root = ic_placement_parse_object(r.data, r.len, path->str, error);
    if (root == NULL || (candidates = ic_placement_parse_candidates(root, path->str, error)) == NULL)
      return NULL;
  }
  if (candidates == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "GET %s: Placement refused the query again", path->str);
    return NULL;
  }

  g_autoptr(JsonNode) all_root = ic_placement_get_json(p, "/resource_providers", error);
  g_autoptr(GPtrArray) all = all_root ? ic_placement_parse_providers(all_root, "GET /resource_providers", error) : NULL;
  if (all == NULL)
    return NULL;
  /* a candidate allocating from a child counts for its root */
  g_autoptr(GHashTable) root_of = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < all->len; i++) {
    IcPlacementProvider *rp = g_ptr_array_index(all, i);
    g_hash_table_insert(root_of, rp->uuid, rp->root_uuid ? rp->root_uuid : rp->uuid);
  }
  g_autoptr(GHashTable) candidate_roots = g_hash_table_new(g_str_hash, g_str_equal);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, candidates);
  while (g_hash_table_iter_next(&it, &key, NULL)) {
    const char *r = g_hash_table_lookup(root_of, key);
    g_hash_table_add(candidate_roots, (gpointer) (r ? r : key));
  }

  /* one listing per known trait: who has it */
  g_autoptr(GHashTable) having = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                                       (GDestroyNotify) g_hash_table_unref);
  for (guint i = 0; i < named->len; i++) {
    const char *t = g_ptr_array_index(named, i);
    if (!g_hash_table_contains(known, t))
      continue;
    GHashTable *set = providers_with(p, t, error);
    if (set == NULL)
      return NULL;
    g_hash_table_insert(having, (gpointer) t, set);
  }

  for (guint i = 0; i < all->len; i++) {
    IcPlacementProvider *rp = g_ptr_array_index(all, i);
    if (rp->root_uuid != NULL && strcmp(rp->root_uuid, rp->uuid) != 0)
      continue; /* children are explained through their root */
    IcPlacementVerdict *v = g_new0(IcPlacementVerdict, 1);
    v->uuid = g_strdup(rp->uuid);
    v->name = g_strdup(rp->name);
    v->lacks = g_ptr_array_new_with_free_func(g_free);
    v->has_forbidden = g_ptr_array_new_with_free_func(g_free);
    v->lacks_any_of = g_ptr_array_new_with_free_func(g_free);
    v->candidate = g_hash_table_contains(candidate_roots, rp->uuid);
    g_ptr_array_add(a->providers, v);
    if (v->candidate) {
      a->candidates++;
      continue;
    }
    for (guint k = 0; q->required && k < q->required->len; k++) {
      const char *t = g_ptr_array_index(q->required, k);
      GHashTable *set = g_hash_table_lookup(having, t);
      if (set == NULL || !g_hash_table_contains(set, rp->uuid))
        g_ptr_array_add(v->lacks, g_strdup(t));
    }
    for (guint k = 0; q->forbidden && k < q->forbidden->len; k++) {
      const char *t = g_ptr_array_index(q->forbidden, k);
      GHashTable *set = g_hash_table_lookup(having, t);
      if (set != NULL && g_hash_table_contains(set, rp->uuid))
        g_ptr_array_add(v->has_forbidden, g_strdup(t));
    }
    for (guint k = 0; q->any_of && k < q->any_of->len; k++) {
      char **group = g_ptr_array_index(q->any_of, k);
      gboolean any = FALSE;
      for (int j = 0; group[j] && !any; j++) {
        GHashTable *set = g_hash_table_lookup(having, group[j]);
        any = set != NULL && g_hash_table_contains(set, rp->uuid);
      }
      if (!any)
        g_ptr_array_add(v->lacks_any_of, g_strjoinv("|", group));
    }
    v->capacity = v->lacks->len == 0 && v->has_forbidden->len == 0 && v->lacks_any_of->len == 0;
  }
  a->requests = ic_placement_reads(p) + ic_placement_writes(p) - requests0;
  return g_steal_pointer(&a);
}
