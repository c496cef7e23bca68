/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The few sysfs facts the executor needs to act and to verify its own
 * writes.  What the host looks like as a whole (who uses a device, reset
 * methods, ...) is the host layer's job; this file only reads the links and
 * attributes that change under our feet while we move a device. */
#include "assign/assign-private.h"
#include "util/ic-util.h"

#include <errno.h>
#include <unistd.h>

static char *
dev_path(const IcContext *ctx, const char *dev, const char *attr)
{
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
  g_autofree char *base = link_basename(path);
  guint64 n;
  if (base == NULL || !ic_parse_uint64(base, 10, G_MAXUINT, &n)) {
    g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED,
                "%s has no IOMMU group (%s is missing): the IOMMU is off or absent for it",
                dev, path);
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
