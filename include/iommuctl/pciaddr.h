/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A PCI function address, domain:bus:slot.function. */
typedef struct {
  guint32 domain;
  guint8 bus;
  guint8 slot;      /* 0..31 */
  guint8 function;  /* 0..7  */
} IcPciAddr;

#define IC_PCI_ADDR_STRLEN 18 /* "ffffffff:ff:1f.7" + NUL */

/* Accepts "DDDD:BB:SS.F" and the short "BB:SS.F" (domain 0), hex, case-
 * insensitive; also libvirt's nodedev name "pci_DDDD_BB_SS_F".  Anything else
 * is IC_ERROR_INVALID_ARG with the offending text in the message. */
gboolean ic_pci_addr_parse(const char *text, IcPciAddr *out, GError **error);
/* Canonical "dddd:bb:ss.f" into buf (>= IC_PCI_ADDR_STRLEN). */
char *ic_pci_addr_format(const IcPciAddr *addr, char buf[IC_PCI_ADDR_STRLEN]);
int ic_pci_addr_compare(const IcPciAddr *a, const IcPciAddr *b);
gboolean ic_pci_addr_equal(const IcPciAddr *a, const IcPciAddr *b);
guint ic_pci_addr_hash(const IcPciAddr *addr);
/* Convenience: a heap copy of the canonical text. */
char *ic_pci_addr_to_string(const IcPciAddr *addr);

G_END_DECLS
