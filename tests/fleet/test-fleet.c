/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Offline unit tests of the fleet module: Placement reply parsing (shapes
 * and wrong types), the NFD label rules, group resource classes and UUIDs. */
#include <iommuctl/fleet.h>
#include "fleet/placement-private.h"

#include <string.h>

static JsonNode *
parse(const char *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *n = ic_placement_parse_object(text, strlen(text), "test", &error);
  g_assert_no_error(error);
  return n;
}

static void
test_providers(void)
{
  g_autoptr(JsonNode) n = parse("{\"resource_providers\":[{\"uuid\":\"u1\",\"name\":\"a\",\"generation\":3,"
                                "\"parent_provider_uuid\":null,\"root_provider_uuid\":\"u1\"},"
                                "{\"uuid\":\"u2\",\"name\":\"a_IOMMU_GROUP_1\",\"generation\":1,"
                                "\"parent_provider_uuid\":\"u1\",\"root_provider_uuid\":\"u1\"}]}");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = ic_placement_parse_providers(n, "GET /resource_providers", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(list->len, ==, 2);
  IcPlacementProvider *c = g_ptr_array_index(list, 1);
  g_assert_cmpstr(c->parent_uuid, ==, "u1");
  g_assert_cmpint(c->generation, ==, 1);
}

static void
test_wrong_types(void)
{
  static const char *const bad[] = {
    "{\"resource_providers\":[{\"uuid\":7,\"name\":\"a\"}]}",
    "{\"resource_providers\":[{\"uuid\":\"u\",\"name\":\"a\",\"generation\":\"3\"}]}",
    "{\"resource_providers\":[{\"name\":\"a\"}]}",
    "{\"resource_providers\":[1]}",
    "{\"resource_providers\":{}}",
    "{}",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(JsonNode) n = parse(bad[i]);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) list = ic_placement_parse_providers(n, "GET /resource_providers", &error);
    g_assert_null(list);
    g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
    g_assert_nonnull(strstr(error->message, "GET /resource_providers"));
  }
  g_autoptr(GError) error = NULL;
  g_assert_null(ic_placement_parse_object("[1]", 3, "GET /x", &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
  g_clear_error(&error);
  /* a reply nested 100,000 deep is refused by the depth pre-scan, not a
   * stack overflow in json-glib */
  /* an allocation request that is not an object is an error, not a NULL
   * without one (found by fuzz-fleet) */
  {
    g_autoptr(JsonNode) n = parse("{\"allocation_requests\": [4444444444444444444444444444], \"x\": {}}");
    g_autoptr(GError) e = NULL;
    g_assert_null(ic_placement_parse_candidates(n, "GET /allocation_candidates", &e));
    g_assert_error(e, IC_ERROR, IC_ERROR_PARSE);
    g_assert_nonnull(strstr(e->message, "allocation_requests[0] is not a JSON object"));
  }
  g_autofree char *deep = g_strnfill(100000, '[');
  g_assert_null(ic_placement_parse_object(deep, strlen(deep), "GET /resource_providers", &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
}

static void
test_traits(void)
{
  g_autoptr(JsonNode) n = parse("{\"traits\":[\"A\",\"B\"],\"resource_provider_generation\":5}");
  gint64 gen = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) t = ic_placement_parse_traits(n, "t", &gen, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(t->len, ==, 2);
  g_assert_cmpint(gen, ==, 5);
  g_autoptr(JsonNode) bad = parse("{\"traits\":[\"A\",3]}");
  g_assert_null(ic_placement_parse_traits(bad, "t", NULL, &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
}

static void
test_candidates(void)
{
  g_autoptr(JsonNode) n = parse("{\"allocation_requests\":[{\"allocations\":{\"u1\":{\"resources\":{\"VCPU\":1}}}},"
                                "{\"allocations\":{\"u2\":{},\"u3\":{}}}],\"provider_summaries\":{}}");
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) set = ic_placement_parse_candidates(n, "ac", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(g_hash_table_size(set), ==, 3);
  g_autoptr(JsonNode) kids = parse("{\"allocation_requests\":[{\"allocations\":{\"c1\":{}}}],"
                                   "\"provider_summaries\":{\"c1\":{\"root_provider_uuid\":\"r1\"}}}");
  g_autoptr(GHashTable) kset = ic_placement_parse_candidates(kids, "ac", &error);
  g_assert_no_error(error);
  g_assert_true(ic_placement_candidate_roots(kids, kset, "ac", &error));
  g_assert_true(g_hash_table_contains(kset, "r1"));
  g_autoptr(JsonNode) badsum = parse("{\"allocation_requests\":[{\"allocations\":{\"c1\":{}}}],"
                                     "\"provider_summaries\":{\"c1\":{\"root_provider_uuid\":5}}}");
  g_autoptr(GHashTable) bset = ic_placement_parse_candidates(badsum, "ac", &error);
  g_assert_false(ic_placement_candidate_roots(badsum, bset, "ac", &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
  g_clear_error(&error);
  g_autoptr(JsonNode) bad = parse("{\"allocation_requests\":[{\"allocations\":[]}]}");
  g_assert_null(ic_placement_parse_candidates(bad, "ac", &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
}

/* The readers without a json-glib tree (placement-listing.c) give what the
 * tree readers give, and refuse what they refuse with the same words. */
static void
test_flat_readers(void)
{
  const char *list = "{\"resource_providers\":[{\"uuid\":\"u1\",\"name\":\"a\",\"generation\":3,\"links\":"
                     "[{\"rel\":\"self\",\"href\":\"/resource_providers/u1\"}],"
                     "\"parent_provider_uuid\":null,\"root_provider_uuid\":\"u1\"},"
                     "{\"uuid\":\"u2\",\"name\":\"a_IOMMU_GROUP_1\\u00e9\",\"generation\":1,"
                     "\"parent_provider_uuid\":\"u1\",\"root_provider_uuid\":\"u1\"}]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) n = parse(list);
  g_autoptr(GPtrArray) tree = ic_placement_parse_providers(n, "l", &error);
  g_autoptr(GPtrArray) flat = ic_placement_parse_provider_list(list, strlen(list), "l", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(flat->len, ==, tree->len);
  for (guint i = 0; i < flat->len; i++) {
    IcPlacementProvider *x = g_ptr_array_index(tree, i), *y = g_ptr_array_index(flat, i);
    g_assert_cmpstr(x->uuid, ==, y->uuid);
    g_assert_cmpstr(x->name, ==, y->name);
    g_assert_cmpstr(x->parent_uuid, ==, y->parent_uuid);
    g_assert_cmpstr(x->root_uuid, ==, y->root_uuid);
    g_assert_cmpint(x->generation, ==, y->generation);
  }
  g_autoptr(GPtrArray) empty = ic_placement_parse_provider_list("{\"resource_providers\":[]}", 25, "l", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(empty->len, ==, 0);

  static const struct {
    const char *text, *message;
  } bad[] = {
    {"{\"resource_providers\":[{\"uuid\":7,\"name\":\"a\"}]}", "GET /rp.uuid must be a string"},
    {"{\"resource_providers\":[{\"uuid\":\"u\",\"name\":\"a\",\"generation\":\"3\"}]}", "GET /rp.generation must be an integer"},
    {"{\"resource_providers\":[{\"name\":\"a\"}]}", "GET /rp: a resource provider lacks its uuid or name"},
    {"{\"resource_providers\":[1]}", "GET /rp: a resource provider is not an object"},
    {"{\"resource_providers\":{}}", "GET /rp.resource_providers must be an array"},
    {"{\"resource_providers\":{\"a\":1}}", "GET /rp.resource_providers must be an array"},
    {"{}", "GET /rp: the reply has no resource_providers list"},
    {"[1]", "GET /rp: the reply is not a JSON object"},
    {"{\"resource_providers\":[{\"uuid\":\"u\\ud800\",\"name\":\"a\"}]}", "GET /rp.uuid must be a string"},
    {"{\"resource_providers\":[]} trailing", "GET /rp: the reply is not JSON"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) e = NULL;
    g_assert_null(ic_placement_parse_provider_list(bad[i].text, strlen(bad[i].text), "GET /rp", &e));
    g_assert_error(e, IC_ERROR, IC_ERROR_PARSE);
    g_assert_true(g_str_has_prefix(e->message, bad[i].message));
  }
  /* a NUL byte is not read as the end of the reply */
  static const char nul[] = "{\"resource_providers\":[]}\0{";
  g_assert_null(ic_placement_parse_provider_list(nul, sizeof nul - 1, "l", &error));
  g_assert_error(error, IC_ERROR, IC_ERROR_PARSE);
  g_clear_error(&error);

  const char *cands = "{\"allocation_requests\":[{\"allocations\":{\"c1\":{}}},{\"allocations\":{\"u2\":{},\"u3\":{}}}],"
                      "\"provider_summaries\":{\"c1\":{\"root_provider_uuid\":\"r1\"},\"u2\":{\"root_provider_uuid\":\"u2\"},"
                      "\"x\":5}}";
  g_autoptr(GHashTable) set = ic_placement_parse_candidate_set(cands, strlen(cands), "ac", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(g_hash_table_size(set), ==, 4);
  g_assert_true(g_hash_table_contains(set, "r1") && g_hash_table_contains(set, "u3"));
  static const struct {
    const char *text, *message;
  } badc[] = {
    {"{\"allocation_requests\":[{\"allocations\":[]}]}", "ac.allocations must be an object"},
    {"{\"allocation_requests\":[4]}", "ac: allocation_requests[0] is not a JSON object"},
    {"{\"allocation_requests\":[{}]}", "ac: allocation_requests[0] has no allocations object"},
    {"{\"allocation_requests\":{}}", "ac.allocation_requests must be an array"},
    {"{}", "ac: the reply has no allocation_requests"},
    {"{\"allocation_requests\":[{\"allocations\":{\"c1\":{}}}],\"provider_summaries\":{\"c1\":{\"root_provider_uuid\":5}}}",
     "ac.root_provider_uuid must be a string"},
    {"{\"allocation_requests\":[{\"allocations\":{\"c1\":{}}}],\"provider_summaries\":{\"c1\":3}}", "ac.c1 must be an object"},
    {"{\"allocation_requests\":[],\"provider_summaries\":[]}", "ac.provider_summaries must be an object"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(badc); i++) {
    g_autoptr(GError) e = NULL;
    g_assert_null(ic_placement_parse_candidate_set(badc[i].text, strlen(badc[i].text), "ac", &e));
    g_assert_error(e, IC_ERROR, IC_ERROR_PARSE);
    g_assert_true(g_str_has_prefix(e->message, badc[i].message));
  }
}

static void
test_error_detail(void)
{
  const char *e = "{\"errors\":[{\"status\":409,\"title\":\"Conflict\",\"detail\":\"There was a conflict.\\n\\n "
                  "Resource provider's generation already changed.  \",\"code\":\"placement.concurrent_update\"}]}";
  g_autofree char *code = NULL;
  g_autofree char *d = ic_placement_error_detail(e, strlen(e), &code);
  g_assert_cmpstr(code, ==, "placement.concurrent_update");
  g_assert_nonnull(strstr(d, "generation already changed"));
  g_assert_null(strchr(d, '\n'));
  const char *html = "<html>\x01 401 Unauthorized</html>";
  g_autofree char *d2 = ic_placement_error_detail(html, strlen(html), NULL);
  g_assert_cmpstr(d2, ==, "<html>  401 Unauthorized</html>");
}

/* The rules quoted from NFD and Kubernetes' IsQualifiedName/IsValidLabelValue */
static void
test_nfd_rules(void)
{
  g_assert_true(ic_nfd_valid_label_name("feature.node.kubernetes.io/iommu-viommu-intel"));
  g_assert_true(ic_nfd_valid_label_name("vendor.example/iommufd"));
  g_assert_true(ic_nfd_valid_label_name("iommu_enabled"));
  g_assert_false(ic_nfd_valid_label_name("Feature.example/x"));      /* prefix must be lowercase */
  g_assert_false(ic_nfd_valid_label_name("feature..example/x"));
  g_assert_false(ic_nfd_valid_label_name("-x"));
  g_assert_false(ic_nfd_valid_label_name("x-"));
  g_assert_false(ic_nfd_valid_label_name("a/b/c"));
  g_assert_false(ic_nfd_valid_label_name("example.com/"));
  char name[80];
  memset(name, 'a', 64);
  name[64] = '\0';
  g_assert_false(ic_nfd_valid_label_name(name));                     /* > 63 */
  name[63] = '\0';
  g_assert_true(ic_nfd_valid_label_name(name));
  g_assert_true(ic_nfd_valid_label_value(""));
  g_assert_true(ic_nfd_valid_label_value("true"));
  g_assert_true(ic_nfd_valid_label_value("arm-smmu-v3"));
  g_assert_false(ic_nfd_valid_label_value("8086:10d3"));             /* no ':' */
  g_assert_false(ic_nfd_valid_label_value("a,b"));
  g_assert_false(ic_nfd_valid_label_value("a b"));
  g_assert_false(ic_nfd_valid_label_value("a/b"));
}

static void
test_group_uuid(void)
{
  g_autofree char *a = ic_placement_group_uuid("f67ca818-109c-41bf-9687-fcc299ee1ba9", 10, "CUSTOM_IOMMU_GROUP_8086_10D3");
  g_autofree char *b = ic_placement_group_uuid("f67ca818-109c-41bf-9687-fcc299ee1ba9", 10, "CUSTOM_IOMMU_GROUP_8086_10D3");
  g_autofree char *c = ic_placement_group_uuid("f67ca818-109c-41bf-9687-fcc299ee1ba9", 10, "CUSTOM_IOMMU_GROUP_8086_10D4");
  g_assert_true(g_uuid_string_is_valid(a));
  g_assert_cmpstr(a, ==, b);
  g_assert_cmpstr(a, !=, c);
  g_assert_cmpint(a[14], ==, '5'); /* version 5 */
}

static void
test_fixture(void)
{
  const char *src = g_getenv("IOMMUCTL_SRCDIR");
  if (src == NULL) {
    g_test_skip("IOMMUCTL_SRCDIR not set");
    return;
  }
  g_autofree char *root = g_build_filename(src, "tests", "fixtures", "host-guest-intel-pxb", NULL);
  g_autoptr(IcContext) ctx = ic_context_new();
  ic_context_set_sysfs_root(ctx, root);
  g_autoptr(GError) error = NULL;
  g_autoptr(IcInventory) inv = NULL;
  g_assert_true(ic_inventory_load(ctx, IC_INVENTORY_NO_NAMES, &inv, &error));
  g_autoptr(GPtrArray) refused = ic_fleet_refusals_new();
  g_autoptr(GPtrArray) groups = ic_fleet_assignable_groups(inv, refused);
  g_assert_cmpuint(groups->len, ==, 10);
  g_assert_cmpuint(refused->len, ==, 1); /* group 14, not isolated */
  g_assert_cmpint(((IcFleetRefusal *) g_ptr_array_index(refused, 0))->number, ==, 14);
  const IcFleetGroup *g10 = NULL;
  for (guint i = 0; i < groups->len; i++)
    if (((IcFleetGroup *) g_ptr_array_index(groups, i))->group->number == 10)
      g10 = g_ptr_array_index(groups, i);
  g_assert_nonnull(g10);
  g_assert_cmpuint(g10->endpoints->len, ==, 3);
  g_assert_cmpstr(g10->resource_class, ==, "CUSTOM_IOMMU_GROUP_8086_2918_8086_2922_8086_2930");

  g_autofree char *nfd = ic_export_nfd(inv, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(strlen(nfd), <=, IC_NFD_MAX_FILE_SIZE);
  g_auto(GStrv) lines = g_strsplit(nfd, "\n", -1);
  for (int i = 0; lines[i]; i++) {
    if (lines[i][0] == '\0' || lines[i][0] == '#') {
      g_assert_false(g_str_has_prefix(lines[i], "# +")); /* that would be an NFD directive */
      continue;
    }
    g_auto(GStrv) kv = g_strsplit(lines[i], "=", 2);
    g_assert_nonnull(kv[1]);
    g_assert_true(ic_nfd_valid_label_name(kv[0]));
    g_assert_true(ic_nfd_valid_label_value(kv[1]));
  }
}

/* The first proxy GIO would use for uri, or "none" without a resolver. */
static char *
proxy_for(const char *const *envp, const char *uri)
{
  g_autoptr(GProxyResolver) r = ic_placement_proxy_resolver(envp);
  if (r == NULL)
    return g_strdup("none");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) proxies = g_proxy_resolver_lookup(r, uri, NULL, &error);
  g_assert_no_error(error);
  return g_strdup(proxies[0]);
}

static void
test_proxy_from_environment(void)
{
  static const struct {
    const char *env[4];
    const char *uri, *want;
  } cases[] = {
    {{NULL}, "http://placement:8778/", "none"},                  /* nothing named: no proxy path at all */
    {{"HTTP_PROXY=http://evil:1", NULL}, "http://p/", "none"},     /* httpoxy: upper case is not read */
    {{"http_proxy=proxy:3128", NULL}, "http://p/", "http://proxy:3128"},
    {{"http_proxy=proxy:3128", NULL}, "https://p/", "direct://"},
    {{"HTTPS_PROXY=http://s:3128", NULL}, "https://p/", "http://s:3128"},
    {{"all_proxy=socks5://s:1080", NULL}, "http://p/", "socks5://s:1080"},
    {{"http_proxy=proxy:3128", "no_proxy=localhost, .example.com", NULL}, "http://a.example.com/", "direct://"},
    {{"http_proxy=proxy:3128", "no_proxy=10.0.0.0/8", NULL}, "http://10.1.2.3:8778/", "direct://"},
    {{"http_proxy=proxy:3128", "no_proxy=10.0.0.0/8", NULL}, "http://192.168.1.1/", "http://proxy:3128"},
    {{"http_proxy=proxy:3128", "NO_PROXY=*", NULL}, "http://p/", "none"},
    {{"http_proxy=", NULL}, "http://p/", "none"},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *got = proxy_for(cases[i].env, cases[i].uri);
    g_assert_cmpstr(got, ==, cases[i].want);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/fleet/placement/providers", test_providers);
  g_test_add_func("/fleet/placement/wrong-types", test_wrong_types);
  g_test_add_func("/fleet/placement/traits", test_traits);
  g_test_add_func("/fleet/placement/candidates", test_candidates);
  g_test_add_func("/fleet/placement/flat-readers", test_flat_readers);
  g_test_add_func("/fleet/placement/error-detail", test_error_detail);
  g_test_add_func("/fleet/placement/group-uuid", test_group_uuid);
  g_test_add_func("/fleet/placement/proxy-from-environment", test_proxy_from_environment);
  g_test_add_func("/fleet/nfd/label-rules", test_nfd_rules);
  g_test_add_func("/fleet/fixture/groups-and-nfd", test_fixture);
  return g_test_run();
}
