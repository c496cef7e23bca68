/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts from the host inventory, per device, in the terms a plan uses. */
#include "assign/assign-host.h"
#include "host/inventory-groups.h"
#include "iommuctl/host.h"
#include "util/ic-util.h"

struct IcAsHostView {
  IcContext *ctx;
  IcInventory *inv;
};

IcAsHostView *
ic_as_host_view_new(IcContext *ctx, GError **error)
{
  IcInventory *inv = NULL;
  if (!ic_inventory_load(ctx, IC_INVENTORY_NO_NAMES, &inv, error))
    return NULL;
  IcAsHostView *v = g_new0(IcAsHostView, 1);
  v->ctx = ctx;
  v->inv = inv;
  return v;
}

IcAsHostView *
ic_as_host_view_new_for_groups(IcContext *ctx, const guint *groups, guint n_groups, GError **error)
{
  g_autofree int *numbers = g_new(int, MAX(n_groups, 1));
  for (guint i = 0; i < n_groups; i++)
    numbers[i] = (int) groups[i];
  IcInventory *inv = NULL;
  if (!ic_inventory_load_groups(ctx, IC_INVENTORY_NO_NAMES, numbers, n_groups, &inv, error))
    return NULL;
  IcAsHostView *v = g_new0(IcAsHostView, 1);
  v->ctx = ctx;
  v->inv = inv;
  return v;
}

void
ic_as_host_view_free(IcAsHostView *view)
{
  if (view == NULL)
    return;
  ic_inventory_free(view->inv);
  g_free(view);
}

GPtrArray *
ic_as_host_group_members(IcAsHostView *view, guint group, GError **error)
{
  IcIommuGroup *g = ic_inventory_find_group(view->inv, (int) group);
  if (g == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "IOMMU group %u is not in the inventory", group);
    return NULL;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < g->members->len; i++)
    g_ptr_array_add(names, g_strdup(((IcPciDevice *) g->members->pdata[i])->name));
  return names;
}

gboolean
ic_as_host_vfio_pci_installed(IcAsHostView *view)
{
  return ic_inventory_host(view->inv)->vfio_pci_available;
}

static IcPciDevice *
find(IcAsHostView *view, const char *name)
{
  IcPciAddr a;
  if (!ic_pci_addr_parse(name, &a, NULL))
    return NULL;
  return ic_inventory_find_device(view->inv, &a);
}

/* The reset the kernel's vfio will use: its own reset_method list when the
 * kernel has one (5.15+), else libvirt's order: FLR, PM, secondary bus. */
static char *
reset_method(IcAsHostView *view, IcPciDevice *d)
{
  char **methods = ic_pci_device_reset_methods(view->ctx, d);
  if (methods != NULL && methods[0] != NULL && *methods[0] != '\0')
    return g_strdup(methods[0]);
  if (d->reset_caps & (IC_RESET_CAP_FLR | IC_RESET_CAP_AF_FLR))
    return g_strdup("flr");
  if (d->reset_caps & IC_RESET_CAP_PM)
    return g_strdup("pm");
  if (d->parent != NULL)
    return g_strdup("bus");
  return NULL;
}

/* Drivers whose unbind is known to hang or take the host down while the
 * device is in use (the operator can still --force). */
static const char *
hangs_on_unbind(const char *driver)
{
  static const struct { const char *driver, *why; } known[] = {
    {"nvidia", "the proprietary nvidia driver hangs on unbind while the GPU is in use"},
    {"fglrx", "the fglrx driver does not support unbinding"},
  };
  for (guint i = 0; driver && i < G_N_ELEMENTS(known); i++)
    if (strcmp(driver, known[i].driver) == 0)
      return known[i].why;
  return NULL;
}

static char *
host_use_text(IcPciDevice *d)
{
  const char *hang = hangs_on_unbind(d->driver);
  if (d->host_uses == NULL || d->host_uses->len == 0)
    return g_strdup(hang);
  g_autoptr(GString) s = g_string_new("the host uses it: ");
  for (guint i = 0; i < d->host_uses->len; i++) {
    const IcHostUse *u = d->host_uses->pdata[i];
    g_string_append_printf(s, "%s%s", i ? "; " : "", u->detail);
  }
  if (hang != NULL)
    g_string_append_printf(s, "; and %s", hang);
  return g_string_free(g_steal_pointer(&s), FALSE);
}

/* Isolation caveats: the host layer's not-isolated reasons for the group,
 * or a PCIe port above without (enabled) ACS, as libvirt checks. */
static char *
acs_warning(IcPciDevice *d)
{
  if (d->group != NULL) {
    for (guint i = 0; i < d->group->reasons->len; i++) {
      const IcGroupReason *r = d->group->reasons->pdata[i];
      if (r->kind == IC_GROUP_NOT_ISOLATED)
        return g_strdup_printf("group %d: %s", d->group->number, r->text);
    }
  }
  int guard = 0;
  for (IcPciDevice *p = d->parent; p != NULL && guard < 64; p = p->parent, guard++) {
    if (p->pcie_type == IC_PCIE_DOWNSTREAM_PORT && p->config_extended && !p->has_acs)
      return g_strdup_printf("%s: behind downstream port %s without ACS: peer-to-peer traffic "
                             "may bypass the IOMMU", d->name, p->name);
  }
  return NULL;
}

void
ic_as_host_facts(IcAsHostView *view, const char *dev, IcAsHostFacts *facts)
{
  memset(facts, 0, sizeof *facts);
  IcPciDevice *d = find(view, dev);
  if (d == NULL)
    return;
  facts->modalias = g_strdup(d->modalias);
  facts->is_bridge = ic_pci_device_is_bridge(d);
  facts->holds_root = d->holds_root_fs;
  if (!facts->is_bridge) {
    facts->reset_method = reset_method(view, d);
    facts->host_use = host_use_text(d);
    facts->acs_warning = acs_warning(d);
  }
}

void
ic_as_host_facts_clear(IcAsHostFacts *facts)
{
  g_free(facts->modalias);
  g_free(facts->reset_method);
  g_free(facts->host_use);
  g_free(facts->acs_warning);
  memset(facts, 0, sizeof *facts);
}
