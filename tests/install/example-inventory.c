/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A program outside the tree, built only from the INSTALLED libiommuctl:
 *   cc example-inventory.c $(pkg-config --cflags --libs libiommuctl)
 * It lists the IOMMU groups of a host tree (default: this host) with their
 * verdicts, members and drivers, one line each, so that the install tests
 * can compare it with 'iommuctl groups --json' on the same tree. */
#include <iommuctl/iommuctl.h>

#include <stdio.h>

int
main(int argc, char **argv)
{
  g_autoptr(IcContext) ctx = ic_context_new();
  g_autoptr(GError) error = NULL;

  if (argc > 2) {
    fprintf(stderr, "usage: %s [SYSFS-ROOT]\n", argv[0]);
    return 2;
  }
  if (argc == 2)
    ic_context_set_sysfs_root(ctx, argv[1]);

  IcInventory *inv = ic_inventory_get(ctx, IC_INVENTORY_DEFAULT, &error);
  if (inv == NULL) {
    fprintf(stderr, "inventory: %s\n", error->message);
    return ic_error_exit_status(error);
  }
  for (guint i = 0; i < ic_inventory_n_groups(inv); i++) {
    const IcIommuGroup *g = ic_inventory_group(inv, i);
    printf("group %d %s\n", g->number, ic_group_verdict_to_id(g->verdict));
    for (guint j = 0; j < g->members->len; j++) {
      const IcPciDevice *dev = g_ptr_array_index(g->members, j);
      /* the lookup by parsed address must find the same device */
      IcPciAddr addr;
      if (!ic_pci_addr_parse(dev->name, &addr, &error)) {
        fprintf(stderr, "%s: %s\n", dev->name, error->message);
        return 3;
      }
      if (ic_inventory_find_device(inv, &addr) != dev) {
        fprintf(stderr, "%s: ic_inventory_find_device() found another device\n", dev->name);
        return 3;
      }
      printf("  %s %s\n", dev->name, dev->driver ? dev->driver : "-");
    }
  }
  printf("%u devices\n", ic_inventory_n_devices(inv));
  return 0;
}
