/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The few sysfs facts the executor needs to act and to verify its own
 * writes.  What the host looks like as a whole (who uses a device, reset
 * methods, ...) is the host layer's job; this file only reads the links and
 * attributes that change under our feet while we move a device. */
#include "assign/assign-private.h"
#include "util/ic-util.h"
#include "iommuctl/host.h"

#include <errno.h>
#include <unistd.h>

gboolean
ic_as_valid_dev_name(const char *dev)
{
  IcPciAddr a;
  char canon[IC_PCI_ADDR_STRLEN];
  return dev != NULL && strlen(dev) < sizeof canon && ic_pci_addr_parse(dev, &a, NULL) &&
         strcmp(ic_pci_addr_format(&a, canon), dev) == 0;
}

gboolean
ic_as_valid_driver_name(const char *name)
{
  if (name == NULL || *name == '\0' || strlen(name) > 64 || strstr(name, "..") != NULL ||
      strcmp(name, ".") == 0)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (*p == '/' || g_ascii_iscntrl(*p) || g_ascii_isspace(*p) || (guchar) *p >= 0x7f)
      return FALSE;
  return TRUE;
}

/* Every path below is built from a device name; one that is not a
 * canonical PCI address (a journal row "../../x") never becomes a path. */
static char *
dev_path(const IcContext *ctx, const char *dev, const char *attr)
{
  if (!ic_as_valid_dev_name(dev))
    dev = "invalid-device-name";

  g_autofree char *abs = g_strdup_printf("/sys/bus/pci/devices/%s%s%s", dev,
                                         attr ? "/" : "", attr ? attr : "");
  return ic_context_sys_path(ctx, abs);
}

static char *
link_basename(const char *path)
{
  g_autofree char *target = g_file_read_link(path, NULL);
  if (target == NULL)
    return NULL;
  return g_path_get_basename(target);
}

char *
ic_as_read_driver(const IcContext *ctx, const char *dev)
{
  g_autofree char *path = dev_path(ctx, dev, "driver");
  return link_basename(path);
}

char *
ic_as_read_override(const IcContext *ctx, const char *dev)
{
  g_autofree char *path = dev_path(ctx, dev, "driver_override");
  char buf[256];
  if (ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf) <= 0)
    return NULL;
  if (strcmp(buf, "(null)") == 0)
    return NULL;
  return g_strdup(buf);
}

gboolean
ic_as_read_group(const IcContext *ctx, const char *dev, guint *group, GError **error)
{
  g_autofree char *path = dev_path(ctx, dev, "iommu_group");
  g_autoptr(GError) local = NULL;
  g_autofree char *target = g_file_read_link(path, &local);
  if (target == NULL) {
    if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED,
                  "%s has no IOMMU group (%s is missing): the IOMMU is off or absent for it",
                  dev, path);
    else
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: cannot read the link %s: %s", dev, path,
                  local->message);
    return FALSE;
  }
  gint64 n;
  if (!ic_host_parse_group_link(target, &n)) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE,
                "%s: the link %s -> %s does not name an IOMMU group (.../kernel/iommu_groups/N): "
                "the sysfs tree is damaged, not the IOMMU off; nothing was changed", dev, path, target);
    return FALSE;
  }
  /* the group must be one the kernel made, or /dev/vfio/N never appears */
  g_autofree char *abs = g_strdup_printf("/sys/kernel/iommu_groups/%" G_GINT64_FORMAT, n);
  g_autofree char *gdir = ic_context_sys_path(ctx, abs);
  if (!g_file_test(gdir, G_FILE_TEST_IS_DIR)) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE,
                "%s: its iommu_group link names group %" G_GINT64_FORMAT ", but %s does not exist: "
                "the sysfs tree is inconsistent; nothing was changed", dev, n, gdir);
    return FALSE;
  }
  *group = (guint) n;
  return TRUE;
}

gint64
ic_as_read_class(const IcContext *ctx, const char *dev)
{
  g_autofree char *path = dev_path(ctx, dev, "class");
  char buf[32];
  guint64 v;
  if (ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf) <= 0 ||
      !ic_parse_uint64(buf, 0, 0xffffff, &v))
    return -1;
  return (gint64) v;
}

gboolean
ic_as_device_exists(const IcContext *ctx, const char *dev)
{
  g_autofree char *path = dev_path(ctx, dev, NULL);
  return g_file_test(path, G_FILE_TEST_IS_DIR);
}

gboolean
ic_as_driver_exists(const IcContext *ctx, const char *driver)
{
  if (!ic_as_valid_driver_name(driver))
    return FALSE;
  g_autofree char *abs = g_strdup_printf("/sys/bus/pci/drivers/%s", driver);
  g_autofree char *path = ic_context_sys_path(ctx, abs);
  return g_file_test(path, G_FILE_TEST_IS_DIR);
}

gboolean
ic_as_vfio_node_exists(const IcContext *ctx, guint group)
{
  g_autofree char *abs = g_strdup_printf("/dev/vfio/%u", group);
  g_autofree char *path = ic_context_sys_path(ctx, abs);
  return access(path, F_OK) == 0;
}

gboolean
ic_as_is_vfio_driver(const char *driver)
{
  /* vfio-pci and its variant drivers (mlx5_vfio_pci, hisi_acc_vfio_pci,
   * vfio-pci-igb, ...) all carry "vfio" in their name. */
  return driver != NULL && strstr(driver, "vfio") != NULL;
}
