/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scan of /sys/bus/pci/devices into an IcInventory.
 *
 * The scan is shaped by its syscall budget (<= 15 per function): per device
 * one readlink of the device link (parent chain and root bus come from the
 * target path), one open/read/close of `uevent` (driver, class, ids,
 * modalias), one of `config` (revision, header type, PCIe/PM/AF/ACS/SR-IOV
 * capabilities), one readlink of `iommu_group` and one read of
 * `driver_override`.  Everything else is read only where it matters
 * (boot_vga of display controllers, numa_node of root-bus functions) or on
 * request (IC_INVENTORY_DETAILS). */
#include "host/host-private.h"
#include "host/inventory-groups.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

void
ic_pci_device_note(IcPciDevice *dev, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_ptr_array_add(dev->notes, g_strdup_vprintf(fmt, ap));
  va_end(ap);
}

void
ic_host_note(IcHostInfo *host, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_ptr_array_add(host->notes, g_strdup_vprintf(fmt, ap));
  va_end(ap);
}

char *
ic_host_read_small(const char *path)
{
  char buf[4096];
  if (ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf) < 0)
    return NULL;
  return g_strdup(buf);
}

gboolean
ic_host_path_pci_owner(const char *path, IcPciAddr *out)
{
  g_auto(GStrv) parts = g_strsplit(path, "/", -1);
  gboolean found = FALSE;
  for (guint i = 0; parts[i]; i++) {
    IcPciAddr a;
    /* only full dddd:bb:ss.f components are functions; "pci0000:00" is a bus */
    if (strlen(parts[i]) >= 12 && strchr(parts[i], '.') && ic_pci_addr_parse(parts[i], &a, NULL)) {
      *out = a;
      found = TRUE;
    }
  }
  return found;
}

const char *
ic_pcie_type_to_string(IcPcieType type)
{
  switch (type) {
  case IC_PCIE_NONE: return "pci";
  case IC_PCIE_ENDPOINT: return "endpoint";
  case IC_PCIE_LEGACY_ENDPOINT: return "legacy-endpoint";
  case IC_PCIE_ROOT_PORT: return "root-port";
  case IC_PCIE_UPSTREAM_PORT: return "upstream-port";
  case IC_PCIE_DOWNSTREAM_PORT: return "downstream-port";
  case IC_PCIE_PCIE_TO_PCI_BRIDGE: return "pcie-to-pci-bridge";
  case IC_PCIE_PCI_TO_PCIE_BRIDGE: return "pci-to-pcie-bridge";
  case IC_PCIE_RC_INTEGRATED_ENDPOINT: return "rc-integrated-endpoint";
  case IC_PCIE_RC_EVENT_COLLECTOR: return "rc-event-collector";
  }
  return "unknown";
}

const char *
ic_header_type_to_string(IcHeaderType type)
{
  switch (type) {
  case IC_HEADER_ENDPOINT: return "endpoint";
  case IC_HEADER_BRIDGE: return "bridge";
  case IC_HEADER_CARDBUS: return "cardbus";
  case IC_HEADER_UNKNOWN: break;
  }
  return "unknown";
}

gboolean
ic_pci_device_is_bridge(const IcPciDevice *dev)
{
  if (dev->header_type == IC_HEADER_BRIDGE || dev->header_type == IC_HEADER_CARDBUS)
    return TRUE;
  if (dev->header_type == IC_HEADER_UNKNOWN)
    return (dev->class_code >> 8) == 0x0604 || (dev->class_code >> 8) == 0x0609;
  return FALSE;
}

static IcPciDevice *
device_new(const IcPciAddr *addr)
{
  IcPciDevice *dev = g_new0(IcPciDevice, 1);
  dev->addr = *addr;
  ic_pci_addr_format(addr, dev->name);
  dev->revision = -1;
  dev->header_type = IC_HEADER_UNKNOWN;
  dev->pcie_type = IC_PCIE_NONE;
  dev->iommu_group = -1;
  dev->numa_node = -1;
  dev->virtfns = g_ptr_array_new();
  dev->host_uses = g_ptr_array_new();
  dev->notes = g_ptr_array_new_with_free_func(g_free);
  return dev;
}

static void
host_use_free(gpointer p)
{
  IcHostUse *u = p;
  g_free(u->detail);
  g_free(u);
}

static void
device_free(gpointer p)
{
  IcPciDevice *dev = p;
  g_free(dev->root_bus);
  g_free(dev->modalias);
  g_free(dev->driver);
  g_free(dev->driver_override);
  g_strfreev(dev->reset_methods);
  g_ptr_array_unref(dev->virtfns);
  g_ptr_array_set_free_func(dev->host_uses, host_use_free);
  g_ptr_array_unref(dev->host_uses);
  g_ptr_array_unref(dev->notes);
  g_free(dev);
}

void
ic_pci_device_add_host_use(IcPciDevice *dev, IcHostUseFlags kind, const char *detail)
{
  for (guint i = 0; i < dev->host_uses->len; i++) {
    IcHostUse *u = g_ptr_array_index(dev->host_uses, i);
    if (u->kind == kind && g_strcmp0(u->detail, detail) == 0)
      return;
  }
  IcHostUse *u = g_new0(IcHostUse, 1);
  u->kind = kind;
  u->detail = g_strdup(detail);
  g_ptr_array_add(dev->host_uses, u);
  dev->host_use_flags |= kind;
  if (kind == IC_HOST_USE_ROOT_FS)
    dev->holds_root_fs = TRUE;
}

/* ---- per-device readers ------------------------------------------------- */

/* The device link target "../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0"
 * names the root bus and every bridge above the device. */
static void
read_device_link(IcPciDevice *dev, int dfd, const char *path, char **parent_name)
{
  char target[PATH_MAX];
  const char *name = strrchr(path, '/');
  ssize_t n = readlinkat(dfd, name ? name + 1 : path, target, sizeof target - 1);
  if (n < 0) {
    if (errno == EINVAL)
      ic_pci_device_note(dev, "%s is not a symbolic link; parent bridge unknown", path);
    else
      ic_pci_device_note(dev, "cannot read link %s: %s", path, g_strerror(errno));
    return;
  }
  target[n] = '\0';
  char *self = strrchr(target, '/');
  if (self == NULL) {
    ic_pci_device_note(dev, "link %s has an unexpected target %s", path, target);
    return;
  }
  *self = '\0';
  char *parent = strrchr(target, '/');
  parent = parent ? parent + 1 : target;
  if (g_str_has_prefix(parent, "pci")) {
    dev->root_bus = g_strdup(parent);
  } else if (strchr(parent, '.') != NULL) {
    *parent_name = g_strdup(parent);
    char *root = strstr(target, "/pci");
    if (root != NULL) {
      char *end = strchr(root + 1, '/');
      dev->root_bus = end ? g_strndup(root + 1, (gsize) (end - root - 1)) : g_strdup(root + 1);
    }
  } else {
    ic_pci_device_note(dev, "link %s has an unexpected target %s/%s", path, target, self + 1);
  }
}

static gboolean
parse_hex16_pair(const char *text, guint16 *a, guint16 *b)
{
  guint64 x, y;
  const char *colon = strchr(text, ':');
  if (colon == NULL || colon - text > 8)
    return FALSE;
  char first[9];
  memcpy(first, text, (gsize) (colon - text));
  first[colon - text] = '\0';
  if (!ic_parse_uint64(first, 16, 0xffff, &x) || !ic_parse_uint64(colon + 1, 16, 0xffff, &y))
    return FALSE;
  *a = (guint16) x;
  *b = (guint16) y;
  return TRUE;
}

/* Fallback when uevent is missing: the separate class/vendor/device files. */
/* A device directory: its name relative to the open devices directory
 * (all reads are openat() on that fd, which spares the kernel the walk of
 * the root prefix for every file) and that directory's path for notes. */
typedef struct {
  int fd;
  const char *base; /* <root>/sys/bus/pci/devices */
  const char *name; /* dddd:bb:ss.f */
  const char *rel;  /* directory relative to fd: name, or "." */
} DevDir;

/* "dddd:bb:ss.f/file" for notes, whatever directory the read was relative to */
static const char *
display_path(const DevDir *dir, const char *path, char *buf, gsize size)
{
  const char *file = strrchr(path, '/');
  g_snprintf(buf, size, "%s/%s", dir->name, file ? file + 1 : path);
  return buf;
}

static void
read_id_files(IcPciDevice *dev, const DevDir *dir)
{
  char path[PATH_MAX], buf[64];
  guint64 v;
  g_snprintf(path, sizeof path, "%s/class", dir->rel);
  if (ic_read_attr_stripped_at(dir->fd, path, buf, sizeof buf) > 0 && ic_parse_uint64(buf, 16, 0xffffff, &v))
    dev->class_code = (guint32) v;
  g_snprintf(path, sizeof path, "%s/vendor", dir->rel);
  if (ic_read_attr_stripped_at(dir->fd, path, buf, sizeof buf) > 0 && ic_parse_uint64(buf, 16, 0xffff, &v))
    dev->vendor_id = (guint16) v;
  g_snprintf(path, sizeof path, "%s/device", dir->rel);
  if (ic_read_attr_stripped_at(dir->fd, path, buf, sizeof buf) > 0 && ic_parse_uint64(buf, 16, 0xffff, &v))
    dev->device_id = (guint16) v;
}

static void
read_uevent(IcPciDevice *dev, const DevDir *dir)
{
  char path[PATH_MAX], disp[PATH_MAX], buf[1024];
  g_snprintf(path, sizeof path, "%s/uevent", dir->rel);
  gssize n = ic_read_attr_at(dir->fd, path, buf, sizeof buf);
  if (n < 0) {
    ic_pci_device_note(dev, "cannot read %s/%s: %s", dir->base, display_path(dir, path, disp, sizeof disp), g_strerror((int) -n));
    read_id_files(dev, dir);
    return;
  }
  gboolean have_class = FALSE, have_id = FALSE;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (eq == NULL)
      continue;
    *eq = '\0';
    const char *val = eq + 1;
    guint64 v;
    /* a key given twice: the last one wins, as in the kernel's own parsers */
    if (strcmp(line, "DRIVER") == 0 && *val) {
      g_free(dev->driver);
      dev->driver = g_strdup(val);
    } else if (strcmp(line, "PCI_CLASS") == 0) {
      if (ic_parse_uint64(val, 16, 0xffffff, &v)) {
        dev->class_code = (guint32) v;
        have_class = TRUE;
      } else {
        ic_pci_device_note(dev, "%s/%s: PCI_CLASS=%s is not a class code", dir->base, display_path(dir, path, disp, sizeof disp), val);
      }
    } else if (strcmp(line, "PCI_ID") == 0) {
      if (parse_hex16_pair(val, &dev->vendor_id, &dev->device_id))
        have_id = TRUE;
      else
        ic_pci_device_note(dev, "%s/%s: PCI_ID=%s is not vendor:device", dir->base, display_path(dir, path, disp, sizeof disp), val);
    } else if (strcmp(line, "PCI_SUBSYS_ID") == 0) {
      if (!parse_hex16_pair(val, &dev->subsys_vendor_id, &dev->subsys_device_id))
        ic_pci_device_note(dev, "%s/%s: PCI_SUBSYS_ID=%s is not vendor:device", dir->base, display_path(dir, path, disp, sizeof disp), val);
    } else if (strcmp(line, "MODALIAS") == 0 && *val) {
      g_free(dev->modalias);
      dev->modalias = g_strdup(val);
    }
  }
  if (!have_class || !have_id) {
    ic_pci_device_note(dev, "%s/%s lacks %s; read the id files instead", dir->base, display_path(dir, path, disp, sizeof disp),
                       !have_class ? "PCI_CLASS" : "PCI_ID");
    read_id_files(dev, dir);
  }
}

static void
read_config(IcPciDevice *dev, const DevDir *dir)
{
  char path[PATH_MAX], disp[PATH_MAX];
  guint8 cfg[4096 + 1];
  g_snprintf(path, sizeof path, "%s/config", dir->rel);
  gssize n = ic_read_attr_at(dir->fd, path, (char *) cfg, sizeof cfg);
  if (n < 0) {
    ic_pci_device_note(dev, "cannot read %s/%s: %s", dir->base, display_path(dir, path, disp, sizeof disp), g_strerror((int) -n));
    return;
  }
  if (n < 64) {
    ic_pci_device_note(dev, "%s/%s is truncated (%zd bytes, the header needs 64)", dir->base, display_path(dir, path, disp, sizeof disp), n);
    return;
  }
  ic_host_parse_config(dev, cfg, (gsize) n);
  if (n < 256)
    ic_pci_device_note(dev, "only %zd bytes of config space readable (capabilities need root)", n);
}

static void
read_iommu_group(IcPciDevice *dev, const DevDir *dir)
{
  char path[PATH_MAX], disp[PATH_MAX], target[PATH_MAX];
  g_snprintf(path, sizeof path, "%s/iommu_group", dir->rel);
  ssize_t n = readlinkat(dir->fd, path, target, sizeof target - 1);
  if (n < 0) {
    if (errno != ENOENT)
      ic_pci_device_note(dev, "cannot read link %s/%s: %s", dir->base, display_path(dir, path, disp, sizeof disp), g_strerror(errno));
    return;
  }
  target[n] = '\0';
  gint64 v;
  if (ic_host_parse_group_link(target, &v))
    dev->iommu_group = (int) v;
  else
    ic_pci_device_note(dev, "link %s/%s -> %s does not name a group number", dir->base, display_path(dir, path, disp, sizeof disp), target);
}

static char *
read_optional_attr(IcPciDevice *dev, const DevDir *dir, const char *name)
{
  char path[PATH_MAX], disp[PATH_MAX], buf[256];
  g_snprintf(path, sizeof path, "%s/%s", dir->rel, name);
  gssize n = ic_read_attr_stripped_at(dir->fd, path, buf, sizeof buf);
  if (n < 0) {
    if (n != -ENOENT)
      ic_pci_device_note(dev, "cannot read %s/%s: %s", dir->base, display_path(dir, path, disp, sizeof disp), g_strerror((int) -n));
    return NULL;
  }
  return g_strdup(buf);
}

static void
read_driver_override(IcPciDevice *dev, const DevDir *dir)
{
  g_autofree char *ovr = read_optional_attr(dev, dir, "driver_override");
  g_clear_pointer(&dev->driver_override, g_free);
  if (ovr != NULL && *ovr && strcmp(ovr, "(null)") != 0)
    dev->driver_override = g_steal_pointer(&ovr);
}

static void
read_numa_node(IcPciDevice *dev, const DevDir *dir)
{
  g_autofree char *s = read_optional_attr(dev, dir, "numa_node");
  gint64 v;
  if (s == NULL)
    return;
  if (ic_parse_int64(s, 10, -1, 65535, &v))
    dev->numa_node = (int) v;
  else
    ic_pci_device_note(dev, "numa_node \"%s\" is not a number", s);
}

static void
read_reset_method(IcPciDevice *dev, const DevDir *dir)
{
  g_autofree char *s = read_optional_attr(dev, dir, "reset_method");
  if (s == NULL)
    return;
  g_strfreev(dev->reset_methods);
  dev->reset_methods = g_strsplit_set(g_strstrip(s), " ", -1);
}

static void
read_device(IcInventory *inv, IcPciDevice *dev, char **parent_name)
{
  char link[PATH_MAX];
  g_snprintf(link, sizeof link, "%s/%s", inv->devices_dir, dev->name);
  read_device_link(dev, inv->devices_fd, link, parent_name);
  /* reads are openat(devices_fd, "<name>/<attr>"): the kernel follows the
   * device link for each (cheap, dentry-cached), which costs less than the
   * openat(O_PATH)+close of a per-device descriptor now that every attribute
   * read also pays one fstat (regular files only, see ic_read_attr_at) */
  DevDir dirv = {inv->devices_fd, inv->devices_dir, dev->name, dev->name};
  const DevDir *dir = &dirv;
  read_uevent(dev, dir);
  read_config(dev, dir);
  read_iommu_group(dev, dir);
  gboolean details = (inv->flags & IC_INVENTORY_DETAILS) != 0;
  if (details)
    read_driver_override(dev, dir);
  if (details || *parent_name == NULL)
    read_numa_node(dev, dir);
  if (details)
    read_reset_method(dev, dir);
  if ((dev->class_code >> 8) == 0x0300) {
    g_autofree char *vga = read_optional_attr(dev, dir, "boot_vga");
    dev->boot_vga = vga != NULL && strcmp(vga, "1") == 0;
  }
  if (dev->sriov_capable && !dev->config_extended) {
    /* unreachable through config (non-root): the sysfs attributes */
    g_autofree char *t = read_optional_attr(dev, dir, "sriov_totalvfs");
    g_autofree char *v = read_optional_attr(dev, dir, "sriov_numvfs");
    guint64 x;
    if (t && ic_parse_uint64(t, 10, 65535, &x))
      dev->sriov_totalvfs = (guint) x;
    if (v && ic_parse_uint64(v, 10, 65535, &x))
      dev->sriov_numvfs = (guint) x;
  }
}

/* ---- SR-IOV links --------------------------------------------------------- */

/* VF i has routing ID PF + First VF Offset + i * VF Stride (SR-IOV spec),
 * so with the config space in hand no virtfnN readlink is needed. */
static IcPciDevice *
vf_from_config(IcInventory *inv, IcPciDevice *pf, guint i)
{
  if (!pf->config_extended || pf->sriov_vf_offset == 0)
    return NULL;
  guint rid = ((guint) pf->addr.bus << 8) | ((guint) pf->addr.slot << 3) | pf->addr.function;
  guint vf_rid = rid + pf->sriov_vf_offset + i * pf->sriov_vf_stride;
  if (vf_rid > 0xffff)
    return NULL;
  IcPciAddr a = {pf->addr.domain, (guint8) (vf_rid >> 8), (guint8) ((vf_rid >> 3) & 0x1f), (guint8) (vf_rid & 7)};
  IcPciDevice *vf = g_hash_table_lookup(inv->by_addr, &a);
  return vf != NULL && vf->physfn == NULL && vf != pf ? vf : NULL;
}

static void
link_virtfns(IcInventory *inv, IcPciDevice *pf)
{
  char path[PATH_MAX], target[PATH_MAX];
  for (guint i = 0; i < pf->sriov_numvfs; i++) {
    IcPciDevice *computed = vf_from_config(inv, pf, i);
    if (computed != NULL) {
      computed->physfn = pf;
      g_ptr_array_add(pf->virtfns, computed);
      continue;
    }
    g_snprintf(path, sizeof path, "%s/%s/virtfn%u", inv->devices_dir, pf->name, i);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) {
      ic_pci_device_note(pf, "sriov_numvfs is %u but %s is missing", pf->sriov_numvfs, path);
      break;
    }
    target[n] = '\0';
    const char *base = strrchr(target, '/');
    IcPciAddr a;
    if (!ic_pci_addr_parse(base ? base + 1 : target, &a, NULL)) {
      ic_pci_device_note(pf, "link %s -> %s names no PCI function", path, target);
      continue;
    }
    IcPciDevice *vf = g_hash_table_lookup(inv->by_addr, &a);
    if (vf == NULL) {
      ic_pci_device_note(pf, "VF %s (virtfn%u) is not in the device list", base ? base + 1 : target, i);
      continue;
    }
    vf->physfn = pf;
    g_ptr_array_add(pf->virtfns, vf);
  }
}

/* ---- the scan -------------------------------------------------------------- */

static gint
compare_addr_ptr(gconstpointer a, gconstpointer b)
{
  const IcPciDevice *x = *(IcPciDevice *const *) a, *y = *(IcPciDevice *const *) b;
  return ic_pci_addr_compare(&x->addr, &y->addr);
}

static gboolean
addr_equal(gconstpointer a, gconstpointer b)
{
  return ic_pci_addr_equal(a, b);
}

static guint
addr_hash(gconstpointer a)
{
  return ic_pci_addr_hash(a);
}

static int
inherited_numa_node(IcPciDevice *dev)
{
  int guard = 0;
  for (IcPciDevice *p = dev; p != NULL && guard < 256; p = p->parent, guard++)
    if (p->numa_node >= 0 || p->parent == NULL)
      return p->numa_node;
  return -1;
}

static gboolean
list_devices(IcInventory *inv, GError **error)
{
  DIR *d = opendir(inv->devices_dir);
  if (d == NULL) {
    int e = errno;
    g_set_error(error, IC_ERROR, e == ENOENT ? IC_ERROR_NOT_FOUND : IC_ERROR_IO,
                "cannot list PCI devices in %s: %s", inv->devices_dir, g_strerror(e));
    return FALSE;
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    IcPciAddr a;
    if (!ic_pci_addr_parse(de->d_name, &a, NULL)) {
      ic_host_note(&inv->host, "%s/%s is not a PCI address; ignored", inv->devices_dir, de->d_name);
      continue;
    }
    g_ptr_array_add(inv->devices, device_new(&a));
  }
  closedir(d);
  inv->devices_fd = open(inv->devices_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (inv->devices_fd < 0) {
    int e = errno;
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot open %s: %s", inv->devices_dir, g_strerror(e));
    return FALSE;
  }
  g_ptr_array_sort(inv->devices, compare_addr_ptr);
  return TRUE;
}

static IcInventory *
inventory_new(IcContext *ctx, IcInventoryFlags flags)
{
  IcInventory *inv = g_new0(IcInventory, 1);
  inv->ctx = ctx;
  inv->flags = flags;
  inv->devices_dir = ic_context_sys_path(ctx, "/sys/bus/pci/devices");
  inv->devices_fd = -1;
  inv->devices = g_ptr_array_new_with_free_func(device_free);
  inv->by_addr = g_hash_table_new(addr_hash, addr_equal);
  inv->groups = g_ptr_array_new_with_free_func((GDestroyNotify) ic_iommu_group_free);
  inv->by_group = g_hash_table_new(g_direct_hash, g_direct_equal);
  inv->strings = g_string_chunk_new(4096);
  inv->host.notes = g_ptr_array_new_with_free_func(g_free);
  inv->host.iommu_units = g_ptr_array_new_with_free_func(g_free);
  return inv;
}

/* Parent links, depth and inherited NUMA node, once every device is read. */
static void
link_parents(IcInventory *inv, char **parents)
{
  guint n = inv->devices->len;
  for (guint i = 0; i < n; i++) {
    IcPciDevice *dev = g_ptr_array_index(inv->devices, i);
    if (parents[i] != NULL) {
      IcPciAddr pa;
      if (ic_pci_addr_parse(parents[i], &pa, NULL))
        dev->parent = g_hash_table_lookup(inv->by_addr, &pa);
      if (dev->parent == NULL)
        ic_pci_device_note(dev, "parent bridge %s is not in the device list", parents[i]);
    }
  }
  for (guint i = 0; i < n; i++) {
    IcPciDevice *dev = g_ptr_array_index(inv->devices, i);
    int depth = 0;
    for (IcPciDevice *p = dev->parent; p != NULL && depth < 256; p = p->parent)
      depth++;
    dev->depth = depth;
    if (dev->numa_node < 0 && dev->parent != NULL)
      dev->numa_node = inherited_numa_node(dev->parent);
  }
}

/* Names, host use and host facts: the same for a whole or a partial scan
 * (host use is traced to the devices that were read, and only to them). */
static void
finish_scan(IcInventory *inv)
{
  if (!(inv->flags & IC_INVENTORY_NO_NAMES)) {
    ic_host_names_init(inv);
    for (guint i = 0; i < inv->devices->len; i++)
      ic_host_names_lookup(inv, g_ptr_array_index(inv->devices, i));
  }
  if (!(inv->flags & IC_INVENTORY_NO_HOST_USE))
    ic_host_use_scan(inv);
  ic_host_info_load(inv);
}

gboolean
ic_inventory_load(IcContext *ctx, IcInventoryFlags flags, IcInventory **out, GError **error)
{
  g_autoptr(IcInventory) inv = inventory_new(ctx, flags);
  if (!list_devices(inv, error))
    return FALSE;
  guint n = inv->devices->len;
  g_autoptr(GPtrArray) parents = g_ptr_array_new_full(n, g_free);
  for (guint i = 0; i < n; i++) {
    IcPciDevice *dev = g_ptr_array_index(inv->devices, i);
    g_hash_table_insert(inv->by_addr, &dev->addr, dev);
    char *parent = NULL;
    read_device(inv, dev, &parent);
    g_ptr_array_add(parents, parent);
  }
  link_parents(inv, (char **) parents->pdata);
  for (guint i = 0; i < n; i++) {
    IcPciDevice *dev = g_ptr_array_index(inv->devices, i);
    if (dev->sriov_capable && dev->sriov_numvfs > 0)
      link_virtfns(inv, dev);
  }
  finish_scan(inv);
  ic_host_groups_build(inv, NULL);
  *out = g_steal_pointer(&inv);
  return TRUE;
}

/* ---- the scan of some groups ------------------------------------------------ */

/* The members of group N as the kernel lists them in iommu_groups/N/devices. */
static gboolean
list_group_members(IcInventory *inv, int number, GPtrArray *names, GError **error)
{
  g_autofree char *rel = g_strdup_printf("/sys/kernel/iommu_groups/%d/devices", number);
  g_autofree char *dir = ic_context_sys_path(inv->ctx, rel);
  DIR *d = opendir(dir);
  if (d == NULL) {
    int e = errno;
    g_set_error(error, IC_ERROR, e == ENOENT ? IC_ERROR_NOT_FOUND : IC_ERROR_IO,
                "cannot list the members of IOMMU group %d in %s: %s", number, dir, g_strerror(e));
    return FALSE;
  }
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    IcPciAddr a;
    if (de->d_name[0] == '.')
      continue;
    if (!ic_pci_addr_parse(de->d_name, &a, NULL)) {
      ic_host_note(&inv->host, "%s/%s is not a PCI address; ignored", dir, de->d_name);
      continue;
    }
    g_ptr_array_add(names, g_strdup(de->d_name));
  }
  closedir(d);
  return TRUE;
}

/* Adds and reads the device named `name` unless it is there already. */
static void
add_and_read(IcInventory *inv, const char *name, GPtrArray *parents)
{
  IcPciAddr a;
  if (!ic_pci_addr_parse(name, &a, NULL) || g_hash_table_contains(inv->by_addr, &a))
    return;
  /* what a whole scan would not list is not read either (a parent missing
   * from the bus is noted by link_parents(), as in a whole scan) */
  if (faccessat(inv->devices_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
    return;
  IcPciDevice *dev = device_new(&a);
  g_ptr_array_add(inv->devices, dev);
  g_hash_table_insert(inv->by_addr, &dev->addr, dev);
  char *parent = NULL;
  read_device(inv, dev, &parent);
  g_ptr_array_add(parents, parent);
}

gboolean
ic_inventory_load_groups(IcContext *ctx, IcInventoryFlags flags, const int *numbers, guint n_numbers,
                         IcInventory **out, GError **error)
{
  g_autoptr(IcInventory) inv = inventory_new(ctx, flags);
  inv->devices_fd = open(inv->devices_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (inv->devices_fd < 0) {
    int e = errno;
    g_set_error(error, IC_ERROR, e == ENOENT ? IC_ERROR_NOT_FOUND : IC_ERROR_IO,
                "cannot list PCI devices in %s: %s", inv->devices_dir, g_strerror(e));
    return FALSE;
  }
  g_autoptr(GPtrArray) members = g_ptr_array_new_with_free_func(g_free);
  for (guint k = 0; k < n_numbers; k++)
    if (!list_group_members(inv, numbers[k], members, error))
      return FALSE;
  /* the members, then every bridge above them (the parents' parents are
   * appended while the loop walks: ACS and isolation look up the chain) */
  g_autoptr(GPtrArray) parents = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < members->len; i++)
    add_and_read(inv, members->pdata[i], parents);
  for (guint i = 0; i < parents->len; i++)
    if (parents->pdata[i] != NULL)
      add_and_read(inv, parents->pdata[i], parents);
  /* sorted like a whole scan; parents[] follows its device */
  g_autoptr(GHashTable) parent_of = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (guint i = 0; i < inv->devices->len; i++)
    g_hash_table_insert(parent_of, inv->devices->pdata[i], parents->pdata[i]);
  g_ptr_array_sort(inv->devices, compare_addr_ptr);
  g_autofree char **sorted = g_new0(char *, inv->devices->len + 1);
  for (guint i = 0; i < inv->devices->len; i++)
    sorted[i] = g_hash_table_lookup(parent_of, inv->devices->pdata[i]);
  link_parents(inv, sorted);
  finish_scan(inv);
  g_autoptr(GHashTable) wanted = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (guint k = 0; k < n_numbers; k++)
    g_hash_table_add(wanted, GINT_TO_POINTER(numbers[k]));
  ic_host_groups_build(inv, wanted);
  *out = g_steal_pointer(&inv);
  return TRUE;
}

static void
inventory_free_notify(gpointer p)
{
  ic_inventory_free(p);
}

IcInventory *
ic_inventory_get(IcContext *ctx, IcInventoryFlags flags, GError **error)
{
  IcInventory *cached = ctx->host_cache;
  if (cached != NULL && (cached->flags & flags) == flags &&
      ((flags & IC_INVENTORY_NO_NAMES) || !(cached->flags & IC_INVENTORY_NO_NAMES)) &&
      ((flags & IC_INVENTORY_NO_HOST_USE) || !(cached->flags & IC_INVENTORY_NO_HOST_USE)))
    return cached;
  IcInventory *inv = NULL;
  if (!ic_inventory_load(ctx, flags, &inv, error))
    return NULL;
  if (ctx->host_cache != NULL && ctx->host_cache_free != NULL)
    ctx->host_cache_free(ctx->host_cache);
  ctx->host_cache = inv;
  ctx->host_cache_free = inventory_free_notify;
  return inv;
}

void
ic_inventory_invalidate(IcContext *ctx)
{
  if (ctx->host_cache != NULL && ctx->host_cache_free == inventory_free_notify)
    inventory_free_notify(ctx->host_cache);
  if (ctx->host_cache_free == inventory_free_notify) {
    ctx->host_cache = NULL;
    ctx->host_cache_free = NULL;
  }
}

void
ic_inventory_free(IcInventory *inv)
{
  if (inv == NULL)
    return;
  g_free(inv->devices_dir);
  if (inv->devices_fd >= 0)
    close(inv->devices_fd);
  if (inv->groups)
    g_ptr_array_unref(inv->groups);
  if (inv->by_group)
    g_hash_table_unref(inv->by_group);
  if (inv->by_addr)
    g_hash_table_unref(inv->by_addr);
  if (inv->devices)
    g_ptr_array_unref(inv->devices);
  ic_host_info_clear(&inv->host);
  ic_host_names_free(inv);
  if (inv->strings)
    g_string_chunk_free(inv->strings);
  g_free(inv);
}

guint ic_inventory_n_devices(const IcInventory *inv) { return inv->devices->len; }
IcPciDevice *ic_inventory_device(const IcInventory *inv, guint i)
{
  return i < inv->devices->len ? g_ptr_array_index(inv->devices, i) : NULL;
}
IcPciDevice *ic_inventory_find_device(const IcInventory *inv, const IcPciAddr *addr)
{
  return g_hash_table_lookup(inv->by_addr, addr);
}
guint ic_inventory_n_groups(const IcInventory *inv) { return inv->groups->len; }
IcIommuGroup *ic_inventory_group(const IcInventory *inv, guint i)
{
  return i < inv->groups->len ? g_ptr_array_index(inv->groups, i) : NULL;
}
IcIommuGroup *ic_inventory_find_group(const IcInventory *inv, int number)
{
  return g_hash_table_lookup(inv->by_group, GINT_TO_POINTER(number));
}
IcHostInfo *ic_inventory_host(const IcInventory *inv) { return (IcHostInfo *) &inv->host; }
IcContext *ic_inventory_context(const IcInventory *inv) { return inv->ctx; }

/* ---- cheap re-reads --------------------------------------------------------- */

char *
ic_pci_read_driver(IcContext *ctx, const IcPciAddr *addr)
{
  char name[IC_PCI_ADDR_STRLEN], rel[64], target[PATH_MAX];
  ic_pci_addr_format(addr, name);
  g_snprintf(rel, sizeof rel, "/sys/bus/pci/devices/%s/driver", name);
  g_autofree char *path = ic_context_sys_path(ctx, rel);
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n <= 0)
    return NULL;
  target[n] = '\0';
  const char *base = strrchr(target, '/');
  return g_strdup(base ? base + 1 : target);
}

const char *
ic_pci_device_read_driver(IcContext *ctx, IcPciDevice *dev)
{
  g_free(dev->driver);
  dev->driver = ic_pci_read_driver(ctx, &dev->addr);
  return dev->driver;
}

const char *
ic_pci_device_read_driver_override(IcContext *ctx, IcPciDevice *dev)
{
  g_autofree char *dir_rel = g_strdup_printf("/sys/bus/pci/devices/%s", dev->name);
  g_autofree char *dir = ic_context_sys_path(ctx, dir_rel);
  g_autofree char *base = g_path_get_dirname(dir);
  DevDir d = {AT_FDCWD, base, dev->name, dir};
  read_driver_override(dev, &d);
  return dev->driver_override;
}

char **
ic_pci_device_reset_methods(IcContext *ctx, IcPciDevice *dev)
{
  if (dev->reset_methods == NULL) {
    g_autofree char *dir_rel = g_strdup_printf("/sys/bus/pci/devices/%s", dev->name);
    g_autofree char *dir = ic_context_sys_path(ctx, dir_rel);
    g_autofree char *base = g_path_get_dirname(dir);
    DevDir d = {AT_FDCWD, base, dev->name, dir};
    read_reset_method(dev, &d);
  }
  return dev->reset_methods;
}
