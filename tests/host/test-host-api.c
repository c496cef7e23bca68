/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host library API on a generated fixture (laptop) and the config-space
 * parser on hostile images. */
#include "host/host-private.h"
#include "iommuctl/host.h"

#include <string.h>
#include <unistd.h>

static char *fixture_root;

static void
build_fixture(void)
{
  const char *src = g_getenv("IOMMUCTL_SRCDIR"), *build = g_getenv("IOMMUCTL_BUILDDIR");
  g_assert_nonnull(src);
  g_assert_nonnull(build);
  fixture_root = g_build_filename(build, "host-fixtures", "api-laptop", NULL);
  g_autofree char *gen = g_build_filename(src, "tests", "host", "mkfixture.py", NULL);
  g_autofree char *txt = g_build_filename(src, "tests", "host", "fixtures", "laptop.txt", NULL);
  const char *argv[] = {"python3", gen, txt, fixture_root, NULL};
  int status = -1;
  g_autoptr(GError) error = NULL;
  g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &error));
  g_assert_no_error(error);
  g_assert_cmpint(status, ==, 0);
}

static IcContext *
fixture_context(void)
{
  IcContext *ctx = ic_context_new();
  ic_context_set_sysfs_root(ctx, fixture_root);
  return ctx;
}

static void
test_inventory(void)
{
  g_autoptr(IcContext) ctx = fixture_context();
  g_autoptr(GError) error = NULL;
  IcInventory *inv = ic_inventory_get(ctx, IC_INVENTORY_DEFAULT, &error);
  g_assert_no_error(error);
  g_assert_nonnull(inv);
  g_assert_true(ic_inventory_get(ctx, IC_INVENTORY_DEFAULT, NULL) == inv); /* cached */
  g_assert_cmpuint(ic_inventory_n_devices(inv), ==, 14);
  IcPciAddr a;
  g_assert_true(ic_pci_addr_parse("0000:02:00.0", &a, NULL));
  IcPciDevice *nvme = ic_inventory_find_device(inv, &a);
  IcPciAddr nvme_addr = a;
  g_assert_nonnull(nvme);
  g_assert_cmpstr(nvme->driver, ==, "nvme");
  g_assert_cmpstr(nvme->parent->name, ==, "0000:00:1c.0");
  g_assert_cmpint(nvme->parent->pcie_type, ==, IC_PCIE_ROOT_PORT);
  g_assert_true(ic_pci_device_is_bridge(nvme->parent));
  g_assert_cmpint(nvme->header_type, ==, IC_HEADER_ENDPOINT);
  g_assert_cmpint(nvme->pcie_type, ==, IC_PCIE_ENDPOINT);
  g_assert_cmphex(nvme->class_code, ==, 0x010802);
  g_assert_cmphex(nvme->vendor_id, ==, 0x144d);
  g_assert_true(nvme->holds_root_fs);
  g_assert_true(nvme->host_use_flags & IC_HOST_USE_MOUNT);
  g_assert_true(nvme->reset_caps & IC_RESET_CAP_FLR);
  g_assert_cmpint(nvme->iommu_group, ==, 9);
  g_assert_cmpint(nvme->group->verdict, ==, IC_GROUP_HOST_IN_USE);
  g_assert_cmpstr(nvme->modalias, ==, "pci:v0000144Dd0000A80Asv0000144Dsd0000A801bc01sc08i02");
  g_assert_null(nvme->reset_methods); /* not loaded without DETAILS */
  char **rm = ic_pci_device_reset_methods(ctx, nvme);
  g_assert_nonnull(rm);
  g_assert_cmpstr(rm[0], ==, "flr");
  g_assert_null(ic_pci_device_read_driver_override(ctx, nvme));

  IcIommuGroup *pch = ic_inventory_find_group(inv, 8);
  g_assert_nonnull(pch);
  g_assert_cmpuint(pch->members->len, ==, 4);
  g_assert_cmpint(pch->verdict, ==, IC_GROUP_NEEDS_DETACH);
  g_assert_null(ic_inventory_find_group(inv, 77));

  IcHostInfo *h = ic_inventory_host(inv);
  g_assert_true(h->iommu_enabled);
  g_assert_cmpstr(h->iommu_vendor, ==, "intel");
  g_assert_cmpuint(h->address_width, ==, 39);
  g_assert_cmpint(h->interrupt_remapping, ==, 1);
  g_assert_true(h->vfio_pci_available);
  g_assert_true(h->dev_vfio);
  g_assert_false(h->dev_iommu);
  g_assert_cmpstr(h->arch, ==, "x86_64");
  g_assert_cmpstr(h->kernel_release, ==, "6.1.0-laptop");

  /* driver re-read after a "sysfs write": move the driver link */
  g_assert_true(ic_pci_addr_parse("0000:00:14.3", &a, NULL));
  IcPciDevice *wifi = ic_inventory_find_device(inv, &a);
  g_autofree char *link = g_build_filename(fixture_root, "sys/devices/pci0000:00/0000:00:14.3/driver", NULL);
  g_autofree char *vfio_dir = g_build_filename(fixture_root, "sys/bus/pci/drivers/vfio-pci", NULL);
  g_mkdir_with_parents(vfio_dir, 0755);
  g_assert_cmpint(unlink(link), ==, 0);
  g_assert_cmpint(symlink("../../../bus/pci/drivers/vfio-pci", link), ==, 0);
  g_assert_cmpstr(ic_pci_device_read_driver(ctx, wifi), ==, "vfio-pci");
  g_autofree char *drv = ic_pci_read_driver(ctx, &a);
  g_assert_cmpstr(drv, ==, "vfio-pci");
  g_assert_cmpint(unlink(link), ==, 0);
  g_assert_cmpint(symlink("../../../bus/pci/drivers/iwlwifi", link), ==, 0);
  g_assert_cmpstr(ic_pci_device_read_driver(ctx, wifi), ==, "iwlwifi");

  /* DETAILS reloads: driver_override and reserved regions appear */
  IcInventory *full = ic_inventory_get(ctx, IC_INVENTORY_DETAILS, &error);
  g_assert_no_error(error);
  g_assert_nonnull(ic_inventory_find_group(full, 9)->reserved_regions);
  ic_inventory_invalidate(ctx);
  g_assert_null(ctx->host_cache);
  IcInventory *again = ic_inventory_get(ctx, IC_INVENTORY_NO_HOST_USE, &error);
  g_assert_no_error(error);
  g_assert_nonnull(again);
  g_assert_false(ic_inventory_find_device(again, &nvme_addr)->holds_root_fs);
}

static void
test_check_items(void)
{
  g_autoptr(IcContext) ctx = fixture_context();
  g_autoptr(IcInventory) inv = NULL;
  g_assert_true(ic_inventory_load(ctx, IC_INVENTORY_NO_NAMES, &inv, NULL));
  g_autoptr(GPtrArray) items = ic_host_check(inv);
  g_assert_cmpuint(items->len, >, 4);
  for (guint i = 0; i < items->len; i++) {
    IcCheckItem *it = g_ptr_array_index(items, i);
    if (it->status == IC_CHECK_WARN || it->status == IC_CHECK_FAIL)
      g_assert_nonnull(it->fix);
    g_assert_true(it->status != IC_CHECK_FAIL);
  }
  g_assert_null(ic_inventory_device(inv, 0)->vendor_name); /* NO_NAMES */
}

/* groups --json is streamed without a json-glib tree; the same document
 * through a JsonBuilder and json-glib's generator must be the same bytes. */
static void
test_groups_json_stream(void)
{
  g_autoptr(IcContext) ctx = fixture_context();
  g_autoptr(IcInventory) inv = NULL;
  g_assert_true(ic_inventory_load(ctx, IC_INVENTORY_DEFAULT, &inv, NULL));
  g_autofree char *streamed = ic_inventory_groups_json(inv);
  g_autoptr(JsonBuilder) b = json_builder_new();
  ic_inventory_groups_json_build(inv, b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree char *generated = ic_json_to_string(root, TRUE);
  g_assert_cmpstr(streamed, ==, generated);
  g_assert_nonnull(strstr(streamed, "\"verdict\" : \"host-in-use\""));
}

static IcPciDevice *
blank_device(void)
{
  IcPciDevice *d = g_new0(IcPciDevice, 1);
  d->notes = g_ptr_array_new_with_free_func(g_free);
  d->pcie_type = IC_PCIE_NONE;
  return d;
}

static void
free_blank(IcPciDevice *d)
{
  g_ptr_array_unref(d->notes);
  g_free(d);
}

static void
test_config_hostile(void)
{
  /* random images of every length never read out of bounds (ASan checks) */
  GRand *r = g_rand_new_with_seed(42);
  for (int round = 0; round < 2000; round++) {
    gsize len = (gsize) g_rand_int_range(r, 0, 4097);
    g_autofree guint8 *cfg = g_malloc(len + 1);
    for (gsize i = 0; i < len; i++)
      cfg[i] = (guint8) g_rand_int(r);
    if (len > 0x40 && round % 2) {
      cfg[6] = 0x10;
      cfg[0x34] = (guint8) g_rand_int_range(r, 0x40, 0x100);
    }
    IcPciDevice *d = blank_device();
    ic_host_parse_config(d, cfg, len);
    free_blank(d);
  }
  g_rand_free(r);
  /* a self-referencing capability list ends with a note */
  guint8 cfg[256] = {0};
  cfg[6] = 0x10;
  cfg[0x34] = 0x40;
  cfg[0x40] = 0x09;
  cfg[0x41] = 0x40;
  IcPciDevice *d = blank_device();
  ic_host_parse_config(d, cfg, sizeof cfg);
  g_assert_cmpuint(d->notes->len, ==, 1);
  free_blank(d);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  build_fixture();
  g_test_add_func("/host/inventory", test_inventory);
  g_test_add_func("/host/check", test_check_items);
  g_test_add_func("/host/groups-json-stream", test_groups_json_stream);
  g_test_add_func("/host/config-hostile", test_config_hostile);
  return g_test_run();
}
