/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the assign module: sysfs moves, the journal, the lock. */
#pragma once

#include "iommuctl/assign.h"
#include "iommuctl/error.h"

#include <sqlite3.h>

G_BEGIN_DECLS

/* ---- sysfs: one device's driver state, and the writes that change it ---- */

/* A canonical PCI address ("0000:01:00.0"): the only device name that may
 * become a sysfs path component. */
gboolean ic_as_valid_dev_name(const char *dev);
/* A driver name that may become a path component and a sysfs value:
 * 1..64 bytes, no '/', no "..", no whitespace or control characters. */
gboolean ic_as_valid_driver_name(const char *name);

/* Driver bound to the device (basename of its driver link), NULL when unbound. */
char *ic_as_read_driver(const IcContext *ctx, const char *dev);
/* driver_override, NULL when unset ("(null)" or empty). */
char *ic_as_read_override(const IcContext *ctx, const char *dev);
/* IOMMU group number from the iommu_group link.  FALSE with error: no link
 * (IC_ERROR_UNSUPPORTED: no IOMMU for it), a link that does not name
 * .../kernel/iommu_groups/N, or names a group the kernel does not have
 * (IC_ERROR_PARSE: a damaged tree, never blamed on the IOMMU). */
gboolean ic_as_read_group(const IcContext *ctx, const char *dev, guint *group, GError **error);
/* PCI class (24-bit) of the device, or -1. */
gint64 ic_as_read_class(const IcContext *ctx, const char *dev);
gboolean ic_as_device_exists(const IcContext *ctx, const char *dev);
gboolean ic_as_driver_exists(const IcContext *ctx, const char *driver);
gboolean ic_as_vfio_node_exists(const IcContext *ctx, guint group);
gboolean ic_as_is_vfio_driver(const char *driver);

/* ---- journal ------------------------------------------------------------- */

typedef struct IcAsJournal IcAsJournal;

/* One device of an operation: where it was and where it is going. */
typedef struct {
  char *dev;
  guint group;
  char *from_driver, *from_override; /* NULL = none */
  char *to_driver, *to_override;
} IcAsMove;

IcAsMove *ic_as_move_new(const char *dev, guint group, const char *from_driver,
                         const char *from_override, const char *to_driver,
                         const char *to_override);
void ic_as_move_free(IcAsMove *move);

/* A registry row: a device iommuctl detached and has not given back. */
typedef struct {
  char *dev;
  guint group;
  char *orig_driver, *orig_override, *driver, *since;
  guint64 op_id;
} IcAsDetachedRow;
void ic_as_detached_row_free(IcAsDetachedRow *row);

typedef struct {
  guint64 id;
  char *kind, *state, *started, *error;
  int pid;
  GPtrArray *moves; /* IcAsMove*, in execution order */
  guint n_steps_done;
} IcAsOpRow;
void ic_as_op_row_free(IcAsOpRow *row);

/* Opens (creating) <state_dir>/state.db; WAL, synchronous=FULL unless the
 * hidden IOMMUCTL_JOURNAL_SYNC=off (benchmarks only). */
IcAsJournal *ic_as_journal_open(IcContext *ctx, gboolean create, GError **error);
void ic_as_journal_close(IcAsJournal *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcAsJournal, ic_as_journal_close)
const char *ic_as_journal_path(const IcAsJournal *j);

/* Intent and every device's original state, in one durable transaction. */
gboolean ic_as_journal_begin(IcAsJournal *j, const char *kind, const char *args,
                             GPtrArray *moves, guint64 *op_id, GError **error);
/* A sysfs write that took effect. */
gboolean ic_as_journal_step(IcAsJournal *j, guint64 op_id, const char *phase,
                            const char *dev, const char *action, const char *value,
                            GError **error);
/* Close the operation with its final state; when state is "done" (or the op
 * was recovered forward) the registry is updated in the same transaction:
 * registry_add / registry_remove list IcAsMove* to add / remove. */
gboolean ic_as_journal_finish(IcAsJournal *j, guint64 op_id, const char *state,
                              const char *message, GPtrArray *registry_add,
                              GPtrArray *registry_remove, GError **error);
/* Unfinished operations (running / rollback-failed), oldest first. */
GPtrArray *ic_as_journal_pending(IcAsJournal *j, GError **error);
/* Registry rows, sorted by device. */
GPtrArray *ic_as_journal_detached(IcAsJournal *j, GError **error);

/* ---- lock ---------------------------------------------------------------- */

/* The state directory and every file iommuctl keeps there are owned by root
 * (or the effective uid) and not writable by group or other, and the files
 * are not symlinks; otherwise IC_ERROR_PERMISSION naming the path and the
 * chown/chmod that fixes it.  create: make the directory (0700) first. */
gboolean ic_as_state_dir_check(IcContext *ctx, gboolean create, GError **error);

/* Exclusive per-host lock <state_dir>/lock (flock), waiting at most
 * ctx->lock_timeout_ms; IC_ERROR_BUSY naming the holder's pid otherwise.
 * Returns the fd to pass to ic_as_unlock(). */
int ic_as_lock(IcContext *ctx, GError **error);
void ic_as_unlock(int fd);
/* Non-blocking probe: pid of the holder, 0 when free, -1 when unknown. */
int ic_as_lock_holder(IcContext *ctx);

/* ---- execution ----------------------------------------------------------- */

typedef struct {
  IcContext *ctx;
  IcAsJournal *journal;
  guint64 op_id;
  IcAssignReport *report;
  guint steps;          /* sysfs writes done by this process */
} IcAsRun;

/* Drive one device to (driver, override) with driver_override + unbind +
 * drivers_probe, verifying each write; every write is journaled under phase. */
gboolean ic_as_drive(IcAsRun *run, const char *phase, const char *dev, guint group,
                     const char *goal_driver, const char *goal_override, GError **error);

/* Give a device back to whatever driver the kernel picks: clear
 * driver_override, unbind, drivers_probe (recover --from-sysfs, where no
 * journal says which driver it had). */
gboolean ic_as_release(IcAsRun *run, const char *phase, const char *dev, guint group, GError **error);

/* Run moves in order, journaled under run->op_id; on failure roll the ones
 * reached back in reverse, record the outcome and return the original error
 * (with the rollback's error too, if any).  want_vfio_nodes: check
 * /dev/vfio/N of every group moved to a vfio driver. */
gboolean ic_as_run_moves(IcAsRun *run, GPtrArray *moves, gboolean want_vfio_nodes, GError **error);

/* Preconditions shared by the verbs that write: root, writable sysfs. */
gboolean ic_as_check_can_write(IcContext *ctx, const char *sample_dev, GError **error);

/* The IOMMU is on: /sys/kernel/iommu_groups has at least one group. */
gboolean ic_as_check_iommu(IcContext *ctx, GError **error);
/* The target driver is loaded (loading the module on a real host). */
gboolean ic_as_check_driver_available(IcContext *ctx, const char *driver, GError **error);

void ic_as_report_add(IcAssignReport *report, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
IcAssignReport *ic_as_report_new(void);

G_END_DECLS
