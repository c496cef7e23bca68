/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* persist, unpersist, list, verify.
 *
 * persist: the assign layer's plan gives the closure (whole groups) and the
 * refusals (host-critical devices; bridges left alone); its journaled detach
 * binds what is present; then, under the assign lock, the records go into
 * persist.db and the files are regenerated from all records of the config
 * root.  A dry run stops before the detach and writes nothing. */
#include "persist/persist-private.h"
#include "assign/assign-private.h"
#include "iommuctl/assign.h"
#include "iommuctl/host.h"
#include "util/ic-util.h"

#include <errno.h>

/* ---- records -------------------------------------------------------------- */

void
ic_persist_device_free(IcPersistDevice *d)
{
  if (d == NULL)
    return;
  g_free(d->name);
  g_free(d->driver);
  g_free(d->host_driver);
  g_free(d->host_module);
  g_strfreev(d->members);
  g_strfreev(d->ports);
  g_free(d->config_root);
  g_free(d->command);
  g_free(d->since);
  g_free(d);
}

char **
ic_persist_parse_addr_list(const char *text, const char *what, GError **error)
{
  g_auto(GStrv) words = g_strsplit(text, " ", -1);
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  for (char **w = words; *w; w++) {
    if (**w == '\0' && words[1] == NULL)
      break; /* "" is the empty list */
    IcPciAddr a;
    if (strlen(*w) != 12 || !ic_pci_addr_parse(*w, &a, NULL)) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: '%s' is not a PCI address", what, *w);
      g_ptr_array_free(out, TRUE);
      return NULL;
    }
    g_ptr_array_add(out, ic_pci_addr_to_string(&a));
  }
  g_ptr_array_set_free_func(out, NULL);
  g_ptr_array_add(out, NULL);
  return (char **) g_ptr_array_free(out, FALSE);
}

/* Driver and module names end up in udev rules and shell lines. */
static gboolean
is_plain_name(const char *s)
{
  if (s == NULL || *s == '\0' || strlen(s) > 64)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

gboolean
ic_persist_device_validate(const IcPersistDevice *d, GError **error)
{
  IcPciAddr a;
  const char *bad = NULL;
  if (d->name == NULL || strlen(d->name) != 12 || !ic_pci_addr_parse(d->name, &a, NULL))
    bad = "address";
  else if (!is_plain_name(d->driver))
    bad = "driver";
  else if (d->host_driver != NULL && !is_plain_name(d->host_driver))
    bad = "host driver";
  else if (d->host_module != NULL && !is_plain_name(d->host_module))
    bad = "host module";
  else if (d->config_root == NULL || d->config_root[0] != '/' || strstr(d->config_root, "\n"))
    bad = "config root";
  if (bad != NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "record %s: bad %s", d->name ? d->name : "?", bad);
    return FALSE;
  }
  return TRUE;
}

void
ic_persist_result_free(IcPersistResult *r)
{
  if (r == NULL)
    return;
  g_ptr_array_unref(r->devices);
  g_ptr_array_unref(r->files);
  g_ptr_array_unref(r->notes);
  g_ptr_array_unref(r->actions);
  g_free(r->initramfs_kind);
  g_free(r->initramfs_command);
  g_free(r);
}

static IcPersistResult *
result_new(gboolean dry_run)
{
  IcPersistResult *r = g_new0(IcPersistResult, 1);
  r->dry_run = dry_run;
  r->devices = g_ptr_array_new_with_free_func((GDestroyNotify) ic_persist_device_free);
  r->files = g_ptr_array_new_with_free_func((GDestroyNotify) ic_ps_file_free);
  r->notes = g_ptr_array_new_with_free_func(g_free);
  r->actions = g_ptr_array_new_with_free_func(g_free);
  return r;
}

static IcPersistDevice *
device_copy(const IcPersistDevice *d)
{
  IcPersistDevice *c = g_new0(IcPersistDevice, 1);
  *c = *d;
  c->name = g_strdup(d->name);
  c->driver = g_strdup(d->driver);
  c->host_driver = g_strdup(d->host_driver);
  c->host_module = g_strdup(d->host_module);
  c->members = g_strdupv(d->members);
  c->ports = g_strdupv(d->ports);
  c->config_root = g_strdup(d->config_root);
  c->command = g_strdup(d->command);
  c->since = g_strdup(d->since);
  return c;
}

static char *
now_iso(void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  return g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
}

/* ---- files of one config root ------------------------------------------------ */

/* Render the files of root from records (only those under root) and say
 * what the initramfs needs. */
static GPtrArray *
files_for_root(IcContext *ctx, GPtrArray *records, const char *root, IcPersistResult *res)
{
  g_autoptr(GPtrArray) mine = g_ptr_array_new();
  for (guint i = 0; i < records->len; i++)
    if (strcmp(((IcPersistDevice *) records->pdata[i])->config_root, root) == 0)
      g_ptr_array_add(mine, records->pdata[i]);
  IcPsRender r = {.vfio_builtin = ic_ps_vfio_pci_builtin(ctx)};
  const char *kind = ic_ps_initramfs_kind(root);
  for (guint i = 0; i < mine->len && r.initramfs_kind == NULL; i++) {
    const IcPersistDevice *d = mine->pdata[i];
    if (ic_ps_module_in_initramfs(ctx, root, kind, d->host_module)) {
      r.initramfs_kind = kind;
      g_ptr_array_add(res->notes, g_strdup_printf("%s: its host driver module %s is in the initramfs: "
                                                  "the binding goes into it too (%s)", d->name,
                                                  d->host_module, kind));
    }
  }
  res->vfio_builtin = r.vfio_builtin;
  if (r.vfio_builtin && mine->len > 0)
    g_ptr_array_add(res->notes, g_strdup("vfio-pci is built into this kernel (modules.builtin): "
                                         "no modules-load.d or softdep lines, driver_override alone binds"));
  GPtrArray *files = ic_ps_render(mine, root, &r);
  ic_ps_compare_disk(files, root);
  /* the initramfs must be rebuilt when its hook is written or removed, or,
   * while it has the hook, when a file the hook copies changed */
  gboolean changed = FALSE;
  for (guint i = 0; i < files->len; i++) {
    const IcPersistFile *f = files->pdata[i];
    gboolean hook = strstr(f->path, "initramfs-tools") || strstr(f->path, "dracut");
    if (f->action != IC_PERSIST_FILE_UNCHANGED && (hook || r.initramfs_kind != NULL))
      changed = TRUE;
  }
  if (changed && kind != NULL) {
    g_free(res->initramfs_kind);
    res->initramfs_kind = g_strdup(kind);
    g_free(res->initramfs_command);
    res->initramfs_command = g_strdup(ic_ps_initramfs_command(kind));
  }
  return files;
}

static gboolean
regenerate_initramfs(IcPersistResult *res, const char *root, gboolean update, GError **error)
{
  if (res->initramfs_command == NULL)
    return TRUE;
  if (!update || res->dry_run) {
    g_ptr_array_add(res->notes, g_strdup_printf("the initramfs must be regenerated: run '%s' "
                                                "(or give --update-initramfs)", res->initramfs_command));
    return TRUE;
  }
  if (strcmp(root, "/") != 0) {
    g_ptr_array_add(res->notes, g_strdup_printf("not regenerating the initramfs of another root (%s): "
                                                "run '%s' there", root, res->initramfs_command));
    return TRUE;
  }
  g_auto(GStrv) argv = g_strsplit(res->initramfs_command, " ", -1);
  int status = 0;
  g_autofree char *err = NULL;
  if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                    NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status(status, NULL)) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "'%s' failed: %s; the files are written, run it again",
                res->initramfs_command, err ? g_strstrip(err) : "");
    return FALSE;
  }
  res->initramfs_updated = TRUE;
  g_ptr_array_add(res->actions, g_strdup_printf("initramfs regenerated ('%s')", res->initramfs_command));
  return TRUE;
}

/* Store update and file writes together, under the assign lock so that no
 * other iommuctl operation sees half of it. */
static gboolean
commit(IcContext *ctx, IcPsStore *store, GPtrArray *put, GPtrArray *drop, GPtrArray *files,
       const char *root, GError **error)
{
  int fd = ic_as_lock(ctx, error);
  if (fd < 0)
    return FALSE;
  gboolean ok = ic_ps_store_update(store, put, drop, error) && ic_ps_apply_files(files, root, error);
  ic_as_unlock(fd);
  return ok;
}

/* ---- persist -------------------------------------------------------------- */

static gboolean
refuse_blocked(const IcAssignPlan *plan, gboolean force, GError **error)
{
  g_autoptr(GString) why = g_string_new(NULL);
  for (guint k = 0; k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    for (guint i = 0; i < g->members->len; i++) {
      const IcAssignMember *m = g->members->pdata[i];
      if (m->action == IC_ASSIGN_BLOCKED)
        g_string_append_printf(why, "%s%s (group %u): %s%s", why->len ? "; " : "", m->name, g->number,
                               m->reason, m->holds_root ? " (it holds the root filesystem: never, "
                               "even with --force)" : "");
    }
  }
  if (why->len == 0)
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED, "refused, nothing was written: %s%s", why->str,
              force ? "" : " ('--force' persists members the host uses, never the root filesystem's)");
  return FALSE;
}

/* The driver a member had before iommuctl moved it (the assign registry),
 * for a member already on vfio. */
static char *
original_driver(IcAssignStatus *st, const IcAssignMember *m)
{
  if (m->driver != NULL && !ic_as_is_vfio_driver(m->driver))
    return g_strdup(m->driver);
  for (guint i = 0; st != NULL && i < st->detached->len; i++) {
    const IcAssignDetached *d = st->detached->pdata[i];
    if (strcmp(d->name, m->name) == 0)
      return g_strdup(d->original_driver);
  }
  return NULL;
}

static IcPersistDevice *
record_member(IcContext *ctx, const IcAssignGroup *g, const IcAssignMember *m, IcAssignStatus *st,
              const IcPersistOptions *o, const char *root, const char *since)
{
  IcPsIdentity id;
  ic_ps_read_identity(ctx, m->name, &id);
  IcPersistDevice *d = g_new0(IcPersistDevice, 1);
  d->name = g_strdup(m->name);
  d->group = g->number;
  d->vendor = id.vendor;
  d->device = id.device;
  d->subsys_vendor = id.subsys_vendor;
  d->subsys_device = id.subsys_device;
  d->class_code = id.class_code;
  d->driver = g_strdup(m->target_driver ? m->target_driver : o->driver ? o->driver : "vfio-pci");
  d->host_driver = original_driver(st, m);
  d->host_module = ic_ps_driver_module(ctx, d->host_driver);
  d->members = ic_ps_group_members(ctx, (int) g->number);
  d->ports = ic_ps_ports_above(ctx, m->name);
  d->config_root = g_strdup(root);
  d->command = g_strdup(o->command ? o->command : "iommuctl persist");
  d->since = g_strdup(since);
  ic_ps_identity_clear(&id);
  return d;
}

static gint
compare_records(gconstpointer a, gconstpointer b)
{
  return strcmp((*(IcPersistDevice *const *) a)->name, (*(IcPersistDevice *const *) b)->name);
}

/* records with the new ones in (replacing the same addresses), sorted */
static GPtrArray *
merge(GPtrArray *old, GPtrArray *add)
{
  GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify) ic_persist_device_free);
  for (guint i = 0; i < old->len; i++) {
    const IcPersistDevice *o = old->pdata[i];
    gboolean replaced = FALSE;
    for (guint k = 0; k < add->len && !replaced; k++)
      replaced = strcmp(((IcPersistDevice *) add->pdata[k])->name, o->name) == 0;
    if (!replaced)
      g_ptr_array_add(all, device_copy(o));
  }
  for (guint k = 0; k < add->len; k++) {
    IcPersistDevice *n = add->pdata[k];
    /* persisting the same device again keeps the date it was first persisted */
    for (guint i = 0; i < old->len; i++) {
      const IcPersistDevice *o = old->pdata[i];
      if (strcmp(o->name, n->name) == 0 && o->vendor == n->vendor && o->device == n->device &&
          o->subsys_vendor == n->subsys_vendor && o->subsys_device == n->subsys_device) {
        g_free(n->since);
        n->since = g_strdup(o->since);
      }
    }
    g_ptr_array_add(all, device_copy(n));
  }
  g_ptr_array_sort(all, compare_records);
  return all;
}

static GPtrArray *
load_records(IcContext *ctx, gboolean create, IcPsStore **store_out, GError **error)
{
  g_autoptr(GError) local = NULL;
  IcPsStore *store = ic_ps_store_open(ctx, create, &local);
  if (store == NULL && local != NULL) {
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  GPtrArray *records = store ? ic_ps_store_load(store, error)
                             : g_ptr_array_new_with_free_func((GDestroyNotify) ic_persist_device_free);
  if (records == NULL) {
    ic_ps_store_close(store);
    return NULL;
  }
  if (store_out != NULL)
    *store_out = store;
  else
    ic_ps_store_close(store);
  return records;
}

static gboolean
check_config_root(const char *root, GError **error)
{
  if (root[0] != '/' || strchr(root, '\n') != NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "--config-root %s: must be an absolute path", root);
    return FALSE;
  }
  return TRUE;
}

IcPersistResult *
ic_persist(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs, const IcPersistOptions *o,
           GError **error)
{
  const char *root = o->config_root ? o->config_root : "/";
  if (!check_config_root(root, error))
    return NULL;
  if (o->driver != NULL && !is_plain_name(o->driver)) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "--driver %s: not a driver name", o->driver);
    return NULL;
  }
  g_autoptr(IcAssignPlan) plan = ic_assign_plan_new(ctx, addrs, n_addrs, o->driver, error);
  if (plan == NULL)
    return NULL;
  if (o->force)
    ic_assign_plan_force(plan);
  if (!refuse_blocked(plan, o->force, error))
    return NULL;

  g_autoptr(IcPersistResult) res = result_new(o->dry_run);
  g_autoptr(IcAssignStatus) st = ic_assign_status_new(ctx, NULL);
  g_autofree char *since = now_iso();
  for (guint k = 0; k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    for (guint i = 0; i < g->members->len; i++) {
      const IcAssignMember *m = g->members->pdata[i];
      if (m->action != IC_ASSIGN_BRIDGE_OK) /* bridges stay on their driver */
        g_ptr_array_add(res->devices, record_member(ctx, g, m, st, o, root, since));
    }
  }
  if (res->devices->len == 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                "nothing to persist: the groups of the devices given hold only bridges");
    return NULL;
  }

  g_autoptr(IcPsStore) store = NULL;
  g_autoptr(GPtrArray) old = load_records(ctx, !o->dry_run, o->dry_run ? NULL : &store, error);
  if (old == NULL)
    return NULL;
  g_autoptr(GPtrArray) all = merge(old, res->devices);
  g_autoptr(GPtrArray) files = files_for_root(ctx, all, root, res);
  g_ptr_array_extend_and_steal(res->files, g_steal_pointer(&files));
  if (!ic_ps_check_files(res->files, root, error))
    return NULL;
  /* a device persisted before under another config root: its lines go from there */
  g_autoptr(GPtrArray) moved_from = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < old->len; i++) {
    const IcPersistDevice *prev = old->pdata[i];
    for (guint k = 0; k < res->devices->len; k++)
      if (strcmp(((IcPersistDevice *) res->devices->pdata[k])->name, prev->name) == 0 &&
          strcmp(prev->config_root, root) != 0 &&
          !g_ptr_array_find_with_equal_func(moved_from, prev->config_root, g_str_equal, NULL))
        g_ptr_array_add(moved_from, g_strdup(prev->config_root));
  }
  if (o->dry_run)
    return regenerate_initramfs(res, root, FALSE, error) ? g_steal_pointer(&res) : NULL;

  /* bind what is present now: the assign layer's journaled detach */
  IcAssignDetachOptions dopts = {.driver = o->driver, .force = o->force};
  g_autoptr(IcAssignReport) rep = NULL;
  if (!ic_assign_detach(ctx, addrs, n_addrs, &dopts, &rep, error)) {
    g_prefix_error(error, "binding failed, nothing was persisted: ");
    return NULL;
  }
  res->op_id = rep ? rep->op_id : 0;
  for (guint i = 0; rep != NULL && i < rep->lines->len; i++)
    g_ptr_array_add(res->actions, g_strdup(rep->lines->pdata[i]));
  if (!commit(ctx, store, res->devices, NULL, res->files, root, error)) {
    g_prefix_error(error, "the devices are bound to vfio now but the binding was not persisted "
                          "('iommuctl reattach' gives them back): ");
    return NULL;
  }
  for (guint k = 0; k < moved_from->len; k++) {
    g_autoptr(IcPersistResult) scratch = result_new(FALSE);
    g_autoptr(GPtrArray) rf = files_for_root(ctx, all, moved_from->pdata[k], scratch);
    if (!commit(ctx, store, NULL, NULL, rf, moved_from->pdata[k], error))
      return NULL;
    g_ptr_array_add(res->notes, g_strdup_printf("persisted before under %s: its lines there were removed",
                                                (const char *) moved_from->pdata[k]));
  }
  for (guint i = 0; i < res->files->len; i++) {
    const IcPersistFile *f = res->files->pdata[i];
    if (f->action != IC_PERSIST_FILE_UNCHANGED)
      g_ptr_array_add(res->actions, g_strdup_printf("%s %s", f->action == IC_PERSIST_FILE_REMOVE
                                                    ? "removed" : "wrote", f->path));
  }
  if (!regenerate_initramfs(res, root, o->update_initramfs, error))
    return NULL;
  return g_steal_pointer(&res);
}

/* ---- unpersist ---------------------------------------------------------- */

static gboolean
identity_matches(IcContext *ctx, const IcPersistDevice *d, IcPsIdentity *id)
{
  ic_ps_read_identity(ctx, d->name, id);
  return id->present && id->vendor == d->vendor && id->device == d->device &&
         id->subsys_vendor == d->subsys_vendor && id->subsys_device == d->subsys_device;
}

/* Give the devices back through the assign layer's journaled reattach: only
 * those iommuctl detached (its registry knows their driver) and whose
 * identity still matches; anything else is left alone and said so. */
static gboolean
give_back(IcContext *ctx, GPtrArray *selected, IcPersistResult *res, GError **error)
{
  g_autoptr(IcAssignStatus) st = ic_assign_status_new(ctx, NULL);
  g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  for (guint i = 0; i < selected->len; i++) {
    const IcPersistDevice *d = selected->pdata[i];
    IcPsIdentity id;
    gboolean same = identity_matches(ctx, d, &id);
    gboolean registered = FALSE;
    for (guint k = 0; st != NULL && k < st->detached->len && !registered; k++)
      registered = strcmp(((IcAssignDetached *) st->detached->pdata[k])->name, d->name) == 0;
    if (!same)
      g_ptr_array_add(res->notes, g_strdup_printf("%s: %s, left alone", d->name, id.present
                                                  ? "another card is at this address now"
                                                  : "no device at this address now"));
    else if (registered) {
      IcPciAddr a;
      ic_pci_addr_parse(d->name, &a, NULL);
      g_array_append_val(addrs, a);
    } else if (id.driver != NULL && ic_as_is_vfio_driver(id.driver))
      g_ptr_array_add(res->notes, g_strdup_printf("%s: stays on %s: iommuctl has no record of the driver "
                                                  "it had before", d->name, id.driver));
    ic_ps_identity_clear(&id);
  }
  if (addrs->len == 0)
    return TRUE;
  g_autoptr(IcAssignReport) rep = NULL;
  gboolean ok = ic_assign_reattach(ctx, (IcPciAddr *) addrs->data, addrs->len, FALSE, &rep, error);
  for (guint i = 0; rep != NULL && i < rep->lines->len; i++)
    g_ptr_array_add(res->actions, g_strdup(rep->lines->pdata[i]));
  if (rep != NULL)
    res->op_id = rep->op_id;
  if (!ok)
    g_prefix_error(error, "giving the devices back failed, nothing was unpersisted: ");
  return ok;
}

static gboolean
select_records(GPtrArray *records, const IcPciAddr *addrs, guint n_addrs, gboolean all,
               GPtrArray *selected, GError **error)
{
  for (guint i = 0; i < n_addrs && !all; i++) {
    g_autofree char *dev = ic_pci_addr_to_string(&addrs[i]);
    gboolean hit = FALSE;
    for (guint r = 0; r < records->len && !hit; r++)
      hit = strcmp(((IcPersistDevice *) records->pdata[r])->name, dev) == 0;
    if (!hit) {
      g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "%s is not persisted ('iommuctl persist --list' "
                  "shows what is); nothing was changed", dev);
      return FALSE;
    }
  }
  for (guint r = 0; r < records->len; r++) {
    IcPersistDevice *d = records->pdata[r];
    gboolean take = all;
    /* the whole recorded group, or the next boot splits it */
    for (guint i = 0; i < n_addrs && !take; i++) {
      g_autofree char *dev = ic_pci_addr_to_string(&addrs[i]);
      for (guint k = 0; k < records->len && !take; k++) {
        const IcPersistDevice *e = records->pdata[k];
        take = strcmp(e->name, dev) == 0 && e->group == d->group && strcmp(e->config_root, d->config_root) == 0;
      }
    }
    if (take)
      g_ptr_array_add(selected, d);
  }
  return TRUE;
}

IcPersistResult *
ic_unpersist(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs, const IcUnpersistOptions *o,
             GError **error)
{
  g_autoptr(IcPsStore) store = NULL;
  g_autoptr(GPtrArray) records = load_records(ctx, FALSE, &store, error);
  if (records == NULL)
    return NULL;
  g_autoptr(IcPersistResult) res = result_new(o->dry_run);
  g_autoptr(GPtrArray) selected = g_ptr_array_new();
  if (!select_records(records, addrs, n_addrs, o->all, selected, error))
    return NULL;
  if (selected->len == 0) {
    g_ptr_array_add(res->notes, g_strdup("nothing is persisted"));
    return g_steal_pointer(&res);
  }
  g_autoptr(GPtrArray) remaining = g_ptr_array_new();
  for (guint r = 0; r < records->len; r++)
    if (!g_ptr_array_find(selected, records->pdata[r], NULL))
      g_ptr_array_add(remaining, records->pdata[r]);
  for (guint i = 0; i < selected->len; i++)
    g_ptr_array_add(res->devices, device_copy(selected->pdata[i]));

  /* every config root the selected records used */
  g_autoptr(GPtrArray) roots = g_ptr_array_new();
  for (guint i = 0; i < selected->len; i++) {
    const char *root = ((IcPersistDevice *) selected->pdata[i])->config_root;
    if (!g_ptr_array_find_with_equal_func(roots, root, g_str_equal, NULL))
      g_ptr_array_add(roots, (gpointer) root);
  }
  for (guint k = 0; k < roots->len; k++) {
    g_autoptr(GPtrArray) files = files_for_root(ctx, remaining, roots->pdata[k], res);
    g_ptr_array_extend_and_steal(res->files, g_steal_pointer(&files));
  }
  if (o->dry_run)
    return g_steal_pointer(&res);
  if (!o->keep_bound && !give_back(ctx, selected, res, error))
    return NULL;
  for (guint k = 0; k < roots->len; k++) {
    /* the files of this root, rendered again (cheap) so each root is applied on its own */
    g_autoptr(IcPersistResult) scratch = result_new(FALSE);
    g_autoptr(GPtrArray) rf = files_for_root(ctx, remaining, roots->pdata[k], scratch);
    if (!commit(ctx, store, NULL, k == 0 ? selected : NULL, rf, roots->pdata[k], error))
      return NULL;
    for (guint i = 0; i < rf->len; i++) {
      const IcPersistFile *f = rf->pdata[i];
      if (f->action != IC_PERSIST_FILE_UNCHANGED)
        g_ptr_array_add(res->actions, g_strdup_printf("%s %s", f->action == IC_PERSIST_FILE_REMOVE
                                                      ? "removed" : "wrote", f->path));
    }
  }
  if (!regenerate_initramfs(res, "/", FALSE, error))
    return NULL;
  return g_steal_pointer(&res);
}

GPtrArray *
ic_persist_list(IcContext *ctx, GError **error)
{
  return load_records(ctx, FALSE, NULL, error);
}
