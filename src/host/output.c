/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON objects, libvirt nodedev XML and the Graphviz picture of an
 * inventory.  Schemas: docs/json/host-*.md; XML: libvirt's
 * virNodeDeviceCapPCIDefFormat element order. */
#include "host/host-private.h"

#include <libxml/tree.h>
#include <string.h>

/* ---- JSON ------------------------------------------------------------------ */

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

static void
write_device(IcJsonWriter *w, const IcPciDevice *d, gboolean details)
{
  /* the compact form (group listings) is flat: 4096-function hosts make
   * this the bulk of `groups --json` */
  ic_json_writer_begin_object(w);
  ic_jw_add_string(w, "address", d->name);
  ic_jw_add_hex(w, "class", d->class_code, 6);
  ic_jw_add_hex(w, "vendor_id", d->vendor_id, 4);
  ic_jw_add_hex(w, "device_id", d->device_id, 4);
  ic_jw_add_string(w, "vendor_name", d->vendor_name);
  ic_jw_add_string(w, "device_name", d->device_name);
  ic_jw_add_bool(w, "bridge", ic_pci_device_is_bridge(d));
  ic_jw_add_string(w, "driver", d->driver);
  ic_json_writer_member(w, "iommu_group");
  if (d->iommu_group >= 0)
    ic_json_writer_int(w, d->iommu_group);
  else
    ic_json_writer_null(w);
  if (!details) {
    ic_json_writer_end_object(w);
    return;
  }
  ic_jw_add_string(w, "class_name", d->class_name);
  ic_json_writer_member(w, "host_use");
  ic_json_writer_begin_array(w);
  for (guint i = 0; i < d->host_uses->len; i++) {
    IcHostUse *u = g_ptr_array_index(d->host_uses, i);
    ic_json_writer_begin_object(w);
    ic_jw_add_string(w, "kind", host_use_kind(u->kind));
    ic_jw_add_string(w, "detail", u->detail);
    ic_json_writer_end_object(w);
  }
  ic_json_writer_end_array(w);
  {
    ic_json_writer_member(w, "subsystem");
    ic_json_writer_begin_object(w);
    ic_jw_add_hex(w, "vendor", d->subsys_vendor_id, 4);
    ic_jw_add_hex(w, "device", d->subsys_device_id, 4);
    ic_jw_add_string(w, "name", d->subsys_name);
    ic_json_writer_end_object(w);
    if (d->revision >= 0) {
      ic_jw_add_hex(w, "revision", (guint) d->revision, 2);
    } else {
      ic_json_writer_member(w, "revision");
      ic_json_writer_null(w);
    }
    ic_jw_add_string(w, "header_type", d->header_type == IC_HEADER_UNKNOWN ? NULL
                                                  : ic_header_type_to_string(d->header_type));
    ic_jw_add_bool(w, "multifunction", d->multifunction);
    ic_jw_add_string(w, "pcie_type", d->config_readable ? ic_pcie_type_to_string(d->pcie_type) : NULL);
    ic_jw_add_string(w, "root_bus", d->root_bus);
    ic_jw_add_string(w, "parent", d->parent ? d->parent->name : NULL);
    ic_json_writer_member(w, "parent_chain");
    ic_json_writer_begin_array(w);
    int guard = 0;
    for (const IcPciDevice *p = d->parent; p && guard < 64; p = p->parent, guard++)
      ic_json_writer_string(w, p->name);
    ic_json_writer_end_array(w);
    ic_jw_add_string(w, "driver_override", d->driver_override);
    ic_jw_add_string(w, "modalias", d->modalias);
    ic_jw_add_int(w, "numa_node", d->numa_node);
    ic_jw_add_bool(w, "boot_vga", d->boot_vga);
    ic_json_writer_member(w, "reset");
    ic_json_writer_begin_object(w);
    ic_json_writer_member(w, "methods");
    if (d->reset_methods != NULL) {
      ic_json_writer_begin_array(w);
      for (guint i = 0; d->reset_methods[i]; i++)
        if (*d->reset_methods[i])
          ic_json_writer_string(w, d->reset_methods[i]);
      ic_json_writer_end_array(w);
    } else {
      ic_json_writer_null(w);
    }
    ic_jw_add_bool(w, "flr", (d->reset_caps & IC_RESET_CAP_FLR) != 0);
    ic_jw_add_bool(w, "af_flr", (d->reset_caps & IC_RESET_CAP_AF_FLR) != 0);
    ic_jw_add_bool(w, "pm", (d->reset_caps & IC_RESET_CAP_PM) != 0);
    ic_json_writer_end_object(w);
    ic_json_writer_member(w, "acs");
    if (d->has_acs) {
      ic_json_writer_begin_object(w);
      ic_jw_add_hex(w, "cap", d->acs_cap, 4);
      ic_jw_add_hex(w, "ctrl", d->acs_ctrl, 4);
      ic_json_writer_end_object(w);
    } else {
      ic_json_writer_null(w);
    }
    ic_json_writer_member(w, "sriov");
    if (d->sriov_capable) {
      ic_json_writer_begin_object(w);
      ic_jw_add_int(w, "totalvfs", d->sriov_totalvfs);
      ic_jw_add_int(w, "numvfs", d->sriov_numvfs);
      ic_json_writer_member(w, "vfs");
      ic_json_writer_begin_array(w);
      for (guint i = 0; i < d->virtfns->len; i++)
        ic_json_writer_string(w, ((IcPciDevice *) g_ptr_array_index(d->virtfns, i))->name);
      ic_json_writer_end_array(w);
      ic_json_writer_end_object(w);
    } else {
      ic_json_writer_null(w);
    }
    ic_jw_add_string(w, "physfn", d->physfn ? d->physfn->name : NULL);
    ic_jw_add_bool(w, "holds_root_fs", d->holds_root_fs);
  }
  ic_jw_add_string_array(w, "notes", d->notes);
  ic_json_writer_end_object(w);
}

static void
write_group(IcJsonWriter *w, const IcIommuGroup *g, gboolean details)
{
  ic_json_writer_begin_object(w);
  ic_jw_add_int(w, "number", g->number);
  ic_jw_add_string(w, "type", g->type);
  ic_jw_add_string(w, "verdict", ic_group_verdict_to_id(g->verdict));
  ic_json_writer_member(w, "reasons");
  ic_json_writer_begin_array(w);
  for (guint i = 0; i < g->reasons->len; i++) {
    IcGroupReason *r = g_ptr_array_index(g->reasons, i);
    ic_json_writer_begin_object(w);
    ic_jw_add_string(w, "kind", ic_group_verdict_to_id(r->kind));
    ic_jw_add_string(w, "device", r->device ? r->device->name : NULL);
    ic_jw_add_string(w, "text", r->text);
    ic_json_writer_end_object(w);
  }
  ic_json_writer_end_array(w);
  ic_json_writer_member(w, "members");
  ic_json_writer_begin_array(w);
  for (guint i = 0; i < g->members->len; i++)
    write_device(w, g_ptr_array_index(g->members, i), details);
  ic_json_writer_end_array(w);
  if (details) {
    ic_json_writer_member(w, "reserved_regions");
    if (g->reserved_regions) {
      ic_json_writer_begin_array(w);
      for (guint i = 0; g->reserved_regions[i]; i++)
        ic_json_writer_string(w, g->reserved_regions[i]);
      ic_json_writer_end_array(w);
    } else {
      ic_json_writer_null(w);
    }
  }
  ic_json_writer_end_object(w);
}

void
ic_json_add_device(JsonBuilder *b, const IcPciDevice *d, gboolean details)
{
  g_autoptr(IcJsonWriter) w = ic_json_writer_new_builder(b);
  write_device(w, d, details);
}

void
ic_json_add_group(JsonBuilder *b, const IcIommuGroup *g, gboolean details)
{
  g_autoptr(IcJsonWriter) w = ic_json_writer_new_builder(b);
  write_group(w, g, details);
}

/* "groups": [...], "ungrouped": [...] members of the groups and report
 * documents */
static void
write_group_lists(IcJsonWriter *w, const IcInventory *inv, gboolean details)
{
  ic_json_writer_member(w, "groups");
  ic_json_writer_begin_array(w);
  for (guint i = 0; i < inv->groups->len; i++)
    write_group(w, g_ptr_array_index(inv->groups, i), details);
  ic_json_writer_end_array(w);
  ic_json_writer_member(w, "ungrouped");
  ic_json_writer_begin_array(w);
  for (guint i = 0; i < inv->devices->len; i++) {
    const IcPciDevice *d = g_ptr_array_index(inv->devices, i);
    if (d->iommu_group < 0)
      write_device(w, d, details);
  }
  ic_json_writer_end_array(w);
}

void
ic_json_add_group_lists(JsonBuilder *b, const IcInventory *inv, gboolean details)
{
  g_autoptr(IcJsonWriter) w = ic_json_writer_new_builder(b);
  write_group_lists(w, inv, details);
}

/* The groups document (docs/json/groups.md), streamed: on a 4096-function
 * host a json-glib tree of it costs several times the scan. */
static void
write_groups_document(IcJsonWriter *w, const IcInventory *inv)
{
  ic_json_writer_begin_object(w);
  ic_jw_add_string(w, "schema", "iommuctl.groups");
  ic_jw_add_int(w, "version", 1);
  ic_jw_add_bool(w, "iommu_enabled", inv->host.iommu_enabled);
  ic_jw_add_int(w, "assignable_groups", inv->host.n_assignable_groups);
  write_group_lists(w, inv, FALSE);
  ic_json_writer_end_object(w);
}

char *
ic_inventory_groups_json(const IcInventory *inv)
{
  g_autoptr(IcJsonWriter) w = ic_json_writer_new_stream();
  write_groups_document(w, inv);
  return ic_json_writer_steal_text(w, NULL);
}

void
ic_inventory_groups_json_build(const IcInventory *inv, JsonBuilder *b)
{
  g_autoptr(IcJsonWriter) w = ic_json_writer_new_builder(b);
  write_groups_document(w, inv);
}

static void
write_bool_or_null(IcJsonWriter *w, const char *key, int v)
{
  ic_json_writer_member(w, key);
  if (v < 0)
    ic_json_writer_null(w);
  else
    ic_json_writer_bool(w, v != 0);
}

static void
write_host(IcJsonWriter *w, const IcHostInfo *h)
{
  ic_json_writer_begin_object(w);
  ic_jw_add_string(w, "kernel_release", h->kernel_release);
  ic_jw_add_string(w, "arch", h->arch);
  ic_jw_add_string(w, "cmdline", h->cmdline);
  ic_json_writer_member(w, "firmware");
  ic_json_writer_begin_object(w);
  write_bool_or_null(w, "dmar", h->acpi_dmar);
  write_bool_or_null(w, "ivrs", h->acpi_ivrs);
  write_bool_or_null(w, "iort", h->acpi_iort);
  ic_json_writer_end_object(w);
  ic_json_writer_member(w, "iommu");
  ic_json_writer_begin_object(w);
  ic_jw_add_string(w, "vendor", h->iommu_vendor);
  write_bool_or_null(w, "enabled", h->iommu_enabled);
  ic_jw_add_string_array(w, "units", h->iommu_units);
  ic_jw_add_int(w, "groups", h->n_groups);
  ic_jw_add_int(w, "assignable_groups", h->n_assignable_groups);
  ic_jw_add_string(w, "default_domain_type", h->default_domain_type);
  write_bool_or_null(w, "interrupt_remapping", h->interrupt_remapping);
  ic_json_writer_member(w, "address_width");
  if (h->address_width)
    ic_json_writer_int(w, h->address_width);
  else
    ic_json_writer_null(w);
  ic_jw_add_string(w, "address_width_source", h->address_width_source);
  ic_json_writer_end_object(w);
  ic_json_writer_member(w, "vfio");
  ic_json_writer_begin_object(w);
  write_bool_or_null(w, "vfio_module", h->vfio_available);
  write_bool_or_null(w, "vfio_pci_module", h->vfio_pci_available);
  write_bool_or_null(w, "vfio_builtin", h->vfio_builtin);
  write_bool_or_null(w, "vfio_pci_builtin", h->vfio_pci_builtin);
  write_bool_or_null(w, "dev_vfio", h->dev_vfio);
  write_bool_or_null(w, "dev_iommu", h->dev_iommu);
  ic_json_writer_end_object(w);
  ic_json_writer_member(w, "cmdline_flags");
  ic_json_writer_begin_object(w);
  ic_jw_add_string(w, "intel_iommu", h->cmdline_intel_iommu);
  ic_jw_add_string(w, "amd_iommu", h->cmdline_amd_iommu);
  ic_jw_add_string(w, "iommu", h->cmdline_iommu);
  ic_jw_add_string(w, "intremap", h->cmdline_intremap);
  ic_jw_add_string(w, "pcie_acs_override", h->cmdline_pcie_acs_override);
  ic_jw_add_string(w, "vfio_iommu_type1.allow_unsafe_interrupts", h->cmdline_allow_unsafe_interrupts);
  ic_json_writer_end_object(w);
  ic_json_writer_member(w, "memlock");
  if (h->memlock_known) {
    ic_json_writer_begin_object(w);
    ic_json_writer_member(w, "soft");
    if (h->memlock_soft == G_MAXUINT64)
      ic_json_writer_string(w, "unlimited");
    else
      ic_json_writer_int(w, (gint64) h->memlock_soft);
    ic_json_writer_member(w, "hard");
    if (h->memlock_hard == G_MAXUINT64)
      ic_json_writer_string(w, "unlimited");
    else
      ic_json_writer_int(w, (gint64) h->memlock_hard);
    ic_json_writer_end_object(w);
  } else {
    ic_json_writer_null(w);
  }
  ic_jw_add_string_array(w, "notes", h->notes);
  ic_json_writer_end_object(w);
}

void
ic_json_add_host(JsonBuilder *b, const IcHostInfo *h)
{
  g_autoptr(IcJsonWriter) w = ic_json_writer_new_builder(b);
  write_host(w, h);
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
