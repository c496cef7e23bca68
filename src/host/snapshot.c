/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `iommuctl snapshot DIR`: copy exactly what the inventory reads, so that
 * `--sysfs-root DIR` reproduces the report on another machine.  Symlinks are
 * recreated with their original (relative) targets; resource files and
 * device memory are never touched; /dev nodes become empty marker files. */
#include "host/host-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  IcContext *ctx;
  int root_fd;      /* the new, empty output directory: every write is beneath it */
  const char *dest; /* its path, for messages */
  guint n_files;
  GHashTable *done; /* rel paths already copied */
  GError *error;    /* the first refused write: the snapshot fails with it */
} Snap;

/* rel is "/sys/..." (canonical, from our own tables or lexically
 * canonicalized link targets); display is DEST/rel for messages */
static char *
display_path(Snap *s, const char *rel)
{
  return g_strconcat(s->dest, rel, NULL);
}

/* The writes below refuse, never follow: a symlink in the way, an entry
 * that exists already, a path that would leave the output directory.  Any
 * refusal ends the snapshot with that error (the output is not a faithful
 * copy then), so every helper is a no-op once s->error is set. */
static gboolean
snap_mkdir(Snap *s, const char *rel)
{
  if (s->error != NULL)
    return FALSE;
  while (*rel == '/')
    rel++;
  if (*rel == '\0')
    return TRUE;
  g_autofree char *shown = display_path(s, rel - 1);
  int fd = ic_mkdir_beneath(s->root_fd, rel, 0755, shown, &s->error);
  if (fd < 0)
    return FALSE;
  close(fd);
  return TRUE;
}

static gboolean
snap_mkdir_parent(Snap *s, const char *rel)
{
  g_autofree char *dir = g_path_get_dirname(rel);
  return snap_mkdir(s, dir);
}

static void
snap_dir(Snap *s, const char *rel)
{
  (void) snap_mkdir(s, rel);
}

static void
snap_write(Snap *s, const char *rel, const char *data, gsize len)
{
  if (!snap_mkdir_parent(s, rel))
    return;
  g_autofree char *shown = display_path(s, rel);
  if (ic_write_new_file_beneath(s->root_fd, rel + 1, data, len, 0644, shown, &s->error))
    s->n_files++;
}

/* Copy a small file (sysfs attribute, proc file) if it exists.  The source
 * is read through the safe-file layer: regular files only (a FIFO planted
 * in a --sysfs-root tree is skipped, never waited on), bounded. */
static void
snap_file(Snap *s, const char *rel, const char *src, gsize max)
{
  if (s->error != NULL || !g_hash_table_add(s->done, g_strdup(rel)))
    return;
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!ic_read_file(src, max, &data, &len, NULL))
    return;
  snap_write(s, rel, data, len);
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
  if (s->error != NULL || access(src, F_OK) != 0 || !g_hash_table_add(s->done, g_strdup(rel)))
    return;
  snap_write(s, rel, "", 0);
}

/* Recreate the link at rel; returns the rel path of its target (within the
 * root), or NULL when rel is not a link.  The link is created with
 * symlinkat() in its parent, opened beneath the output root; its target is
 * copied as it is (it may point anywhere, which is why no later write ever
 * resolves a symlink in the output). */
static char *
snap_link(Snap *s, const char *rel)
{
  g_autofree char *src = ic_context_sys_path(s->ctx, rel);
  char target[PATH_MAX];
  ssize_t n = readlink(src, target, sizeof target - 1);
  if (n < 0 || s->error != NULL)
    return NULL;
  target[n] = '\0';
  if (g_hash_table_add(s->done, g_strdup(rel))) {
    g_autofree char *dir = g_path_get_dirname(rel);
    g_autofree char *base = g_path_get_basename(rel);
    g_autofree char *shown = display_path(s, rel);
    if (!snap_mkdir(s, dir))
      return NULL;
    int dfd = ic_open_beneath(s->root_fd, dir[1] != '\0' ? dir + 1 : ".", O_RDONLY | O_DIRECTORY, 0, shown, &s->error);
    if (dfd < 0)
      return NULL;
    if (symlinkat(target, dfd, base) == 0) {
      s->n_files++;
    } else {
      int e = errno;
      g_set_error(&s->error, IC_ERROR, e == EEXIST ? IC_ERROR_INVALID_ARG : IC_ERROR_IO,
                  "cannot create the link %s: %s", shown, g_strerror(e));
    }
    close(dfd);
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

/* The output directory: created when missing, else it must be empty.  A
 * snapshot never goes into a directory with content: an old snapshot's
 * devices would mix into the new one, and anything planted there (a
 * `proc -> /elsewhere` link) would be written through.  DEST itself may be
 * a link the user named. */
static int
open_empty_dest(const char *dest, GError **error)
{
  if (mkdir(dest, 0755) != 0 && errno != EEXIST) {
    if (errno != ENOENT || !ic_mkdir_p(dest, 0755, error)) {
      if (error != NULL && *error == NULL)
        g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot create %s: %s", dest, g_strerror(errno));
      return -1;
    }
  }
  int fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, IC_ERROR, e == ENOTDIR ? IC_ERROR_INVALID_ARG : IC_ERROR_IO,
                "cannot open the output directory %s: %s", dest, g_strerror(e));
    return -1;
  }
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (d == NULL) {
    int e = errno;
    if (dup_fd >= 0)
      close(dup_fd);
    close(fd);
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot read the output directory %s: %s", dest, g_strerror(e));
    return -1;
  }
  struct dirent *ent;
  gboolean empty = TRUE;
  while (empty && (ent = readdir(d)) != NULL)
    empty = strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0;
  closedir(d);
  if (!empty) {
    close(fd);
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                "%s is not empty: a snapshot goes into a new or empty directory "
                "(it would mix with what is there)", dest);
    return -1;
  }
  return fd;
}

gboolean
ic_host_snapshot(IcContext *ctx, const char *dest, guint *n_files_out, GError **error)
{
  /* the kernel release becomes a path component (lib/modules/<release>/):
   * a --sysfs-root tree's osrelease is input, checked before it is used */
  const char *rel_kernel = NULL;
  if (!ic_context_read_kernel_release(ctx, &rel_kernel, error))
    return FALSE;
  int root_fd = open_empty_dest(dest, error);
  if (root_fd < 0)
    return FALSE;
  Snap s = {ctx, root_fd, dest, 0, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL), NULL};

  g_autofree char *devdir = ic_context_sys_path(ctx, "/sys/bus/pci/devices");
  g_autoptr(GDir) d = g_dir_open(devdir, 0, NULL);
  if (d == NULL) {
    g_hash_table_unref(s.done);
    close(root_fd);
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
  g_hash_table_unref(s.done);
  close(root_fd);
  if (s.error != NULL) {
    g_propagate_error(error, s.error);
    return FALSE;
  }
  if (n_files_out)
    *n_files_out = s.n_files;
  return TRUE;
}
