/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IOMMU lint: libvirt's validation rules (with libvirt's own message text),
 * the QEMU rules libvirt lets through, and iommuctl's own.  The codes are
 * stable: LVnnn = libvirt rejects, QMnnn = QEMU rejects at start,
 * ICnnn = iommuctl's judgement. */
#include "domain/domain-private.h"
#include "util/ic-util.h"

#include <string.h>

static const IcLintRule rules[] = {
  {"LV001", IC_LINT_ERROR, "libvirt", "intel/amd vIOMMU only on Q35 machines"},
  {"LV002", IC_LINT_ERROR, "libvirt", "smmuv3 only on ARM virt machines"},
  {"LV003", IC_LINT_ERROR, "libvirt", "virtio vIOMMU only on Q35 and ARM virt machines"},
  {"LV004", IC_LINT_ERROR, "libvirt", "virtio vIOMMU requires ACPI"},
  {"LV005", IC_LINT_ERROR, "libvirt", "virtio vIOMMU needs a PCI address"},
  {"LV006", IC_LINT_ERROR, "libvirt", "virtio vIOMMU must sit on bus 0"},
  {"LV007", IC_LINT_ERROR, "libvirt", "intremap requires <ioapic driver='qemu'/>"},
  {"LV008", IC_LINT_ERROR, "libvirt", "eim requires intremap='on'"},
  {"LV009", IC_LINT_ERROR, "libvirt", "smmuv3/virtio take no driver attributes"},
  {"LV010", IC_LINT_ERROR, "libvirt", "amd takes no caching_mode/eim/aw_bits/dma_translation"},
  {"LV011", IC_LINT_ERROR, "libvirt", "intel/smmuv3 vIOMMU can't have an address"},
  {"LV012", IC_LINT_ERROR, "libvirt", "more than 255 vCPUs need a Q35 machine"},
  {"LV013", IC_LINT_ERROR, "libvirt", "more than 255 vCPUs need eim='on' (intel) or xtsup='on' (amd)"},
  {"LV014", IC_LINT_ERROR, "libvirt", "virtio driver options only on virtio devices"},
  {"LV015", IC_LINT_ERROR, "libvirt", "only one vIOMMU (x86: also QEMU)"},
  {"LV016", IC_LINT_ERROR, "libvirt", "ioapic feature only on x86"},
  {"LV017", IC_LINT_ERROR, "libvirt", "unknown vIOMMU model"},
  {"LV018", IC_LINT_ERROR, "libvirt", "on/off attribute with another value"},
  {"LV019", IC_LINT_ERROR, "libvirt", "amd vIOMMU needs libvirt >= 11.5"},
  {"LV020", IC_LINT_WARNING, "libvirt", "virtio options on a device kind whose <driver> has none: ignored"},
  {"LV021", IC_LINT_ERROR, "libvirt", "the same PCI host device assigned twice"},
  {"LV022", IC_LINT_ERROR, "libvirt-schema", "vIOMMU/hostdev feature newer than the libvirt linted for (--libvirt-version)"},
  {"QM001", IC_LINT_ERROR, "qemu", "intel aw_bits must be 39 or 48"},
  {"QM002", IC_LINT_ERROR, "qemu", "iommu='on' on a transitional (legacy-capable) virtio PCI device"},
  {"QM003", IC_LINT_ERROR, "qemu", "intel vIOMMU with a VFIO hostdev needs caching_mode='on'"},
  {"QM004", IC_LINT_ERROR, "qemu", "intel eim='on' needs KVM (type='kvm')"},
  {"QM005", IC_LINT_WARNING, "qemu", "amd vIOMMU cannot host VFIO devices before QEMU 10.1"},
  {"QM006", IC_LINT_ERROR, "qemu", "iommu='on' on a virtiofs filesystem (vhost-user-fs-pci, QEMU 7.2)"},
  {"IC001", IC_LINT_WARNING, "iommuctl", "iommu='on' without a vIOMMU or launchSecurity"},
  {"IC002", IC_LINT_ERROR, "iommuctl", "aw_bits wider than the host IOMMU"},
  {"IC003", IC_LINT_ERROR, "iommuctl", "iommu='off' on a guest that needs bounce buffers"},
  {"IC004", IC_LINT_ERROR, "iommuctl", "s390 protected guests: no VFIO hostdevs, no hugepages"},
  {"IC005", IC_LINT_WARNING, "iommuctl", "intel/amd vIOMMU without ACPI: the guest gets no DMAR/IVRS table"},
};

const IcLintRule *
ic_lint_rules(guint *n_rules)
{
  *n_rules = G_N_ELEMENTS(rules);
  return rules;
}

const char *
ic_lint_severity_to_string(IcLintSeverity s)
{
  switch (s) {
  case IC_LINT_ERROR: return "error";
  case IC_LINT_WARNING: return "warning";
  case IC_LINT_INFO: default: return "info";
  }
}

void
ic_lint_finding_free(IcLintFinding *f)
{
  if (f == NULL)
    return;
  g_free(f->message);
  g_free(f->hint);
  g_free(f);
}

guint
ic_lint_count_errors(const GPtrArray *findings)
{
  guint n = 0;
  for (guint i = 0; i < findings->len; i++)
    n += ((const IcLintFinding *) g_ptr_array_index(findings, i))->severity >= IC_LINT_ERROR;
  return n;
}

typedef struct {
  const IcDomainDoc *doc;
  const IcDomainDef *def;
  const IcLintOptions *opts;
  guint libvirt;            /* the version whose rules apply (9.0.0 when not given) */
  GPtrArray *out;
} Lint;

#define LIBVIRT_BASELINE 9000000u /* Debian 12: the version the rules were written against */

static gboolean
libvirt_has(const Lint *l, guint version)
{
  return l->libvirt >= version;
}

static const char *
version_text(guint v, char buf[32])
{
  g_snprintf(buf, 32, "%u.%u", v / 1000000, v / 1000 % 1000);
  return buf;
}

static void G_GNUC_PRINTF(5, 6)
report(Lint *l, const char *code, int line, const char *hint, const char *fmt, ...)
{
  const IcLintRule *rule = NULL;
  for (guint i = 0; i < G_N_ELEMENTS(rules); i++)
    if (strcmp(rules[i].code, code) == 0)
      rule = &rules[i];
  g_assert(rule != NULL);
  IcLintFinding *f = g_new0(IcLintFinding, 1);
  f->code = rule->code;
  f->severity = rule->severity;
  f->origin = rule->origin;
  f->line = line;
  va_list ap;
  va_start(ap, fmt);
  f->message = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  f->hint = g_strdup(hint);
  g_ptr_array_add(l->out, f);
}

/* A feature the domain uses that the libvirt linted for lacks: libvirt of
 * that version drops the unknown attribute or element while parsing (its
 * schema, with --validate, rejects it), so say so instead of accepting it. */
static void
report_needs_libvirt(Lint *l, int line, const char *what, guint since, const char *hint)
{
  char need[32], have[32];
  report(l, "LV022", line, hint, "%s needs libvirt >= %s; libvirt %s does not know it (ignored when parsed, "
         "refused by its schema)", what, version_text(since, need), version_text(l->libvirt, have));
}

/* Same as report() but with a severity override (rules that depend on context). */
static void
report_sev(Lint *l, const char *code, IcLintSeverity sev, int line, const char *hint, const char *msg)
{
  report(l, code, line, hint, "%s", msg);
  ((IcLintFinding *) g_ptr_array_index(l->out, l->out->len - 1))->severity = sev;
}

/* ---- the vIOMMU device itself ------------------------------------------------ */

static void
check_tristate(Lint *l, const IcDomainIommu *io, const char *attr, IcTristate t)
{
  if (t != IC_TRI_INVALID || io->driver == NULL)
    return;
  xmlChar *v = xmlGetNoNsProp(io->driver, (const xmlChar *) attr);
  report(l, "LV018", io->base.line, "use 'on' or 'off'",
         "Invalid value for attribute '%s' in element 'driver': '%s'.", attr, v != NULL ? (const char *) v : "");
  xmlFree(v);
}

static gboolean
has_vfio_hostdev(const IcDomainDef *def)
{
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = g_ptr_array_index(def->hostdevs, i);
    if (h->type != NULL && (strcmp(h->type, "pci") == 0 || strcmp(h->type, "mdev") == 0) &&
        (h->driver_name == NULL || strcmp(h->driver_name, "vfio") == 0))
      return TRUE;
  }
  for (guint i = 0; i < def->interfaces->len; i++) {
    const IcDomainInterface *n = g_ptr_array_index(def->interfaces, i);
    if (n->type != NULL && strcmp(n->type, "hostdev") == 0)
      return TRUE;
  }
  return FALSE;
}

static void
lint_iommu_machine(Lint *l, const IcDomainIommu *io)
{
  const IcDomainDef *def = l->def;
  const char *m = io->base.model;
  int line = io->base.line;
  switch (io->model) {
  case IC_VIOMMU_INTEL:
  case IC_VIOMMU_AMD:
    if (!ic_domain_def_is_q35(def))
      report(l, "LV001", line, "use a q35 machine type (e.g. machine='q35')",
             "IOMMU device: '%s' is only supported with Q35 machines", m);
    else if (!def->acpi)
      /* libvirt accepts it and turns ACPI off (-no-acpi in 9.0, acpi=off
       * later): the vIOMMU is emulated, but without the DMAR (intel) or
       * IVRS (amd) table no guest driver ever finds it */
      report(l, "IC005", line, "add <acpi/> to <features>",
             "IOMMU device: '%s' without ACPI is dead: the guest gets no %s table, so no device is translated "
             "(libvirt starts the guest with ACPI off)", m, io->model == IC_VIOMMU_INTEL ? "DMAR" : "IVRS");
    break;
  case IC_VIOMMU_SMMUV3:
    if (!ic_domain_def_is_arm_virt(def))
      report(l, "LV002", line, "smmuv3 exists only on aarch64 'virt'; on x86 q35 use model='intel' or 'virtio'",
             "IOMMU device: '%s' is only supported with ARM Virt machines", m);
    break;
  case IC_VIOMMU_VIRTIO:
    if (!ic_domain_def_is_q35(def) && !ic_domain_def_is_arm_virt(def)) {
      report(l, "LV003", line, "use a q35 (x86) or virt (aarch64) machine type",
             "IOMMU device: '%s' is only supported with Q35 and ARM Virt machines", m);
      break;
    }
    if (!def->acpi)
      report(l, "LV004", line, "add <acpi/> to <features> (the VIOT table describes the virtio-iommu)",
             "IOMMU device: '%s' requires ACPI", m);
    if (io->base.address.type != IC_ADDR_NONE && io->base.address.type != IC_ADDR_PCI)
      report(l, "LV005", line, "drop the <address> or give a PCI one on bus 0",
             "IOMMU device: '%s' needs a PCI address", m);
    else if (io->base.address.type == IC_ADDR_PCI && io->base.address.pci.bus != 0) {
      char buf[IC_PCI_ADDR_STRLEN];
      report(l, "LV006", line, "put the virtio-iommu on bus 0 (an integrated device) or drop the <address>",
             "The device at PCI address %s needs to be an integrated device (bus=0)",
             ic_pci_addr_format(&io->base.address.pci, buf));
    }
    break;
  case IC_VIOMMU_UNKNOWN:
  case IC_VIOMMU_NONE:
  case IC_VIOMMU_AUTO:
    break;
  }
}

/* Attributes and elements of <iommu> that later libvirt releases added
 * (libvirt's NEWS and domaincommon.rng): under an older version they are
 * reported with the version they need; under a version that has them, with
 * that version's rules. */
static void
lint_iommu_newer_features(Lint *l, const IcDomainIommu *io)
{
  int line = io->base.line;
  const char *m = io->base.model != NULL ? io->base.model : "";
  if (io->pci_bus >= 0) {
    if (!libvirt_has(l, 11010000))
      report_needs_libvirt(l, line, "<driver pciBus=''/> (one SMMUv3 per PCI host bridge)", 11010000,
                           "remove pciBus (one SMMUv3 for the whole machine), or lint for libvirt >= 11.10");
    else if (io->model != IC_VIOMMU_SMMUV3)
      report(l, "LV009", line, "pciBus is for model='smmuv3' only",
             "iommu model '%s' doesn't support additional attributes", m);
  }
  if (io->granule != NULL) {
    if (!libvirt_has(l, 12001000))
      report_needs_libvirt(l, ic_domain_doc_line(l->doc, io->granule), "<granule/> of the virtio-iommu", 12001000,
                           "remove <granule/> (QEMU's default: the host page size), or lint for libvirt >= 12.1");
    else if (io->model != IC_VIOMMU_VIRTIO)
      report(l, "LV009", ic_domain_doc_line(l->doc, io->granule), "<granule/> is for model='virtio' only",
             "iommu model '%s' doesn't support additional attributes", m);
  }
}

static void
lint_iommu_attrs(Lint *l, const IcDomainIommu *io)
{
  const IcDomainDef *def = l->def;
  const char *m = io->base.model;
  int line = io->base.line;
  check_tristate(l, io, "intremap", io->intremap);
  check_tristate(l, io, "caching_mode", io->caching_mode);
  check_tristate(l, io, "eim", io->eim);
  check_tristate(l, io, "iotlb", io->iotlb);
  check_tristate(l, io, "dma_translation", io->dma_translation);
  check_tristate(l, io, "passthrough", io->passthrough);
  check_tristate(l, io, "xtsup", io->xtsup);

  gboolean aw = io->aw_bits || io->aw_bits_invalid;
  gboolean virtio_aw_ok = io->model == IC_VIOMMU_VIRTIO && libvirt_has(l, 12001000);
  gboolean any_intel_attr = io->intremap || io->caching_mode || io->eim || io->iotlb ||
                            (aw && !virtio_aw_ok) || io->dma_translation;
  /* From 12.1 virtio takes aw_bits and <granule/>, and libvirt's text says
   * "some" (upstream tests/qemuxmlconfdata/virtio-iommu-dma-translation.err). */
  gboolean virtio_has_some = io->model == IC_VIOMMU_VIRTIO && libvirt_has(l, 12001000);
  if ((io->model == IC_VIOMMU_SMMUV3 || io->model == IC_VIOMMU_VIRTIO) && any_intel_attr)
    report(l, "LV009", line,
           io->model == IC_VIOMMU_VIRTIO && aw && !virtio_aw_ok
             ? "remove the <driver> attributes (aw_bits on virtio needs libvirt >= 12.1)"
           : virtio_has_some ? "virtio takes only aw_bits and <granule/>: remove the other <driver> attributes"
                             : "remove the <driver> attributes: this model has none in libvirt",
           virtio_has_some ? "iommu model '%s' doesn't support some additional attributes"
                           : "iommu model '%s' doesn't support additional attributes", m);
  if (io->model == IC_VIOMMU_AMD && (io->caching_mode || io->eim || io->aw_bits || io->dma_translation))
    report(l, "LV010", line, "amd takes only intremap, iotlb, passthrough and xtsup",
           "iommu model '%s' doesn't support some additional attributes", m);
  if ((io->model == IC_VIOMMU_INTEL || io->model == IC_VIOMMU_SMMUV3) && io->base.address.node != NULL)
    report(l, "LV011", line, "remove the <address>: this vIOMMU is not a PCI device",
           "iommu model '%s' can't have address", m);

  /* libvirt's virDomainDefIOMMUValidate: split irqchip for interrupt remapping */
  if (io->intremap == IC_TRI_ON && (def->ioapic_driver == NULL || strcmp(def->ioapic_driver, "qemu") != 0) &&
      def->kind == IC_DOMAIN_DOC_DOMAIN)
    report(l, "LV007", line, "add <ioapic driver='qemu'/> to <features>",
           "IOMMU interrupt remapping requires split I/O APIC (ioapic driver='qemu')");
  if (io->eim == IC_TRI_ON && io->intremap != IC_TRI_ON)
    report(l, "LV008", line, "set intremap='on' (eim extends interrupt remapping)",
           "IOMMU eim requires interrupt remapping to be enabled");

  if (io->model == IC_VIOMMU_INTEL) {
    if (io->aw_bits_invalid || (io->aw_bits != 0 && io->aw_bits != 39 && io->aw_bits != 48))
      report(l, "QM001", line, "use aw_bits='48' (or '39' when the host IOMMU is 39-bit)",
             "Supported values for aw-bits are: 39, 48");
    if (io->caching_mode != IC_TRI_ON && has_vfio_hostdev(def))
      report(l, "QM003", line, "set caching_mode='on' on the intel <iommu> <driver>",
             "We need to set caching-mode=on for intel-iommu to enable device assignment with IOMMU protection.");
    if (io->eim == IC_TRI_ON && def->type != NULL && strcmp(def->type, "qemu") == 0)
      report(l, "QM004", line, "use type='kvm', or drop eim (only needed above 255 vCPUs)",
             "eim=on requires accel=kvm,kernel-irqchip=split");
  }
  if (io->model == IC_VIOMMU_AMD && has_vfio_hostdev(def))
    report(l, "QM005", line, "use model='intel' (caching_mode='on') or 'virtio' for VFIO devices",
           "amd-iommu cannot shadow mappings for vfio-pci before QEMU 10.1 (dma-remap)");
  if (io->model == IC_VIOMMU_UNKNOWN)
    report(l, "LV017", line, "use intel, smmuv3, virtio (or amd with libvirt >= 11.5)",
           "Invalid value for attribute 'model' in element 'iommu': '%s'.", m != NULL ? m : "");
  if (io->model == IC_VIOMMU_AMD && !libvirt_has(l, 11005000)) {
    char have[32];
    report(l, "LV019", line, "use model='intel', or lint for libvirt >= 11.5 (--libvirt-version 11.5)",
           "iommu model 'amd' needs libvirt >= 11.5; libvirt %s: Invalid value for attribute 'model' in element "
           "'iommu': 'amd'.", version_text(l->libvirt, have));
  }
  lint_iommu_newer_features(l, io);

  /* iommuctl: the guest IOVA width must fit the host's for VFIO maps */
  guint host = l->opts != NULL ? l->opts->host_aw_bits : 0;
  if (host != 0 && io->aw_bits > host) {
    g_autofree char *msg = g_strdup_printf("aw_bits=%u is wider than the host IOMMU's %u-bit address width: "
                                           "VFIO cannot map guest IOVAs above 2^%u", io->aw_bits, host, host);
    g_autofree char *hint = g_strdup_printf("set aw_bits='%u'", host >= 48 ? 48u : 39u);
    report_sev(l, "IC002", has_vfio_hostdev(def) ? IC_LINT_ERROR : IC_LINT_WARNING, line, hint, msg);
  }
}

static gboolean
all_smmuv3_with_pci_bus(const IcDomainDef *def)
{
  for (guint i = 0; i < def->iommus->len; i++) {
    const IcDomainIommu *io = g_ptr_array_index(def->iommus, i);
    if (io->model != IC_VIOMMU_SMMUV3 || io->pci_bus < 0)
      return FALSE;
  }
  return TRUE;
}

static void
lint_iommus(Lint *l)
{
  const IcDomainDef *def = l->def;
  for (guint i = 0; i < def->iommus->len; i++) {
    const IcDomainIommu *io = g_ptr_array_index(def->iommus, i);
    if (i == 1 && (!libvirt_has(l, 11010000) || !all_smmuv3_with_pci_bus(def)))
      report(l, "LV015", io->base.line,
             "keep one <iommu>: several are only for smmuv3 with pciBus on libvirt >= 11.10",
             "only a single IOMMU device is supported");
    if (def->kind == IC_DOMAIN_DOC_DOMAIN)
      lint_iommu_machine(l, io);
    lint_iommu_attrs(l, io);
  }
}

/* ---- domain-wide rules ----------------------------------------------------------- */

static void
lint_features(Lint *l)
{
  const IcDomainDef *def = l->def;
  if (def->ioapic_driver != NULL && strcmp(def->ioapic_driver, "none") != 0 && def->arch != NULL &&
      !ic_domain_def_is_x86(def)) {
    xmlNodePtr ioapic = ic_xml_child(def->features, "ioapic");
    report(l, "LV016", ic_domain_doc_line(l->doc, ioapic), "remove <ioapic/>: it is an x86 feature",
           "The '%s' feature is not supported for architecture '%s' or machine type '%s'", "ioapic",
           def->arch, def->machine != NULL ? def->machine : "");
  }
  if (def->vcpus_max > 255 && ic_domain_def_is_x86(def)) {
    int line = ic_domain_doc_line(l->doc, ic_xml_child(def->root, "vcpu"));
    if (!ic_domain_def_is_q35(def)) {
      report(l, "LV012", line, "use a q35 machine type", "more than %d vCPUs are only supported on q35-based machine types",
             255);
    } else {
      gboolean ok = FALSE;
      /* libvirt >= 10.10 adds <iommu model='intel'> with eim='on' itself when
       * there is no vIOMMU (and turns eim on in an intel one that leaves it out) */
      if (libvirt_has(l, 10010000))
        ok = def->iommus->len == 0 ||
             (((const IcDomainIommu *) def->iommus->pdata[0])->model == IC_VIOMMU_INTEL &&
              ((const IcDomainIommu *) def->iommus->pdata[0])->eim == IC_TRI_ABSENT);
      for (guint i = 0; i < def->iommus->len; i++) {
        const IcDomainIommu *io = g_ptr_array_index(def->iommus, i);
        ok = ok || (io->model == IC_VIOMMU_INTEL && io->eim == IC_TRI_ON) ||
             (io->model == IC_VIOMMU_AMD && io->xtsup == IC_TRI_ON);
      }
      if (!ok)
        report(l, "LV013", line,
               "add <iommu model='intel'><driver intremap='on' eim='on'/></iommu> and <ioapic driver='qemu'/> "
               "(iommuctl domain viommu --model intel)",
               "more than %d vCPUs require extended interrupt mode enabled on the iommu device", 255);
    }
  }
  if (def->launch_security != NULL && strcmp(def->launch_security, "s390-pv") == 0) {
    if (has_vfio_hostdev(def))
      report(l, "IC004", ic_domain_doc_line(l->doc, def->launch_security_node),
             "remove the hostdevs: a protected guest cannot use VFIO passthrough",
             "s390 protected virtualization does not support VFIO passthrough");
    if (def->hugepages)
      report(l, "IC004", ic_domain_doc_line(l->doc, def->memory_backing),
             "remove <hugepages/>: protected guests run on 4K pages",
             "s390 protected virtualization does not support huge-page backing");
  }
}

/* Is this PCI virtio device going to be a transitional (legacy-capable) one?
 * QEMU makes a virtio-pci device modern-only (disable-legacy=auto -> on) only
 * when it sits on a PCIe port; on a root bus or a conventional bridge it keeps
 * the legacy interface and then rejects iommu_platform. */
static gboolean
ends_up_transitional(const IcDomainDef *def, const IcDomainDevice *d)
{
  if (d->transitional)
    return TRUE;
  if (d->model != NULL && strcmp(d->model, "virtio-non-transitional") == 0)
    return FALSE;
  if (d->address.type == IC_ADDR_CCW || d->address.type == IC_ADDR_VIRTIO_MMIO)
    return FALSE;
  if (def->kind != IC_DOMAIN_DOC_DOMAIN || ic_domain_def_is_s390(def))
    return FALSE;
  if (ic_domain_def_is_x86(def) && !ic_domain_def_is_q35(def) &&
      !(def->machine != NULL && strcmp(def->machine, "microvm") == 0))
    return TRUE; /* i440fx: every bus is conventional PCI */
  if (d->address.type != IC_ADDR_PCI)
    return FALSE; /* libvirt places it on a pcie-root-port */
  guint bus = d->address.pci.bus;
  if (bus == 0)
    return TRUE; /* pcie.0 is a root bus: legacy stays on */
  for (guint i = 0; i < def->controllers->len; i++) {
    const IcDomainController *c = g_ptr_array_index(def->controllers, i);
    if (c->type != NULL && strcmp(c->type, "pci") == 0 && c->index == (int) bus && c->base.model != NULL)
      return strcmp(c->base.model, "pci-bridge") == 0 || strcmp(c->base.model, "pcie-to-pci-bridge") == 0 ||
             strcmp(c->base.model, "pci-expander-bus") == 0 || strcmp(c->base.model, "pcie-expander-bus") == 0;
  }
  return FALSE;
}

/* QEMU devices that are virtio 1.0 only whatever bus they sit on
 * (virtio_pci_force_virtio_1 in their realize): virtio-gpu-pci/virtio-vga,
 * virtio-input-*-pci, virtio-crypto-pci, virtio-mem/pmem-pci.  Measured:
 * QEMU 7.2 starts video and input with iommu_platform=on on i440fx's root bus. */
static gboolean
modern_only(const IcDomainDevice *d)
{
  return d->kind == IC_DEV_VIDEO || d->kind == IC_DEV_INPUT || d->kind == IC_DEV_CRYPTO || d->kind == IC_DEV_MEMORY;
}

/* libvirt 9.0's schema takes model='virtio-non-transitional' on these (the
 * interface as <model type=''>); each maps to QEMU's *-non-transitional. */
static gboolean
has_non_transitional_model(const IcDomainDevice *d)
{
  switch (d->kind) {
  case IC_DEV_DISK: case IC_DEV_INTERFACE: case IC_DEV_FILESYSTEM: case IC_DEV_MEMBALLOON:
  case IC_DEV_RNG: case IC_DEV_VSOCK:
    return TRUE;
  case IC_DEV_CONTROLLER: {
    const IcDomainController *c = (const IcDomainController *) d;
    return c->type != NULL && (strcmp(c->type, "scsi") == 0 || strcmp(c->type, "virtio-serial") == 0);
  }
  default:
    return FALSE;
  }
}

static gboolean
is_virtiofs(const IcDomainDevice *d)
{
  if (d->kind != IC_DEV_FILESYSTEM || d->opts.driver == NULL)
    return FALSE;
  xmlChar *type = xmlGetNoNsProp(d->opts.driver, (const xmlChar *) "type");
  gboolean fs = type != NULL && strcmp((const char *) type, "virtiofs") == 0;
  xmlFree(type);
  return fs;
}

IcIommuPlatform
ic_domain_iommu_platform_check(const IcDomainDef *def, const IcDomainDevice *d, IcIommuPlatformWhy *why)
{
  static const char qemu_transitional[] = "VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor "
                                          "transitional device";
  why->code = NULL;
  why->message = NULL;
  why->hint = NULL;
  if (!d->virtio)
    return IC_IOMMU_PLATFORM_OK;
  if (is_virtiofs(d)) {
    /* vhost-user-fs-pci: QEMU 7.2 does not offer VIRTIO_F_IOMMU_PLATFORM to
     * the virtiofsd backend (measured: the domain does not start) */
    why->code = "QM006";
    why->message = "iommu_platform=true is not supported by the device";
    why->hint = "leave iommu off on this virtiofs <filesystem> (QEMU 7.2's vhost-user-fs cannot use a vIOMMU), "
                "or share the directory over 9p (<driver type='path'/>)";
    return IC_IOMMU_PLATFORM_REFUSED;
  }
  if (modern_only(d) && !d->transitional)
    return IC_IOMMU_PLATFORM_OK;
  if (!ends_up_transitional(def, d))
    return IC_IOMMU_PLATFORM_OK;
  why->code = "QM002";
  why->message = qemu_transitional;
  if (d->transitional) {
    /* the file asked for a legacy-capable device (old guest drivers): keep it */
    why->hint = "use model='virtio-non-transitional' (the guest then needs virtio 1.0 drivers), "
                "or leave iommu off on this device";
    return IC_IOMMU_PLATFORM_REFUSED;
  }
  if (has_non_transitional_model(d)) {
    why->hint = "use model='virtio-non-transitional' (iommuctl domain protect does), "
                "or put the device on a pcie-root-port";
    return IC_IOMMU_PLATFORM_SWITCH_MODEL;
  }
  why->hint = "put the device on a pcie-root-port (q35), or leave iommu off on it: libvirt has no "
              "virtio-non-transitional model for it";
  return IC_IOMMU_PLATFORM_REFUSED;
}

static gboolean
libvirt_checks_virtio_options(const IcDomainDevice *d)
{
  /* virDomainCheckVirtioOptionsAreAbsent runs for these four kinds */
  return d->kind == IC_DEV_DISK || d->kind == IC_DEV_INTERFACE || d->kind == IC_DEV_VIDEO || d->kind == IC_DEV_VSOCK;
}

static void
lint_device_options(Lint *l, const IcDomainDevice *d, gboolean have_viommu, gboolean bounce)
{
  const IcDomainDef *def = l->def;
  const IcVirtioOptions *o = &d->opts;
  if (o->driver == NULL)
    return;
  const char *kind = ic_device_kind_to_string(d->kind);
  if (!d->virtio) {
    struct { IcTristate v; const char *msg; } opt[] = {
      {o->iommu, "iommu driver option is only supported for virtio devices"},
      {o->ats, "ats driver option is only supported for virtio devices"},
      {o->packed, "packed driver option is only supported for virtio devices"},
      {o->page_per_vq, "page_per_vq option is only supported for virtio devices"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(opt); i++) {
      if (opt[i].v == IC_TRI_ABSENT)
        continue;
      if (libvirt_checks_virtio_options(d)) {
        report(l, "LV014", d->line, "remove the attribute, or make the device virtio", "%s", opt[i].msg);
        break; /* libvirt stops at the first */
      } else if (d->takes_virtio_options || d->kind == IC_DEV_CONTROLLER) {
        report(l, "LV020", d->line, "remove the attribute: libvirt ignores it on this device",
               "%s <driver> option on a non-virtio %s is ignored", i == 3 ? "page_per_vq" : "virtio", kind);
        break;
      }
    }
    return;
  }
  IcIommuPlatformWhy why;
  if (o->iommu == IC_TRI_ON && ic_domain_iommu_platform_check(def, d, &why) != IC_IOMMU_PLATFORM_OK)
    report(l, why.code, d->line, why.hint, "%s", why.message);
  if (def->kind != IC_DOMAIN_DOC_DOMAIN)
    return;
  if (o->iommu == IC_TRI_ON && !have_viommu && !bounce && !ic_domain_def_is_s390(def))
    report(l, "IC001", d->line,
           "add a vIOMMU (iommuctl domain viommu), or <launchSecurity> for a confidential guest; "
           "without either, iommu='on' only slows the device down",
           "%s has iommu='on' but the guest has no vIOMMU and no launchSecurity", kind);
  if (o->iommu == IC_TRI_OFF && bounce)
    report(l, "IC003", d->line, "remove iommu='off' (or run iommuctl domain protect --force)",
           "%s has iommu='off' but the guest needs bounce buffers (%s): its DMA will fail", kind,
           def->launch_security != NULL ? def->launch_security : "s390 Secure Execution");
}

static void
lint_devices(Lint *l)
{
  const IcDomainDef *def = l->def;
  gboolean have_viommu = def->iommus->len > 0;
  gboolean bounce = ic_domain_def_needs_bounce_buffers(def);
  if (!bounce && ic_domain_def_is_s390(def)) {
    /* A Secure Execution image boots without launchSecurity; when the file
     * already carries iommu='on' on virtio devices it was prepared for one. */
    for (guint i = 0; i < def->virtio_devices->len && !bounce; i++)
      bounce = ((const IcDomainDevice *) g_ptr_array_index(def->virtio_devices, i))->opts.iommu == IC_TRI_ON;
  }
  for (guint i = 0; i < def->devices->len; i++)
    lint_device_options(l, g_ptr_array_index(def->devices, i), have_viommu, bounce);
}

/* libvirt's virDomainDefHostdevValidate: the same host device twice */
static void
lint_hostdevs(Lint *l)
{
  const IcDomainDef *def = l->def;
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = g_ptr_array_index(def->hostdevs, i);
    if (h->iommufd != IC_TRI_ABSENT && !libvirt_has(l, 12001000))
      report_needs_libvirt(l, h->base.line, "<driver iommufd=''/> on a hostdev", 12001000,
                           "remove iommufd (the legacy VFIO container is used), or lint for libvirt >= 12.1");
    if (!h->has_source_pci || h->source_pci_partial)
      continue;
    for (guint j = 0; j < i; j++) {
      const IcDomainHostdev *o = g_ptr_array_index(def->hostdevs, j);
      if (o->has_source_pci && !o->source_pci_partial && ic_pci_addr_equal(&o->source_pci, &h->source_pci)) {
        char buf[IC_PCI_ADDR_STRLEN];
        g_autofree char *hint = g_strdup_printf("remove one of the two hostdevs of %s (the first is on line %d)",
                                                ic_pci_addr_format(&h->source_pci, buf), o->base.line);
        report(l, "LV021", h->base.line, hint, "Hostdev already exists in the domain configuration");
        break;
      }
    }
  }
}

static gint
finding_cmp(gconstpointer a, gconstpointer b)
{
  const IcLintFinding *x = *(IcLintFinding *const *) a, *y = *(IcLintFinding *const *) b;
  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  return strcmp(x->code, y->code);
}

GPtrArray *
ic_domain_lint(const IcDomainDoc *doc, const IcLintOptions *opts)
{
  Lint l = {.doc = doc, .def = ic_domain_doc_def(doc), .opts = opts,
            .libvirt = opts != NULL && opts->libvirt_version != 0 ? opts->libvirt_version : LIBVIRT_BASELINE,
            .out = g_ptr_array_new_with_free_func((GDestroyNotify) ic_lint_finding_free)};
  lint_iommus(&l);
  lint_hostdevs(&l);
  if (l.def->kind == IC_DOMAIN_DOC_DOMAIN)
    lint_features(&l);
  lint_devices(&l);
  g_ptr_array_sort(l.out, finding_cmp);
  return l.out;
}

/* ---- which libvirt ----------------------------------------------------------------- */

gboolean
ic_libvirt_version_parse(const char *text, guint *out)
{
  guint64 v;
  if (!ic_version_parse(text, &v) || v > G_MAXUINT)
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

/* libvirt.so.0.9000.0 is libvirt 9.0.0: libvirt's soname minor is
 * MAJOR*1000+MINOR and the micro follows (see libvirt's meson.build). */
static guint
version_from_soname(const char *name)
{
  const char *prefix = "libvirt.so.0.";
  if (!g_str_has_prefix(name, prefix))
    return 0;
  guint64 mm, micro;
  const char *rest = name + strlen(prefix);
  const char *dot = strchr(rest, '.');
  if (dot == NULL)
    return 0;
  g_autofree char *a = g_strndup(rest, (gsize) (dot - rest));
  if (!g_ascii_string_to_unsigned(a, 10, 1000, 999999, &mm, NULL) ||
      !g_ascii_string_to_unsigned(dot + 1, 10, 0, 999, &micro, NULL))
    return 0;
  return (guint) (mm / 1000 * 1000000 + mm % 1000 * 1000 + micro);
}

static guint
version_from_pc(const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return 0;
  g_auto(GStrv) lines = g_strsplit(text, "\n", 0);
  guint v = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix(lines[i], "Version:") && ic_libvirt_version_parse(g_strstrip(lines[i] + 8), &v))
      return v;
  return 0;
}

guint
ic_libvirt_version_installed(const char *root)
{
  static const char *const libdirs[] = {
    "usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu", "usr/lib/s390x-linux-gnu",
    "usr/lib/powerpc64le-linux-gnu", "usr/lib64", "usr/lib", "usr/local/lib64", "usr/local/lib",
  };
  const char *r = root != NULL ? root : "/";
  guint best = 0;
  for (guint i = 0; i < G_N_ELEMENTS(libdirs); i++) {
    g_autofree char *dir = g_build_filename(r, libdirs[i], NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL)
      best = MAX(best, version_from_soname(name));
    if (best == 0) {
      g_autofree char *pc = g_build_filename(dir, "pkgconfig", "libvirt.pc", NULL);
      best = version_from_pc(pc);
    }
    if (best != 0)
      return best;
  }
  return 0;
}
