/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Vendor/device/class names from pci.ids through libpci.  Only the name
 * database is used (no pci_init(), no bus access, no udev hwdb, no DNS), so
 * names are the same for the real host, a snapshot and a fixture.  The file
 * is IOMMUCTL_PCI_IDS from the build, or the env variable of the same name
 * (the guest bundle carries its own copy).
 *
 * libpci (and the libudev it links) is loaded here, on the first listing
 * that wants names, not at every start of iommuctl: detach and reattach
 * never ask for names.  Without it, names are missing and a note says so. */
#include "host/host-private.h"
#include "ic-config.h"

#include <gmodule.h>
#include <pci/pci.h>
#include <stdarg.h>
#include <stdio.h>

#define IC_PCI_SONAME "libpci.so.3"

typedef struct {
  struct pci_access *(*alloc)(void);
  void (*set_name_list_path)(struct pci_access *a, char *name, int to_be_freed);
  char *(*lookup_name)(struct pci_access *a, char *buf, int size, int flags, ...);
  void (*cleanup)(struct pci_access *a);
} IcLibpci;

static IcLibpci libpci;
static char *libpci_failure;

static gpointer
load_libpci_once(gpointer unused)
{
  (void) unused;
  GModule *m = g_module_open(IC_PCI_SONAME, G_MODULE_BIND_LOCAL);
  if (m == NULL) {
    libpci_failure = g_strdup(g_module_error());
    return NULL;
  }
  g_module_make_resident(m);
  IcLibpci t;
  if (!g_module_symbol(m, "pci_alloc", (gpointer *) &t.alloc) ||
      !g_module_symbol(m, "pci_set_name_list_path", (gpointer *) &t.set_name_list_path) ||
      !g_module_symbol(m, "pci_lookup_name", (gpointer *) &t.lookup_name) ||
      !g_module_symbol(m, "pci_cleanup", (gpointer *) &t.cleanup)) {
    libpci_failure = g_strdup(g_module_error());
    return NULL;
  }
  libpci = t;
  return &libpci;
}

static const IcLibpci *
load_libpci(void)
{
  static GOnce once = G_ONCE_INIT;
  return g_once(&once, load_libpci_once, NULL);
}

static void
quiet_warning(char *msg G_GNUC_UNUSED, ...)
{
  /* libpci warns about a missing id file; we simply report no names */
}

static void
quiet_debug(char *msg G_GNUC_UNUSED, ...)
{
}

void
ic_host_names_init(IcInventory *inv)
{
  const IcLibpci *pci = load_libpci();
  if (pci == NULL) {
    ic_host_note(&inv->host, "cannot load %s (%s); no device names", IC_PCI_SONAME, libpci_failure);
    return;
  }
  struct pci_access *pacc = pci->alloc();
  if (pacc == NULL)
    return;
  pacc->warning = quiet_warning;
  pacc->debug = quiet_debug;
  const char *ids = g_getenv("IOMMUCTL_PCI_IDS");
  if (ids == NULL || *ids == '\0')
    ids = IOMMUCTL_PCI_IDS;
  pci->set_name_list_path(pacc, g_strdup(ids), 0);
  pacc->free_id_name = 0;
  if (!g_file_test(ids, G_FILE_TEST_EXISTS))
    ic_host_note(&inv->host, "pci.ids database %s not found; no device names", ids);
  inv->pacc = pacc;
}

static const char *
lookup(IcInventory *inv, int flags, ...)
{
  char buf[256];
  va_list ap;
  va_start(ap, flags);
  /* pci_lookup_name is variadic; forward the ids one by one */
  int a = va_arg(ap, int), b = va_arg(ap, int), c = va_arg(ap, int), d = va_arg(ap, int);
  va_end(ap);
  const char *s = libpci.lookup_name(inv->pacc, buf, sizeof buf,
                                  flags | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, a, b, c, d);
  return s ? g_string_chunk_insert_const(inv->strings, s) : NULL;
}

void
ic_host_names_lookup(IcInventory *inv, IcPciDevice *dev)
{
  if (inv->pacc == NULL)
    return;
  dev->vendor_name = lookup(inv, PCI_LOOKUP_VENDOR, dev->vendor_id, 0, 0, 0);
  dev->device_name = lookup(inv, PCI_LOOKUP_DEVICE, dev->vendor_id, dev->device_id, 0, 0);
  if (dev->subsys_vendor_id != 0 && dev->subsys_vendor_id != 0xffff)
    dev->subsys_name = lookup(inv, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE, dev->vendor_id, dev->device_id,
                              dev->subsys_vendor_id, dev->subsys_device_id);
  dev->class_name = lookup(inv, PCI_LOOKUP_CLASS, (int) (dev->class_code >> 8), 0, 0, 0);
}

void
ic_host_names_free(IcInventory *inv)
{
  if (inv->pacc != NULL) {
    char *name = inv->pacc->id_file_name;
    libpci.cleanup(inv->pacc);
    g_free(name);
    inv->pacc = NULL;
  }
}
