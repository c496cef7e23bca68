/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The persisted records: <state_dir>/persist.db, a sibling of the assign
 * journal.  The state directory is opened through the assign layer (its
 * journal open creates and checks it), never by a path of our own, so the
 * trust checks on the state directory apply here too; the database itself
 * is opened without following a symlink.
 *
 * persisted  one row per device: its identity when persisted (ids, class,
 *            group and members, the ports above), the vfio driver, the host
 *            driver and module it had, the config root its files are under
 *            and the command that persisted it. */
#include "persist/persist-private.h"
#include "assign/assign-private.h"
#include "util/ic-util.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

struct IcPsStore {
  sqlite3 *db;
  char *path;
};

static const char schema_sql[] =
  "CREATE TABLE IF NOT EXISTS persisted ("
  "  dev TEXT PRIMARY KEY, grp INTEGER NOT NULL,"
  "  vendor INTEGER NOT NULL, device INTEGER NOT NULL,"
  "  subsys_vendor INTEGER NOT NULL, subsys_device INTEGER NOT NULL, class INTEGER NOT NULL,"
  "  driver TEXT NOT NULL, host_driver TEXT, host_module TEXT,"
  "  members TEXT NOT NULL, ports TEXT NOT NULL,"
  "  config_root TEXT NOT NULL, command TEXT NOT NULL, since TEXT NOT NULL);"
  "PRAGMA user_version = 1;";

static gboolean
db_fail(IcPsStore *s, GError **error, const char *what)
{
  g_set_error(error, IC_ERROR, IC_ERROR_IO, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
  return FALSE;
}

void
ic_ps_store_close(IcPsStore *s)
{
  if (s == NULL)
    return;
  if (s->db != NULL)
    sqlite3_close(s->db);
  g_free(s->path);
  g_free(s);
}

/* persist.db itself: created 0600 before SQLite opens it (SQLite would use
 * 0644 & ~umask, and give -wal/-shm the same mode), never through a
 * symlink, and refused when someone else could have written it: the udev
 * rules are generated from its rows. */
static gboolean
trust_db_file(const char *path, gboolean create, GError **error)
{
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) {
    g_set_error(error, IC_ERROR, errno == ELOOP ? IC_ERROR_PERMISSION : IC_ERROR_IO,
                "%s: %s", path, errno == ELOOP ? "is a symlink; refusing it" : g_strerror(errno));
    return FALSE;
  }
  /* the state directory's rule, as for the assign layer's journal */
  gboolean ok = ic_trusted_state_fd(fd, path, FALSE, error);
  close(fd);
  return ok;
}

IcPsStore *
ic_ps_store_open(IcContext *ctx, gboolean create, GError **error)
{
  g_autoptr(GError) local = NULL;
  /* the assign layer's open creates (or checks) the state directory */
  g_autoptr(IcAsJournal) j = ic_as_journal_open(ctx, create, &local);
  if (j == NULL) {
    if (!create && g_error_matches(local, IC_ERROR, IC_ERROR_NOT_FOUND))
      return NULL;
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  g_autofree char *path = g_build_filename(ctx->state_dir, "persist.db", NULL);
  if (!create && !g_file_test(path, G_FILE_TEST_EXISTS) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK))
    return NULL;
  if (!trust_db_file(path, create, error))
    return NULL;
  g_autoptr(IcPsStore) s = g_new0(IcPsStore, 1);
  s->path = g_steal_pointer(&path);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
#ifdef SQLITE_OPEN_NOFOLLOW
  flags |= SQLITE_OPEN_NOFOLLOW;
#endif
  if (sqlite3_open_v2(s->path, &s->db, flags, NULL) != SQLITE_OK) {
    db_fail(s, error, "cannot open");
    return NULL;
  }
  sqlite3_busy_timeout(s->db, (int) MAX(ctx->lock_timeout_ms, 1000));
  char *msg = NULL;
  if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK ||
      sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "%s: %s", s->path, msg ? msg : "error");
    sqlite3_free(msg);
    return NULL;
  }
  return g_steal_pointer(&s);
}

static char *
column_dup(sqlite3_stmt *st, int col)
{
  const unsigned char *t = sqlite3_column_text(st, col);
  return t ? g_strdup((const char *) t) : NULL;
}

static guint
column_uint(sqlite3_stmt *st, int col, guint max, gboolean *ok)
{
  sqlite3_int64 v = sqlite3_column_int64(st, col);
  if (sqlite3_column_type(st, col) != SQLITE_INTEGER || v < 0 || (guint64) v > max) {
    *ok = FALSE;
    return 0;
  }
  return (guint) v;
}

GPtrArray *
ic_ps_store_load(IcPsStore *s, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT dev, grp, vendor, device, subsys_vendor, subsys_device, class, driver,"
                         " host_driver, host_module, members, ports, config_root, command, since"
                         " FROM persisted ORDER BY dev", -1, &st, NULL) != SQLITE_OK) {
    db_fail(s, error, "read");
    return NULL;
  }
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify) ic_persist_device_free);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    g_autoptr(IcPersistDevice) d = g_new0(IcPersistDevice, 1);
    gboolean ok = TRUE;
    d->name = column_dup(st, 0);
    d->group = column_uint(st, 1, G_MAXINT, &ok);
    d->vendor = column_uint(st, 2, 0xffff, &ok);
    d->device = column_uint(st, 3, 0xffff, &ok);
    d->subsys_vendor = column_uint(st, 4, 0xffff, &ok);
    d->subsys_device = column_uint(st, 5, 0xffff, &ok);
    d->class_code = column_uint(st, 6, 0xffffff, &ok);
    d->driver = column_dup(st, 7);
    d->host_driver = column_dup(st, 8);
    d->host_module = column_dup(st, 9);
    g_autofree char *members = column_dup(st, 10);
    g_autofree char *ports = column_dup(st, 11);
    d->config_root = column_dup(st, 12);
    d->command = column_dup(st, 13);
    d->since = column_dup(st, 14);
    g_autoptr(GError) local = NULL;
    if (ok && members != NULL && ports != NULL) {
      d->members = ic_persist_parse_addr_list(members, "members", &local);
      if (d->members != NULL)
        d->ports = ic_persist_parse_addr_list(ports, "ports", &local);
    }
    if (!ok || d->members == NULL || d->ports == NULL || d->command == NULL || d->since == NULL ||
        !ic_persist_device_validate(d, local ? NULL : &local)) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: record %s is damaged%s%s; "
                  "nothing was changed", s->path, d->name ? d->name : "(no address)",
                  local ? ": " : "", local ? local->message : "");
      sqlite3_finalize(st);
      return NULL;
    }
    g_ptr_array_add(out, g_steal_pointer(&d));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    db_fail(s, error, "read");
    return NULL;
  }
  return g_steal_pointer(&out);
}

static char *
join_or_empty(char **v)
{
  return g_strjoinv(" ", v ? v : (char *[]){NULL});
}

static gboolean
exec(IcPsStore *s, const char *sql, GError **error)
{
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(s, error, sql);
  return TRUE;
}

static gboolean
put_row(IcPsStore *s, const IcPersistDevice *d, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT OR REPLACE INTO persisted VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(s, error, "write");
  g_autofree char *members = join_or_empty(d->members);
  g_autofree char *ports = join_or_empty(d->ports);
  sqlite3_bind_text(st, 1, d->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, d->group);
  sqlite3_bind_int64(st, 3, d->vendor);
  sqlite3_bind_int64(st, 4, d->device);
  sqlite3_bind_int64(st, 5, d->subsys_vendor);
  sqlite3_bind_int64(st, 6, d->subsys_device);
  sqlite3_bind_int64(st, 7, d->class_code);
  sqlite3_bind_text(st, 8, d->driver, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 9, d->host_driver, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 10, d->host_module, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 11, members, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 12, ports, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 13, d->config_root, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 14, d->command, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 15, d->since, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? TRUE : db_fail(s, error, "write");
}

static gboolean
drop_row(IcPsStore *s, const char *dev, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, "DELETE FROM persisted WHERE dev = ?", -1, &st, NULL) != SQLITE_OK)
    return db_fail(s, error, "delete");
  sqlite3_bind_text(st, 1, dev, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? TRUE : db_fail(s, error, "delete");
}

gboolean
ic_ps_store_update(IcPsStore *s, GPtrArray *put, GPtrArray *drop, GError **error)
{
  if (!exec(s, "BEGIN IMMEDIATE", error))
    return FALSE;
  for (guint i = 0; drop != NULL && i < drop->len; i++)
    if (!drop_row(s, ((IcPersistDevice *) drop->pdata[i])->name, error))
      goto fail;
  for (guint i = 0; put != NULL && i < put->len; i++)
    if (!put_row(s, put->pdata[i], error))
      goto fail;
  return exec(s, "COMMIT", error);
fail:
  sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}
