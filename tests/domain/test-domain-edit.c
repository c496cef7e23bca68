/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Edits keep everything they do not have to change; protect is idempotent;
 * viommu results lint clean; memlock follows libvirt's formula. */
#include <iommuctl/domain.h>
#include <iommuctl/error.h>
#include <string.h>

static IcDomainDoc *
parse(const char *xml)
{
  g_autoptr(GError) error = NULL;
  IcDomainDoc *doc = ic_domain_doc_parse(xml, strlen(xml), "t.xml", &error);
  g_assert_no_error(error);
  return doc;
}

static const char *
text(IcDomainDoc *doc)
{
  return ic_domain_doc_bytes(doc, NULL);
}

static void
test_protect_splices(void)
{
  const char *in =
    "<domain type=\"qemu\">\n"
    "  <!-- keep me -->\n"
    "  <name>p</name>\n"
    "  <os><type arch=\"s390x\" machine=\"s390-ccw-virtio\">hvm</type></os>\n"
    "  <devices>\n"
    "    <disk type=\"file\" device=\"disk\">\n"
    "      <driver name=\"qemu\"   type=\"raw\"/>\n"
    "      <source file=\"/a\"/>\n"
    "      <target dev=\"vda\" bus=\"virtio\"/>\n"
    "    </disk>\n"
    "    <x:unknown xmlns:x=\"urn:x\" b='1' a='2'/>\n"
    "    <memballoon model=\"virtio\"/>\n"
    "    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>\n"
    "    <disk type='file'><source file='/b'/><target dev='sda' bus='scsi'/></disk>\n"
    "  </devices>\n"
    "</domain>\n";
  const char *want =
    "<domain type=\"qemu\">\n"
    "  <!-- keep me -->\n"
    "  <name>p</name>\n"
    "  <os><type arch=\"s390x\" machine=\"s390-ccw-virtio\">hvm</type></os>\n"
    "  <devices>\n"
    "    <disk type=\"file\" device=\"disk\">\n"
    "      <driver name=\"qemu\"   type=\"raw\" iommu=\"on\"/>\n"
    "      <source file=\"/a\"/>\n"
    "      <target dev=\"vda\" bus=\"virtio\"/>\n"
    "    </disk>\n"
    "    <x:unknown xmlns:x=\"urn:x\" b='1' a='2'/>\n"
    "    <memballoon model=\"virtio\">\n"
    "      <driver iommu=\"on\"/>\n"
    "    </memballoon>\n"
    "    <rng model='virtio'><backend model='random'>/dev/urandom</backend><driver iommu='on'/></rng>\n"
    "    <disk type='file'><source file='/b'/><target dev='sda' bus='scsi'/></disk>\n"
    "  </devices>\n"
    "</domain>\n";
  g_autoptr(IcDomainDoc) doc = parse(in);
  IcProtectReport r;
  ic_protect_report_init(&r);
  g_assert_true(ic_domain_protect(doc, FALSE, &r, NULL));
  g_assert_cmpuint(r.devices_changed, ==, 3);
  g_assert_cmpstr(text(doc), ==, want);
  ic_protect_report_clear(&r);
  /* idempotent: the second run changes nothing */
  g_autoptr(IcDomainDoc) again = parse(want);
  ic_protect_report_init(&r);
  g_assert_true(ic_domain_protect(again, FALSE, &r, NULL));
  g_assert_false(ic_domain_doc_changed(again));
  g_assert_cmpuint(r.already_on, ==, 3);
  g_assert_cmpstr(text(again), ==, want);
  ic_protect_report_clear(&r);
}

static void
test_protect_crlf(void)
{
  /* a file with Windows line ends keeps them in what we add */
  const char *in = "<devices>\r\n  <memballoon model='virtio'/>\r\n</devices>\r\n";
  g_autoptr(IcDomainDoc) doc = parse(in);
  g_assert_true(ic_domain_protect(doc, FALSE, NULL, NULL));
  g_assert_cmpstr(text(doc), ==, "<devices>\r\n  <memballoon model='virtio'>\r\n    <driver iommu='on'/>\r\n"
                                 "  </memballoon>\r\n</devices>\r\n");
}

static void
test_protect_off_and_force(void)
{
  const char *in = "<interface type='network'>\n  <source network='default'/>\n  <model type='virtio'/>\n"
                   "  <driver name='vhost' iommu='off'/>\n</interface>\n";
  g_autoptr(IcDomainDoc) doc = parse(in);
  IcProtectReport r;
  ic_protect_report_init(&r);
  g_assert_true(ic_domain_protect(doc, FALSE, &r, NULL));
  g_assert_false(ic_domain_doc_changed(doc));
  g_assert_cmpuint(r.explicit_off->len, ==, 1);
  ic_protect_report_clear(&r);
  ic_protect_report_init(&r);
  g_assert_true(ic_domain_protect(doc, TRUE, &r, NULL));
  g_assert_cmpuint(r.forced_off->len, ==, 1);
  g_assert_nonnull(strstr(text(doc), "<driver name='vhost' iommu='on'/>"));
  ic_protect_report_clear(&r);
}

static void
test_protect_ccw_report(void)
{
  const char *in = "<devices>\n  <disk type='file'>\n    <source file='/a'/>\n    <target dev='vda' bus='virtio'/>\n"
                   "    <address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0007'/>\n  </disk>\n</devices>\n";
  g_autoptr(IcDomainDoc) doc = parse(in);
  IcProtectReport r;
  ic_protect_report_init(&r);
  g_assert_true(ic_domain_protect(doc, FALSE, &r, NULL));
  g_assert_cmpuint(r.ccw_addresses->len, ==, 1);
  g_assert_cmpstr(g_ptr_array_index(r.ccw_addresses, 0), ==, "fe.0.0007");
  g_assert_nonnull(strstr(text(doc), "devno='0x0007'/>\n    <driver iommu='on'/>\n  </disk>"));
  ic_protect_report_clear(&r);
}

static const char *Q35 =
  "<domain type='qemu'>\n"
  "\t<name>v</name>\n"
  "\t<memory unit='GiB'>4</memory>\n"
  "\t<vcpu>300</vcpu>\n"
  "\t<os>\n\t\t<type arch='x86_64' machine='q35'>hvm</type>\n\t</os>\n"
  "\t<devices>\n"
  "\t\t<hostdev mode='subsystem' type='pci' managed='yes'>\n"
  "\t\t\t<driver name='vfio'/>\n"
  "\t\t\t<source><address domain='0' bus='1' slot='0' function='0'/></source>\n"
  "\t\t</hostdev>\n"
  "\t</devices>\n"
  "</domain>\n";

static void
test_viommu_intel_complete(void)
{
  g_autoptr(IcDomainDoc) doc = parse(Q35);
  IcViommuRequest req;
  ic_viommu_request_init(&req);
  req.model = IC_VIOMMU_INTEL;
  req.host_aw_bits = 48;
  req.libvirt_version = 9000000;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GError) error = NULL;
  g_assert_true(ic_domain_viommu_set(doc, &req, notes, &error));
  g_assert_no_error(error);
  const IcDomainDef *def = ic_domain_doc_def(doc);
  g_assert_cmpuint(def->iommus->len, ==, 1);
  const IcDomainIommu *io = g_ptr_array_index(def->iommus, 0);
  g_assert_cmpint(io->intremap, ==, IC_TRI_ON);
  g_assert_cmpint(io->caching_mode, ==, IC_TRI_ON);
  g_assert_cmpint(io->eim, ==, IC_TRI_ON);
  g_assert_cmpuint(io->aw_bits, ==, 48);
  g_assert_cmpstr(def->ioapic_driver, ==, "qemu");
  /* new elements are indented with the document's tabs */
  g_assert_nonnull(strstr(text(doc), "\t\t</hostdev>\n\t\t<iommu model='intel'>\n\t\t\t<driver intremap='on' "
                                     "caching_mode='on' eim='on' aw_bits='48'/>\n\t\t</iommu>\n"));
  /* <acpi/> too: without it libvirt turns ACPI off and the guest gets no DMAR (IC005) */
  g_assert_nonnull(strstr(text(doc), "</devices>\n\t<features>\n\t\t<ioapic driver='qemu'/>\n\t\t<acpi/>\n\t</features>\n</domain>"));
  /* lint clean, except that eim under TCG is QEMU's problem (QM004) */
  g_autoptr(GPtrArray) f = ic_domain_lint(doc, NULL);
  for (guint i = 0; i < f->len; i++)
    g_assert_cmpstr(((IcLintFinding *) f->pdata[i])->code, ==, "QM004");
  /* remove, then the same again: idempotent add */
  g_assert_true(ic_domain_viommu_set(doc, &req, NULL, NULL));
  g_assert_true(ic_domain_viommu_remove(doc, NULL));
  g_assert_cmpuint(ic_domain_doc_def(doc)->iommus->len, ==, 0);
  g_assert_null(strstr(text(doc), "<iommu"));
}

static void
test_viommu_auto(void)
{
  const char *pc = "<domain type='qemu'><name>a</name><os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os></domain>";
  g_autoptr(IcDomainDoc) doc = parse(pc);
  IcViommuModel m;
  g_autoptr(GError) error = NULL;
  g_assert_false(ic_domain_viommu_resolve_auto(ic_domain_doc_def(doc), 0, &m, &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_CONFLICT);
  g_assert_cmpstr(error->message, ==, "vIOMMU is not supported by Current machine type pc-i440fx-7.2 (Architecture: x86_64).");
  g_autoptr(IcDomainDoc) q = parse(Q35);
  g_assert_true(ic_domain_viommu_resolve_auto(ic_domain_doc_def(q), 8003000, &m, NULL));
  g_assert_cmpint(m, ==, IC_VIOMMU_VIRTIO);
  g_assert_true(ic_domain_viommu_resolve_auto(ic_domain_doc_def(q), 8002000, &m, NULL));
  g_assert_cmpint(m, ==, IC_VIOMMU_INTEL);
  const char *ppc = "<domain type='qemu'><name>a</name><os><type arch='ppc64le' machine='pseries'>hvm</type></os></domain>";
  g_autoptr(IcDomainDoc) p = parse(ppc);
  g_clear_error(&error);
  g_assert_false(ic_domain_viommu_resolve_auto(ic_domain_doc_def(p), 0, &m, &error));
  g_assert_cmpstr(error->message, ==, "vIOMMU required either x86 or AArch64 architecture, but given architecture ppc64le.");
  /* virtio on q35 without ACPI: complete adds <acpi/> */
  g_autoptr(IcDomainDoc) v = parse(Q35);
  IcViommuRequest req;
  ic_viommu_request_init(&req);
  req.model = IC_VIOMMU_VIRTIO;
  req.intremap = IC_TRI_ON; /* Nova sets it for every model: dropped for virtio */
  g_assert_true(ic_domain_viommu_set(v, &req, NULL, NULL));
  g_assert_true(ic_domain_doc_def(v)->acpi);
  g_assert_nonnull(strstr(text(v), "<iommu model='virtio'/>"));
}

static void
test_locked_and_ioapic(void)
{
  g_autoptr(IcDomainDoc) doc = parse(Q35);
  g_assert_true(ic_domain_set_locked_memory(doc, NULL));
  g_assert_true(ic_domain_doc_def(doc)->locked);
  g_assert_nonnull(strstr(text(doc), "\t<memoryBacking>\n\t\t<locked/>\n\t</memoryBacking>\n"));
  g_assert_true(ic_domain_ensure_split_ioapic(doc, NULL));
  g_autofree char *once = g_strdup(text(doc));
  g_assert_true(ic_domain_set_locked_memory(doc, NULL));
  g_assert_true(ic_domain_ensure_split_ioapic(doc, NULL));
  g_assert_cmpstr(text(doc), ==, once);
  const char *arm = "<domain type='qemu'><name>a</name><os><type arch='aarch64' machine='virt'>hvm</type></os></domain>";
  g_autoptr(IcDomainDoc) a = parse(arm);
  g_autoptr(GError) error = NULL;
  g_assert_false(ic_domain_ensure_split_ioapic(a, &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED);
}

static void
test_hostdev_add(void)
{
  g_autoptr(IcDomainDoc) doc = parse(Q35);
  IcHostdevSpec spec = {.managed = IC_TRI_ABSENT, .iommufd = IC_TRI_ON};
  g_assert_true(ic_pci_addr_parse("0000:01:00.0", &spec.addr, NULL));
  g_assert_true(ic_domain_hostdev_add(doc, &spec, NULL));
  g_assert_false(ic_domain_doc_changed(doc)); /* already there */
  g_assert_true(ic_pci_addr_parse("0000:3b:00.1", &spec.addr, NULL));
  g_assert_true(ic_domain_hostdev_add(doc, &spec, NULL));
  const IcDomainDef *def = ic_domain_doc_def(doc);
  g_assert_cmpuint(def->hostdevs->len, ==, 2);
  const IcDomainHostdev *h = g_ptr_array_index(def->hostdevs, 1);
  g_assert_cmpint(h->iommufd, ==, IC_TRI_ON);
  g_assert_cmpint(h->managed, ==, IC_TRI_ON);
  g_assert_cmpuint(h->source_pci.bus, ==, 0x3b);
  g_assert_cmpuint(h->source_pci.function, ==, 1);
}

static void
test_memlock(void)
{
  const char *xml =
    "<domain type='qemu'><name>m</name><memory unit='GiB'>4</memory>"
    "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
    "<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>"
    "<hostdev mode='subsystem' type='pci'><driver iommufd='yes'/><source><address domain='0' bus='2' slot='0' function='0'/></source></hostdev>"
    "<hostdev mode='subsystem' type='pci'><driver iommufd='yes'/><source><address domain='0' bus='3' slot='0' function='0'/></source></hostdev>"
    "IOMMU</devices></domain>";
  const guint64 gib = 1ull << 30;
  IcMemlockReport r;
  g_autofree char *no_viommu = g_strjoinv("", (char *[]){(char *) xml, NULL});
  g_auto(GStrv) parts = g_strsplit(xml, "IOMMU", 2);
  g_autofree char *plain = g_strjoinv("", parts);
  g_autofree char *with = g_strjoinv("<iommu model='intel'><driver caching_mode='on'/></iommu>", parts);
  g_autoptr(IcDomainDoc) a = parse(plain);
  g_assert_true(ic_domain_memlock(ic_domain_doc_def(a), 8 * gib, &r, NULL));
  g_assert_cmpuint(r.libvirt_bytes, ==, 5 * gib); /* 1 x RAM + 1 GiB */
  g_assert_cmpuint(r.estimate_bytes, ==, 5 * gib);
  g_assert_false(r.exceeds_host_ram);
  ic_memlock_report_clear(&r);
  g_autoptr(IcDomainDoc) b = parse(with);
  g_assert_true(ic_domain_memlock(ic_domain_doc_def(b), 8 * gib, &r, NULL));
  g_assert_cmpuint(r.libvirt_bytes, ==, 13 * gib);  /* 3 x RAM + 1 GiB */
  g_assert_cmpuint(r.estimate_bytes, ==, 9 * gib);  /* legacy one + shared IOAS */
  g_assert_true(r.exceeds_host_ram);
  ic_memlock_report_clear(&r);
  (void) no_viommu;
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/domain/edit/protect-splices", test_protect_splices);
  g_test_add_func("/domain/edit/protect-off-and-force", test_protect_off_and_force);
  g_test_add_func("/domain/edit/protect-crlf", test_protect_crlf);
  g_test_add_func("/domain/edit/protect-ccw-report", test_protect_ccw_report);
  g_test_add_func("/domain/edit/viommu-intel-complete", test_viommu_intel_complete);
  g_test_add_func("/domain/edit/viommu-auto", test_viommu_auto);
  g_test_add_func("/domain/edit/locked-and-ioapic", test_locked_and_ioapic);
  g_test_add_func("/domain/edit/hostdev-add", test_hostdev_add);
  g_test_add_func("/domain/edit/memlock", test_memlock);
  return g_test_run();
}
