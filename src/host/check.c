/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host readiness check in the manner of virt-host-validate: one line per
 * item, PASS/WARN/FAIL, and for every WARN/FAIL the concrete fix. */
#include "host/host-private.h"

#include <string.h>

const char *
ic_check_status_to_string(IcCheckStatus s)
{
  switch (s) {
  case IC_CHECK_PASS: return "PASS";
  case IC_CHECK_WARN: return "WARN";
  case IC_CHECK_FAIL: return "FAIL";
  case IC_CHECK_INFO: return "INFO";
  }
  return "?";
}

static void
item_free(gpointer p)
{
  IcCheckItem *i = p;
  g_free(i->id);
  g_free(i->title);
  g_free(i->detail);
  g_free(i->fix);
  g_free(i);
}

static void
add(GPtrArray *items, const char *id, const char *title, IcCheckStatus st, char *detail, char *fix)
{
  IcCheckItem *i = g_new0(IcCheckItem, 1);
  i->id = g_strdup(id);
  i->title = g_strdup(title);
  i->status = st;
  i->detail = detail;
  i->fix = fix;
  g_ptr_array_add(items, i);
}

static gboolean
is_off(const char *v)
{
  return v != NULL && (g_str_has_prefix(v, "off") || strcmp(v, "0") == 0);
}

static const char *
vendor_hint(const IcHostInfo *h)
{
  if (h->acpi_ivrs || g_strcmp0(h->iommu_vendor, "amd") == 0)
    return "amd_iommu=on iommu=pt";
  if (h->acpi_iort || g_str_has_prefix(h->arch ? h->arch : "", "aarch64"))
    return "iommu.passthrough=0 (and check that the SMMU is described in IORT/device tree)";
  return "intel_iommu=on iommu=pt";
}

GPtrArray *
ic_host_check(const IcInventory *inv)
{
  const IcHostInfo *h = &inv->host;
  GPtrArray *items = g_ptr_array_new_with_free_func(item_free);

  gboolean firmware = h->acpi_dmar || h->acpi_ivrs || h->acpi_iort || h->iommu_units->len > 0;
  add(items, "firmware-iommu", "hardware IOMMU described by the firmware",
      firmware ? IC_CHECK_PASS : IC_CHECK_FAIL,
      firmware ? g_strdup_printf("%s%s%s%s", h->acpi_dmar ? "ACPI DMAR " : "", h->acpi_ivrs ? "ACPI IVRS " : "",
                                 h->acpi_iort ? "ACPI IORT " : "",
                                 h->iommu_units->len ? "IOMMU units in /sys/class/iommu" : "")
               : g_strdup("no ACPI DMAR, IVRS or IORT table and no IOMMU unit"),
      firmware ? NULL : g_strdup("enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware setup"));

  if (h->iommu_enabled) {
    add(items, "iommu-enabled", "IOMMU enabled in the kernel", IC_CHECK_PASS,
        g_strdup_printf("%u IOMMU groups, vendor %s", h->n_groups, h->iommu_vendor ? h->iommu_vendor : "unknown"),
        NULL);
  } else {
    char *fix;
    if (is_off(h->cmdline_intel_iommu))
      fix = g_strdup_printf("remove intel_iommu=%s from the kernel command line and add intel_iommu=on",
                            h->cmdline_intel_iommu);
    else if (is_off(h->cmdline_amd_iommu))
      fix = g_strdup_printf("remove amd_iommu=%s from the kernel command line", h->cmdline_amd_iommu);
    else
      fix = g_strdup_printf("add %s to the kernel command line (e.g. GRUB_CMDLINE_LINUX in /etc/default/grub, "
                            "then update-grub and reboot)", vendor_hint(h));
    add(items, "iommu-enabled", "IOMMU enabled in the kernel", IC_CHECK_FAIL,
        g_strdup("/sys/kernel/iommu_groups is empty: the IOMMU appears to be disabled in the kernel"), fix);
  }

  if (h->interrupt_remapping == 1)
    add(items, "interrupt-remapping", "interrupt remapping", IC_CHECK_PASS, g_strdup("supported and not disabled"), NULL);
  else if (h->interrupt_remapping == 0 && g_strcmp0(h->cmdline_allow_unsafe_interrupts, "1") == 0)
    add(items, "interrupt-remapping", "interrupt remapping", IC_CHECK_WARN,
        g_strdup("off; vfio_iommu_type1.allow_unsafe_interrupts=1 lets guests forge MSIs"),
        g_strdup("enable interrupt remapping (x2APIC/IR in the firmware, remove intremap=off) and drop "
                 "allow_unsafe_interrupts"));
  else if (h->interrupt_remapping == 0)
    add(items, "interrupt-remapping", "interrupt remapping", IC_CHECK_FAIL,
        g_strdup("off: vfio_iommu_type1 refuses containers without it"),
        g_strdup("remove intremap=off from the kernel command line / enable interrupt remapping in the firmware "
                 "(unsafe alternative: vfio_iommu_type1.allow_unsafe_interrupts=1)"));
  else if (h->iommu_enabled)
    add(items, "interrupt-remapping", "interrupt remapping", IC_CHECK_WARN,
        g_strdup("cannot tell from this IOMMU's registers"),
        g_strdup("check dmesg for 'Enabled IRQ remapping' / 'Interrupt remapping enabled'"));

  gboolean mods = h->vfio_available && h->vfio_pci_available;
  add(items, "vfio-modules", "vfio and vfio-pci available for the running kernel",
      mods ? IC_CHECK_PASS : IC_CHECK_FAIL,
      g_strdup_printf("kernel %s: vfio %s, vfio-pci %s", h->kernel_release,
                      h->vfio_builtin ? "built in" : h->vfio_available ? "module" : "missing",
                      h->vfio_pci_builtin ? "built in" : h->vfio_pci_available ? "module" : "missing"),
      mods ? NULL : g_strdup_printf("install the modules of kernel %s (e.g. apt-get install linux-image-%s) or "
                                    "build with CONFIG_VFIO_PCI", h->kernel_release, h->kernel_release));

  add(items, "dev-vfio", "/dev/vfio/vfio present", h->dev_vfio ? IC_CHECK_PASS : IC_CHECK_WARN,
      g_strdup(h->dev_vfio ? "present" : "absent (vfio not loaded)"),
      h->dev_vfio ? NULL : g_strdup("modprobe vfio-pci (or list it in /etc/modules-load.d/vfio.conf)"));

  add(items, "iommufd", "iommufd (/dev/iommu)", h->dev_iommu ? IC_CHECK_PASS : IC_CHECK_INFO,
      g_strdup(h->dev_iommu ? "present" : "absent; the legacy vfio container is used"),
      h->dev_iommu ? NULL : g_strdup("modprobe iommufd (Linux >= 6.2) to let QEMU use iommufd"));

  if (h->cmdline_pcie_acs_override != NULL)
    add(items, "acs-override", "no pcie_acs_override", IC_CHECK_WARN,
        g_strdup_printf("pcie_acs_override=%s splits groups the hardware does not isolate",
                        h->cmdline_pcie_acs_override),
        g_strdup("remove pcie_acs_override from the kernel command line, or accept that a guest can reach "
                 "peer devices by DMA"));

  if (h->iommu_enabled) {
    add(items, "assignable-groups", "at least one assignable IOMMU group",
        h->n_assignable_groups > 0 ? IC_CHECK_PASS : IC_CHECK_WARN,
        g_strdup_printf("%u of %u groups assignable as they are", h->n_assignable_groups, h->n_groups),
        h->n_assignable_groups > 0 ? NULL
                                   : g_strdup("detach a group's devices from their host drivers (iommuctl plan/detach)"));
    if (h->default_domain_type != NULL)
      add(items, "default-domain", "default DMA domain type", IC_CHECK_INFO,
          g_strdup_printf("%s%s", h->default_domain_type,
                          strcmp(h->default_domain_type, "identity") == 0 ? " (iommu=pt: host DMA bypasses translation)" : ""),
          NULL);
  }

  if (h->memlock_known) {
    gboolean unlimited = h->memlock_soft == G_MAXUINT64;
    g_autofree char *hard = h->memlock_hard == G_MAXUINT64
                              ? g_strdup("unlimited")
                              : g_strdup_printf("%" G_GUINT64_FORMAT " KiB", h->memlock_hard / 1024);
    add(items, "memlock", "locked-memory limit of this shell", IC_CHECK_INFO,
        unlimited ? g_strdup("unlimited")
                  : g_strdup_printf("%" G_GUINT64_FORMAT " KiB soft, %s hard", h->memlock_soft / 1024, hard),
        unlimited ? NULL : g_strdup("libvirt raises it per guest; for QEMU without libvirt use ulimit -l / "
                                    "LimitMEMLOCK= to cover guest RAM"));
  }
  return items;
}
