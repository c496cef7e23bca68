/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* place --placement: ask Placement for allocation candidates, then say for
 * every root provider that is not one which trait it lacks (Placement does
 * not say why).  The explanation costs one provider listing per term of the
 * request -- the providers that fail it: `required=!T` for a required
 * trait, `required=F` for a forbidden one, `required=!A,!B` for an in:
 * group -- plus one listing of the providers that pass every term: never one
 * request per provider, and only the providers the answer names. */
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

/* The root providers of one listing (children are explained by their root). */
static GPtrArray *
list_roots(IcPlacement *p, const char *path, GError **error)
{
  g_autoptr(JsonNode) root = ic_placement_get_json(p, path, error);
  if (root == NULL)
    return NULL;
  g_autoptr(GPtrArray) list = ic_placement_parse_providers(root, path, error);
  if (list == NULL)
    return NULL;
  GPtrArray *roots = g_ptr_array_new_with_free_func((GDestroyNotify) ic_placement_provider_free);
  for (guint i = 0; i < list->len; i++) {
    IcPlacementProvider *rp = g_ptr_array_index(list, i);
    if (rp->root_uuid == NULL || strcmp(rp->root_uuid, rp->uuid) == 0)
      g_ptr_array_add(roots, g_ptr_array_steal_index_fast(list, i--));
  }
  return roots;
}

typedef struct {
  GHashTable *by_uuid;   /* uuid -> IcPlacementVerdict* (owned by answer) */
  IcPlacementAnswer *a;
} Verdicts;

static IcPlacementVerdict *
verdict_for(Verdicts *vs, const IcPlacementProvider *rp)
{
  IcPlacementVerdict *v = g_hash_table_lookup(vs->by_uuid, rp->uuid);
  if (v != NULL)
    return v;
  v = g_new0(IcPlacementVerdict, 1);
  v->uuid = g_strdup(rp->uuid);
  v->name = g_strdup(rp->name);
  v->lacks = g_ptr_array_new_with_free_func(g_free);
  v->has_forbidden = g_ptr_array_new_with_free_func(g_free);
  v->lacks_any_of = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(vs->a->providers, v);
  g_hash_table_insert(vs->by_uuid, v->uuid, v);
  return v;
}

/* Every root provider of path gets reason added to the array at offset field. */
static gboolean
mark_listing(IcPlacement *p, Verdicts *vs, const char *path, gsize field, const char *reason, GError **error)
{
  g_autoptr(GPtrArray) roots = list_roots(p, path, error);
  if (roots == NULL)
    return FALSE;
  for (guint i = 0; i < roots->len; i++) {
    IcPlacementVerdict *v = verdict_for(vs, g_ptr_array_index(roots, i));
    g_ptr_array_add(G_STRUCT_MEMBER(GPtrArray *, v, field), g_strdup(reason));
  }
  return TRUE;
}

static int
compare_verdicts(gconstpointer a, gconstpointer b)
{
  const IcPlacementVerdict *x = *(IcPlacementVerdict *const *) a, *y = *(IcPlacementVerdict *const *) b;
  return strcmp(x->name, y->name);
}

/* The query string; FALSE when a required trait (or every trait of an
 * in: group) is unknown to Placement, so nothing can be a candidate. */
static gboolean
trait_query(const IcPlacementQuery *q, GHashTable *known, GString *path)
{
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

static gboolean
build_query(const IcPlacementQuery *q, GHashTable *known, GString *path)
{
  g_string_append_printf(path, "/allocation_candidates?resources=%s", q->resources ? q->resources : "VCPU:1");
  return trait_query(q, known, path);
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
    if (root == NULL || (candidates = ic_placement_parse_candidates(root, path->str, error)) == NULL ||
        !ic_placement_candidate_roots(root, candidates, path->str, error))
      return NULL;
  }
  if (candidates == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "GET %s: Placement refused the query again", path->str);
    return NULL;
  }

  g_autoptr(GHashTable) by_uuid = g_hash_table_new(g_str_hash, g_str_equal);
  Verdicts vs = {.by_uuid = by_uuid, .a = a};
  /* the providers that fail each term, known traits only (an unknown one
   * is failed by everybody, added at the end) */
  for (guint i = 0; q->required && i < q->required->len; i++) {
    const char *t = g_ptr_array_index(q->required, i);
    g_autofree char *lpath = g_strdup_printf("/resource_providers?required=!%s", t);
    if (g_hash_table_contains(known, t) &&
        !mark_listing(p, &vs, lpath, G_STRUCT_OFFSET(IcPlacementVerdict, lacks), t, error))
      return NULL;
  }
  for (guint i = 0; q->forbidden && i < q->forbidden->len; i++) {
    const char *t = g_ptr_array_index(q->forbidden, i);
    g_autofree char *lpath = g_strdup_printf("/resource_providers?required=%s", t);
    if (g_hash_table_contains(known, t) &&
        !mark_listing(p, &vs, lpath, G_STRUCT_OFFSET(IcPlacementVerdict, has_forbidden), t, error))
      return NULL;
  }
  for (guint i = 0; q->any_of && i < q->any_of->len; i++) {
    char **group = g_ptr_array_index(q->any_of, i);
    g_autoptr(GString) lpath = g_string_new("/resource_providers?required=");
    gboolean any_known = FALSE;
    for (int k = 0; group[k]; k++)
      if (g_hash_table_contains(known, group[k])) {
        g_string_append_printf(lpath, "%s!%s", any_known ? "," : "", group[k]);
        any_known = TRUE;
      }
    g_autofree char *joined = g_strjoinv("|", group);
    if (any_known && !mark_listing(p, &vs, lpath->str, G_STRUCT_OFFSET(IcPlacementVerdict, lacks_any_of), joined, error))
      return NULL;
  }
  /* the providers that pass every term: candidates, or short of resources;
   * when a term cannot pass at all, nobody does and all providers are listed */
  g_autoptr(GString) mpath = g_string_new("/resource_providers?");
  gboolean possible = trait_query(q, known, mpath);
  if (!possible)
    g_string_assign(mpath, "/resource_providers");
  else if (mpath->str[strlen("/resource_providers?")] == '&')
    g_string_erase(mpath, strlen("/resource_providers?"), 1);
  else
    g_string_truncate(mpath, strlen("/resource_providers")); /* no trait terms: everybody */
  g_autoptr(GPtrArray) passing = list_roots(p, mpath->str, error);
  if (passing == NULL)
    return NULL;
  for (guint i = 0; i < passing->len; i++)
    verdict_for(&vs, g_ptr_array_index(passing, i));

  /* unknown traits: failed by everybody */
  for (guint i = 0; i < a->providers->len; i++) {
    IcPlacementVerdict *v = g_ptr_array_index(a->providers, i);
    for (guint k = 0; q->required && k < q->required->len; k++)
      if (!g_hash_table_contains(known, g_ptr_array_index(q->required, k)))
        g_ptr_array_add(v->lacks, g_strdup(g_ptr_array_index(q->required, k)));
    for (guint k = 0; q->any_of && k < q->any_of->len; k++) {
      char **group = g_ptr_array_index(q->any_of, k);
      gboolean any_known = FALSE;
      for (int j = 0; group[j]; j++)
        any_known |= g_hash_table_contains(known, group[j]);
      if (!any_known)
        g_ptr_array_add(v->lacks_any_of, g_strjoinv("|", group));
    }
    v->candidate = g_hash_table_contains(candidates, v->uuid);
    if (v->candidate)
      a->candidates++;
    v->capacity = !v->candidate && v->lacks->len == 0 && v->has_forbidden->len == 0 && v->lacks_any_of->len == 0;
  }
  g_ptr_array_sort(a->providers, compare_verdicts);
  a->requests = ic_placement_reads(p) + ic_placement_writes(p) - requests0;
  return g_steal_pointer(&a);
}
