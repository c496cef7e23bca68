/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internals shared by the QEMU module's files. */
#pragma once

#include <iommuctl/qemu.h>
#include <iommuctl/domain.h>
#include <iommuctl/error.h>
#include "util/ic-util.h"
#include "qemu/engine.h"

#include <libxml/tree.h>

#define IC_QEMU_LIBVIRT_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* What iommuctl works out about one domain beside libvirt's argv (args.c):
 * the bypass intent and its notes, the notes of the other additions. */
typedef struct {
  IcContext *ctx;
  const IcDomainDoc *doc;
  const IcDomainDef *def;
  GError **error;
  GPtrArray *notes;               /* IcQemuNote* */
  const IcDomainIommu *viommu;    /* the first vIOMMU, or NULL */
  GHashTable *pci_controllers;    /* index -> const IcDomainController* */
  /* bypass, as the libvirt realisation states it */
  int default_bypass;             /* -1 unset, 0, 1 */
  GHashTable *bypass_buses;       /* pxb index -> GINT_TO_POINTER(0/1 + 1) */
  /* the metadata's intent when the file has no realisation of it: iommuctl
   * realises it (the addition qemu-args makes for bypass) */
  gboolean realise_metadata;
  int meta_default;
  GArray *meta_buses;             /* IcQemuBypassBus */
} QemuBuild;

/* args.c */
int qb_line(QemuBuild *b, xmlNodePtr node);
gboolean qb_fail(QemuBuild *b, xmlNodePtr node, int code, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
void qb_note(QemuBuild *b, const char *code, IcQemuNoteLevel level, xmlNodePtr node,
             const char *fmt, ...) G_GNUC_PRINTF(5, 6);
/* Walk a PCI bus number up to its root: the pxb controller index, or -1
 * for the default root bus. */
int qb_root_of_bus(QemuBuild *b, guint bus);

/* bypass.c */
gboolean qb_bypass_collect(QemuBuild *b);
gboolean qb_bypass_notes(QemuBuild *b);
gboolean qb_device_bypassed(QemuBuild *b, const IcDevAddress *addr);

/* features.c */
/* "X.Y" or "X.Y.Z" -> X*1000000+Y*1000+Z */
gboolean ic_qemu_version_parse(const char *text, guint *out);
/* --qemu-version: refuse (IC_ERROR_UNSUPPORTED, naming the option and the
 * version it needs) the first option of argv that QEMU `version` lacks per
 * iommuctl's table. */
gboolean ic_qemu_argv_check_version(const IcQemuArgv *argv, const char *version, const char *file,
                                    GError **error);
