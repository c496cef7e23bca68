/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Vendor/device/class names from pci.ids through libpci.  Only the name
 * database is used (no pci_init(), no bus access, no udev hwdb, no DNS), so
 * names are the same for the real host, a snapshot and a fixture.  The file
 * is IOMMUCTL_PCI_IDS from the build, or the env variable of the same name
 * (the guest bundle carries its own copy). */
#include "host/host-private.h"
#include "ic-config.h"

#include <pci/pci.h>
#include <stdarg.h>
#include <stdio.h>

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
  struct pci_access *pacc = pci_alloc();
  if (pacc == NULL)
    return;
  pacc->warning = quiet_warning;
  pacc->debug = quiet_debug;
  const char *ids = g_getenv("IOMMUCTL_PCI_IDS");
  if (ids == NULL || *ids == '\0')
    ids = IOMMUCTL_PCI_IDS;
  pci_set_name_list_path(pacc, g_strdup(ids), 0);
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
  const char *s = pci_lookup_name(inv->pacc, buf, sizeof buf,
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
    pci_cleanup(inv->pacc);
    g_free(name);
    inv->pacc = NULL;
  }
}
