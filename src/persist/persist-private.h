/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the persist module: identities read from sysfs, the record
 * store, the generated files. */
#pragma once

#include "iommuctl/persist.h"
#include "iommuctl/error.h"

G_BEGIN_DECLS

/* ---- identity (sysfs, only the devices asked about) ---------------------- */

typedef struct {
  gboolean present;
  guint vendor, device, subsys_vendor, subsys_device, class_code;
  int group;             /* -1 = none */
  char *driver;          /* NULL = unbound */
} IcPsIdentity;

void ic_ps_identity_clear(IcPsIdentity *id);
/* Reads vendor/device/subsystem/class/group/driver of dev; present FALSE
 * when there is no such device. */
void ic_ps_read_identity(IcContext *ctx, const char *dev, IcPsIdentity *id);
/* Members of IOMMU group n, sorted (empty vector when there is no such group). */
char **ic_ps_group_members(IcContext *ctx, int group);
/* PCI bridges / ports above dev, root first. */
char **ic_ps_ports_above(IcContext *ctx, const char *dev);
/* Module of a bound driver (drivers/<d>/module link), NULL when built in. */
char *ic_ps_driver_module(IcContext *ctx, const char *driver);
/* Every PCI device on the bus with this identity (to find a card that moved). */
GPtrArray *ic_ps_find_identity(IcContext *ctx, guint vendor, guint device, guint sv, guint sd);
/* vfio-pci is built into the running kernel (lib/modules/<rel>/modules.builtin). */
gboolean ic_ps_vfio_pci_builtin(IcContext *ctx);

/* ---- store: <state_dir>/persist.db ---------------------------------------- */

typedef struct IcPsStore IcPsStore;

/* create FALSE: NULL without error when nothing was ever persisted. */
IcPsStore *ic_ps_store_open(IcContext *ctx, gboolean create, GError **error);
void ic_ps_store_close(IcPsStore *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPsStore, ic_ps_store_close)
/* Every record, sorted by address; a row that does not validate is an error
 * naming the database and the row. */
GPtrArray *ic_ps_store_load(IcPsStore *s, GError **error);
/* Replace the records: put and drop (IcPersistDevice*, drop by name) in one transaction. */
gboolean ic_ps_store_update(IcPsStore *s, GPtrArray *put, GPtrArray *drop, GError **error);

/* ---- files ------------------------------------------------------------------ */

typedef struct {
  gboolean vfio_builtin;
  const char *initramfs_kind;   /* "initramfs-tools", "dracut", NULL */
} IcPsRender;

/* The files for every record under one config root, with their content;
 * paths are absolute as seen from the root.  Files that none of the records
 * need are listed as REMOVE when they exist.  Content depends only on the
 * records (sorted) and r. */
GPtrArray *ic_ps_render(GPtrArray *records, const char *config_root, const IcPsRender *r);
/* WRITE/UNCHANGED/REMOVE against what is on disk under config_root. */
void ic_ps_compare_disk(GPtrArray *files, const char *config_root);
/* Every file to write or remove is ours (or absent): IC_ERROR_CONFLICT
 * naming the first one that is someone else's.  Checked before anything
 * changes, again when writing. */
gboolean ic_ps_check_files(GPtrArray *files, const char *config_root, GError **error);
/* Do it: atomic writes, removals.  Errors name the file. */
gboolean ic_ps_apply_files(GPtrArray *files, const char *config_root, GError **error);
/* The initramfs flavour of the config root ("initramfs-tools", "dracut", NULL)
 * and whether a host module of the records is in it. */
const char *ic_ps_initramfs_kind(const char *config_root);
gboolean ic_ps_module_in_initramfs(IcContext *ctx, const char *config_root, const char *kind,
                                   const char *module);
const char *ic_ps_initramfs_command(const char *kind);

/* ---- diff inputs ------------------------------------------------------- */

/* PCI addresses of the <hostdev type='pci'> sources of a domain XML
 * document; IC_ERROR_PARSE when it is not one. */
char **ic_ps_domain_hostdevs(const char *xml, gsize len, GError **error);

/* /run/iommuctl/host-bound: "<address> <driver>" lines the udev rule
 * appends when a host driver bound a persisted device this boot; address ->
 * the last driver named; other lines are skipped. */
GHashTable *ic_ps_parse_host_bound(const char *text);

char *ic_ps_join_root(const char *config_root, const char *abs_path);
void ic_ps_file_free(IcPersistFile *f);

G_END_DECLS
