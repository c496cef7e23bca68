/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `policy resolve`: flavor extra specs + image properties + host -> the
 * vIOMMU model, machine type and locked-memory decision, each with the rule
 * that decided it.  The checks run in the order a Nova request meets them:
 * API validation (flavor extra specs, image metadata, NUMA/locked-memory
 * constraints), then the compute node's _get_guest_config at spawn. */
#include "policy/policy-private.h"

#include <stdarg.h>
#include <string.h>
#include <sys/utsname.h>

IcPolicyInput *
ic_policy_input_new(void)
{
  IcPolicyInput *in = g_new0(IcPolicyInput, 1);
  in->flavor = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  in->image = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  in->default_machine_types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  in->image_meta_minor = -1;
  return in;
}

void
ic_policy_input_free(IcPolicyInput *in)
{
  if (in == NULL)
    return;
  g_hash_table_unref(in->flavor);
  g_hash_table_unref(in->image);
  g_hash_table_unref(in->default_machine_types);
  g_free(in);
}

gboolean
ic_policy_input_add(GHashTable *table, const char *key_value, GError **error)
{
  const char *eq = strchr(key_value, '=');
  if (eq == NULL || eq == key_value) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "'%s' is not KEY=VALUE", key_value);
    return FALSE;
  }
  g_hash_table_replace(table, g_strndup(key_value, (gsize) (eq - key_value)), g_strdup(eq + 1));
  return TRUE;
}

void
ic_policy_image_props_for_version(GHashTable *image, int minor)
{
  if (minor < 0)
    return;
  /* ImageMetaProps.obj_make_compatible: 1.34 added hw_viommu_model, 1.33
   * hw_locked_memory; an older compute node never sees them. */
  if (minor < 34)
    g_hash_table_remove(image, "hw_viommu_model");
  if (minor < 33)
    g_hash_table_remove(image, "hw_locked_memory");
}

void
ic_policy_decision_free(IcPolicyDecision *d)
{
  if (d == NULL)
    return;
  g_free(d->arch);
  g_free(d->arch_rule);
  g_free(d->machine_type);
  g_free(d->machine_type_rule);
  g_free(d->requested_rule);
  g_free(d->model_rule);
  g_free(d->locked_rule);
  g_free(d->fault_exception);
  g_free(d->fault_stage);
  g_free(d->fault_message);
  if (d->notes)
    g_ptr_array_unref(d->notes);
  g_free(d);
}

void
ic_policy_fault(IcPolicyDecision *d, GError **error, int code, const char *exception,
                const char *stage, int http, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_free(d->fault_exception);
  g_free(d->fault_stage);
  g_free(d->fault_message);
  d->fault_exception = g_strdup(exception);
  d->fault_stage = g_strdup(stage);
  d->fault_http = http;
  d->fault_message = msg;
  g_set_error_literal(error, IC_ERROR, code, msg);
}

static void
note(IcPolicyDecision *d, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void
note(IcPolicyDecision *d, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_ptr_array_add(d->notes, g_strdup_vprintf(fmt, ap));
  va_end(ap);
}

static const char *
lookup(GHashTable *t, const char *key)
{
  return g_hash_table_lookup(t, key);
}

const char *
ic_policy_virt_type(const IcPolicyInput *in)
{
  if (in->virt_type != NULL)
    return in->virt_type;
  return in->domain_type != NULL ? in->domain_type : "kvm";
}

/* ---- API stage: validation ------------------------------------------------ */

/* The flavor extra specs this module reads, with Nova's validators
 * (nova/api/validation/extra_specs/hw.py); enforced at microversion >= 2.86. */
static gboolean
validate_flavor(const IcPolicyInput *in, IcPolicyDecision *d, GError **error)
{
  IcViommuModel m;
  g_autoptr(GError) local = NULL;
  if (!ic_viommu_model_parse_flavor(lookup(in->flavor, "hw:viommu_model"), &m, &local)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "ValidationError", "api", 400, "%s", local->message);
    return FALSE;
  }
  if (in->compute_only)
    return TRUE; /* the compute node never re-validates the flavor's booleans */
  static const char *const bool_keys[] = {"hw:locked_memory", "hw:cpu_realtime", "hw:mem_encryption", NULL};
  for (int i = 0; bool_keys[i]; i++) {
    const char *v = lookup(in->flavor, bool_keys[i]);
    gboolean b;
    if (v != NULL && !ic_policy_flavor_bool(bool_keys[i], v, TRUE, &b, &local)) {
      ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "ValidationError", "api", 400, "%s", local->message);
      return FALSE;
    }
  }
  /* hw.py's pattern, matched whole (re.fullmatch) */
  static const char page_size_pattern[] = "(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)";
  const char *ps = lookup(in->flavor, "hw:mem_page_size");
  g_autofree char *anchored = g_strdup_printf("^(?:%s)$", page_size_pattern);
  if (ps != NULL && !g_regex_match_simple(anchored, ps, 0, 0)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "ValidationError", "api", 400,
                    "Validation failed; '%s' is not of the format '%s'.", ps, page_size_pattern);
    return FALSE;
  }
  const char *model = lookup(in->flavor, "hw:mem_encryption_model");
  if (model != NULL && strcmp(model, "amd-sev") != 0 && strcmp(model, "amd-sev-es") != 0 &&
      strcmp(model, "amd-sev-snp") != 0) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "ValidationError", "api", 400,
                    "Validation failed; '%s' is not one of: amd-sev, amd-sev-es, amd-sev-snp.", model);
    return FALSE;
  }
  return TRUE;
}

/* Image properties are coerced into ImageMetaProps fields; an invalid enum
 * value becomes InvalidRequest (HTTP 400) in compute/api.py. */
static gboolean
validate_image(const IcPolicyInput *in, GHashTable *image, IcPolicyDecision *d, GError **error)
{
  (void) in;
  IcViommuModel m;
  g_autoptr(GError) local = NULL;
  if (!ic_viommu_model_parse_image(lookup(image, "hw_viommu_model"), &m, &local)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "InvalidRequest", "api", 400, "%s", local->message);
    return FALSE;
  }
  /* MemEncryptionModelField: amd-sev, amd-sev-es, amd-sev-snp */
  const char *enc = lookup(image, "hw_mem_encryption_model");
  if (enc != NULL && strcmp(enc, "amd-sev") != 0 && strcmp(enc, "amd-sev-es") != 0 && strcmp(enc, "amd-sev-snp") != 0) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "InvalidRequest", "api", 400,
                    "Invalid image metadata. Error: Field value %s is invalid", enc);
    return FALSE;
  }
  static const char *const arch_keys[] = {"hw_architecture", "hw_emulation_architecture", NULL};
  for (int i = 0; arch_keys[i]; i++) {
    const char *v = lookup(image, arch_keys[i]);
    g_autofree char *canon = v ? ic_policy_canonical_arch(v) : NULL;
    if (v != NULL && canon == NULL) {
      ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "InvalidRequest", "api", 400,
                      "Invalid image metadata. Error: Architecture name '%s' is not recognised", v);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- arch and machine type -------------------------------------------------- */

static void
decide_arch(GHashTable *image, const char *domain_arch, const IcPolicyHost *host, IcPolicyDecision *d)
{
  const char *emu = lookup(image, "hw_emulation_architecture");
  const char *img = lookup(image, "hw_architecture");
  if (emu != NULL) {
    d->arch = ic_policy_canonical_arch(emu);
    d->arch_rule = g_strdup("image hw_emulation_architecture");
  } else if (img != NULL) {
    d->arch = ic_policy_canonical_arch(img);
    d->arch_rule = g_strdup("image hw_architecture");
  } else if (domain_arch != NULL && (d->arch = ic_policy_canonical_arch(domain_arch)) != NULL) {
    d->arch_rule = g_strdup_printf("domain XML <type arch='%s'>", domain_arch);
  } else if (host != NULL && host->arch != NULL) {
    d->arch = g_strdup(host->arch);
    d->arch_rule = g_strdup("host architecture");
  } else {
    struct utsname u;
    uname(&u);
    d->arch = ic_policy_canonical_arch(u.machine);
    if (d->arch == NULL)
      d->arch = g_strdup(u.machine);
    d->arch_rule = g_strdup("host architecture (uname)");
  }
}

/* nova/virt/libvirt/utils.py get_default_machine_type's built-in table. */
static const char *
builtin_machine_type(const char *arch)
{
  static const struct { const char *arch, *mtype; } table[] = {
    {"armv7l", "virt"}, {"aarch64", "virt"}, {"s390", "s390-ccw-virtio"},
    {"s390x", "s390-ccw-virtio"}, {"i686", "pc"}, {"x86_64", "pc"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(table); i++)
    if (g_strcmp0(arch, table[i].arch) == 0)
      return table[i].mtype;
  return NULL;
}

static void
decide_machine_type(const IcPolicyInput *in, GHashTable *image, IcPolicyDecision *d)
{
  const char *img = lookup(image, "hw_machine_type");
  if (img != NULL) {
    d->machine_type = g_strdup(img);
    d->machine_type_rule = g_strdup("image hw_machine_type");
    return;
  }
  if (in->domain_machine != NULL) {
    d->machine_type = g_strdup(in->domain_machine);
    d->machine_type_rule = g_strdup_printf("domain XML <type machine='%s'>", in->domain_machine);
    return;
  }
  const char *op = lookup(in->default_machine_types, d->arch);
  if (op != NULL && *op != '\0') {
    d->machine_type = g_strdup(op);
    d->machine_type_rule = g_strdup_printf("operator default [libvirt]hw_machine_type %s=%s", d->arch, op);
    return;
  }
  const char *builtin = builtin_machine_type(d->arch);
  d->machine_type = g_strdup(builtin);
  d->machine_type_rule = builtin ? g_strdup_printf("Nova's built-in default for %s", d->arch)
                                 : g_strdup_printf("no default machine type for %s", d->arch);
}

/* ---- the vIOMMU model ---------------------------------------------------------- */

static gboolean
mtype_has(const IcPolicyDecision *d, const char *needle)
{
  return d->machine_type != NULL && strstr(d->machine_type, needle) != NULL;
}

/* Nova's _get_iommu_model checks, in its order. */
static gboolean
check_arch_and_machine(IcPolicyDecision *d, GError **error)
{
  const char *needle;
  if (ic_policy_arch_is_x86(d->arch))
    needle = "q35";
  else if (g_strcmp0(d->arch, "aarch64") == 0)
    needle = "virt";
  else {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "InvalidVIOMMUArchitecture", "compute", 0,
                    "vIOMMU required either x86 or AArch64 architecture, but given architecture %s.",
                    d->arch);
    return FALSE;
  }
  if (d->machine_type != NULL && !mtype_has(d, needle)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "InvalidVIOMMUMachineType", "compute", 0,
                    "vIOMMU is not supported by Current machine type %s (Architecture: %s).",
                    d->machine_type, d->arch);
    return FALSE;
  }
  return TRUE;
}

static void
resolve_auto(const IcPolicyHost *host, IcPolicyDecision *d)
{
  guint64 lv = host ? host->libvirt_version : 0;
  g_autofree char *lvs = ic_policy_format_version(lv);
  if (lv >= IC_MIN_LIBVIRT_VIOMMU_VIRTIO) {
    d->model = IC_VIOMMU_VIRTIO;
    d->model_rule = g_strdup_printf("auto: libvirt %s >= 8.3.0 -> virtio", lvs);
  } else if (ic_policy_arch_is_x86(d->arch) && mtype_has(d, "q35")) {
    d->model = IC_VIOMMU_INTEL;
    d->model_rule = g_strdup_printf("auto: libvirt %s < 8.3.0 on x86 q35 -> intel",
                                    lvs ? lvs : "(unknown)");
  } else {
    d->model = IC_VIOMMU_SMMUV3;
    d->model_rule = g_strdup_printf("auto: libvirt %s < 8.3.0, not x86 q35 -> smmuv3",
                                    lvs ? lvs : "(unknown)");
  }
}

/* Nova passes an explicit model through unchecked; libvirt then refuses
 * these combinations (its texts).  We refuse them up front instead of
 * generating XML that cannot start (docs/policy.md, deviation D3). */
static gboolean
check_explicit_model(const IcPolicyHost *host, IcPolicyDecision *d, GError **error)
{
  gboolean x86_q35 = ic_policy_arch_is_x86(d->arch) && mtype_has(d, "q35");
  gboolean arm_virt = g_strcmp0(d->arch, "aarch64") == 0 && mtype_has(d, "virt");
  switch (d->model) {
  case IC_VIOMMU_INTEL:
    if (!x86_q35) {
      ic_policy_fault(d, error, IC_ERROR_CONFLICT, "iommuctl.LibvirtWouldRefuse", "compute", 0,
                      "IOMMU device: 'intel' is only supported with Q35 machines "
                      "(arch %s, machine type %s)", d->arch, d->machine_type ? d->machine_type : "none");
      return FALSE;
    }
    break;
  case IC_VIOMMU_SMMUV3:
    if (!arm_virt) {
      ic_policy_fault(d, error, IC_ERROR_CONFLICT, "iommuctl.LibvirtWouldRefuse", "compute", 0,
                      "IOMMU device: 'smmuv3' is only supported with ARM Virt machines "
                      "(arch %s, machine type %s)", d->arch, d->machine_type ? d->machine_type : "none");
      return FALSE;
    }
    break;
  case IC_VIOMMU_VIRTIO:
    if (host != NULL && host->libvirt_version != 0 &&
        host->libvirt_version < IC_MIN_LIBVIRT_VIOMMU_VIRTIO) {
      g_autofree char *lvs = ic_policy_format_version(host->libvirt_version);
      ic_policy_fault(d, error, IC_ERROR_CONFLICT, "iommuctl.LibvirtWouldRefuse", "compute", 0,
                      "IOMMU model 'virtio' needs libvirt >= 8.3.0; this host has libvirt %s", lvs);
      return FALSE;
    }
    break;
  default:
    break;
  }
  return TRUE;
}

/* The largest address width QEMU's intel-iommu accepts (39 or 48) that the
 * host IOMMU can back: a guest IOVA above the host's width cannot be mapped
 * through VFIO. */
static guint
choose_aw_bits(const IcPolicyHost *host, IcPolicyDecision *d)
{
  guint host_aw = host ? host->iommu_address_width : 0;
  if (host_aw == 0 || host_aw >= 48)
    return 48;
  note(d, "aw_bits 39 instead of Nova's 48: the host IOMMU has only %u address bits", host_aw);
  return 39;
}

/* Nova writes intremap/caching_mode/eim/iotlb/aw_bits on every model and the
 * ioapic feature on every arch; libvirt refuses driver attributes on virtio
 * and the ioapic feature off x86 (deviations D1, D2). */
static void
decide_driver(const IcPolicyInput *in, const IcPolicyHost *host, IcPolicyDecision *d)
{
  d->ioapic_qemu = ic_policy_arch_is_x86(d->arch);
  if (!d->ioapic_qemu)
    note(d, "no <ioapic driver='qemu'/>: libvirt refuses the ioapic feature on %s (Nova adds it)", d->arch);
  if (d->model != IC_VIOMMU_INTEL) {
    note(d, "no <driver> attributes on the %s vIOMMU: they are intel-iommu properties "
            "(Nova writes them for every model)", ic_viommu_model_name(d->model));
    return;
  }
  d->has_driver = TRUE;
  d->intremap = TRUE;
  d->caching_mode = TRUE;
  d->iotlb = TRUE;
  /* QEMU: "eim=on requires accel=kvm,kernel-irqchip=split" -- a TCG guest
   * with eim cannot start (deviation D4). */
  const char *vt = ic_policy_virt_type(in);
  gboolean kvm = g_str_equal(vt, "kvm");
  d->eim = mtype_has(d, "q35") && kvm;
  if (mtype_has(d, "q35") && !kvm)
    note(d, "eim='off': QEMU needs KVM with a split irqchip for eim, and virt_type is %s", vt);
  guint64 lv = host ? host->libvirt_version : 0;
  if (lv != 0 && lv < IC_MIN_LIBVIRT_VIOMMU_AW_BITS)
    note(d, "aw_bits omitted: libvirt older than 6.5.0");
  else
    d->aw_bits = choose_aw_bits(host, d);
}

static gboolean
decide_viommu(const IcPolicyInput *in, GHashTable *image, const IcPolicyHost *host,
              IcPolicyDecision *d, GError **error)
{
  const char *fv = lookup(in->flavor, "hw:viommu_model");
  const char *iv = lookup(image, "hw_viommu_model");
  IcViommuModel m = IC_VIOMMU_NONE;
  /* `flavor or image`: an empty flavor value falls through to the image */
  if (fv != NULL && *fv != '\0') {
    ic_viommu_model_parse_flavor(fv, &m, NULL);
    d->requested_rule = (iv != NULL && *iv != '\0' && strcmp(iv, fv) != 0)
      ? g_strdup_printf("flavor hw:viommu_model=%s (wins over image hw_viommu_model=%s)", fv, iv)
      : g_strdup_printf("flavor hw:viommu_model=%s", fv);
  } else if (iv != NULL && *iv != '\0') {
    ic_viommu_model_parse_image(iv, &m, NULL);
    d->requested_rule = g_strdup_printf("image hw_viommu_model=%s", iv);
  } else {
    d->requested_rule = g_strdup("neither flavor hw:viommu_model nor image hw_viommu_model is set");
  }
  d->requested = m;
  const char *vt = ic_policy_virt_type(in);
  if (m != IC_VIOMMU_NONE && !g_str_equal(vt, "kvm") && !g_str_equal(vt, "qemu")) {
    d->model = IC_VIOMMU_NONE;
    d->model_rule = g_strdup_printf("virt_type %s: Nova adds a vIOMMU only for qemu and kvm", vt);
    return TRUE;
  }
  if (m == IC_VIOMMU_NONE) {
    d->model_rule = g_strdup("no vIOMMU requested");
    return TRUE;
  }
  if (!check_arch_and_machine(d, error))
    return FALSE;
  if (m == IC_VIOMMU_AUTO) {
    resolve_auto(host, d);
  } else {
    d->model = m;
    d->model_rule = g_strdup_printf("explicit %s", ic_viommu_model_name(m));
    if (!check_explicit_model(host, d, error))
      return FALSE;
  }
  decide_driver(in, host, d);
  return TRUE;
}

IcPolicyDecision *
ic_policy_resolve(const IcPolicyInput *in, const IcPolicyHost *host, GError **error)
{
  IcPolicyDecision *d = g_new0(IcPolicyDecision, 1);
  d->notes = g_ptr_array_new_with_free_func(g_free);
  d->locked = IC_POLICY_UNSET;
  g_autoptr(GHashTable) image = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, in->image);
  while (g_hash_table_iter_next(&it, &k, &v))
    g_hash_table_replace(image, g_strdup(k), g_strdup(v));
  ic_policy_image_props_for_version(image, in->image_meta_minor);

  if (!validate_flavor(in, d, error) || !validate_image(in, image, d, error))
    return d;
  decide_arch(image, in->domain_arch, host, d);
  decide_machine_type(in, image, d);

  /* numa_get_constraints at the API, before anything reaches a host */
  IcPolicyInput view = *in;
  view.image = image;
  if (!ic_policy_locked_memory(&view, d->machine_type, d, error))
    return d;
  decide_viommu(in, image, host, d, error);
  return d;
}
