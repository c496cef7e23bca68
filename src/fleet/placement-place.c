/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* place --placement: ask Placement for allocation candidates, then say for
 * every root provider that is not one which trait it lacks (Placement does
 * not say why).  The explanation costs one provider listing per term of the
 * request -- the providers that fail it: `required=!T` for a required
 * trait, `required=F` for a forbidden one, `required=!A,!B` for an in:
 * group -- plus one listing of the providers that pass every term: never one
 * request per provider, and only the providers the answer names.
 *
 * All of them go at once (placement-batch.c), the candidates included: in
 * the usual case every trait is known and no request depends on another.
 * When Placement knows a trait not (400 "No such trait"), the requests that
 * named it are asked again without it after one trait check; the listings
 * that answered are kept. */
#include "placement-private.h"

/* One listing the explanation needs: its path, and the reasons its
 * providers get, each into a verdict field (none: the providers that pass). */
#define MAX_REASONS 2
typedef struct {
  char *path;
  guint n_reasons;
  gssize field[MAX_REASONS];
  char *reason[MAX_REASONS];
} Listing;

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

/* The root providers of one listing (children are explained by their
 * root); runs in the fetching thread. */
static gboolean
parse_roots(PlacementFetch *f, GError **error)
{
  g_autoptr(GPtrArray) list = ic_placement_parse_provider_list(f->reply.data, f->reply.len, f->path, error);
  if (list == NULL)
    return FALSE;
  GPtrArray *roots = g_ptr_array_new_with_free_func((GDestroyNotify) ic_placement_provider_free);
  for (guint i = 0; i < list->len; i++) {
    IcPlacementProvider *rp = g_ptr_array_index(list, i);
    if (rp->root_uuid == NULL || strcmp(rp->root_uuid, rp->uuid) == 0)
      g_ptr_array_add(roots, g_ptr_array_steal_index_fast(list, i--));
  }
  f->result = roots;
  f->result_free = (GDestroyNotify) g_ptr_array_unref;
  return TRUE;
}

/* The candidate root providers (a set of UUIDs); runs in the fetching thread. */
static gboolean
parse_candidate_set(PlacementFetch *f, GError **error)
{
  g_autoptr(GHashTable) set = ic_placement_parse_candidate_set(f->reply.data, f->reply.len, f->path, error);
  if (set == NULL)
    return FALSE;
  f->result = g_steal_pointer(&set);
  f->result_free = (GDestroyNotify) g_hash_table_unref;
  return TRUE;
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

/* Every root provider of a listing gets its reasons (none: the listing of
 * the providers that pass every term). */
static void
mark_listing(Verdicts *vs, GPtrArray *roots, const Listing *l)
{
  for (guint i = 0; i < roots->len; i++) {
    IcPlacementVerdict *v = verdict_for(vs, g_ptr_array_index(roots, i));
    for (guint k = 0; k < l->n_reasons; k++)
      g_ptr_array_add(G_STRUCT_MEMBER(GPtrArray *, v, l->field[k]), g_strdup(l->reason[k]));
  }
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


static void
listing_free(gpointer p)
{
  Listing *l = p;
  g_free(l->path);
  for (guint i = 0; i < l->n_reasons; i++)
    g_free(l->reason[i]);
  g_free(l);
}

/* A term of the request whose traits Placement knows, as the two filters
 * of a provider listing: the providers that fail it and those that pass. */
typedef struct {
  char *fail;   /* atoms for one required= list, e.g. "!T" or "!A,!B" */
  char *pass;   /* "T", "!F", or "in:A,B" (which must be a required= of its own) */
  gssize field; /* where a provider that fails it gets reason */
  char *reason;
} Term;

static void
term_clear(gpointer p)
{
  Term *t = p;
  g_free(t->fail);
  g_free(t->pass);
  g_free(t->reason);
}

static void
add_term(GArray *terms, char *fail, char *pass, gssize field, char *reason)
{
  Term t = {.fail = fail, .pass = pass, .field = field, .reason = reason};
  g_array_append_val(terms, t);
}

static GArray *
known_terms(const IcPlacementQuery *q, GHashTable *known)
{
  GArray *terms = g_array_new(FALSE, FALSE, sizeof(Term));
  g_array_set_clear_func(terms, term_clear);
  for (guint i = 0; q->required && i < q->required->len; i++) {
    const char *t = g_ptr_array_index(q->required, i);
    if (g_hash_table_contains(known, t))
      add_term(terms, g_strdup_printf("!%s", t), g_strdup(t), G_STRUCT_OFFSET(IcPlacementVerdict, lacks),
               g_strdup(t));
  }
  for (guint i = 0; q->forbidden && i < q->forbidden->len; i++) {
    const char *t = g_ptr_array_index(q->forbidden, i);
    if (g_hash_table_contains(known, t))
      add_term(terms, g_strdup(t), g_strdup_printf("!%s", t), G_STRUCT_OFFSET(IcPlacementVerdict, has_forbidden),
               g_strdup(t));
  }
  for (guint i = 0; q->any_of && i < q->any_of->len; i++) {
    char **group = g_ptr_array_index(q->any_of, i);
    g_autoptr(GString) fail = g_string_new(NULL);
    g_autoptr(GString) pass = g_string_new("in:");
    for (int k = 0; group[k]; k++)
      if (g_hash_table_contains(known, group[k])) {
        g_string_append_printf(fail, "%s!%s", fail->len ? "," : "", group[k]);
        g_string_append_printf(pass, "%s%s", pass->len > 3 ? "," : "", group[k]);
      }
    if (fail->len)
      add_term(terms, g_string_free(g_steal_pointer(&fail), FALSE), g_string_free(g_steal_pointer(&pass), FALSE),
               G_STRUCT_OFFSET(IcPlacementVerdict, lacks_any_of), g_strjoinv("|", group));
  }
  return terms;
}

/* The listing of the providers that fail exactly the terms in mask and
 * pass the others. */
static Listing *
cell_listing(GArray *terms, guint mask)
{
  Listing *l = g_new0(Listing, 1);
  g_autoptr(GString) atoms = g_string_new(NULL);
  g_autoptr(GString) in = g_string_new(NULL);
  for (guint i = 0; i < terms->len; i++) {
    const Term *t = &g_array_index(terms, Term, i);
    gboolean fails = (mask >> i) & 1;
    if (fails) {
      l->field[l->n_reasons] = t->field;
      l->reason[l->n_reasons++] = g_strdup(t->reason);
    }
    if (!fails && g_str_has_prefix(t->pass, "in:"))
      g_string_append_printf(in, "&required=%s", t->pass);
    else
      g_string_append_printf(atoms, "%s%s", atoms->len ? "," : "", fails ? t->fail : t->pass);
  }
  l->path = g_strdup_printf("/resource_providers?required=%s%s", atoms->str, in->str);
  return l;
}

static Listing *
term_listing(const Term *t)
{
  Listing *l = g_new0(Listing, 1);
  l->path = g_strdup_printf("/resource_providers?required=%s", t->fail);
  l->field[0] = t->field;
  l->reason[0] = g_strdup(t->reason);
  l->n_reasons = 1;
  return l;
}

/* The listings for the traits known, then the providers that pass every
 * term (a term on an unknown trait is failed by everybody, added at the
 * end).  With two terms, one listing per combination of failed terms (3):
 * every provider is listed once, however many terms it fails; one listing
 * per term would list a provider failing both twice (12,600 providers
 * listed for 10,000 in bench/fleet), and Placement's time and ours go with
 * the providers listed.  With more terms that would be 2^n - 1 listings, so
 * one per term. */
static GPtrArray *
plan_listings(const IcPlacementQuery *q, GHashTable *known)
{
  GPtrArray *plan = g_ptr_array_new_with_free_func(listing_free);
  g_autoptr(GArray) terms = known_terms(q, known);
  if (terms->len == MAX_REASONS)
    for (guint mask = 1; mask < (1u << terms->len); mask++)
      g_ptr_array_add(plan, cell_listing(terms, mask));
  else
    for (guint i = 0; i < terms->len; i++)
      g_ptr_array_add(plan, term_listing(&g_array_index(terms, Term, i)));
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
  Listing *pass = g_new0(Listing, 1);
  pass->path = g_strdup(mpath->str);
  g_ptr_array_add(plan, pass);
  return plan;
}

static PlacementFetch *
fetch_new(const char *path, gboolean (*parse)(PlacementFetch *, GError **))
{
  PlacementFetch *f = g_new0(PlacementFetch, 1);
  f->path = g_strdup(path);
  f->parse = parse;
  return f;
}

static void
fetch_free(gpointer p)
{
  PlacementFetch *f = p;
  placement_fetch_clear(f);
  g_free((char *) f->path);
  g_free(f);
}

/* A listing fetched and read, or NULL. */
static PlacementFetch *
fetched(GPtrArray *done, const char *path)
{
  for (guint i = 0; i < done->len; i++) {
    PlacementFetch *f = g_ptr_array_index(done, i);
    if (strcmp(f->path, path) == 0 && f->result != NULL)
      return f;
  }
  return NULL;
}

/* The roots a listing gave, or NULL and why not (from its newest fetch). */
static GPtrArray *
listing_roots(GPtrArray *done, const char *path, GError **error)
{
  for (guint k = done->len; k-- > 0;) {
    PlacementFetch *f = g_ptr_array_index(done, k);
    if (strcmp(f->path, path) != 0)
      continue;
    if (f->result != NULL)
      return f->result;
    if (f->error != NULL) {
      g_propagate_error(error, g_steal_pointer(&f->error));
      return NULL;
    }
    ic_placement_fail("GET", f->path, &f->reply, error); /* answered, not 200 */
    return NULL;
  }
  g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "GET %s: never asked", path);
  return NULL;
}

/* Fetch the candidates (cpath, may be NULL) and every listing of plan not
 * fetched yet, all at once; they join done. */
static gboolean
fetch_round(IcPlacement *p, const char *cpath, GPtrArray *plan, GPtrArray *done, PlacementFetch **cand,
            GError **error)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new();
  *cand = NULL;
  if (cpath != NULL) {
    *cand = fetch_new(cpath, parse_candidate_set);
    g_ptr_array_add(batch, *cand);
  }
  for (guint i = 0; i < plan->len; i++) {
    const Listing *l = g_ptr_array_index(plan, i);
    if (fetched(done, l->path) == NULL)
      g_ptr_array_add(batch, fetch_new(l->path, parse_roots));
  }
  for (guint i = 0; i < batch->len; i++)
    g_ptr_array_add(done, g_ptr_array_index(batch, i));
  return ic_placement_get_all(p, (PlacementFetch *const *) batch->pdata, batch->len, error);
}

/* A fetch that must have answered 200 and been read. */
static gboolean
fetch_ok(PlacementFetch *f, GError **error)
{
  if (f->error != NULL) {
    g_propagate_error(error, g_steal_pointer(&f->error));
    return FALSE;
  }
  if (f->reply.status != 200)
    return ic_placement_fail("GET", f->path, &f->reply, error);
  return TRUE;
}

/* Placement refused the candidates query for a trait it does not know. */
static gboolean
refused_unknown_trait(const PlacementFetch *f)
{
  if (f->error != NULL || f->reply.status != 400)
    return FALSE;
  g_autofree char *code = NULL;
  g_autofree char *detail = ic_placement_error_detail(f->reply.data, f->reply.len, &code);
  return strstr(detail, "No such trait") != NULL;
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
  g_autoptr(GPtrArray) done = g_ptr_array_new_with_free_func(fetch_free);
  g_autoptr(GPtrArray) plan = NULL;
  g_autoptr(GString) path = g_string_new(NULL);
  GHashTable *candidates = NULL; /* owned by its fetch */
  g_autoptr(GHashTable) none = g_hash_table_new(g_str_hash, g_str_equal);
  for (int attempt = 0; attempt < 2 && candidates == NULL; attempt++) {
    g_string_truncate(path, 0);
    gboolean possible = build_query(q, known, path);
    g_clear_pointer(&plan, g_ptr_array_unref);
    plan = plan_listings(q, known);
    PlacementFetch *cand = NULL;
    if (!fetch_round(p, possible ? path->str : NULL, plan, done, &cand, error))
      return NULL;
    if (cand == NULL) { /* a term nobody can pass: no candidate, no query */
      candidates = none;
      break;
    }
    if (attempt == 0 && refused_unknown_trait(cand)) {
      g_autoptr(GHashTable) checked = ic_placement_known_traits(p, named, error);
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
    if (!fetch_ok(cand, error))
      return NULL;
    candidates = cand->result;
  }
  if (candidates == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "GET %s: Placement refused the query again", path->str);
    return NULL;
  }

  g_autoptr(GHashTable) by_uuid = g_hash_table_new(g_str_hash, g_str_equal);
  Verdicts vs = {.by_uuid = by_uuid, .a = a};
  for (guint i = 0; i < plan->len; i++) {
    const Listing *l = g_ptr_array_index(plan, i);
    GPtrArray *roots = listing_roots(done, l->path, error);
    if (roots == NULL)
      return NULL;
    mark_listing(&vs, roots, l);
  }

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
