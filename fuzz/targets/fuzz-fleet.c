/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: OpenStack Placement's replies as `placement sync` and `place
 * --placement` read them (a server, or anything answering on its URL, is
 * not under our control).  The first byte picks the reply:
 *   'P' a provider listing / one provider   'T' a provider's traits
 *   'C' allocation candidates                else an error body
 * Invariant: a reply is parsed or refused with an error; no GLib critical
 * (fatal here, see fuzz-common.c), no crash.
 * 'P' and 'C' also run the readers that skip json-glib's tree (SQLite's
 * JSON functions, placement-listing.c) on the same bytes: when both readers
 * accept a reply they must give the same providers, field for field, or the
 * same candidate set.  Not when an object names a member twice: JSON leaves
 * that to the reader (json-glib keeps the last, a SQLite path the first). */
#include <iommuctl/fleet.h>

#include <sqlite3.h>
#include <string.h>

static gboolean
has_duplicate_member(const char *body, gsize len)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  gboolean dup = TRUE; /* unreadable: compare nothing */
  if (sqlite3_open(":memory:", &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT count(*) FROM (SELECT 1 FROM json_tree(?1) WHERE typeof(key) = 'text' "
                             "GROUP BY parent, key HAVING count(*) > 1)", -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text64(st, 1, body, len, SQLITE_STATIC, SQLITE_UTF8);
    if (sqlite3_step(st) == SQLITE_ROW)
      dup = sqlite3_column_int64(st, 0) > 0;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return dup;
}

static gboolean
same_provider(const IcPlacementProvider *a, const IcPlacementProvider *b)
{
  return g_strcmp0(a->uuid, b->uuid) == 0 && g_strcmp0(a->name, b->name) == 0 &&
         g_strcmp0(a->parent_uuid, b->parent_uuid) == 0 && g_strcmp0(a->root_uuid, b->root_uuid) == 0 &&
         a->generation == b->generation;
}

/* The flat reader against the tree reader (root may be NULL: json-glib
 * refused the bytes). */
static void
check_listing(const char *body, gsize len, JsonNode *root)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) flat = ic_placement_parse_provider_list(body, len, "fuzz", &error);
  if (flat == NULL && error == NULL)
    __builtin_trap();
  if (flat == NULL || root == NULL)
    return;
  g_autoptr(GError) tree_error = NULL;
  g_autoptr(GPtrArray) tree = ic_placement_parse_providers(root, "fuzz", &tree_error);
  if (tree == NULL || has_duplicate_member(body, len))
    return; /* json-glib's number and escape rules are not SQLite's: one may refuse what the other reads */
  if (tree->len != flat->len)
    __builtin_trap();
  for (guint i = 0; i < tree->len; i++)
    if (!same_provider(g_ptr_array_index(tree, i), g_ptr_array_index(flat, i)))
      __builtin_trap();
}

/* The flat candidate reader against the tree's set (NULL: refused). */
static void
check_candidates(const char *body, gsize len, GHashTable *tree)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) flat = ic_placement_parse_candidate_set(body, len, "fuzz", &error);
  if (flat == NULL && error == NULL)
    __builtin_trap();
  if (flat == NULL || tree == NULL || has_duplicate_member(body, len))
    return;
  if (g_hash_table_size(flat) != g_hash_table_size(tree))
    __builtin_trap();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, tree);
  while (g_hash_table_iter_next(&it, &key, NULL))
    if (!g_hash_table_contains(flat, key))
      __builtin_trap();
}

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (size < 1 || size > 1 << 16)
    return 0;
  const char *body = (const char *) data + 1;
  gsize len = size - 1;
  if (data[0] != 'P' && data[0] != 'T' && data[0] != 'C') {
    g_autofree char *code = NULL;
    g_autofree char *detail = ic_placement_error_detail(body, len, &code);
    if (detail == NULL)
      __builtin_trap(); /* there is always something to show */
    return 0;
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = ic_placement_parse_object(body, len, "fuzz", &error);
  if (data[0] == 'P')
    check_listing(body, len, root);
  else if (data[0] == 'C' && root == NULL)
    check_candidates(body, len, NULL);
  if (root == NULL) {
    if (error == NULL)
      __builtin_trap();
    return 0;
  }
  g_clear_error(&error);
  if (data[0] == 'P') {
    g_autoptr(GPtrArray) list = ic_placement_parse_providers(root, "fuzz", &error);
    if (list == NULL && error == NULL)
      __builtin_trap();
    g_clear_error(&error);
    g_autoptr(IcPlacementProvider) one = ic_placement_parse_provider(root, "fuzz", &error);
    if (one == NULL && error == NULL)
      __builtin_trap();
  } else if (data[0] == 'T') {
    gint64 gen = 0;
    g_autoptr(GPtrArray) traits = ic_placement_parse_traits(root, "fuzz", &gen, &error);
    if (traits == NULL && error == NULL)
      __builtin_trap();
  } else {
    g_autoptr(GHashTable) set = ic_placement_parse_candidates(root, "fuzz", &error);
    if (set == NULL && error == NULL)
      __builtin_trap();
    gboolean tree_ok = set != NULL && ic_placement_candidate_roots(root, set, "fuzz", &error);
    if (set != NULL && !tree_ok && error == NULL)
      __builtin_trap();
    check_candidates(body, len, tree_ok ? set : NULL);
  }
  return 0;
}
