/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the QEMU layer that need no QEMU: argv model, keyval, the
 * version table, splitting libvirt's command line, and the engine on
 * libvirt's test driver (IOMMUCTL_ENGINE_URI=test:///default). */
#include <iommuctl/domain.h>
#include <iommuctl/qemu.h>
#include "util/ic-util.h"
#include "qemu/engine.h"
#include "qemu/qemu-private.h"
#include <glib/gstdio.h>
#include <unistd.h>

static void
test_argv_json_order(void)
{
  g_autoptr(IcQemuArgv) a = ic_qemu_argv_new("/usr/bin/qemu-system-x86_64");
  ic_qemu_argv_add_flag(a, "-S");
  ic_qemu_argv_add_text(a, "-machine", "pc-q35-7.2,kernel_irqchip=split");
  JsonObject *d = json_object_new();
  json_object_set_string_member(d, "driver", "intel-iommu");
  json_object_set_string_member(d, "id", "iommu0");
  json_object_set_string_member(d, "intremap", "on");
  json_object_set_boolean_member(d, "caching-mode", TRUE);
  json_object_set_int_member(d, "aw-bits", 48);
  ic_qemu_argv_add_json(a, "-device", d);
  g_auto(GStrv) v = ic_qemu_argv_to_strv(a);
  g_assert_cmpuint(g_strv_length(v), ==, 6);
  g_assert_cmpstr(v[1], ==, "-S");
  g_assert_cmpstr(v[5], ==,
                  "{\"driver\":\"intel-iommu\",\"id\":\"iommu0\",\"intremap\":\"on\",\"caching-mode\":true,\"aw-bits\":48}");
  g_assert_nonnull(ic_qemu_argv_find_id(a, "-device", "iommu0"));
  g_assert_null(ic_qemu_argv_find_id(a, "-device", "nope"));
  g_autofree char *lines = ic_qemu_argv_to_lines(a);
  g_assert_true(g_str_has_prefix(lines, "/usr/bin/qemu-system-x86_64\n-S\n-machine pc-q35-7.2,kernel_irqchip=split\n"));
}

static void
test_keyval(void)
{
  g_autoptr(JsonObject) o = ic_qemu_keyval_parse("pc-q35-7.2,usb=off,kernel_irqchip=split,a=x,,y", "type");
  g_assert_cmpstr(json_object_get_string_member(o, "type"), ==, "pc-q35-7.2");
  g_assert_cmpstr(json_object_get_string_member(o, "usb"), ==, "off");
  g_assert_cmpstr(json_object_get_string_member(o, "kernel_irqchip"), ==, "split");
  g_assert_cmpstr(json_object_get_string_member(o, "a"), ==, "x,y");
  g_autoptr(JsonObject) o2 = ic_qemu_keyval_parse("default-bus-bypass-iommu=on", "type");
  g_assert_false(json_object_has_member(o2, "type"));
}

static void
test_feature_table(void)
{
  g_assert_cmpstr(ic_qemu_feature_since("iommufd", NULL), ==, "9.0");
  g_assert_cmpstr(ic_qemu_feature_since("virtio-iommu-pci", NULL), ==, "6.2");
  g_assert_cmpstr(ic_qemu_feature_since("amd-iommu", "dma-remap"), ==, "10.1");
  g_assert_null(ic_qemu_feature_since("intel-iommu", "nonexistent"));
}

/* virConnectDomainXMLToNative's one line: environment first, then the
 * emulator and its options, quoted as a shell would. */
static void
test_split_native(void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) env = NULL;
  g_auto(GStrv) v = ic_qemu_engine_split_native(
      "LC_ALL=C PATH=/usr/bin HOME=/x /usr/bin/qemu-system-x86_64 -name guest=vm,debug-threads=on -S "
      "-device '{\"driver\":\"intel-iommu\",\"id\":\"iommu0\"}' -append 'console=ttyS0 quiet'",
      &env, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(g_strv_length(env), ==, 3);
  g_assert_cmpstr(env[2], ==, "HOME=/x");
  g_assert_cmpstr(v[0], ==, "/usr/bin/qemu-system-x86_64");
  g_autoptr(IcQemuArgv) a = ic_qemu_argv_from_strv((const char *const *) v);
  g_assert_cmpuint(a->opts->len, ==, 4);
  g_assert_null(ic_qemu_argv_find_id(a, "-device", "iommu0")); /* parsed only when asked */
  ic_qemu_argv_parse_json(a);
  IcQemuOpt *dev = ic_qemu_argv_find_id(a, "-device", "iommu0");
  g_assert_nonnull(dev);
  /* printed exactly as libvirt wrote it */
  g_auto(GStrv) back = ic_qemu_argv_to_strv(a);
  g_assert_cmpstr(back[4], ==, "-device");
  g_assert_cmpstr(back[5], ==, "{\"driver\":\"intel-iommu\",\"id\":\"iommu0\"}");
  g_assert_cmpstr(back[7], ==, "console=ttyS0 quiet");
  /* the splitter agrees with g_shell_parse_argv on libvirt's quoting */
  const char *line = "/usr/bin/qemu -name 'guest=it'\\''s,debug-threads=on' -append \"a \\\"b\\\" c\" "
                     "-device '{\"driver\":\"x\",\"id\":\"a b\"}' plain\\ word";
  g_auto(GStrv) ours = ic_qemu_engine_split_native(line, NULL, &error);
  g_assert_no_error(error);
  g_auto(GStrv) glibs = NULL;
  g_assert_true(g_shell_parse_argv(line, NULL, &glibs, NULL));
  g_assert_cmpuint(g_strv_length(ours), ==, g_strv_length(glibs));
  for (guint i = 0; glibs[i]; i++)
    g_assert_cmpstr(ours[i], ==, glibs[i]);
  g_assert_cmpstr(ours[2], ==, "guest=it's,debug-threads=on");
  g_assert_null(ic_qemu_engine_split_native("/usr/bin/qemu -name 'open", NULL, &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_FAILED);
  g_clear_error(&error);
  g_assert_null(ic_qemu_engine_split_native("LC_ALL=C", NULL, &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_FAILED);
}

/* --qemu-version: an option newer than the version asked for is refused
 * with the version it needs. */
static void
test_check_version(void)
{
  const char *words[] = {"/usr/bin/qemu-system-x86_64", "-machine", "pc-q35-7.2,default-bus-bypass-iommu=on",
                         "-device", "{\"driver\":\"virtio-iommu\",\"id\":\"iommu0\"}", "-object",
                         "{\"qom-type\":\"iommufd\",\"id\":\"iommufd0\"}", NULL};
  g_autoptr(IcQemuArgv) a = ic_qemu_argv_from_strv(words);
  ic_qemu_argv_parse_json(a);
  g_autoptr(GError) error = NULL;
  g_assert_true(ic_qemu_argv_check_version(a, "9.0", "f.xml", &error));
  g_assert_false(ic_qemu_argv_check_version(a, "8.2", "f.xml", &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED);
  g_assert_nonnull(strstr(error->message, "iommufd needs QEMU >= 9.0; --qemu-version is 8.2"));
  g_clear_error(&error);
  g_assert_false(ic_qemu_argv_check_version(a, "6.0", "f.xml", &error));
  g_assert_nonnull(strstr(error->message, "default-bus-bypass-iommu' needs QEMU >= 6.1"));
  g_clear_error(&error);
  g_assert_false(ic_qemu_argv_check_version(a, "banana", "f.xml", &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_INVALID_ARG);
}

static IcQemuBuild *
build_with(IcQemuEngine *e, const char *devices, guint libvirt_version, GError **error)
{
  g_autofree char *xml = g_strdup_printf(
      "<domain type='qemu'><name>d</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
      "<os><type arch='x86_64' machine='q35'>hvm</type></os><features><acpi/></features><devices>%s"
      "</devices></domain>", devices);
  g_autoptr(IcContext) ctx = ic_context_new();
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_parse(xml, strlen(xml), "refuse.xml", error);
  g_assert_nonnull(doc);
  IcQemuBuildOptions bo = {.libvirt_version = libvirt_version, .skip_groups = TRUE};
  return ic_qemu_build(e, ctx, doc, &bo, error);
}

/* A feature newer than the libvirt asked for, or than the installed one
 * (the engine), is refused with the version it needs: never dropped. */
static void
test_refused_not_dropped(void)
{
  g_setenv(IC_QEMU_ENGINE_URI_ENV, "test:///default", TRUE);
  g_autoptr(IcContext) ctx = ic_context_new();
  g_autoptr(GError) error = NULL;
  g_autoptr(IcQemuEngine) e = ic_qemu_engine_open(ctx, &error);
  if (e == NULL)
    g_error("the engine needs the Debian packages %s: %s", IC_QEMU_ENGINE_PACKAGES, error->message);
  g_assert_cmpstr(ic_qemu_engine_uri(e), ==, "test:///default");
  g_assert_null(ic_qemu_engine_root(e));
  const char *granule = "<iommu model='virtio'><driver><granule mode='4k'/></driver></iommu>";
  g_assert_null(build_with(e, granule, 9000000, &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_assert_nonnull(strstr(error->message, "refuse.xml:"));
  g_assert_nonnull(strstr(error->message, "12.1"));
  g_clear_error(&error);
  if (ic_libvirt_version_installed(NULL) < 12001000) {
    g_assert_null(build_with(e, granule, 12001000, &error));
    g_assert_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED);
    g_assert_nonnull(strstr(error->message, "cannot launch this (--libvirt-version 12.1 accepts it)"));
    g_clear_error(&error);
  }
  g_unsetenv(IC_QEMU_ENGINE_URI_ENV);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/qemu/argv/json-order", test_argv_json_order);
  g_test_add_func("/qemu/argv/keyval", test_keyval);
  g_test_add_func("/qemu/features/table", test_feature_table);
  g_test_add_func("/qemu/features/check-version", test_check_version);
  g_test_add_func("/qemu/engine/split-native", test_split_native);
  g_test_add_func("/qemu/engine/refused-not-dropped", test_refused_not_dropped);
  return g_test_run();
}
