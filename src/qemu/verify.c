/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Read back, from a QEMU that libvirt's engine started paused, every
 * property its command line set: proof that QEMU took each option as meant
 * (not just that it started).  The domain is destroyed on every path. */
#include "qemu-private.h"

#include <stdio.h>
#include <libxml/parser.h>

/* Keys that are wiring, not properties worth reading back (links, bus
 * placement, the host BDF of a device that cannot start here anyway). */
static const char *const skipped_keys[] = {
  "driver", "id", "bus", "addr", "drive", "netdev", "chardev", "rng", "iommufd", "pci-id",
  "host", "qom-type", "node-name", "file", "filename", NULL,
};

/* Devices all of whose properties are read back. */
static const char *const iommu_devices[] = {
  "intel-iommu", "amd-iommu", "AMDVI-PCI", "virtio-iommu", "virtio-iommu-pci", "arm-smmuv3", "pxb-pcie", "pxb", NULL,
};

/* The properties of any other device that decide its DMA translation. */
static const char *const dma_keys[] = {
  "iommu_platform", "ats", "packed", "page-per-vq", "bypass_iommu", "disable-legacy", "disable-modern", NULL,
};

static char *
canon_value(JsonNode *n)
{
  if (n == NULL || JSON_NODE_HOLDS_NULL(n))
    return g_strdup("null");
  if (!JSON_NODE_HOLDS_VALUE(n))
    return ic_json_to_string(n, FALSE);
  GType t = json_node_get_value_type(n);
  if (t == G_TYPE_BOOLEAN)
    return g_strdup(json_node_get_boolean(n) ? "true" : "false");
  if (t == G_TYPE_INT64)
    return g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
  if (t == G_TYPE_DOUBLE)
    return g_strdup_printf("%g", json_node_get_double(n));
  const char *s = json_node_get_string(n);
  int b = ic_parse_bool_word(s);
  if (b >= 0 && strcmp(s, "1") != 0 && strcmp(s, "0") != 0)
    return g_strdup(b ? "true" : "false");
  guint64 u;
  if (g_str_has_prefix(s, "0x") && ic_parse_uint64(s, 16, G_MAXUINT64, &u))
    return g_strdup_printf("%" G_GUINT64_FORMAT, u);
  return g_strdup(s);
}

static void
check_free(gpointer p)
{
  IcQemuCheck *c = p;
  g_free(c->what);
  g_free(c->expected);
  g_free(c->actual);
  g_free(c);
}

static void
add_check(GPtrArray *out, const char *what, const char *expected, const char *actual)
{
  IcQemuCheck *c = g_new0(IcQemuCheck, 1);
  c->what = g_strdup(what);
  c->expected = g_strdup(expected);
  c->actual = g_strdup(actual);
  c->ok = actual != NULL && g_strcmp0(expected, actual) == 0;
  g_ptr_array_add(out, c);
}

static void
check_qom(IcQemuDomain *dom, GPtrArray *out, const char *path, const char *prop, JsonNode *expected_node)
{
  g_autofree char *expected = canon_value(expected_node);
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonNode) got = ic_qemu_domain_qom_get(dom, path, prop, &err);
  g_autofree char *actual = got ? canon_value(got) : NULL;
  g_autofree char *what = g_strdup_printf("%s %s", path, prop);
  add_check(out, what, expected, actual ? actual : (err ? err->message : NULL));
  if (actual == NULL)
    ((IcQemuCheck *) out->pdata[out->len - 1])->ok = FALSE;
}

/* info qtree: host bridge bus name -> "true"/"false" of bypass-iommu */
static GHashTable *
qtree_host_bypass(IcQemuDomain *dom, GError **error)
{
  g_autofree char *tree = ic_qemu_domain_hmp(dom, "info qtree", error);
  if (tree == NULL)
    return NULL;
  GHashTable *map = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) lines = g_strsplit(tree, "\n", -1);
  char *pending = NULL;
  for (int i = 0; lines[i]; i++) {
    const char *l = g_strstrip(lines[i]);
    if (g_str_has_prefix(l, "dev: ")) {
      g_clear_pointer(&pending, g_free);
      continue;
    }
    if (g_str_has_prefix(l, "bypass-iommu = ")) {
      g_free(pending);
      pending = g_strdup(l + strlen("bypass-iommu = "));
      continue;
    }
    if (pending != NULL && g_str_has_prefix(l, "bus: ")) {
      g_hash_table_insert(map, g_strdup(l + 5), pending);
      pending = NULL;
    }
  }
  g_free(pending);
  return map;
}

static void
check_device(IcQemuDomain *dom, GPtrArray *out, JsonObject *dev, GHashTable *qtree)
{
  const char *id = json_object_get_string_member_with_default(dev, "id", NULL);
  const char *driver = json_object_get_string_member_with_default(dev, "driver", "");
  if (id == NULL)
    return;
  g_autofree char *path = g_strdup_printf("/machine/peripheral/%s", id);
  /* every property of the vIOMMU and the expander buses; of the other
   * devices (libvirt's argv has many) those that decide DMA translation */
  gboolean all = g_strv_contains(iommu_devices, driver);
  g_autoptr(GList) members = json_object_get_members(dev);
  for (GList *l = members; l; l = l->next) {
    if (g_strv_contains(skipped_keys, l->data) || (!all && !g_strv_contains(dma_keys, l->data)))
      continue;
    check_qom(dom, out, path, l->data, json_object_get_member(dev, l->data));
  }
  /* the id-less host bridge a pxb-pcie creates carries the effective flag */
  if (strcmp(driver, "pxb-pcie") == 0 && qtree != NULL) {
    JsonNode *want = json_object_get_member(dev, "bypass_iommu");
    g_autofree char *expected = want ? canon_value(want) : g_strdup("false");
    g_autofree char *what = g_strdup_printf("info qtree pxb-host of bus %s bypass-iommu", id);
    add_check(out, what, expected, g_hash_table_lookup(qtree, id));
  }
}

static void
check_machine(IcQemuDomain *dom, GPtrArray *out, const IcQemuArgv *argv, GHashTable *qtree)
{
  g_autoptr(JsonObject) merged = json_object_new();
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    if (o->text == NULL || (strcmp(o->name, "-machine") != 0 && strcmp(o->name, "-M") != 0))
      continue;
    g_autoptr(JsonObject) kv = ic_qemu_keyval_parse(o->text, "type");
    g_autoptr(GList) members = json_object_get_members(kv);
    for (GList *l = members; l; l = l->next) {
      g_autofree char *key = g_strdelimit(g_strdup(l->data), "_", '-');
      json_object_set_member(merged, key, json_node_copy(json_object_get_member(kv, l->data)));
    }
  }
  static const char *const not_props[] = {"type", "kernel-irqchip", "memory-backend", NULL};
  g_autoptr(GList) members = json_object_get_members(merged);
  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains(not_props, l->data))
      check_qom(dom, out, "/machine", l->data, json_object_get_member(merged, l->data));
  if (json_object_has_member(merged, "default-bus-bypass-iommu") && qtree != NULL) {
    g_autofree char *expected = canon_value(json_object_get_member(merged, "default-bus-bypass-iommu"));
    const char *root = g_hash_table_contains(qtree, "pcie.0") ? "pcie.0" : "pci.0";
    g_autofree char *what = g_strdup_printf("info qtree host bridge of %s bypass-iommu", root);
    add_check(out, what, expected, g_hash_table_lookup(qtree, root));
  }
}

/* The XML that may be started here: PCI hostdevs are left out (libvirt
 * would detach managed ones from the host; verify never hands host devices
 * over) and reported skipped; an <interface> whose backend needs libvirt's
 * network driver or a host bridge, which the embedded driver has not, gets
 * user networking (the guest-facing device and its iommu_platform stay). */
static char *
startable_xml(const char *xml, const char *file, GPtrArray *out, GError **error)
{
  xmlDocPtr doc = xmlReadMemory(xml, (int) strlen(xml), file, NULL, XML_PARSE_NONET);
  if (doc == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: cannot re-read the XML handed to libvirt", file);
    return NULL;
  }
  xmlNodePtr root = xmlDocGetRootElement(doc);
  xmlNodePtr devices = NULL;
  for (xmlNodePtr c = root ? root->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && c->ns == NULL && xmlStrcmp(c->name, BAD_CAST "devices") == 0)
      devices = c;
  for (xmlNodePtr c = devices ? devices->children : NULL, next; c; c = next) {
    next = c->next;
    if (c->type != XML_ELEMENT_NODE || c->ns != NULL)
      continue;
    xmlChar *type = xmlGetProp(c, BAD_CAST "type");
    if (xmlStrcmp(c->name, BAD_CAST "hostdev") == 0 ||
        (xmlStrcmp(c->name, BAD_CAST "interface") == 0 && xmlStrcmp(type, BAD_CAST "hostdev") == 0)) {
      IcQemuCheck *k = g_new0(IcQemuCheck, 1);
      k->what = g_strdup_printf("<%s type='%s'> at line %ld", (const char *) c->name, type ? (const char *) type : "",
                                (long) xmlGetLineNo(c));
      k->expected = g_strdup("started");
      k->actual = g_strdup("not started: --verify never hands host devices to QEMU");
      k->ok = TRUE;
      k->skipped = TRUE;
      g_ptr_array_add(out, k);
      xmlUnlinkNode(c);
      xmlFreeNode(c);
    } else if (xmlStrcmp(c->name, BAD_CAST "interface") == 0 && xmlStrcmp(type, BAD_CAST "user") != 0) {
      xmlSetProp(c, BAD_CAST "type", BAD_CAST "user");
      for (xmlNodePtr s = c->children, sn; s; s = sn) {
        sn = s->next;
        if (s->type == XML_ELEMENT_NODE && xmlStrcmp(s->name, BAD_CAST "source") == 0) {
          xmlUnlinkNode(s);
          xmlFreeNode(s);
        }
      }
    }
    xmlFree(type);
  }
  xmlChar *mem = NULL;
  int len = 0;
  xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
  xmlFreeDoc(doc);
  char *text = g_strndup((const char *) mem, len);
  xmlFree(mem);
  return text;
}

GPtrArray *
ic_qemu_verify(IcQemuEngine *engine, const IcQemuBuild *build, const char *file, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(check_free);
  g_autofree char *xml = startable_xml(build->xml, file, out, error);
  if (xml == NULL)
    return NULL;
  g_autoptr(IcQemuDomain) dom = ic_qemu_engine_start_paused(engine, xml, file, error);
  if (dom == NULL)
    return NULL;
  /* What is read back is what runs: the started QEMU's own command line
   * (libvirt's start differs from domxml-to-native in the network backend
   * and passed descriptors), else the printed one. */
  g_auto(GStrv) running = ic_qemu_domain_cmdline(dom);
  g_autoptr(IcQemuArgv) argv = running ? ic_qemu_argv_from_strv((const char *const *) running) : NULL;
  IcQemuArgv *use = argv ? argv : build->argv;
  ic_qemu_argv_parse_json(use);
  g_autoptr(GHashTable) qtree = qtree_host_bypass(dom, NULL);
  check_machine(dom, out, use, qtree);
  for (guint i = 0; i < use->opts->len; i++) {
    const IcQemuOpt *o = use->opts->pdata[i];
    if (o->json == NULL)
      continue;
    if (strcmp(o->name, "-device") == 0) {
      if (g_strcmp0(json_object_get_string_member_with_default(o->json, "driver", NULL), "vfio-pci") == 0)
        continue;
      check_device(dom, out, o->json, qtree);
    } else if (strcmp(o->name, "-object") == 0) {
      const char *id = json_object_get_string_member_with_default(o->json, "id", NULL);
      const char *type = json_object_get_string_member_with_default(o->json, "qom-type", "");
      /* libvirt's own secret and memory backends: not IOMMU properties */
      if (id == NULL || g_str_has_prefix(type, "secret") || g_str_has_prefix(type, "memory-backend"))
        continue;
      g_autofree char *path = g_strdup_printf("/objects/%s", id);
      g_autoptr(GList) members = json_object_get_members(o->json);
      for (GList *l = members; l; l = l->next)
        if (!g_strv_contains(skipped_keys, l->data))
          check_qom(dom, out, path, l->data, json_object_get_member(o->json, l->data));
    }
  }
  GError *destroy_err = NULL;
  if (!ic_qemu_domain_destroy(dom, &destroy_err)) {
    g_propagate_error(error, destroy_err);
    return NULL;
  }
  return g_steal_pointer(&out);
}
