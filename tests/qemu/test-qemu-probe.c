/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Oracle: probe Debian's real QEMU over QMP and check what 7.2 has and
 * lacks (qemu-ecosystem.md A.0), the cache, and QEMU's own error text. */
#include <iommuctl/qemu.h>
#include "util/ic-util.h"
#include <glib/gstdio.h>

static const char *qemu_x86 = "/usr/bin/qemu-system-x86_64";

static void
test_probe_and_cache(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(IcContext) ctx = ic_context_new();
  g_autofree char *dir = g_dir_make_tmp("iommuctl-caps-XXXXXX", &error);
  g_assert_no_error(error);
  g_free(ctx->cache_dir);
  ctx->cache_dir = g_strdup(dir);

  gint64 t0 = g_get_monotonic_time();
  g_autoptr(IcQemuCaps) c = ic_qemu_caps_probe(ctx, qemu_x86, &error);
  g_assert_no_error(error);
  gint64 t1 = g_get_monotonic_time();
  g_assert_true(g_str_has_prefix(ic_qemu_caps_version(c), "7.2."));
  g_assert_true(ic_qemu_caps_has_device_prop(c, "intel-iommu", "aw-bits"));
  g_assert_true(ic_qemu_caps_has_device_prop(c, "intel-iommu", "dma-translation"));
  g_assert_true(ic_qemu_caps_has_device_prop(c, "intel-iommu", "caching-mode"));
  g_assert_true(ic_qemu_caps_has_device_prop(c, "amd-iommu", "intremap"));
  g_assert_false(ic_qemu_caps_has_device_prop(c, "amd-iommu", "pci-id"));
  g_assert_false(ic_qemu_caps_has_device_prop(c, "amd-iommu", "dma-remap"));
  g_assert_false(ic_qemu_caps_has_device_prop(c, "amd-iommu", "xtsup"));
  g_assert_true(ic_qemu_caps_has_device_prop(c, "virtio-iommu-pci", "boot-bypass"));
  g_assert_false(ic_qemu_caps_has_device_prop(c, "virtio-iommu-pci", "granule"));
  g_assert_true(ic_qemu_caps_has_device_prop(c, "pxb-pcie", "bypass_iommu"));
  g_assert_false(ic_qemu_caps_has_device_prop(c, "vfio-pci", "iommufd"));
  g_assert_false(ic_qemu_caps_has_object(c, "iommufd"));
  g_assert_true(ic_qemu_caps_has_machine_prop(c, "q35", "default-bus-bypass-iommu"));
  g_assert_cmpstr(ic_qemu_caps_resolve_machine(c, "q35"), ==, "pc-q35-7.2");
  g_assert_false(ic_qemu_caps_has_machine_prop(c, "q35", "iommu"));

  /* second call: from the cache file, no QEMU start */
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name = g_dir_read_name(d);
  g_assert_nonnull(name);
  g_assert_true(g_str_has_prefix(name, "qemu-caps-"));
  g_autoptr(IcQemuCaps) c2 = ic_qemu_caps_probe(ctx, qemu_x86, &error);
  g_assert_no_error(error);
  gint64 t2 = g_get_monotonic_time();
  g_assert_cmpstr(ic_qemu_caps_version(c2), ==, ic_qemu_caps_version(c));
  g_assert_true(ic_qemu_caps_has_device_prop(c2, "pxb-pcie", "bypass_iommu"));
  g_test_message("probe %.0f ms, cached %.1f ms", (t1 - t0) / 1000.0, (t2 - t1) / 1000.0);
  g_autofree char *cached = g_build_filename(dir, name, NULL);
  g_unlink(cached);
  g_rmdir(dir);
}

static void
test_arm_probe(void)
{
  if (!g_file_test("/usr/bin/qemu-system-aarch64", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_fail_printf("qemu-system-aarch64 missing");
    return;
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(IcContext) ctx = ic_context_new();
  g_clear_pointer(&ctx->cache_dir, g_free); /* no cache */
  g_autoptr(IcQemuCaps) c = ic_qemu_caps_probe(ctx, "/usr/bin/qemu-system-aarch64", &error);
  g_assert_no_error(error);
  g_assert_true(ic_qemu_caps_has_machine_prop(c, "virt", "iommu"));
  g_assert_true(ic_qemu_caps_has_machine_prop(c, "virt", "default-bus-bypass-iommu"));
  g_assert_false(ic_qemu_caps_has_device(c, "intel-iommu"));
}

static void
test_qmp_error_text(void)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = {qemu_x86, "-S", "-display", "none", "-nodefaults", "-accel", "tcg",
                        "-machine", "q35", "-device", "intel-iommu,aw-bits=40", NULL};
  g_autoptr(IcQmp) q = ic_qmp_spawn(argv, 10000, &error);
  g_assert_null(q);
  g_assert_error(error, IC_ERROR, IC_ERROR_FAILED);
  g_assert_nonnull(strstr(error->message, "Supported values for aw-bits are: 39, 48"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/qemu/probe/x86-and-cache", test_probe_and_cache);
  g_test_add_func("/qemu/probe/aarch64", test_arm_probe);
  g_test_add_func("/qemu/qmp/error-text", test_qmp_error_text);
  return g_test_run();
}
