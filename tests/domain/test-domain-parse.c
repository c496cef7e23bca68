/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing, the typed view, byte-exact round trip and hostile input. */
#include <iommuctl/domain.h>
#include <iommuctl/error.h>
#include <string.h>

static char *
corpus_path(const char *name)
{
  const char *src = g_getenv("IOMMUCTL_SRCDIR");
  g_assert_nonnull(src);
  return g_build_filename(src, "tests", "domain", "corpus", name, NULL);
}

static IcDomainDoc *
load_corpus(const char *name)
{
  g_autofree char *path = corpus_path(name);
  g_autoptr(GError) error = NULL;
  IcDomainDoc *doc = ic_domain_doc_load(path, &error);
  g_assert_no_error(error);
  return doc;
}

static void
test_round_trip_corpus(void)
{
  const char *files[] = {"x86-q35-gpu.xml", "s390x-ccw.xml", "aarch64-virt.xml", "big-200-devices.xml"};
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *path = corpus_path(files[i]);
    g_autofree char *orig = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &orig, &len, NULL));
    g_autoptr(IcDomainDoc) doc = load_corpus(files[i]);
    gsize out_len = 0;
    const char *out = ic_domain_doc_bytes(doc, &out_len);
    g_assert_cmpuint(out_len, ==, len);
    g_assert_cmpint(memcmp(out, orig, len), ==, 0);
    g_assert_false(ic_domain_doc_changed(doc));
  }
}

static void
test_view_q35(void)
{
  g_autoptr(IcDomainDoc) doc = load_corpus("x86-q35-gpu.xml");
  const IcDomainDef *def = ic_domain_doc_def(doc);
  g_assert_cmpint(def->kind, ==, IC_DOMAIN_DOC_DOMAIN);
  g_assert_cmpstr(def->type, ==, "qemu");
  g_assert_cmpstr(def->name, ==, "gpu-ws");
  g_assert_cmpstr(def->arch, ==, "x86_64");
  g_assert_cmpstr(def->machine, ==, "pc-q35-7.2");
  g_assert_true(ic_domain_def_is_q35(def));
  g_assert_cmpuint(def->memory_kib, ==, 16ull * 1024 * 1024);
  g_assert_cmpuint(def->current_memory_kib, ==, 16777216);
  g_assert_cmpuint(def->vcpus_max, ==, 8);
  g_assert_true(def->acpi);
  g_assert_null(def->ioapic_driver);
  g_assert_cmpstr(def->cpu_mode, ==, "maximum");
  g_assert_nonnull(def->metadata);
  g_assert_cmpuint(def->qemu_commandline->len, ==, 1);
  g_assert_cmpuint(def->hostdevs->len, ==, 2);
  const IcDomainHostdev *h = g_ptr_array_index(def->hostdevs, 1);
  g_assert_true(h->has_source_pci);
  g_assert_cmpuint(h->source_pci.bus, ==, 0x3b);
  g_assert_cmpuint(h->source_pci.function, ==, 1);
  g_assert_cmpint(h->managed, ==, IC_TRI_ON);
  g_assert_cmpint(h->iommufd, ==, IC_TRI_ABSENT);
  g_assert_cmpstr(h->driver_name, ==, "vfio");
  g_assert_cmpint(h->base.line, ==, 50);
  g_assert_cmpuint(def->disks->len, ==, 1);
  const IcDomainDisk *d = g_ptr_array_index(def->disks, 0);
  g_assert_cmpstr(d->bus, ==, "virtio");
  g_assert_cmpstr(d->driver_type, ==, "qcow2");
  g_assert_cmpstr(d->source, ==, "/var/lib/libvirt/images/gpu-ws.qcow2");
  g_assert_true(d->base.virtio);
  /* virtio: disk, interface, memballoon, rng */
  g_assert_cmpuint(def->virtio_devices->len, ==, 4);
  const IcDomainController *c = g_ptr_array_index(def->controllers, 1);
  g_assert_cmpint(c->index, ==, 1);
  g_assert_cmpint(c->target_chassis, ==, 1);
  g_assert_cmpint(c->target_port, ==, 0x10);
  g_assert_cmpstr(c->base.model, ==, "pcie-root-port");
  const IcDomainInterface *n = g_ptr_array_index(def->interfaces, 0);
  g_assert_cmpstr(n->mac, ==, "52:54:00:6b:3c:58");
  g_assert_cmpstr(n->source, ==, "default");
  g_assert_cmpstr(n->base.model, ==, "virtio");
}

static void
test_view_other_arches(void)
{
  g_autoptr(IcDomainDoc) s = load_corpus("s390x-ccw.xml");
  const IcDomainDef *def = ic_domain_doc_def(s);
  g_assert_true(ic_domain_def_is_s390(def));
  /* vda, virtio-scsi, virtio-serial, net, fs, rng (not sda, not balloon none) */
  g_assert_cmpuint(def->virtio_devices->len, ==, 6);
  const IcDomainDisk *vda = g_ptr_array_index(def->disks, 0);
  g_assert_cmpint(vda->base.address.type, ==, IC_ADDR_CCW);
  g_assert_cmpuint(vda->base.address.cssid, ==, 0xfe);
  g_autoptr(IcDomainDoc) a = load_corpus("aarch64-virt.xml");
  def = ic_domain_doc_def(a);
  g_assert_true(ic_domain_def_is_arm_virt(def));
  g_assert_cmpuint(def->vcpus_current, ==, 2);
  g_assert_cmpuint(def->vcpus_max, ==, 4);
  g_assert_cmpuint(def->memory_kib, ==, 2048 * 1024);
  g_assert_cmpstr(def->kernel, ==, "/boot/vmlinuz-arm");
  g_assert_cmpstr(def->cmdline, ==, "console=ttyAMA0 root=/dev/vda");
  const IcDomainController *pxb = g_ptr_array_index(def->controllers, 2);
  g_assert_cmpint(pxb->target_bus_nr, ==, 254);
  g_autoptr(IcDomainDoc) big = load_corpus("big-200-devices.xml");
  g_assert_cmpuint(ic_domain_doc_def(big)->devices->len, ==, 202);
}

static void
test_standalone_device(void)
{
  const char *xml = "<disk type='file'>\n  <source file='/x'/>\n  <target dev='vdb' bus='virtio'/>\n</disk>\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_parse(xml, strlen(xml), "dev.xml", &error);
  g_assert_no_error(error);
  const IcDomainDef *def = ic_domain_doc_def(doc);
  g_assert_cmpint(def->kind, ==, IC_DOMAIN_DOC_DEVICE);
  g_assert_cmpuint(def->virtio_devices->len, ==, 1);
}

static void
expect_parse_error(const char *xml, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_parse(xml, strlen(xml), "bad.xml", &error);
  g_assert_null(doc);
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
  if (strstr(error->message, needle) == NULL)
    g_error("'%s' not in '%s'", needle, error->message);
}

static void
test_hostile(void)
{
  expect_parse_error("<?xml version='1.0'?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
                     " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n]>\n"
                     "<domain>&lol2;</domain>", "DOCTYPE");
  expect_parse_error("<!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><domain>&x;</domain>", "DOCTYPE");
  expect_parse_error("<domain><name>x</name>", "bad.xml:1");
  expect_parse_error("<foo/>", "neither <domain>");
  /* 10000 levels deep: libxml2's default depth limit, not a stack overflow */
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 10000; i++)
    g_string_append(deep, "<a>");
  for (int i = 0; i < 10000; i++)
    g_string_append(deep, "</a>");
  g_autoptr(GError) error = NULL;
  IcDomainDoc *doc = ic_domain_doc_parse(deep->str, deep->len, "deep.xml", &error);
  g_assert_null(doc);
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
  g_string_free(deep, TRUE);
  /* over the size limit */
  gsize big = IC_DOMAIN_MAX_BYTES + 1;
  char *huge = g_malloc(big);
  memset(huge, ' ', big);
  memcpy(huge, "<domain>", 8);
  g_clear_error(&error);
  doc = ic_domain_doc_parse(huge, big, "huge.xml", &error);
  g_assert_null(doc);
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
  g_free(huge);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/domain/parse/round-trip-corpus", test_round_trip_corpus);
  g_test_add_func("/domain/parse/view-q35", test_view_q35);
  g_test_add_func("/domain/parse/view-other-arches", test_view_other_arches);
  g_test_add_func("/domain/parse/standalone-device", test_standalone_device);
  g_test_add_func("/domain/parse/hostile", test_hostile);
  return g_test_run();
}
