/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* placement sync: publish this host's traits on its resource provider and
 * its assignable groups as child providers.  Idempotent (an unchanged host
 * makes only GET requests), generation-aware (a 409 re-reads and retries)
 * and polite (it adds and removes only the traits iommuctl owns). */
#include "placement-private.h"

#define MAX_ATTEMPTS 8

void
ic_placement_sync_result_free(IcPlacementSyncResult *r)
{
  if (r == NULL)
    return;
  g_free(r->provider_name);
  g_free(r->provider_uuid);
  g_clear_pointer(&r->traits, g_ptr_array_unref);
  g_clear_pointer(&r->added, g_ptr_array_unref);
  g_clear_pointer(&r->removed, g_ptr_array_unref);
  g_clear_pointer(&r->foreign, g_ptr_array_unref);
  g_clear_pointer(&r->traits_created, g_ptr_array_unref);
  g_clear_pointer(&r->classes_created, g_ptr_array_unref);
  g_clear_pointer(&r->children, g_ptr_array_unref);
  g_clear_pointer(&r->children_removed, g_ptr_array_unref);
  g_free(r);
}

static void
child_free(gpointer p)
{
  IcPlacementChild *c = p;
  g_free(c->name);
  g_free(c->uuid);
  g_free(c);
}

static gboolean
str_in(GPtrArray *a, const char *s)
{
  for (guint i = 0; a && i < a->len; i++)
    if (strcmp(g_ptr_array_index(a, i), s) == 0)
      return TRUE;
  return FALSE;
}

gboolean
ic_placement_trait_is_owned(const char *trait, GPtrArray *traits)
{
  if (g_str_has_prefix(trait, "COMPUTE_VIOMMU_MODEL_") || g_str_has_prefix(trait, "CUSTOM_IOMMU_ADDRESS_WIDTH_"))
    return TRUE;
  for (guint i = 0; traits && i < traits->len; i++)
    if (strcmp(((IcPolicyTrait *) g_ptr_array_index(traits, i))->name, trait) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
looks_like_uuid(const char *s)
{
  return g_uuid_string_is_valid(s);
}

/* ---- the provider ----------------------------------------------------------- */

/* A provider listing (GET that must answer 200), read as every listing is. */
static GPtrArray *
get_providers(IcPlacement *p, const char *path, GError **error)
{
  g_auto(PlacementReply) r = {0};
  if (!ic_placement_get_ok(p, path, &r, error))
    return NULL;
  return ic_placement_parse_provider_list(r.data, r.len, path, error);
}

static IcPlacementProvider *
find_provider(IcPlacement *p, const char *provider, GError **error)
{
  if (looks_like_uuid(provider)) {
    g_autofree char *path = g_strdup_printf("/resource_providers/%s", provider);
    g_auto(PlacementReply) r = {0};
    if (!ic_placement_http(p, "GET", path, NULL, &r, error))
      return NULL;
    if (r.status == 404)
      return NULL;
    if (r.status != 200) {
      ic_placement_fail("GET", path, &r, error);
      return NULL;
    }
    g_autoptr(JsonNode) root = ic_placement_parse_object(r.data, r.len, path, error);
    return root ? ic_placement_parse_provider(root, path, error) : NULL;
  }
  g_autofree char *esc = g_uri_escape_string(provider, NULL, FALSE);
  g_autofree char *path = g_strdup_printf("/resource_providers?name=%s", esc);
  g_autoptr(GPtrArray) list = get_providers(p, path, error);
  if (list == NULL || list->len == 0)
    return NULL;
  return g_ptr_array_steal_index(list, 0);
}

static IcPlacementProvider *
create_provider(IcPlacement *p, const char *name, const char *uuid, const char *parent, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  ic_json_add_string(b, "name", name);
  if (uuid != NULL)
    ic_json_add_string(b, "uuid", uuid);
  if (parent != NULL)
    ic_json_add_string(b, "parent_provider_uuid", parent);
  json_builder_end_object(b);
  g_autoptr(JsonNode) body = json_builder_get_root(b);
  g_auto(PlacementReply) r = {0};
  if (!ic_placement_http(p, "POST", "/resource_providers", body, &r, error))
    return NULL;
  if (r.status != 200) {
    ic_placement_fail("POST", "/resource_providers", &r, error);
    return NULL;
  }
  g_autoptr(JsonNode) root = ic_placement_parse_object(r.data, r.len, "POST /resource_providers", error);
  return root ? ic_placement_parse_provider(root, "POST /resource_providers", error) : NULL;
}

/* ---- traits and classes that must exist ------------------------------------------ */

/* The names of list that Placement knows: one GET /traits?name=in:... */
GHashTable *
ic_placement_known_traits(IcPlacement *p, GPtrArray *names, GError **error)
{
  g_autoptr(GHashTable) known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  if (names->len == 0)
    return g_steal_pointer(&known);
  GString *path = g_string_new("/traits?name=in:");
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf(path, "%s%s", i ? "," : "", (const char *) g_ptr_array_index(names, i));
  g_autofree char *path_s = g_string_free(path, FALSE);
  g_autoptr(JsonNode) root = ic_placement_get_json(p, path_s, error);
  if (root == NULL)
    return NULL;
  g_autoptr(GPtrArray) traits = ic_placement_parse_traits(root, "GET /traits", NULL, error);
  if (traits == NULL)
    return NULL;
  for (guint i = 0; i < traits->len; i++)
    g_hash_table_add(known, g_strdup(g_ptr_array_index(traits, i)));
  return g_steal_pointer(&known);
}

static gboolean
put_expect(IcPlacement *p, const char *path, guint ok1, guint ok2, guint *status, GError **error)
{
  g_auto(PlacementReply) r = {0};
  if (!ic_placement_http(p, "PUT", path, NULL, &r, error))
    return FALSE;
  if (r.status != ok1 && r.status != ok2)
    return ic_placement_fail("PUT", path, &r, error);
  if (status)
    *status = r.status;
  return TRUE;
}

static gboolean
ensure_custom_traits(IcPlacement *p, GPtrArray *wanted, const IcPlacementSyncOptions *o,
                     IcPlacementSyncResult *res, GError **error)
{
  g_autoptr(GPtrArray) custom = g_ptr_array_new();
  for (guint i = 0; i < wanted->len; i++)
    if (g_str_has_prefix(g_ptr_array_index(wanted, i), "CUSTOM_"))
      g_ptr_array_add(custom, g_ptr_array_index(wanted, i));
  g_autoptr(GHashTable) known = ic_placement_known_traits(p, custom, error);
  if (known == NULL)
    return FALSE;
  for (guint i = 0; i < custom->len; i++) {
    const char *t = g_ptr_array_index(custom, i);
    if (g_hash_table_contains(known, t))
      continue;
    if (!o->create) {
      g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND,
                  "Placement does not know the trait %s; run with --create to create iommuctl's CUSTOM_* traits", t);
      return FALSE;
    }
    g_ptr_array_add(res->traits_created, g_strdup(t));
    res->changed = TRUE;
    g_autofree char *path = g_strdup_printf("/traits/%s", t);
    if (!o->dry_run && !put_expect(p, path, 201, 204, NULL, error))
      return FALSE;
  }
  return TRUE;
}

/* ---- the provider's traits -------------------------------------------------------- */

static JsonNode *
traits_body(gint64 generation, GPtrArray *traits)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  ic_json_add_int(b, "resource_provider_generation", generation);
  json_builder_set_member_name(b, "traits");
  json_builder_begin_array(b);
  for (guint i = 0; i < traits->len; i++)
    json_builder_add_string_value(b, g_ptr_array_index(traits, i));
  json_builder_end_array(b);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* current minus what we own plus what we want; the diff goes to res */
static GPtrArray *
merge_traits(GPtrArray *current, GPtrArray *host_traits, GPtrArray *wanted, IcPlacementSyncResult *res)
{
  GPtrArray *next = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_set_size(res->added, 0);
  g_ptr_array_set_size(res->removed, 0);
  g_ptr_array_set_size(res->foreign, 0);
  for (guint i = 0; i < current->len; i++) {
    const char *t = g_ptr_array_index(current, i);
    if (!ic_placement_trait_is_owned(t, host_traits)) {
      g_ptr_array_add(res->foreign, g_strdup(t));
      g_ptr_array_add(next, g_strdup(t));
    } else if (str_in(wanted, t)) {
      g_ptr_array_add(next, g_strdup(t));
    } else {
      g_ptr_array_add(res->removed, g_strdup(t));
    }
  }
  for (guint i = 0; i < wanted->len; i++) {
    const char *t = g_ptr_array_index(wanted, i);
    if (!str_in(current, t)) {
      g_ptr_array_add(res->added, g_strdup(t));
      g_ptr_array_add(next, g_strdup(t));
    }
  }
  g_ptr_array_sort(next, compare_strings);
  return next;
}

static gboolean
sync_root_traits(IcPlacement *p, const char *uuid, GPtrArray *host_traits, GPtrArray *wanted,
                 const IcPlacementSyncOptions *o, IcPlacementSyncResult *res, GError **error)
{
  g_autofree char *path = g_strdup_printf("/resource_providers/%s/traits", uuid);
  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    gint64 gen = -1;
    g_autoptr(GPtrArray) current = NULL;
    if (uuid[0] == '\0') { /* dry run of a provider that does not exist yet */
      current = g_ptr_array_new_with_free_func(g_free);
    } else {
      g_autoptr(JsonNode) root = ic_placement_get_json(p, path, error);
      if (root == NULL || (current = ic_placement_parse_traits(root, path, &gen, error)) == NULL)
        return FALSE;
    }
    /* a trait already on the provider exists: only new CUSTOM_* ones are checked */
    if (attempt == 0) {
      g_autoptr(GPtrArray) missing = g_ptr_array_new();
      for (guint i = 0; i < wanted->len; i++)
        if (!str_in(current, g_ptr_array_index(wanted, i)))
          g_ptr_array_add(missing, g_ptr_array_index(wanted, i));
      if (!ensure_custom_traits(p, missing, o, res, error))
        return FALSE;
    }
    g_autoptr(GPtrArray) next = merge_traits(current, host_traits, wanted, res);
    g_clear_pointer(&res->traits, g_ptr_array_unref);
    res->traits = g_ptr_array_ref(next);
    res->generation = gen;
    if (res->added->len == 0 && res->removed->len == 0)
      return TRUE;
    res->changed = TRUE;
    if (o->dry_run)
      return TRUE;
    g_autoptr(JsonNode) body = traits_body(gen, next);
    g_auto(PlacementReply) r = {0};
    if (!ic_placement_http(p, "PUT", path, body, &r, error))
      return FALSE;
    if (r.status == 409) { /* someone else changed the provider: read it again */
      res->retries++;
      continue;
    }
    if (r.status != 200)
      return ic_placement_fail("PUT", path, &r, error);
    g_autoptr(JsonNode) reply = ic_placement_parse_object(r.data, r.len, path, error);
    g_autoptr(GPtrArray) after = reply ? ic_placement_parse_traits(reply, path, &res->generation, error) : NULL;
    return after != NULL;
  }
  g_set_error(error, IC_ERROR, IC_ERROR_BUSY,
              "the traits of provider %s changed under every one of %d attempts; try again", uuid, MAX_ATTEMPTS);
  return FALSE;
}

/* ---- one child provider per assignable group --------------------------------------- */

/* A name-based (version 5, SHA-1) UUID for a group provider, over the root's
 * UUID, the group number and its resource class: an unchanged group keeps
 * its UUID, so a sync recognises it from the tree listing alone, without
 * reading its inventory; a group whose members changed gets a new one. */
char *
ic_placement_group_uuid(const char *root_uuid, int group, const char *resource_class)
{
  /* iommuctl's namespace for group providers: 16 fixed random bytes */
  static const guint8 ns[16] = {0x6e, 0x1c, 0x3d, 0x52, 0x8a, 0x47, 0x5b, 0x1e,
                                0x9c, 0x20, 0x4f, 0x6a, 0x11, 0x73, 0xd2, 0x0b};
  g_autofree char *name = g_strdup_printf("%s/%d/%s", root_uuid, group, resource_class);
  g_autoptr(GChecksum) sha = g_checksum_new(G_CHECKSUM_SHA1);
  g_checksum_update(sha, ns, sizeof ns);
  g_checksum_update(sha, (const guchar *) name, strlen(name));
  guint8 d[20];
  gsize n = sizeof d;
  g_checksum_get_digest(sha, d, &n);
  d[6] = (d[6] & 0x0f) | 0x50;
  d[8] = (d[8] & 0x3f) | 0x80;
  return g_strdup_printf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", d[0], d[1], d[2],
                         d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15]);
}

static gboolean
delete_provider(IcPlacement *p, const IcPlacementProvider *rp, GError **error)
{
  g_autofree char *path = g_strdup_printf("/resource_providers/%s", rp->uuid);
  g_auto(PlacementReply) r = {0};
  if (!ic_placement_http(p, "DELETE", path, NULL, &r, error))
    return FALSE;
  if (r.status == 204 || r.status == 404)
    return TRUE;
  ic_placement_fail("DELETE", path, &r, error);
  g_prefix_error(error, "group provider %s (in use by an allocation?): ", rp->name);
  return FALSE;
}

static char *
child_name(const char *root_name, int group)
{
  return g_strdup_printf("%s_IOMMU_GROUP_%d", root_name, group);
}

static gboolean
is_our_child_name(const char *root_name, const char *name)
{
  g_autofree char *prefix = g_strdup_printf("%s_IOMMU_GROUP_", root_name);
  if (!g_str_has_prefix(name, prefix))
    return FALSE;
  gint64 n;
  return ic_parse_int64(name + strlen(prefix), 10, 0, G_MAXINT, &n);
}

static JsonNode *
inventory_body(gint64 generation, const char *rc)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  ic_json_add_int(b, "resource_provider_generation", generation);
  json_builder_set_member_name(b, "inventories");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, rc);
  json_builder_begin_object(b);
  ic_json_add_int(b, "total", 1);
  ic_json_add_int(b, "max_unit", 1);
  json_builder_end_object(b);
  json_builder_end_object(b);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

/* Inventory {rc: total 1, reserved 0, max_unit 1} exactly? */
static gboolean
inventory_matches(JsonNode *root, const char *rc, gint64 *generation, const char *what, GError **error)
{
  JsonObject *o = ic_json_node_object(root), *inv = NULL, *entry = NULL;
  gint64 total = -1, reserved = 0, max_unit = -1;
  if (o == NULL || !ic_json_get_object(o, "inventories", what, &inv, error) ||
      !ic_json_get_int(o, "resource_provider_generation", what, generation, error))
    return FALSE;
  if (inv == NULL || json_object_get_size(inv) != 1)
    return TRUE; /* not ours exactly: caller compares *generation and rewrites */
  if (!ic_json_get_object(inv, rc, what, &entry, error))
    return FALSE;
  if (entry == NULL || !ic_json_get_int(entry, "total", what, &total, error) ||
      !ic_json_get_int(entry, "reserved", what, &reserved, error) ||
      !ic_json_get_int(entry, "max_unit", what, &max_unit, error))
    return FALSE;
  return total == 1 && reserved == 0 && max_unit == 1;
}

static gboolean
ensure_class(IcPlacement *p, const char *rc, GHashTable *checked, const IcPlacementSyncOptions *o,
             IcPlacementSyncResult *res, GError **error)
{
  if (g_hash_table_contains(checked, rc))
    return TRUE;
  g_hash_table_add(checked, g_strdup(rc));
  g_autofree char *path = g_strdup_printf("/resource_classes/%s", rc);
  g_auto(PlacementReply) r = {0};
  if (!ic_placement_http(p, "GET", path, NULL, &r, error))
    return FALSE;
  if (r.status == 200)
    return TRUE;
  if (r.status != 404)
    return ic_placement_fail("GET", path, &r, error);
  g_ptr_array_add(res->classes_created, g_strdup(rc));
  return o->dry_run || put_expect(p, path, 201, 204, NULL, error);
}

static gboolean
sync_child_inventory(IcPlacement *p, IcPlacementChild *c, const char *rc, GHashTable *checked,
                     const IcPlacementSyncOptions *o, IcPlacementSyncResult *res, GError **error)
{
  g_autofree char *path = g_strdup_printf("/resource_providers/%s/inventories", c->uuid);
  for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    gint64 gen = -1;
    gboolean same = FALSE;
    if (!c->created || attempt > 0 || o->dry_run) {
      if (c->uuid[0] == '\0') { /* dry run: would be created */
        res->changed = TRUE;
        return ensure_class(p, rc, checked, o, res, error);
      }
      g_autoptr(JsonNode) root = ic_placement_get_json(p, path, error);
      g_autoptr(GError) local = NULL;
      if (root == NULL)
        return FALSE;
      same = inventory_matches(root, rc, &gen, path, &local);
      if (local != NULL) { /* an inventory of another shape: ours to rewrite */
        same = FALSE;
      }
    } else {
      gen = c->generation;
    }
    c->generation = gen;
    if (same)
      return TRUE;
    res->changed = TRUE;
    if (!ensure_class(p, rc, checked, o, res, error))
      return FALSE;
    if (o->dry_run)
      return TRUE;
    g_autoptr(JsonNode) body = inventory_body(gen, rc);
    g_auto(PlacementReply) r = {0};
    if (!ic_placement_http(p, "PUT", path, body, &r, error))
      return FALSE;
    if (r.status == 409) {
      g_autofree char *code = NULL;
      g_autofree char *detail = ic_placement_error_detail(r.data, r.len, &code);
      /* a generation conflict is retried; an inventory in use is not */
      if (g_strcmp0(code, "placement.concurrent_update") != 0 && strstr(detail, "generation") == NULL)
        return ic_placement_fail("PUT", path, &r, error);
      res->retries++;
      continue;
    }
    if (r.status != 200)
      return ic_placement_fail("PUT", path, &r, error);
    c->generation = gen + 1;
    return TRUE;
  }
  g_set_error(error, IC_ERROR, IC_ERROR_BUSY, "the inventory of %s changed under every one of %d attempts",
              c->name, MAX_ATTEMPTS);
  return FALSE;
}

static gboolean
sync_children(IcPlacement *p, const IcPlacementProvider *rootp, GPtrArray *groups,
              const IcPlacementSyncOptions *o, IcPlacementSyncResult *res, GError **error)
{
  g_autoptr(GPtrArray) tree = NULL;
  if (rootp->uuid[0] != '\0') {
    g_autofree char *path = g_strdup_printf("/resource_providers?in_tree=%s", rootp->uuid);
    if ((tree = get_providers(p, path, error)) == NULL)
      return FALSE;
  } else {
    tree = g_ptr_array_new_with_free_func((GDestroyNotify) ic_placement_provider_free);
  }
  g_autoptr(GHashTable) existing = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < tree->len; i++) {
    IcPlacementProvider *rp = g_ptr_array_index(tree, i);
    if (g_strcmp0(rp->parent_uuid, rootp->uuid) == 0 && is_our_child_name(rootp->name, rp->name))
      g_hash_table_insert(existing, rp->name, rp);
  }
  g_autoptr(GHashTable) checked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; groups && i < groups->len; i++) {
    const IcFleetGroup *g = g_ptr_array_index(groups, i);
    IcPlacementChild *c = g_new0(IcPlacementChild, 1);
    g_ptr_array_add(res->children, c);
    c->name = child_name(rootp->name, g->group->number);
    g_autofree char *want_uuid = ic_placement_group_uuid(rootp->uuid, g->group->number, g->resource_class);
    IcPlacementProvider *rp = g_hash_table_lookup(existing, c->name);
    if (rp != NULL && strcmp(rp->uuid, want_uuid) == 0 && rp->generation >= 1) {
      /* same UUID: same group, same class, and its inventory was written */
      c->uuid = g_strdup(rp->uuid);
      c->generation = rp->generation;
      g_hash_table_remove(existing, c->name);
      continue;
    }
    if (rp != NULL && strcmp(rp->uuid, want_uuid) == 0) { /* created, inventory never written */
      c->uuid = g_strdup(rp->uuid);
      c->generation = rp->generation;
      g_hash_table_remove(existing, c->name);
    } else {
      if (rp != NULL) { /* the group's members changed: a new provider replaces it */
        res->changed = TRUE;
        g_ptr_array_add(res->children_removed, g_strdup(rp->name));
        if (!o->dry_run && !delete_provider(p, rp, error))
          return FALSE;
        g_hash_table_remove(existing, c->name);
      }
      res->changed = TRUE;
      c->created = TRUE;
      if (o->dry_run || rootp->uuid[0] == '\0')
        c->uuid = g_strdup("");
      else {
        g_autoptr(IcPlacementProvider) made = create_provider(p, c->name, want_uuid, rootp->uuid, error);
        if (made == NULL)
          return FALSE;
        c->uuid = g_strdup(made->uuid);
        c->generation = made->generation;
      }
    }
    if (!sync_child_inventory(p, c, g->resource_class, checked, o, res, error))
      return FALSE;
  }
  /* groups that are no longer assignable: their providers go */
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, existing);
  while (g_hash_table_iter_next(&it, &key, &value)) {
    IcPlacementProvider *rp = value;
    res->changed = TRUE;
    g_ptr_array_add(res->children_removed, g_strdup(rp->name));
    if (!o->dry_run && !delete_provider(p, rp, error))
      return FALSE;
  }
  return TRUE;
}

IcPlacementSyncResult *
ic_placement_sync(IcPlacement *p, const char *host_name, GPtrArray *traits, GPtrArray *groups,
                  const IcPlacementSyncOptions *o, GError **error)
{
  g_autoptr(IcPlacementSyncResult) res = g_new0(IcPlacementSyncResult, 1);
  res->added = g_ptr_array_new_with_free_func(g_free);
  res->removed = g_ptr_array_new_with_free_func(g_free);
  res->foreign = g_ptr_array_new_with_free_func(g_free);
  res->traits_created = g_ptr_array_new_with_free_func(g_free);
  res->classes_created = g_ptr_array_new_with_free_func(g_free);
  res->children = g_ptr_array_new_with_free_func(child_free);
  res->children_removed = g_ptr_array_new_with_free_func(g_free);
  guint reads0 = ic_placement_reads(p), writes0 = ic_placement_writes(p);

  g_autoptr(GPtrArray) wanted = g_ptr_array_new();
  for (guint i = 0; i < traits->len; i++) {
    IcPolicyTrait *t = g_ptr_array_index(traits, i);
    if (t->present)
      g_ptr_array_add(wanted, t->name);
  }
  const char *provider = o->provider ? o->provider : host_name;
  if (provider == NULL || provider[0] == '\0') {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "no provider name: give --provider NAME|UUID");
    return NULL;
  }
  g_autoptr(GError) local = NULL;
  g_autoptr(IcPlacementProvider) rootp = find_provider(p, provider, &local);
  if (local != NULL) {
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  if (rootp == NULL) {
    if (!o->create) {
      g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND,
                  "Placement has no resource provider %s; run with --create to create it", provider);
      return NULL;
    }
    gboolean by_uuid = looks_like_uuid(provider);
    const char *name = by_uuid ? host_name : provider;
    if (name == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "creating provider %s needs a name", provider);
      return NULL;
    }
    res->provider_created = TRUE;
    res->changed = TRUE;
    if (o->dry_run) {
      rootp = g_new0(IcPlacementProvider, 1);
      rootp->uuid = g_strdup(by_uuid ? provider : "");
      rootp->name = g_strdup(name);
      if (by_uuid) { /* nothing to read yet: the provider does not exist */
        g_free(rootp->uuid);
        rootp->uuid = g_strdup("");
      }
    } else if ((rootp = create_provider(p, name, by_uuid ? provider : NULL, NULL, error)) == NULL) {
      return NULL;
    }
  }
  res->provider_name = g_strdup(rootp->name);
  res->provider_uuid = rootp->uuid[0] ? g_strdup(rootp->uuid) : NULL;
  if (!sync_root_traits(p, rootp->uuid, traits, wanted, o, res, error) ||
      !sync_children(p, rootp, groups, o, res, error))
    return NULL;
  res->reads = ic_placement_reads(p) - reads0;
  res->writes = ic_placement_writes(p) - writes0;
  return g_steal_pointer(&res);
}
