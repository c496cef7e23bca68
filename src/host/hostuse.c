/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* "Does the host itself use this device?"  Three kinds of evidence, each
 * traced back to the PCI function that carries it:
 *  - mounted filesystems: proc/self/mountinfo major:minor -> sys/dev/block
 *    link -> PCI ancestor; dm/md devices are followed through slaves/;
 *  - network: sys/class/net/<if> link -> PCI ancestor, in use when it has a
 *    route (proc/net/route: an IPv4 address; "default" when the default
 *    route) or a global IPv6 address (proc/net/if_inet6);
 *  - console: the boot VGA device when vgacon is bound, or a framebuffer
 *    of the device with fbcon bound (sys/class/{graphics,vtconsole}). */
#include "host/host-private.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Resolve the symlink at path to a canonical path (in the same root). */
static char *
resolve_link(const char *path)
{
  char target[PATH_MAX];
  ssize_t n = readlink(path, target, sizeof target - 1);
  if (n < 0)
    return NULL;
  target[n] = '\0';
  g_autofree char *dir = g_path_get_dirname(path);
  return g_canonicalize_filename(target, dir);
}

static IcPciDevice *
owner_of_path(IcInventory *inv, const char *path)
{
  IcPciAddr a;
  if (path == NULL || !ic_host_path_pci_owner(path, &a))
    return NULL;
  return ic_inventory_find_device(inv, &a);
}

/* Every PCI function beneath a block device directory, following slaves/
 * of device-mapper and md devices (and of a partition's parent). */
static void
block_owners(IcInventory *inv, const char *blockdir, GPtrArray *owners, int depth)
{
  if (blockdir == NULL || depth > 8)
    return;
  IcPciDevice *dev = owner_of_path(inv, blockdir);
  if (dev != NULL) {
    if (!g_ptr_array_find(owners, dev, NULL))
      g_ptr_array_add(owners, dev);
    return;
  }
  g_autofree char *parent = g_path_get_dirname(blockdir);
  const char *dirs[] = {blockdir, parent, NULL};
  for (int k = 0; dirs[k]; k++) {
    g_autofree char *slaves = g_build_filename(dirs[k], "slaves", NULL);
    g_autoptr(GDir) d = g_dir_open(slaves, 0, NULL);
    if (d == NULL)
      continue;
    const char *name;
    while ((name = g_dir_read_name(d)) != NULL) {
      g_autofree char *link = g_build_filename(slaves, name, NULL);
      g_autofree char *resolved = resolve_link(link);
      block_owners(inv, resolved, owners, depth + 1);
    }
    break;
  }
}

static void
mark_owners(GPtrArray *owners, IcHostUseFlags kind, const char *detail)
{
  for (guint i = 0; i < owners->len; i++)
    ic_pci_device_add_host_use(g_ptr_array_index(owners, i), kind, detail);
}

static char *
unescape_mount_field(const char *s)
{
  /* mountinfo escapes space, tab, newline, backslash as \ooo */
  return g_strcompress(s);
}

static void
scan_mounts(IcInventory *inv)
{
  g_autofree char *path = ic_context_proc_path(inv->ctx, "/proc/self/mountinfo");
  g_autofree char *text = NULL;
  if (!ic_read_file(path, 16 << 20, &text, NULL, NULL)) {
    ic_host_note(&inv->host, "cannot read %s; mounted devices not detected", path);
    return;
  }
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
    guint nf = g_strv_length(f);
    if (nf < 7)
      continue;
    guint sep = 6;
    while (sep < nf && strcmp(f[sep], "-") != 0)
      sep++;
    if (sep + 2 >= nf)
      continue;
    const char *fstype = f[sep + 1], *source = f[sep + 2];
    guint major = 0, minor = 0;
    if (sscanf(f[2], "%u:%u", &major, &minor) != 2)
      continue;
    g_autofree char *blockdir = NULL;
    if (major != 0) {
      g_autofree char *rel = g_strdup_printf("/sys/dev/block/%u:%u", major, minor);
      g_autofree char *link = ic_context_sys_path(inv->ctx, rel);
      blockdir = resolve_link(link);
    } else if (g_str_has_prefix(source, "/dev/")) {
      /* btrfs and friends report an anonymous 0:N; the source names the disk */
      g_autofree char *base = g_path_get_basename(source);
      g_autofree char *rel = g_strdup_printf("/sys/class/block/%s", base);
      g_autofree char *link = ic_context_sys_path(inv->ctx, rel);
      blockdir = resolve_link(link);
    }
    if (blockdir == NULL)
      continue;
    g_autoptr(GPtrArray) owners = g_ptr_array_new();
    block_owners(inv, blockdir, owners, 0);
    if (owners->len == 0)
      continue;
    g_autofree char *mnt = unescape_mount_field(f[4]);
    g_autofree char *blk = g_path_get_basename(blockdir);
    g_autofree char *detail = g_strdup_printf("%s (%s) is mounted from %s", mnt, fstype, blk);
    gboolean root = strcmp(mnt, "/") == 0;
    /* the root filesystem is one entry (ROOT_FS) that also counts as a mount */
    mark_owners(owners, root ? IC_HOST_USE_ROOT_FS : IC_HOST_USE_MOUNT, detail);
    for (guint k = 0; root && k < owners->len; k++)
      ((IcPciDevice *) g_ptr_array_index(owners, k))->host_use_flags |= IC_HOST_USE_MOUNT;
  }
}

/* iface -> "default route" / "route" / "IPv6 address" */
static GHashTable *
interfaces_with_addresses(IcInventory *inv)
{
  GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *route_path = ic_context_proc_path(inv->ctx, "/proc/net/route");
  g_autofree char *text = NULL;
  if (ic_read_file(route_path, 4 << 20, &text, NULL, NULL)) {
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    /* the first line is the column header; an empty file has no lines */
    for (guint i = 1; lines[0] != NULL && lines[i]; i++) {
      char iface[64], dest[16];
      if (sscanf(lines[i], "%63s %15s", iface, dest) != 2)
        continue;
      gboolean is_default = strcmp(dest, "00000000") == 0;
      const char *old = g_hash_table_lookup(h, iface);
      if (is_default || old == NULL)
        g_hash_table_insert(h, g_strdup(iface), (gpointer) (is_default || (old && strcmp(old, "the default route") == 0)
                                                             ? "the default route" : "an IPv4 route"));
    }
  }
  g_autofree char *v6_path = ic_context_proc_path(inv->ctx, "/proc/net/if_inet6");
  g_autofree char *v6 = NULL;
  if (ic_read_file(v6_path, 4 << 20, &v6, NULL, NULL)) {
    g_auto(GStrv) lines = g_strsplit(v6, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
      char addr[40], iface[64];
      unsigned idx, plen, scope, flags;
      if (sscanf(lines[i], "%39s %x %x %x %x %63s", addr, &idx, &plen, &scope, &flags, iface) != 6)
        continue;
      if (scope == 0 && !g_hash_table_contains(h, iface)) /* global scope only */
        g_hash_table_insert(h, g_strdup(iface), (gpointer) "a global IPv6 address");
    }
  }
  return h;
}

static void
scan_network(IcInventory *inv)
{
  g_autofree char *dir = ic_context_sys_path(inv->ctx, "/sys/class/net");
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (d == NULL)
    return;
  g_autoptr(GHashTable) addressed = interfaces_with_addresses(inv);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) {
    const char *why = g_hash_table_lookup(addressed, name);
    if (why == NULL)
      continue;
    g_autofree char *link = g_build_filename(dir, name, NULL);
    g_autofree char *resolved = resolve_link(link);
    IcPciDevice *dev = owner_of_path(inv, resolved);
    if (dev == NULL)
      continue;
    g_autofree char *oper_path = g_build_filename(link, "operstate", NULL);
    g_autofree char *oper = ic_host_read_small(oper_path);
    if (oper != NULL && strcmp(oper, "down") == 0)
      continue;
    g_autofree char *detail = g_strdup_printf("network interface %s is up with %s", name, why);
    ic_pci_device_add_host_use(dev, IC_HOST_USE_NET, detail);
  }
}

static void
scan_console(IcInventory *inv)
{
  gboolean fbcon = FALSE, vgacon = FALSE;
  g_autofree char *vtdir = ic_context_sys_path(inv->ctx, "/sys/class/vtconsole");
  g_autoptr(GDir) vd = g_dir_open(vtdir, 0, NULL);
  const char *name;
  while (vd != NULL && (name = g_dir_read_name(vd)) != NULL) {
    g_autofree char *bind_path = g_build_filename(vtdir, name, "bind", NULL);
    g_autofree char *name_path = g_build_filename(vtdir, name, "name", NULL);
    g_autofree char *bind = ic_host_read_small(bind_path);
    g_autofree char *desc = ic_host_read_small(name_path);
    if (bind == NULL || strcmp(bind, "1") != 0 || desc == NULL)
      continue;
    if (strstr(desc, "frame buffer"))
      fbcon = TRUE;
    else if (strstr(desc, "VGA"))
      vgacon = TRUE;
  }
  g_autofree char *gdir = ic_context_sys_path(inv->ctx, "/sys/class/graphics");
  g_autoptr(GDir) gd = g_dir_open(gdir, 0, NULL);
  while (gd != NULL && (name = g_dir_read_name(gd)) != NULL) {
    if (!g_str_has_prefix(name, "fb"))
      continue;
    g_autofree char *link = g_build_filename(gdir, name, NULL);
    g_autofree char *resolved = resolve_link(link);
    IcPciDevice *dev = owner_of_path(inv, resolved);
    if (dev == NULL)
      continue;
    if (fbcon) {
      g_autofree char *detail = g_strdup_printf("framebuffer %s carries the text console (fbcon)", name);
      ic_pci_device_add_host_use(dev, IC_HOST_USE_CONSOLE, detail);
    } else if (dev->boot_vga) {
      g_autofree char *detail = g_strdup_printf("boot VGA device with framebuffer %s", name);
      ic_pci_device_add_host_use(dev, IC_HOST_USE_CONSOLE, detail);
    }
  }
  if (vgacon) {
    for (guint i = 0; i < inv->devices->len; i++) {
      IcPciDevice *dev = g_ptr_array_index(inv->devices, i);
      if (dev->boot_vga)
        ic_pci_device_add_host_use(dev, IC_HOST_USE_CONSOLE, "boot VGA device carries the VGA text console");
    }
  }
}

void
ic_host_use_scan(IcInventory *inv)
{
  scan_mounts(inv);
  scan_network(inv);
  scan_console(inv);
}
