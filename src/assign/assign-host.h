/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The assign module's view of the host inventory: the few facts a plan
 * needs per device, taken from the host layer (include/iommuctl/host.h). */
#pragma once

#include "iommuctl/context.h"

G_BEGIN_DECLS

typedef struct IcAsHostView IcAsHostView;

typedef struct {
  char *modalias;     /* "pci:v...": for the vfio variant lookup */
  char *reset_method; /* first reset the kernel would use, NULL = none known */
  char *host_use;     /* why the host needs it (blocks detach), NULL = free */
  char *acs_warning;  /* isolation caveat worth telling, NULL = none */
  gboolean holds_root;/* root filesystem behind it: never, even with --force */
  gboolean is_bridge; /* bridge / PCIe port */
} IcAsHostFacts;

IcAsHostView *ic_as_host_view_new(IcContext *ctx);
void ic_as_host_view_free(IcAsHostView *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcAsHostView, ic_as_host_view_free)
void ic_as_host_facts(IcAsHostView *view, const char *dev, IcAsHostFacts *facts);
void ic_as_host_facts_clear(IcAsHostFacts *facts);

G_END_DECLS
