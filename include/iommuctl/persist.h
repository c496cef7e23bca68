/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Persistent whole-group vfio bindings (persist, unpersist, verify) and the
 * snapshot diff that explains what a kernel or firmware update changed.
 *
 * persist takes the closure and refusals of the assign layer's plan, binds
 * the devices present now through its journaled detach, records each
 * device's identity in <state_dir>/persist.db and writes, under one config
 * root, what makes the binding happen at every boot: a udev rule per device
 * (address AND identity, driver_override on "add"), modules-load.d and
 * softdep lines (none when vfio-pci is built in), and an initramfs-tools
 * hook or dracut module when a host driver of a persisted device is in the
 * initramfs.  Every file is regenerated from the database, so the same
 * records always give the same bytes. */
#pragma once

#include <glib.h>
#include <iommuctl/context.h>
#include <iommuctl/pciaddr.h>
#include <iommuctl/host.h>

G_BEGIN_DECLS

/* One persisted device: its identity when it was persisted. */
typedef struct {
  char *name;            /* "0000:01:00.0" */
  guint group;
  guint vendor, device, subsys_vendor, subsys_device;
  guint class_code;      /* 0xCCSSPP */
  char *driver;          /* the vfio driver it is bound to at boot */
  char *host_driver;     /* the driver it had (NULL = none / already vfio) */
  char *host_module;     /* that driver's module (NULL = built in / none) */
  char **members;        /* group members when persisted (bridges too), sorted */
  char **ports;          /* bridges and ports above it, root first */
  char *config_root;     /* where its files are ("/" = the host) */
  char *command;         /* the command line that persisted it */
  char *since;           /* ISO 8601 UTC */
} IcPersistDevice;

void ic_persist_device_free(IcPersistDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPersistDevice, ic_persist_device_free)

/* Checks the fields of a record read back from the database (addresses,
 * ids in range, driver names without path or shell characters): the rules
 * are generated from them.  IC_ERROR_PARSE naming the record otherwise. */
gboolean ic_persist_device_validate(const IcPersistDevice *d, GError **error);
/* "0000:00:1c.0 0000:01:00.0" -> sorted, validated vector; IC_ERROR_PARSE on garbage. */
char **ic_persist_parse_addr_list(const char *text, const char *what, GError **error);

/* A file persist writes (or removes) under the config root. */
typedef enum {
  IC_PERSIST_FILE_WRITE,     /* new or changed content */
  IC_PERSIST_FILE_UNCHANGED, /* already has exactly this content */
  IC_PERSIST_FILE_REMOVE,    /* no persisted device needs it any more */
} IcPersistFileAction;

const char *ic_persist_file_action_to_string(IcPersistFileAction a);

typedef struct {
  char *path;            /* absolute, under the config root ("/etc/udev/...") */
  char *content;         /* NULL for REMOVE */
  IcPersistFileAction action;
  char *mechanism;       /* "udev", "modules-load", "softdep", "initramfs-tools", "dracut" */
} IcPersistFile;

typedef struct {
  gboolean dry_run;
  GPtrArray *devices;      /* IcPersistDevice*: persisted (or removed) by this command */
  GPtrArray *files;        /* IcPersistFile* */
  GPtrArray *notes;        /* char*: built-in vfio-pci, initramfs, ... */
  GPtrArray *actions;      /* char*: what the bind / reattach did */
  gboolean vfio_builtin;
  char *initramfs_kind;    /* "initramfs-tools", "dracut" or NULL (not needed) */
  char *initramfs_command; /* the command that regenerates it, NULL when not needed */
  gboolean initramfs_updated;
  guint64 op_id;           /* assign journal operation of the bind (0 = none) */
} IcPersistResult;

void ic_persist_result_free(IcPersistResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPersistResult, ic_persist_result_free)

typedef struct {
  const char *driver;        /* --driver */
  const char *config_root;   /* --config-root, NULL = "/" */
  const char *command;       /* the command line, written into every file */
  gboolean dry_run, force, update_initramfs;
} IcPersistOptions;

/* persist ADDR...: IC_ERROR_BLOCKED (exit 1) when the plan is blocked and
 * not forced; nothing is written then.  On a failure after the bind the
 * error says which devices stay on vfio and how to give them back. */
IcPersistResult *ic_persist(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs,
                            const IcPersistOptions *options, GError **error);

typedef struct {
  const char *command;
  gboolean all, keep_bound, dry_run;
} IcUnpersistOptions;

/* unpersist ADDR...|--all: whole recorded groups.  Removes their lines and
 * the files no device needs any more, forgets the records and, unless
 * keep_bound, returns each device whose identity still matches to its
 * recorded driver through the assign layer's journaled reattach. */
IcPersistResult *ic_unpersist(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs,
                              const IcUnpersistOptions *options, GError **error);

/* Every record, sorted by address (empty when nothing was ever persisted;
 * never creates the state directory). */
GPtrArray *ic_persist_list(IcContext *ctx, GError **error);

/* ---- verify -------------------------------------------------------------- */

typedef enum {
  IC_PERSIST_BOUND,            /* on its vfio driver, nothing else happened */
  IC_PERSIST_HOST_FIRST,       /* on vfio now, but a host driver bound it first this boot */
  IC_PERSIST_NOT_BOUND,        /* identity matches, but it is not on its vfio driver */
  IC_PERSIST_HARDWARE_CHANGED, /* the card moved, a new card is in the slot, or the group changed */
} IcPersistState;

const char *ic_persist_state_to_string(IcPersistState s); /* "bound", "host-driver-first", ... */

typedef struct {
  IcPersistDevice *record;   /* owned */
  IcPersistState state;
  char *current_driver;      /* at the recorded address now, NULL = none / absent */
  gboolean present;          /* a device is at the recorded address */
  char *host_first_driver;   /* the host driver that bound it first, NULL = none seen */
  GPtrArray *changes;        /* char*: each difference spelled out */
  char *moved_to;            /* the address the card is at now, NULL = not found elsewhere */
} IcPersistCheck;

void ic_persist_check_free(IcPersistCheck *c);

/* Checks every persisted device; reads only the recorded addresses and
 * groups (and the bus, only to find a card that moved). */
GPtrArray *ic_persist_verify(IcContext *ctx, GError **error);

/* The readiness item `check` and `report` show ("persisted-bindings"):
 * NULL when nothing is persisted (or the state cannot be read), else PASS
 * all bound, WARN not bound or a host driver first, FAIL hardware changed.
 * Owned by the caller (g_free'd fields, like ic_host_check()'s items). */
IcCheckItem *ic_persist_check_item(IcContext *ctx);

/* ---- diff ---------------------------------------------------------------- */

typedef struct IcDiff IcDiff;

/* Compare two trees readable with --sysfs-root (snapshot directories);
 * new_root NULL = this host (ctx's roots).  IC_ERROR_NOT_FOUND / PARSE
 * when a directory is not a snapshot.  domains: libvirt domain XML files
 * whose PCI hostdevs are checked against the changes. */
IcDiff *ic_diff_new(IcContext *ctx, const char *old_root, const char *new_root,
                    const char *const *domains, GError **error);
void ic_diff_free(IcDiff *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcDiff, ic_diff_free)
gboolean ic_diff_changed(const IcDiff *d);
/* The text report (summary first) and the JSON document (docs/json/diff.md). */
char *ic_diff_to_text(const IcDiff *d);
char *ic_diff_to_json(const IcDiff *d);

G_END_DECLS
