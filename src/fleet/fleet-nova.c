/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nova pci-config: Nova's [pci] device_spec and alias for whole assignable
 * groups.  A group of several functions is refused: Nova's PCI tracker
 * claims functions one at a time and an alias selects by vendor:product
 * (Zed's alias schema allows no address), so nothing in Nova's config can
 * keep the functions of one group together; it would hand a guest one
 * function of the group and the guest would fail to start. */
#include "fleet-private.h"

void
ic_nova_pci_config_free(IcNovaPciConfig *c)
{
  if (c == NULL)
    return;
  g_clear_pointer(&c->device_spec, g_ptr_array_unref);
  g_clear_pointer(&c->alias, g_ptr_array_unref);
  g_clear_pointer(&c->refused, g_ptr_array_unref);
  g_free(c);
}

/* Nova's dev_type for the function: VFs and SR-IOV PFs are tracked apart. */
static const char *
nova_device_type(const IcPciDevice *d)
{
  if (d->physfn != NULL)
    return "type-VF";
  if (d->sriov_capable && d->sriov_totalvfs > 0)
    return "type-PF";
  return "type-PCI";
}

static JsonNode *
device_spec_entry(const IcPciDevice *d)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autofree char *v = g_strdup_printf("%04x", d->vendor_id);
  g_autofree char *p = g_strdup_printf("%04x", d->device_id);
  json_builder_begin_object(b);
  /* the address alone would follow a replaced card; the ids make Nova
   * skip a different device that appears at the same address */
  ic_json_add_string(b, "address", d->name);
  ic_json_add_string(b, "vendor_id", v);
  ic_json_add_string(b, "product_id", p);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

static JsonNode *
alias_entry(const char *name, const IcPciDevice *d)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autofree char *v = g_strdup_printf("%04x", d->vendor_id);
  g_autofree char *p = g_strdup_printf("%04x", d->device_id);
  json_builder_begin_object(b);
  ic_json_add_string(b, "name", name);
  ic_json_add_string(b, "vendor_id", v);
  ic_json_add_string(b, "product_id", p);
  /* always set: two same-name aliases without it crash Zed's parser
   * ("Invalid PCI alias definition: 'dev_type'") */
  ic_json_add_string(b, "device_type", nova_device_type(d));
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

static gboolean
alias_seen(GPtrArray *seen, const IcPciDevice *d)
{
  for (guint i = 0; i < seen->len; i++) {
    const IcPciDevice *o = g_ptr_array_index(seen, i);
    if (o->vendor_id == d->vendor_id && o->device_id == d->device_id && strcmp(nova_device_type(o), nova_device_type(d)) == 0)
      return TRUE;
  }
  return FALSE;
}

static char *
member_list(GPtrArray *endpoints)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < endpoints->len; i++)
    g_string_append_printf(s, "%s%s", i ? ", " : "", ((IcPciDevice *) g_ptr_array_index(endpoints, i))->name);
  return g_string_free(s, FALSE);
}

/* The groups asked for: those of addrs, or every group with endpoints. */
static GPtrArray *
wanted_groups(IcInventory *inv, GPtrArray *addrs, GError **error)
{
  GPtrArray *numbers = g_ptr_array_new();
  if (addrs == NULL || addrs->len == 0) {
    for (guint i = 0; i < ic_inventory_n_groups(inv); i++)
      g_ptr_array_add(numbers, GINT_TO_POINTER(ic_inventory_group(inv, i)->number + 1));
    return numbers;
  }
  for (guint i = 0; i < addrs->len; i++) {
    const char *text = g_ptr_array_index(addrs, i);
    IcPciAddr a;
    const IcPciDevice *d = NULL;
    if (!ic_pci_addr_parse(text, &a, error)) {
      g_ptr_array_unref(numbers);
      return NULL;
    }
    if ((d = ic_inventory_find_device(inv, &a)) == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "%s: no such PCI device", text);
      g_ptr_array_unref(numbers);
      return NULL;
    }
    if (d->iommu_group < 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED, "%s is in no IOMMU group: it cannot be assigned", d->name);
      g_ptr_array_unref(numbers);
      return NULL;
    }
    gpointer key = GINT_TO_POINTER(d->iommu_group + 1);
    if (!g_ptr_array_find(numbers, key, NULL))
      g_ptr_array_add(numbers, key);
  }
  return numbers;
}

IcNovaPciConfig *
ic_nova_pci_config(IcInventory *inv, GPtrArray *addrs, const char *alias_name, GError **error)
{
  g_autoptr(GPtrArray) numbers = wanted_groups(inv, addrs, error);
  if (numbers == NULL)
    return NULL;
  g_autoptr(IcNovaPciConfig) c = g_new0(IcNovaPciConfig, 1);
  c->device_spec = g_ptr_array_new_with_free_func((GDestroyNotify) json_node_unref);
  c->alias = g_ptr_array_new_with_free_func((GDestroyNotify) json_node_unref);
  c->refused = ic_fleet_refusals_new();
  g_autoptr(GPtrArray) refused_all = ic_fleet_refusals_new();
  g_autoptr(GPtrArray) groups = ic_fleet_assignable_groups(inv, refused_all);
  g_autoptr(GPtrArray) alias_devs = g_ptr_array_new();
  const char *alias_type = NULL;

  for (guint n = 0; n < numbers->len; n++) {
    int number = GPOINTER_TO_INT(g_ptr_array_index(numbers, n)) - 1;
    const IcFleetGroup *fg = NULL;
    for (guint i = 0; i < groups->len && fg == NULL; i++)
      if (((IcFleetGroup *) g_ptr_array_index(groups, i))->group->number == number)
        fg = g_ptr_array_index(groups, i);
    if (fg == NULL) {
      gboolean said = FALSE;
      for (guint i = 0; i < refused_all->len; i++) {
        IcFleetRefusal *r = g_ptr_array_index(refused_all, i);
        if (r->number == number) {
          ic_fleet_refuse(c->refused, number, g_strdup(r->reason));
          said = TRUE;
        }
      }
      if (addrs != NULL && addrs->len > 0 && !said)
        ic_fleet_refuse(c->refused, number, g_strdup_printf("group %d has no function a guest can be given", number));
      continue;
    }
    if (fg->endpoints->len > 1) {
      g_autofree char *members = member_list(fg->endpoints);
      ic_fleet_refuse(c->refused, number,
                      g_strdup_printf("group %d has %u functions (%s): Nova assigns PCI functions one at a time "
                                      "and its aliases select by vendor:product, so it would hand a guest one "
                                      "function of the group and the guest could not start",
                                      number, fg->endpoints->len, members));
      continue;
    }
    const IcPciDevice *d = g_ptr_array_index(fg->endpoints, 0);
    if (alias_name != NULL && alias_type != NULL && strcmp(alias_type, nova_device_type(d)) != 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT,
                  "alias %s would hold %s devices and %s (%s); Nova refuses one alias of two device types: "
                  "give the addresses of one kind, or no --alias", alias_name, alias_type, nova_device_type(d), d->name);
      return NULL;
    }
    alias_type = nova_device_type(d);
    c->groups++;
    g_ptr_array_add(c->device_spec, device_spec_entry(d));
    if (!alias_seen(alias_devs, d)) {
      g_ptr_array_add(alias_devs, (gpointer) d);
      g_autofree char *name = alias_name ? g_strdup(alias_name)
                                         : g_strdup_printf("pci_%04x_%04x", d->vendor_id, d->device_id);
      g_ptr_array_add(c->alias, alias_entry(name, d));
    }
  }
  return g_steal_pointer(&c);
}

char *
ic_nova_pci_config_to_ini(const IcNovaPciConfig *c)
{
  GString *s = g_string_new("# Written by iommuctl nova pci-config: whole IOMMU groups for Nova's PCI passthrough.\n"
                            "# device_spec goes into nova.conf on this compute node; alias on the nodes that\n"
                            "# run nova-api and nova-compute. A flavor asks with pci_passthrough:alias=NAME:1.\n"
                            "[pci]\n");
  for (guint i = 0; i < c->device_spec->len; i++) {
    g_autofree char *j = json_to_string(g_ptr_array_index(c->device_spec, i), FALSE);
    g_string_append_printf(s, "device_spec = %s\n", j);
  }
  for (guint i = 0; i < c->alias->len; i++) {
    g_autofree char *j = json_to_string(g_ptr_array_index(c->alias, i), FALSE);
    g_string_append_printf(s, "alias = %s\n", j);
  }
  for (guint i = 0; i < c->refused->len; i++) {
    IcFleetRefusal *r = g_ptr_array_index(c->refused, i);
    g_string_append_printf(s, "# refused: %s\n", r->reason);
  }
  return g_string_free(s, FALSE);
}

char *
ic_nova_pci_config_to_json(const IcNovaPciConfig *c)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("nova-pci-config", 1);
  json_builder_set_member_name(b, "device_spec");
  json_builder_begin_array(b);
  for (guint i = 0; i < c->device_spec->len; i++)
    json_builder_add_value(b, json_node_copy(g_ptr_array_index(c->device_spec, i)));
  json_builder_end_array(b);
  json_builder_set_member_name(b, "alias");
  json_builder_begin_array(b);
  for (guint i = 0; i < c->alias->len; i++)
    json_builder_add_value(b, json_node_copy(g_ptr_array_index(c->alias, i)));
  json_builder_end_array(b);
  json_builder_set_member_name(b, "refused");
  json_builder_begin_array(b);
  for (guint i = 0; i < c->refused->len; i++) {
    IcFleetRefusal *r = g_ptr_array_index(c->refused, i);
    json_builder_begin_object(b);
    ic_json_add_int(b, "group", r->number);
    ic_json_add_string(b, "reason", r->reason);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return ic_json_to_string(root, TRUE);
}
