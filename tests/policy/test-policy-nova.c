/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The 35 acceptance scenarios of shared/reference/nova.md §5, each asserting
 * the outcome or Nova's exact error text, plus the deviations of
 * docs/policy.md.  Test names carry the scenario number. */
#include <iommuctl/iommuctl.h>
#include <iommuctl/policy.h>

#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

static IcPolicyHost *
host_x86(const char *libvirt)
{
  IcPolicyHost *h = ic_policy_host_new();
  h->name = g_strdup("fixture");
  h->arch = g_strdup("x86_64");
  g_assert_true(ic_policy_parse_version(libvirt, &h->libvirt_version));
  g_ptr_array_add(h->emulators, g_strdup("x86_64"));
  return h;
}

/* resolve(host, "f:hw:viommu_model=auto", "i:hw_machine_type=q35", NULL) */
static IcPolicyDecision *
resolve_v(IcPolicyInput *in, const IcPolicyHost *host, GError **error, va_list ap)
{
  const char *kv;
  while ((kv = va_arg(ap, const char *)) != NULL) {
    GHashTable *t = kv[0] == 'f' ? in->flavor : kv[0] == 'i' ? in->image : in->default_machine_types;
    g_assert_true(ic_policy_input_add(t, kv + 2, NULL));
  }
  return ic_policy_resolve(in, host, error);
}

static IcPolicyDecision *
resolve(const IcPolicyHost *host, GError **error, ...)
{
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  va_list ap;
  va_start(ap, error);
  IcPolicyDecision *d = resolve_v(in, host, error, ap);
  va_end(ap);
  return d;
}

static IcPolicyDecision *
resolve_with(IcPolicyInput *in, const IcPolicyHost *host, GError **error, ...)
{
  va_list ap;
  va_start(ap, error);
  IcPolicyDecision *d = resolve_v(in, host, error, ap);
  va_end(ap);
  return d;
}

static void
assert_fault(const IcPolicyDecision *d, const GError *error, const char *exception, int http,
             const char *message)
{
  g_assert_nonnull(error);
  g_assert_cmpstr(d->fault_exception, ==, exception);
  g_assert_cmpint(d->fault_http, ==, http);
  g_assert_cmpstr(error->message, ==, message);
  g_assert_cmpstr(d->fault_message, ==, message);
}

static gboolean
has_note(const IcPolicyDecision *d, const char *needle)
{
  for (guint i = 0; i < d->notes->len; i++)
    if (strstr(g_ptr_array_index(d->notes, i), needle))
      return TRUE;
  return FALSE;
}

/* ---- 1-3: flavor validation ---------------------------------------------- */

static void
test_s01_flavor_values_valid(void)
{
  const char *ok[] = {"auto", "intel", "smmuv3", "virtio"};
  const IcViommuModel want[] = {IC_VIOMMU_AUTO, IC_VIOMMU_INTEL, IC_VIOMMU_SMMUV3,
                                IC_VIOMMU_VIRTIO};
  for (gsize i = 0; i < G_N_ELEMENTS(ok); i++) {
    IcViommuModel m;
    g_autoptr(GError) e = NULL;
    g_assert_true(ic_viommu_model_parse_flavor(ok[i], &m, &e));
    g_assert_no_error(e);
    g_assert_cmpint(m, ==, want[i]);
  }
  /* absent or empty: no vIOMMU, no error */
  IcViommuModel m = IC_VIOMMU_AUTO;
  g_assert_true(ic_viommu_model_parse_flavor("", &m, NULL));
  g_assert_cmpint(m, ==, IC_VIOMMU_NONE);
  g_assert_true(ic_viommu_model_parse_flavor(NULL, &m, NULL));
  g_assert_cmpint(m, ==, IC_VIOMMU_NONE);
}

static void
test_s02_flavor_autt(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=autt", "i:hw_machine_type=q35", NULL);
  assert_fault(d, e, "ValidationError", 400, "Validation failed; 'autt' is not one of: intel, smmuv3, virtio, auto.");
  g_assert_true(g_error_matches(e, IC_ERROR, IC_ERROR_INVALID_ARG));
}

static void
test_s03_flavor_none_and_case(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  const char *bad[] = {"none", "Intel"};
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) e = NULL;
    g_autofree char *kv = g_strdup_printf("f:hw:viommu_model=%s", bad[i]);
    g_autoptr(IcPolicyDecision) d = resolve(h, &e, kv, "i:hw_machine_type=q35", NULL);
    g_autofree char *msg = g_strdup_printf("Validation failed; '%s' is not one of: intel, smmuv3, virtio, auto.", bad[i]);
    assert_fault(d, e, "ValidationError", 400, msg);
  }
}

/* ---- 4-7: image metadata ------------------------------------------------------ */

static void
test_s04_image_meta_1_34(void)
{
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  ic_policy_input_add(in->image, "hw_viommu_model=virtio", NULL);
  ic_policy_image_props_for_version(in->image, 34);
  g_assert_cmpstr(g_hash_table_lookup(in->image, "hw_viommu_model"), ==, "virtio");
  ic_policy_image_props_for_version(in->image, 33);
  g_assert_null(g_hash_table_lookup(in->image, "hw_viommu_model"));

  /* end to end: a 1.33 compute node never sees the property -> no vIOMMU */
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(IcPolicyInput) in2 = ic_policy_input_new();
  in2->image_meta_minor = 33;
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve_with(in2, h, &e, "i:hw_viommu_model=virtio", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->model, ==, IC_VIOMMU_NONE);
}

static void
test_s05_image_foo(void)
{
  IcViommuModel m;
  g_autoptr(GError) e1 = NULL;
  g_assert_false(ic_viommu_model_parse_image("foo", &m, &e1));
  g_assert_cmpstr(e1->message, ==, "Invalid image metadata. Error: Field value foo is invalid");

  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "i:hw_viommu_model=foo", NULL);
  assert_fault(d, e, "InvalidRequest", 400, "Invalid image metadata. Error: Field value foo is invalid");
}

static void
test_s06_image_locked_true(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "i:hw_locked_memory=true", "f:hw:mem_page_size=large", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
  g_assert_cmpstr(d->locked_rule, ==, "image hw_locked_memory=true");
}

static void
test_s07_image_meta_1_33(void)
{
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  ic_policy_input_add(in->image, "hw_locked_memory=True", NULL);
  ic_policy_image_props_for_version(in->image, 33);
  g_assert_cmpstr(g_hash_table_lookup(in->image, "hw_locked_memory"), ==, "True");
  ic_policy_image_props_for_version(in->image, 32);
  g_assert_null(g_hash_table_lookup(in->image, "hw_locked_memory"));

  /* a 1.32 node drops it: no lock, hence no "forbidden without page size" */
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(IcPolicyInput) in2 = ic_policy_input_new();
  in2->image_meta_minor = 32;
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve_with(in2, h, &e, "i:hw_locked_memory=True", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_UNSET);
}

/* ---- 8-10: XML -------------------------------------------------------------------- */

static void
test_s08_config_iommu_xml(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=intel", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_autofree char *xml = ic_policy_decision_iommu_xml(d);
  g_assert_cmpstr(xml, ==,
                  "<iommu model='intel'><driver intremap='on' caching_mode='on' aw_bits='48' eim='on' iotlb='on'/></iommu>");
}

static void
test_s09_ioapic_feature(void)
{
  /* Nova adds <ioapic driver='qemu'/> with every vIOMMU; we do on x86 only.
   * The driver='libvirt' formatting half of Nova's test belongs to the
   * domain layer (see the oracle test). */
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=virtio", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_true(d->ioapic_qemu);
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "f:hw:viommu_model=virtio", "i:hw_architecture=aarch64", NULL);
  g_assert_no_error(e2);
  g_assert_false(d2->ioapic_qemu);
  g_assert_true(has_note(d2, "no <ioapic driver='qemu'/>"));
}

/* Nova's driver half of scenario 9 formats IOAPIC with another driver;
 * applied to a domain, a vIOMMU with intremap needs driver='qemu', so a
 * different driver is replaced. */
static void
test_s09_ioapic_in_domain(void)
{
  static const char xml[] =
    "<domain type='kvm'>\n  <name>s09</name>\n  <memory>262144</memory>\n"
    "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n"
    "  <features>\n    <acpi/>\n    <ioapic driver='kvm'/>\n  </features>\n"
    "  <devices>\n  </devices>\n</domain>\n";
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=intel", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  guint lint = 99;
  g_autofree char *out = ic_policy_apply_to_domain(d, xml, strlen(xml), "s09.xml", 0, NULL, &lint, NULL, &e);
  g_assert_no_error(e);
  g_assert_cmpuint(lint, ==, 0);
  g_assert_nonnull(strstr(out, "<ioapic driver='qemu'/>"));
  g_assert_null(strstr(out, "driver='kvm'"));
  /* eim follows the domain type: kvm here */
  g_assert_nonnull(strstr(out, "eim='on'"));
}

/* Nova's memoryBacking child order: hugepages, nosharepages, locked. */
static void
test_s10_memory_backing_in_domain(void)
{
  static const char xml[] =
    "<domain type='qemu'>\n  <name>s10</name>\n  <memory>262144</memory>\n"
    "  <memoryBacking>\n    <hugepages>\n      <page size=\"2048\" unit=\"KiB\" nodeset=\"2-3\"/>\n"
    "    </hugepages>\n    <nosharepages/>\n  </memoryBacking>\n"
    "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n  </os>\n"
    "  <devices>\n  </devices>\n</domain>\n";
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:locked_memory=true", "f:hw:mem_page_size=2048", NULL);
  g_assert_no_error(e);
  g_autofree char *out = ic_policy_apply_to_domain(d, xml, strlen(xml), "s10.xml", 0, NULL, NULL, NULL, &e);
  g_assert_no_error(e);
  const char *hp = strstr(out, "<hugepages>"), *ns = strstr(out, "<nosharepages/>"), *lk = strstr(out, "<locked/>");
  g_assert_nonnull(hp);
  g_assert_nonnull(ns);
  g_assert_nonnull(lk);
  g_assert_true(hp < ns && ns < lk);
  g_assert_nonnull(strstr(out, "<page size=\"2048\" unit=\"KiB\" nodeset=\"2-3\"/>"));
}

static void
test_s10_memory_backing_locked_and_nosharepages(void)
{
  /* the XML child order is the domain layer's; here: the decision carries
   * locked + nosharepages together (realtime), the pair of Nova's test */
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:cpu_realtime=yes", "f:hw:cpu_policy=dedicated",
                                          "f:hw:mem_page_size=2048", "f:hw:locked_memory=True", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
  g_assert_true(d->nosharepages);
  /* and both reach the XML, in Nova's order, on a domain without <memoryBacking> */
  static const char xml[] =
    "<domain type='qemu'>\n  <name>rt</name>\n  <memory>262144</memory>\n"
    "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n  </os>\n"
    "  <devices>\n  </devices>\n</domain>\n";
  g_autofree char *out = ic_policy_apply_to_domain(d, xml, strlen(xml), "rt.xml", 0, NULL, NULL, NULL, &e);
  g_assert_no_error(e);
  const char *ns = strstr(out, "<nosharepages/>"), *lk = strstr(out, "<locked/>");
  g_assert_nonnull(ns);
  g_assert_nonnull(lk);
  g_assert_true(ns < lk);
  /* a second application changes nothing */
  g_autofree char *again = ic_policy_apply_to_domain(d, out, strlen(out), "rt.xml", 0, NULL, NULL, NULL, &e);
  g_assert_no_error(e);
  g_assert_cmpstr(again, ==, out);
}

/* ---- 11-20: the driver ------------------------------------------------------------------ */

static void
test_s11_not_enabled(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->model, ==, IC_VIOMMU_NONE);
  g_assert_null(ic_policy_decision_iommu_xml(d));
  /* the default x86 machine type pc is no error without a vIOMMU */
  g_assert_cmpstr(d->machine_type, ==, "pc");
}

static void
test_s12_config_model_intel(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=intel", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->model, ==, IC_VIOMMU_INTEL);
  g_assert_true(d->intremap && d->caching_mode && d->eim && d->iotlb);
  g_assert_cmpstr(d->machine_type, ==, "q35");
  g_assert_cmpuint(d->aw_bits, ==, 48); /* master */

  /* 26.x/27.x: libvirt < 6.5.0 leaves aw_bits out */
  g_autoptr(IcPolicyHost) old = host_x86("6.0.0");
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(old, &e2, "f:hw:viommu_model=intel", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e2);
  g_assert_cmpuint(d2->aw_bits, ==, 0);
  g_autofree char *xml = ic_policy_decision_iommu_xml(d2);
  g_assert_null(strstr(xml, "aw_bits"));
}

static void
test_s13_auto_virtio(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("8.3.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=auto", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->model, ==, IC_VIOMMU_VIRTIO);
  /* Nova asserts intremap/caching/eim/iotlb/aw_bits on virtio; libvirt
   * refuses them ("iommu model 'virtio' doesn't support additional
   * attributes"), so we write none (deviation D1) */
  g_assert_false(d->has_driver);
  g_autofree char *xml = ic_policy_decision_iommu_xml(d);
  g_assert_cmpstr(xml, ==, "<iommu model='virtio'/>");
  g_assert_true(d->ioapic_qemu);
}

static void
test_s14_auto_intel(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("8.2.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=auto", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->model, ==, IC_VIOMMU_INTEL);
  g_assert_true(d->eim);
}

static void
test_s15_auto_aarch64(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("8.2.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=auto", "i:hw_viommu_model=auto",
                                          "i:hw_architecture=aarch64", "i:hw_machine_type=virt", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->model, ==, IC_VIOMMU_SMMUV3);
  g_assert_false(d->eim);
  /* Nova writes intremap/caching/iotlb/aw_bits and the ioapic feature here;
   * both are refused by libvirt on aarch64 (D1, D2) */
  g_assert_false(d->has_driver);
  g_assert_false(d->ioapic_qemu);
  g_autofree char *xml = ic_policy_decision_iommu_xml(d);
  g_assert_cmpstr(xml, ==, "<iommu model='smmuv3'/>");
}

static void
test_s16_machine_type_i440fx(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=auto", "i:hw_machine_type=pc-i440fx-2.11", NULL);
  assert_fault(d, e, "InvalidVIOMMUMachineType", 0,
               "vIOMMU is not supported by Current machine type pc-i440fx-2.11 (Architecture: x86_64).");
  g_assert_cmpstr(d->fault_stage, ==, "compute");
}

static void
test_s17_architecture_ppc64le(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=auto", "i:hw_architecture=ppc64le", NULL);
  assert_fault(d, e, "InvalidVIOMMUArchitecture", 0,
               "vIOMMU required either x86 or AArch64 architecture, but given architecture ppc64le.");
}

static void
test_s18_flavor_wins(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=intel", "i:hw_viommu_model=smmuv3",
                                          "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->model, ==, IC_VIOMMU_INTEL);
  g_assert_nonnull(strstr(d->requested_rule, "wins over image"));
  /* an empty flavor value falls through to the image (`or`) */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "f:hw:viommu_model=", "i:hw_viommu_model=virtio",
                                           "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e2);
  g_assert_cmpint(d2->model, ==, IC_VIOMMU_VIRTIO);
}

static void
test_s19_default_machine_type_pc(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=auto", NULL);
  assert_fault(d, e, "InvalidVIOMMUMachineType", 0,
               "vIOMMU is not supported by Current machine type pc (Architecture: x86_64).");
  /* an operator default of q35 fixes it */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "f:hw:viommu_model=auto", "d:x86_64=q35", NULL);
  g_assert_no_error(e2);
  g_assert_cmpstr(d2->machine_type, ==, "q35");
  g_assert_cmpint(d2->model, ==, IC_VIOMMU_VIRTIO);
}

static void
test_s20_other_virt_types(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  const char *types[] = {"lxc", "parallels"};
  for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
    g_autoptr(IcPolicyInput) in = ic_policy_input_new();
    in->virt_type = types[i];
    g_autoptr(GError) e = NULL;
    /* even a machine type that would fail the checks: nothing is checked */
    g_autoptr(IcPolicyDecision) d = resolve_with(in, h, &e, "f:hw:viommu_model=intel", NULL);
    g_assert_no_error(e);
    g_assert_cmpint(d->model, ==, IC_VIOMMU_NONE);
  }
}

/* ---- 21-23: traits and the request filter -------------------------------------------------- */

static gboolean
trait_present(GPtrArray *traits, const char *name)
{
  for (guint i = 0; i < traits->len; i++) {
    IcPolicyTrait *t = g_ptr_array_index(traits, i);
    if (g_str_equal(t->name, name))
      return t->present;
  }
  g_assert_not_reached();
  return FALSE;
}

static void
test_s21_static_traits_all(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_ptr_array_add(h->emulators, g_strdup("aarch64"));
  g_autoptr(GPtrArray) t = ic_policy_host_traits(h);
  g_assert_true(trait_present(t, "COMPUTE_VIOMMU_MODEL_AUTO"));
  g_assert_true(trait_present(t, "COMPUTE_VIOMMU_MODEL_INTEL"));
  g_assert_true(trait_present(t, "COMPUTE_VIOMMU_MODEL_SMMUV3"));
  g_assert_true(trait_present(t, "COMPUTE_VIOMMU_MODEL_VIRTIO"));
}

static void
test_s22_static_traits_old_libvirt(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("8.2.0");
  g_ptr_array_add(h->emulators, g_strdup("aarch64"));
  g_autoptr(GPtrArray) t = ic_policy_host_traits(h);
  g_assert_true(trait_present(t, "COMPUTE_VIOMMU_MODEL_AUTO"));
  g_assert_true(trait_present(t, "COMPUTE_VIOMMU_MODEL_INTEL"));
  g_assert_true(trait_present(t, "COMPUTE_VIOMMU_MODEL_SMMUV3"));
  g_assert_false(trait_present(t, "COMPUTE_VIOMMU_MODEL_VIRTIO"));
}

static void
test_s23_request_filter(void)
{
  /* what Nova computes: an invalid trait, then nothing at all */
  g_autoptr(GHashTable) image = g_hash_table_new(g_str_hash, g_str_equal);
  g_hash_table_insert(image, "hw_viommu_model", "virtio");
  g_hash_table_insert(image, "hw_disk_bus", "virtio");
  gboolean ok = TRUE;
  g_autofree char *bad = NULL;
  g_autoptr(GPtrArray) nova = ic_policy_nova_prefilter(image, &ok, &bad);
  g_assert_false(ok);
  g_assert_cmpstr(bad, ==, "COMPUTE_VIOMMU_VIRTIO");
  g_assert_cmpuint(nova->len, ==, 0);

  /* what we require: the real trait, and the other image traits kept */
  g_autoptr(IcPolicyRequest) r = ic_policy_request_new();
  g_assert_true(ic_policy_request_add(r, "hw_viommu_model=virtio", NULL));
  g_assert_true(ic_policy_request_add(r, "hw_disk_bus=virtio", NULL));
  g_assert_true(ic_policy_request_finish(r, NULL));
  const GPtrArray *req = ic_policy_request_required(r);
  g_assert_cmpuint(req->len, ==, 2);
  g_assert_cmpstr(g_ptr_array_index(req, 0), ==, "COMPUTE_STORAGE_BUS_VIRTIO");
  g_assert_cmpstr(g_ptr_array_index(req, 1), ==, "COMPUTE_VIOMMU_MODEL_VIRTIO");

  /* the flavor's model wins here too; `none` is refused with the image text */
  g_autoptr(IcPolicyRequest) r2 = ic_policy_request_new();
  g_assert_true(ic_policy_request_add(r2, "hw_viommu_model=virtio", NULL));
  g_assert_true(ic_policy_request_add(r2, "hw:viommu_model=intel", NULL));
  g_assert_true(ic_policy_request_finish(r2, NULL));
  g_assert_cmpstr(g_ptr_array_index(ic_policy_request_required(r2), 0), ==, "COMPUTE_VIOMMU_MODEL_INTEL");
  g_autoptr(IcPolicyRequest) r3 = ic_policy_request_new();
  g_autoptr(GError) e = NULL;
  g_assert_false(ic_policy_request_add(r3, "hw_viommu_model=none", &e));
  g_assert_cmpstr(e->message, ==, "Invalid image metadata. Error: Field value none is invalid");
}

/* ---- 24-35: locked memory ---------------------------------------------------------------------- */

static void
test_s24_locked_image(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:mem_page_size=small", "i:hw_locked_memory=True", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
}

#define CONFLICT_TRUE_FALSE \
  "locked_memory value in image (True) and flavor (False) conflict. A consistent value is expected if both specified."
#define FORBIDDEN "locked_memory value in image or flavor is forbidden when mem_page_size is not set."

static void
test_s25_locked_conflict(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:locked_memory=False", "f:hw:mem_page_size=small",
                                          "i:hw_locked_memory=True", NULL);
  assert_fault(d, e, "FlavorImageLockedMemoryConflict", 400, CONFLICT_TRUE_FALSE);
  g_assert_true(g_error_matches(e, IC_ERROR, IC_ERROR_CONFLICT));
}

static void
test_s26_locked_forbidden(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:locked_memory=True", NULL);
  assert_fault(d, e, "LockMemoryForbidden", 400, FORBIDDEN);
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "i:hw_locked_memory=True", NULL);
  assert_fault(d2, e2, "LockMemoryForbidden", 400, FORBIDDEN);
}

static void
test_s27_locked_image_false(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "i:hw_locked_memory=False", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_FALSE);
}

static void
test_s28_locked_unset(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_UNSET);
}

static void
test_s29_mem_encryption(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:mem_encryption=True", "i:hw_mem_encryption_model=amd-sev",
                                          "i:hw_firmware_type=uefi", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
}

static void
test_s30_mem_encryption_matched(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  /* Nova's test calls get_locked_memory_constraint directly: an explicit
   * lock returns before the encryption constraints are looked at */
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  in->compute_only = TRUE;
  g_autoptr(IcPolicyDecision) d = resolve_with(in, h, &e, "f:hw:locked_memory=True", "f:hw:mem_page_size=2048",
                                               "i:hw_mem_encryption=True", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
  /* through the API the same request is refused: no UEFI firmware */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "f:hw:locked_memory=True", "f:hw:mem_page_size=2048",
                                           "i:hw_mem_encryption=True", "i:hw_machine_type=q35", NULL);
  assert_fault(d2, e2, "FlavorImageConflict", 400,
               "Memory encryption is requested by hw_mem_encryption property of image <no-id> but the image "
               "metadata doesn't have the 'hw_firmware_type' property set to 'uefi'");
}

/* ---- Nova parity (issue 12): SEV-SNP, page sizes, encryption constraints ---- */

static void
test_snp_flavor_key_no_lock(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:mem_encryption=True", "f:hw:mem_encryption_model=amd-sev-snp",
                                          "i:hw_firmware_type=uefi", "i:hw_firmware_stateless=True",
                                          "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_UNSET);
  g_assert_true(has_note(d, "amd-sev-snp"));
  /* the same model from the image property */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "i:hw_mem_encryption=True", "i:hw_mem_encryption_model=amd-sev-snp",
                                           "i:hw_firmware_type=uefi", "i:hw_firmware_stateless=True",
                                           "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e2);
  g_assert_cmpint(d2->locked, ==, IC_POLICY_UNSET);
  /* SEV-ES still locks */
  g_autoptr(GError) e3 = NULL;
  g_autoptr(IcPolicyDecision) d3 = resolve(h, &e3, "f:hw:mem_encryption=True", "f:hw:mem_encryption_model=amd-sev-es",
                                           "i:hw_firmware_type=uefi", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e3);
  g_assert_cmpint(d3->locked, ==, IC_POLICY_TRUE);
}

static void
test_snp_needs_stateless(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:mem_encryption=True", "f:hw:mem_encryption_model=amd-sev-snp",
                                          "i:hw_firmware_type=uefi", "i:hw_machine_type=q35", NULL);
  assert_fault(d, e, "StatelessFirmwareRequired", 400,
               "The amd-sev-snp memory encryption model requires stateless firmware but the image metadata "
               "doesn't have the 'hw_firmware_stateless' property set to True");
}

static void
test_mem_encryption_machine_and_conflicts(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:mem_encryption=True", "i:hw_firmware_type=uefi",
                                          "i:hw_machine_type=pc-i440fx-7.2", NULL);
  assert_fault(d, e, "InvalidMachineType", 400,
               "Machine type 'pc-i440fx-7.2' is not compatible with image None (<no-id>): q35 type is required "
               "for SEV to work");
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "f:hw:mem_encryption=True", "i:hw_mem_encryption=False",
                                           "i:hw_firmware_type=uefi", NULL);
  assert_fault(d2, e2, "FlavorImageConflict", 400,
               "Flavor None has hw:mem_encryption extra spec explicitly set to True, conflicting with image None "
               "which has hw_mem_encryption property explicitly set to False");
  g_autoptr(GError) e3 = NULL;
  g_autoptr(IcPolicyDecision) d3 = resolve(h, &e3, "f:hw:mem_encryption=True", "f:hw:mem_encryption_model=amd-sev-snp",
                                           "i:hw_mem_encryption_model=amd-sev", "i:hw_firmware_type=uefi", NULL);
  assert_fault(d3, e3, "FlavorImageConflict", 400,
               "Flavor None has hw:mem_encryption_model extra spec explicitly set to amd-sev-snp, conflicting with "
               "image None which has hw_mem_encryption_model property explicitly set to amd-sev");
  g_autoptr(GError) e4 = NULL;
  g_autoptr(IcPolicyDecision) d4 = resolve(h, &e4, "f:hw:mem_encryption=True", "i:hw_machine_type=q35", NULL);
  assert_fault(d4, e4, "FlavorImageConflict", 400,
               "Memory encryption is requested by hw:mem_encryption extra spec in None flavor but the image "
               "metadata doesn't have the 'hw_firmware_type' property set to 'uefi'");
  g_autoptr(GError) e5 = NULL;
  g_autoptr(IcPolicyDecision) d5 = resolve(h, &e5, "f:hw:mem_encryption_model=amd-sev-xyz", NULL);
  assert_fault(d5, e5, "ValidationError", 400,
               "Validation failed; 'amd-sev-xyz' is not one of: amd-sev, amd-sev-es, amd-sev-snp.");
}

static void
test_mem_page_size_rule(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  static const char *const refused[] = {"largest", "2kbits", "1gigabyte", NULL};
  for (int i = 0; refused[i]; i++) {
    g_autoptr(GError) e = NULL;
    g_autofree char *kv = g_strdup_printf("f:hw:mem_page_size=%s", refused[i]);
    g_autoptr(IcPolicyDecision) d = resolve(h, &e, kv, NULL);
    g_autofree char *msg = g_strdup_printf("Validation failed; '%s' is not of the format "
                                           "'(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)'.", refused[i]);
    assert_fault(d, e, "ValidationError", 400, msg);
  }
  static const char *const accepted[] = {"large", "small", "any", "2048", "2MB", "1GiB", "4Kib", NULL};
  for (int i = 0; accepted[i]; i++) {
    g_autoptr(GError) e = NULL;
    g_autofree char *kv = g_strdup_printf("f:hw:mem_page_size=%s", accepted[i]);
    g_autoptr(IcPolicyDecision) d = resolve(h, &e, kv, "f:hw:locked_memory=True", NULL);
    g_assert_no_error(e);
    g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
  }
  /* the validator's pattern lets "2M" through; oslo's string_to_bytes does not */
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:mem_page_size=2M", NULL);
  assert_fault(d, e, "MemoryPageSizeInvalid", 400, "Invalid memory page size '2M'");
  /* an image size against a flavor size that does not allow one */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "f:hw:mem_page_size=small", "i:hw_mem_page_size=2MB", NULL);
  assert_fault(d2, e2, "MemoryPageSizeForbidden", 400, "Page size 2MB forbidden against 'small'");
  g_autoptr(GError) e3 = NULL;
  g_autoptr(IcPolicyDecision) d3 = resolve(h, &e3, "f:hw:mem_page_size=large", "i:hw_mem_page_size=2MB", NULL);
  g_assert_no_error(e3);
  g_assert_cmpint(d3->locked, ==, IC_POLICY_UNSET);
}

static void
test_s31_locked_flavor(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:locked_memory=True", "f:hw:mem_page_size=1000", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
}

static void
test_s32_locked_image_meta_driver(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  in->compute_only = TRUE; /* a direct driver call, as in Nova's test */
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve_with(in, h, &e, "i:hw_locked_memory=True", "i:hw_mem_page_size=1000", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
  /* derived: through the API the image-only page size is refused first */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "i:hw_locked_memory=True", "i:hw_mem_page_size=1000", NULL);
  assert_fault(d2, e2, "MemoryPageSizeForbidden", 400, "Page size 1000 forbidden against '<empty>'");
}

static void
test_s33_realtime(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:cpu_realtime=yes", "f:hw:cpu_policy=dedicated", NULL);
  g_assert_no_error(e);
  g_assert_cmpint(d->locked, ==, IC_POLICY_TRUE);
  g_assert_true(d->nosharepages);
  /* explicit false does not unlock it */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "f:hw:cpu_realtime=yes", "f:hw:cpu_policy=dedicated",
                                           "f:hw:locked_memory=False", NULL);
  g_assert_no_error(e2);
  g_assert_cmpint(d2->locked, ==, IC_POLICY_TRUE);
  /* realtime without dedicated CPUs is refused */
  g_autoptr(GError) e3 = NULL;
  g_autoptr(IcPolicyDecision) d3 = resolve(h, &e3, "f:hw:cpu_realtime=yes", NULL);
  assert_fault(d3, e3, "RealtimeConfigurationInvalid", 400,
               "Cannot set realtime policy in a non dedicated cpu pinning policy");
}

static void
test_s34_api_forbidden_400(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "i:hw_locked_memory=true", NULL);
  assert_fault(d, e, "LockMemoryForbidden", 400, FORBIDDEN); /* 403 before bug 2158972 */
  g_assert_cmpstr(d->fault_stage, ==, "api");
  g_assert_true(g_error_matches(e, IC_ERROR, IC_ERROR_INVALID_ARG));
}

static void
test_s35_api_conflict_400(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "i:hw_locked_memory=true", "f:hw:locked_memory=false",
                                          "f:hw:mem_page_size=any", NULL);
  assert_fault(d, e, "FlavorImageLockedMemoryConflict", 400, CONFLICT_TRUE_FALSE); /* 500 before the fix */
}

/* ---- further rules and the deviations ---------------------------------------------------------- */

static void
test_flavor_bool_validation(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:locked_memory=maybe", "f:hw:mem_page_size=large", NULL);
  assert_fault(d, e, "ValidationError", 400, "Validation failed; 'maybe' is not a valid boolean-like value.");
  /* the image's FlexibleBoolean reads an unknown word as False, no error */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "i:hw_locked_memory=maybe", NULL);
  g_assert_no_error(e2);
  g_assert_cmpint(d2->locked, ==, IC_POLICY_FALSE);
}

static void
test_arch_rules(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  /* emulation arch beats image arch beats host arch */
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "i:hw_emulation_architecture=aarch64",
                                          "i:hw_architecture=x86_64", NULL);
  g_assert_no_error(e);
  g_assert_cmpstr(d->arch, ==, "aarch64");
  g_assert_cmpstr(d->arch_rule, ==, "image hw_emulation_architecture");
  g_assert_cmpstr(d->machine_type, ==, "virt"); /* D6: default for the guest arch */
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "i:hw_architecture=AMD64", NULL);
  g_assert_no_error(e2);
  g_assert_cmpstr(d2->arch, ==, "x86_64");
  g_autoptr(GError) e3 = NULL;
  g_autoptr(IcPolicyDecision) d3 = resolve(h, &e3, NULL);
  g_assert_cmpstr(d3->arch_rule, ==, "host architecture");
  /* substring rule: pc-q35-7.2 passes, and i686 is x86 */
  g_autoptr(GError) e4 = NULL;
  g_autoptr(IcPolicyDecision) d4 = resolve(h, &e4, "f:hw:viommu_model=intel", "i:hw_architecture=i686",
                                           "i:hw_machine_type=pc-q35-7.2", NULL);
  g_assert_no_error(e4);
  g_assert_cmpint(d4->model, ==, IC_VIOMMU_INTEL);
  /* operator default only for its arch */
  g_autoptr(GError) e5 = NULL;
  g_autoptr(IcPolicyDecision) d5 = resolve(h, &e5, "d:aarch64=virt-7.2", "i:hw_architecture=aarch64", NULL);
  g_assert_cmpstr(d5->machine_type, ==, "virt-7.2");
  g_assert_nonnull(strstr(d5->machine_type_rule, "operator default"));
}

static void
test_deviation_explicit_model_checked(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=intel", "i:hw_architecture=aarch64", NULL);
  g_assert_true(g_error_matches(e, IC_ERROR, IC_ERROR_CONFLICT));
  g_assert_cmpstr(d->fault_exception, ==, "iommuctl.LibvirtWouldRefuse");
  g_assert_true(g_str_has_prefix(e->message, "IOMMU device: 'intel' is only supported with Q35 machines"));
  g_autoptr(GError) e2 = NULL;
  g_autoptr(IcPolicyDecision) d2 = resolve(h, &e2, "f:hw:viommu_model=smmuv3", "i:hw_machine_type=q35", NULL);
  g_assert_true(g_str_has_prefix(e2->message, "IOMMU device: 'smmuv3' is only supported with ARM Virt machines"));
  g_assert_cmpstr(d2->fault_exception, ==, "iommuctl.LibvirtWouldRefuse");
  g_autoptr(IcPolicyHost) old = host_x86("8.2.0");
  g_autoptr(GError) e3 = NULL;
  g_autoptr(IcPolicyDecision) d3 = resolve(old, &e3, "f:hw:viommu_model=virtio", "i:hw_machine_type=q35", NULL);
  g_assert_cmpstr(e3->message, ==, "IOMMU model 'virtio' needs libvirt >= 8.3.0; this host has libvirt 8.2.0");
  g_assert_cmpint(d3->model, ==, IC_VIOMMU_VIRTIO);
}

static void
test_deviation_tcg_eim_and_aw_bits(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  h->iommu_address_width = 39;
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  in->virt_type = "qemu";
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve_with(in, h, &e, "f:hw:viommu_model=intel", "i:hw_machine_type=q35", NULL);
  g_assert_no_error(e);
  g_assert_false(d->eim);
  g_assert_cmpuint(d->aw_bits, ==, 39);
  g_autofree char *xml = ic_policy_decision_iommu_xml(d);
  g_assert_cmpstr(xml, ==,
                  "<iommu model='intel'><driver intremap='on' caching_mode='on' aw_bits='39' eim='off' iotlb='on'/></iommu>");
}

static void
test_versions(void)
{
  guint64 v;
  g_assert_true(ic_policy_parse_version("8.3.0", &v));
  g_assert_cmpuint(v, ==, 8003000);
  g_assert_true(ic_policy_parse_version("9.0", &v));
  g_assert_cmpuint(v, ==, 9000000);
  g_assert_false(ic_policy_parse_version("9.x", &v));
  g_assert_false(ic_policy_parse_version("", &v));
  g_autofree char *s = ic_policy_format_version(IC_POLICY_VERSION(10, 1, 2));
  g_assert_cmpstr(s, ==, "10.1.2");
}

static void
test_json_document(void)
{
  g_autoptr(IcPolicyHost) h = host_x86("9.0.0");
  g_autoptr(GError) e = NULL;
  g_autoptr(IcPolicyDecision) d = resolve(h, &e, "f:hw:viommu_model=auto", NULL);
  g_autofree char *j = ic_policy_decision_to_json(d);
  g_autoptr(JsonParser) p = json_parser_new();
  g_assert_true(json_parser_load_from_data(p, j, -1, NULL));
  JsonObject *o = json_node_get_object(json_parser_get_root(p));
  g_assert_cmpstr(json_object_get_string_member(o, "schema"), ==, "iommuctl.policy-decision");
  g_assert_false(json_object_get_boolean_member(o, "ok"));
  JsonObject *err = json_object_get_object_member(o, "error");
  g_assert_cmpstr(json_object_get_string_member(err, "exception"), ==, "InvalidVIOMMUMachineType");
  g_assert_true(json_object_get_null_member(err, "http_status"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/policy/nova/s01-flavor-values-valid", test_s01_flavor_values_valid);
  g_test_add_func("/policy/nova/s02-flavor-autt", test_s02_flavor_autt);
  g_test_add_func("/policy/nova/s03-flavor-none-and-case", test_s03_flavor_none_and_case);
  g_test_add_func("/policy/nova/s04-image-meta-1.34", test_s04_image_meta_1_34);
  g_test_add_func("/policy/nova/s05-image-foo", test_s05_image_foo);
  g_test_add_func("/policy/nova/s06-image-locked-true", test_s06_image_locked_true);
  g_test_add_func("/policy/nova/s07-image-meta-1.33", test_s07_image_meta_1_33);
  g_test_add_func("/policy/nova/s08-config-iommu-xml", test_s08_config_iommu_xml);
  g_test_add_func("/policy/nova/s09-ioapic-feature", test_s09_ioapic_feature);
  g_test_add_func("/policy/nova/s09-ioapic-in-domain", test_s09_ioapic_in_domain);
  g_test_add_func("/policy/nova/s10-memory-backing", test_s10_memory_backing_locked_and_nosharepages);
  g_test_add_func("/policy/nova/s10-memory-backing-in-domain", test_s10_memory_backing_in_domain);
  g_test_add_func("/policy/nova/s11-not-enabled", test_s11_not_enabled);
  g_test_add_func("/policy/nova/s12-config-model-intel", test_s12_config_model_intel);
  g_test_add_func("/policy/nova/s13-auto-virtio", test_s13_auto_virtio);
  g_test_add_func("/policy/nova/s14-auto-intel", test_s14_auto_intel);
  g_test_add_func("/policy/nova/s15-auto-aarch64", test_s15_auto_aarch64);
  g_test_add_func("/policy/nova/s16-machine-type-i440fx", test_s16_machine_type_i440fx);
  g_test_add_func("/policy/nova/s17-architecture-ppc64le", test_s17_architecture_ppc64le);
  g_test_add_func("/policy/nova/s18-flavor-wins", test_s18_flavor_wins);
  g_test_add_func("/policy/nova/s19-default-machine-type-pc", test_s19_default_machine_type_pc);
  g_test_add_func("/policy/nova/s20-other-virt-types", test_s20_other_virt_types);
  g_test_add_func("/policy/nova/s21-static-traits-all", test_s21_static_traits_all);
  g_test_add_func("/policy/nova/s22-static-traits-old-libvirt", test_s22_static_traits_old_libvirt);
  g_test_add_func("/policy/nova/s23-request-filter", test_s23_request_filter);
  g_test_add_func("/policy/nova/s24-locked-image", test_s24_locked_image);
  g_test_add_func("/policy/nova/s25-locked-conflict", test_s25_locked_conflict);
  g_test_add_func("/policy/nova/s26-locked-forbidden", test_s26_locked_forbidden);
  g_test_add_func("/policy/nova/s27-locked-image-false", test_s27_locked_image_false);
  g_test_add_func("/policy/nova/s28-locked-unset", test_s28_locked_unset);
  g_test_add_func("/policy/nova/s29-mem-encryption", test_s29_mem_encryption);
  g_test_add_func("/policy/nova/s30-mem-encryption-matched", test_s30_mem_encryption_matched);
  g_test_add_func("/policy/nova/parity-snp-no-lock", test_snp_flavor_key_no_lock);
  g_test_add_func("/policy/nova/parity-snp-stateless", test_snp_needs_stateless);
  g_test_add_func("/policy/nova/parity-mem-encryption-constraints", test_mem_encryption_machine_and_conflicts);
  g_test_add_func("/policy/nova/parity-mem-page-size", test_mem_page_size_rule);
  g_test_add_func("/policy/nova/s31-locked-flavor", test_s31_locked_flavor);
  g_test_add_func("/policy/nova/s32-locked-image-meta-driver", test_s32_locked_image_meta_driver);
  g_test_add_func("/policy/nova/s33-realtime", test_s33_realtime);
  g_test_add_func("/policy/nova/s34-api-forbidden-400", test_s34_api_forbidden_400);
  g_test_add_func("/policy/nova/s35-api-conflict-400", test_s35_api_conflict_400);
  g_test_add_func("/policy/rules/flavor-bool-validation", test_flavor_bool_validation);
  g_test_add_func("/policy/rules/arch", test_arch_rules);
  g_test_add_func("/policy/deviation/explicit-model-checked", test_deviation_explicit_model_checked);
  g_test_add_func("/policy/deviation/tcg-eim-and-aw-bits", test_deviation_tcg_eim_and_aw_bits);
  g_test_add_func("/policy/rules/versions", test_versions);
  g_test_add_func("/policy/rules/json-document", test_json_document);
  return g_test_run();
}
