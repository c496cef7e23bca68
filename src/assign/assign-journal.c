/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The assignment journal: SQLite in <state_dir>/state.db.
 *
 * ops         one row per operation: kind, state, pid, error
 * op_devices  every device of an operation with its state before (from_*)
 *             and its goal (to_*), written with the op row in one durable
 *             transaction before the first sysfs write
 * steps       every sysfs write that took effect, in order
 * detached    the registry: devices iommuctl detached and has not given
 *             back, with the driver to give them back to
 *
 * WAL. An operation's intent (ops + op_devices, before the first sysfs
 * write) and its end (state + registry) are committed with synchronous=FULL:
 * on disk when the commit returns, so after a power loss the journal never
 * claims less than what was begun or finished.  The steps between them are
 * committed with synchronous=NORMAL: written to the WAL (so a killed process
 * loses none of them) but not fsynced, since recovery never reads them (it
 * reads sysfs and is idempotent; the count is only shown by `status`), and
 * a later FULL commit's fsync makes them durable in order.  WAL frames are
 * checksummed, so a power loss can cut the log short but never reorder it.
 * That is 2 fsyncs per operation instead of 2 + one per sysfs write. */
#include "assign/assign-private.h"
#include "util/ic-util.h"

#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

struct IcAsJournal {
  sqlite3 *db;
  char *path;
  sqlite3_stmt *step_insert; /* prepared at the first step, kept: an operation
                              * writes one per sysfs write, and parsing the
                              * statement cost more than running it */
  gboolean sync_off; /* IOMMUCTL_JOURNAL_SYNC=off (bench only): no fsync at all */
};

static const char schema_sql[] =
  "CREATE TABLE IF NOT EXISTS ops ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  kind TEXT NOT NULL, args TEXT, state TEXT NOT NULL,"
  "  pid INTEGER, started TEXT NOT NULL, finished TEXT, error TEXT);"
  "CREATE TABLE IF NOT EXISTS op_devices ("
  "  op_id INTEGER NOT NULL REFERENCES ops(id), seq INTEGER NOT NULL,"
  "  dev TEXT NOT NULL, grp INTEGER NOT NULL,"
  "  from_driver TEXT, from_override TEXT, to_driver TEXT, to_override TEXT,"
  "  PRIMARY KEY (op_id, seq));"
  "CREATE TABLE IF NOT EXISTS steps ("
  "  op_id INTEGER NOT NULL REFERENCES ops(id), n INTEGER NOT NULL,"
  "  phase TEXT NOT NULL, dev TEXT NOT NULL, action TEXT NOT NULL, value TEXT,"
  "  at TEXT NOT NULL, PRIMARY KEY (op_id, n));"
  "CREATE TABLE IF NOT EXISTS detached ("
  "  dev TEXT PRIMARY KEY, grp INTEGER NOT NULL,"
  "  orig_driver TEXT, orig_override TEXT, driver TEXT, since TEXT NOT NULL,"
  "  op_id INTEGER);";

/* What to do when the journal cannot be read: the devices it recorded are
 * still on vfio-pci with iommuctl's driver_override, which is enough to
 * give them back. */
#define SALVAGE_HINT                                                                              \
  "; iommuctl cannot tell from it which devices it detached: 'iommuctl recover --from-sysfs' "  \
  "returns the devices it left on vfio-pci (driver_override) to their drivers, and "             \
  "'--move-journal-aside' sets the damaged file aside"

static gboolean
journal_corrupt(IcAsJournal *j, GError **error, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean
journal_corrupt(IcAsJournal *j, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *why = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, IC_ERROR, IC_ERROR_IO, "journal %s is damaged: %s" SALVAGE_HINT, j->path, why);
  return FALSE;
}

static gboolean
is_corruption(int rc)
{
  rc &= 0xff; /* primary code */
  return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB || rc == SQLITE_FORMAT;
}

static gboolean
db_fail(IcAsJournal *j, GError **error, const char *what)
{
  if (is_corruption(sqlite3_extended_errcode(j->db)))
    return journal_corrupt(j, error, "%s: %s", what, sqlite3_errmsg(j->db));
  g_set_error(error, IC_ERROR, IC_ERROR_IO, "journal %s: %s: %s", j->path, what,
              sqlite3_errmsg(j->db));
  return FALSE;
}

static gboolean
exec_sql(IcAsJournal *j, const char *sql, GError **error)
{
  char *msg = NULL;
  int rc = sqlite3_exec(j->db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK) {
    g_autofree char *text = g_strdup(msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    if (is_corruption(rc))
      return journal_corrupt(j, error, "%s", text);
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "journal %s: %s", j->path, text);
    return FALSE;
  }
  return TRUE;
}

static char *
now_iso(void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  return g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
}

/* The tables, made once: user_version 1 says they were (it is set in the
 * same run, after them).  Reading it is one small statement; CREATE TABLE
 * IF NOT EXISTS for four tables on every open is four more to parse, and
 * writing the version every time would be one more write transaction (and
 * fsync) per command.  A file at version 1 without our tables fails at its
 * first statement (prepare() calls it damaged). */
static gboolean
ensure_schema(IcAsJournal *j, gboolean fresh, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(j->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
    return db_fail(j, error, "read user_version");
  int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  if (version == 1)
    return TRUE;
  /* a file that had content but no version: cut short, or its WAL lost
   * (SQLite then sees an empty database); never make new tables over it */
  if (!fresh)
    return journal_corrupt(j, error, "it has no iommuctl tables (user_version %d)", version);
  return exec_sql(j, schema_sql, error) && exec_sql(j, "PRAGMA user_version = 1", error);
}

/* The WAL and its index stay between runs and are checkpointed by SQLite's
 * automatic checkpoint (every IC_WAL_CHECKPOINT_PAGES pages), not at every
 * close: the last connection's close otherwise checkpoints (two more fsyncs),
 * deletes state.db-wal and state.db-shm, and the next run creates them again
 * (and fsyncs the directory): under TCG that was most of the time a run spent
 * opening the journal.  Durability is unchanged: a commit is durable when its
 * WAL frame is, and recovery reads the WAL.  The bound keeps what the next
 * open has to read to rebuild the index small. */
#define IC_WAL_CHECKPOINT_PAGES 64

static gboolean
keep_wal_between_runs(IcAsJournal *j, GError **error)
{
  int persist = 1;
  if (sqlite3_db_config(j->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) != SQLITE_OK ||
      sqlite3_file_control(j->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist) != SQLITE_OK)
    return db_fail(j, error, "keep the WAL");
  return exec_sql(j, "PRAGMA wal_autocheckpoint=" G_STRINGIFY(IC_WAL_CHECKPOINT_PAGES), error);
}

/* FULL for the commits recovery depends on (an operation's intent and
 * end), NORMAL for the rest; see the top of this file. */
static gboolean
set_durable(IcAsJournal *j, gboolean durable, GError **error)
{
  if (j->sync_off)
    return TRUE;
  return exec_sql(j, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", error);
}

IcAsJournal *
ic_as_journal_open(IcContext *ctx, gboolean create, GError **error)
{
  g_autofree char *path = g_build_filename(ctx->state_dir, "state.db", NULL);
  if (!create && !g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "no journal at %s", path);
    return NULL;
  }
  if (!ic_as_state_dir_check(ctx, create, error))
    return NULL;
  struct stat before;
  gboolean fresh = lstat(path, &before) != 0 || before.st_size == 0;
  if (create) {
    /* SQLite would create it 0644 & ~umask, and its -wal/-shm inherit that
     * mode: under a umask of 002 the next run would refuse its own files */
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0)
      close(fd);
  }
  IcAsJournal *j = g_new0(IcAsJournal, 1);
  j->path = g_steal_pointer(&path);
  int flags = (create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READWRITE) |
              SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(j->path, &j->db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
    db_fail(j, error, "cannot open");
    ic_as_journal_close(j);
    return NULL;
  }
  sqlite3_busy_timeout(j->db, (int) MAX(ctx->lock_timeout_ms, 1000));
  const char *sync = g_getenv("IOMMUCTL_JOURNAL_SYNC");
  j->sync_off = sync != NULL && g_ascii_strcasecmp(sync, "off") == 0;
  g_autofree char *pragmas = g_strdup_printf("PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
                                             "PRAGMA foreign_keys=ON;",
                                             j->sync_off ? "OFF" : "NORMAL");
  if (!exec_sql(j, pragmas, error) || !keep_wal_between_runs(j, error) ||
      !ensure_schema(j, fresh, error)) {
    ic_as_journal_close(j);
    return NULL;
  }
  return j;
}

void
ic_as_journal_close(IcAsJournal *j)
{
  if (j == NULL)
    return;
  sqlite3_finalize(j->step_insert);
  if (j->db != NULL)
    sqlite3_close(j->db);
  g_free(j->path);
  g_free(j);
}

const char *
ic_as_journal_path(const IcAsJournal *j)
{
  return j->path;
}

static void
bind_text_or_null(sqlite3_stmt *st, int idx, const char *value)
{
  if (value != NULL)
    sqlite3_bind_text(st, idx, value, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, idx);
}

static char *
column_dup(sqlite3_stmt *st, int col)
{
  const unsigned char *v = sqlite3_column_text(st, col);
  return v ? g_strdup((const char *) v) : NULL;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

/* ---- rows are validated on read ------------------------------------------
 * The journal decides what recover writes into sysfs as root, so a row is
 * input like any other: a device must be a canonical PCI address, a driver
 * a plain name, a group a number; one bad row makes the journal damaged. */

static gboolean
check_group_column(IcAsJournal *j, sqlite3_stmt *st, int col, const char *table, guint *out,
                   GError **error)
{
  sqlite3_int64 v = sqlite3_column_int64(st, col);
  if (sqlite3_column_type(st, col) != SQLITE_INTEGER || v < 0 || v > G_MAXINT)
    return journal_corrupt(j, error, "a row of %s has the group '%s', not a group number", table,
                           sqlite3_column_text(st, col) ? (const char *) sqlite3_column_text(st, col) : "NULL");
  *out = (guint) v;
  return TRUE;
}

static gboolean
check_dev(IcAsJournal *j, const char *dev, const char *table, GError **error)
{
  if (ic_as_valid_dev_name(dev))
    return TRUE;
  g_autofree char *shown = g_strescape(dev ? dev : "NULL", NULL);
  return journal_corrupt(j, error, "a row of %s names the device \"%s\", not a PCI address "
                         "(DDDD:BB:SS.F)", table, shown);
}

static gboolean
check_driver(IcAsJournal *j, const char *driver, const char *dev, const char *what, GError **error)
{
  if (driver == NULL || ic_as_valid_driver_name(driver))
    return TRUE;
  g_autofree char *shown = g_strescape(driver, NULL);
  return journal_corrupt(j, error, "the row of %s has the %s \"%s\", not a driver name", dev, what, shown);
}

static sqlite3_stmt *
prepare(IcAsJournal *j, const char *sql, GError **error)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(j->db, sql, -1, &st, NULL) != SQLITE_OK) {
    /* our own statements: a plain SQL error (no such table or column)
     * means the tables are not the ones iommuctl made */
    if ((sqlite3_extended_errcode(j->db) & 0xff) == SQLITE_ERROR)
      journal_corrupt(j, error, "its tables are not iommuctl's: %s", sqlite3_errmsg(j->db));
    else
      db_fail(j, error, "prepare");
    return NULL;
  }
  return st;
}

static gboolean
step_done(IcAsJournal *j, sqlite3_stmt *st, GError **error)
{
  if (sqlite3_step(st) != SQLITE_DONE)
    return db_fail(j, error, "write");
  return TRUE;
}

static gboolean
rollback_txn(IcAsJournal *j)
{
  (void) sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

static gboolean
journal_begin(IcAsJournal *j, const char *kind, const char *args, GPtrArray *moves,
              guint64 *op_id, GError **error)
{
  if (!exec_sql(j, "BEGIN IMMEDIATE", error))
    return FALSE;
  g_autofree char *now = now_iso();
  {
    g_autoptr(sqlite3_stmt) st = prepare(j, "INSERT INTO ops(kind,args,state,pid,started) "
                                            "VALUES(?,?,'running',?,?)", error);
    if (st == NULL)
      return rollback_txn(j);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, args);
    sqlite3_bind_int(st, 3, (int) getpid());
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    if (!step_done(j, st, error))
      return rollback_txn(j);
  }
  *op_id = (guint64) sqlite3_last_insert_rowid(j->db);
  g_autoptr(sqlite3_stmt) st = prepare(j, "INSERT INTO op_devices(op_id,seq,dev,grp,from_driver,"
                                          "from_override,to_driver,to_override) "
                                          "VALUES(?,?,?,?,?,?,?,?)", error);
  if (st == NULL)
    return rollback_txn(j);
  for (guint i = 0; i < moves->len; i++) {
    const IcAsMove *m = moves->pdata[i];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64) *op_id);
    sqlite3_bind_int(st, 2, (int) i);
    sqlite3_bind_text(st, 3, m->dev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, m->group);
    bind_text_or_null(st, 5, m->from_driver);
    bind_text_or_null(st, 6, m->from_override);
    bind_text_or_null(st, 7, m->to_driver);
    bind_text_or_null(st, 8, m->to_override);
    if (!step_done(j, st, error))
      return rollback_txn(j);
  }
  return exec_sql(j, "COMMIT", error) || rollback_txn(j);
}

gboolean
ic_as_journal_step(IcAsJournal *j, guint64 op_id, const char *phase, const char *dev,
                   const char *action, const char *value, GError **error)
{
  if (j->step_insert == NULL)
    j->step_insert = prepare(j, "INSERT INTO steps(op_id,n,phase,dev,action,value,at) "
                                "VALUES(?1,(SELECT COALESCE(MAX(n),0)+1 FROM steps "
                                "WHERE op_id=?1),?2,?3,?4,?5,?6)", error);
  sqlite3_stmt *st = j->step_insert;
  if (st == NULL)
    return FALSE;
  g_autofree char *now = now_iso();
  sqlite3_bind_int64(st, 1, (sqlite3_int64) op_id);
  sqlite3_bind_text(st, 2, phase, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, dev, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
  bind_text_or_null(st, 5, value);
  sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
  gboolean ok = step_done(j, st, error);
  /* no pointer to these strings outlives them */
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return ok;
}

static gboolean
registry_update(IcAsJournal *j, guint64 op_id, GPtrArray *add, GPtrArray *remove,
                const char *now, GError **error)
{
  if (remove != NULL && remove->len > 0) {
    g_autoptr(sqlite3_stmt) st = prepare(j, "DELETE FROM detached WHERE dev=?", error);
    if (st == NULL)
      return FALSE;
    for (guint i = 0; i < remove->len; i++) {
      const IcAsMove *m = remove->pdata[i];
      sqlite3_reset(st);
      sqlite3_bind_text(st, 1, m->dev, -1, SQLITE_STATIC);
      if (!step_done(j, st, error))
        return FALSE;
    }
  }
  if (add != NULL && add->len > 0) {
    /* A device detached again keeps the original it had the first time:
     * ON CONFLICT DO NOTHING, the older row is the truth. */
    g_autoptr(sqlite3_stmt) st = prepare(j, "INSERT INTO detached(dev,grp,orig_driver,orig_override,"
                                            "driver,since,op_id) VALUES(?,?,?,?,?,?,?) "
                                            "ON CONFLICT(dev) DO NOTHING", error);
    if (st == NULL)
      return FALSE;
    for (guint i = 0; i < add->len; i++) {
      const IcAsMove *m = add->pdata[i];
      sqlite3_reset(st);
      sqlite3_bind_text(st, 1, m->dev, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 2, m->group);
      bind_text_or_null(st, 3, m->from_driver);
      bind_text_or_null(st, 4, m->from_override);
      bind_text_or_null(st, 5, m->to_driver);
      sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 7, (sqlite3_int64) op_id);
      if (!step_done(j, st, error))
        return FALSE;
    }
  }
  return TRUE;
}

static gboolean
journal_finish(IcAsJournal *j, guint64 op_id, const char *state, const char *message,
               GPtrArray *registry_add, GPtrArray *registry_remove, GError **error)
{
  if (!exec_sql(j, "BEGIN IMMEDIATE", error))
    return FALSE;
  g_autofree char *now = now_iso();
  {
    g_autoptr(sqlite3_stmt) st = prepare(j, "UPDATE ops SET state=?, finished=?, "
                                            "error=COALESCE(?, error) WHERE id=?", error);
    if (st == NULL)
      return rollback_txn(j);
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    bind_text_or_null(st, 3, message);
    sqlite3_bind_int64(st, 4, (sqlite3_int64) op_id);
    if (!step_done(j, st, error))
      return rollback_txn(j);
  }
  if (!registry_update(j, op_id, registry_add, registry_remove, now, error))
    return rollback_txn(j);
  return exec_sql(j, "COMMIT", error) || rollback_txn(j);
}

/* The intent, durable before the first sysfs write. */
gboolean
ic_as_journal_begin(IcAsJournal *j, const char *kind, const char *args, GPtrArray *moves,
                    guint64 *op_id, GError **error)
{
  if (!set_durable(j, TRUE, error))
    return FALSE;
  gboolean ok = journal_begin(j, kind, args, moves, op_id, error);
  (void) set_durable(j, FALSE, NULL); /* if it fails, FULL stays: slower, as safe */
  return ok;
}

/* The end and the registry, durable when this returns. */
gboolean
ic_as_journal_finish(IcAsJournal *j, guint64 op_id, const char *state, const char *message,
                     GPtrArray *registry_add, GPtrArray *registry_remove, GError **error)
{
  if (!set_durable(j, TRUE, error))
    return FALSE;
  gboolean ok = journal_finish(j, op_id, state, message, registry_add, registry_remove, error);
  (void) set_durable(j, FALSE, NULL); /* if it fails, FULL stays: slower, as safe */
  return ok;
}

static GPtrArray *
load_moves(IcAsJournal *j, guint64 op_id, GError **error)
{
  g_autoptr(sqlite3_stmt) st = prepare(j, "SELECT dev,grp,from_driver,from_override,to_driver,"
                                          "to_override FROM op_devices WHERE op_id=? ORDER BY seq",
                                       error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64(st, 1, (sqlite3_int64) op_id);
  GPtrArray *moves = g_ptr_array_new_with_free_func((GDestroyNotify) ic_as_move_free);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    g_autofree char *dev = column_dup(st, 0);
    g_autofree char *fd = column_dup(st, 2), *fo = column_dup(st, 3);
    g_autofree char *td = column_dup(st, 4), *to = column_dup(st, 5);
    guint group = 0;
    if (!check_dev(j, dev, "op_devices", error) ||
        !check_group_column(j, st, 1, "op_devices", &group, error) ||
        !check_driver(j, fd, dev, "original driver", error) ||
        !check_driver(j, fo, dev, "original driver_override", error) ||
        !check_driver(j, td, dev, "target driver", error) ||
        !check_driver(j, to, dev, "target driver_override", error)) {
      g_ptr_array_unref(moves);
      return NULL;
    }
    g_ptr_array_add(moves, ic_as_move_new(dev, group, fd, fo, td, to));
  }
  if (rc != SQLITE_DONE) {
    g_ptr_array_unref(moves);
    db_fail(j, error, "read op_devices");
    return NULL;
  }
  return moves;
}

void
ic_as_op_row_free(IcAsOpRow *row)
{
  if (row == NULL)
    return;
  g_free(row->kind);
  g_free(row->state);
  g_free(row->started);
  g_free(row->error);
  if (row->moves)
    g_ptr_array_unref(row->moves);
  g_free(row);
}

GPtrArray *
ic_as_journal_pending(IcAsJournal *j, GError **error)
{
  g_autoptr(sqlite3_stmt) st = prepare(j, "SELECT id,kind,state,started,error,pid,"
                                          "(SELECT COUNT(*) FROM steps s WHERE s.op_id=ops.id) "
                                          "FROM ops WHERE state IN ('running','rollback-failed') "
                                          "ORDER BY id", error);
  if (st == NULL)
    return NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify) ic_as_op_row_free);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    IcAsOpRow *row = g_new0(IcAsOpRow, 1);
    row->id = (guint64) sqlite3_column_int64(st, 0);
    row->kind = column_dup(st, 1);
    row->state = column_dup(st, 2);
    row->started = column_dup(st, 3);
    row->error = column_dup(st, 4);
    row->pid = sqlite3_column_int(st, 5);
    row->n_steps_done = (guint) sqlite3_column_int(st, 6);
    g_ptr_array_add(rows, row);
  }
  if (rc != SQLITE_DONE) {
    db_fail(j, error, "read ops");
    return NULL;
  }
  for (guint i = 0; i < rows->len; i++) {
    IcAsOpRow *row = rows->pdata[i];
    row->moves = load_moves(j, row->id, error);
    if (row->moves == NULL)
      return NULL;
  }
  return g_steal_pointer(&rows);
}

void
ic_as_detached_row_free(IcAsDetachedRow *row)
{
  if (row == NULL)
    return;
  g_free(row->dev);
  g_free(row->orig_driver);
  g_free(row->orig_override);
  g_free(row->driver);
  g_free(row->since);
  g_free(row);
}

GPtrArray *
ic_as_journal_detached(IcAsJournal *j, GError **error)
{
  g_autoptr(sqlite3_stmt) st = prepare(j, "SELECT dev,grp,orig_driver,orig_override,driver,since,"
                                          "op_id FROM detached ORDER BY dev", error);
  if (st == NULL)
    return NULL;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify) ic_as_detached_row_free);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    IcAsDetachedRow *row = g_new0(IcAsDetachedRow, 1);
    row->dev = column_dup(st, 0);
    row->orig_driver = column_dup(st, 2);
    row->orig_override = column_dup(st, 3);
    row->driver = column_dup(st, 4);
    row->since = column_dup(st, 5);
    row->op_id = (guint64) sqlite3_column_int64(st, 6);
    g_ptr_array_add(rows, row);
    if (!check_dev(j, row->dev, "detached", error) ||
        !check_group_column(j, st, 1, "detached", &row->group, error) ||
        !check_driver(j, row->orig_driver, row->dev, "original driver", error) ||
        !check_driver(j, row->orig_override, row->dev, "original driver_override", error) ||
        !check_driver(j, row->driver, row->dev, "driver", error))
      return NULL;
  }
  if (rc != SQLITE_DONE) {
    db_fail(j, error, "read detached");
    return NULL;
  }
  return g_steal_pointer(&rows);
}

IcAsMove *
ic_as_move_new(const char *dev, guint group, const char *from_driver, const char *from_override,
               const char *to_driver, const char *to_override)
{
  IcAsMove *m = g_new0(IcAsMove, 1);
  m->dev = g_strdup(dev);
  m->group = group;
  m->from_driver = g_strdup(from_driver);
  m->from_override = g_strdup(from_override);
  m->to_driver = g_strdup(to_driver);
  m->to_override = g_strdup(to_override);
  return m;
}

void
ic_as_move_free(IcAsMove *m)
{
  if (m == NULL)
    return;
  g_free(m->dev);
  g_free(m->from_driver);
  g_free(m->from_override);
  g_free(m->to_driver);
  g_free(m->to_override);
  g_free(m);
}
