/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `place`: the trait filter Nova meant to build for hw_viommu_model, over a
 * fleet of `traits --json` documents.  The fleet is loaded once into one
 * bitset per host (trait names interned), so a request is a few word ANDs
 * per host: 100k hosts filter in well under a millisecond. */
#include "policy/policy-private.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>

struct IcPolicyFleet {
  GHashTable *trait_ids;   /* name -> id+1 */
  GPtrArray *trait_names;  /* id -> name (owned) */
  GStringChunk *strings;   /* host names */
  GPtrArray *host_names;   /* const char* into strings */
  GArray *host_trait_ids;  /* guint32 ids of all hosts, flattened */
  GArray *host_trait_start;/* guint32, per host + 1 sentinel */
  guint words;             /* bitset words per host */
  guint64 *bits;           /* hosts * words */
  GPtrArray *skipped;      /* "PATH: reason" of directory entries not read */
};

struct IcPolicyRequest {
  GPtrArray *required;     /* char* trait names, in the order given */
  GPtrArray *forbidden;
  char *flavor_model;      /* hw:viommu_model */
  char *image_model;       /* hw_viommu_model */
  GHashTable *image;       /* the image-property terms, for Nova's own view */
  gboolean finished;
};

/* ---- fleet ------------------------------------------------------------------ */

static guint32
intern_trait(IcPolicyFleet *f, const char *name)
{
  gpointer v = g_hash_table_lookup(f->trait_ids, name);
  if (v != NULL)
    return GPOINTER_TO_UINT(v) - 1;
  char *copy = g_strdup(name);
  g_ptr_array_add(f->trait_names, copy);
  guint32 id = f->trait_names->len - 1;
  g_hash_table_insert(f->trait_ids, copy, GUINT_TO_POINTER(id + 1));
  return id;
}

static IcPolicyFleet *
fleet_new(void)
{
  IcPolicyFleet *f = g_new0(IcPolicyFleet, 1);
  f->trait_ids = g_hash_table_new(g_str_hash, g_str_equal);
  f->trait_names = g_ptr_array_new_with_free_func(g_free);
  f->strings = g_string_chunk_new(1 << 16);
  f->host_names = g_ptr_array_new();
  f->host_trait_ids = g_array_new(FALSE, FALSE, sizeof(guint32));
  f->host_trait_start = g_array_new(FALSE, FALSE, sizeof(guint32));
  guint32 zero = 0;
  g_array_append_val(f->host_trait_start, zero);
  f->skipped = g_ptr_array_new_with_free_func(g_free);
  return f;
}

void
ic_policy_fleet_free(IcPolicyFleet *f)
{
  if (f == NULL)
    return;
  g_hash_table_unref(f->trait_ids);
  g_ptr_array_unref(f->trait_names);
  g_string_chunk_free(f->strings);
  g_ptr_array_unref(f->host_names);
  g_array_unref(f->host_trait_ids);
  g_array_unref(f->host_trait_start);
  g_free(f->bits);
  g_ptr_array_unref(f->skipped);
  g_free(f);
}

guint
ic_policy_fleet_size(const IcPolicyFleet *f)
{
  return f->host_names->len;
}

const char *
ic_policy_fleet_host_name(const IcPolicyFleet *f, guint index)
{
  return g_ptr_array_index(f->host_names, index);
}

/* One traits document: {"host":{"name":...}, "traits":[...]} (or a bare
 * {"name":..., "traits":[...]}). */
static gboolean
add_host(IcPolicyFleet *f, JsonNode *node, const char *where, const char *fallback_name, GError **error)
{
  JsonObject *o = ic_json_node_object(node);
  JsonArray *traits = NULL;
  if (o == NULL || !ic_json_get_array(o, "traits", NULL, &traits, NULL) || traits == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: not a traits document (no \"traits\" array)", where);
    return FALSE;
  }
  const char *name = NULL;
  JsonObject *host = NULL;
  if (!ic_json_get_object(o, "host", NULL, &host, error) ||
      (host != NULL && !ic_json_get_string(host, "name", "host", &name, error)) ||
      (name == NULL && !ic_json_get_string(o, "name", NULL, &name, error))) {
    g_prefix_error(error, "%s: ", where);
    return FALSE;
  }
  if (name == NULL)
    name = fallback_name;
  g_ptr_array_add(f->host_names, g_string_chunk_insert(f->strings, name));
  guint n = json_array_get_length(traits);
  for (guint i = 0; i < n; i++) {
    const char *t = ic_json_array_string(traits, i);
    if (t == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: trait %u of host %s is not a string", where, i, name);
      return FALSE;
    }
    guint32 id = intern_trait(f, t);
    g_array_append_val(f->host_trait_ids, id);
  }
  guint32 end = f->host_trait_ids->len;
  g_array_append_val(f->host_trait_start, end);
  return TRUE;
}

static gboolean
add_document(IcPolicyFleet *f, JsonNode *root, const char *where, const char *fallback, GError **error)
{
  /* json-glib accepts an empty or all-blank text as a document with no root */
  if (root == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: no JSON value (the file is empty)", where);
    return FALSE;
  }
  if (JSON_NODE_HOLDS_ARRAY(root)) {
    JsonArray *a = json_node_get_array(root);
    for (guint i = 0; i < json_array_get_length(a); i++) {
      g_autofree char *w = g_strdup_printf("%s[%u]", where, i);
      g_autofree char *fb = g_strdup_printf("%s#%u", fallback, i);
      if (!add_host(f, json_array_get_element(a, i), w, fb, error))
        return FALSE;
    }
    return TRUE;
  }
  return add_host(f, root, where, fallback, error);
}

static gboolean
load_ndjson(IcPolicyFleet *f, JsonParser *parser, char *data, const char *path, GError **error)
{
  guint line_no = 0;
  char *save = NULL;
  for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    line_no++;
    while (g_ascii_isspace(*line))
      line++;
    if (*line == '\0')
      continue;
    g_autofree char *where = g_strdup_printf("%s:%u", path, line_no);
    if (!ic_json_parser_load(parser, line, -1, where, error))
      return FALSE;
    g_autofree char *fb = g_strdup_printf("line%u", line_no);
    if (!add_document(f, json_parser_get_root(parser), where, fb, error))
      return FALSE;
  }
  return TRUE;
}

/* data is NUL-terminated and may be modified (NDJSON is split in place). */
static gboolean
load_data(IcPolicyFleet *f, char *data, gsize len, const char *path, GError **error)
{
  /* one depth pre-scan of the whole input before json-glib sees any of it
   * (the NDJSON probe below parses the first line already) */
  if (!ic_json_check_depth(data, len, IC_JSON_MAX_DEPTH, path, error))
    return FALSE;
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autofree char *base = g_path_get_basename(path);
  if (g_str_has_suffix(base, ".json"))
    base[strlen(base) - 5] = '\0';
  /* NDJSON when the first line is a whole JSON value and more lines follow
   * (json-glib would quietly read only one of several top-level values);
   * otherwise one document or an array, possibly pretty-printed */
  const char *nl = memchr(data, '\n', len);
  const char *rest = nl;
  while (rest != NULL && *rest != '\0' && g_ascii_isspace(*rest))
    rest++;
  if (nl != NULL && rest != NULL && *rest != '\0' &&
      ic_json_check_depth(data, (gsize) (nl - data), IC_JSON_MAX_DEPTH, path, NULL) &&
      json_parser_load_from_data(parser, data, nl - data, NULL))
    return load_ndjson(f, parser, data, path, error);
  if (!ic_json_parser_load(parser, data, (gssize) len, path, error))
    return FALSE;
  return add_document(f, json_parser_get_root(parser), path, base, error);
}

static gboolean
load_file(IcPolicyFleet *f, const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!ic_read_file(path, IC_POLICY_FLEET_MAX_BYTES, &data, &len, error))
    return FALSE;
  return load_data(f, data, len, path, error);
}

static gboolean
is_fleet_file(const char *name)
{
  return g_str_has_suffix(name, ".json") || g_str_has_suffix(name, ".ndjson");
}

static void
note_skipped(const char *path, const char *reason, gpointer user_data)
{
  IcPolicyFleet *f = user_data;
  g_ptr_array_add(f->skipped, g_strdup_printf("%s %s", path, reason));
}

/* The *.json and *.ndjson files of the directory, in name order, through
 * the safe walk: symlinks and FIFOs are skipped (ic_policy_fleet_skipped()),
 * never followed or waited on. */
static gboolean
load_dir(IcPolicyFleet *f, const char *path, GError **error)
{
  g_autoptr(GPtrArray) files = ic_walk_collect(path, 0, is_fleet_file, note_skipped, f, error);
  if (files == NULL)
    return FALSE;
  for (guint i = 0; i < files->len; i++) {
    const char *p = g_ptr_array_index(files, i);
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!ic_read_file_at(AT_FDCWD, p, IC_OPEN_NOFOLLOW, NULL, IC_POLICY_FLEET_MAX_BYTES, &data, &len, error) ||
        !load_data(f, data, len, p, error))
      return FALSE;
  }
  return TRUE;
}

const GPtrArray *
ic_policy_fleet_skipped(const IcPolicyFleet *fleet)
{
  return fleet->skipped;
}

static void
build_bitsets(IcPolicyFleet *f)
{
  guint hosts = f->host_names->len;
  f->words = MAX(1u, (f->trait_names->len + 63) / 64);
  f->bits = g_new0(guint64, (gsize) hosts * f->words);
  const guint32 *start = (const guint32 *) f->host_trait_start->data;
  const guint32 *ids = (const guint32 *) f->host_trait_ids->data;
  for (guint h = 0; h < hosts; h++)
    for (guint32 i = start[h]; i < start[h + 1]; i++)
      f->bits[(gsize) h * f->words + ids[i] / 64] |= G_GUINT64_CONSTANT(1) << (ids[i] % 64);
}

static IcPolicyFleet *
fleet_finish(IcPolicyFleet *f, const char *path, GError **error)
{
  if (f->host_names->len == 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: no host in the fleet", path);
    ic_policy_fleet_free(f);
    return NULL;
  }
  build_bitsets(f);
  return f;
}

IcPolicyFleet *
ic_policy_fleet_load_data(const char *data, gsize len, const char *name, GError **error)
{
  g_autoptr(IcPolicyFleet) f = fleet_new();
  g_autofree char *copy = g_strndup(data, len);
  if (!load_data(f, copy, strlen(copy), name, error))
    return NULL;
  return fleet_finish(g_steal_pointer(&f), name, error);
}

IcPolicyFleet *
ic_policy_fleet_load(const char *path, GError **error)
{
  g_autoptr(IcPolicyFleet) f = fleet_new();
  struct stat st;
  gboolean is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  gboolean ok = is_dir ? load_dir(f, path, error) : load_file(f, path, error);
  if (!ok)
    return NULL;
  return fleet_finish(g_steal_pointer(&f), path, error);
}

/* ---- request ------------------------------------------------------------------ */

IcPolicyRequest *
ic_policy_request_new(void)
{
  IcPolicyRequest *r = g_new0(IcPolicyRequest, 1);
  r->required = g_ptr_array_new_with_free_func(g_free);
  r->forbidden = g_ptr_array_new_with_free_func(g_free);
  r->image = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  return r;
}

void
ic_policy_request_free(IcPolicyRequest *r)
{
  if (r == NULL)
    return;
  g_ptr_array_unref(r->required);
  g_ptr_array_unref(r->forbidden);
  g_free(r->flavor_model);
  g_free(r->image_model);
  g_hash_table_unref(r->image);
  g_free(r);
}

const GPtrArray *
ic_policy_request_required(const IcPolicyRequest *r)
{
  return r->required;
}

const GPtrArray *
ic_policy_request_forbidden(const IcPolicyRequest *r)
{
  return r->forbidden;
}

/* Nova's transform_image_metadata prefix map, in its order. */
static const struct { const char *prop, *prefix; } prefilter_map[] = {
  {"hw_cdrom_bus", "COMPUTE_STORAGE_BUS"},
  {"hw_disk_bus", "COMPUTE_STORAGE_BUS"},
  {"hw_video_model", "COMPUTE_GRAPHICS_MODEL"},
  {"hw_vif_model", "COMPUTE_NET_VIF_MODEL"},
  {"hw_architecture", "HW_ARCH"},
  {"hw_emulation_architecture", "COMPUTE_ARCH"},
  {"hw_viommu_model", "COMPUTE_VIOMMU"}, /* sic: Nova lacks _MODEL */
};

static char *
trait_from_value(const char *prefix, const char *value)
{
  g_autofree char *up = g_ascii_strup(value, -1);
  g_strdelimit(up, "-", '_');
  return g_strdup_printf("%s_%s", prefix, up);
}

static gboolean
valid_trait_name(const char *t)
{
  gsize n = strlen(t);
  if (n == 0 || n > 255)
    return FALSE;
  for (const char *c = t; *c; c++)
    if (!(g_ascii_isupper(*c) || g_ascii_isdigit(*c) || *c == '_'))
      return FALSE;
  return TRUE;
}

static gboolean
list_has(const GPtrArray *a, const char *s)
{
  for (guint i = 0; i < a->len; i++)
    if (g_str_equal(g_ptr_array_index(a, i), s))
      return TRUE;
  return FALSE;
}

static gboolean
add_trait_term(IcPolicyRequest *r, const char *name, gboolean required, GError **error)
{
  if (!valid_trait_name(name)) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                "'%s' is not a trait name (upper-case letters, digits and _, at most 255)", name);
    return FALSE;
  }
  GPtrArray *mine = required ? r->required : r->forbidden;
  GPtrArray *other = required ? r->forbidden : r->required;
  if (list_has(other, name)) {
    g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT, "trait %s is both required and forbidden", name);
    return FALSE;
  }
  if (!list_has(mine, name))
    g_ptr_array_add(mine, g_strdup(name));
  return TRUE;
}

gboolean
ic_policy_request_add(IcPolicyRequest *r, const char *term, GError **error)
{
  g_return_val_if_fail(!r->finished, FALSE);
  if (term[0] == '!' && g_str_has_prefix(term + 1, "trait:"))
    return add_trait_term(r, term + 7, FALSE, error);
  const char *eq = strchr(term, '=');
  g_autofree char *key = eq ? g_strndup(term, (gsize) (eq - term)) : g_strdup(term);
  const char *value = eq ? eq + 1 : NULL;
  if (g_str_has_prefix(key, "trait:")) {
    if (value == NULL || g_str_equal(value, "required"))
      return add_trait_term(r, key + 6, TRUE, error);
    if (g_str_equal(value, "forbidden"))
      return add_trait_term(r, key + 6, FALSE, error);
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: the value must be required or forbidden, not '%s'",
                key, value);
    return FALSE;
  }
  if (value == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                "request term '%s' is neither KEY=VALUE nor trait:NAME", term);
    return FALSE;
  }
  IcViommuModel m;
  if (g_str_equal(key, "hw:viommu_model")) {
    if (!ic_viommu_model_parse_flavor(value, &m, error))
      return FALSE;
    g_free(r->flavor_model);
    r->flavor_model = g_strdup(value);
    return TRUE;
  }
  if (g_str_equal(key, "hw_viommu_model")) {
    if (!ic_viommu_model_parse_image(value, &m, error))
      return FALSE;
    g_free(r->image_model);
    r->image_model = g_strdup(value);
    g_hash_table_replace(r->image, g_strdup(key), g_strdup(value));
    return TRUE;
  }
  for (gsize i = 0; i < G_N_ELEMENTS(prefilter_map); i++)
    if (g_str_equal(key, prefilter_map[i].prop)) {
      g_hash_table_replace(r->image, g_strdup(key), g_strdup(value));
      g_autofree char *t = trait_from_value(prefilter_map[i].prefix, value);
      return add_trait_term(r, t, TRUE, error);
    }
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
              "'%s' does not turn into a placement trait (see iommuctl place --help)", key);
  return FALSE;
}

gboolean
ic_policy_request_finish(IcPolicyRequest *r, GError **error)
{
  if (r->finished)
    return TRUE;
  r->finished = TRUE;
  /* the same precedence the driver applies: a non-empty flavor value wins */
  const char *v = r->flavor_model && *r->flavor_model ? r->flavor_model : r->image_model;
  IcViommuModel m = IC_VIOMMU_NONE;
  if (v != NULL && *v != '\0')
    ic_viommu_model_parse_image(v, &m, NULL);
  if (m != IC_VIOMMU_NONE)
    return add_trait_term(r, ic_viommu_model_trait(m), TRUE, error);
  return TRUE;
}

GPtrArray *
ic_policy_nova_prefilter(GHashTable *image, gboolean *nova_ok, char **invalid_trait)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  *nova_ok = TRUE;
  if (invalid_trait)
    *invalid_trait = NULL;
  for (gsize i = 0; i < G_N_ELEMENTS(prefilter_map); i++) {
    const char *v = g_hash_table_lookup(image, prefilter_map[i].prop);
    if (v == NULL)
      continue;
    g_autofree char *t = trait_from_value(prefilter_map[i].prefix, v);
    /* os-traits defines no COMPUTE_VIOMMU_<X>: Nova logs, returns False
     * and the traits gathered so far are thrown away */
    if (g_str_has_prefix(t, "COMPUTE_VIOMMU_") && !g_str_has_prefix(t, "COMPUTE_VIOMMU_MODEL_")) {
      *nova_ok = FALSE;
      if (invalid_trait)
        *invalid_trait = g_strdup(t);
      g_ptr_array_set_size(out, 0);
      return out;
    }
    g_ptr_array_add(out, g_steal_pointer(&t));
  }
  return out;
}

GPtrArray *
ic_policy_request_nova_prefilter(const IcPolicyRequest *r, gboolean *nova_ok, char **invalid_trait)
{
  return ic_policy_nova_prefilter(r->image, nova_ok, invalid_trait);
}

/* ---- filter ------------------------------------------------------------------- */

typedef struct {
  guint64 *req, *forb;
  gboolean impossible; /* a required trait no host has */
} Masks;

static void
build_masks(const IcPolicyFleet *f, const IcPolicyRequest *r, Masks *m)
{
  m->req = g_new0(guint64, f->words);
  m->forb = g_new0(guint64, f->words);
  m->impossible = FALSE;
  for (guint i = 0; i < r->required->len; i++) {
    gpointer v = g_hash_table_lookup(f->trait_ids, g_ptr_array_index(r->required, i));
    if (v == NULL) {
      m->impossible = TRUE;
      continue;
    }
    guint id = GPOINTER_TO_UINT(v) - 1;
    m->req[id / 64] |= G_GUINT64_CONSTANT(1) << (id % 64);
  }
  for (guint i = 0; i < r->forbidden->len; i++) {
    gpointer v = g_hash_table_lookup(f->trait_ids, g_ptr_array_index(r->forbidden, i));
    if (v == NULL)
      continue;
    guint id = GPOINTER_TO_UINT(v) - 1;
    m->forb[id / 64] |= G_GUINT64_CONSTANT(1) << (id % 64);
  }
}

GArray *
ic_policy_place(const IcPolicyFleet *f, const IcPolicyRequest *r, GArray **rejected)
{
  guint hosts = f->host_names->len;
  GArray *fit = g_array_sized_new(FALSE, FALSE, sizeof(guint), hosts);
  if (rejected)
    *rejected = g_array_sized_new(FALSE, FALSE, sizeof(guint), hosts / 4);
  Masks m;
  build_masks(f, r, &m);
  const guint words = f->words;
  for (guint h = 0; h < hosts; h++) {
    const guint64 *b = f->bits + (gsize) h * words;
    gboolean ok = !m.impossible;
    for (guint w = 0; ok && w < words; w++)
      ok = (b[w] & m.req[w]) == m.req[w] && (b[w] & m.forb[w]) == 0;
    if (ok)
      g_array_append_val(fit, h);
    else if (rejected)
      g_array_append_val(*rejected, h);
  }
  g_free(m.req);
  g_free(m.forb);
  return fit;
}

static gboolean
host_has(const IcPolicyFleet *f, guint h, const char *trait)
{
  gpointer v = g_hash_table_lookup(f->trait_ids, trait);
  if (v == NULL)
    return FALSE;
  guint id = GPOINTER_TO_UINT(v) - 1;
  return (f->bits[(gsize) h * f->words + id / 64] >> (id % 64)) & 1;
}

void
ic_policy_fleet_explain(const IcPolicyFleet *f, const IcPolicyRequest *r, guint h, GPtrArray *lacks,
                        GPtrArray *has_forbidden)
{
  for (guint i = 0; i < r->required->len; i++)
    if (!host_has(f, h, g_ptr_array_index(r->required, i)))
      g_ptr_array_add(lacks, g_ptr_array_index(r->required, i));
  for (guint i = 0; i < r->forbidden->len; i++)
    if (host_has(f, h, g_ptr_array_index(r->forbidden, i)))
      g_ptr_array_add(has_forbidden, g_ptr_array_index(r->forbidden, i));
}
