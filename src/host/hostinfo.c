/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host-level facts: firmware tables, IOMMU units and their registers,
 * interrupt remapping, address width, vfio availability, command line,
 * memlock limit. */
#include "host/host-private.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

void
ic_host_info_clear(IcHostInfo *h)
{
  g_free(h->kernel_release);
  g_free(h->arch);
  g_free(h->cmdline);
  g_free(h->iommu_vendor);
  if (h->iommu_units)
    g_ptr_array_unref(h->iommu_units);
  g_free(h->default_domain_type);
  g_free(h->cmdline_intel_iommu);
  g_free(h->cmdline_amd_iommu);
  g_free(h->cmdline_iommu);
  g_free(h->cmdline_pcie_acs_override);
  g_free(h->cmdline_allow_unsafe_interrupts);
  g_free(h->cmdline_intremap);
  if (h->notes)
    g_ptr_array_unref(h->notes);
  memset(h, 0, sizeof *h);
}

static gboolean
sys_exists(IcContext *ctx, const char *abs)
{
  g_autofree char *p = ic_context_sys_path(ctx, abs);
  return access(p, F_OK) == 0;
}

/* The last value of key=... on the command line (the kernel's rule). */
static char *
cmdline_value(const char *cmdline, const char *key)
{
  g_auto(GStrv) words = g_strsplit_set(cmdline, " \t", -1);
  char *found = NULL;
  gsize klen = strlen(key);
  for (guint i = 0; words[i]; i++) {
    if (strncmp(words[i], key, klen) == 0 && (words[i][klen] == '=' || words[i][klen] == '\0')) {
      g_free(found);
      found = g_strdup(words[i][klen] == '=' ? words[i] + klen + 1 : "");
    }
  }
  return found;
}

static void
load_cmdline(IcInventory *inv)
{
  IcHostInfo *h = &inv->host;
  g_autofree char *path = ic_context_proc_path(inv->ctx, "/proc/cmdline");
  h->cmdline = ic_host_read_small(path);
  if (h->cmdline == NULL) {
    ic_host_note(h, "cannot read %s", path);
    return;
  }
  h->cmdline_intel_iommu = cmdline_value(h->cmdline, "intel_iommu");
  h->cmdline_amd_iommu = cmdline_value(h->cmdline, "amd_iommu");
  h->cmdline_iommu = cmdline_value(h->cmdline, "iommu");
  h->cmdline_pcie_acs_override = cmdline_value(h->cmdline, "pcie_acs_override");
  h->cmdline_allow_unsafe_interrupts = cmdline_value(h->cmdline, "vfio_iommu_type1.allow_unsafe_interrupts");
  h->cmdline_intremap = cmdline_value(h->cmdline, "intremap");
}

static guint64
read_hex_register(const char *path, gboolean *ok)
{
  char buf[64];
  guint64 v = 0;
  *ok = ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf) > 0 &&
        ic_parse_uint64(buf, 16, G_MAXUINT64, &v);
  return v;
}

static gint
compare_str_ptr(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

/* /sys/class/iommu/<unit>/{intel-iommu,amd-iommu}/...: vendor, interrupt
 * remapping and the input address width. */
static void
load_iommu_units(IcInventory *inv)
{
  IcHostInfo *h = &inv->host;
  g_autofree char *dir = ic_context_sys_path(inv->ctx, "/sys/class/iommu");
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return;
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL)
    g_ptr_array_add(h->iommu_units, g_strdup(name));
  g_ptr_array_sort(h->iommu_units, compare_str_ptr);
  for (guint i = 0; i < h->iommu_units->len; i++) {
    const char *unit = g_ptr_array_index(h->iommu_units, i);
    g_autofree char *intel = g_strdup_printf("%s/%s/intel-iommu", dir, unit);
    g_autofree char *amd = g_strdup_printf("%s/%s/amd-iommu", dir, unit);
    gboolean ok;
    if (g_file_test(intel, G_FILE_TEST_IS_DIR)) {
      g_free(h->iommu_vendor);
      h->iommu_vendor = g_strdup("intel");
      g_autofree char *cap_path = g_strdup_printf("%s/cap", intel);
      g_autofree char *ecap_path = g_strdup_printf("%s/ecap", intel);
      guint64 cap = read_hex_register(cap_path, &ok);
      if (ok) {
        /* CAP.MGAW (bits 21:16) is the maximum guest address width - 1 */
        guint mgaw = (guint) ((cap >> 16) & 0x3f) + 1;
        if (h->address_width == 0 || mgaw < h->address_width)
          h->address_width = mgaw;
        h->address_width_source = "intel cap MGAW";
      } else {
        ic_host_note(h, "cannot read or parse %s", cap_path);
      }
      guint64 ecap = read_hex_register(ecap_path, &ok);
      if (ok) {
        /* ECAP.IR (bit 3): the unit can remap interrupts */
        int ir = (ecap & (1u << 3)) ? 1 : 0;
        h->interrupt_remapping = (h->interrupt_remapping == -1 || h->interrupt_remapping == 1) ? ir : 0;
      } else {
        ic_host_note(h, "cannot read or parse %s", ecap_path);
      }
    } else if (g_file_test(amd, G_FILE_TEST_IS_DIR)) {
      g_free(h->iommu_vendor);
      h->iommu_vendor = g_strdup("amd");
      g_autofree char *feat_path = g_strdup_printf("%s/features", amd);
      guint64 efr = read_hex_register(feat_path, &ok);
      if (ok) {
        /* EFR.HATS (bits 11:10): host page-table levels 4/5/6 -> 48/57/64 bits */
        static const guint widths[] = {48, 57, 64, 0};
        guint w = widths[(efr >> 10) & 3];
        if (w && (h->address_width == 0 || w < h->address_width)) {
          h->address_width = w;
          h->address_width_source = "amd features HATS";
        }
      }
      /* AMD-Vi remaps interrupts whenever the IOMMU is on (IVHD) */
      if (h->interrupt_remapping == -1)
        h->interrupt_remapping = 1;
    } else if (h->iommu_vendor == NULL) {
      if (g_str_has_prefix(unit, "smmu3."))
        h->iommu_vendor = g_strdup("arm-smmu-v3");
      else if (g_str_has_prefix(unit, "smmu."))
        h->iommu_vendor = g_strdup("arm-smmu");
      else if (strchr(unit, ':') != NULL)
        h->iommu_vendor = g_strdup("virtio"); /* virtio-iommu units are named by PCI address */
      else
        h->iommu_vendor = g_strdup(unit);
    }
  }
  const char *intremap = h->cmdline_intremap;
  if (intremap != NULL && (strcmp(intremap, "off") == 0 || strcmp(intremap, "0") == 0 ||
                           strcmp(intremap, "no") == 0))
    h->interrupt_remapping = 0;
}

/* modules.dep lists "kernel/drivers/vfio/pci/vfio-pci.ko[.xz]: deps";
 * modules.builtin lists "kernel/drivers/vfio/pci/vfio-pci.ko". */
static void
module_lookup(const char *text, const char *base, gboolean *found)
{
  if (text == NULL)
    return;
  g_autofree char *needle1 = g_strdup_printf("/%s.ko", base);
  g_autofree char *alt = g_strdup(base);
  g_strdelimit(alt, "-", '_');
  g_autofree char *needle2 = g_strdup_printf("/%s.ko", alt);
  if (strstr(text, needle1) || strstr(text, needle2))
    *found = TRUE;
}

/* <root>/lib/modules/<release>/NAME, or NULL; its path in *path. */
static char *
read_modules_file(IcInventory *inv, const char *name, gsize max_size, char **path)
{
  *path = ic_context_modules_path(inv->ctx, name);
  char *text = NULL;
  (void) ic_read_file(*path, max_size, &text, NULL, NULL);
  return text;
}

static void
load_modules(IcInventory *inv)
{
  IcHostInfo *h = &inv->host;
  g_autofree char *bi_path = NULL;
  g_autofree char *builtin = read_modules_file(inv, "modules.builtin", 16 << 20, &bi_path);
  module_lookup(builtin, "vfio", &h->vfio_builtin);
  module_lookup(builtin, "vfio-pci", &h->vfio_pci_builtin);
  /* a loaded module is available even without modules.dep (initramfs-only
   * systems, the test guests) */
  h->vfio_available = h->vfio_builtin || sys_exists(inv->ctx, "/sys/module/vfio");
  h->vfio_pci_available = h->vfio_pci_builtin || sys_exists(inv->ctx, "/sys/module/vfio_pci");
  if (h->vfio_available && h->vfio_pci_available)
    return; /* modules.dep (half a megabyte) could only say the same */
  g_autofree char *dep_path = NULL;
  g_autofree char *dep = read_modules_file(inv, "modules.dep", 64 << 20, &dep_path);
  module_lookup(dep, "vfio", &h->vfio_available);
  module_lookup(dep, "vfio-pci", &h->vfio_pci_available);
  if (dep == NULL)
    ic_host_note(h, "cannot read %s; vfio module availability unknown", dep_path);
}

static gboolean
parse_limit(const char *word, guint64 *out)
{
  if (strcmp(word, "unlimited") == 0) {
    *out = G_MAXUINT64;
    return TRUE;
  }
  return ic_parse_uint64(word, 10, G_MAXUINT64, out);
}

static void
load_memlock(IcInventory *inv)
{
  IcHostInfo *h = &inv->host;
  g_autofree char *path = ic_context_proc_path(inv->ctx, "/proc/self/limits");
  g_autofree char *text = NULL;
  if (!ic_read_file(path, 1 << 16, &text, NULL, NULL)) {
    ic_host_note(h, "cannot read %s; memlock limit unknown", path);
    return;
  }
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (!g_str_has_prefix(lines[i], "Max locked memory"))
      continue;
    g_auto(GStrv) w = g_strsplit_set(lines[i] + strlen("Max locked memory"), " \t", -1);
    const char *vals[2] = {NULL, NULL};
    guint k = 0;
    for (guint j = 0; w[j] && k < 2; j++)
      if (*w[j])
        vals[k++] = w[j];
    if (k == 2 && parse_limit(vals[0], &h->memlock_soft) && parse_limit(vals[1], &h->memlock_hard))
      h->memlock_known = TRUE;
    else
      ic_host_note(h, "%s: cannot parse the \"Max locked memory\" line", path);
  }
}

static void
load_arch(IcInventory *inv)
{
  IcHostInfo *h = &inv->host;
  g_autofree char *path = ic_context_proc_path(inv->ctx, "/proc/sys/kernel/arch");
  h->arch = ic_host_read_small(path);
  if (h->arch == NULL || *h->arch == '\0') {
    g_free(h->arch);
    if (!ic_context_is_real_host(inv->ctx) && (h->acpi_dmar || h->acpi_ivrs))
      h->arch = g_strdup("x86_64");
    else if (!ic_context_is_real_host(inv->ctx) && h->acpi_iort)
      h->arch = g_strdup("aarch64");
    else {
      struct utsname u;
      h->arch = g_strdup(uname(&u) == 0 ? u.machine : "unknown");
    }
  }
}

void
ic_host_info_load(IcInventory *inv)
{
  IcHostInfo *h = &inv->host;
  IcContext *ctx = inv->ctx;
  h->interrupt_remapping = -1;
  h->kernel_release = g_strdup(ic_context_kernel_release(ctx));
  h->acpi_dmar = sys_exists(ctx, "/sys/firmware/acpi/tables/DMAR");
  h->acpi_ivrs = sys_exists(ctx, "/sys/firmware/acpi/tables/IVRS");
  h->acpi_iort = sys_exists(ctx, "/sys/firmware/acpi/tables/IORT");
  h->dev_vfio = sys_exists(ctx, "/dev/vfio/vfio");
  h->dev_iommu = sys_exists(ctx, "/dev/iommu");
  load_cmdline(inv);
  load_arch(inv);
  load_iommu_units(inv);
  load_modules(inv);
  load_memlock(inv);
  if (h->iommu_vendor == NULL) {
    if (h->acpi_dmar)
      h->iommu_vendor = g_strdup("intel");
    else if (h->acpi_ivrs)
      h->iommu_vendor = g_strdup("amd");
  }
}
