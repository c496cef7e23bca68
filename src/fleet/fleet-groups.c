/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which IOMMU groups the fleet engines may hand out, and the Placement
 * resource class of each.  Every engine gets the same answer from here. */
#include "fleet-private.h"

static void
fleet_group_free(gpointer p)
{
  IcFleetGroup *g = p;
  g_ptr_array_unref(g->endpoints);
  g_free(g->resource_class);
  g_free(g);
}

static void
refusal_free(gpointer p)
{
  IcFleetRefusal *r = p;
  g_free(r->reason);
  g_free(r);
}

GPtrArray *
ic_fleet_refusals_new(void)
{
  return g_ptr_array_new_with_free_func(refusal_free);
}

void
ic_fleet_refuse(GPtrArray *refused, int number, char *reason)
{
  if (refused == NULL) {
    g_free(reason);
    return;
  }
  IcFleetRefusal *r = g_new0(IcFleetRefusal, 1);
  r->number = number;
  r->reason = reason;
  g_ptr_array_add(refused, r);
}

gboolean
ic_fleet_is_endpoint(const IcPciDevice *dev)
{
  /* host bridges (class 0x0600) are group members the guest never gets */
  return !ic_pci_device_is_bridge(dev) && (dev->class_code >> 8) != 0x0600;
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

char *
ic_fleet_group_resource_class(const IcIommuGroup *group)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < group->members->len; i++) {
    const IcPciDevice *d = g_ptr_array_index(group->members, i);
    if (!ic_fleet_is_endpoint(d))
      continue;
    g_autofree char *id = g_strdup_printf("%04X_%04X", d->vendor_id, d->device_id);
    gboolean seen = FALSE;
    for (guint k = 0; k < ids->len && !seen; k++)
      seen = strcmp(g_ptr_array_index(ids, k), id) == 0;
    if (!seen)
      g_ptr_array_add(ids, g_steal_pointer(&id));
  }
  g_ptr_array_sort(ids, compare_strings);
  GString *s = g_string_new("CUSTOM_IOMMU_GROUP");
  for (guint i = 0; i < ids->len; i++)
    g_string_append_printf(s, "_%s", (const char *) g_ptr_array_index(ids, i));
  /* Placement's limit is 255 characters; a group of more than 25 different
   * functions keeps its first pairs and a hash of all of them */
  if (s->len > 255) {
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, s->str, s->len);
    g_string_truncate(s, 255 - 17);
    g_string_append_printf(s, "_%.16s", sum);
    for (char *c = s->str; *c; c++)
      *c = g_ascii_toupper(*c);
  }
  return g_string_free(s, FALSE);
}

GPtrArray *
ic_fleet_assignable_groups(IcInventory *inv, GPtrArray *refused)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(fleet_group_free);
  for (guint i = 0; i < ic_inventory_n_groups(inv); i++) {
    const IcIommuGroup *g = ic_inventory_group(inv, i);
    g_autoptr(GPtrArray) eps = g_ptr_array_new();
    for (guint k = 0; k < g->members->len; k++) {
      IcPciDevice *d = g_ptr_array_index(g->members, k);
      if (ic_fleet_is_endpoint(d))
        g_ptr_array_add(eps, d);
    }
    if (eps->len == 0)
      continue;
    if (g->verdict != IC_GROUP_ASSIGNABLE && g->verdict != IC_GROUP_NEEDS_DETACH) {
      const IcGroupReason *why = g->reasons->len ? g_ptr_array_index(g->reasons, 0) : NULL;
      ic_fleet_refuse(refused, g->number,
                      g_strdup_printf("group %d is %s%s%s", g->number, ic_group_verdict_to_string(g->verdict),
                                      why ? ": " : "", why ? why->text : ""));
      continue;
    }
    IcFleetGroup *fg = g_new0(IcFleetGroup, 1);
    fg->group = g;
    fg->endpoints = g_steal_pointer(&eps);
    fg->resource_class = ic_fleet_group_resource_class(g);
    g_ptr_array_add(out, fg);
  }
  return out;
}
