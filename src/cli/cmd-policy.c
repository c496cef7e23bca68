/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* policy resolve, traits, place: parse, call libiommuctl's policy layer, print. */
#include "cli/cli.h"
#include "util/ic-util.h"
#include <iommuctl/policy.h>

#include <stdio.h>
#include <string.h>

/* ---- shared: which host ------------------------------------------------------- */

typedef struct {
  char *host_json;
  char *arch, *libvirt_version, *qemu_version, *name;
  gboolean probe;
} HostOpts;

static void
host_opts_clear(HostOpts *o)
{
  g_free(o->host_json);
  g_free(o->arch);
  g_free(o->libvirt_version);
  g_free(o->qemu_version);
  g_free(o->name);
}

#define HOST_ENTRIES(o)                                                                          \
  {"host", 0, 0, G_OPTION_ARG_NONE, &(o).probe,                                                  \
   "Probe this machine (the default): arch, libvirt and QEMU versions, emulators, IOMMU", NULL}, \
  {"host-json", 0, 0, G_OPTION_ARG_FILENAME, &(o).host_json,                                     \
   "Use another host's `iommuctl traits --json` output instead of probing", "FILE"},             \
  {"host-arch", 0, 0, G_OPTION_ARG_STRING, &(o).arch, "Override the host architecture", "ARCH"}, \
  {"libvirt-version", 0, 0, G_OPTION_ARG_STRING, &(o).libvirt_version,                           \
   "Override the libvirt version (e.g. 8.2.0)", "X.Y.Z"},                                        \
  {"qemu-version", 0, 0, G_OPTION_ARG_STRING, &(o).qemu_version,                                 \
   "Override the QEMU version (e.g. 7.2.0)", "X.Y.Z"},                                           \
  {"host-name", 0, 0, G_OPTION_ARG_STRING, &(o).name, "Name to report for this host", "NAME"}

static gboolean
override_version(const char *what, const char *text, guint64 *out, GError **error)
{
  if (text == NULL || ic_policy_parse_version(text, out))
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s version '%s' is not MAJOR.MINOR.MICRO", what, text);
  return FALSE;
}

static IcPolicyHost *
get_host(IcCli *cli, const HostOpts *o, GError **error)
{
  if (o->host_json == NULL) {
    IcPolicyProbeOverrides ovr = {
      .arch = o->arch, .libvirt_version = o->libvirt_version, .qemu_version = o->qemu_version, .name = o->name,
    };
    return ic_policy_host_probe(cli->ctx, &ovr, error);
  }
  g_autoptr(IcPolicyHost) h = ic_policy_host_load_json(o->host_json, error);
  if (h == NULL)
    return NULL;
  /* explicit overrides still win over the file */
  if (!override_version("libvirt", o->libvirt_version, &h->libvirt_version, error) ||
      !override_version("QEMU", o->qemu_version, &h->qemu_version, error))
    return NULL;
  if (o->arch != NULL) {
    g_free(h->arch);
    if ((h->arch = ic_policy_canonical_arch(o->arch)) == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "'%s' is not an architecture Nova knows", o->arch);
      return NULL;
    }
  }
  if (o->name != NULL) {
    g_free(h->name);
    h->name = g_strdup(o->name);
  }
  return g_steal_pointer(&h);
}

/* ---- policy resolve ------------------------------------------------------------- */

static gboolean
add_pairs(GHashTable *t, char **pairs, const char *what, GError **error)
{
  for (int i = 0; pairs && pairs[i]; i++)
    if (!ic_policy_input_add(t, pairs[i], error)) {
      g_prefix_error(error, "%s: ", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_meta_version(const char *text, int *minor, GError **error)
{
  gint64 v;
  if (text == NULL)
    return TRUE;
  if (g_str_has_prefix(text, "1.") && ic_parse_int64(text + 2, 10, 0, 999, &v)) {
    *minor = (int) v;
    return TRUE;
  }
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "--image-meta-version '%s' is not 1.N", text);
  return FALSE;
}

/* in_place: the locked edit of path (src/util/safe-write.c), or NULL to
 * print the result */
static int
apply_domain(IcCli *cli, const IcPolicyDecision *d, const IcPolicyHost *host, const char *path,
             const char *xml, gsize len, IcSafeEdit *in_place, const IcSafeEditOptions *write_opts)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
  guint lint_errors = 0;
  g_autofree char *lint = NULL;
  g_autofree char *out = ic_policy_apply_to_domain(d, xml, len, path, host->iommu_address_width, notes,
                                                   &lint_errors, &lint, &error);
  if (out == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  for (guint i = 0; i < d->notes->len; i++)
    fprintf(stderr, "%s %s: note: %s\n", cli->prog, cli->command, (const char *) g_ptr_array_index(d->notes, i));
  for (guint i = 0; i < notes->len; i++)
    fprintf(stderr, "%s %s: note: %s\n", cli->prog, cli->command, (const char *) g_ptr_array_index(notes, i));
  if (lint_errors > 0) {
    fputs(lint, stderr);
    fprintf(stderr, "%s %s: the result has %u lint error(s)%s\n", cli->prog, cli->command, lint_errors,
            in_place != NULL ? "; the file is left unchanged" : "");
    if (in_place)
      return IC_EXIT_NEGATIVE;
  }
  if (in_place) {
    if (strlen(out) != len || memcmp(out, xml, len) != 0) {
      if (!ic_safe_edit_commit(in_place, out, strlen(out), write_opts, &error))
        return ic_cli_fail(cli, g_steal_pointer(&error));
    }
  } else {
    fputs(out, stdout);
  }
  return lint_errors > 0 ? IC_EXIT_NEGATIVE : IC_EXIT_OK;
}

int
ic_cmd_policy_resolve(IcCli *cli, int argc, char **argv)
{
  g_auto(GStrv) flavor = NULL, image = NULL, defaults = NULL;
  g_autofree char *virt_type = NULL, *meta_version = NULL, *domain = NULL, *hard_links = NULL;
  gboolean compute_only = FALSE, in_place = FALSE;
  HostOpts ho = {0};
  GOptionEntry entries[] = {
    {"flavor", 0, 0, G_OPTION_ARG_STRING_ARRAY, &flavor,
     "Flavor extra spec (hw:viommu_model, hw:locked_memory, hw:mem_page_size, hw:cpu_realtime, "
     "hw:cpu_policy, hw:mem_encryption); repeatable", "KEY=VALUE"},
    {"image", 0, 0, G_OPTION_ARG_STRING_ARRAY, &image,
     "Image property (hw_viommu_model, hw_locked_memory, hw_mem_page_size, hw_machine_type, "
     "hw_architecture, hw_emulation_architecture, ...); repeatable", "KEY=VALUE"},
    {"default-machine-type", 0, 0, G_OPTION_ARG_STRING_ARRAY, &defaults,
     "Operator default machine type per arch, as Nova's [libvirt]hw_machine_type; repeatable",
     "ARCH=TYPE"},
    {"virt-type", 0, 0, G_OPTION_ARG_STRING, &virt_type, "Nova's [libvirt]virt_type (default kvm)", "TYPE"},
    {"compute-only", 0, 0, G_OPTION_ARG_NONE, &compute_only,
     "Only the compute node's checks (skip API validation), like a direct driver call", NULL},
    {"image-meta-version", 0, 0, G_OPTION_ARG_STRING, &meta_version,
     "ImageMetaProps version the compute node speaks (older ones drop newer properties)", "1.N"},
    {"domain", 0, 0, G_OPTION_ARG_FILENAME, &domain,
     "Apply the decision to this libvirt domain XML (printed unless --in-place)", "FILE"},
    {"in-place", 0, 0, G_OPTION_ARG_NONE, &in_place, "With --domain: rewrite FILE", NULL},
    {"hard-links", 0, 0, G_OPTION_ARG_STRING, &hard_links,
     "With --in-place, a FILE with several hard links: refuse (default), share (edit the inode all names share) "
     "or break (replace this name only)", "refuse|share|break"},
    HOST_ENTRIES(ho),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "Nova's vIOMMU and locked-memory decision for a flavor, "
                    "image and host", entries, &status)) {
    host_opts_clear(&ho);
    return status;
  }
  g_autoptr(GError) error = NULL;
  if (argc > 1) {
    host_opts_clear(&ho);
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  }
  if (domain != NULL && cli->json) {
    host_opts_clear(&ho);
    return ic_cli_usage_error(cli, "--domain prints the domain XML; it does not combine with --json");
  }
  if (in_place && domain == NULL) {
    host_opts_clear(&ho);
    return ic_cli_usage_error(cli, "--in-place needs --domain FILE");
  }
  IcSafeEditOptions write_opts = {.backup = FALSE};
  if (!ic_hard_links_parse(hard_links, &write_opts.hard_links)) {
    host_opts_clear(&ho);
    return ic_cli_usage_error(cli, "--hard-links takes refuse, share or break, not '%s'", hard_links);
  }
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  in->virt_type = virt_type;
  in->compute_only = compute_only;
  if (!add_pairs(in->flavor, flavor, "--flavor", &error) || !add_pairs(in->image, image, "--image", &error) ||
      !add_pairs(in->default_machine_types, defaults, "--default-machine-type", &error) ||
      !parse_meta_version(meta_version, &in->image_meta_minor, &error)) {
    host_opts_clear(&ho);
    return ic_cli_fail(cli, g_steal_pointer(&error));
  }
  g_autoptr(IcPolicyHost) host = get_host(cli, &ho, &error);
  host_opts_clear(&ho);
  if (host == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  /* the domain's <type arch machine> and type stand in for what the image
   * and the operator leave unsaid */
  g_autofree char *xml = NULL;
  gsize xml_len = 0;
  g_autoptr(IcDomainDoc) doc = NULL;
  g_autoptr(IcSafeEdit) edit = NULL;
  if (domain != NULL && in_place) {
    /* locked from this read until the write: a concurrent editor of FILE
     * waits instead of losing its change or ours */
    if ((edit = ic_safe_edit_open(domain, IC_DOMAIN_MAX_BYTES, &error)) == NULL)
      return ic_cli_fail(cli, g_steal_pointer(&error));
    const char *text = ic_safe_edit_contents(edit, &xml_len);
    xml = g_memdup2(text, xml_len + 1); /* NUL-terminated copy */
  }
  if (domain != NULL) {
    if ((xml == NULL && !ic_read_file(domain, IC_DOMAIN_MAX_BYTES, &xml, &xml_len, &error)) ||
        (doc = ic_domain_doc_parse(xml, xml_len, domain, &error)) == NULL)
      return ic_cli_fail(cli, g_steal_pointer(&error));
    const IcDomainDef *def = ic_domain_doc_def(doc);
    in->domain_arch = def->arch;
    in->domain_machine = def->machine;
    in->domain_type = def->type;
  }

  g_autoptr(IcPolicyDecision) d = ic_policy_resolve(in, host, &error);
  if (domain != NULL && error == NULL)
    return apply_domain(cli, d, host, domain, xml, xml_len, edit, &write_opts);
  if (cli->json) {
    g_autofree char *j = ic_policy_decision_to_json(d);
    fputs(j, stdout);
    fputc('\n', stdout);
  } else if (error == NULL) {
    g_autofree char *t = ic_policy_decision_to_text(d);
    fputs(t, stdout);
  }
  if (error != NULL) {
    g_autofree char *with_name = g_strdup_printf("%s: %s", d->fault_exception, error->message);
    g_free(error->message);
    error->message = g_steal_pointer(&with_name);
    return ic_cli_fail(cli, g_steal_pointer(&error));
  }
  return IC_EXIT_OK;
}

/* ---- traits ------------------------------------------------------------------------ */

int
ic_cmd_traits(IcCli *cli, int argc, char **argv)
{
  gboolean yaml = FALSE;
  HostOpts ho = {0};
  GOptionEntry entries[] = {
    {"provider-yaml", 0, 0, G_OPTION_ARG_NONE, &yaml,
     "Write Nova's provider config (/etc/nova/provider_config/*.yaml, schema 1.0) with the CUSTOM_* traits",
     NULL},
    HOST_ENTRIES(ho),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "the placement traits this host offers (Nova and CUSTOM_*)",
                    entries, &status)) {
    host_opts_clear(&ho);
    return status;
  }
  if (argc > 1) {
    host_opts_clear(&ho);
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  }
  if (yaml && cli->json) {
    host_opts_clear(&ho);
    return ic_cli_usage_error(cli, "--json and --provider-yaml exclude each other");
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(IcPolicyHost) host = get_host(cli, &ho, &error);
  host_opts_clear(&ho);
  if (host == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  g_autoptr(GPtrArray) traits = ic_policy_host_traits(host);
  if (cli->json) {
    g_autofree char *j = ic_policy_traits_to_json(host, traits);
    printf("%s\n", j);
  } else if (yaml) {
    g_autofree char *y = ic_policy_traits_to_provider_yaml(host, traits);
    fputs(y, stdout);
  } else {
    for (guint i = 0; i < traits->len; i++) {
      IcPolicyTrait *t = g_ptr_array_index(traits, i);
      printf("%s%-3s%s %-36s %s\n", ic_color(cli->ctx->color, t->present ? IC_COLOR_GREEN : IC_COLOR_GREY),
             t->present ? "yes" : "no", ic_color(cli->ctx->color, IC_COLOR_RESET), t->name, t->reason);
    }
  }
  return IC_EXIT_OK;
}

/* ---- place ------------------------------------------------------------------------------ */

typedef struct {
  gboolean summary;
  guint fleet_size;
} PlaceOut;

static IcPolicyRequest *
build_request(char **terms, GError **error)
{
  g_autoptr(IcPolicyRequest) r = ic_policy_request_new();
  for (int i = 0; terms && terms[i]; i++)
    if (!ic_policy_request_add(r, terms[i], error))
      return NULL;
  if (!ic_policy_request_finish(r, error))
    return NULL;
  return g_steal_pointer(&r);
}

static void
json_strings(JsonBuilder *b, const char *key, const GPtrArray *a)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_array(b);
  for (guint i = 0; i < a->len; i++)
    json_builder_add_string_value(b, g_ptr_array_index(a, i));
  json_builder_end_array(b);
}

static char *
join(const GPtrArray *a)
{
  if (a->len == 0)
    return g_strdup("-");
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < a->len; i++)
    g_string_append_printf(s, "%s%s", i ? ", " : "", (const char *) g_ptr_array_index(a, i));
  return g_string_free(s, FALSE);
}

static void
report_json(JsonBuilder *b, const IcPolicyFleet *fleet, const IcPolicyRequest *r, char **terms,
            GArray *fit, GArray *rejected, const PlaceOut *po)
{
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "terms");
  json_builder_begin_array(b);
  for (int i = 0; terms && terms[i]; i++)
    json_builder_add_string_value(b, terms[i]);
  json_builder_end_array(b);
  json_strings(b, "required", ic_policy_request_required(r));
  json_strings(b, "forbidden", ic_policy_request_forbidden(r));
  gboolean nova_ok;
  g_autofree char *invalid = NULL;
  g_autoptr(GPtrArray) nova = ic_policy_request_nova_prefilter(r, &nova_ok, &invalid);
  json_builder_set_member_name(b, "nova_prefilter");
  json_builder_begin_object(b);
  ic_json_add_bool(b, "applied", nova_ok);
  ic_json_add_string_or_null(b, "invalid_trait", invalid);
  json_strings(b, "required", nova);
  json_builder_end_object(b);
  ic_json_add_int(b, "fit_count", fit->len);
  ic_json_add_int(b, "rejected_count", rejected->len);
  if (!po->summary) {
    json_builder_set_member_name(b, "fit");
    json_builder_begin_array(b);
    for (guint i = 0; i < fit->len; i++)
      json_builder_add_string_value(b, ic_policy_fleet_host_name(fleet, g_array_index(fit, guint, i)));
    json_builder_end_array(b);
    json_builder_set_member_name(b, "rejected");
    json_builder_begin_array(b);
    for (guint i = 0; i < rejected->len; i++) {
      guint h = g_array_index(rejected, guint, i);
      g_autoptr(GPtrArray) lacks = g_ptr_array_new();
      g_autoptr(GPtrArray) forb = g_ptr_array_new();
      ic_policy_fleet_explain(fleet, r, h, lacks, forb);
      json_builder_begin_object(b);
      ic_json_add_string_or_null(b, "host", ic_policy_fleet_host_name(fleet, h));
      json_strings(b, "lacks", lacks);
      json_strings(b, "has_forbidden", forb);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
  }
  json_builder_end_object(b);
}

static void
report_text(const IcPolicyFleet *fleet, const IcPolicyRequest *r, GArray *fit, GArray *rejected,
            const PlaceOut *po)
{
  g_autofree char *req = join(ic_policy_request_required(r));
  g_autofree char *forb = join(ic_policy_request_forbidden(r));
  printf("request: requires %s; forbids %s\n", req, forb);
  gboolean nova_ok;
  g_autofree char *invalid = NULL;
  g_autoptr(GPtrArray) nova = ic_policy_request_nova_prefilter(r, &nova_ok, &invalid);
  if (!nova_ok)
    printf("note: Nova's own prefilter would compute %s, which os-traits does not define, "
           "and then require none of the image's traits (it requires %u)\n", invalid, nova->len);
  printf("fit: %u of %u hosts\n", fit->len, po->fleet_size);
  if (po->summary)
    return;
  for (guint i = 0; i < fit->len; i++)
    printf("  %s\n", ic_policy_fleet_host_name(fleet, g_array_index(fit, guint, i)));
  if (rejected->len)
    printf("rejected: %u\n", rejected->len);
  for (guint i = 0; i < rejected->len; i++) {
    guint h = g_array_index(rejected, guint, i);
    g_autoptr(GPtrArray) lacks = g_ptr_array_new();
    g_autoptr(GPtrArray) has = g_ptr_array_new();
    ic_policy_fleet_explain(fleet, r, h, lacks, has);
    g_autofree char *l = join(lacks);
    g_autofree char *f = join(has);
    if (has->len == 0)
      printf("  %s: lacks %s\n", ic_policy_fleet_host_name(fleet, h), l);
    else if (lacks->len == 0)
      printf("  %s: has forbidden %s\n", ic_policy_fleet_host_name(fleet, h), f);
    else
      printf("  %s: lacks %s; has forbidden %s\n", ic_policy_fleet_host_name(fleet, h), l, f);
  }
}

/* Each line of a --requests file is one request: terms separated by blanks. */
static GPtrArray *
read_request_lines(const char *path, GError **error)
{
  g_autofree char *data = NULL;
  if (!ic_read_file(path, 64 << 20, &data, NULL, error))
    return NULL;
  GPtrArray *lines = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
  g_auto(GStrv) raw = g_strsplit(data, "\n", -1);
  for (int i = 0; raw[i]; i++) {
    g_strstrip(raw[i]);
    if (raw[i][0] == '\0' || raw[i][0] == '#')
      continue;
    g_ptr_array_add(lines, g_strsplit_set(raw[i], " \t", -1));
    /* drop empty tokens from repeated blanks */
    char **v = g_ptr_array_index(lines, lines->len - 1);
    int w = 0;
    for (int k = 0; v[k]; k++) {
      if (v[k][0] == '\0')
        g_free(v[k]);
      else
        v[w++] = v[k];
    }
    v[w] = NULL;
  }
  return lines;
}

int
ic_cmd_place(IcCli *cli, int argc, char **argv)
{
  g_auto(GStrv) terms = NULL;
  g_autofree char *hosts = NULL, *requests = NULL;
  gboolean summary = FALSE, timing = FALSE;
  GOptionEntry entries[] = {
    {"request", 'r', 0, G_OPTION_ARG_STRING_ARRAY, &terms,
     "A request term; repeatable. hw_viommu_model=M / hw:viommu_model=M (requires "
     "COMPUTE_VIOMMU_MODEL_<M>, the flavor wins), other image properties of Nova's prefilter "
     "(hw_disk_bus=virtio -> COMPUTE_STORAGE_BUS_VIRTIO, ...), trait:NAME[=required|forbidden], !trait:NAME",
     "TERM"},
    {"hosts", 0, 0, G_OPTION_ARG_FILENAME, &hosts,
     "The fleet: a directory of `traits --json` files, or one file (a document, a JSON array, or NDJSON)",
     "FILE|DIR"},
    {"requests", 0, 0, G_OPTION_ARG_FILENAME, &requests,
     "Many requests, one per line (terms separated by blanks), against the fleet loaded once", "FILE"},
    {"summary", 0, 0, G_OPTION_ARG_NONE, &summary, "Only the counts, no host lists", NULL},
    {"timing", 0, 0, G_OPTION_ARG_NONE, &timing, "Print load and filter times on stderr", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "filter a fleet of hosts for a vIOMMU request", entries, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  if (hosts == NULL)
    return ic_cli_usage_error(cli, "--hosts FILE|DIR is required");
  if (terms == NULL && requests == NULL)
    return ic_cli_usage_error(cli, "give at least one --request TERM or --requests FILE");

  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
  if (terms != NULL)
    g_ptr_array_add(batch, g_strdupv(terms));
  if (requests != NULL) {
    g_autoptr(GPtrArray) lines = read_request_lines(requests, &error);
    if (lines == NULL)
      return ic_cli_fail(cli, g_steal_pointer(&error));
    g_ptr_array_extend_and_steal(batch, g_steal_pointer(&lines));
  }
  /* parse every request before the (possibly long) fleet load */
  g_autoptr(GPtrArray) reqs = g_ptr_array_new_with_free_func((GDestroyNotify) ic_policy_request_free);
  for (guint i = 0; i < batch->len; i++) {
    IcPolicyRequest *r = build_request(g_ptr_array_index(batch, i), &error);
    if (r == NULL)
      return ic_cli_fail(cli, g_steal_pointer(&error));
    g_ptr_array_add(reqs, r);
  }

  gint64 t0 = g_get_monotonic_time();
  g_autoptr(IcPolicyFleet) fleet = ic_policy_fleet_load(hosts, &error);
  if (fleet == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  /* symlinks and FIFOs in a fleet directory are not read (docs/security.md) */
  const GPtrArray *skipped = ic_policy_fleet_skipped(fleet);
  for (guint i = 0; i < skipped->len; i++)
    fprintf(stderr, "%s %s: skipped %s\n", cli->prog, cli->command, (const char *) g_ptr_array_index(skipped, i));
  gint64 t1 = g_get_monotonic_time();

  PlaceOut po = {.summary = summary, .fleet_size = ic_policy_fleet_size(fleet)};
  g_autoptr(JsonBuilder) b = NULL;
  if (cli->json) {
    b = ic_json_begin_document("place", 1);
    ic_json_add_int(b, "hosts", po.fleet_size);
    json_builder_set_member_name(b, "requests");
    json_builder_begin_array(b);
  }
  gboolean all_fit = TRUE;
  gint64 filter_us = 0;
  for (guint i = 0; i < reqs->len; i++) {
    const IcPolicyRequest *r = g_ptr_array_index(reqs, i);
    g_autoptr(GArray) rejected = NULL;
    gint64 f0 = g_get_monotonic_time();
    g_autoptr(GArray) fit = ic_policy_place(fleet, r, &rejected);
    filter_us += g_get_monotonic_time() - f0;
    all_fit &= fit->len > 0;
    if (cli->json)
      report_json(b, fleet, r, g_ptr_array_index(batch, i), fit, rejected, &po);
    else
      report_text(fleet, r, fit, rejected, &po);
  }
  if (cli->json) {
    json_builder_end_array(b);
    ic_json_end_document(b);
  }
  if (timing)
    fprintf(stderr, "place: loaded %u hosts in %.1f ms; %u requests filtered in %.3f ms (%.3f ms each)\n",
            po.fleet_size, (double) (t1 - t0) / 1000.0, reqs->len, (double) filter_us / 1000.0,
            (double) filter_us / 1000.0 / MAX(1u, reqs->len));
  return all_fit ? IC_EXIT_OK : IC_EXIT_NEGATIVE;
}
