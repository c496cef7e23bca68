/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Read back, from a paused QEMU, every property a command line set: proof
 * that QEMU took each option as meant (not just that it started). */
#include "qemu-private.h"

#include <stdio.h>

/* Keys that are wiring, not properties worth reading back (links, bus
 * placement, the host BDF of a device that cannot start here anyway). */
static const char *const skipped_keys[] = {
  "driver", "id", "bus", "addr", "drive", "netdev", "chardev", "rng", "iommufd", "pci-id",
  "host", "qom-type", "node-name", "file", "filename", NULL,
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
check_qom(IcQmp *qmp, GPtrArray *out, const char *path, const char *prop, JsonNode *expected_node)
{
  g_autofree char *expected = canon_value(expected_node);
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonNode) got = ic_qmp_qom_get(qmp, path, prop, &err);
  g_autofree char *actual = got ? canon_value(got) : NULL;
  g_autofree char *what = g_strdup_printf("%s %s", path, prop);
  add_check(out, what, expected, actual ? actual : (err ? err->message : NULL));
  if (actual == NULL)
    ((IcQemuCheck *) out->pdata[out->len - 1])->ok = FALSE;
}

/* info qtree: host bridge bus name -> "true"/"false" of bypass-iommu */
static GHashTable *
qtree_host_bypass(IcQmp *qmp, GError **error)
{
  g_autofree char *tree = ic_qmp_hmp(qmp, "info qtree", error);
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
check_device(IcQmp *qmp, GPtrArray *out, JsonObject *dev, GHashTable *qtree)
{
  const char *id = json_object_get_string_member_with_default(dev, "id", NULL);
  const char *driver = json_object_get_string_member_with_default(dev, "driver", "");
  if (id == NULL)
    return;
  g_autofree char *path = g_strdup_printf("/machine/peripheral/%s", id);
  g_autoptr(GList) members = json_object_get_members(dev);
  for (GList *l = members; l; l = l->next) {
    if (g_strv_contains(skipped_keys, l->data))
      continue;
    check_qom(qmp, out, path, l->data, json_object_get_member(dev, l->data));
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
check_machine(IcQmp *qmp, GPtrArray *out, const IcQemuArgv *argv, GHashTable *qtree)
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
      check_qom(qmp, out, "/machine", l->data, json_object_get_member(merged, l->data));
  if (json_object_has_member(merged, "default-bus-bypass-iommu") && qtree != NULL) {
    g_autofree char *expected = canon_value(json_object_get_member(merged, "default-bus-bypass-iommu"));
    const char *root = g_hash_table_contains(qtree, "pcie.0") ? "pcie.0" : "pci.0";
    g_autofree char *what = g_strdup_printf("info qtree host bridge of %s bypass-iommu", root);
    add_check(out, what, expected, g_hash_table_lookup(qtree, root));
  }
}

static gboolean
host_has_group(IcContext *ctx, const char *bdf)
{
  g_autofree char *rel = g_strdup_printf("/sys/bus/pci/devices/%s/iommu_group", bdf);
  g_autofree char *path = ic_context_sys_path(ctx, rel);
  return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* A copy of argv without the vfio-pci devices that cannot start here. */
static IcQemuArgv *
startable_argv(IcContext *ctx, const IcQemuArgv *argv, GPtrArray *out)
{
  IcQemuArgv *copy = ic_qemu_argv_new(argv->binary);
  gboolean vfio_kept = FALSE;
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    const char *driver = o->json ? json_object_get_string_member_with_default(o->json, "driver", "") : "";
    const char *host = o->json ? json_object_get_string_member_with_default(o->json, "host", NULL) : NULL;
    if (strcmp(driver, "vfio-pci") == 0 && host != NULL) {
      if (!host_has_group(ctx, host)) {
        IcQemuCheck *c = g_new0(IcQemuCheck, 1);
        c->what = g_strdup_printf("-device vfio-pci host=%s", host);
        c->expected = g_strdup("started");
        c->actual = g_strdup("not started: the host device has no IOMMU group here");
        c->ok = TRUE;
        c->skipped = TRUE;
        g_ptr_array_add(out, c);
        continue;
      }
      vfio_kept = TRUE;
    }
    if (o->json)
      ic_qemu_argv_add_json(copy, o->name, json_object_ref(o->json));
    else if (o->text)
      ic_qemu_argv_add_text(copy, o->name, o->text);
    else
      ic_qemu_argv_add_flag(copy, o->name);
  }
  if (!vfio_kept) /* drop an iommufd object no device uses any more */
    for (guint i = copy->opts->len; i-- > 0;) {
      IcQemuOpt *o = copy->opts->pdata[i];
      if (o->json && g_strcmp0(json_object_get_string_member_with_default(o->json, "qom-type", NULL), "iommufd") == 0)
        g_ptr_array_remove_index(copy->opts, i);
    }
  return copy;
}

GPtrArray *
ic_qemu_verify(IcContext *ctx, const IcQemuArgv *orig, GError **error)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(check_free);
  g_autoptr(IcQemuArgv) argv = startable_argv(ctx, orig, out);
  g_auto(GStrv) v = ic_qemu_argv_to_strv(argv);
  g_autoptr(GPtrArray) full = g_ptr_array_new();
  gboolean paused = FALSE;
  for (int i = 0; v[i]; i++) {
    paused = paused || strcmp(v[i], "-S") == 0;
    g_ptr_array_add(full, v[i]);
  }
  if (!paused)
    g_ptr_array_insert(full, 1, "-S");
  g_ptr_array_add(full, NULL);
  g_autoptr(IcQmp) qmp = ic_qmp_spawn((const char *const *) full->pdata, 30000, error);
  if (qmp == NULL) {
    g_ptr_array_unref(out);
    return NULL;
  }
  g_autoptr(GHashTable) qtree = qtree_host_bypass(qmp, NULL);
  check_machine(qmp, out, argv, qtree);
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    if (o->json == NULL)
      continue;
    if (strcmp(o->name, "-device") == 0) {
      if (g_strcmp0(json_object_get_string_member_with_default(o->json, "driver", NULL), "vfio-pci") == 0)
        continue; /* started only where it exists; nothing to read back */
      check_device(qmp, out, o->json, qtree);
    } else if (strcmp(o->name, "-object") == 0) {
      const char *id = json_object_get_string_member_with_default(o->json, "id", NULL);
      g_autofree char *path = g_strdup_printf("/objects/%s", id ? id : "");
      g_autoptr(GList) members = json_object_get_members(o->json);
      for (GList *l = members; id && l; l = l->next)
        if (!g_strv_contains(skipped_keys, l->data))
          check_qom(qmp, out, path, l->data, json_object_get_member(o->json, l->data));
    }
  }
  ic_qmp_quit(qmp);
  return out;
}
