/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vIOMMU device, the checks libvirt and QEMU make on it (with their own
 * texts), and the per-device virtio IOMMU options. */
#include "qemu-private.h"

static gboolean
need_prop(QemuBuild *b, xmlNodePtr node, IcTristate t, const char *attr, const char *type, const char *prop)
{
  if (t == IC_TRI_ABSENT)
    return TRUE;
  if (t == IC_TRI_INVALID)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "iommu driver attribute %s must be on or off", attr);
  if (!ic_qemu_caps_has_device_prop(b->caps, type, prop)) {
    g_autofree char *what = g_strdup_printf("<driver %s='%s'/>", attr, t == IC_TRI_ON ? "on" : "off");
    return qb_fail_caps(b, node, what, type, prop);
  }
  return TRUE;
}

static gboolean
any_attr(const IcDomainIommu *io)
{
  return io->intremap || io->caching_mode || io->eim || io->iotlb || io->dma_translation ||
         io->passthrough || io->xtsup || io->aw_bits || io->aw_bits_invalid;
}

static gboolean
validate_intel(QemuBuild *b, const IcDomainIommu *io, xmlNodePtr node)
{
  if (!b->q35)
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "IOMMU device: 'intel' is only supported with Q35 machines");
  if (!ic_qemu_caps_has_device(b->caps, "intel-iommu"))
    return qb_fail_caps(b, node, "IOMMU model 'intel'", "intel-iommu", NULL);
  if (io->base.address.type != IC_ADDR_NONE)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "iommu model 'intel' can't have address");
  if (io->passthrough || io->xtsup)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "iommu model 'intel' doesn't support passthrough or xtsup");
  if (io->aw_bits_invalid || (io->aw_bits != 0 && io->aw_bits != 39 && io->aw_bits != 48))
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "aw_bits must be 39 or 48 (QEMU: Supported values for aw-bits are: 39, 48)");
  return need_prop(b, node, io->intremap, "intremap", "intel-iommu", "intremap") &&
         need_prop(b, node, io->caching_mode, "caching_mode", "intel-iommu", "caching-mode") &&
         need_prop(b, node, io->eim, "eim", "intel-iommu", "eim") &&
         need_prop(b, node, io->iotlb, "iotlb", "intel-iommu", "device-iotlb") &&
         need_prop(b, node, io->aw_bits ? IC_TRI_ON : IC_TRI_ABSENT, "aw_bits", "intel-iommu", "aw-bits") &&
         need_prop(b, node, io->dma_translation, "dma_translation", "intel-iommu", "dma-translation");
}

static gboolean
validate_amd(QemuBuild *b, const IcDomainIommu *io, xmlNodePtr node)
{
  if (!b->q35)
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "IOMMU device: 'amd' is only supported with Q35 machines");
  if (!ic_qemu_caps_has_device(b->caps, "amd-iommu"))
    return qb_fail_caps(b, node, "IOMMU model 'amd'", "amd-iommu", NULL);
  if (io->caching_mode || io->eim || io->aw_bits || io->dma_translation)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "iommu model 'amd' doesn't support some additional attributes");
  if (io->base.address.type != IC_ADDR_NONE && !ic_qemu_caps_has_device_prop(b->caps, "amd-iommu", "pci-id"))
    return qb_fail_caps(b, node, "an <address> for the AMD IOMMU's PCI function", "amd-iommu", "pci-id");
  return need_prop(b, node, io->intremap, "intremap", "amd-iommu", "intremap") &&
         need_prop(b, node, io->iotlb, "iotlb", "amd-iommu", "device-iotlb") &&
         need_prop(b, node, io->passthrough, "passthrough", "amd-iommu", "pt") &&
         need_prop(b, node, io->xtsup, "xtsup", "amd-iommu", "xtsup");
}

static gboolean
validate_virtio(QemuBuild *b, const IcDomainIommu *io, xmlNodePtr node)
{
  /* refused rather than dropped: nothing in the XML is lost silently */
  if (io->granule != NULL)
    return qb_fail(b, io->granule, IC_ERROR_UNSUPPORTED, "<granule/> of the virtio-iommu is not expressed by "
                   "iommuctl's command line; libvirt >= 12.1 generates it");
  if (!b->q35 && !b->virt)
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "IOMMU device: 'virtio' is only supported with Q35 and ARM Virt machines");
  if (any_attr(io))
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "iommu model 'virtio' doesn't support additional attributes");
  if (!ic_qemu_caps_has_device(b->caps, "virtio-iommu-pci") ||
      (b->x86 && ic_qemu_caps_version_code(b->caps) < 6002000))
    return qb_fail_caps(b, node, b->x86 ? "virtio-iommu on x86 (ACPI VIOT)" : "IOMMU model 'virtio'", "virtio-iommu-pci", NULL);
  if (b->x86 && !b->def->acpi)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "IOMMU device: 'virtio' requires ACPI");
  if (io->base.address.type == IC_ADDR_PCI && io->base.address.pci.bus != 0)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "virtio-iommu must sit on bus 0 (QEMU: virtio-iommu-pci must be plugged on the root bus)");
  if (io->base.address.type != IC_ADDR_PCI && io->base.address.type != IC_ADDR_NONE)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "IOMMU device: 'virtio' needs a PCI address");
  return TRUE;
}

static gboolean
validate_smmuv3(QemuBuild *b, const IcDomainIommu *io, xmlNodePtr node)
{
  if (!b->virt)
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "IOMMU device: 'smmuv3' is only supported with ARM Virt machines");
  if (any_attr(io))
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "iommu model 'smmuv3' doesn't support additional attributes");
  /* not a QEMU limit: the builtin command line has no per-host-bridge
   * arm-smmuv3 device (libvirt >= 11.10 generates it) */
  if (io->pci_bus >= 0)
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "<driver pciBus=''/> (one SMMUv3 per PCI host bridge) is not "
                   "expressed by iommuctl's command line; libvirt >= 11.10 generates it");
  if (io->base.address.type != IC_ADDR_NONE)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "iommu model 'smmuv3' can't have address");
  if (!ic_qemu_caps_has_machine_prop(b->caps, b->machine_full, "iommu"))
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "machine %s of QEMU %s has no 'iommu' property (smmuv3)",
                   b->machine_full, ic_qemu_caps_version(b->caps));
  return TRUE;
}

gboolean
qb_viommu_validate(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  if (def->iommus->len == 0)
    return TRUE;
  if (def->iommus->len > 1) {
    const IcDomainIommu *second = def->iommus->pdata[1];
    return qb_fail(b, second->base.node, IC_ERROR_INVALID_ARG,
                   "only a single IOMMU device is supported (QEMU: QEMU does not support multiple vIOMMUs for x86 yet.)");
  }
  const IcDomainIommu *io = def->iommus->pdata[0];
  xmlNodePtr node = io->base.node;
  b->viommu = io;
  if (io->intremap == IC_TRI_ON && g_strcmp0(def->ioapic_driver, "qemu") != 0)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "IOMMU interrupt remapping requires split I/O APIC (ioapic driver='qemu')");
  if (io->eim == IC_TRI_ON && io->intremap != IC_TRI_ON)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "IOMMU eim requires interrupt remapping to be enabled");
  switch (io->model) {
  case IC_VIOMMU_INTEL:
    if (!validate_intel(b, io, node))
      return FALSE;
    if (io->eim == IC_TRI_ON && b->tcg)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "eim='on' needs KVM (domain type='kvm'); under TCG QEMU 7.2 refuses: "
                     "eim=on requires accel=kvm,kernel-irqchip=split");
    return TRUE;
  case IC_VIOMMU_AMD:
    return validate_amd(b, io, node);
  case IC_VIOMMU_VIRTIO:
    return validate_virtio(b, io, node);
  case IC_VIOMMU_SMMUV3:
    return validate_smmuv3(b, io, node);
  default:
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "Invalid value for attribute 'model' in element 'iommu': '%s'",
                   io->base.model ? io->base.model : "");
  }
}

static void
set_onoff(JsonObject *o, const char *name, IcTristate t)
{
  if (t == IC_TRI_ON || t == IC_TRI_OFF)
    json_object_set_string_member(o, name, t == IC_TRI_ON ? "on" : "off");
}

static void
set_bool(JsonObject *o, const char *name, IcTristate t)
{
  if (t == IC_TRI_ON || t == IC_TRI_OFF)
    json_object_set_boolean_member(o, name, t == IC_TRI_ON);
}

static const char *
viommu_alias(const IcDomainIommu *io)
{
  return io->base.alias && g_str_has_prefix(io->base.alias, "ua-") ? io->base.alias : "iommu0";
}

gboolean
qb_build_viommu(QemuBuild *b)
{
  const IcDomainIommu *io = b->viommu;
  if (io == NULL || io->model == IC_VIOMMU_SMMUV3)
    return TRUE; /* smmuv3 is the machine's iommu= property */
  xmlNodePtr node = io->base.node;
  if (io->model == IC_VIOMMU_INTEL) {
    JsonObject *d = json_object_new();
    json_object_set_string_member(d, "driver", "intel-iommu");
    json_object_set_string_member(d, "id", viommu_alias(io));
    set_onoff(d, "intremap", io->intremap);
    set_bool(d, "caching-mode", io->caching_mode);
    set_onoff(d, "eim", io->eim);
    set_bool(d, "device-iotlb", io->iotlb);
    if (io->aw_bits)
      json_object_set_int_member(d, "aw-bits", io->aw_bits);
    set_bool(d, "dma-translation", io->dma_translation);
    ic_qemu_argv_add_json(b->argv, "-device", d);
    return TRUE;
  }
  if (io->model == IC_VIOMMU_VIRTIO) {
    JsonObject *d = json_object_new();
    json_object_set_string_member(d, "driver", "virtio-iommu");
    json_object_set_string_member(d, "id", viommu_alias(io));
    if (!qb_add_pci_address(b, d, &io->base.address, node, NULL)) {
      json_object_unref(d);
      return FALSE;
    }
    ic_qemu_argv_add_json(b->argv, "-device", d);
    return TRUE;
  }
  /* amd: QEMU >= 10.0 takes a user-placed AMDVI-PCI (pci-id); 7.2 creates
   * its own at the first free slot, which we must keep free. */
  gboolean pci_id = ic_qemu_caps_has_device_prop(b->caps, "amd-iommu", "pci-id");
  JsonObject *d = json_object_new();
  json_object_set_string_member(d, "driver", "amd-iommu");
  if (pci_id) {
    JsonObject *pci = json_object_new();
    json_object_set_string_member(pci, "driver", "AMDVI-PCI");
    json_object_set_string_member(pci, "id", viommu_alias(io));
    if (!qb_add_pci_address(b, pci, &io->base.address, node, NULL)) {
      json_object_unref(pci);
      json_object_unref(d);
      return FALSE;
    }
    ic_qemu_argv_add_json(b->argv, "-device", pci);
    json_object_set_string_member(d, "pci-id", viommu_alias(io));
  } else {
    json_object_set_string_member(d, "id", viommu_alias(io));
    qb_reserve_slot(b, 0, 1);
    qb_note(b, "IC-Q020", IC_QEMU_NOTE_INFO, node,
            "QEMU %s creates the AMD IOMMU's PCI function (AMDVI-PCI) itself at 00:01.0; "
            "libvirt >= 11.5 places it with pci-id, which needs QEMU >= 10.0", ic_qemu_caps_version(b->caps));
  }
  set_onoff(d, "intremap", io->intremap);
  set_bool(d, "device-iotlb", io->iotlb);
  set_bool(d, "pt", io->passthrough);
  set_bool(d, "xtsup", io->xtsup);
  if (b->def->hostdevs->len > 0 && ic_qemu_caps_has_device_prop(b->caps, "amd-iommu", "dma-remap"))
    json_object_set_boolean_member(d, "dma-remap", TRUE);
  ic_qemu_argv_add_json(b->argv, "-device", d);
  return TRUE;
}

/* Checks that need the devices: VFIO behind the vIOMMU. */
gboolean
qb_viommu_postcheck(QemuBuild *b)
{
  const IcDomainIommu *io = b->viommu;
  if (io == NULL || b->n_vfio == 0)
    return TRUE;
  const IcDomainHostdev *h = b->vfio_nodes->pdata[0];
  if (io->model == IC_VIOMMU_INTEL && io->caching_mode != IC_TRI_ON)
    return qb_fail(b, h->base.node, IC_ERROR_INVALID_ARG,
                   "a VFIO hostdev behind intel-iommu needs <driver caching_mode='on'/> on the <iommu> (line %d); "
                   "QEMU refuses: We need to set caching-mode=on for intel-iommu to enable device assignment with IOMMU protection.",
                   qb_line(b, io->base.node));
  if (io->model == IC_VIOMMU_AMD && !ic_qemu_caps_has_device_prop(b->caps, "amd-iommu", "dma-remap"))
    return qb_fail_caps(b, h->base.node, "VFIO device assignment behind an AMD vIOMMU", "amd-iommu", "dma-remap");
  return TRUE;
}

gboolean
qb_virtio_options(QemuBuild *b, JsonObject *dev, const IcDomainDevice *d, gboolean on_root_bus)
{
  const IcVirtioOptions *o = &d->opts;
  if (dev == NULL) {
    static const char *const names[] = {"iommu", "ats", "packed", "page_per_vq"};
    IcTristate v[] = {o->iommu, o->ats, o->packed, o->page_per_vq};
    for (guint i = 0; i < G_N_ELEMENTS(v); i++)
      if (v[i] != IC_TRI_ABSENT)
        return qb_fail(b, d->node, IC_ERROR_INVALID_ARG, "%s driver option is only supported for virtio devices", names[i]);
    return TRUE;
  }
  IcTristate t[] = {o->iommu, o->ats, o->packed, o->page_per_vq};
  for (guint i = 0; i < G_N_ELEMENTS(t); i++)
    if (t[i] == IC_TRI_INVALID)
      return qb_fail(b, d->node, IC_ERROR_INVALID_ARG, "virtio <driver> option must be on or off");
  set_bool(dev, "iommu_platform", o->iommu);
  set_bool(dev, "ats", o->ats);
  set_bool(dev, "packed", o->packed);
  set_bool(dev, "page-per-vq", o->page_per_vq);
  if (o->iommu == IC_TRI_ON) {
    const char *driver = json_object_get_string_member(dev, "driver");
    if (g_str_has_suffix(driver, "-transitional") && !g_str_has_suffix(driver, "non-transitional"))
      return qb_fail(b, d->node, IC_ERROR_INVALID_ARG,
                     "iommu='on' on a transitional virtio model; QEMU refuses: VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device");
    if (on_root_bus && !g_str_has_suffix(driver, "non-transitional")) {
      if (d->address.type != IC_ADDR_NONE)
        return qb_fail(b, d->node, IC_ERROR_INVALID_ARG,
                       "iommu='on' on a virtio device on the root bus, where QEMU makes it transitional; QEMU refuses: "
                       "VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device "
                       "(put it behind a pcie-root-port or use model virtio-non-transitional)");
      json_object_set_string_member(dev, "disable-legacy", "on");
    }
    if (b->viommu == NULL && !ic_domain_def_needs_bounce_buffers(b->def))
      qb_note(b, "IC-Q030", IC_QEMU_NOTE_INFO, d->node,
              "iommu='on' without a vIOMMU or launchSecurity: the guest uses the DMA API with no translation");
  }
  if (o->ats == IC_TRI_ON && b->viommu && b->viommu->model == IC_VIOMMU_INTEL && b->viommu->iotlb != IC_TRI_ON)
    qb_note(b, "IC-Q031", IC_QEMU_NOTE_WARNING, d->node,
            "ats='on' has no effect unless the intel IOMMU has iotlb='on' (device-iotlb)");
  return TRUE;
}
