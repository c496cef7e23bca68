/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* persist --verify: is each persisted device on its vfio driver, did a host
 * driver bind it first, and is it still the same hardware?  Reads only the
 * recorded addresses and groups; the bus is listed only to find where a
 * card went. */
#include "persist/persist-private.h"
#include "iommuctl/host.h"
#include "util/ic-util.h"

const char *
ic_persist_state_to_string(IcPersistState s)
{
  switch (s) {
  case IC_PERSIST_BOUND: return "bound";
  case IC_PERSIST_HOST_FIRST: return "host-driver-first";
  case IC_PERSIST_NOT_BOUND: return "not-bound";
  case IC_PERSIST_HARDWARE_CHANGED: return "hardware-changed";
  }
  return "?";
}

void
ic_persist_check_free(IcPersistCheck *c)
{
  if (c == NULL)
    return;
  ic_persist_device_free(c->record);
  g_free(c->current_driver);
  g_free(c->host_first_driver);
  g_free(c->moved_to);
  g_ptr_array_unref(c->changes);
  g_free(c);
}

/* /run/iommuctl/host-bound: "<address> <driver>" lines the udev rule
 * appends when a host driver bound a persisted device this boot.  The
 * last driver named per address wins. */
GHashTable *
ic_ps_parse_host_bound(const char *text)
{
  GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_auto(GStrv) w = g_strsplit(g_strstrip(*l), " ", 3);
    IcPciAddr a;
    if (w[0] == NULL || w[1] == NULL || w[1][0] == '\0' || !ic_pci_addr_parse(w[0], &a, NULL))
      continue;
    g_hash_table_replace(seen, ic_pci_addr_to_string(&a), g_strdup(w[1]));
  }
  return seen;
}

/* /run/iommuctl/host-bound, written by the udev rule (see persist-files.c) */
static GHashTable *
read_host_bound(IcContext *ctx)
{
  g_autofree char *path = ic_context_sys_path(ctx, "/run/iommuctl/host-bound");
  g_autofree char *text = NULL;
  if (!ic_read_file(path, 1 << 20, &text, NULL, NULL))
    return ic_ps_parse_host_bound("");
  return ic_ps_parse_host_bound(text);
}

static char *
ids_text(guint v, guint d, guint sv, guint sd)
{
  return g_strdup_printf("%04x:%04x (subsystem %04x:%04x)", v, d, sv, sd);
}

static char *
strv_text(char **v)
{
  return v && v[0] ? g_strjoinv(" ", v) : g_strdup("(none)");
}

static void
compare_group(IcContext *ctx, IcPersistCheck *c, const IcPsIdentity *id)
{
  const IcPersistDevice *r = c->record;
  g_auto(GStrv) now = ic_ps_group_members(ctx, id->group);
  if (!g_strv_equal((const char *const *) now, (const char *const *) r->members)) {
    g_autofree char *was = strv_text(r->members), *is = strv_text(now);
    g_ptr_array_add(c->changes, g_strdup_printf("the group changed (firmware or kernel update?): group %u "
                                                "had %s, now group %d has %s", r->group, was, id->group, is));
  }
  g_auto(GStrv) ports = ic_ps_ports_above(ctx, r->name);
  if (!g_strv_equal((const char *const *) ports, (const char *const *) r->ports)) {
    g_autofree char *was = strv_text(r->ports), *is = strv_text(ports);
    g_ptr_array_add(c->changes, g_strdup_printf("the ports above changed: were %s, now %s", was, is));
  }
}

static void
look_elsewhere(IcContext *ctx, IcPersistCheck *c)
{
  const IcPersistDevice *r = c->record;
  g_autoptr(GPtrArray) hits = ic_ps_find_identity(ctx, r->vendor, r->device, r->subsys_vendor,
                                                  r->subsys_device);
  for (guint i = 0; i < hits->len; i++)
    if (strcmp(hits->pdata[i], r->name) == 0)
      g_ptr_array_remove_index(hits, i--);
  if (hits->len == 0)
    return;
  c->moved_to = g_strdup(hits->pdata[0]);
  g_autofree char *ids = ids_text(r->vendor, r->device, r->subsys_vendor, r->subsys_device);
  g_ptr_array_add(c->changes, g_strdup_printf("the card moved: %s is now at %s%s (persisted at %s)", ids,
                                              c->moved_to, hits->len > 1 ? " and other addresses" : "",
                                              r->name));
}

static IcPersistCheck *
check_one(IcContext *ctx, const IcPersistDevice *rec, GHashTable *host_bound)
{
  IcPersistCheck *c = g_new0(IcPersistCheck, 1);
  c->record = g_new0(IcPersistDevice, 1);
  *c->record = *rec;
  c->record->name = g_strdup(rec->name);
  c->record->driver = g_strdup(rec->driver);
  c->record->host_driver = g_strdup(rec->host_driver);
  c->record->host_module = g_strdup(rec->host_module);
  c->record->members = g_strdupv(rec->members);
  c->record->ports = g_strdupv(rec->ports);
  c->record->config_root = g_strdup(rec->config_root);
  c->record->command = g_strdup(rec->command);
  c->record->since = g_strdup(rec->since);
  c->changes = g_ptr_array_new_with_free_func(g_free);

  IcPsIdentity id;
  ic_ps_read_identity(ctx, rec->name, &id);
  c->present = id.present;
  c->current_driver = g_strdup(id.driver);
  gboolean same = id.present && id.vendor == rec->vendor && id.device == rec->device &&
                  id.subsys_vendor == rec->subsys_vendor && id.subsys_device == rec->subsys_device;
  g_autofree char *was = ids_text(rec->vendor, rec->device, rec->subsys_vendor, rec->subsys_device);
  if (!id.present) {
    g_ptr_array_add(c->changes, g_strdup_printf("no device at %s any more (was %s)", rec->name, was));
  } else if (!same) {
    g_autofree char *is = ids_text(id.vendor, id.device, id.subsys_vendor, id.subsys_device);
    g_ptr_array_add(c->changes, g_strdup_printf("a new card is in the slot: %s was %s, is %s now; "
                                                "it was left alone", rec->name, was, is));
  } else {
    compare_group(ctx, c, &id);
  }
  if (!same)
    look_elsewhere(ctx, c);
  const char *first = g_hash_table_lookup(host_bound, rec->name);
  if (same && first != NULL)
    c->host_first_driver = g_strdup(first);
  if (c->changes->len > 0)
    c->state = IC_PERSIST_HARDWARE_CHANGED;
  else if (g_strcmp0(id.driver, rec->driver) != 0)
    c->state = IC_PERSIST_NOT_BOUND;
  else if (c->host_first_driver != NULL)
    c->state = IC_PERSIST_HOST_FIRST;
  else
    c->state = IC_PERSIST_BOUND;
  ic_ps_identity_clear(&id);
  return c;
}

GPtrArray *
ic_persist_verify(IcContext *ctx, GError **error)
{
  g_autoptr(GPtrArray) records = ic_persist_list(ctx, error);
  if (records == NULL)
    return NULL;
  g_autoptr(GHashTable) host_bound = read_host_bound(ctx);
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify) ic_persist_check_free);
  for (guint i = 0; i < records->len; i++)
    g_ptr_array_add(out, check_one(ctx, records->pdata[i], host_bound));
  return out;
}

IcCheckItem *
ic_persist_check_item(IcContext *ctx)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) checks = ic_persist_verify(ctx, &error);
  /* nothing persisted, or a state directory this user cannot read: no item */
  if (checks == NULL || checks->len == 0)
    return NULL;
  IcCheckItem *it = g_new0(IcCheckItem, 1);
  it->id = g_strdup("persisted-bindings");
  it->title = g_strdup("Persisted vfio bindings in place");
  guint worst = IC_PERSIST_BOUND;
  g_autoptr(GString) bad = g_string_new(NULL);
  for (guint i = 0; i < checks->len; i++) {
    const IcPersistCheck *c = checks->pdata[i];
    worst = MAX(worst, (guint) c->state);
    if (c->state != IC_PERSIST_BOUND)
      g_string_append_printf(bad, "%s%s %s", bad->len ? ", " : "", c->record->name,
                             ic_persist_state_to_string(c->state));
  }
  it->status = worst == IC_PERSIST_BOUND ? IC_CHECK_PASS
             : worst == IC_PERSIST_HARDWARE_CHANGED ? IC_CHECK_FAIL : IC_CHECK_WARN;
  it->detail = bad->len ? g_strdup(bad->str) : g_strdup_printf("%u device(s) on their vfio driver", checks->len);
  if (worst != IC_PERSIST_BOUND)
    it->fix = g_strdup("'iommuctl persist --verify' explains each device");
  return it;
}
