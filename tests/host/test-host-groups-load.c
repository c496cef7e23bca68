/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ic_inventory_load_groups() against ic_inventory_load() on every fixture
 * tree: each group, loaded alone and with all the others, has the same
 * members, reasons and verdict, and each member the same host uses (the
 * root filesystem's controller, the default route's NIC, the console), the
 * same parent chain with the same ACS facts, driver and reset facts.  This
 * is what lets detach and persist read only the groups they act on. */
#include "host/inventory-groups.h"
#include "iommuctl/host.h"

#include <string.h>

static const char *const fixtures[] = {"laptop", "workstation", "server-switch", "nic-sriov", "broken",
                                       "noiommu", NULL};

static char *
build_fixture(const char *name)
{
  const char *src = g_getenv("IOMMUCTL_SRCDIR"), *build = g_getenv("IOMMUCTL_BUILDDIR");
  g_assert_nonnull(src);
  g_assert_nonnull(build);
  g_autofree char *dir_name = g_strdup_printf("groups-load-%s", name);
  char *root = g_build_filename(build, "host-fixtures", dir_name, NULL);
  g_autofree char *gen = g_build_filename(src, "tests", "host", "mkfixture.py", NULL);
  g_autofree char *txt_name = g_strdup_printf("%s.txt", name);
  g_autofree char *txt = g_build_filename(src, "tests", "host", "fixtures", txt_name, NULL);
  const char *argv[] = {"python3", gen, txt, root, NULL};
  int status = -1;
  g_autoptr(GError) error = NULL;
  g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error(error);
  g_assert_cmpint(status, ==, 0);
  return root;
}

static void
assert_same_host_uses(const IcPciDevice *a, const IcPciDevice *b)
{
  g_assert_cmpint(a->host_use_flags, ==, b->host_use_flags);
  g_assert_cmpint(a->holds_root_fs, ==, b->holds_root_fs);
  g_assert_cmpuint(a->host_uses->len, ==, b->host_uses->len);
  for (guint i = 0; i < a->host_uses->len; i++) {
    const IcHostUse *x = a->host_uses->pdata[i], *y = b->host_uses->pdata[i];
    g_assert_cmpint(x->kind, ==, y->kind);
    g_assert_cmpstr(x->detail, ==, y->detail);
  }
}

static void
assert_same_device(const IcPciDevice *a, const IcPciDevice *b)
{
  g_assert_cmpstr(a->name, ==, b->name);
  g_assert_cmpstr(a->driver, ==, b->driver);
  g_assert_cmpstr(a->modalias, ==, b->modalias);
  g_assert_cmphex(a->class_code, ==, b->class_code);
  g_assert_cmpint(a->header_type, ==, b->header_type);
  g_assert_cmpint(a->pcie_type, ==, b->pcie_type);
  g_assert_cmpint(a->iommu_group, ==, b->iommu_group);
  g_assert_cmpint(a->reset_caps, ==, b->reset_caps);
  g_assert_cmpint(a->config_extended, ==, b->config_extended);
  g_assert_cmpint(a->has_acs, ==, b->has_acs);
  g_assert_cmphex(a->acs_ctrl, ==, b->acs_ctrl);
  g_assert_cmpint(a->boot_vga, ==, b->boot_vga);
  g_assert_cmpint(a->depth, ==, b->depth);
  g_assert_cmpint(a->numa_node, ==, b->numa_node);
  g_assert_cmpstr(a->vendor_name, ==, b->vendor_name);
}

static void
assert_same_group(const IcIommuGroup *full, const IcIommuGroup *part)
{
  g_assert_nonnull(part);
  g_assert_cmpint(full->number, ==, part->number);
  g_assert_cmpstr(full->type, ==, part->type);
  g_assert_cmpint(full->verdict, ==, part->verdict);
  g_assert_cmpuint(full->n_endpoints, ==, part->n_endpoints);
  g_assert_cmpuint(full->members->len, ==, part->members->len);
  for (guint i = 0; i < full->members->len; i++) {
    const IcPciDevice *a = full->members->pdata[i], *b = part->members->pdata[i];
    assert_same_device(a, b);
    assert_same_host_uses(a, b);
    g_assert_true(b->group == part);
    /* the whole chain above, as ACS and isolation read it */
    const IcPciDevice *pa = a->parent, *pb = b->parent;
    for (; pa != NULL; pa = pa->parent, pb = pb->parent) {
      g_assert_nonnull(pb);
      assert_same_device(pa, pb);
    }
    g_assert_null(pb);
  }
  g_assert_cmpuint(full->reasons->len, ==, part->reasons->len);
  for (guint i = 0; i < full->reasons->len; i++) {
    const IcGroupReason *x = full->reasons->pdata[i], *y = part->reasons->pdata[i];
    g_assert_cmpint(x->kind, ==, y->kind);
    g_assert_cmpstr(x->text, ==, y->text);
    g_assert_cmpstr(x->device ? x->device->name : NULL, ==, y->device ? y->device->name : NULL);
  }
}

static void
compare_fixture(gconstpointer data)
{
  const char *name = data;
  g_autofree char *root = build_fixture(name);
  static const IcInventoryFlags flag_sets[] = {IC_INVENTORY_NO_NAMES, IC_INVENTORY_DEFAULT};
  for (guint f = 0; f < G_N_ELEMENTS(flag_sets); f++) {
    g_autoptr(IcContext) ctx = ic_context_new();
    ic_context_set_sysfs_root(ctx, root);
    g_autoptr(GError) error = NULL;
    IcInventory *full = NULL;
    g_assert_true(ic_inventory_load(ctx, flag_sets[f], &full, &error));
    g_assert_no_error(error);
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(int));
    for (guint k = 0; k < ic_inventory_n_groups(full); k++) {
      const IcIommuGroup *g = ic_inventory_group(full, k);
      if (g->members->len == 0)
        continue;
      IcInventory *part = NULL;
      g_autofree char *rel = g_strdup_printf("sys/kernel/iommu_groups/%d", g->number);
      g_autofree char *dir = g_build_filename(root, rel, NULL);
      if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        /* named only by a dangling iommu_group link (a damaged tree, which
         * plan refuses before it reads the inventory): not a group to load */
        g_assert_false(ic_inventory_load_groups(ctx, flag_sets[f], &g->number, 1, &part, &error));
        g_assert_error(error, IC_ERROR, IC_ERROR_NOT_FOUND);
        g_clear_error(&error);
        continue;
      }
      g_array_append_val(all, g->number);
      g_assert_true(ic_inventory_load_groups(ctx, flag_sets[f], &g->number, 1, &part, &error));
      g_assert_no_error(error);
      g_assert_cmpuint(ic_inventory_n_groups(part), ==, 1);
      assert_same_group(g, ic_inventory_find_group(part, g->number));
      /* fewer devices read than the whole host, unless the group is it */
      g_assert_cmpuint(ic_inventory_n_devices(part), <=, ic_inventory_n_devices(full));
      g_assert_cmpint(ic_inventory_host(part)->vfio_pci_available, ==,
                      ic_inventory_host(full)->vfio_pci_available);
      ic_inventory_free(part);
    }
    if (all->len > 0) {
      IcInventory *part = NULL;
      g_assert_true(ic_inventory_load_groups(ctx, flag_sets[f], (const int *) all->data, all->len, &part, &error));
      g_assert_no_error(error);
      for (guint k = 0; k < all->len; k++) {
        int n = g_array_index(all, int, k);
        assert_same_group(ic_inventory_find_group(full, n), ic_inventory_find_group(part, n));
      }
      ic_inventory_free(part);
    }
    /* a group the kernel does not have */
    int missing = 4242;
    IcInventory *none = NULL;
    g_assert_false(ic_inventory_load_groups(ctx, flag_sets[f], &missing, 1, &none, &error));
    g_assert_error(error, IC_ERROR, IC_ERROR_NOT_FOUND);
    g_assert_nonnull(strstr(error->message, "4242"));
    g_assert_null(none);
    ic_inventory_free(full);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (guint i = 0; fixtures[i] != NULL; i++) {
    g_autofree char *path = g_strdup_printf("/host/groups-load/%s", fixtures[i]);
    g_test_add_data_func(path, fixtures[i], compare_fixture);
  }
  return g_test_run();
}
