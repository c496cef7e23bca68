/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommuctl diff OLD [NEW]: what a kernel, firmware or hardware change did
 * to the IOMMU layer, between two snapshot trees (or a snapshot and this
 * host), read through the host inventory of each.
 *
 * Devices are followed by identity (vendor, device, subsystem ids): a card
 * whose address changed "moved"; a different card at an address is
 * "replaced".  Groups are compared by the devices they hold, followed
 * through moves: a group whose devices now sit in several groups "split",
 * a group holding devices of several old groups "merged", otherwise its
 * members, type (DMA / identity) and verdict are compared. */
#include "persist/persist-private.h"
#include "iommuctl/host.h"
#include "util/ic-util.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

typedef struct {
  char *section;   /* "host", "devices", "groups", "persisted", "hostdevs" */
  char *kind;      /* "moved", "split", ... */
  char *subject;   /* address, "group 7", domain file */
  char *text;
  char **addrs;    /* the old and new addresses it concerns */
  int group;       /* old group (groups section), -1 otherwise */
  char **new_groups;
} DiffItem;

struct IcDiff {
  char *old_root, *new_root;
  GPtrArray *items;  /* DiffItem*, in section order */
};

static void
item_free(DiffItem *it)
{
  g_free(it->section);
  g_free(it->kind);
  g_free(it->subject);
  g_free(it->text);
  g_strfreev(it->addrs);
  g_strfreev(it->new_groups);
  g_free(it);
}

void
ic_diff_free(IcDiff *d)
{
  if (d == NULL)
    return;
  g_free(d->old_root);
  g_free(d->new_root);
  g_ptr_array_unref(d->items);
  g_free(d);
}

static DiffItem *
add_item(IcDiff *d, const char *section, const char *kind, const char *subject, char *text,
         const char *a1, const char *a2)
{
  DiffItem *it = g_new0(DiffItem, 1);
  it->section = g_strdup(section);
  it->kind = g_strdup(kind);
  it->subject = g_strdup(subject);
  it->text = text;
  it->group = -1;
  const char *v[3] = {a1, a1 ? a2 : NULL, NULL};
  it->addrs = g_strdupv((char **) v);
  g_ptr_array_add(d->items, it);
  return it;
}

/* ---- loading ----------------------------------------------------------- */

static IcInventory *
load_tree(IcContext *ctx, const char *root, GError **error)
{
  if (root != NULL) {
    g_autofree char *devs = g_build_filename(root, "sys", "bus", "pci", "devices", NULL);
    if (!g_file_test(devs, G_FILE_TEST_IS_DIR)) {
      g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "%s is not a snapshot directory (no %s); "
                  "'iommuctl snapshot DIR' makes one", root, devs);
      return NULL;
    }
    ic_context_set_sysfs_root(ctx, root);
    ic_context_set_proc_root(ctx, root);
  }
  IcInventory *inv = NULL;
  if (!ic_inventory_load(ctx, IC_INVENTORY_NO_NAMES, &inv, error))
    return NULL;
  return inv;
}

static char *
identity_key(const IcPciDevice *d)
{
  return g_strdup_printf("%04x:%04x:%04x:%04x", d->vendor_id, d->device_id, d->subsys_vendor_id,
                         d->subsys_device_id);
}

static char *
ids_text(const IcPciDevice *d)
{
  return g_strdup_printf("%04x:%04x", d->vendor_id, d->device_id);
}

static char *
behind_text(const IcPciDevice *d)
{
  if (d->parent == NULL)
    return g_strdup_printf("on root bus %s", d->root_bus ? d->root_bus : "?");
  return g_strdup_printf("behind %s (%s)", d->parent->name, ic_pcie_type_to_string(d->parent->pcie_type));
}

/* ---- devices ----------------------------------------------------------- */

/* old address -> new address of the same card (moves and stays) */
static GHashTable *
follow_devices(IcDiff *d, IcInventory *old, IcInventory *new)
{
  GHashTable *map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) taken = g_hash_table_new(g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new();
  for (guint i = 0; i < ic_inventory_n_devices(old); i++) {
    IcPciDevice *o = ic_inventory_device(old, i);
    IcPciDevice *n = ic_inventory_find_device(new, &o->addr);
    g_autofree char *ko = identity_key(o);
    g_autofree char *kn = n ? identity_key(n) : NULL;
    if (n != NULL && strcmp(ko, kn) == 0) {
      g_hash_table_insert(map, g_strdup(o->name), g_strdup(n->name));
      g_hash_table_add(taken, n->name);
    } else {
      g_ptr_array_add(gone, o);
    }
  }
  /* a card not at its old address: the first new address with its identity
   * that no old card of the same identity stays at */
  for (guint i = 0; i < gone->len; i++) {
    IcPciDevice *o = gone->pdata[i];
    g_autofree char *ko = identity_key(o);
    IcPciDevice *hit = NULL;
    for (guint k = 0; k < ic_inventory_n_devices(new) && hit == NULL; k++) {
      IcPciDevice *n = ic_inventory_device(new, k);
      g_autofree char *kn = identity_key(n);
      if (strcmp(ko, kn) == 0 && !g_hash_table_contains(taken, n->name) &&
          ic_inventory_find_device(old, &n->addr) == NULL)
        hit = n;
      else if (strcmp(ko, kn) == 0 && !g_hash_table_contains(taken, n->name)) {
        /* the new address held another card before: still a move */
        IcPciDevice *was = ic_inventory_find_device(old, &n->addr);
        g_autofree char *kw = identity_key(was);
        if (strcmp(kw, kn) != 0)
          hit = n;
      }
    }
    g_autofree char *ids = ids_text(o);
    if (hit != NULL) {
      g_hash_table_add(taken, hit->name);
      g_hash_table_insert(map, g_strdup(o->name), g_strdup(hit->name));
      g_autofree char *b1 = behind_text(o), *b2 = behind_text(hit);
      add_item(d, "devices", "moved", o->name,
               g_strdup_printf("%s %s moved to %s (was %s, now %s)", o->name, ids, hit->name, b1, b2),
               o->name, hit->name);
    } else {
      IcPciDevice *n = ic_inventory_find_device(new, &o->addr);
      if (n == NULL)
        add_item(d, "devices", "disappeared", o->name, g_strdup_printf("%s %s disappeared", o->name, ids),
                 o->name, NULL);
    }
  }
  for (guint k = 0; k < ic_inventory_n_devices(new); k++) {
    IcPciDevice *n = ic_inventory_device(new, k);
    if (g_hash_table_contains(taken, n->name))
      continue;
    IcPciDevice *o = ic_inventory_find_device(old, &n->addr);
    g_autofree char *ids = ids_text(n);
    if (o == NULL) {
      g_autofree char *b = behind_text(n);
      add_item(d, "devices", "appeared", n->name, g_strdup_printf("%s %s appeared (%s)", n->name, ids, b),
               n->name, NULL);
    } else {
      g_autofree char *was = ids_text(o);
      add_item(d, "devices", "replaced", n->name,
               g_strdup_printf("%s: a different card is in the slot (was %s, now %s)", n->name, was, ids),
               n->name, NULL);
    }
  }
  return map;
}

static void
compare_drivers(IcDiff *d, IcInventory *old, IcInventory *new, GHashTable *map)
{
  for (guint i = 0; i < ic_inventory_n_devices(old); i++) {
    IcPciDevice *o = ic_inventory_device(old, i);
    const char *to = g_hash_table_lookup(map, o->name);
    IcPciAddr a;
    if (to == NULL || !ic_pci_addr_parse(to, &a, NULL))
      continue;
    IcPciDevice *n = ic_inventory_find_device(new, &a);
    if (n != NULL && g_strcmp0(o->driver, n->driver) != 0)
      add_item(d, "devices", "driver", n->name,
               g_strdup_printf("%s: driver %s -> %s", n->name, o->driver ? o->driver : "(none)",
                               n->driver ? n->driver : "(none)"), o->name, n->name);
  }
}

/* ---- groups ------------------------------------------------------------ */

static char *
members_text(GPtrArray *names)
{
  g_autoptr(GString) s = g_string_new(NULL);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf(s, "%s%s", i ? " " : "", (const char *) names->pdata[i]);
  return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : g_strdup("(none)");
}

static gint
cmp_int(gconstpointer a, gconstpointer b)
{
  return *(const int *) a - *(const int *) b;
}

/* The old group's members, followed to their new addresses, are exactly now. */
static gboolean
same_members(const IcIommuGroup *og, GPtrArray *now, GHashTable *map)
{
  if (og->members->len != now->len)
    return FALSE;
  for (guint i = 0; i < og->members->len; i++) {
    const char *to = g_hash_table_lookup(map, ((IcPciDevice *) og->members->pdata[i])->name);
    gboolean hit = FALSE;
    for (guint k = 0; to && k < now->len && !hit; k++)
      hit = strcmp(now->pdata[k], to) == 0;
    if (!hit)
      return FALSE;
  }
  return TRUE;
}

static void
compare_group(IcDiff *d, IcIommuGroup *og, IcInventory *new, GHashTable *map, GHashTable *back)
{
  g_autoptr(GArray) targets = g_array_new(FALSE, FALSE, sizeof(int));
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  for (guint i = 0; i < og->members->len; i++) {
    const IcPciDevice *m = og->members->pdata[i];
    g_ptr_array_add(names, (gpointer) m->name);
    const char *to = g_hash_table_lookup(map, m->name);
    IcPciAddr a;
    IcPciDevice *n = to && ic_pci_addr_parse(to, &a, NULL) ? ic_inventory_find_device(new, &a) : NULL;
    int g = n ? n->iommu_group : -2;
    if (n == NULL)
      continue;
    gboolean seen = FALSE;
    for (guint k = 0; k < targets->len; k++)
      seen |= g_array_index(targets, int, k) == g;
    if (!seen)
      g_array_append_val(targets, g);
  }
  g_array_sort(targets, cmp_int);
  g_autofree char *was = members_text(names);
  g_autofree char *subject = g_strdup_printf("group %d", og->number);
  DiffItem *it = NULL;
  if (targets->len == 0) {
    it = add_item(d, "groups", "gone", subject, g_strdup_printf("group %d (%s) is gone: none of its "
                  "devices is in a group now", og->number, was), NULL, NULL);
  } else if (targets->len == 1 && g_array_index(targets, int, 0) < 0) {
    it = add_item(d, "groups", "ungrouped", subject, g_strdup_printf("group %d (%s): its devices have "
                  "no IOMMU group now (IOMMU off?)", og->number, was), NULL, NULL);
  } else if (targets->len > 1) {
    g_autoptr(GString) parts = g_string_new(NULL);
    for (guint k = 0; k < targets->len; k++) {
      int g = g_array_index(targets, int, k);
      IcIommuGroup *ng = g >= 0 ? ic_inventory_find_group(new, g) : NULL;
      g_autoptr(GPtrArray) nn = g_ptr_array_new();
      for (guint i = 0; ng && i < ng->members->len; i++)
        g_ptr_array_add(nn, ((IcPciDevice *) ng->members->pdata[i])->name);
      g_autofree char *t = members_text(nn);
      if (g >= 0)
        g_string_append_printf(parts, "%sgroup %d (%s)", parts->len ? ", " : "", g, t);
      else
        g_string_append_printf(parts, "%sno group", parts->len ? ", " : "");
    }
    it = add_item(d, "groups", "split", subject, g_strdup_printf("group %d (%s) split into %s", og->number,
                  was, parts->str), NULL, NULL);
  } else {
    int g = g_array_index(targets, int, 0);
    IcIommuGroup *ng = ic_inventory_find_group(new, g);
    if (ng == NULL)
      return;
    /* members of the new group, in old names where they came from one */
    g_autoptr(GPtrArray) now = g_ptr_array_new();
    g_autoptr(GArray) from = g_array_new(FALSE, FALSE, sizeof(int));
    for (guint i = 0; i < ng->members->len; i++) {
      const IcPciDevice *m = ng->members->pdata[i];
      g_ptr_array_add(now, (gpointer) m->name);
      const IcPciDevice *o = g_hash_table_lookup(back, m->name);
      int og_n = o ? o->iommu_group : -1;
      gboolean seen = FALSE;
      for (guint k = 0; k < from->len; k++)
        seen |= g_array_index(from, int, k) == og_n;
      if (!seen && og_n >= 0)
        g_array_append_val(from, og_n);
    }
    g_autofree char *is = members_text(now);
    g_autofree char *ng_s = g_strdup_printf("%d", g);
    if (from->len > 1) {
      it = add_item(d, "groups", "merged", subject, g_strdup_printf("group %d (%s) merged into group %d (%s)",
                    og->number, was, g, is), NULL, NULL);
    } else if (!same_members(og, now, map)) {
      it = add_item(d, "groups", "members", subject, g_strdup_printf("group %d changed members: %s -> "
                    "group %d: %s", og->number, was, g, is), NULL, NULL);
    } else if (og->number != g) {
      it = add_item(d, "groups", "renumbered", subject, g_strdup_printf("group %d (%s) is group %d now "
                    "(/dev/vfio/%d)", og->number, was, g, g), NULL, NULL);
    }
    if (it != NULL) {
      const char *v[2] = {ng_s, NULL};
      it->new_groups = g_strdupv((char **) v);
    }
    if (g_strcmp0(og->type, ng->type) != 0) {
      DiffItem *t = add_item(d, "groups", "type", subject, g_strdup_printf("group %d: type %s -> %s%s",
                             og->number, og->type ? og->type : "?", ng->type ? ng->type : "?",
                             ng->type && strcmp(ng->type, "identity") == 0
                               ? " (passthrough: no DMA translation for host drivers)" : ""), NULL, NULL);
      t->group = og->number;
    }
    if (og->verdict != ng->verdict) {
      DiffItem *v = add_item(d, "groups", "verdict", subject, g_strdup_printf("group %d: %s -> %s",
                             og->number, ic_group_verdict_to_string(og->verdict),
                             ic_group_verdict_to_string(ng->verdict)), NULL, NULL);
      v->group = og->number;
    }
  }
  if (it != NULL)
    it->group = og->number;
}

static void
compare_groups(IcDiff *d, IcInventory *old, IcInventory *new, GHashTable *map)
{
  /* new address -> old device, to name where a new group's members came from */
  g_autoptr(GHashTable) back = g_hash_table_new(g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer k, v;
  g_hash_table_iter_init(&iter, map);
  while (g_hash_table_iter_next(&iter, &k, &v)) {
    IcPciAddr a;
    if (ic_pci_addr_parse(k, &a, NULL))
      g_hash_table_insert(back, v, ic_inventory_find_device(old, &a));
  }
  for (guint i = 0; i < ic_inventory_n_groups(old); i++)
    compare_group(d, ic_inventory_group(old, i), new, map, back);
  /* groups made only of devices that are new */
  for (guint i = 0; i < ic_inventory_n_groups(new); i++) {
    IcIommuGroup *ng = ic_inventory_group(new, i);
    gboolean any_old = FALSE;
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    for (guint m = 0; m < ng->members->len; m++) {
      const IcPciDevice *dev = ng->members->pdata[m];
      const IcPciDevice *o = g_hash_table_lookup(back, dev->name);
      any_old |= o != NULL && o->iommu_group >= 0;
      g_ptr_array_add(names, (gpointer) dev->name);
    }
    if (!any_old && ng->members->len > 0) {
      g_autofree char *t = members_text(names);
      g_autofree char *subject = g_strdup_printf("group %d", ng->number);
      add_item(d, "groups", "new", subject, g_strdup_printf("group %d (%s) is new", ng->number, t), NULL, NULL);
    }
  }
}

static void
compare_host(IcDiff *d, IcInventory *old, IcInventory *new)
{
  const IcHostInfo *o = ic_inventory_host(old), *n = ic_inventory_host(new);
  if (o->iommu_enabled != n->iommu_enabled)
    add_item(d, "host", "iommu", "IOMMU", g_strdup_printf("IOMMU %s -> %s (%u groups -> %u)",
             o->iommu_enabled ? "enabled" : "disabled", n->iommu_enabled ? "enabled" : "disabled",
             o->n_groups, n->n_groups), NULL, NULL);
  if (g_strcmp0(o->default_domain_type, n->default_domain_type) != 0)
    add_item(d, "host", "default-domain", "default domain", g_strdup_printf("default domain type %s -> %s",
             o->default_domain_type ? o->default_domain_type : "(none)",
             n->default_domain_type ? n->default_domain_type : "(none)"), NULL, NULL);
  if (g_strcmp0(o->kernel_release, n->kernel_release) != 0)
    add_item(d, "host", "kernel", "kernel", g_strdup_printf("kernel %s -> %s", o->kernel_release,
             n->kernel_release), NULL, NULL);
  if (g_strcmp0(o->cmdline, n->cmdline) != 0)
    add_item(d, "host", "cmdline", "kernel command line", g_strdup_printf("kernel command line '%s' -> '%s'",
             o->cmdline ? o->cmdline : "", n->cmdline ? n->cmdline : ""), NULL, NULL);
  if (o->interrupt_remapping != n->interrupt_remapping)
    add_item(d, "host", "interrupt-remapping", "interrupt remapping",
             g_strdup_printf("interrupt remapping %s -> %s", o->interrupt_remapping == 1 ? "on" :
                             o->interrupt_remapping == 0 ? "off" : "unknown", n->interrupt_remapping == 1
                             ? "on" : n->interrupt_remapping == 0 ? "off" : "unknown"), NULL, NULL);
}

/* ---- what the changes hit: persisted bindings, hostdevs ------------------ */

/* Every reason an address is touched, device changes first, "; "-joined. */
static void
add_reason(GHashTable *out, const char *addr, const char *text)
{
  const char *had = g_hash_table_lookup(out, addr);
  if (had != NULL && strstr(had, text) != NULL)
    return;
  g_hash_table_insert(out, g_strdup(addr), had ? g_strconcat(had, "; ", text, NULL) : g_strdup(text));
}

/* Addresses (old and new) that any device or group change concerns. */
static void
touched_addresses(IcDiff *d, IcInventory *old, GHashTable *out)
{
  for (guint i = 0; i < d->items->len; i++) {
    DiffItem *it = d->items->pdata[i];
    for (char **a = it->addrs; a && *a; a++)
      add_reason(out, *a, it->text);
    if (it->group >= 0) {
      IcIommuGroup *g = ic_inventory_find_group(old, it->group);
      for (guint m = 0; g && m < g->members->len; m++)
        add_reason(out, ((IcPciDevice *) g->members->pdata[m])->name, it->text);
    }
  }
}

static void
check_persisted(IcDiff *d, IcContext *ctx, GHashTable *touched)
{
  g_autoptr(GPtrArray) recs = ic_persist_list(ctx, NULL);
  for (guint i = 0; recs != NULL && i < recs->len; i++) {
    const IcPersistDevice *r = recs->pdata[i];
    const char *why = g_hash_table_lookup(touched, r->name);
    if (why != NULL)
      add_item(d, "persisted", "affected", r->name, g_strdup_printf("persisted binding %s (group %u): %s",
               r->name, r->group, why), r->name, NULL);
  }
}

char **
ic_ps_domain_hostdevs(const char *xml, gsize len, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
  xmlDocPtr doc = xmlReadMemory(xml, (int) MIN(len, (gsize) G_MAXINT), "domain.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
  if (root == NULL || xmlStrcmp(root->name, BAD_CAST "domain") != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "not a libvirt domain XML document");
    xmlFreeDoc(doc);
    return NULL;
  }
  for (xmlNodePtr devs = root->children; devs; devs = devs->next) {
    if (devs->type != XML_ELEMENT_NODE || xmlStrcmp(devs->name, BAD_CAST "devices") != 0)
      continue;
    for (xmlNodePtr h = devs->children; h; h = h->next) {
      if (h->type != XML_ELEMENT_NODE || xmlStrcmp(h->name, BAD_CAST "hostdev") != 0)
        continue;
      xmlChar *type = xmlGetProp(h, BAD_CAST "type");
      gboolean pci = type && xmlStrcmp(type, BAD_CAST "pci") == 0;
      xmlFree(type);
      for (xmlNodePtr s = h->children; pci && s; s = s->next) {
        if (s->type != XML_ELEMENT_NODE || xmlStrcmp(s->name, BAD_CAST "source") != 0)
          continue;
        for (xmlNodePtr a = s->children; a; a = a->next) {
          if (a->type != XML_ELEMENT_NODE || xmlStrcmp(a->name, BAD_CAST "address") != 0)
            continue;
          const char *keys[] = {"domain", "bus", "slot", "function"};
          const guint64 max[] = {0xffff, 0xff, 0x1f, 7};
          guint64 v[4] = {0};
          gboolean ok = TRUE;
          for (int k = 0; k < 4 && ok; k++) {
            xmlChar *t = xmlGetProp(a, BAD_CAST keys[k]);
            const char *txt = (const char *) t;
            if (txt == NULL && k == 0)
              v[k] = 0;
            else
              ok = txt != NULL && ic_parse_uint64(g_str_has_prefix(txt, "0x") ? txt + 2 : txt, 16, max[k], &v[k]);
            xmlFree(t);
          }
          if (ok)
            g_ptr_array_add(out, g_strdup_printf("%04x:%02x:%02x.%x", (guint) v[0], (guint) v[1],
                                                 (guint) v[2], (guint) v[3]));
        }
      }
    }
  }
  xmlFreeDoc(doc);
  g_ptr_array_add(out, NULL);
  return (char **) g_ptr_array_steal(out, NULL);
}

static gboolean
check_domains(IcDiff *d, const char *const *domains, GHashTable *touched, GError **error)
{
  for (const char *const *f = domains; f && *f; f++) {
    g_autofree char *xml = NULL;
    gsize len = 0;
    if (!ic_read_file(*f, 16 << 20, &xml, &len, error))
      return FALSE;
    g_autoptr(GError) local = NULL;
    g_auto(GStrv) addrs = ic_ps_domain_hostdevs(xml, len, &local);
    if (addrs == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "--domain %s: %s", *f, local->message);
      return FALSE;
    }
    for (char **a = addrs; *a; a++) {
      const char *why = g_hash_table_lookup(touched, *a);
      if (why != NULL)
        add_item(d, "hostdevs", "affected", *f, g_strdup_printf("%s: hostdev %s: %s", *f, *a, why), *a, NULL);
    }
  }
  return TRUE;
}

/* ---- entry points -------------------------------------------------------- */

static gint
section_rank(const char *s)
{
  static const char *const order[] = {"host", "devices", "groups", "persisted", "hostdevs", NULL};
  for (int i = 0; order[i]; i++)
    if (strcmp(order[i], s) == 0)
      return i;
  return 99;
}

static gint
cmp_items(gconstpointer a, gconstpointer b)
{
  const DiffItem *x = *(DiffItem *const *) a, *y = *(DiffItem *const *) b;
  return section_rank(x->section) - section_rank(y->section);
}

IcDiff *
ic_diff_new(IcContext *ctx, const char *old_root, const char *new_root, const char *const *domains,
            GError **error)
{
  g_autoptr(IcContext) octx = ic_context_new();
  g_autoptr(IcContext) nctx = ic_context_new();
  g_autoptr(IcInventory) old = load_tree(octx, old_root, error);
  if (old == NULL)
    return NULL;
  g_autoptr(IcInventory) new = NULL;
  if (new_root != NULL)
    new = load_tree(nctx, new_root, error);
  else if (!ic_inventory_load(ctx, IC_INVENTORY_NO_NAMES, &new, error))
    new = NULL;
  if (new == NULL)
    return NULL;
  IcDiff *d = g_new0(IcDiff, 1);
  d->old_root = g_strdup(old_root);
  d->new_root = g_strdup(new_root);
  d->items = g_ptr_array_new_with_free_func((GDestroyNotify) item_free);
  compare_host(d, old, new);
  g_autoptr(GHashTable) map = follow_devices(d, old, new);
  compare_drivers(d, old, new, map);
  compare_groups(d, old, new, map);
  g_autoptr(GHashTable) touched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  touched_addresses(d, old, touched);
  check_persisted(d, ctx, touched);
  if (!check_domains(d, domains, touched, error)) {
    ic_diff_free(d);
    return NULL;
  }
  g_ptr_array_sort(d->items, cmp_items); /* stable (GLib >= 2.32): keeps the order within a section */
  return d;
}

gboolean
ic_diff_changed(const IcDiff *d)
{
  return d->items->len > 0;
}

static guint
count(const IcDiff *d, const char *section)
{
  guint n = 0;
  for (guint i = 0; i < d->items->len; i++)
    n += strcmp(((DiffItem *) d->items->pdata[i])->section, section) == 0;
  return n;
}

char *
ic_diff_to_text(const IcDiff *d)
{
  GString *s = g_string_new(NULL);
  if (!ic_diff_changed(d)) {
    g_string_append_printf(s, "no change between %s and %s\n", d->old_root,
                           d->new_root ? d->new_root : "this host");
    return g_string_free(s, FALSE);
  }
  g_string_append_printf(s, "summary: %u host, %u device, %u group change(s); %u persisted binding(s) and "
                         "%u hostdev(s) affected (%s -> %s)\n", count(d, "host"), count(d, "devices"),
                         count(d, "groups"), count(d, "persisted"), count(d, "hostdevs"), d->old_root,
                         d->new_root ? d->new_root : "this host");
  const char *section = NULL;
  for (guint i = 0; i < d->items->len; i++) {
    const DiffItem *it = d->items->pdata[i];
    if (g_strcmp0(section, it->section) != 0) {
      section = it->section;
      g_string_append_printf(s, "\n%s:\n", section);
    }
    g_string_append_printf(s, "  %-12s %s\n", it->kind, it->text);
  }
  return g_string_free(s, FALSE);
}

char *
ic_diff_to_json(const IcDiff *d)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  ic_json_add_string(b, "schema", "iommuctl.diff");
  ic_json_add_int(b, "version", 1);
  ic_json_add_bool(b, "changed", ic_diff_changed(d));
  ic_json_add_string(b, "old", d->old_root);
  ic_json_add_string_or_null(b, "new", d->new_root);
  json_builder_set_member_name(b, "summary");
  json_builder_begin_object(b);
  static const char *const sections[] = {"host", "devices", "groups", "persisted", "hostdevs", NULL};
  for (int k = 0; sections[k]; k++)
    ic_json_add_int(b, sections[k], count(d, sections[k]));
  json_builder_end_object(b);
  for (int k = 0; sections[k]; k++) {
    json_builder_set_member_name(b, sections[k]);
    json_builder_begin_array(b);
    for (guint i = 0; i < d->items->len; i++) {
      const DiffItem *it = d->items->pdata[i];
      if (strcmp(it->section, sections[k]) != 0)
        continue;
      json_builder_begin_object(b);
      ic_json_add_string(b, "kind", it->kind);
      ic_json_add_string(b, "subject", it->subject);
      if (it->group >= 0)
        ic_json_add_int(b, "group", it->group);
      json_builder_set_member_name(b, "addresses");
      json_builder_begin_array(b);
      for (char **a = it->addrs; a && *a; a++)
        json_builder_add_string_value(b, *a);
      json_builder_end_array(b);
      ic_json_add_string(b, "text", it->text);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
  }
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree char *text = ic_json_to_string(root, TRUE);
  return g_strconcat(text, "\n", NULL);
}
