/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The assign module's view of the host inventory (include/iommuctl/host.h):
 * group membership and the few facts a plan needs per device. */
#pragma once

#include "iommuctl/context.h"

G_BEGIN_DECLS

typedef struct IcAsHostView IcAsHostView;

typedef struct {
  char *modalias;     /* "pci:v...": for the vfio variant lookup */
  char *reset_method; /* the reset the device will get, NULL = none known */
  char *host_use;     /* why the host needs it (blocks detach), NULL = free */
  char *acs_warning;  /* isolation caveat worth telling ("group N: ..." or
                       * "<dev>: ..."), NULL = none */
  gboolean holds_root;/* root filesystem behind it: never, even with --force */
  gboolean is_bridge; /* bridge / PCIe port */
} IcAsHostFacts;

/* A fresh inventory (never the cached one: a plan made under the lock must
 * see sysfs as it is now). */
IcAsHostView *ic_as_host_view_new(IcContext *ctx, GError **error);
/* The same for the given groups only (src/host/inventory-groups.h): the
 * members of those groups and the bridges above them, with the same facts
 * and verdicts as the whole inventory; what a plan reads. */
IcAsHostView *ic_as_host_view_new_for_groups(IcContext *ctx, const guint *groups, guint n_groups,
                                             GError **error);
void ic_as_host_view_free(IcAsHostView *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcAsHostView, ic_as_host_view_free)
/* Member names of group N, sorted; NULL with error when there is no such group. */
GPtrArray *ic_as_host_group_members(IcAsHostView *view, guint group, GError **error);
/* FALSE when the vfio-pci module is neither loaded nor installed. */
gboolean ic_as_host_vfio_pci_installed(IcAsHostView *view);
void ic_as_host_facts(IcAsHostView *view, const char *dev, IcAsHostFacts *facts);
void ic_as_host_facts_clear(IcAsHostFacts *facts);

G_END_DECLS
