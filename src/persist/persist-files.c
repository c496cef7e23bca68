/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files that make a persisted binding happen at boot, generated from
 * the records alone (sorted by address), so the same records always give
 * the same bytes and running persist twice changes nothing.
 *
 * udev rule (the mechanism that matters): on "add", a device at the
 * recorded address with the recorded vendor, device and subsystem ids gets
 * driver_override before 80-drivers.rules loads any module for it; then
 * vfio-pci is loaded (or, when it is already loaded or built in, the device
 * is probed again).  A device that a host driver bound anyway (a built-in or
 * initramfs driver at coldplug, or a module another device's event loaded
 * first) is recorded in /run/iommuctl/host-bound for `persist --verify`,
 * unbound and probed again, but only while driver_override still names the
 * vfio driver: an operator who cleared it and bound a host driver by hand
 * is not fought (without that condition the reprobe would bind the host
 * driver again, and the rule would run for ever).  Nothing matches a different card at the
 * address, so a new occupant is left alone. */
#include "persist/persist-private.h"
#include "util/ic-util.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define RULES_PATH "/etc/udev/rules.d/41-iommuctl-vfio.rules"
#define MODULES_LOAD_PATH "/etc/modules-load.d/iommuctl-vfio.conf"
#define MODPROBE_PATH "/etc/modprobe.d/iommuctl-vfio.conf"
#define ITOOLS_HOOK_PATH "/etc/initramfs-tools/hooks/iommuctl-vfio"
#define DRACUT_MODULE_PATH "/usr/lib/dracut/modules.d/90iommuctl-vfio/module-setup.sh"
#define DRACUT_CONF_PATH "/etc/dracut.conf.d/iommuctl-vfio.conf"
#define MARKER "Written by iommuctl"

static const char *const all_paths[] = {
  RULES_PATH, MODULES_LOAD_PATH, MODPROBE_PATH, ITOOLS_HOOK_PATH, DRACUT_MODULE_PATH,
  DRACUT_CONF_PATH, NULL,
};

const char *
ic_persist_file_action_to_string(IcPersistFileAction a)
{
  switch (a) {
  case IC_PERSIST_FILE_WRITE: return "write";
  case IC_PERSIST_FILE_UNCHANGED: return "unchanged";
  case IC_PERSIST_FILE_REMOVE: return "remove";
  }
  return "?";
}

void
ic_ps_file_free(IcPersistFile *f)
{
  if (f == NULL)
    return;
  g_free(f->path);
  g_free(f->content);
  g_free(f->mechanism);
  g_free(f);
}

char *
ic_ps_join_root(const char *config_root, const char *abs_path)
{
  if (config_root == NULL || strcmp(config_root, "/") == 0)
    return g_strdup(abs_path);
  return g_build_filename(config_root, abs_path, NULL);
}

/* The command lines go into comments: no line breaks or control characters. */
static char *
comment_safe(const char *text)
{
  g_autoptr(GString) s = g_string_new(NULL);
  for (const char *p = text; *p; p++)
    g_string_append_c(s, (unsigned char) *p < 0x20 || *p == 0x7f ? '?' : *p);
  return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
header(GString *s, GPtrArray *records, const char *comment, const char *what)
{
  g_string_append_printf(s, "%s " MARKER ": %s.\n", comment, what);
  g_string_append_printf(s, "%s Do not edit: 'iommuctl unpersist' removes what 'iommuctl persist' wrote.\n",
                         comment);
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < records->len; i++) {
    const IcPersistDevice *d = records->pdata[i];
    if (!g_hash_table_add(seen, d->command))
      continue;
    g_autofree char *cmd = comment_safe(d->command);
    g_string_append_printf(s, "%s Made by: %s\n", comment, cmd);
  }
}

static void
identity_match(GString *s, const IcPersistDevice *d)
{
  g_string_append_printf(s, "SUBSYSTEM==\"pci\", KERNEL==\"%s\", ATTR{vendor}==\"0x%04x\", "
                         "ATTR{device}==\"0x%04x\", ATTR{subsystem_vendor}==\"0x%04x\", "
                         "ATTR{subsystem_device}==\"0x%04x\"",
                         d->name, d->vendor, d->device, d->subsys_vendor, d->subsys_device);
}

static char *
render_rules(GPtrArray *records, const IcPsRender *r)
{
  GString *s = g_string_new(NULL);
  header(s, records, "#", "driver_override for persisted devices, matched by address AND identity");
  for (guint i = 0; i < records->len; i++) {
    const IcPersistDevice *d = records->pdata[i];
    g_string_append_printf(s, "\n# %s: group %u, %04x:%04x subsystem %04x:%04x class %06x, host driver %s\n",
                           d->name, d->group, d->vendor, d->device, d->subsys_vendor, d->subsys_device,
                           d->class_code, d->host_driver ? d->host_driver : "(none)");
    g_string_append(s, "ACTION==\"add\", ");
    identity_match(s, d);
    g_string_append_printf(s, ", ATTR{driver_override}=\"%s\"", d->driver);
    if (!r->vfio_builtin || strcmp(d->driver, "vfio-pci") != 0)
      g_string_append_printf(s, ", RUN{builtin}+=\"kmod load %s\"", d->driver);
    g_string_append(s, ", RUN+=\"/bin/sh -c 'echo $kernel > /sys/bus/pci/drivers_probe'\"\n");
    /* a host driver got there first: say so for --verify, then take it back */
    g_string_append(s, "ACTION==\"add|bind\", ");
    identity_match(s, d);
    g_string_append_printf(s, ", ATTR{driver_override}==\"%s\", DRIVER==\"?*\", DRIVER!=\"%s\", "
                           "RUN+=\"/bin/sh -c 'mkdir -p /run/iommuctl; "
                           "echo $kernel $env{DRIVER} >> /run/iommuctl/host-bound; "
                           "echo $kernel > /sys/bus/pci/devices/$kernel/driver/unbind; "
                           "echo $kernel > /sys/bus/pci/drivers_probe'\"\n", d->driver, d->driver);
  }
  return g_string_free(s, FALSE);
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Distinct non-NULL values of a field, sorted. */
static GPtrArray *
distinct(GPtrArray *records, gboolean host_module)
{
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  GPtrArray *out = g_ptr_array_new();
  for (guint i = 0; i < records->len; i++) {
    const IcPersistDevice *d = records->pdata[i];
    char *v = host_module ? d->host_module : d->driver;
    if (v != NULL && g_hash_table_add(seen, v))
      g_ptr_array_add(out, v);
  }
  g_ptr_array_sort(out, compare_strings);
  return out;
}

static char *
render_modules_load(GPtrArray *records)
{
  GString *s = g_string_new(NULL);
  header(s, records, "#", "load the vfio driver of persisted devices early");
  g_autoptr(GPtrArray) drivers = distinct(records, FALSE);
  for (guint i = 0; i < drivers->len; i++)
    g_string_append_printf(s, "%s\n", (const char *) drivers->pdata[i]);
  return g_string_free(s, FALSE);
}

static char *
render_softdeps(GPtrArray *records, GPtrArray *modules)
{
  GString *s = g_string_new(NULL);
  header(s, records, "#", "load vfio-pci before the host drivers of persisted devices");
  g_autoptr(GPtrArray) drivers = distinct(records, FALSE);
  g_autofree char *pre = NULL;
  {
    g_autoptr(GPtrArray) v = g_ptr_array_copy(drivers, NULL, NULL);
    g_ptr_array_add(v, NULL);
    pre = g_strjoinv(" ", (char **) v->pdata);
  }
  for (guint i = 0; i < modules->len; i++)
    g_string_append_printf(s, "softdep %s pre: %s\n", (const char *) modules->pdata[i], pre);
  return g_string_free(s, FALSE);
}

static char *
render_itools_hook(GPtrArray *records, const IcPsRender *r)
{
  GString *s = g_string_new("#!/bin/sh\n");
  header(s, records, "#", "initramfs-tools hook putting the persisted vfio bindings into the initramfs");
  g_string_append(s, "PREREQ=\"udev\"\nprereqs() { echo \"$PREREQ\"; }\n"
                     "case \"$1\" in\nprereqs) prereqs; exit 0 ;;\nesac\n"
                     ". /usr/share/initramfs-tools/hook-functions\n");
  if (!r->vfio_builtin) {
    g_autoptr(GPtrArray) drivers = distinct(records, FALSE);
    for (guint i = 0; i < drivers->len; i++)
      g_string_append_printf(s, "manual_add_modules %s\n", (const char *) drivers->pdata[i]);
    g_string_append(s, "copy_file config " MODPROBE_PATH " " MODPROBE_PATH "\n");
  }
  g_string_append(s, "copy_file config " RULES_PATH " " RULES_PATH "\n");
  return g_string_free(s, FALSE);
}

static char *
render_dracut_module(GPtrArray *records, const IcPsRender *r)
{
  GString *s = g_string_new("#!/bin/bash\n");
  header(s, records, "#", "dracut module putting the persisted vfio bindings into the initramfs");
  g_string_append(s, "check() { return 0; }\ndepends() { echo udev-rules; return 0; }\n");
  if (!r->vfio_builtin) {
    g_autoptr(GPtrArray) drivers = distinct(records, FALSE);
    g_string_append(s, "installkernel() { hostonly='' instmods");
    for (guint i = 0; i < drivers->len; i++)
      g_string_append_printf(s, " %s", (const char *) drivers->pdata[i]);
    g_string_append(s, "; }\n");
  }
  g_string_append(s, "install() {\n    inst_rules " RULES_PATH "\n");
  if (!r->vfio_builtin)
    g_string_append(s, "    inst_simple " MODPROBE_PATH "\n");
  g_string_append(s, "}\n");
  return g_string_free(s, FALSE);
}

static char *
render_dracut_conf(GPtrArray *records)
{
  GString *s = g_string_new(NULL);
  header(s, records, "#", "include the iommuctl-vfio dracut module");
  g_string_append(s, "add_dracutmodules+=\" iommuctl-vfio \"\n");
  return g_string_free(s, FALSE);
}

static void
add_file(GPtrArray *files, const char *path, char *content, const char *mechanism)
{
  IcPersistFile *f = g_new0(IcPersistFile, 1);
  f->path = g_strdup(path);
  f->content = content;
  f->action = IC_PERSIST_FILE_WRITE;
  f->mechanism = g_strdup(mechanism);
  g_ptr_array_add(files, f);
}

GPtrArray *
ic_ps_render(GPtrArray *records, const char *config_root, const IcPsRender *r)
{
  GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify) ic_ps_file_free);
  if (records->len > 0) {
    add_file(files, RULES_PATH, render_rules(records, r), "udev");
    if (!r->vfio_builtin) {
      add_file(files, MODULES_LOAD_PATH, render_modules_load(records), "modules-load");
      g_autoptr(GPtrArray) modules = distinct(records, TRUE);
      if (modules->len > 0)
        add_file(files, MODPROBE_PATH, render_softdeps(records, modules), "softdep");
    }
    if (g_strcmp0(r->initramfs_kind, "initramfs-tools") == 0)
      add_file(files, ITOOLS_HOOK_PATH, render_itools_hook(records, r), "initramfs-tools");
    else if (g_strcmp0(r->initramfs_kind, "dracut") == 0) {
      add_file(files, DRACUT_MODULE_PATH, render_dracut_module(records, r), "dracut");
      add_file(files, DRACUT_CONF_PATH, render_dracut_conf(records), "dracut");
    }
  }
  /* the files of ours the records no longer need */
  for (const char *const *p = all_paths; *p; p++) {
    gboolean wanted = FALSE;
    for (guint i = 0; i < files->len && !wanted; i++)
      wanted = strcmp(((IcPersistFile *) files->pdata[i])->path, *p) == 0;
    g_autofree char *real = ic_ps_join_root(config_root, *p);
    if (!wanted && g_file_test(real, G_FILE_TEST_EXISTS)) {
      IcPersistFile *f = g_new0(IcPersistFile, 1);
      f->path = g_strdup(*p);
      f->action = IC_PERSIST_FILE_REMOVE;
      f->mechanism = g_strdup("");
      g_ptr_array_add(files, f);
    }
  }
  return files;
}

void
ic_ps_compare_disk(GPtrArray *files, const char *config_root)
{
  for (guint i = 0; i < files->len; i++) {
    IcPersistFile *f = files->pdata[i];
    if (f->action != IC_PERSIST_FILE_WRITE)
      continue;
    g_autofree char *real = ic_ps_join_root(config_root, f->path);
    g_autofree char *old = NULL;
    if (ic_read_file(real, 1 << 20, &old, NULL, NULL) && strcmp(old, f->content) == 0)
      f->action = IC_PERSIST_FILE_UNCHANGED;
  }
}

/* A file at one of our paths that does not carry our marker is someone
 * else's: never overwrite or remove it. */
static gboolean
check_ours(const char *real, GError **error)
{
  g_autofree char *old = NULL;
  if (!g_file_test(real, G_FILE_TEST_EXISTS))
    return TRUE;
  if (g_file_test(real, G_FILE_TEST_IS_SYMLINK) || !ic_read_file(real, 1 << 20, &old, NULL, NULL) ||
      strstr(old, MARKER) == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT,
                "%s exists and was not written by iommuctl; move it away first", real);
    return FALSE;
  }
  return TRUE;
}

gboolean
ic_ps_check_files(GPtrArray *files, const char *config_root, GError **error)
{
  for (guint i = 0; i < files->len; i++) {
    const IcPersistFile *f = files->pdata[i];
    g_autofree char *real = ic_ps_join_root(config_root, f->path);
    if (f->action != IC_PERSIST_FILE_UNCHANGED && !check_ours(real, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
is_executable(const char *path)
{
  return g_str_has_suffix(path, ".sh") || strstr(path, "/hooks/") != NULL;
}

gboolean
ic_ps_apply_files(GPtrArray *files, const char *config_root, GError **error)
{
  for (guint i = 0; i < files->len; i++) {
    IcPersistFile *f = files->pdata[i];
    g_autofree char *real = ic_ps_join_root(config_root, f->path);
    if (f->action == IC_PERSIST_FILE_UNCHANGED)
      continue;
    if (!check_ours(real, error))
      return FALSE;
    if (f->action == IC_PERSIST_FILE_REMOVE) {
      if (unlink(real) < 0 && errno != ENOENT) {
        g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot remove %s: %s", real, g_strerror(errno));
        return FALSE;
      }
      continue;
    }
    g_autofree char *dir = g_path_get_dirname(real);
    if (!ic_mkdir_p(dir, 0755, error) ||
        !ic_write_file_atomic(real, f->content, strlen(f->content), error))
      return FALSE;
    if (is_executable(f->path) && chmod(real, 0755) < 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot make %s executable: %s", real, g_strerror(errno));
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- initramfs ----------------------------------------------------------- */

const char *
ic_ps_initramfs_kind(const char *config_root)
{
  g_autofree char *itools = ic_ps_join_root(config_root, "/etc/initramfs-tools");
  g_autofree char *dracut1 = ic_ps_join_root(config_root, "/etc/dracut.conf.d");
  g_autofree char *dracut2 = ic_ps_join_root(config_root, "/usr/lib/dracut");
  if (g_file_test(itools, G_FILE_TEST_IS_DIR))
    return "initramfs-tools";
  if (g_file_test(dracut1, G_FILE_TEST_IS_DIR) || g_file_test(dracut2, G_FILE_TEST_IS_DIR))
    return "dracut";
  return NULL;
}

const char *
ic_ps_initramfs_command(const char *kind)
{
  if (g_strcmp0(kind, "initramfs-tools") == 0)
    return "update-initramfs -u -k all";
  if (g_strcmp0(kind, "dracut") == 0)
    return "dracut --regenerate-all --force";
  return NULL;
}

static gboolean
same_module(const char *a, const char *b)
{
  for (; *a && *b; a++, b++)
    if (!(*a == *b || ((*a == '-' || *a == '_') && (*b == '-' || *b == '_'))))
      return FALSE;
  return *a == *b;
}

/* Words of the lines of a file that name modules (initramfs-tools'
 * modules file: first word; dracut: add_drivers / force_drivers values). */
static gboolean
listed_in(const char *path, const char *module, gboolean dracut)
{
  g_autofree char *text = NULL;
  if (!ic_read_file(path, 1 << 20, &text, NULL, NULL))
    return FALSE;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    const char *line = g_strstrip(*l);
    if (*line == '#' || *line == '\0')
      continue;
    if (dracut && !g_str_has_prefix(line, "add_drivers") && !g_str_has_prefix(line, "force_drivers"))
      continue;
    g_auto(GStrv) words = g_strsplit_set(dracut ? strchr(line, '=') ? strchr(line, '=') + 1 : "" : line,
                                         " \t\"'+", -1);
    for (char **w = words; *w; w++) {
      if (same_module(*w, module))
        return TRUE;
      if (!dracut && **w)
        break; /* initramfs-tools: only the first word names the module */
    }
  }
  return FALSE;
}

/* The image itself, listed by the distribution's own tool (real host only). */
static gboolean
in_image(IcContext *ctx, const char *kind, const char *module)
{
  const char *rel = ic_context_kernel_release(ctx);
  g_autofree char *image = g_strcmp0(kind, "dracut") == 0
    ? g_strdup_printf("/boot/initramfs-%s.img", rel) : g_strdup_printf("/boot/initrd.img-%s", rel);
  const char *tool = g_strcmp0(kind, "dracut") == 0 ? "lsinitrd" : "lsinitramfs";
  g_autofree char *tool_path = g_find_program_in_path(tool);
  if (tool_path == NULL || !g_file_test(image, G_FILE_TEST_EXISTS))
    return FALSE;
  const char *argv[] = {tool_path, image, NULL};
  g_autofree char *out = NULL;
  int status = 0;
  if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                    &status, NULL) || out == NULL)
    return FALSE;
  g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_autofree char *base = g_path_get_basename(*l);
    char *dot = strstr(base, ".ko");
    if (dot != NULL) {
      *dot = '\0';
      if (same_module(base, module))
        return TRUE;
    }
  }
  return FALSE;
}

gboolean
ic_ps_module_in_initramfs(IcContext *ctx, const char *config_root, const char *kind,
                          const char *module)
{
  if (kind == NULL || module == NULL)
    return FALSE;
  if (strcmp(kind, "initramfs-tools") == 0) {
    g_autofree char *p = ic_ps_join_root(config_root, "/etc/initramfs-tools/modules");
    if (listed_in(p, module, FALSE))
      return TRUE;
  } else {
    g_autofree char *dir = ic_ps_join_root(config_root, "/etc/dracut.conf.d");
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *e;
    while (d != NULL && (e = g_dir_read_name(d)) != NULL) {
      g_autofree char *p = g_build_filename(dir, e, NULL);
      if (g_str_has_suffix(e, ".conf") && listed_in(p, module, TRUE))
        return TRUE;
    }
  }
  return (config_root == NULL || strcmp(config_root, "/") == 0) && ic_context_is_real_host(ctx) &&
         in_image(ctx, kind, module);
}
