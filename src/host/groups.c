/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IOMMU groups and their assignability verdicts.
 *
 * The rules follow what the kernel's vfio demands of a group before a
 * container accepts it ("viable"): every member is bound to a vfio driver,
 * to pci-stub, to pcieport (bridges), or to nothing.  On top of that:
 * a member the host uses makes the group "host in use", and endpoints of
 * more than one slot in one group mean some port lacks isolation (no or
 * disabled ACS, or a PCIe-to-PCI bridge that aliases requester IDs). */
#include "host/host-private.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* libvirt's PCI_EXT_CAP_ACS_ENABLED: source validation, request and
 * completion redirect, upstream forwarding */
#define ACS_ENABLED_MASK 0x001d

const char *
ic_group_verdict_to_string(IcGroupVerdict v)
{
  switch (v) {
  case IC_GROUP_ASSIGNABLE: return "assignable";
  case IC_GROUP_NEEDS_DETACH: return "needs detach";
  case IC_GROUP_NOT_ISOLATED: return "not isolated";
  case IC_GROUP_HOST_IN_USE: return "host in use";
  }
  return "unknown";
}

const char *
ic_group_verdict_to_id(IcGroupVerdict v)
{
  switch (v) {
  case IC_GROUP_ASSIGNABLE: return "assignable";
  case IC_GROUP_NEEDS_DETACH: return "needs-detach";
  case IC_GROUP_NOT_ISOLATED: return "not-isolated";
  case IC_GROUP_HOST_IN_USE: return "host-in-use";
  }
  return "unknown";
}

gboolean
ic_host_parse_group_link(const char *target, gint64 *number)
{
  /* the kernel's link is "../../../../kernel/iommu_groups/N"; anything else
   * (a bare number, "garbage/5", "5 ") is a damaged or forged tree */
  static const char suffix[] = "kernel/iommu_groups/";
  const char *slash = target ? strrchr(target, '/') : NULL;
  if (slash == NULL)
    return FALSE;
  const char *digits = slash + 1;
  gsize prefix_len = (gsize) (digits - target);
  if (prefix_len < sizeof suffix - 1 || memcmp(digits - (sizeof suffix - 1), suffix, sizeof suffix - 1) != 0)
    return FALSE;
  if (prefix_len > sizeof suffix - 1 && digits[-(gssize) sizeof suffix] != '/')
    return FALSE;
  if (*digits == '\0' || strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 9)
    return FALSE;
  return ic_parse_int64(digits, 10, 0, G_MAXINT, number);
}

static void
reason_free(gpointer p)
{
  IcGroupReason *r = p;
  g_free(r->text);
  g_free(r);
}

void
ic_iommu_group_free(IcIommuGroup *g)
{
  if (g == NULL)
    return;
  g_free(g->type);
  g_strfreev(g->reserved_regions);
  g_ptr_array_unref(g->members);
  g_ptr_array_unref(g->reasons);
  g_free(g);
}

static void G_GNUC_PRINTF(4, 5)
add_reason(IcIommuGroup *g, IcGroupVerdict kind, IcPciDevice *dev, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  IcGroupReason *r = g_new0(IcGroupReason, 1);
  r->kind = kind;
  r->device = dev;
  r->text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_ptr_array_add(g->reasons, r);
  if (kind > g->verdict)
    g->verdict = kind;
}

static gboolean
is_vfio_driver(const char *drv)
{
  /* vfio-pci and the vfio variant drivers (mlx5_vfio_pci, ...) */
  return drv != NULL && (g_str_has_prefix(drv, "vfio") || strstr(drv, "_vfio_pci") != NULL);
}

/* A port that does not isolate what is below it. */
static const char *
port_isolation_problem(const IcPciDevice *p)
{
  if (p->pcie_type == IC_PCIE_PCIE_TO_PCI_BRIDGE || (p->header_type == IC_HEADER_BRIDGE && p->pcie_type == IC_PCIE_NONE))
    return "is a PCI bridge: the devices behind it share one requester ID";
  if (p->pcie_type != IC_PCIE_DOWNSTREAM_PORT && p->pcie_type != IC_PCIE_ROOT_PORT)
    return NULL;
  if (!p->config_extended)
    return NULL; /* unknown; don't accuse */
  if (!p->has_acs)
    return "lacks ACS";
  if ((p->acs_ctrl & ACS_ENABLED_MASK) != ACS_ENABLED_MASK)
    return "has ACS but does not enable it (control lacks SV/RR/CR/UF)";
  return NULL;
}

static void
check_isolation(IcIommuGroup *g)
{
  /* functions of one slot (a multifunction card like GPU+HDA) belong
   * together; the question is whether *different* slots were merged */
  const IcPciDevice *first = NULL;
  gboolean several_slots = FALSE;
  for (guint i = 0; i < g->members->len && !several_slots; i++) {
    const IcPciDevice *d = g_ptr_array_index(g->members, i);
    if (ic_pci_device_is_bridge(d))
      continue;
    if (first == NULL)
      first = d;
    else if (d->addr.domain != first->addr.domain || d->addr.bus != first->addr.bus || d->addr.slot != first->addr.slot)
      several_slots = TRUE;
  }
  if (!several_slots)
    return;
  g_autoptr(GPtrArray) culprits = g_ptr_array_new();
  for (guint i = 0; i < g->members->len; i++) {
    IcPciDevice *d = g_ptr_array_index(g->members, i);
    if (ic_pci_device_is_bridge(d))
      continue;
    int guard = 0;
    for (IcPciDevice *p = d->parent; p != NULL && guard < 64; p = p->parent, guard++) {
      if (port_isolation_problem(p) != NULL) {
        if (!g_ptr_array_find(culprits, p, NULL))
          g_ptr_array_add(culprits, p);
        break;
      }
    }
  }
  g_autoptr(GString) eps = g_string_new(NULL);
  for (guint i = 0; i < g->members->len; i++) {
    IcPciDevice *d = g_ptr_array_index(g->members, i);
    if (!ic_pci_device_is_bridge(d))
      g_string_append_printf(eps, "%s%s", eps->len ? ", " : "", d->name);
  }
  if (culprits->len == 0) {
    add_reason(g, IC_GROUP_NOT_ISOLATED, NULL,
               "endpoints of different slots share the group (%s) without an isolating port "
               "(root-bus functions without ACS, or a platform quirk)", eps->str);
    return;
  }
  for (guint i = 0; i < culprits->len; i++) {
    IcPciDevice *p = g_ptr_array_index(culprits, i);
    add_reason(g, IC_GROUP_NOT_ISOLATED, p, "endpoints %s are not isolated: %s %s %s", eps->str,
               ic_pcie_type_to_string(p->pcie_type), p->name, port_isolation_problem(p));
  }
}

static void
judge(IcIommuGroup *g)
{
  g->verdict = IC_GROUP_ASSIGNABLE;
  for (guint i = 0; i < g->members->len; i++) {
    IcPciDevice *d = g_ptr_array_index(g->members, i);
    for (guint k = 0; k < d->host_uses->len; k++) {
      IcHostUse *u = g_ptr_array_index(d->host_uses, k);
      add_reason(g, IC_GROUP_HOST_IN_USE, d, "%s is used by the host: %s", d->name, u->detail);
    }
  }
  check_isolation(g);
  for (guint i = 0; i < g->members->len; i++) {
    IcPciDevice *d = g_ptr_array_index(g->members, i);
    const char *drv = d->driver;
    if (ic_pci_device_is_bridge(d)) {
      if (drv != NULL && strcmp(drv, "pcieport") != 0 && strcmp(drv, "pci-stub") != 0)
        add_reason(g, IC_GROUP_NEEDS_DETACH, d, "bridge %s is bound to %s (vfio accepts only pcieport, pci-stub or none)",
                   d->name, drv);
      continue;
    }
    if (drv == NULL || is_vfio_driver(drv) || strcmp(drv, "pci-stub") == 0)
      continue;
    add_reason(g, IC_GROUP_NEEDS_DETACH, d, "%s is bound to %s", d->name, drv);
  }
  /* most severe first, stable within a kind */
  for (guint i = 1; i < g->reasons->len; i++) {
    for (guint j = i; j > 0; j--) {
      IcGroupReason *a = g_ptr_array_index(g->reasons, j - 1), *b = g_ptr_array_index(g->reasons, j);
      if (a->kind >= b->kind)
        break;
      g->reasons->pdata[j - 1] = b;
      g->reasons->pdata[j] = a;
    }
  }
}

static gint
compare_group(gconstpointer a, gconstpointer b)
{
  const IcIommuGroup *x = *(IcIommuGroup *const *) a, *y = *(IcIommuGroup *const *) b;
  return (x->number > y->number) - (x->number < y->number);
}

static IcIommuGroup *
group_new(IcInventory *inv, int number)
{
  IcIommuGroup *g = g_new0(IcIommuGroup, 1);
  g->number = number;
  g->members = g_ptr_array_new();
  g->reasons = g_ptr_array_new_with_free_func(reason_free);
  g_ptr_array_add(inv->groups, g);
  g_hash_table_insert(inv->by_group, GINT_TO_POINTER(number), g);
  return g;
}

static void
read_group_files(IcInventory *inv, IcIommuGroup *g, int groups_fd)
{
  char path[64], buf[4096];
  g_snprintf(path, sizeof path, "%d/type", g->number);
  if (ic_read_attr_stripped_at(groups_fd, path, buf, sizeof buf) >= 0 && buf[0])
    g->type = g_strdup(buf);
  if (inv->flags & IC_INVENTORY_DETAILS) {
    g_snprintf(path, sizeof path, "%d/reserved_regions", g->number);
    if (ic_read_attr_stripped_at(groups_fd, path, buf, sizeof buf) >= 0)
      g->reserved_regions = buf[0] ? g_strsplit(buf, "\n", -1) : g_new0(char *, 1);
  }
}

void
ic_host_groups_build(IcInventory *inv, GHashTable *wanted)
{
  IcHostInfo *h = &inv->host;
  g_autofree char *groups_dir = ic_context_sys_path(inv->ctx, "/sys/kernel/iommu_groups");
  /* groups the kernel made, including ones without PCI members; only the
   * wanted ones when the scan was limited to them */
  GHashTableIter it;
  gpointer key;
  if (wanted != NULL) {
    g_hash_table_iter_init(&it, wanted);
    while (g_hash_table_iter_next(&it, &key, NULL))
      if (ic_inventory_find_group(inv, GPOINTER_TO_INT(key)) == NULL)
        group_new(inv, GPOINTER_TO_INT(key));
  }
  g_autoptr(GDir) d = wanted == NULL ? g_dir_open(groups_dir, 0, NULL) : NULL;
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    gint64 n;
    if (!ic_parse_int64(name, 10, 0, G_MAXINT, &n)) {
      ic_host_note(h, "%s/%s is not a group number; ignored", groups_dir, name);
      continue;
    }
    if (ic_inventory_find_group(inv, (int) n) == NULL)
      group_new(inv, (int) n);
  }
  for (guint i = 0; i < inv->devices->len; i++) {
    IcPciDevice *dev = g_ptr_array_index(inv->devices, i);
    if (dev->iommu_group < 0)
      continue;
    /* a bridge above a wanted group, read for its ACS: its own group is
     * not loaded (dev->group stays NULL) */
    if (wanted != NULL && !g_hash_table_contains(wanted, GINT_TO_POINTER(dev->iommu_group)))
      continue;
    IcIommuGroup *g = ic_inventory_find_group(inv, dev->iommu_group);
    if (g == NULL) {
      ic_pci_device_note(dev, "its iommu_group link names group %d, missing from %s", dev->iommu_group, groups_dir);
      g = group_new(inv, dev->iommu_group);
    }
    dev->group = g;
    g_ptr_array_add(g->members, dev); /* devices are sorted, so members are too */
    /* host bridges (class 0600) are header type 0 but nothing to assign */
    if (!ic_pci_device_is_bridge(dev) && (dev->class_code >> 8) != 0x0600)
      g->n_endpoints++;
  }
  g_ptr_array_sort(inv->groups, compare_group);
  g_autoptr(GHashTable) type_count = g_hash_table_new(g_str_hash, g_str_equal);
  guint best = 0;
  int groups_fd = open(groups_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  for (guint i = 0; i < inv->groups->len; i++) {
    IcIommuGroup *g = g_ptr_array_index(inv->groups, i);
    if (groups_fd >= 0)
      read_group_files(inv, g, groups_fd);
    judge(g);
    if (g->members->len > 0 && g->verdict == IC_GROUP_ASSIGNABLE && g->n_endpoints > 0)
      h->n_assignable_groups++;
    if (g->type != NULL) {
      guint c = GPOINTER_TO_UINT(g_hash_table_lookup(type_count, g->type)) + 1;
      g_hash_table_insert(type_count, g->type, GUINT_TO_POINTER(c));
      if (c > best) {
        best = c;
        g_free(h->default_domain_type);
        h->default_domain_type = g_strdup(g->type);
      }
    }
  }
  if (groups_fd >= 0)
    close(groups_fd);
  h->n_groups = inv->groups->len;
  h->iommu_enabled = h->n_groups > 0;
}
