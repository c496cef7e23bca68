/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What one QEMU binary offers, asked over QMP once and cached.  Command-line
 * decisions (is there an amd-iommu "pci-id"?  iommufd?) are made from this,
 * never from a version number alone; the version table below only explains
 * a refusal ("needs QEMU >= 9.0") and synthesises --qemu-version caps. */
#include "iommuctl/qemu.h"
#include "iommuctl/error.h"
#include "util/ic-util.h"

#include <gio/gio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

struct IcQemuCaps {
  char *binary;
  char *version;
  char *arch;
  guint version_code;
  GHashTable *machine_alias;   /* alias -> full name                    */
  GHashTable *machine_props;   /* full name -> GHashTable set of props  */
  GHashTable *devices;         /* type -> GHashTable set of props       */
  GHashTable *types;           /* set of every non-abstract QOM type    */
};

/* The devices whose properties decide command lines. */
static const char *const probed_devices[] = {
  "intel-iommu", "amd-iommu", "AMDVI-PCI", "virtio-iommu-pci", "virtio-iommu-device",
  "vfio-pci", "pxb-pcie", "pxb", "pcie-root-port", "arm-smmuv3", "virtio-net-pci",
  "virtio-blk-pci", "virtio-scsi-pci", "virtio-serial-pci", "virtio-balloon-pci",
  "virtio-rng-pci", NULL,
};

/* When each IOMMU-relevant type/property appeared (qemu-ecosystem.md A).
 * prop NULL means the type itself. */
typedef struct {
  const char *type;
  const char *prop;
  const char *since;
} IcFeatureSince;

static const IcFeatureSince feature_table[] = {
  {"vfio-pci", NULL, "2.0"},
  {"virtio-net-pci", NULL, "2.0"},
  {"virtio-blk-pci", NULL, "2.0"},
  {"virtio-scsi-pci", NULL, "2.0"},
  {"virtio-serial-pci", NULL, "2.0"},
  {"virtio-balloon-pci", NULL, "2.0"},
  {"virtio-rng-pci", NULL, "2.0"},
  {"pxb-pcie", NULL, "2.9"},
  {"pcie-root-port", NULL, "2.9"},
  {"intel-iommu", NULL, "2.7"},
  {"intel-iommu", "intremap", "2.7"},
  {"intel-iommu", "eim", "2.8"},
  {"intel-iommu", "caching-mode", "2.9"},
  {"intel-iommu", "device-iotlb", "2.9"},
  {"intel-iommu", "pt", "2.10"},
  {"intel-iommu", "aw-bits", "2.12"},
  {"intel-iommu", "snoop-control", "7.0"},
  {"intel-iommu", "dma-translation", "7.2"},
  {"intel-iommu", "x-pasid-mode", "7.2"},
  {"intel-iommu", "stale-tm", "9.2"},
  {"intel-iommu", "x-flts", "9.2"},
  {"amd-iommu", NULL, "2.7"},
  {"AMDVI-PCI", NULL, "2.7"},
  {"amd-iommu", "xtsup", "8.2"},
  {"amd-iommu", "pci-id", "10.0"},
  {"amd-iommu", "dma-remap", "10.1"},
  {"virtio-iommu-pci", NULL, "6.2"},
  {"virtio-iommu-pci", "boot-bypass", "7.0"},
  {"virtio-iommu-pci", "granule", "9.0"},
  {"virtio-iommu-pci", "aw-bits", "9.0"},
  {"vfio-pci", "iommufd", "9.0"},
  {"vfio-pci", "fd", "9.0"},
  {"iommufd", NULL, "9.0"},
  {"pxb-pcie", "bypass_iommu", "6.1"},
  {"pxb", "bypass_iommu", "6.1"},
  {"machine", "default-bus-bypass-iommu", "6.1"},
  {"arm-smmuv3", NULL, "10.2"},
  {NULL},
};

static GHashTable *
string_set_new(void)
{
  return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static IcQemuCaps *
caps_new(void)
{
  IcQemuCaps *c = g_new0(IcQemuCaps, 1);
  c->machine_alias = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  c->machine_props = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) g_hash_table_unref);
  c->devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) g_hash_table_unref);
  c->types = string_set_new();
  return c;
}

void
ic_qemu_caps_free(IcQemuCaps *caps)
{
  if (caps == NULL)
    return;
  g_free(caps->binary);
  g_free(caps->version);
  g_free(caps->arch);
  g_hash_table_unref(caps->machine_alias);
  g_hash_table_unref(caps->machine_props);
  g_hash_table_unref(caps->devices);
  g_hash_table_unref(caps->types);
  g_free(caps);
}

static guint
version_code_of(const char *version)
{
  guint major = 0, minor = 0, micro = 0;
  if (version == NULL || sscanf(version, "%u.%u.%u", &major, &minor, &micro) < 2)
    return 0;
  return major * 1000000 + minor * 1000 + micro;
}

static void
caps_set_version(IcQemuCaps *c, const char *version)
{
  g_free(c->version);
  c->version = g_strdup(version);
  c->version_code = version_code_of(version);
}

const char *ic_qemu_caps_version(const IcQemuCaps *caps) { return caps->version; }
guint ic_qemu_caps_version_code(const IcQemuCaps *caps) { return caps->version_code; }
const char *ic_qemu_caps_binary(const IcQemuCaps *caps) { return caps->binary; }

gboolean
ic_qemu_caps_has_device(const IcQemuCaps *caps, const char *type)
{
  return g_hash_table_contains(caps->devices, type);
}

gboolean
ic_qemu_caps_has_device_prop(const IcQemuCaps *caps, const char *type, const char *prop)
{
  GHashTable *props = g_hash_table_lookup(caps->devices, type);
  return props != NULL && g_hash_table_contains(props, prop);
}

gboolean
ic_qemu_caps_has_object(const IcQemuCaps *caps, const char *type)
{
  return g_hash_table_contains(caps->types, type);
}

const char *
ic_qemu_caps_resolve_machine(const IcQemuCaps *caps, const char *machine)
{
  if (machine == NULL)
    return NULL;
  const char *full = g_hash_table_lookup(caps->machine_alias, machine);
  if (full != NULL)
    return full;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, caps->machine_alias);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (strcmp(v, machine) == 0)
      return v;
  return NULL;
}

gboolean
ic_qemu_caps_has_machine(const IcQemuCaps *caps, const char *machine)
{
  return ic_qemu_caps_resolve_machine(caps, machine) != NULL;
}

/* Machine properties are probed for the default q35/virt types only; other
 * versions of the same family share them. */
static GHashTable *
machine_props_for(const IcQemuCaps *caps, const char *machine)
{
  const char *full = ic_qemu_caps_resolve_machine(caps, machine);
  if (full == NULL)
    return NULL;
  GHashTable *props = g_hash_table_lookup(caps->machine_props, full);
  if (props != NULL)
    return props;
  const char *family = g_str_has_prefix(full, "pc-q35") ? "q35"
                       : g_str_has_prefix(full, "virt") ? "virt"
                       : g_str_has_prefix(full, "pc-i440fx") ? "pc" : NULL;
  const char *canon = family ? g_hash_table_lookup(caps->machine_alias, family) : NULL;
  return canon ? g_hash_table_lookup(caps->machine_props, canon) : NULL;
}

gboolean
ic_qemu_caps_has_machine_prop(const IcQemuCaps *caps, const char *machine, const char *prop)
{
  GHashTable *props = machine_props_for(caps, machine);
  return props != NULL && g_hash_table_contains(props, prop);
}

const char *
ic_qemu_feature_since(const char *type, const char *prop)
{
  for (const IcFeatureSince *f = feature_table; f->type; f++)
    if (strcmp(f->type, type) == 0 && g_strcmp0(f->prop, prop) == 0)
      return f->since;
  return NULL;
}

/* ---- JSON form (cache file and fake capability files) ------------------- */

static int
compare_strptr(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static void
add_sorted_set(JsonBuilder *b, GHashTable *set)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, set);
  while (g_hash_table_iter_next(&it, &k, NULL))
    g_ptr_array_add(keys, k);
  g_ptr_array_sort(keys, compare_strptr);
  json_builder_begin_array(b);
  for (guint i = 0; i < keys->len; i++)
    json_builder_add_string_value(b, keys->pdata[i]);
  json_builder_end_array(b);
}

static void
add_map_of_sets(JsonBuilder *b, GHashTable *map)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, map);
  while (g_hash_table_iter_next(&it, &k, NULL))
    g_ptr_array_add(keys, k);
  g_ptr_array_sort(keys, compare_strptr);
  json_builder_begin_object(b);
  for (guint i = 0; i < keys->len; i++) {
    json_builder_set_member_name(b, keys->pdata[i]);
    add_sorted_set(b, g_hash_table_lookup(map, keys->pdata[i]));
  }
  json_builder_end_object(b);
}

JsonNode *
ic_qemu_caps_to_json(const IcQemuCaps *caps)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("qemu-caps", 1);
  ic_json_add_string_or_null(b, "binary", caps->binary);
  ic_json_add_string_or_null(b, "qemu_version", caps->version);
  ic_json_add_string_or_null(b, "arch", caps->arch);
  json_builder_set_member_name(b, "machine-aliases");
  json_builder_begin_object(b);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, caps->machine_alias);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    ic_json_add_string(b, k, v);
  }
  json_builder_end_object(b);
  json_builder_set_member_name(b, "machine-props");
  add_map_of_sets(b, caps->machine_props);
  json_builder_set_member_name(b, "devices");
  add_map_of_sets(b, caps->devices);
  json_builder_set_member_name(b, "types");
  add_sorted_set(b, caps->types);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

static GHashTable *
set_from_array(JsonArray *a)
{
  GHashTable *set = string_set_new();
  for (guint i = 0; a && i < json_array_get_length(a); i++) {
    const char *s = ic_json_array_string(a, i);
    if (s != NULL)
      g_hash_table_add(set, g_strdup(s));
  }
  return set;
}

static void
map_of_sets_from_object(GHashTable *map, JsonObject *o)
{
  if (o == NULL)
    return;
  g_autoptr(GList) members = json_object_get_members(o);
  for (GList *l = members; l; l = l->next) {
    JsonNode *n = json_object_get_member(o, l->data);
    if (JSON_NODE_HOLDS_ARRAY(n))
      g_hash_table_insert(map, g_strdup(l->data), set_from_array(json_node_get_array(n)));
  }
}

static void
aliases_from_object(GHashTable *map, JsonObject *o)
{
  if (o == NULL)
    return;
  g_autoptr(GList) members = json_object_get_members(o);
  for (GList *l = members; l; l = l->next) {
    const char *target = NULL;
    if (ic_json_get_string(o, l->data, NULL, &target, NULL) && target != NULL)
      g_hash_table_insert(map, g_strdup(l->data), g_strdup(target));
  }
}

/* A capability file is ours (the cache) or the user's (--caps): read it
 * defensively, refusing wrong types with the member's name. */
static IcQemuCaps *
caps_from_json(JsonNode *root, const char *origin, GError **error)
{
  JsonObject *o = ic_json_node_object(root);
  if (o == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: not a QEMU capability object", origin);
    return NULL;
  }
  const char *version = NULL, *binary = NULL, *arch = "x86_64";
  JsonObject *aliases = NULL, *machine_props = NULL, *devices = NULL;
  JsonArray *types = NULL;
  if (!ic_json_get_string(o, "qemu_version", NULL, &version, error) ||
      !ic_json_get_string(o, "binary", NULL, &binary, error) || !ic_json_get_string(o, "arch", NULL, &arch, error) ||
      !ic_json_get_object(o, "machine-aliases", NULL, &aliases, error) ||
      !ic_json_get_object(o, "machine-props", NULL, &machine_props, error) ||
      !ic_json_get_object(o, "devices", NULL, &devices, error) || !ic_json_get_array(o, "types", NULL, &types, error)) {
    g_prefix_error(error, "%s: ", origin);
    return NULL;
  }
  if (version == NULL || version_code_of(version) == 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: missing or bad \"qemu_version\"", origin);
    return NULL;
  }
  IcQemuCaps *c = caps_new();
  caps_set_version(c, version);
  c->binary = g_strdup(binary);
  c->arch = g_strdup(arch);
  aliases_from_object(c->machine_alias, aliases);
  map_of_sets_from_object(c->machine_props, machine_props);
  map_of_sets_from_object(c->devices, devices);
  if (types != NULL) {
    g_hash_table_unref(c->types);
    c->types = set_from_array(types);
  }
  return c;
}

IcQemuCaps *
ic_qemu_caps_load_file(const char *path, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new();
  /* bounded, regular files only, depth pre-scan: ic-safe.h */
  if (!ic_json_parser_load_file(p, path, 64 << 20, error))
    return NULL;
  return caps_from_json(json_parser_get_root(p), path, error);
}

/* ---- probing ------------------------------------------------------------ */

/* QEMU answered, but not in the shape its QAPI schema promises. */
static gboolean
qmp_reply_unexpected(const char *command, GError **error)
{
  g_clear_error(error);
  g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QMP %s: unexpected reply from QEMU", command);
  return FALSE;
}

static GHashTable *
probe_prop_names(IcQmp *qmp, const char *command, const char *type)
{
  JsonObject *args = json_object_new();
  json_object_set_string_member(args, "typename", type);
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) r = ic_qmp_execute(qmp, command, args, &local);
  json_object_unref(args);
  if (r == NULL || !JSON_NODE_HOLDS_ARRAY(r))
    return NULL; /* the type does not exist in this binary */
  GHashTable *set = string_set_new();
  JsonArray *a = json_node_get_array(r);
  for (guint i = 0; i < json_array_get_length(a); i++) {
    const char *name = NULL;
    if (ic_json_get_string(ic_json_node_object(json_array_get_element(a, i)), "name", NULL, &name, NULL) &&
        name != NULL)
      g_hash_table_add(set, g_strdup(name));
  }
  return set;
}

static gboolean
probe_version(IcQmp *qmp, IcQemuCaps *c, GError **error)
{
  g_autoptr(JsonNode) v = ic_qmp_execute(qmp, "query-version", NULL, error);
  if (v == NULL)
    return FALSE;
  JsonObject *q = NULL;
  gint64 major = -1, minor = -1, micro = -1;
  if (!ic_json_get_object(ic_json_node_object(v), "qemu", "query-version", &q, error) || q == NULL ||
      !ic_json_get_int(q, "major", "qemu", &major, error) || !ic_json_get_int(q, "minor", "qemu", &minor, error) ||
      !ic_json_get_int(q, "micro", "qemu", &micro, error) || major < 0 || minor < 0 || micro < 0)
    return qmp_reply_unexpected("query-version", error);
  g_autofree char *ver = g_strdup_printf("%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT ".%" G_GINT64_FORMAT, major,
                                         minor, micro);
  caps_set_version(c, ver);
  g_autoptr(JsonNode) t = ic_qmp_execute(qmp, "query-target", NULL, error);
  if (t == NULL)
    return FALSE;
  const char *arch = NULL;
  if (!ic_json_get_string(ic_json_node_object(t), "arch", "query-target", &arch, error) || arch == NULL)
    return qmp_reply_unexpected("query-target", error);
  c->arch = g_strdup(arch);
  return TRUE;
}

static gboolean
probe_machines(IcQmp *qmp, IcQemuCaps *c, GError **error)
{
  g_autoptr(JsonNode) m = ic_qmp_execute(qmp, "query-machines", NULL, error);
  if (m == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY(m))
    return qmp_reply_unexpected("query-machines", error);
  JsonArray *a = json_node_get_array(m);
  for (guint i = 0; i < json_array_get_length(a); i++) {
    JsonObject *mo = ic_json_node_object(json_array_get_element(a, i));
    const char *name = NULL, *alias = NULL;
    if (!ic_json_get_string(mo, "name", NULL, &name, NULL) || !ic_json_get_string(mo, "alias", NULL, &alias, NULL) ||
        name == NULL)
      return qmp_reply_unexpected("query-machines", error);
    g_hash_table_insert(c->machine_alias, g_strdup(name), g_strdup(name));
    if (alias != NULL)
      g_hash_table_insert(c->machine_alias, g_strdup(alias), g_strdup(name));
  }
  /* Properties of the current q35/pc/virt types: enough to decide
   * default-bus-bypass-iommu, iommu=smmuv3, kernel_irqchip. */
  static const char *const families[] = {"q35", "pc", "virt", NULL};
  for (int i = 0; families[i]; i++) {
    const char *full = g_hash_table_lookup(c->machine_alias, families[i]);
    if (full == NULL)
      continue;
    g_autofree char *type = g_strconcat(full, "-machine", NULL);
    GHashTable *props = probe_prop_names(qmp, "qom-list-properties", type);
    if (props != NULL)
      g_hash_table_insert(c->machine_props, g_strdup(full), props);
  }
  return TRUE;
}

static gboolean
probe_types(IcQmp *qmp, IcQemuCaps *c, GError **error)
{
  JsonObject *args = json_object_new();
  json_object_set_boolean_member(args, "abstract", FALSE);
  g_autoptr(JsonNode) r = ic_qmp_execute(qmp, "qom-list-types", args, error);
  json_object_unref(args);
  if (r == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY(r))
    return qmp_reply_unexpected("qom-list-types", error);
  JsonArray *a = json_node_get_array(r);
  for (guint i = 0; i < json_array_get_length(a); i++) {
    const char *name = NULL;
    if (!ic_json_get_string(ic_json_node_object(json_array_get_element(a, i)), "name", NULL, &name, NULL) ||
        name == NULL)
      return qmp_reply_unexpected("qom-list-types", error);
    g_hash_table_add(c->types, g_strdup(name));
  }
  return TRUE;
}

static IcQemuCaps *
caps_probe_live(const char *binary, GError **error)
{
  const char *argv[] = {binary, "-S", "-display", "none", "-nodefaults", "-no-user-config",
                        "-machine", "none", "-accel", "tcg", NULL};
  g_autoptr(IcQmp) qmp = ic_qmp_spawn(argv, 20000, error);
  if (qmp == NULL) {
    g_prefix_error(error, "probing %s: ", binary);
    return NULL;
  }
  g_autoptr(IcQemuCaps) c = caps_new();
  c->binary = g_strdup(binary);
  if (!probe_version(qmp, c, error) || !probe_machines(qmp, c, error) || !probe_types(qmp, c, error)) {
    g_prefix_error(error, "probing %s: ", binary);
    return NULL;
  }
  for (int i = 0; probed_devices[i]; i++) {
    if (!g_hash_table_contains(c->types, probed_devices[i]))
      continue;
    GHashTable *props = probe_prop_names(qmp, "device-list-properties", probed_devices[i]);
    if (props != NULL)
      g_hash_table_insert(c->devices, g_strdup(probed_devices[i]), props);
  }
  ic_qmp_quit(qmp);
  return g_steal_pointer(&c);
}

static char *
cache_path_for(IcContext *ctx, const char *binary, const struct stat *st)
{
  g_autofree char *key = g_strdup_printf("%s\n%lld\n%lld.%09ld", binary, (long long) st->st_size,
                                         (long long) st->st_mtim.tv_sec, (long) st->st_mtim.tv_nsec);
  g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
  g_autofree char *name = g_strdup_printf("qemu-caps-%.20s.json", sum);
  return g_build_filename(ctx->cache_dir, name, NULL);
}

IcQemuCaps *
ic_qemu_caps_probe(IcContext *ctx, const char *binary, GError **error)
{
  g_autofree char *path = g_find_program_in_path(binary);
  if (path == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "QEMU binary %s not found", binary);
    return NULL;
  }
  g_autofree char *real = realpath(path, NULL);
  struct stat st;
  if (real == NULL || stat(real, &st) != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "QEMU binary %s: %s", path, g_strerror(errno));
    return NULL;
  }
  g_autofree char *cache = ctx->cache_dir ? cache_path_for(ctx, real, &st) : NULL;
  if (cache != NULL && g_file_test(cache, G_FILE_TEST_IS_REGULAR)) {
    IcQemuCaps *cached = ic_qemu_caps_load_file(cache, NULL);
    if (cached != NULL && g_strcmp0(cached->binary, path) == 0)
      return cached;
    ic_qemu_caps_free(cached); /* unreadable or another path: re-probe */
  }
  IcQemuCaps *c = caps_probe_live(path, error);
  if (c != NULL && cache != NULL) {
    g_autoptr(JsonNode) j = ic_qemu_caps_to_json(c);
    g_autofree char *text = ic_json_to_string(j, FALSE);
    /* A cache we cannot write is only slower, never wrong. */
    if (ic_mkdir_p(ctx->cache_dir, 0755, NULL))
      ic_write_file_atomic(cache, text, strlen(text), NULL);
  }
  return c;
}

/* ---- synthetic caps for another version --------------------------------- */

static GHashTable *
copy_set(GHashTable *set)
{
  GHashTable *n = string_set_new();
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, set);
  while (g_hash_table_iter_next(&it, &k, NULL))
    g_hash_table_add(n, g_strdup(k));
  return n;
}

static void
copy_map_of_sets(GHashTable *dst, GHashTable *src)
{
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, src);
  while (g_hash_table_iter_next(&it, &k, &v))
    g_hash_table_insert(dst, g_strdup(k), copy_set(v));
}

static void
apply_feature(IcQemuCaps *c, const IcFeatureSince *f, gboolean present)
{
  if (strcmp(f->type, "machine") == 0) {
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, c->machine_props);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
      if (present)
        g_hash_table_add(v, g_strdup(f->prop));
      else
        g_hash_table_remove(v, f->prop);
    }
    return;
  }
  if (f->prop == NULL) {
    if (present) {
      g_hash_table_add(c->types, g_strdup(f->type));
      if (strcmp(f->type, "iommufd") != 0 && !g_hash_table_contains(c->devices, f->type))
        g_hash_table_insert(c->devices, g_strdup(f->type), string_set_new());
    } else {
      g_hash_table_remove(c->types, f->type);
      g_hash_table_remove(c->devices, f->type);
    }
    return;
  }
  GHashTable *props = g_hash_table_lookup(c->devices, f->type);
  if (props == NULL)
    return; /* the type itself is absent */
  if (present)
    g_hash_table_add(props, g_strdup(f->prop));
  else
    g_hash_table_remove(props, f->prop);
}

/* q35 -> pc-q35-<major.minor> etc., so the argv names the versioned type. */
static void
retarget_machine_aliases(IcQemuCaps *c, guint major, guint minor)
{
  static const struct { const char *alias, *prefix; } fam[] = {
    {"q35", "pc-q35-"}, {"pc", "pc-i440fx-"}, {"virt", "virt-"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(fam); i++) {
    const char *old = g_hash_table_lookup(c->machine_alias, fam[i].alias);
    if (old == NULL)
      continue;
    g_autofree char *full = g_strdup_printf("%s%u.%u", fam[i].prefix, major, minor);
    GHashTable *props = g_hash_table_lookup(c->machine_props, old);
    if (props != NULL && strcmp(old, full) != 0)
      g_hash_table_insert(c->machine_props, g_strdup(full), copy_set(props));
    g_hash_table_insert(c->machine_alias, g_strdup(fam[i].alias), g_strdup(full));
    g_hash_table_insert(c->machine_alias, g_strdup(full), g_strdup(full));
  }
}

IcQemuCaps *
ic_qemu_caps_for_version(const IcQemuCaps *base, const char *version, GError **error)
{
  guint major = 0, minor = 0;
  if (version == NULL || sscanf(version, "%u.%u", &major, &minor) != 2 || major == 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "bad QEMU version '%s' (want MAJOR.MINOR)",
                version ? version : "");
    return NULL;
  }
  IcQemuCaps *c = caps_new();
  g_autofree char *full_version = g_strdup_printf("%u.%u.0", major, minor);
  caps_set_version(c, full_version);
  if (base != NULL) {
    c->arch = g_strdup(base->arch);
    c->binary = g_strdup(base->binary);
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, base->machine_alias);
    while (g_hash_table_iter_next(&it, &k, &v))
      g_hash_table_insert(c->machine_alias, g_strdup(k), g_strdup(v));
    copy_map_of_sets(c->machine_props, base->machine_props);
    copy_map_of_sets(c->devices, base->devices);
    g_hash_table_unref(c->types);
    c->types = copy_set(base->types);
  } else {
    /* No binary to start from: an x86 QEMU with the usual machines. */
    c->arch = g_strdup("x86_64");
    static const char *const fams[] = {"q35", "pc", NULL};
    for (int i = 0; fams[i]; i++) {
      g_hash_table_insert(c->machine_alias, g_strdup(fams[i]), g_strdup(fams[i]));
      g_hash_table_insert(c->machine_props, g_strdup(fams[i]), string_set_new());
    }
  }
  retarget_machine_aliases(c, major, minor);
  for (const IcFeatureSince *f = feature_table; f->type; f++) /* types first */
    if (f->prop == NULL)
      apply_feature(c, f, c->version_code >= version_code_of(f->since));
  for (const IcFeatureSince *f = feature_table; f->type; f++)
    if (f->prop != NULL)
      apply_feature(c, f, c->version_code >= version_code_of(f->since));
  return c;
}

gboolean
ic_qemu_emulator_trusted(const char *binary, char **resolved_out, GError **error)
{
  g_autofree char *path = g_find_program_in_path(binary);
  g_autoptr(GError) why = NULL;
  if (path != NULL && ic_trusted_executable(path, resolved_out, &why))
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
              "refusing to execute the emulator %s that the domain XML names: %s; iommuctl runs as "
              "root and executes only an emulator that is, with every directory above it, owned by "
              "root and not writable by group or other; pass --qemu PATH (a binary you choose), "
              "--qemu-caps FILE or --qemu-version X.Y", binary,
              why ? why->message : "it is not found");
  return FALSE;
}

IcQemuCaps *
ic_qemu_caps_select(IcContext *ctx, const char *binary, gboolean operator_named, const char *version,
                    const char *caps_file, GError **error)
{
  if (caps_file != NULL) {
    g_autoptr(IcQemuCaps) c = ic_qemu_caps_load_file(caps_file, error);
    if (c == NULL || version == NULL)
      return g_steal_pointer(&c);
    return ic_qemu_caps_for_version(c, version, error);
  }
  g_autofree char *path = g_find_program_in_path(binary);
  /* Probing executes the binary: one the XML names must pass the trust
   * rule, and then the checked, resolved path is what runs (a symlink on
   * the way could be swapped between check and exec); with --qemu-version
   * the version table stands in for an untrusted one. */
  g_autofree char *resolved = NULL;
  gboolean may_execute = path != NULL && (operator_named || ic_qemu_emulator_trusted(binary, &resolved, NULL));
  if (!may_execute && version != NULL) {
    IcQemuCaps *c = ic_qemu_caps_for_version(NULL, version, error);
    if (c != NULL)
      c->binary = g_strdup(binary);
    return c;
  }
  if (path != NULL && !may_execute) {
    ic_qemu_emulator_trusted(binary, NULL, error);
    return NULL;
  }
  if (resolved != NULL) {
    g_free(path);
    path = g_steal_pointer(&resolved);
  }
  g_autoptr(IcQemuCaps) probed = ic_qemu_caps_probe(ctx, path != NULL ? path : binary, error);
  if (probed == NULL || version == NULL)
    return g_steal_pointer(&probed);
  return ic_qemu_caps_for_version(probed, version, error);
}
