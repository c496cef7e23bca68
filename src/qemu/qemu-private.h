/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by the QEMU module's files. */
#pragma once

#include <iommuctl/qemu.h>
#include <iommuctl/domain.h>
#include <iommuctl/error.h>
#include "util/ic-util.h"

#include <libxml/tree.h>

#define IC_QEMU_LIBVIRT_NS "http://libvirt.org/schemas/domain/qemu/1.0"

typedef struct {
  IcContext *ctx;
  const IcDomainDoc *doc;
  const IcDomainDef *def;
  const IcQemuBuildOptions *opts;
  const IcQemuCaps *caps;
  const char *binary;
  GError **error;
  IcQemuArgv *argv;
  GPtrArray *notes;
  GPtrArray *strings;             /* owned copies of attribute values */
  const char *machine_full;
  gboolean q35, pc, virt, x86, arm, tcg;
  gboolean boot_hd;
  const IcDomainIommu *viommu;    /* the one vIOMMU, or NULL */
  GHashTable *used_slots;         /* (bus << 8 | slot) on which devices sit */
  GHashTable *pci_controllers;    /* index -> const IcDomainController* */
  /* bypass, as the libvirt realisation states it */
  int default_bypass;             /* -1 unset, 0, 1 */
  GHashTable *bypass_buses;       /* pxb index -> GINT_TO_POINTER(0/1 + 1) */
  guint n_vfio;
  GPtrArray *vfio_nodes;          /* hostdev xmlNodePtr, for bypass notes */
} QemuBuild;

/* build.c */
/* Commas doubled, as QEMU's option parser and libvirt expect. */
char *ic_qemu_escape_comma(const char *value);
/* Letters, digits, '-', '_', '.', 1..128 bytes: a value that needs no
 * escaping anywhere in an option (CPU model, machine type, user name). */
gboolean qb_safe_word(const char *value);
const char *qb_attr(QemuBuild *b, xmlNodePtr node, const char *name);
const char *qb_text(QemuBuild *b, xmlNodePtr node);
xmlNodePtr qb_child(xmlNodePtr parent, const char *name);
int qb_line(QemuBuild *b, xmlNodePtr node);
gboolean qb_fail(QemuBuild *b, xmlNodePtr node, int code, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
void qb_note(QemuBuild *b, const char *code, IcQemuNoteLevel level, xmlNodePtr node,
             const char *fmt, ...) G_GNUC_PRINTF(5, 6);
gboolean qb_fail_caps(QemuBuild *b, xmlNodePtr node, const char *what, const char *type, const char *prop);
const char *qb_bus_id(QemuBuild *b, guint bus, xmlNodePtr node);
void qb_reserve_slot(QemuBuild *b, guint bus, guint slot);
gboolean qb_add_pci_address(QemuBuild *b, JsonObject *dev, const IcDevAddress *addr, xmlNodePtr node,
                            gboolean *on_root_bus);

/* devices.c */
gboolean qb_collect(QemuBuild *b);
const char *qb_controller_alias(QemuBuild *b, const IcDomainController *c);
gboolean qb_build_controllers(QemuBuild *b);
gboolean qb_build_disks(QemuBuild *b);
gboolean qb_build_interfaces(QemuBuild *b);
gboolean qb_build_chardevs(QemuBuild *b);
gboolean qb_build_hostdevs(QemuBuild *b);
gboolean qb_build_misc_devices(QemuBuild *b);
gboolean qb_apply_qemu_xml(QemuBuild *b);
/* Walk a PCI bus number up to its root: the pxb controller index, or -1
 * for the default root bus. */
int qb_root_of_bus(QemuBuild *b, guint bus);

/* viommu.c */
gboolean qb_viommu_validate(QemuBuild *b);
gboolean qb_build_viommu(QemuBuild *b);
gboolean qb_viommu_postcheck(QemuBuild *b);
gboolean qb_virtio_options(QemuBuild *b, JsonObject *dev, const IcDomainDevice *d, gboolean on_root_bus);

/* bypass.c */
gboolean qb_bypass_collect(QemuBuild *b);
gboolean qb_bypass_notes(QemuBuild *b);
gboolean qb_device_bypassed(QemuBuild *b, const IcDevAddress *addr);
