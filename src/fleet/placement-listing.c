/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placement's provider listings (GET /resource_providers?...) and
 * allocation candidates, read without building a json-glib tree.
 *
 * Why: `place --placement` over 10,000 providers reads 7.7 MB of listings
 * to name the ones it explains, and each provider is 20 fields and 6 link
 * objects of which it needs 5 fields.  json-glib has no streaming reader;
 * its tree costs ~210 ms of CPU for one 10,000-provider listing here
 * (GScanner, a GHashTable and a JsonNode per value), which was most of the
 * distance to the 3x target.  SQLite, which iommuctl already links for its
 * journal, has a JSON reader of its own (json_each(), documented, in every
 * SQLite since 3.38 and fuzzed upstream): one pass over the text into a flat
 * node array, then only the members asked for reach C.  Same listing: ~45 ms.
 * The 1.4 MB of candidates for 2,522 hosts (allocation requests, and
 * summaries with resources and traits) cost json-glib a third of the CPU
 * that was left; only the UUIDs and their roots are needed from them.
 * This is not a hand-written JSON parser: what is ours is the checking of
 * shapes and types, which keeps the messages of the json-glib reader
 * (placement-reply.c).  fuzz-fleet runs both on the same bytes and requires
 * the same providers whenever both accept. */
#include "fleet-private.h"

#include <sqlite3.h>

/* The members a provider is read for (the others, links included, stay in SQLite). */
#define LISTING_QUERY                                                                                            \
  "SELECT e.key, e.type, m.key, m.type, m.atom "                                                                \
  "FROM json_each(?1, '$.resource_providers') AS e "                                                            \
  "LEFT JOIN json_each(CASE e.type WHEN 'object' THEN e.value ELSE '{}' END) AS m "                            \
  "ON m.key IN ('uuid', 'name', 'generation', 'parent_provider_uuid', 'root_provider_uuid')"

static gboolean
sqlite_failed(sqlite3 *db, const char *what, GError **error)
{
  g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply is not JSON: %s", what,
              db ? sqlite3_errmsg(db) : "out of memory");
  return FALSE;
}

/* Why a reply gave no entry in its list MEMBER (resource_providers,
 * allocation_requests): an empty list is fine, anything else is an error.
 * Only asked then, for each statement over the reply costs a pass over it
 * (and a copy: 20-60 ms for 7.7 MB here). */
static gboolean
check_list_shape(sqlite3 *db, const char *data, gsize len, const char *member, const char *what, GError **error)
{
  sqlite3_stmt *st = NULL;
  g_autofree char *path = g_strdup_printf("$.%s", member);
  if (sqlite3_prepare_v2(db, "SELECT json_type(?1), json_type(?1, ?2)", -1, &st, NULL) != SQLITE_OK)
    return sqlite_failed(db, what, error);
  sqlite3_bind_text64(st, 1, data, len, SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
  gboolean ok = FALSE;
  const char *list = NULL;
  if (sqlite3_step(st) != SQLITE_ROW)
    sqlite_failed(db, what, error);
  else if (g_strcmp0((const char *) sqlite3_column_text(st, 0), "object") != 0)
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply is not a JSON object", what);
  else if ((list = (const char *) sqlite3_column_text(st, 1)) == NULL || strcmp(list, "null") == 0)
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply has no %s%s", what, member,
                strcmp(member, "resource_providers") == 0 ? " list" : "");
  else if (strcmp(list, "array") != 0)
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.%s must be an array", what, member);
  else
    ok = TRUE;
  sqlite3_finalize(st);
  return ok;
}

/* One member of a provider into rp, with the json-glib reader's rules: null
 * is absent, a string must be a string (UTF-8), generation an integer. */
static gboolean
take_member(IcPlacementProvider *rp, sqlite3_stmt *st, const char *what, GError **error)
{
  const char *key = (const char *) sqlite3_column_text(st, 2);
  const char *type = (const char *) sqlite3_column_text(st, 3);
  if (strcmp(type, "null") == 0) {
    /* a later null hides an earlier value, as in json-glib (last one wins) */
    char **field = strcmp(key, "uuid") == 0                   ? &rp->uuid
                   : strcmp(key, "name") == 0                 ? &rp->name
                   : strcmp(key, "parent_provider_uuid") == 0 ? &rp->parent_uuid
                   : strcmp(key, "root_provider_uuid") == 0   ? &rp->root_uuid
                                                              : NULL;
    if (field != NULL)
      g_clear_pointer(field, g_free);
    else
      rp->generation = -1;
    return TRUE;
  }
  if (strcmp(key, "generation") == 0) {
    if (strcmp(type, "integer") != 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.%s must be %s", what, key, "an integer");
      return FALSE;
    }
    rp->generation = sqlite3_column_int64(st, 4);
    return TRUE;
  }
  const char *text = (const char *) sqlite3_column_text(st, 4);
  int n = sqlite3_column_bytes(st, 4);
  /* an escaped NUL (\u0000) or a lone surrogate is no name or UUID */
  if (strcmp(type, "text") != 0 || text == NULL || memchr(text, '\0', (size_t) n) != NULL ||
      !g_utf8_validate(text, n, NULL)) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.%s must be %s", what, key, "a string");
    return FALSE;
  }
  char **field = strcmp(key, "uuid") == 0   ? &rp->uuid
                 : strcmp(key, "name") == 0 ? &rp->name
                 : strcmp(key, "parent_provider_uuid") == 0 ? &rp->parent_uuid
                                                            : &rp->root_uuid;
  g_free(*field);
  *field = g_strndup(text, (gsize) n);
  return TRUE;
}

static gboolean
provider_complete(const IcPlacementProvider *rp, const char *what, GError **error)
{
  if (rp->uuid == NULL || rp->name == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: a resource provider lacks its uuid or name", what);
    return FALSE;
  }
  return TRUE;
}

static GPtrArray *
read_listing(sqlite3 *db, const char *data, gsize len, const char *what, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, LISTING_QUERY, -1, &st, NULL) != SQLITE_OK) {
    sqlite_failed(db, what, error);
    return NULL;
  }
  sqlite3_bind_text64(st, 1, data, len, SQLITE_STATIC, SQLITE_UTF8);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) ic_placement_provider_free);
  IcPlacementProvider *rp = NULL;
  sqlite3_int64 index = -1;
  int rc;
  gboolean ok = TRUE;
  while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) { /* a member name: the "list" is an object */
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.resource_providers must be an array", what);
      ok = FALSE;
      break;
    }
    sqlite3_int64 at = sqlite3_column_int64(st, 0);
    if (rp == NULL || at != index) { /* the first row of the next element */
      if (rp != NULL && !(ok = provider_complete(rp, what, error)))
        break;
      if (strcmp((const char *) sqlite3_column_text(st, 1), "object") != 0) {
        g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: a resource provider is not an object", what);
        ok = FALSE;
        break;
      }
      rp = g_new0(IcPlacementProvider, 1);
      rp->generation = -1;
      g_ptr_array_add(out, rp);
      index = at;
    }
    if (sqlite3_column_type(st, 2) != SQLITE_NULL) /* NULL: the LEFT JOIN's row of a provider with none */
      ok = take_member(rp, st, what, error);
  }
  if (ok && rc != SQLITE_DONE)
    ok = sqlite_failed(db, what, error);
  sqlite3_finalize(st);
  if (ok && rp != NULL)
    ok = provider_complete(rp, what, error);
  else if (ok) /* no element: an empty list, or none at all */
    ok = check_list_shape(db, data, len, "resource_providers", what, error);
  return ok ? g_steal_pointer(&out) : NULL;
}

/* A private in-memory database to read REPLY with SQLite's JSON functions
 * (nothing is stored).  SQLite reads text up to its first NUL; JSON text has
 * none, so a NUL means the reply is not JSON (and must not be read as a
 * shorter one). */
static sqlite3 *
open_json_reader(const char *data, gsize len, const char *what, GError **error)
{
  if (data == NULL || len > (gsize) G_MAXINT || memchr(data, '\0', len) != NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply is not JSON: %s", what,
                data == NULL ? "no reply" : len > (gsize) G_MAXINT ? "too large" : "it holds a NUL byte");
    return NULL;
  }
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    sqlite_failed(db, what, error);
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

GPtrArray *
ic_placement_parse_provider_list(const char *data, gsize len, const char *what, GError **error)
{
  sqlite3 *db = open_json_reader(data, len, what, error);
  if (db == NULL)
    return NULL;
  GPtrArray *list = read_listing(db, data, len, what, error);
  sqlite3_close(db);
  return list;
}

/* ---- allocation candidates ------------------------------------------------- */

/* A provider UUID as Placement names it: a string, UTF-8, no NUL. */
static gboolean
column_is_name(sqlite3_stmt *st, int col)
{
  const char *text = (const char *) sqlite3_column_text(st, col);
  int n = sqlite3_column_bytes(st, col);
  return sqlite3_column_type(st, col) == SQLITE_TEXT && text != NULL && memchr(text, '\0', (size_t) n) == NULL &&
         g_utf8_validate(text, n, NULL);
}

/* The providers named by allocation_requests[].allocations, into set. */
static gboolean
read_allocations(sqlite3 *db, const char *data, gsize len, GHashTable *set, const char *what, GError **error)
{
  static const char sql[] =
    "SELECT r.key, r.type, json_type(CASE r.type WHEN 'object' THEN r.value ELSE '{}' END, '$.allocations'), a.key "
    "FROM json_each(?1, '$.allocation_requests') AS r "
    "LEFT JOIN json_each(CASE r.type WHEN 'object' THEN r.value ELSE '{}' END, '$.allocations') AS a";
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return sqlite_failed(db, what, error);
  sqlite3_bind_text64(st, 1, data, len, SQLITE_STATIC, SQLITE_UTF8);
  gboolean ok = TRUE, any = FALSE;
  int rc;
  while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    any = TRUE;
    if (sqlite3_column_type(st, 0) != SQLITE_INTEGER) { /* a member name: not an array */
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.allocation_requests must be an array", what);
      ok = FALSE;
      break;
    }
    sqlite3_int64 i = sqlite3_column_int64(st, 0);
    const char *type = (const char *) sqlite3_column_text(st, 2);
    if (strcmp((const char *) sqlite3_column_text(st, 1), "object") != 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: allocation_requests[%" G_GINT64_FORMAT "] is not a JSON object",
                  what, (gint64) i);
      ok = FALSE;
    } else if (type == NULL || strcmp(type, "null") == 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE,
                  "%s: allocation_requests[%" G_GINT64_FORMAT "] has no allocations object", what, (gint64) i);
      ok = FALSE;
    } else if (strcmp(type, "object") != 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.allocations must be an object", what);
      ok = FALSE;
    } else if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
      /* a member name is text; json-glib reads it as it is, so do we (no UTF-8 check on keys there either) */
      const char *uuid = (const char *) sqlite3_column_text(st, 3);
      g_hash_table_add(set, g_strndup(uuid, (gsize) sqlite3_column_bytes(st, 3)));
    }
  }
  if (ok && rc != SQLITE_DONE)
    ok = sqlite_failed(db, what, error);
  sqlite3_finalize(st);
  if (ok && !any)
    ok = check_list_shape(db, data, len, "allocation_requests", what, error);
  return ok;
}

static gboolean
check_summaries_shape(sqlite3 *db, const char *data, gsize len, const char *what, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, "SELECT json_type(?1, '$.provider_summaries')", -1, &st, NULL) != SQLITE_OK)
    return sqlite_failed(db, what, error);
  sqlite3_bind_text64(st, 1, data, len, SQLITE_STATIC, SQLITE_UTF8);
  gboolean ok = FALSE;
  const char *type = NULL;
  if (sqlite3_step(st) != SQLITE_ROW)
    sqlite_failed(db, what, error);
  else if ((type = (const char *) sqlite3_column_text(st, 0)) != NULL && strcmp(type, "object") != 0 &&
           strcmp(type, "null") != 0)
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.provider_summaries must be an object", what);
  else
    ok = TRUE;
  sqlite3_finalize(st);
  return ok;
}

/* A candidate allocating from a child counts for its root: the
 * root_provider_uuid provider_summaries gives each member of set.  No
 * summaries (absent or null) adds nothing. */
static gboolean
read_summary_roots(sqlite3 *db, const char *data, gsize len, GHashTable *set, const char *what, GError **error)
{
  /* json_each over a non-object: an array gives integer keys, a scalar or
   * null one row without a key */
  static const char sql[] =
    "SELECT s.key, s.type, "
    "json_type(CASE s.type WHEN 'object' THEN s.value ELSE '{}' END, '$.root_provider_uuid'), "
    "json_extract(CASE s.type WHEN 'object' THEN s.value ELSE '{}' END, '$.root_provider_uuid') "
    "FROM json_each(?1, '$.provider_summaries') AS s";
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return sqlite_failed(db, what, error);
  sqlite3_bind_text64(st, 1, data, len, SQLITE_STATIC, SQLITE_UTF8);
  g_autoptr(GPtrArray) roots = g_ptr_array_new_with_free_func(g_free);
  gboolean ok = TRUE, any = FALSE;
  int rc;
  while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    any = TRUE;
    const char *type = (const char *) sqlite3_column_text(st, 1);
    if (sqlite3_column_type(st, 0) != SQLITE_TEXT) {
      if (sqlite3_column_type(st, 0) == SQLITE_NULL && strcmp(type, "null") == 0)
        break; /* "provider_summaries": null */
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.provider_summaries must be an object", what);
      ok = FALSE;
      break;
    }
    const char *uuid = (const char *) sqlite3_column_text(st, 0);
    if (!g_hash_table_contains(set, uuid) || strcmp(type, "null") == 0)
      continue;
    const char *rtype = (const char *) sqlite3_column_text(st, 2);
    if (strcmp(type, "object") != 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.%s must be an object", what, uuid);
      ok = FALSE;
    } else if (rtype == NULL || strcmp(rtype, "null") == 0) {
      continue;
    } else if (strcmp(rtype, "text") != 0 || !column_is_name(st, 3)) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s.root_provider_uuid must be a string", what);
      ok = FALSE;
    } else if (strcmp((const char *) sqlite3_column_text(st, 3), uuid) != 0) {
      g_ptr_array_add(roots, g_strdup((const char *) sqlite3_column_text(st, 3)));
    }
  }
  if (ok && rc != SQLITE_ROW && rc != SQLITE_DONE)
    ok = sqlite_failed(db, what, error);
  sqlite3_finalize(st);
  if (ok && !any) /* absent, {} or []: only the last is wrong */
    ok = check_summaries_shape(db, data, len, what, error);
  for (guint i = 0; ok && i < roots->len; i++)
    g_hash_table_add(set, g_strdup(g_ptr_array_index(roots, i)));
  return ok;
}

GHashTable *
ic_placement_parse_candidate_set(const char *data, gsize len, const char *what, GError **error)
{
  sqlite3 *db = open_json_reader(data, len, what, error);
  if (db == NULL)
    return NULL;
  g_autoptr(GHashTable) set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  gboolean ok = read_allocations(db, data, len, set, what, error) && read_summary_roots(db, data, len, set, what, error);
  sqlite3_close(db);
  return ok ? g_steal_pointer(&set) : NULL;
}
