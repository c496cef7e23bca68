/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON objects, libvirt nodedev XML and the Graphviz picture of an
 * inventory.  Schemas: docs/json/host-*.md; XML: libvirt's
 * virNodeDeviceCapPCIDefFormat element order. */
#include "host/host-private.h"

#include <libxml/tree.h>
#include <string.h>

/* ---- JSON ------------------------------------------------------------------ */

static void
add_hex(JsonBuilder *b, const char *key, guint value, int digits)
{
  char buf[16];
  g_snprintf(buf, sizeof buf, "0x%0*x", digits, value);
  ic_json_add_string(b, key, buf);
}

static void
add_string_array(JsonBuilder *b, const char *key, GPtrArray *strings)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_array(b);
  for (guint i = 0; strings && i < strings->len; i++)
    json_builder_add_string_value(b, g_ptr_array_index(strings, i));
  json_builder_end_array(b);
}

static const char *
host_use_kind(IcHostUseFlags k)
{
  switch (k) {
  case IC_HOST_USE_MOUNT: return "mount";
  case IC_HOST_USE_ROOT_FS: return "root-fs";
  case IC_HOST_USE_NET: return "network";
  case IC_HOST_USE_CONSOLE: return "console";
  }
  return "unknown";
}

void
ic_json_add_device(JsonBuilder *b, const IcPciDevice *d, gboolean details)
{
  /* the compact form (group listings) is flat: 4096-function hosts make
   * this the bulk of `groups --json` */
  json_builder_begin_object(b);
  ic_json_add_string(b, "address", d->name);
  add_hex(b, "class", d->class_code, 6);
  add_hex(b, "vendor_id", d->vendor_id, 4);
  add_hex(b, "device_id", d->device_id, 4);
  ic_json_add_string_or_null(b, "vendor_name", d->vendor_name);
  ic_json_add_string_or_null(b, "device_name", d->device_name);
  ic_json_add_bool(b, "bridge", ic_pci_device_is_bridge(d));
  ic_json_add_string_or_null(b, "driver", d->driver);
  json_builder_set_member_name(b, "iommu_group");
  if (d->iommu_group >= 0)
    json_builder_add_int_value(b, d->iommu_group);
  else
    json_builder_add_null_value(b);
  if (!details) {
    json_builder_end_object(b);
    return;
  }
  ic_json_add_string_or_null(b, "class_name", d->class_name);
  json_builder_set_member_name(b, "host_use");
  json_builder_begin_array(b);
  for (guint i = 0; i < d->host_uses->len; i++) {
    IcHostUse *u = g_ptr_array_index(d->host_uses, i);
    json_builder_begin_object(b);
    ic_json_add_string(b, "kind", host_use_kind(u->kind));
    ic_json_add_string(b, "detail", u->detail);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  {
    json_builder_set_member_name(b, "subsystem");
    json_builder_begin_object(b);
    add_hex(b, "vendor", d->subsys_vendor_id, 4);
    add_hex(b, "device", d->subsys_device_id, 4);
    ic_json_add_string_or_null(b, "name", d->subsys_name);
    json_builder_end_object(b);
    if (d->revision >= 0) {
      add_hex(b, "revision", (guint) d->revision, 2);
    } else {
      json_builder_set_member_name(b, "revision");
      json_builder_add_null_value(b);
    }
    ic_json_add_string_or_null(b, "header_type", d->header_type == IC_HEADER_UNKNOWN ? NULL
                                                  : ic_header_type_to_string(d->header_type));
    ic_json_add_bool(b, "multifunction", d->multifunction);
    ic_json_add_string_or_null(b, "pcie_type", d->config_readable ? ic_pcie_type_to_string(d->pcie_type) : NULL);
    ic_json_add_string_or_null(b, "root_bus", d->root_bus);
    ic_json_add_string_or_null(b, "parent", d->parent ? d->parent->name : NULL);
    json_builder_set_member_name(b, "parent_chain");
    json_builder_begin_array(b);
    int guard = 0;
    for (const IcPciDevice *p = d->parent; p && guard < 64; p = p->parent, guard++)
      json_builder_add_string_value(b, p->name);
    json_builder_end_array(b);
    ic_json_add_string_or_null(b, "driver_override", d->driver_override);
    ic_json_add_string_or_null(b, "modalias", d->modalias);
    ic_json_add_int(b, "numa_node", d->numa_node);
    ic_json_add_bool(b, "boot_vga", d->boot_vga);
    json_builder_set_member_name(b, "reset");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "methods");
    if (d->reset_methods != NULL) {
      json_builder_begin_array(b);
      for (guint i = 0; d->reset_methods[i]; i++)
        if (*d->reset_methods[i])
          json_builder_add_string_value(b, d->reset_methods[i]);
      json_builder_end_array(b);
    } else {
      json_builder_add_null_value(b);
    }
    ic_json_add_bool(b, "flr", (d->reset_caps & IC_RESET_CAP_FLR) != 0);
    ic_json_add_bool(b, "af_flr", (d->reset_caps & IC_RESET_CAP_AF_FLR) != 0);
    ic_json_add_bool(b, "pm", (d->reset_caps & IC_RESET_CAP_PM) != 0);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "acs");
    if (d->has_acs) {
      json_builder_begin_object(b);
      add_hex(b, "cap", d->acs_cap, 4);
      add_hex(b, "ctrl", d->acs_ctrl, 4);
      json_builder_end_object(b);
    } else {
      json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "sriov");
    if (d->sriov_capable) {
      json_builder_begin_object(b);
      ic_json_add_int(b, "totalvfs", d->sriov_totalvfs);
      ic_json_add_int(b, "numvfs", d->sriov_numvfs);
      json_builder_set_member_name(b, "vfs");
      json_builder_begin_array(b);
      for (guint i = 0; i < d->virtfns->len; i++)
        json_builder_add_string_value(b, ((IcPciDevice *) g_ptr_array_index(d->virtfns, i))->name);
      json_builder_end_array(b);
      json_builder_end_object(b);
    } else {
      json_builder_add_null_value(b);
    }
    ic_json_add_string_or_null(b, "physfn", d->physfn ? d->physfn->name : NULL);
    ic_json_add_bool(b, "holds_root_fs", d->holds_root_fs);
  }
  add_string_array(b, "notes", d->notes);
  json_builder_end_object(b);
}

void
ic_json_add_group(JsonBuilder *b, const IcIommuGroup *g, gboolean details)
{
  json_builder_begin_object(b);
  ic_json_add_int(b, "number", g->number);
  ic_json_add_string_or_null(b, "type", g->type);
  ic_json_add_string(b, "verdict", ic_group_verdict_to_id(g->verdict));
  json_builder_set_member_name(b, "reasons");
  json_builder_begin_array(b);
  for (guint i = 0; i < g->reasons->len; i++) {
    IcGroupReason *r = g_ptr_array_index(g->reasons, i);
    json_builder_begin_object(b);
    ic_json_add_string(b, "kind", ic_group_verdict_to_id(r->kind));
    ic_json_add_string_or_null(b, "device", r->device ? r->device->name : NULL);
    ic_json_add_string(b, "text", r->text);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "members");
  json_builder_begin_array(b);
  for (guint i = 0; i < g->members->len; i++)
    ic_json_add_device(b, g_ptr_array_index(g->members, i), details);
  json_builder_end_array(b);
  if (details) {
    json_builder_set_member_name(b, "reserved_regions");
    if (g->reserved_regions) {
      json_builder_begin_array(b);
      for (guint i = 0; g->reserved_regions[i]; i++)
        json_builder_add_string_value(b, g->reserved_regions[i]);
      json_builder_end_array(b);
    } else {
      json_builder_add_null_value(b);
    }
  }
  json_builder_end_object(b);
}

static void
add_bool_or_null(JsonBuilder *b, const char *key, int v)
{
  json_builder_set_member_name(b, key);
  if (v < 0)
    json_builder_add_null_value(b);
  else
    json_builder_add_boolean_value(b, v != 0);
}

void
ic_json_add_host(JsonBuilder *b, const IcHostInfo *h)
{
  json_builder_begin_object(b);
  ic_json_add_string_or_null(b, "kernel_release", h->kernel_release);
  ic_json_add_string_or_null(b, "arch", h->arch);
  ic_json_add_string_or_null(b, "cmdline", h->cmdline);
  json_builder_set_member_name(b, "firmware");
  json_builder_begin_object(b);
  add_bool_or_null(b, "dmar", h->acpi_dmar);
  add_bool_or_null(b, "ivrs", h->acpi_ivrs);
  add_bool_or_null(b, "iort", h->acpi_iort);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "iommu");
  json_builder_begin_object(b);
  ic_json_add_string_or_null(b, "vendor", h->iommu_vendor);
  add_bool_or_null(b, "enabled", h->iommu_enabled);
  add_string_array(b, "units", h->iommu_units);
  ic_json_add_int(b, "groups", h->n_groups);
  ic_json_add_int(b, "assignable_groups", h->n_assignable_groups);
  ic_json_add_string_or_null(b, "default_domain_type", h->default_domain_type);
  add_bool_or_null(b, "interrupt_remapping", h->interrupt_remapping);
  json_builder_set_member_name(b, "address_width");
  if (h->address_width)
    json_builder_add_int_value(b, h->address_width);
  else
    json_builder_add_null_value(b);
  ic_json_add_string_or_null(b, "address_width_source", h->address_width_source);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "vfio");
  json_builder_begin_object(b);
  add_bool_or_null(b, "vfio_module", h->vfio_available);
  add_bool_or_null(b, "vfio_pci_module", h->vfio_pci_available);
  add_bool_or_null(b, "vfio_builtin", h->vfio_builtin);
  add_bool_or_null(b, "vfio_pci_builtin", h->vfio_pci_builtin);
  add_bool_or_null(b, "dev_vfio", h->dev_vfio);
  add_bool_or_null(b, "dev_iommu", h->dev_iommu);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "cmdline_flags");
  json_builder_begin_object(b);
  ic_json_add_string_or_null(b, "intel_iommu", h->cmdline_intel_iommu);
  ic_json_add_string_or_null(b, "amd_iommu", h->cmdline_amd_iommu);
  ic_json_add_string_or_null(b, "iommu", h->cmdline_iommu);
  ic_json_add_string_or_null(b, "intremap", h->cmdline_intremap);
  ic_json_add_string_or_null(b, "pcie_acs_override", h->cmdline_pcie_acs_override);
  ic_json_add_string_or_null(b, "vfio_iommu_type1.allow_unsafe_interrupts", h->cmdline_allow_unsafe_interrupts);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "memlock");
  if (h->memlock_known) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "soft");
    if (h->memlock_soft == G_MAXUINT64)
      json_builder_add_string_value(b, "unlimited");
    else
      json_builder_add_int_value(b, (gint64) h->memlock_soft);
    json_builder_set_member_name(b, "hard");
    if (h->memlock_hard == G_MAXUINT64)
      json_builder_add_string_value(b, "unlimited");
    else
      json_builder_add_int_value(b, (gint64) h->memlock_hard);
    json_builder_end_object(b);
  } else {
    json_builder_add_null_value(b);
  }
  add_string_array(b, "notes", h->notes);
  json_builder_end_object(b);
}

/* ---- nodedev XML -------------------------------------------------------- */

static char *
nodedev_name(const IcPciDevice *d)
{
  return g_strdup_printf("pci_%04x_%02x_%02x_%x", d->addr.domain, d->addr.bus, d->addr.slot, d->addr.function);
}

static void
add_address(xmlNodePtr parent, const IcPciDevice *d)
{
  char buf[16];
  xmlNodePtr a = xmlNewChild(parent, NULL, BAD_CAST "address", NULL);
  g_snprintf(buf, sizeof buf, "0x%04x", d->addr.domain);
  xmlNewProp(a, BAD_CAST "domain", BAD_CAST buf);
  g_snprintf(buf, sizeof buf, "0x%02x", d->addr.bus);
  xmlNewProp(a, BAD_CAST "bus", BAD_CAST buf);
  g_snprintf(buf, sizeof buf, "0x%02x", d->addr.slot);
  xmlNewProp(a, BAD_CAST "slot", BAD_CAST buf);
  g_snprintf(buf, sizeof buf, "0x%x", d->addr.function);
  xmlNewProp(a, BAD_CAST "function", BAD_CAST buf);
}

static const char *
link_speed(guint8 s)
{
  static const char *const speeds[] = {"", "2.5", "5", "8", "16", "32", "64"};
  return s < G_N_ELEMENTS(speeds) ? speeds[s] : "";
}

static void
add_link(xmlNodePtr px, const char *validity, int port, guint8 speed, guint8 width)
{
  char buf[16];
  xmlNodePtr l = xmlNewChild(px, NULL, BAD_CAST "link", NULL);
  xmlNewProp(l, BAD_CAST "validity", BAD_CAST validity);
  if (port >= 0) {
    g_snprintf(buf, sizeof buf, "%d", port);
    xmlNewProp(l, BAD_CAST "port", BAD_CAST buf);
  }
  if (*link_speed(speed))
    xmlNewProp(l, BAD_CAST "speed", BAD_CAST link_speed(speed));
  g_snprintf(buf, sizeof buf, "%u", width);
  xmlNewProp(l, BAD_CAST "width", BAD_CAST buf);
}

static char *
text_num(const char *fmt, guint v)
{
  return g_strdup_printf(fmt, v);
}

static void
add_text_child(xmlNodePtr parent, const char *name, char *owned_text)
{
  xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST owned_text);
  g_free(owned_text);
}

static char *
sysfs_devpath(const IcPciDevice *d)
{
  g_autoptr(GPtrArray) chain = g_ptr_array_new();
  int guard = 0;
  for (const IcPciDevice *p = d; p && guard < 64; p = p->parent, guard++)
    g_ptr_array_insert(chain, 0, (gpointer) p);
  const IcPciDevice *top = g_ptr_array_index(chain, 0);
  GString *s = g_string_new("/sys/devices/");
  if (top->root_bus)
    g_string_append(s, top->root_bus);
  else
    g_string_append_printf(s, "pci%04x:%02x", top->addr.domain, top->addr.bus);
  for (guint i = 0; i < chain->len; i++)
    g_string_append_printf(s, "/%s", ((IcPciDevice *) g_ptr_array_index(chain, i))->name);
  return g_string_free(s, FALSE);
}

char *
ic_pci_device_to_nodedev_xml(const IcInventory *inv, const IcPciDevice *d)
{
  (void) inv;
  xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
  xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "device");
  xmlDocSetRootElement(doc, root);
  add_text_child(root, "name", nodedev_name(d));
  add_text_child(root, "path", sysfs_devpath(d));
  add_text_child(root, "parent", d->parent ? nodedev_name(d->parent) : g_strdup("computer"));
  if (d->driver) {
    xmlNodePtr drv = xmlNewChild(root, NULL, BAD_CAST "driver", NULL);
    xmlNewTextChild(drv, NULL, BAD_CAST "name", BAD_CAST d->driver);
  }
  xmlNodePtr cap = xmlNewChild(root, NULL, BAD_CAST "capability", NULL);
  xmlNewProp(cap, BAD_CAST "type", BAD_CAST "pci");
  add_text_child(cap, "class", text_num("0x%06x", d->class_code));
  add_text_child(cap, "domain", text_num("%u", d->addr.domain));
  add_text_child(cap, "bus", text_num("%u", d->addr.bus));
  add_text_child(cap, "slot", text_num("%u", d->addr.slot));
  add_text_child(cap, "function", text_num("%u", d->addr.function));
  char idbuf[16];
  xmlNodePtr product = xmlNewTextChild(cap, NULL, BAD_CAST "product", BAD_CAST d->device_name);
  g_snprintf(idbuf, sizeof idbuf, "0x%04x", d->device_id);
  xmlNewProp(product, BAD_CAST "id", BAD_CAST idbuf);
  xmlNodePtr vendor = xmlNewTextChild(cap, NULL, BAD_CAST "vendor", BAD_CAST d->vendor_name);
  g_snprintf(idbuf, sizeof idbuf, "0x%04x", d->vendor_id);
  xmlNewProp(vendor, BAD_CAST "id", BAD_CAST idbuf);
  if (d->physfn) {
    xmlNodePtr pf = xmlNewChild(cap, NULL, BAD_CAST "capability", NULL);
    xmlNewProp(pf, BAD_CAST "type", BAD_CAST "phys_function");
    add_address(pf, d->physfn);
  }
  if (d->sriov_capable && d->sriov_totalvfs > 0) {
    xmlNodePtr vfs = xmlNewChild(cap, NULL, BAD_CAST "capability", NULL);
    xmlNewProp(vfs, BAD_CAST "type", BAD_CAST "virt_functions");
    g_snprintf(idbuf, sizeof idbuf, "%u", d->sriov_totalvfs);
    xmlNewProp(vfs, BAD_CAST "maxCount", BAD_CAST idbuf);
    for (guint i = 0; i < d->virtfns->len; i++)
      add_address(vfs, g_ptr_array_index(d->virtfns, i));
  }
  if (d->header_type == IC_HEADER_BRIDGE || d->header_type == IC_HEADER_CARDBUS) {
    xmlNodePtr br = xmlNewChild(cap, NULL, BAD_CAST "capability", NULL);
    xmlNewProp(br, BAD_CAST "type", BAD_CAST(d->header_type == IC_HEADER_BRIDGE ? "pci-bridge" : "cardbus-bridge"));
  }
  if (d->group != NULL && d->group->members->len > 0) {
    xmlNodePtr grp = xmlNewChild(cap, NULL, BAD_CAST "iommuGroup", NULL);
    g_snprintf(idbuf, sizeof idbuf, "%d", d->group->number);
    xmlNewProp(grp, BAD_CAST "number", BAD_CAST idbuf);
    for (guint i = 0; i < d->group->members->len; i++)
      add_address(grp, g_ptr_array_index(d->group->members, i));
  }
  if (d->numa_node >= 0) {
    xmlNodePtr numa = xmlNewChild(cap, NULL, BAD_CAST "numa", NULL);
    g_snprintf(idbuf, sizeof idbuf, "%d", d->numa_node);
    xmlNewProp(numa, BAD_CAST "node", BAD_CAST idbuf);
  }
  /* libvirt's rule (virPCIDeviceInit): PCIe when the PCIe capability is
   * there, or, when no capability list can be walked, when the config file
   * is not the 256 bytes of conventional PCI */
  gboolean pcie = d->config_readable &&
                  (d->pcie_type != IC_PCIE_NONE || (!d->has_cap_list && d->config_size != 256));
  if (pcie) {
    xmlNodePtr px = xmlNewChild(cap, NULL, BAD_CAST "pci-express", NULL);
    if (d->pcie_type != IC_PCIE_NONE && d->pcie_type != IC_PCIE_RC_INTEGRATED_ENDPOINT &&
        d->pcie_type != IC_PCIE_RC_EVENT_COLLECTOR) {
      add_link(px, "cap", d->link_port, d->link_cap_speed, d->link_cap_width);
      add_link(px, "sta", -1, d->link_sta_speed, d->link_sta_width);
    }
  }
  xmlChar *mem = NULL;
  int size = 0;
  xmlNodePtr top = xmlDocGetRootElement(doc);
  xmlBufferPtr buf = xmlBufferCreate();
  xmlNodeDump(buf, doc, top, 0, 1);
  (void) mem, (void) size;
  char *out = g_strdup_printf("%s\n", (const char *) xmlBufferContent(buf));
  xmlBufferFree(buf);
  xmlFreeDoc(doc);
  return out;
}

/* ---- Graphviz ------------------------------------------------------------- */

static void
dot_escape(GString *s, const char *text)
{
  for (const char *p = text ? text : ""; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c(s, '\\');
    g_string_append_c(s, *p);
  }
}

char *
ic_inventory_to_dot(const IcInventory *inv)
{
  GString *s = g_string_new("digraph iommu {\n"
                            "  rankdir=LR;\n"
                            "  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n"
                            "  edge [arrowhead=none];\n");
  g_autoptr(GHashTable) roots = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < inv->devices->len; i++) {
    IcPciDevice *d = g_ptr_array_index(inv->devices, i);
    if (d->parent == NULL && d->root_bus && !g_hash_table_contains(roots, d->root_bus)) {
      g_hash_table_add(roots, d->root_bus);
      g_string_append_printf(s, "  \"%s\" [shape=oval, style=filled, fillcolor=\"#dddddd\"];\n", d->root_bus);
    }
  }
  for (guint gi = 0; gi < inv->groups->len; gi++) {
    IcIommuGroup *g = g_ptr_array_index(inv->groups, gi);
    if (g->members->len == 0)
      continue;
    gboolean ok = g->verdict == IC_GROUP_ASSIGNABLE;
    const char *colour = ok ? "darkgreen" : g->verdict == IC_GROUP_NEEDS_DETACH ? "orange" : "red";
    g_string_append_printf(s, "  subgraph cluster_group%d {\n    label=\"group %d: %s\";\n"
                              "    color=%s; fontcolor=%s; style=%s;\n",
                           g->number, g->number, ic_group_verdict_to_string(g->verdict), colour, colour,
                           ok ? "rounded" : "\"rounded,bold\"");
    for (guint i = 0; i < g->members->len; i++)
      g_string_append_printf(s, "    \"%s\";\n", ((IcPciDevice *) g_ptr_array_index(g->members, i))->name);
    g_string_append(s, "  }\n");
  }
  for (guint i = 0; i < inv->devices->len; i++) {
    IcPciDevice *d = g_ptr_array_index(inv->devices, i);
    g_string_append_printf(s, "  \"%s\" [label=\"%s\\n", d->name, d->name);
    dot_escape(s, d->device_name ? d->device_name : d->class_name);
    g_string_append_printf(s, "\\n%04x:%04x %s\"%s];\n", d->vendor_id, d->device_id, d->driver ? d->driver : "(no driver)",
                           ic_pci_device_is_bridge(d) ? ", shape=trapezium"
                           : d->host_uses->len ? ", style=filled, fillcolor=\"#ffcccc\"" : "");
    if (d->parent)
      g_string_append_printf(s, "  \"%s\" -> \"%s\";\n", d->parent->name, d->name);
    else if (d->root_bus)
      g_string_append_printf(s, "  \"%s\" -> \"%s\";\n", d->root_bus, d->name);
  }
  g_string_append(s, "}\n");
  return g_string_free(s, FALSE);
}
