/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `iommuctl snapshot DIR`: copy exactly what the inventory reads, so that
 * `--sysfs-root DIR` reproduces the report on another machine.  Symlinks are
 * recreated with their original (relative) targets; resource files and
 * device memory are never touched; /dev nodes become empty marker files. */
#include "host/host-private.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  IcContext *ctx;
  const char *dest;
  guint n_files;
  GHashTable *done; /* rel paths already copied */
} Snap;

static char *
dest_path(Snap *s, const char *rel)
{
  return g_strconcat(s->dest, rel, NULL);
}

static void
ensure_parent(const char *path)
{
  g_autofree char *dir = g_path_get_dirname(path);
  g_mkdir_with_parents(dir, 0755);
}

static void
snap_dir(Snap *s, const char *rel)
{
  g_autofree char *d = dest_path(s, rel);
  g_mkdir_with_parents(d, 0755);
}

/* Copy a small file (sysfs attribute, proc file) if it exists. */
static void
snap_file(Snap *s, const char *rel, const char *src, gsize max)
{
  if (!g_hash_table_add(s->done, g_strdup(rel)))
    return;
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!ic_read_file(src, max, &data, &len, NULL))
    return;
  g_autofree char *d = dest_path(s, rel);
  ensure_parent(d);
  if (g_file_set_contents(d, data, (gssize) len, NULL))
    s->n_files++;
}

static void
snap_sys_file(Snap *s, const char *rel)
{
  g_autofree char *src = ic_context_sys_path(s->ctx, rel);
  snap_file(s, rel, src, 1 << 20);
}

static void
snap_proc_file(Snap *s, const char *rel)
{
  g_autofree char *src = ic_context_proc_path(s->ctx, rel);
  snap_file(s, rel, src, 16 << 20);
}

static void
snap_marker(Snap *s, const char *rel)
{
  g_autofree char *src = ic_context_sys_path(s->ctx, rel);
  if (access(src, F_OK) != 0)
    return;
  g_autofree char *d = dest_path(s, rel);
  ensure_parent(d);
  if (g_file_set_contents(d, "", 0, NULL))
    s->n_files++;
}

/* Recreate the link at rel; returns the rel path of its target (within the
 * root), or NULL when rel is not a link. */
static char *
snap_link(Snap *s, const char *rel)
{
  g_autofree char *src = ic_context_sys_path(s->ctx, rel);
  char target[PATH_MAX];
  ssize_t n = readlink(src, target, sizeof target - 1);
  if (n < 0)
    return NULL;
  target[n] = '\0';
  g_autofree char *d = dest_path(s, rel);
  if (g_hash_table_add(s->done, g_strdup(rel))) {
    ensure_parent(d);
    unlink(d);
    if (symlink(target, d) == 0)
      s->n_files++;
  }
  g_autofree char *rel_dir = g_path_get_dirname(rel);
  return g_canonicalize_filename(target, rel_dir);
}

static const char *const device_files[] = {
  "uevent", "config", "class", "vendor", "device", "subsystem_vendor", "subsystem_device",
  "revision", "driver_override", "numa_node", "boot_vga", "reset_method", "modalias",
  "sriov_totalvfs", "sriov_numvfs", "enable", NULL,
};

static void
snap_device(Snap *s, const char *name)
{
  g_autofree char *link_rel = g_strdup_printf("/sys/bus/pci/devices/%s", name);
  g_autofree char *dev_rel = snap_link(s, link_rel);
  if (dev_rel == NULL)
    return;
  snap_dir(s, dev_rel);
  for (int i = 0; device_files[i]; i++) {
    g_autofree char *rel = g_strdup_printf("%s/%s", dev_rel, device_files[i]);
    snap_sys_file(s, rel);
  }
  g_autofree char *src_dir = ic_context_sys_path(s->ctx, dev_rel);
  g_autoptr(GDir) d = g_dir_open(src_dir, 0, NULL);
  const char *e;
  while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
    if (strcmp(e, "iommu_group") != 0 && strcmp(e, "driver") != 0 && strcmp(e, "physfn") != 0 &&
        !g_str_has_prefix(e, "virtfn"))
      continue;
    g_autofree char *rel = g_strdup_printf("%s/%s", dev_rel, e);
    g_autofree char *target = snap_link(s, rel);
    if (target != NULL && strcmp(e, "driver") == 0)
      snap_dir(s, target); /* /sys/bus/pci/drivers/<name>, so the link resolves */
  }
}

static void
snap_links_in(Snap *s, const char *dir_rel, gboolean with_targets, const char *const *target_files)
{
  g_autofree char *src = ic_context_sys_path(s->ctx, dir_rel);
  g_autoptr(GDir) d = g_dir_open(src, 0, NULL);
  const char *e;
  while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
    g_autofree char *rel = g_strdup_printf("%s/%s", dir_rel, e);
    g_autofree char *target = snap_link(s, rel);
    if (target == NULL || !with_targets)
      continue;
    snap_dir(s, target);
    for (int i = 0; target_files && target_files[i]; i++) {
      g_autofree char *f = g_strdup_printf("%s/%s", target, target_files[i]);
      snap_sys_file(s, f);
    }
  }
}

static void
snap_block(Snap *s)
{
  /* sys/dev/block/M:m -> ...; dm/md devices keep their slaves/ links */
  g_autofree char *src = ic_context_sys_path(s->ctx, "/sys/dev/block");
  g_autoptr(GDir) d = g_dir_open(src, 0, NULL);
  const char *e;
  while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
    g_autofree char *rel = g_strdup_printf("/sys/dev/block/%s", e);
    g_autofree char *target = snap_link(s, rel);
    if (target == NULL)
      continue;
    snap_dir(s, target);
    g_autofree char *slaves = g_strdup_printf("%s/slaves", target);
    snap_links_in(s, slaves, FALSE, NULL);
  }
  snap_links_in(s, "/sys/class/block", FALSE, NULL);
}

static void
snap_groups(Snap *s)
{
  g_autofree char *src = ic_context_sys_path(s->ctx, "/sys/kernel/iommu_groups");
  g_autoptr(GDir) d = g_dir_open(src, 0, NULL);
  snap_dir(s, "/sys/kernel/iommu_groups");
  const char *e;
  while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
    g_autofree char *type = g_strdup_printf("/sys/kernel/iommu_groups/%s/type", e);
    g_autofree char *rr = g_strdup_printf("/sys/kernel/iommu_groups/%s/reserved_regions", e);
    g_autofree char *devs = g_strdup_printf("/sys/kernel/iommu_groups/%s/devices", e);
    snap_sys_file(s, type);
    snap_sys_file(s, rr);
    snap_dir(s, devs);
    snap_links_in(s, devs, FALSE, NULL);
  }
}

static void
snap_iommu_units(Snap *s)
{
  static const char *const regs[] = {
    "intel-iommu/cap", "intel-iommu/ecap", "intel-iommu/version", "intel-iommu/address",
    "amd-iommu/cap", "amd-iommu/features", NULL,
  };
  snap_links_in(s, "/sys/class/iommu", TRUE, regs);
}

gboolean
ic_host_snapshot(IcContext *ctx, const char *dest, guint *n_files_out, GError **error)
{
  if (!ic_mkdir_p(dest, 0755, error))
    return FALSE;
  g_autofree char *abs_dest = g_canonicalize_filename(dest, NULL);
  Snap s = {ctx, abs_dest, 0, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};

  g_autofree char *devdir = ic_context_sys_path(ctx, "/sys/bus/pci/devices");
  g_autoptr(GDir) d = g_dir_open(devdir, 0, NULL);
  if (d == NULL) {
    g_hash_table_unref(s.done);
    g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "cannot list %s", devdir);
    return FALSE;
  }
  snap_dir(&s, "/sys/bus/pci/devices");
  const char *e;
  while ((e = g_dir_read_name(d)) != NULL)
    snap_device(&s, e);
  snap_groups(&s);
  snap_iommu_units(&s);
  static const char *const tables[] = {"DMAR", "IVRS", "IORT", NULL};
  for (int i = 0; tables[i]; i++) {
    g_autofree char *rel = g_strdup_printf("/sys/firmware/acpi/tables/%s", tables[i]);
    g_autofree char *src = ic_context_sys_path(ctx, rel);
    snap_file(&s, rel, src, 1 << 20);
    if (!g_hash_table_contains(s.done, rel))
      snap_marker(&s, rel); /* present but unreadable without root */
  }
  snap_marker(&s, "/dev/vfio/vfio");
  snap_marker(&s, "/sys/module/vfio/uevent");
  snap_marker(&s, "/sys/module/vfio_pci/uevent");
  snap_marker(&s, "/dev/iommu");
  const char *rel_kernel = ic_context_kernel_release(ctx);
  static const char *const modfiles[] = {"modules.dep", "modules.builtin", "modules.alias", NULL};
  for (int i = 0; modfiles[i]; i++) {
    g_autofree char *rel = g_strdup_printf("/lib/modules/%s/%s", rel_kernel, modfiles[i]);
    g_autofree char *src = ic_context_sys_path(ctx, rel);
    snap_file(&s, rel, src, 64 << 20);
  }
  snap_block(&s);
  static const char *const net_files[] = {"operstate", NULL};
  snap_links_in(&s, "/sys/class/net", TRUE, net_files);
  static const char *const vt_files[] = {"name", "bind", NULL};
  snap_links_in(&s, "/sys/class/vtconsole", TRUE, vt_files);
  snap_links_in(&s, "/sys/class/graphics", FALSE, NULL);
  static const char *const proc_files[] = {
    "/proc/cmdline", "/proc/self/mountinfo", "/proc/self/limits", "/proc/net/route",
    "/proc/net/if_inet6", "/proc/sys/kernel/osrelease", "/proc/sys/kernel/arch", NULL,
  };
  for (int i = 0; proc_files[i]; i++)
    snap_proc_file(&s, proc_files[i]);
  if (n_files_out)
    *n_files_out = s.n_files;
  g_hash_table_unref(s.done);
  return TRUE;
}
