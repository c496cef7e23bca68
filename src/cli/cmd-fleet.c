/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fleet verbs (placement, nova, export, and place --placement): parse,
 * call libiommuctl's fleet layer, print. */
#include "cli/cli.h"
#include "util/ic-util.h"
#include <iommuctl/fleet.h>

#include <stdio.h>
#include <string.h>

/* ---- shared ------------------------------------------------------------------------ */

typedef struct {
  char *arch, *libvirt_version, *qemu_version, *name;
} ProbeOpts;

static void
probe_opts_clear(ProbeOpts *o)
{
  g_free(o->arch);
  g_free(o->libvirt_version);
  g_free(o->qemu_version);
  g_free(o->name);
}

#define PROBE_ENTRIES(o)                                                                          \
  {"host-arch", 0, 0, G_OPTION_ARG_STRING, &(o).arch, "Override the host architecture", "ARCH"}, \
  {"libvirt-version", 0, 0, G_OPTION_ARG_STRING, &(o).libvirt_version,                            \
   "Override the libvirt version (e.g. 9.0.0)", "X.Y.Z"},                                         \
  {"qemu-version", 0, 0, G_OPTION_ARG_STRING, &(o).qemu_version,                                  \
   "Override the QEMU version (e.g. 7.2.0)", "X.Y.Z"},                                            \
  {"host-name", 0, 0, G_OPTION_ARG_STRING, &(o).name, "This host's name (default: the hostname)", "NAME"}

static IcPolicyHost *
probe_host(IcCli *cli, const ProbeOpts *o, GError **error)
{
  IcPolicyProbeOverrides ovr = {
    .arch = o->arch, .libvirt_version = o->libvirt_version, .qemu_version = o->qemu_version, .name = o->name,
  };
  return ic_policy_host_probe(cli->ctx, &ovr, error);
}

static char *
join_or_dash(GPtrArray *a, const char *sep)
{
  if (a == NULL || a->len == 0)
    return g_strdup("-");
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < a->len; i++)
    g_string_append_printf(s, "%s%s", i ? sep : "", (const char *) g_ptr_array_index(a, i));
  return g_string_free(s, FALSE);
}

static const char *
placement_token(const char *given)
{
  /* the openstack CLI's variable, so an operator's environment just works */
  return given ? given : g_getenv("OS_TOKEN");
}

/* ---- placement sync ------------------------------------------------------------------- */

static void
sync_print_json(const IcPlacementSyncResult *r, gboolean dry_run)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("placement-sync", 1);
  ic_json_add_bool(b, "dry_run", dry_run);
  ic_json_add_bool(b, "changed", r->changed);
  json_builder_set_member_name(b, "provider");
  json_builder_begin_object(b);
  ic_json_add_string_or_null(b, "name", r->provider_name);
  ic_json_add_string_or_null(b, "uuid", r->provider_uuid);
  ic_json_add_bool(b, "created", r->provider_created);
  ic_json_add_int(b, "generation", r->generation);
  ic_json_add_string_array(b, "traits", r->traits);
  ic_json_add_string_array(b, "added", r->added);
  ic_json_add_string_array(b, "removed", r->removed);
  ic_json_add_string_array(b, "foreign", r->foreign);
  json_builder_end_object(b);
  ic_json_add_string_array(b, "traits_created", r->traits_created);
  ic_json_add_string_array(b, "resource_classes_created", r->classes_created);
  json_builder_set_member_name(b, "groups");
  json_builder_begin_array(b);
  for (guint i = 0; i < r->children->len; i++) {
    const IcPlacementChild *c = g_ptr_array_index(r->children, i);
    json_builder_begin_object(b);
    ic_json_add_string(b, "name", c->name);
    ic_json_add_string_or_null(b, "uuid", c->uuid && c->uuid[0] ? c->uuid : NULL);
    ic_json_add_bool(b, "created", c->created);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  ic_json_add_string_array(b, "groups_removed", r->children_removed);
  json_builder_set_member_name(b, "requests");
  json_builder_begin_object(b);
  ic_json_add_int(b, "read", r->reads);
  ic_json_add_int(b, "write", r->writes);
  ic_json_add_int(b, "conflicts_retried", r->retries);
  json_builder_end_object(b);
  ic_json_end_document(b);
}

static void
sync_print_text(const IcPlacementSyncResult *r, GPtrArray *groups, gboolean dry_run)
{
  const char *would = dry_run ? "would " : "";
  printf("provider %s (%s)%s\n", r->provider_name, r->provider_uuid ? r->provider_uuid : "new",
         r->provider_created ? (dry_run ? ": would be created" : ": created") : "");
  g_autofree char *added = join_or_dash(r->added, " ");
  g_autofree char *removed = join_or_dash(r->removed, " ");
  g_autofree char *foreign = join_or_dash(r->foreign, " ");
  printf("  %sadd:    %s\n  %sremove: %s\n  left alone (not iommuctl's): %s\n", would, added, would, removed,
         foreign);
  for (guint i = 0; i < r->traits_created->len; i++)
    printf("  %screate trait %s\n", would, (const char *) g_ptr_array_index(r->traits_created, i));
  for (guint i = 0; i < r->classes_created->len; i++)
    printf("  %screate resource class %s\n", would, (const char *) g_ptr_array_index(r->classes_created, i));
  for (guint i = 0; i < r->children->len; i++) {
    const IcPlacementChild *c = g_ptr_array_index(r->children, i);
    const IcFleetGroup *g = g_ptr_array_index(groups, i);
    printf("  group %d -> %s: 1 %s%s\n", g->group->number, c->name, g->resource_class,
           c->created ? (dry_run ? " (would be created)" : " (created)") : "");
  }
  for (guint i = 0; i < r->children_removed->len; i++)
    printf("  %sdelete %s (group changed or no longer assignable)\n", would,
           (const char *) g_ptr_array_index(r->children_removed, i));
  printf("%s; %u read and %u write requests", r->changed ? (dry_run ? "changes pending" : "updated") : "up to date",
         r->reads, r->writes);
  if (r->retries)
    printf(", %u conflicts retried", r->retries);
  printf("\n");
}

static int
cmd_placement_sync(IcCli *cli, int argc, char **argv)
{
  g_autofree char *url = NULL, *token = NULL, *provider = NULL;
  gboolean create = FALSE, dry_run = FALSE, no_groups = FALSE;
  ProbeOpts po = {0};
  GOptionEntry entries[] = {
    {"url", 0, 0, G_OPTION_ARG_STRING, &url, "Placement endpoint, e.g. http://controller:8778", "URL"},
    {"token", 0, 0, G_OPTION_ARG_STRING, &token, "Keystone token (X-Auth-Token); default $OS_TOKEN", "T"},
    {"provider", 0, 0, G_OPTION_ARG_STRING, &provider,
     "Resource provider name or UUID (default: the host name, as Nova names compute nodes)", "NAME|UUID"},
    {"create", 0, 0, G_OPTION_ARG_NONE, &create, "Create the provider and iommuctl's CUSTOM_* traits if missing", NULL},
    {"dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "Only read; say what would change", NULL},
    {"no-groups", 0, 0, G_OPTION_ARG_NONE, &no_groups, "Publish the traits only (group providers made earlier are deleted)", NULL},
    PROBE_ENTRIES(po),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "publish this host's traits and assignable groups in Placement",
                    entries, &status)) {
    probe_opts_clear(&po);
    return status;
  }
  if (argc > 1) {
    probe_opts_clear(&po);
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  }
  if (url == NULL) {
    probe_opts_clear(&po);
    return ic_cli_usage_error(cli, "--url URL is required");
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(IcPolicyHost) host = probe_host(cli, &po, &error);
  probe_opts_clear(&po);
  if (host == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  g_autoptr(GPtrArray) traits = ic_policy_host_traits(host);
  g_autoptr(GPtrArray) groups = NULL;
  if (!no_groups) {
    IcInventory *inv = ic_inventory_get(cli->ctx, IC_INVENTORY_NO_NAMES, &error);
    if (inv == NULL)
      return ic_cli_fail(cli, g_steal_pointer(&error));
    groups = ic_fleet_assignable_groups(inv, NULL);
  } else {
    groups = g_ptr_array_new();
  }
  g_autoptr(IcPlacement) p = ic_placement_new(url, placement_token(token), &error);
  if (p == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  IcPlacementSyncOptions o = {.provider = provider, .create = create, .dry_run = dry_run};
  g_autoptr(IcPlacementSyncResult) r = ic_placement_sync(p, host->name, traits, groups, &o, &error);
  if (r == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  if (cli->json)
    sync_print_json(r, dry_run);
  else
    sync_print_text(r, groups, dry_run);
  return IC_EXIT_OK;
}

/* ---- place --placement ----------------------------------------------------------------- */

/* Terms of `place`, plus Placement's own any-of group "in:A,B". */
static gboolean
build_query(char **terms, IcPlacementQuery *q, IcPolicyRequest **req_out, GError **error)
{
  g_autoptr(IcPolicyRequest) r = ic_policy_request_new();
  q->any_of = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
  for (int i = 0; terms && terms[i]; i++) {
    if (g_str_has_prefix(terms[i], "in:")) {
      char **names = g_strsplit(terms[i] + 3, ",", -1);
      for (int k = 0; names[k]; k++) {
        gboolean ok = names[k][0] != '\0';
        for (const char *c = names[k]; *c && ok; c++)
          ok = g_ascii_isupper(*c) || g_ascii_isdigit(*c) || *c == '_';
        if (!ok) {
          g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                      "request term '%s': '%s' is not a trait name (A-Z, 0-9, _)", terms[i], names[k]);
          g_strfreev(names);
          return FALSE;
        }
      }
      if (names[0] == NULL) {
        g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "request term '%s' names no trait", terms[i]);
        g_strfreev(names);
        return FALSE;
      }
      g_ptr_array_add(q->any_of, names);
      continue;
    }
    if (!ic_policy_request_add(r, terms[i], error))
      return FALSE;
  }
  if (!ic_policy_request_finish(r, error))
    return FALSE;
  q->required = (GPtrArray *) ic_policy_request_required(r);
  q->forbidden = (GPtrArray *) ic_policy_request_forbidden(r);
  *req_out = g_steal_pointer(&r);
  return TRUE;
}

static void
place_write_verdict(IcJsonWriter *w, const IcPlacementVerdict *v)
{
  ic_json_writer_begin_object(w);
  ic_jw_add_string(w, "name", v->name);
  ic_jw_add_string(w, "uuid", v->uuid);
  if (!v->candidate) {
    ic_jw_add_string_array(w, "lacks", v->lacks);
    ic_jw_add_string_array(w, "has_forbidden", v->has_forbidden);
    ic_jw_add_string_array(w, "lacks_any_of", v->lacks_any_of);
    ic_jw_add_bool(w, "capacity", v->capacity);
  }
  ic_json_writer_end_object(w);
}

/* Streamed, not built as a json-glib tree: over 10,000 providers the
 * answer is 2 MB, and building, generating and freeing its tree was most
 * of the time iommuctl spent after Placement's last reply. */
static void
place_print_json(const IcPlacementAnswer *a, const IcPlacementQuery *q, char **terms)
{
  g_autoptr(IcJsonWriter) w = ic_json_writer_new_stream();
  ic_json_writer_begin_object(w);
  ic_jw_add_string(w, "schema", "iommuctl.place-placement");
  ic_jw_add_int(w, "version", 1);
  ic_json_writer_member(w, "terms");
  ic_json_writer_begin_array(w);
  for (int i = 0; terms && terms[i]; i++)
    ic_json_writer_string(w, terms[i]);
  ic_json_writer_end_array(w);
  ic_jw_add_string_array(w, "required", q->required);
  ic_jw_add_string_array(w, "forbidden", q->forbidden);
  ic_json_writer_member(w, "any_of");
  ic_json_writer_begin_array(w);
  for (guint i = 0; i < q->any_of->len; i++) {
    ic_json_writer_begin_array(w);
    for (char **t = g_ptr_array_index(q->any_of, i); *t; t++)
      ic_json_writer_string(w, *t);
    ic_json_writer_end_array(w);
  }
  ic_json_writer_end_array(w);
  ic_jw_add_string(w, "resources", q->resources);
  ic_jw_add_string_array(w, "unknown_traits", a->unknown_traits);
  ic_jw_add_int(w, "providers", a->providers->len);
  ic_jw_add_int(w, "candidate_count", a->candidates);
  ic_jw_add_int(w, "requests", a->requests);
  for (int pass = 0; pass < 2; pass++) {
    ic_json_writer_member(w, pass == 0 ? "candidates" : "rejected");
    ic_json_writer_begin_array(w);
    for (guint i = 0; i < a->providers->len; i++) {
      const IcPlacementVerdict *v = g_ptr_array_index(a->providers, i);
      if (v->candidate == (pass == 0))
        place_write_verdict(w, v);
    }
    ic_json_writer_end_array(w);
  }
  ic_json_writer_end_object(w);
  gsize len = 0;
  g_autofree char *text = ic_json_writer_steal_text(w, &len);
  fwrite(text, 1, len, stdout);
  fputc('\n', stdout);
}

static void
place_print_text(const IcPlacementAnswer *a, const IcPlacementQuery *q, gboolean summary)
{
  g_autofree char *req = join_or_dash(q->required, ", ");
  g_autofree char *forb = join_or_dash(q->forbidden, ", ");
  printf("request: requires %s; forbids %s", req, forb);
  for (guint i = 0; i < q->any_of->len; i++) {
    g_autofree char *g = g_strjoinv(" or ", g_ptr_array_index(q->any_of, i));
    printf("; one of %s", g);
  }
  printf(" (resources %s)\n", q->resources);
  for (guint i = 0; i < a->unknown_traits->len; i++)
    printf("note: Placement knows no trait %s: no provider has it\n",
           (const char *) g_ptr_array_index(a->unknown_traits, i));
  printf("candidates: %u of %u providers (%u requests to Placement)\n", a->candidates, a->providers->len,
         a->requests);
  if (summary)
    return;
  for (guint i = 0; i < a->providers->len; i++) {
    const IcPlacementVerdict *v = g_ptr_array_index(a->providers, i);
    if (v->candidate)
      printf("  %s\n", v->name);
  }
  if (a->providers->len > a->candidates)
    printf("rejected: %u\n", a->providers->len - a->candidates);
  for (guint i = 0; i < a->providers->len; i++) {
    const IcPlacementVerdict *v = g_ptr_array_index(a->providers, i);
    if (v->candidate)
      continue;
    GString *why = g_string_new(NULL);
    if (v->lacks->len) {
      g_autofree char *l = join_or_dash(v->lacks, ", ");
      g_string_append_printf(why, "lacks %s", l);
    }
    for (guint k = 0; k < v->lacks_any_of->len; k++)
      g_string_append_printf(why, "%shas none of %s", why->len ? "; " : "",
                             (const char *) g_ptr_array_index(v->lacks_any_of, k));
    if (v->has_forbidden->len) {
      g_autofree char *f = join_or_dash(v->has_forbidden, ", ");
      g_string_append_printf(why, "%shas forbidden %s", why->len ? "; " : "", f);
    }
    if (v->capacity)
      g_string_append_printf(why, "has every trait, but not the free resources %s", q->resources);
    printf("  %s: %s\n", v->name, why->str);
    g_string_free(why, TRUE);
  }
}

static int
cmd_place_placement(IcCli *cli, int argc, char **argv)
{
  g_auto(GStrv) terms = NULL;
  g_autofree char *url = NULL, *token = NULL, *resources = NULL;
  gboolean summary = FALSE;
  GOptionEntry entries[] = {
    {"placement", 0, 0, G_OPTION_ARG_STRING, &url, "Ask this Placement endpoint", "URL"},
    {"token", 0, 0, G_OPTION_ARG_STRING, &token, "Keystone token (X-Auth-Token); default $OS_TOKEN", "T"},
    {"request", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &terms,
     "A request term, as in the offline mode, or in:TRAIT,TRAIT (any of); repeatable", "TERM"},
    {"resources", 0, 0, G_OPTION_ARG_STRING, &resources,
     "Resources to ask for (Placement syntax, default VCPU:1)", "RC:N,..."},
    {"summary", 0, 0, G_OPTION_ARG_NONE, &summary, "Only the counts, no provider lists", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "ask Placement for hosts fitting a request, and explain the others",
                    entries, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  if (terms == NULL)
    return ic_cli_usage_error(cli, "give at least one --request TERM");
  if (resources != NULL) {
    for (const char *c = resources; *c; c++)
      if (!g_ascii_isalnum(*c) && strchr("_:,", *c) == NULL)
        return ic_cli_usage_error(cli, "--resources '%s': only RC:N pairs separated by commas", resources);
  }
  g_autoptr(GError) error = NULL;
  IcPlacementQuery q = {.resources = resources ? resources : "VCPU:1"};
  g_autoptr(IcPolicyRequest) r = NULL;
  if (!build_query(terms, &q, &r, &error)) {
    g_clear_pointer(&q.any_of, g_ptr_array_unref);
    return ic_cli_fail(cli, g_steal_pointer(&error));
  }
  g_autoptr(GPtrArray) any_of = q.any_of; /* frees the in: groups on every return */
  (void) any_of;
  g_autoptr(IcPlacement) p = ic_placement_new(url, placement_token(token), &error);
  if (p == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  g_autoptr(IcPlacementAnswer) a = ic_placement_place(p, &q, &error);
  if (a == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  if (cli->json)
    place_print_json(a, &q, terms);
  else
    place_print_text(a, &q, summary);
  return a->candidates > 0 ? IC_EXIT_OK : IC_EXIT_NEGATIVE;
}

/* `place`: against Placement with --placement, else the offline what-if
 * filter over `traits --json` files (cmd-policy.c). */
int
ic_cmd_fleet_place(IcCli *cli, int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      break;
    if (strcmp(argv[i], "--placement") == 0 || g_str_has_prefix(argv[i], "--placement="))
      return cmd_place_placement(cli, argc, argv);
  }
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      /* GOption prints the option list and exits: say the two modes first */
      printf("place has two modes:\n"
             "  iommuctl place --placement URL [--token T] --request TERM... [--json]   ask the real Placement\n"
             "  iommuctl place --hosts FILE|DIR --request TERM... [--json]             offline what-if over\n"
             "      `traits --json` files (no scheduler involved; for planning and tests)\n"
             "'iommuctl place --placement URL --help' lists the options of the first.\n\n");
      fflush(stdout);
      break;
    }
  return ic_cmd_place(cli, argc, argv);
}

/* ---- the verb groups -------------------------------------------------------------------- */

int
ic_cmd_placement_sync(IcCli *cli, int argc, char **argv)
{
  return cmd_placement_sync(cli, argc, argv);
}
/* ---- nova pci-config -------------------------------------------------------------------- */

static IcInventory *
load_inventory(IcCli *cli, int *status)
{
  g_autoptr(GError) error = NULL;
  IcInventory *inv = ic_inventory_get(cli->ctx, IC_INVENTORY_DEFAULT, &error);
  if (inv == NULL)
    *status = ic_cli_fail(cli, g_steal_pointer(&error));
  return inv;
}

int
ic_cmd_nova_pci_config(IcCli *cli, int argc, char **argv)
{
  g_autofree char *alias = NULL;
  GOptionEntry entries[] = {
    {"alias", 0, 0, G_OPTION_ARG_STRING, &alias,
     "Name every alias NAME (default pci_<vendor>_<product>); the flavor asks pci_passthrough:alias=NAME:1", "NAME"},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "[ADDR...]", "Nova's [pci] device_spec and alias for whole assignable groups",
                    entries, &status))
    return status;
  if (alias != NULL) {
    /* the flavor's pci_passthrough:alias=NAME:COUNT syntax must be able to name it */
    gboolean ok = alias[0] != '\0' && strlen(alias) <= 256;
    for (const char *c = alias; *c && ok; c++)
      ok = g_ascii_isalnum(*c) || strchr("_-.", *c) != NULL;
    if (!ok)
      return ic_cli_usage_error(cli, "--alias '%s': use 1-256 letters, digits, '_', '-' or '.' "
                                "(a flavor names it in pci_passthrough:alias=NAME:COUNT)", alias);
  }
  IcInventory *inv = load_inventory(cli, &status);
  if (inv == NULL)
    return status;
  g_autoptr(GPtrArray) addrs = g_ptr_array_new();
  for (int i = 1; i < argc; i++)
    g_ptr_array_add(addrs, argv[i]);
  g_autoptr(GError) error = NULL;
  g_autoptr(IcNovaPciConfig) c = ic_nova_pci_config(inv, addrs, alias, &error);
  if (c == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  g_autofree char *out = cli->json ? ic_nova_pci_config_to_json(c) : ic_nova_pci_config_to_ini(c);
  fputs(out, stdout);
  if (cli->json)
    fputc('\n', stdout);
  for (guint i = 0; i < c->refused->len && addrs->len > 0; i++)
    fprintf(stderr, "iommuctl nova pci-config: refused: %s\n", ((IcFleetRefusal *) g_ptr_array_index(c->refused, i))->reason);
  /* negative when a group asked for is refused, or nothing can be offered */
  return (addrs->len > 0 && c->refused->len > 0) || c->device_spec->len == 0 ? IC_EXIT_NEGATIVE : IC_EXIT_OK;
}

/* ---- export ---------------------------------------------------------------------------------- */

static int
write_or_print(IcCli *cli, const char *path, const char *text)
{
  if (path == NULL) {
    fputs(text, stdout);
    return IC_EXIT_OK;
  }
  g_autoptr(GError) error = NULL;
  /* temp file ".NAME.XXXXXX" beside it, then rename: nfd-worker ignores
   * dot files and node_exporter reads only *.prom, so neither sees half a file */
  if (!ic_write_file_atomic(path, text, strlen(text), &error))
    return ic_cli_fail(cli, g_steal_pointer(&error));
  return IC_EXIT_OK;
}

int
ic_cmd_export_nfd(IcCli *cli, int argc, char **argv)
{
  g_autofree char *output = NULL;
  ProbeOpts po = {0};
  GOptionEntry entries[] = {
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
     "Write atomically to FILE, e.g. /etc/kubernetes/node-feature-discovery/features.d/iommuctl", "FILE"},
    PROBE_ENTRIES(po),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "Node Feature Discovery local feature file (features.d)", entries, &status)) {
    probe_opts_clear(&po);
    return status;
  }
  if (argc > 1) {
    probe_opts_clear(&po);
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  }
  if (output != NULL) {
    g_autofree char *base = g_path_get_basename(output);
    if (base[0] == '.') {
      probe_opts_clear(&po);
      return ic_cli_usage_error(cli, "--output %s: nfd-worker ignores files whose name starts with '.'", output);
    }
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(IcPolicyHost) host = probe_host(cli, &po, &error);
  probe_opts_clear(&po);
  if (host == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  IcInventory *inv = load_inventory(cli, &status);
  if (inv == NULL)
    return status;
  g_autofree char *text = ic_export_nfd(inv, host, &error);
  if (text == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  return write_or_print(cli, output, text);
}

int
ic_cmd_export_kubevirt(IcCli *cli, int argc, char **argv)
{
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "KubeVirt permittedHostDevices.pciHostDevices for the assignable devices",
                    NULL, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  IcInventory *inv = load_inventory(cli, &status);
  if (inv == NULL)
    return status;
  g_autofree char *text = ic_export_kubevirt(inv, cli->json);
  fputs(text, stdout);
  if (cli->json)
    fputc('\n', stdout);
  return IC_EXIT_OK;
}

int
ic_cmd_export_proxmox(IcCli *cli, int argc, char **argv)
{
  g_autofree char *node = NULL;
  GOptionEntry entries[] = {
    {"node", 0, 0, G_OPTION_ARG_STRING, &node, "Proxmox node name (default: the short hostname)", "NAME"},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "Proxmox /etc/pve/mapping/pci.cfg entries, a whole group together",
                    entries, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  if (node == NULL) {
    /* PVE::INotify::nodename() is the short hostname */
    node = g_strdup(g_get_host_name());
    char *dot = strchr(node, '.');
    if (dot != NULL)
      *dot = '\0';
  }
  IcInventory *inv = load_inventory(cli, &status);
  if (inv == NULL)
    return status;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = ic_export_proxmox(inv, node, &error);
  if (text == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  fputs(text, stdout);
  return IC_EXIT_OK;
}

int
ic_cmd_export_prometheus(IcCli *cli, int argc, char **argv)
{
  g_autofree char *dir = NULL;
  GOptionEntry entries[] = {
    {"textfile", 0, 0, G_OPTION_ARG_FILENAME, &dir,
     "Write DIR/iommuctl.prom atomically (node_exporter --collector.textfile.directory, "
     "Debian: /var/lib/prometheus/node-exporter)", "DIR"},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "metrics for node_exporter's textfile collector", entries, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  if (dir != NULL && !g_file_test(dir, G_FILE_TEST_IS_DIR))
    return ic_cli_usage_error(cli, "--textfile %s: not a directory", dir);
  IcInventory *inv = load_inventory(cli, &status);
  if (inv == NULL)
    return status;
  g_autoptr(GError) error = NULL;
  g_autoptr(IcAssignStatus) st = ic_assign_status_new(cli->ctx, &error);
  if (st == NULL)
    g_debug("no journal: %s", error->message);
  g_autofree char *text = ic_export_prometheus(inv, st);
  g_autofree char *path = dir ? g_build_filename(dir, "iommuctl.prom", NULL) : NULL;
  return write_or_print(cli, path, text);
}
