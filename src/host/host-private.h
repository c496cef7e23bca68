/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals of the host inventory shared by the files of src/host/. */
#pragma once

#include "iommuctl/host.h"
#include "util/ic-util.h"

struct IcInventory {
  IcContext *ctx;              /* not owned */
  IcInventoryFlags flags;
  char *devices_dir;           /* <root>/sys/bus/pci/devices */
  int devices_fd;              /* open O_DIRECTORY on it, -1 when not open */
  GPtrArray *devices;          /* IcPciDevice*, owned, sorted by address */
  GHashTable *by_addr;         /* IcPciAddr* -> IcPciDevice* */
  GPtrArray *groups;           /* IcIommuGroup*, owned, sorted by number */
  GHashTable *by_group;        /* GINT_TO_POINTER(number) -> IcIommuGroup* */
  IcHostInfo host;
  GStringChunk *strings;       /* interned names */
  struct pci_access *pacc;     /* libpci, for names only */
};

/* names.c */
void ic_host_names_init(IcInventory *inv);
void ic_host_names_lookup(IcInventory *inv, IcPciDevice *dev);
void ic_host_names_free(IcInventory *inv);

/* config.c: parse a config-space image into dev (len bytes valid). */
void ic_host_parse_config(IcPciDevice *dev, const guint8 *cfg, gsize len);

/* hostinfo.c */
void ic_host_info_load(IcInventory *inv);
void ic_host_info_clear(IcHostInfo *host);

/* hostuse.c */
void ic_host_use_scan(IcInventory *inv);
void ic_pci_device_add_host_use(IcPciDevice *dev, IcHostUseFlags kind, const char *detail);

/* groups.c: the groups of the devices read and their verdicts; wanted
 * (GINT_TO_POINTER(number) set) limits them to those groups, NULL = all. */
void ic_host_groups_build(IcInventory *inv, GHashTable *wanted);
void ic_iommu_group_free(IcIommuGroup *group);

/* helpers */
void ic_pci_device_note(IcPciDevice *dev, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void ic_host_note(IcHostInfo *host, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Last path component of a PCI device inside a sysfs path, e.g. the function
 * owning /sys/devices/pci0000:00/0000:00:1d.0/0000:02:00.0/nvme/nvme0; FALSE
 * when the path has none. */
gboolean ic_host_path_pci_owner(const char *path, IcPciAddr *out);
/* Read a small text file (stripped) into a new string; NULL on failure. */
char *ic_host_read_small(const char *path);
