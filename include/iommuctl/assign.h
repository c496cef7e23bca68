/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Safe device assignment: plan, detach, reattach, status, recover.
 *
 * Whole IOMMU groups move between host drivers and vfio-pci (or a vfio
 * variant driver) through driver_override + unbind + drivers_probe.  Every
 * operation is journaled in SQLite (<state_dir>/state.db) before the first
 * sysfs write, rolled back in reverse on failure, and recoverable after a
 * crash.  One operation runs at a time per host (<state_dir>/lock). */
#pragma once

#include <glib.h>
#include <iommuctl/context.h>
#include <iommuctl/pciaddr.h>

G_BEGIN_DECLS

/* ---- plan ---------------------------------------------------------------- */

typedef enum {
  IC_ASSIGN_DETACH,    /* endpoint on a host driver: will move to the target driver */
  IC_ASSIGN_KEEP,      /* already on a vfio driver, or no driver: left alone        */
  IC_ASSIGN_BRIDGE_OK, /* bridge / root or downstream port: stays on its driver     */
  IC_ASSIGN_BLOCKED,   /* the host uses it (or its driver hangs on unbind)          */
} IcAssignAction;

const char *ic_assign_action_to_string(IcAssignAction action);

typedef struct {
  IcPciAddr addr;
  char *name;            /* "0000:01:00.0" */
  guint group;
  IcAssignAction action;
  char *reason;          /* why this action, one line */
  char *driver;          /* current driver, NULL when unbound */
  char *driver_override; /* current driver_override, NULL when unset */
  char *target_driver;   /* for DETACH (and KEEP on vfio): vfio-pci or a variant */
  char *reset_method;    /* "flr", "pm", "bus", ... or NULL (unknown / not an endpoint) */
  gboolean requested;    /* named on the command line (vs pulled in by its group) */
  gboolean holds_root;   /* holds the root filesystem: never detached, even with force */
} IcAssignMember;

typedef struct {
  guint number;
  GPtrArray *members;    /* IcAssignMember*, sorted by address */
  gboolean vfio_node_will_appear; /* /dev/vfio/N exists after a successful detach */
  char *vfio_node;       /* "/dev/vfio/N" (host path, not rooted) */
} IcAssignGroup;

typedef struct {
  GPtrArray *groups;     /* IcAssignGroup*, sorted by number */
  GPtrArray *warnings;   /* char*: ACS, reset, ... (do not block) */
  gboolean executable;   /* no BLOCKED member */
  guint n_detach;
  guint n_blocked;
} IcAssignPlan;

IcAssignPlan *ic_assign_plan_new(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs,
                                 const char *driver, GError **error);
void ic_assign_plan_free(IcAssignPlan *plan);
/* Whether `detach` moves this member: a DETACH, or with force a BLOCKED
 * member that does not hold the root filesystem.  The one rule both
 * `detach --force` and the `plan --force` preview follow. */
gboolean ic_assign_member_moves(const IcAssignMember *member, gboolean force);
/* Turn the plan into what `detach --force` will do: members that move under
 * force become DETACH with the reason "forced: <why it was blocked>"; counts,
 * `executable` and `vfio_node_will_appear` follow.  Only members holding the
 * root filesystem stay BLOCKED. */
void ic_assign_plan_force(IcAssignPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcAssignPlan, ic_assign_plan_free)

/* ---- operations ---------------------------------------------------------- */

typedef struct {
  const char *driver; /* force this target driver instead of vfio-pci/variant */
  gboolean force;     /* detach blocked members too (never the root filesystem's) */
} IcAssignDetachOptions;

/* One line per thing done, for the user ("0000:01:00.0: e1000e -> vfio-pci"). */
typedef struct {
  guint64 op_id;
  GPtrArray *lines;   /* char* */
} IcAssignReport;

void ic_assign_report_free(IcAssignReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcAssignReport, ic_assign_report_free)

/* Detach the whole groups of addrs.  On failure every device is back on its
 * original driver (rolled back in reverse); the error carries the original
 * failure and, if the rollback also failed, that failure too.  *report (may
 * be NULL) gets what was done, also on failure. */
gboolean ic_assign_detach(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs,
                          const IcAssignDetachOptions *options,
                          IcAssignReport **report, GError **error);

/* Return the devices (whole groups) to the drivers recorded at detach time;
 * all = every device iommuctl detached. */
gboolean ic_assign_reattach(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs,
                            gboolean all, IcAssignReport **report, GError **error);

/* After a crash: bring every device of every unfinished operation to the
 * state before it (forward = the state it was heading to).  Nothing to do
 * is success with an empty report. */
gboolean ic_assign_recover(IcContext *ctx, gboolean forward, IcAssignReport **report,
                           GError **error);

/* The salvage path when the journal cannot be read: every device on a vfio
 * driver whose driver_override names that driver (iommuctl's mark) goes
 * back to the driver the kernel picks (clear driver_override, unbind,
 * drivers_probe), whole groups at a time.  A group with a host-critical
 * member, or with a member on vfio without the mark, is left alone
 * (IC_ERROR_BLOCKED after the others are done).  move_aside: rename
 * state.db (and its -wal/-shm) to state.db.damaged-<time>; never without. */
gboolean ic_assign_recover_from_sysfs(IcContext *ctx, gboolean move_aside, IcAssignReport **report,
                                      GError **error);

/* ---- status -------------------------------------------------------------- */

typedef struct {
  char *name;            /* "0000:01:00.0" */
  guint group;
  char *original_driver; /* NULL = had none */
  char *driver;          /* the vfio driver it was moved to */
  char *current_driver;  /* what sysfs says now (NULL = none) */
  char *since;           /* ISO 8601 UTC */
  guint64 op_id;
} IcAssignDetached;

typedef struct {
  guint64 id;
  char *kind;            /* "detach", "reattach", "recover" */
  char *state;           /* "running", "rollback-failed", ... */
  char *started;
  int pid;
  char *error;           /* NULL when none recorded */
  guint n_devices;
  guint n_steps_done;
} IcAssignPendingOp;

typedef struct {
  GPtrArray *detached;   /* IcAssignDetached* */
  GPtrArray *pending;    /* IcAssignPendingOp*: unfinished, need recover */
  char *journal;         /* path of state.db */
} IcAssignStatus;

IcAssignStatus *ic_assign_status_new(IcContext *ctx, GError **error);
void ic_assign_status_free(IcAssignStatus *status);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcAssignStatus, ic_assign_status_free)

G_END_DECLS
