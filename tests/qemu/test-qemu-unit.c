/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the QEMU layer that need no QEMU: argv model, keyval,
 * the version table and synthetic capabilities. */
#include <iommuctl/domain.h>
#include <iommuctl/qemu.h>
#include "util/ic-util.h"
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

static void
test_caps_for_version(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(IcQemuCaps) c90 = ic_qemu_caps_for_version(NULL, "9.0", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(ic_qemu_caps_version(c90), ==, "9.0.0");
  g_assert_true(ic_qemu_caps_has_object(c90, "iommufd"));
  g_assert_true(ic_qemu_caps_has_device_prop(c90, "vfio-pci", "iommufd"));
  g_assert_false(ic_qemu_caps_has_device_prop(c90, "amd-iommu", "pci-id"));
  g_autoptr(IcQemuCaps) c72 = ic_qemu_caps_for_version(NULL, "7.2", &error);
  g_assert_false(ic_qemu_caps_has_object(c72, "iommufd"));
  g_assert_true(ic_qemu_caps_has_device(c72, "virtio-iommu-pci"));
  g_autoptr(IcQemuCaps) c60 = ic_qemu_caps_for_version(c72, "6.0", &error);
  g_assert_false(ic_qemu_caps_has_device(c60, "virtio-iommu-pci"));
  g_assert_null(ic_qemu_caps_for_version(NULL, "banana", &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_INVALID_ARG);
}

static void
test_caps_roundtrip(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(IcQemuCaps) c = ic_qemu_caps_for_version(NULL, "10.1", &error);
  g_autoptr(JsonNode) j = ic_qemu_caps_to_json(c);
  g_autofree char *text = ic_json_to_string(j, TRUE);
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp("caps-XXXXXX.json", &path, &error);
  g_assert_no_error(error);
  close(fd);
  g_assert_true(g_file_set_contents(path, text, -1, &error));
  g_autoptr(IcQemuCaps) back = ic_qemu_caps_load_file(path, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(ic_qemu_caps_version(back), ==, "10.1.0");
  g_assert_true(ic_qemu_caps_has_device_prop(back, "amd-iommu", "dma-remap"));
  g_unlink(path);
}

/* Build a one-disk q35 domain whose disk target is DEV; return the disk's
 * -device id, or NULL with ERROR set. */
static char *
disk_id_for_target(const char *dev, GError **error)
{
  g_autofree char *xml = g_strdup_printf(
      "<domain type='qemu'><name>d</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
      "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
      "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
      "<source file='/tmp/x.img'/><target dev='%s' bus='virtio'/></disk>"
      "</devices></domain>", dev);
  g_autoptr(IcContext) ctx = ic_context_new();
  g_autoptr(IcQemuCaps) caps = ic_qemu_caps_for_version(NULL, "7.2", error);
  IcDomainDoc *doc = ic_domain_doc_parse(xml, strlen(xml), "disk.xml", error);
  g_assert_nonnull(doc);
  IcQemuBuildOptions bo = {.caps = caps, .binary = "qemu-system-x86_64", .paused = TRUE};
  IcQemuBuild *b = ic_qemu_build(ctx, doc, &bo, error);
  char *id = NULL;
  if (b != NULL) {
    for (guint i = 0; i < b->argv->opts->len && id == NULL; i++) {
      const IcQemuOpt *o = b->argv->opts->pdata[i];
      const char *drv = o->json ? json_object_get_string_member_with_default(o->json, "driver", "") : "";
      if (strcmp(drv, "virtio-blk-pci") == 0)
        id = g_strdup(json_object_get_string_member(o->json, "id"));
    }
    ic_qemu_build_free(b);
  }
  ic_domain_doc_free(doc);
  return id;
}

/* Disk ids follow libvirt's name-to-index rule; names libvirt refuses are
 * refused with its text, and a name whose index overflows (which libvirt
 * turns into a garbage id; found by fuzz-qemu-args) is refused too. */
static void
test_disk_target_index(void)
{
  static const struct {
    const char *dev, *id, *error;
  } cases[] = {
      {"vda", "virtio-disk0", NULL},
      {"vdz", "virtio-disk25", NULL},
      {"vdaa", "virtio-disk26", NULL},
      {"sdb", "virtio-disk1", NULL},
      {"vdzzzzzz", "virtio-disk321272405", NULL},
      {"vd", NULL, "invalid disk target 'vd'"},
      {"xx", NULL, "invalid disk target 'xx'"},
      {"vda1", NULL, "invalid disk target 'vda1', partitions can't appear in disk targets"},
      {"vdacommandli", NULL, "disk target 'vdacommandli' is too long"},
      {"vdzzzzzzz", NULL, "disk target 'vdzzzzzzz' is too long"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *id = disk_id_for_target(cases[i].dev, &error);
    if (cases[i].id != NULL) {
      g_assert_no_error(error);
      g_assert_cmpstr(id, ==, cases[i].id);
    } else {
      g_assert_null(id);
      g_assert_error(error, IC_ERROR, IC_ERROR_INVALID_ARG);
      g_assert_nonnull(strstr(error->message, cases[i].error));
    }
  }
}

/* What the builtin command line cannot express is refused with the reason,
 * never dropped: <granule> of a virtio-iommu, s390x <zpci> addresses (an
 * smmuv3 per host bridge: tests/qemu/domains/bad-smmuv3-pcibus.xml). */
static void
build_refusal(const char *arch, const char *machine, const char *devices, const char *wanted)
{
  g_autofree char *xml = g_strdup_printf(
      "<domain type='qemu'><name>d</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
      "<os><type arch='%s' machine='%s'>hvm</type></os><features><acpi/></features><devices>%s"
      "</devices></domain>", arch, machine, devices);
  g_autoptr(GError) error = NULL;
  g_autoptr(IcContext) ctx = ic_context_new();
  g_autoptr(IcQemuCaps) caps = ic_qemu_caps_for_version(NULL, "10.2", &error);
  g_assert_no_error(error);
  IcDomainDoc *doc = ic_domain_doc_parse(xml, strlen(xml), "refuse.xml", &error);
  g_assert_no_error(error);
  IcQemuBuildOptions bo = {.caps = caps, .binary = g_str_equal(arch, "aarch64") ? "qemu-system-aarch64"
                                                                                 : "qemu-system-x86_64"};
  IcQemuBuild *b = ic_qemu_build(ctx, doc, &bo, &error);
  g_assert_null(b);
  g_assert_nonnull(error);
  if (strstr(error->message, wanted) == NULL)
    g_error("wanted \"%s\", got \"%s\"", wanted, error->message);
  g_assert_null(strstr(error->message, "this is QEMU"));
  ic_domain_doc_free(doc);
}

static void
test_refused_not_dropped(void)
{
  build_refusal("x86_64", "q35", "<iommu model='virtio'><driver><granule mode='4k'/></driver></iommu>",
                "<granule/> of the virtio-iommu is not expressed");
  build_refusal("x86_64", "q35",
                "<interface type='user'><model type='virtio'/><address type='pci' domain='0x0000' bus='0x00' "
                "slot='0x03' function='0x0'><zpci uid='0x0001' fid='0x00000000'/></address></interface>",
                "<zpci/> addresses are not expressed");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/qemu/argv/json-order", test_argv_json_order);
  g_test_add_func("/qemu/argv/keyval", test_keyval);
  g_test_add_func("/qemu/caps/feature-table", test_feature_table);
  g_test_add_func("/qemu/caps/for-version", test_caps_for_version);
  g_test_add_func("/qemu/caps/roundtrip", test_caps_roundtrip);
  g_test_add_func("/qemu/build/disk-target-index", test_disk_target_index);
  g_test_add_func("/qemu/build/refused-not-dropped", test_refused_not_dropped);
  return g_test_run();
}
