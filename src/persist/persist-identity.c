/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A device's identity, read from sysfs for the devices asked about only:
 * persist and verify must not scan the whole inventory for one group. */
#include "persist/persist-private.h"
#include "util/ic-util.h"

#include <limits.h>
#include <stdlib.h>

static char *
dev_path(IcContext *ctx, const char *dev, const char *attr)
{
  g_autofree char *abs = g_strdup_printf("/sys/bus/pci/devices/%s%s%s", dev, attr ? "/" : "",
                                         attr ? attr : "");
  return ic_context_sys_path(ctx, abs);
}

static gboolean
read_hex(IcContext *ctx, const char *dev, const char *attr, guint max, guint *out)
{
  g_autofree char *path = dev_path(ctx, dev, attr);
  char buf[64];
  guint64 v;
  if (ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf) <= 0 ||
      !ic_parse_uint64(buf, 16, max, &v))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

static char *
link_basename(const char *path)
{
  g_autofree char *target = g_file_read_link(path, NULL);
  return target ? g_path_get_basename(target) : NULL;
}

void
ic_ps_identity_clear(IcPsIdentity *id)
{
  g_clear_pointer(&id->driver, g_free);
}

void
ic_ps_read_identity(IcContext *ctx, const char *dev, IcPsIdentity *id)
{
  memset(id, 0, sizeof *id);
  id->group = -1;
  g_autofree char *dir = dev_path(ctx, dev, NULL);
  if (!g_file_test(dir, G_FILE_TEST_IS_DIR))
    return;
  id->present = TRUE;
  read_hex(ctx, dev, "vendor", 0xffff, &id->vendor);
  read_hex(ctx, dev, "device", 0xffff, &id->device);
  read_hex(ctx, dev, "subsystem_vendor", 0xffff, &id->subsys_vendor);
  read_hex(ctx, dev, "subsystem_device", 0xffff, &id->subsys_device);
  read_hex(ctx, dev, "class", 0xffffff, &id->class_code);
  g_autofree char *glink = dev_path(ctx, dev, "iommu_group");
  g_autofree char *gname = link_basename(glink);
  guint64 n;
  if (gname != NULL && ic_parse_uint64(gname, 10, G_MAXINT, &n))
    id->group = (int) n;
  g_autofree char *dlink = dev_path(ctx, dev, "driver");
  id->driver = link_basename(dlink);
}

static gint
compare_str(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

static char **
sorted_strv(GPtrArray *names)
{
  g_ptr_array_sort(names, compare_str);
  g_ptr_array_add(names, NULL);
  return (char **) g_ptr_array_free(names, FALSE);
}

char **
ic_ps_group_members(IcContext *ctx, int group)
{
  GPtrArray *names = g_ptr_array_new();
  if (group >= 0) {
    g_autofree char *abs = g_strdup_printf("/sys/kernel/iommu_groups/%d/devices", group);
    g_autofree char *path = ic_context_sys_path(ctx, abs);
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *e;
    while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
      IcPciAddr a;
      if (ic_pci_addr_parse(e, &a, NULL))
        g_ptr_array_add(names, ic_pci_addr_to_string(&a));
    }
  }
  return sorted_strv(names);
}

char **
ic_ps_ports_above(IcContext *ctx, const char *dev)
{
  GPtrArray *ports = g_ptr_array_new();
  g_autofree char *link = dev_path(ctx, dev, NULL);
  char real[PATH_MAX];
  if (realpath(link, real) != NULL) {
    g_auto(GStrv) parts = g_strsplit(real, "/", -1);
    guint n = g_strv_length(parts);
    /* the components before the device's own that are PCI addresses: the
     * bridges and ports it sits behind, root first */
    for (guint i = 0; i + 1 < n; i++) {
      IcPciAddr a;
      if (strlen(parts[i]) == 12 && ic_pci_addr_parse(parts[i], &a, NULL))
        g_ptr_array_add(ports, ic_pci_addr_to_string(&a));
    }
  }
  g_ptr_array_add(ports, NULL);
  return (char **) g_ptr_array_free(ports, FALSE);
}

char *
ic_ps_driver_module(IcContext *ctx, const char *driver)
{
  if (driver == NULL)
    return NULL;
  g_autofree char *abs = g_strdup_printf("/sys/bus/pci/drivers/%s/module", driver);
  g_autofree char *path = ic_context_sys_path(ctx, abs);
  char *mod = link_basename(path);
  if (mod != NULL)
    return mod;
  /* no module link: built in, unless the module directory says otherwise
   * (a fixture without links): then the driver's name as a module name */
  g_autofree char *modname = g_strdelimit(g_strdup(driver), "-", '_');
  g_autofree char *mabs = g_strdup_printf("/sys/module/%s", modname);
  g_autofree char *mpath = ic_context_sys_path(ctx, mabs);
  g_autofree char *builtin = g_build_filename(mpath, "initstate", NULL);
  if (g_file_test(mpath, G_FILE_TEST_IS_DIR) && !g_file_test(builtin, G_FILE_TEST_EXISTS))
    return NULL;
  return g_steal_pointer(&modname);
}

GPtrArray *
ic_ps_find_identity(IcContext *ctx, guint vendor, guint device, guint sv, guint sd)
{
  GPtrArray *hits = g_ptr_array_new_with_free_func(g_free);
  g_autofree char *path = ic_context_sys_path(ctx, "/sys/bus/pci/devices");
  g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
  const char *e;
  while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
    guint v = 0, dv = 0, s1 = 0, s2 = 0;
    if (!read_hex(ctx, e, "vendor", 0xffff, &v) || v != vendor ||
        !read_hex(ctx, e, "device", 0xffff, &dv) || dv != device)
      continue;
    read_hex(ctx, e, "subsystem_vendor", 0xffff, &s1);
    read_hex(ctx, e, "subsystem_device", 0xffff, &s2);
    if (s1 == sv && s2 == sd)
      g_ptr_array_add(hits, g_strdup(e));
  }
  g_ptr_array_sort(hits, compare_str);
  return hits;
}

gboolean
ic_ps_vfio_pci_builtin(IcContext *ctx)
{
  g_autofree char *path = ic_context_modules_path(ctx, "modules.builtin");
  g_autofree char *text = NULL;
  if (!ic_read_file(path, 8 << 20, &text, NULL, NULL))
    return FALSE;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++)
    if (g_str_has_suffix(*l, "/vfio-pci.ko") || strcmp(*l, "vfio-pci.ko") == 0)
      return TRUE;
  return FALSE;
}
