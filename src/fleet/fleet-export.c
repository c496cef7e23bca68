/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exports for the engines that cannot be asked over HTTP from here: Node
 * Feature Discovery's local feature file, KubeVirt's permittedHostDevices,
 * Proxmox's PCI mappings and node_exporter's textfile collector.  Each one
 * writes the engine's documented format and nothing else. */
#include "fleet-private.h"
#include "ic-config.h"

/* ---- Node Feature Discovery ----------------------------------------------------- */

#define NFD_PREFIX "feature.node.kubernetes.io/"

/* Kubernetes' qualified-name part and label value: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, <= 63 */
static gboolean
valid_k8s_name(const char *s, gboolean empty_ok)
{
  gsize n = strlen(s);
  if (n == 0)
    return empty_ok;
  if (n > 63 || !g_ascii_isalnum(s[0]) || !g_ascii_isalnum(s[n - 1]))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return FALSE;
  return TRUE;
}

/* DNS-1123 subdomain: lowercase labels [a-z0-9]([-a-z0-9]*[a-z0-9])? joined by dots, <= 253 */
static gboolean
valid_dns_subdomain(const char *s)
{
  gsize n = strlen(s);
  if (n == 0 || n > 253)
    return FALSE;
  g_auto(GStrv) labels = g_strsplit(s, ".", -1);
  for (int i = 0; labels[i]; i++) {
    gsize m = strlen(labels[i]);
    if (m == 0 || m > 63)
      return FALSE;
    for (gsize k = 0; k < m; k++) {
      char c = labels[i][k];
      gboolean ok = g_ascii_islower(c) || g_ascii_isdigit(c) || (c == '-' && k > 0 && k < m - 1);
      if (!ok)
        return FALSE;
    }
  }
  return TRUE;
}

gboolean
ic_nfd_valid_label_name(const char *key)
{
  const char *slash = strchr(key, '/');
  if (slash == NULL)
    return valid_k8s_name(key, FALSE);
  g_autofree char *prefix = g_strndup(key, (gsize) (slash - key));
  return valid_dns_subdomain(prefix) && valid_k8s_name(slash + 1, FALSE);
}

gboolean
ic_nfd_valid_label_value(const char *value)
{
  return valid_k8s_name(value, TRUE);
}

static void
nfd_line(GString *s, const char *name, const char *value)
{
  g_autofree char *key = g_strconcat(NFD_PREFIX, name, NULL);
  /* every name and value is built here from fixed words and hex ids */
  g_assert(ic_nfd_valid_label_name(key) && ic_nfd_valid_label_value(value));
  g_string_append_printf(s, "%s=%s\n", key, value);
}

static const char *
bool_word(gboolean b)
{
  return b ? "true" : "false";
}

/* Count offered groups per vendor:device (each group once per distinct id). */
static GHashTable *
count_by_id(GPtrArray *groups)
{
  GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < groups->len; i++) {
    const IcFleetGroup *g = g_ptr_array_index(groups, i);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint k = 0; k < g->endpoints->len; k++) {
      const IcPciDevice *d = g_ptr_array_index(g->endpoints, k);
      char *id = g_strdup_printf("%04x-%04x", d->vendor_id, d->device_id);
      if (!g_hash_table_add(seen, id))
        continue;
      guint n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, id));
      g_hash_table_insert(counts, g_strdup(id), GUINT_TO_POINTER(n + 1));
    }
  }
  return counts;
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The keys of a string table, sorted (GLib 2.74 has no _as_ptr_array). */
static GPtrArray *
sorted_keys(GHashTable *t)
{
  GPtrArray *a = g_ptr_array_new();
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, t);
  while (g_hash_table_iter_next(&it, &key, NULL))
    g_ptr_array_add(a, key);
  g_ptr_array_sort(a, compare_strings);
  return a;
}

char *
ic_export_nfd(IcInventory *inv, const IcPolicyHost *host, GError **error)
{
  const IcHostInfo *h = ic_inventory_host(inv);
  GString *s = g_string_new("# Node Feature Discovery local features, written by iommuctl export nfd.\n"
                            "# Regenerate after a change of hardware, kernel or bindings.\n");
  nfd_line(s, "iommu-enabled", bool_word(h->iommu_enabled));
  if (h->iommu_vendor != NULL && ic_nfd_valid_label_value(h->iommu_vendor))
    nfd_line(s, "iommu-vendor", h->iommu_vendor);
  if (h->interrupt_remapping >= 0)
    nfd_line(s, "iommu-interrupt-remapping", bool_word(h->interrupt_remapping == 1));
  nfd_line(s, "iommu-vfio", bool_word(h->vfio_available));
  nfd_line(s, "iommu-vfio-pci", bool_word(h->vfio_pci_available));
  nfd_line(s, "iommu-iommufd", bool_word(h->dev_iommu));
  if (host != NULL) {
    g_autoptr(GPtrArray) traits = ic_policy_host_traits(host);
    for (guint i = 0; i < traits->len; i++) {
      const IcPolicyTrait *t = g_ptr_array_index(traits, i);
      if (!g_str_has_prefix(t->name, "COMPUTE_VIOMMU_MODEL_"))
        continue;
      g_autofree char *model = g_ascii_strdown(t->name + strlen("COMPUTE_VIOMMU_MODEL_"), -1);
      g_autofree char *name = g_strdup_printf("iommu-viommu-%s", model);
      nfd_line(s, name, bool_word(t->present));
    }
  }
  g_autoptr(GPtrArray) groups = ic_fleet_assignable_groups(inv, NULL);
  g_autofree char *n = g_strdup_printf("%u", groups->len);
  nfd_line(s, "iommu-assignable-groups", n);
  g_autoptr(GHashTable) counts = count_by_id(groups);
  g_autoptr(GPtrArray) ids = sorted_keys(counts);
  for (guint i = 0; i < ids->len; i++) {
    const char *id = g_ptr_array_index(ids, i);
    g_autofree char *name = g_strdup_printf("iommu-assignable-groups-%s", id);
    g_autofree char *count = g_strdup_printf("%u", GPOINTER_TO_UINT(g_hash_table_lookup(counts, id)));
    nfd_line(s, name, count);
  }
  if (s->len > IC_NFD_MAX_FILE_SIZE) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED,
                "the feature file would be %zu bytes; nfd-worker ignores files over %d bytes", s->len,
                IC_NFD_MAX_FILE_SIZE);
    g_string_free(s, TRUE);
    return NULL;
  }
  return g_string_free(s, FALSE);
}

/* ---- KubeVirt ------------------------------------------------------------------ */

char *
ic_export_kubevirt(IcInventory *inv, gboolean json)
{
  g_autoptr(GPtrArray) refused = ic_fleet_refusals_new();
  g_autoptr(GPtrArray) groups = ic_fleet_assignable_groups(inv, refused);
  /* ids offered: single-function groups; an id is dropped when any device
   * with it is elsewhere, because KubeVirt selects by id, not address */
  g_autoptr(GHashTable) ok = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) bad = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < ic_inventory_n_devices(inv); i++) {
    const IcPciDevice *d = ic_inventory_device(inv, i);
    if (!ic_fleet_is_endpoint(d))
      continue;
    char *id = g_strdup_printf("%04X:%04X", d->vendor_id, d->device_id);
    const IcFleetGroup *fg = NULL;
    for (guint k = 0; k < groups->len && fg == NULL; k++)
      if (((IcFleetGroup *) g_ptr_array_index(groups, k))->group->number == d->iommu_group)
        fg = g_ptr_array_index(groups, k);
    if (fg == NULL)
      g_hash_table_insert(bad, id, g_strdup_printf("%s is in group %d, which is not assignable", d->name, d->iommu_group));
    else if (fg->endpoints->len > 1)
      g_hash_table_insert(bad, id, g_strdup_printf("%s shares group %d with %u more function%s", d->name,
                                                   d->iommu_group, fg->endpoints->len - 1,
                                                   fg->endpoints->len > 2 ? "s" : ""));
    else
      g_hash_table_add(ok, id);
  }
  g_autoptr(GPtrArray) ids = sorted_keys(ok);
  g_autoptr(GPtrArray) offered = g_ptr_array_new();
  for (guint i = 0; i < ids->len; i++)
    if (!g_hash_table_contains(bad, g_ptr_array_index(ids, i)))
      g_ptr_array_add(offered, g_ptr_array_index(ids, i));
  g_autoptr(GPtrArray) bad_ids = sorted_keys(bad);

  if (json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document("kubevirt", 1);
    json_builder_set_member_name(b, "pciHostDevices");
    json_builder_begin_array(b);
    for (guint i = 0; i < offered->len; i++) {
      const char *id = g_ptr_array_index(offered, i);
      g_autofree char *rn = g_strdup_printf("iommuctl.io/pci-%.4s-%s", id, id + 5);
      g_autofree char *rn_low = g_ascii_strdown(rn, -1);
      json_builder_begin_object(b);
      ic_json_add_string(b, "pciVendorSelector", id);
      ic_json_add_string(b, "resourceName", rn_low);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "excluded");
    json_builder_begin_array(b);
    for (guint i = 0; i < bad_ids->len; i++) {
      json_builder_begin_object(b);
      ic_json_add_string(b, "pciVendorSelector", g_ptr_array_index(bad_ids, i));
      ic_json_add_string(b, "reason", g_hash_table_lookup(bad, g_ptr_array_index(bad_ids, i)));
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    return ic_json_to_string(root, TRUE);
  }
  GString *s = g_string_new("# KubeVirt CR: spec.configuration.permittedHostDevices (written by iommuctl export kubevirt).\n"
                            "# KubeVirt selects by vendor:device and offers only devices bound to vfio-pci: a\n"
                            "# selector is listed only when every device with that id here is alone in an\n"
                            "# assignable IOMMU group. Bind them with `iommuctl detach`.\n"
                            "permittedHostDevices:\n  pciHostDevices:");
  if (offered->len == 0)
    g_string_append(s, " []");
  g_string_append_c(s, '\n');
  for (guint i = 0; i < offered->len; i++) {
    const char *id = g_ptr_array_index(offered, i);
    g_autofree char *rn = g_strdup_printf("iommuctl.io/pci-%.4s-%s", id, id + 5);
    g_autofree char *rn_low = g_ascii_strdown(rn, -1);
    g_string_append_printf(s, "  - pciVendorSelector: \"%s\"\n    resourceName: \"%s\"\n", id, rn_low);
  }
  for (guint i = 0; i < bad_ids->len; i++)
    g_string_append_printf(s, "# not offered: %s: %s\n", (const char *) g_ptr_array_index(bad_ids, i),
                           (const char *) g_hash_table_lookup(bad, g_ptr_array_index(bad_ids, i)));
  return g_string_free(s, FALSE);
}

/* ---- Proxmox ----------------------------------------------------------------------- */

static gboolean
same_slot(const IcPciDevice *a, const IcPciDevice *b)
{
  return a->addr.domain == b->addr.domain && a->addr.bus == b->addr.bus && a->addr.slot == b->addr.slot;
}

/* The slot "dddd:bb:ss" when the group's endpoints are exactly the
 * functions of one slot: a path without a function passes them all. */
static char *
one_slot(IcInventory *inv, const IcFleetGroup *g)
{
  const IcPciDevice *first = g_ptr_array_index(g->endpoints, 0);
  for (guint i = 1; i < g->endpoints->len; i++)
    if (!same_slot(g_ptr_array_index(g->endpoints, i), first))
      return NULL;
  for (guint i = 0; i < ic_inventory_n_devices(inv); i++) {
    const IcPciDevice *d = ic_inventory_device(inv, i);
    if (same_slot(d, first) && d->iommu_group != g->group->number)
      return NULL; /* the slot has a function of another group */
  }
  return g_strdup_printf("%04x:%02x:%02x", first->addr.domain, first->addr.bus, first->addr.slot);
}

static char *
proxmox_id(const char *node, int group)
{
  g_autofree char *low = g_ascii_strdown(node, -1);
  for (char *c = low; *c; c++)
    if (!g_ascii_isalnum(*c) && *c != '-' && *c != '_')
      *c = '-';
  return g_strdup_printf("iommu-%s-group%d", low, group);
}

char *
ic_export_proxmox(IcInventory *inv, const char *node, GError **error)
{
  if (node == NULL || node[0] == '\0' || strpbrk(node, ",= \t\n") != NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "'%s' is not a Proxmox node name", node ? node : "");
    return NULL;
  }
  g_autoptr(GPtrArray) refused = ic_fleet_refusals_new();
  g_autoptr(GPtrArray) groups = ic_fleet_assignable_groups(inv, refused);
  GString *s = g_string_new("# Proxmox VE PCI mappings (/etc/pve/mapping/pci.cfg), written by iommuctl export proxmox.\n"
                            "# One mapping per assignable IOMMU group; a VM uses it as hostpci0: mapping=ID.\n");
  for (guint i = 0; i < groups->len; i++) {
    const IcFleetGroup *g = g_ptr_array_index(groups, i);
    g_autofree char *slot = g->endpoints->len > 1 ? one_slot(inv, g) : NULL;
    if (g->endpoints->len > 1 && slot == NULL) {
      g_string_append_printf(s, "# group %d not mapped: its functions are not exactly those of one slot, and a "
                                "mapping path is one function or one whole multifunction device\n", g->group->number);
      continue;
    }
    /* the first function stands for the device: Proxmox compares id,
     * subsystem-id and iommugroup of the path (".0" for a whole device) */
    const IcPciDevice *d = g_ptr_array_index(g->endpoints, 0);
    gboolean whole = g->endpoints->len > 1;
    if (whole && d->addr.function != 0) {
      g_string_append_printf(s, "# group %d not mapped: a whole-device path stands for function 0, which is not in it\n",
                             g->group->number);
      continue;
    }
    g_autofree char *id = proxmox_id(node, g->group->number);
    g_string_append_printf(s, "%s\n\tmap id=%04x:%04x,iommugroup=%d,node=%s,path=%s", id, d->vendor_id, d->device_id,
                           g->group->number, node, whole ? slot : d->name);
    if (d->subsys_vendor_id != 0 || d->subsys_device_id != 0)
      g_string_append_printf(s, ",subsystem-id=%04x:%04x", d->subsys_vendor_id, d->subsys_device_id);
    g_string_append_printf(s, "\n\tdescription IOMMU group %d on %s:", g->group->number, node);
    for (guint k = 0; k < g->endpoints->len; k++)
      g_string_append_printf(s, " %s", ((IcPciDevice *) g_ptr_array_index(g->endpoints, k))->name);
    g_string_append(s, "\n\n");
  }
  for (guint i = 0; i < refused->len; i++) {
    IcFleetRefusal *r = g_ptr_array_index(refused, i);
    g_autofree char *one = g_strdup(r->reason);
    g_strdelimit(one, "\n", ' ');
    g_string_append_printf(s, "# not mapped: %s\n", one);
  }
  return g_string_free(s, FALSE);
}

/* ---- Prometheus ------------------------------------------------------------------- */

static void
family(GString *s, const char *name, const char *help)
{
  g_string_append_printf(s, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

char *
ic_export_prometheus(IcInventory *inv, const IcAssignStatus *status)
{
  const IcHostInfo *h = ic_inventory_host(inv);
  GString *s = g_string_new(NULL);
  family(s, "iommuctl_info", "iommuctl version that wrote these metrics.");
  g_string_append_printf(s, "iommuctl_info{version=\"%s\"} 1\n", IOMMUCTL_VERSION);

  family(s, "iommuctl_iommu_enabled", "Whether the kernel created IOMMU groups (1) or not (0).");
  g_string_append_printf(s, "iommuctl_iommu_enabled %d\n", h->iommu_enabled ? 1 : 0);
  if (h->interrupt_remapping >= 0) {
    family(s, "iommuctl_interrupt_remapping", "Whether the host IOMMU remaps interrupts (1) or not (0).");
    g_string_append_printf(s, "iommuctl_interrupt_remapping %d\n", h->interrupt_remapping);
  }

  guint by_verdict[4] = {0};
  for (guint i = 0; i < ic_inventory_n_groups(inv); i++) {
    const IcIommuGroup *g = ic_inventory_group(inv, i);
    if (g->n_endpoints > 0 && g->verdict <= IC_GROUP_HOST_IN_USE)
      by_verdict[g->verdict]++;
  }
  family(s, "iommuctl_iommu_groups", "IOMMU groups with at least one endpoint, by assignability verdict.");
  for (int v = IC_GROUP_ASSIGNABLE; v <= IC_GROUP_HOST_IN_USE; v++)
    g_string_append_printf(s, "iommuctl_iommu_groups{verdict=\"%s\"} %u\n", ic_group_verdict_to_id(v), by_verdict[v]);

  guint vfio = 0;
  for (guint i = 0; i < ic_inventory_n_devices(inv); i++) {
    const IcPciDevice *d = ic_inventory_device(inv, i);
    if (d->driver != NULL && strcmp(d->driver, "vfio-pci") == 0)
      vfio++;
  }
  family(s, "iommuctl_vfio_bound_devices", "PCI functions bound to vfio-pci now.");
  g_string_append_printf(s, "iommuctl_vfio_bound_devices %u\n", vfio);

  family(s, "iommuctl_journal_readable", "Whether iommuctl's journal of detached devices could be read.");
  g_string_append_printf(s, "iommuctl_journal_readable %d\n", status != NULL);
  if (status != NULL) {
    guint healthy = 0, broken = 0;
    for (guint i = 0; i < status->detached->len; i++) {
      const IcAssignDetached *d = g_ptr_array_index(status->detached, i);
      if (g_strcmp0(d->current_driver, d->driver) == 0)
        healthy++;
      else
        broken++;
    }
    family(s, "iommuctl_detached_devices",
           "Devices iommuctl detached, by whether they are still bound to the vfio driver it chose.");
    g_string_append_printf(s, "iommuctl_detached_devices{healthy=\"true\"} %u\n", healthy);
    g_string_append_printf(s, "iommuctl_detached_devices{healthy=\"false\"} %u\n", broken);
    family(s, "iommuctl_unfinished_operations", "Journaled operations that did not finish and need recover.");
    g_string_append_printf(s, "iommuctl_unfinished_operations %u\n", status->pending->len);
  }

  g_autoptr(GPtrArray) checks = ic_host_check(inv);
  guint by_status[4] = {0};
  for (guint i = 0; i < checks->len; i++) {
    const IcCheckItem *c = g_ptr_array_index(checks, i);
    if ((guint) c->status < G_N_ELEMENTS(by_status))
      by_status[c->status]++;
  }
  static const char *const status_ids[] = {"pass", "warn", "fail", "info"};
  family(s, "iommuctl_readiness_checks", "Host readiness checks (iommuctl check) by result.");
  for (guint i = 0; i < G_N_ELEMENTS(status_ids); i++)
    g_string_append_printf(s, "iommuctl_readiness_checks{result=\"%s\"} %u\n", status_ids[i], by_status[i]);
  family(s, "iommuctl_readiness_check", "One host readiness check: 1 for its current result.");
  g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < checks->len; i++) {
    const IcCheckItem *c = g_ptr_array_index(checks, i);
    if ((guint) c->status >= G_N_ELEMENTS(status_ids) || !g_hash_table_add(seen, c->id))
      continue; /* one series per check: node_exporter refuses duplicates */
    g_autoptr(GString) id = g_string_new(NULL);
    for (const char *p = c->id; *p; p++) {
      if (*p == '"' || *p == '\\')
        g_string_append_c(id, '\\');
      if (*p == '\n')
        g_string_append(id, "\\n");
      else
        g_string_append_c(id, *p);
    }
    g_string_append_printf(s, "iommuctl_readiness_check{check=\"%s\",result=\"%s\"} 1\n", id->str, status_ids[c->status]);
  }
  return g_string_free(s, FALSE);
}
