/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domain qemu-args, domain bypass, run. */
#include "cli/cli.h"
#include <iommuctl/domain.h>
#include <iommuctl/qemu.h>
#include "util/ic-util.h"
#include "qemu/engine.h"

#include <stdio.h>
#include <unistd.h>

static void
print_notes_text(const IcDomainDoc *doc, GPtrArray *notes)
{
  g_autofree char *f = ic_escape_control(ic_domain_doc_filename(doc) ? ic_domain_doc_filename(doc) : "<domain>");
  for (guint i = 0; i < notes->len; i++) {
    const IcQemuNote *n = notes->pdata[i];
    g_autofree char *msg = ic_escape_control(n->message);
    if (n->line > 0)
      fprintf(stderr, "%s:%d: %s: %s [%s]\n", f, n->line, n->level == IC_QEMU_NOTE_WARNING ? "warning" : "note",
              msg, n->code);
    else
      fprintf(stderr, "%s: %s: %s [%s]\n", f, n->level == IC_QEMU_NOTE_WARNING ? "warning" : "note", msg,
              n->code);
  }
}

/* The default text output: one option per line, as libvirt-argv prints it.
 * A value from the domain XML may hold a newline (<cmdline>, <name>, a
 * path): printed as is it would show as an option line of its own, so
 * control characters are escaped (\n, \t, \xNN).  --shell and --json carry
 * the exact bytes. */
static char *
argv_to_lines_escaped(const IcQemuArgv *argv)
{
  g_auto(GStrv) v = ic_qemu_argv_to_strv(argv);
  GString *s = g_string_new(NULL);
  guint k = 0;
  g_autofree char *binary = ic_escape_control(v[k++]);
  g_string_append_printf(s, "%s\n", binary);
  for (guint i = 0; i < argv->opts->len && v[k] != NULL; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    g_autofree char *name = ic_escape_control(v[k++]);
    g_string_append(s, name);
    if ((o->text != NULL || o->json != NULL) && v[k] != NULL) {
      g_autofree char *val = ic_escape_control(v[k++]);
      g_string_append_c(s, ' ');
      g_string_append(s, val);
    }
    g_string_append_c(s, '\n');
  }
  return g_string_free(s, FALSE);
}

static void
add_notes_json(JsonBuilder *b, GPtrArray *notes)
{
  json_builder_set_member_name(b, "notes");
  json_builder_begin_array(b);
  for (guint i = 0; i < notes->len; i++) {
    const IcQemuNote *n = notes->pdata[i];
    json_builder_begin_object(b);
    ic_json_add_string(b, "code", n->code);
    ic_json_add_string(b, "level", n->level == IC_QEMU_NOTE_WARNING ? "warning" : "info");
    ic_json_add_int(b, "line", n->line);
    ic_json_add_string(b, "message", n->message);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
}

static void
add_checks_json(JsonBuilder *b, GPtrArray *checks)
{
  json_builder_set_member_name(b, "verify");
  json_builder_begin_array(b);
  for (guint i = 0; checks && i < checks->len; i++) {
    const IcQemuCheck *c = checks->pdata[i];
    json_builder_begin_object(b);
    ic_json_add_string(b, "what", c->what);
    ic_json_add_string(b, "expected", c->expected);
    ic_json_add_string_or_null(b, "actual", c->actual);
    ic_json_add_bool(b, "ok", c->ok);
    ic_json_add_bool(b, "skipped", c->skipped);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
}

static void
print_checks_text(GPtrArray *checks)
{
  for (guint i = 0; checks && i < checks->len; i++) {
    const IcQemuCheck *c = checks->pdata[i];
    g_autofree char *what = ic_escape_control(c->what);
    g_autofree char *actual = ic_escape_control(c->actual ? c->actual : "(unreadable)");
    fprintf(stderr, "verify: %s %s: expected %s, QEMU has %s\n", c->skipped ? "skip" : c->ok ? "ok  " : "FAIL", what,
            c->expected, actual);
  }
}

static guint
count_bad(GPtrArray *checks)
{
  guint bad = 0;
  for (guint i = 0; checks && i < checks->len; i++)
    bad += !((IcQemuCheck *) checks->pdata[i])->ok;
  return bad;
}

static void
print_json(IcQemuEngine *engine, const char *file, const IcQemuBuild *build, guint libvirt_version,
           GPtrArray *checks)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("qemu-args", 2);
  ic_json_add_string_or_null(b, "file", file);
  ic_json_add_string_or_null(b, "binary", build->argv->binary);
  ic_json_add_string_or_null(b, "engine", ic_qemu_engine_uri(engine));
  ic_json_add_string_or_null(b, "libvirt", ic_qemu_engine_libvirt_version(engine));
  g_autofree char *lv = g_strdup_printf("%u.%u", libvirt_version / 1000000, libvirt_version / 1000 % 1000);
  ic_json_add_string(b, "libvirt_version", lv);
  json_builder_set_member_name(b, "env");
  json_builder_begin_array(b);
  for (int i = 0; build->env && build->env[i]; i++)
    json_builder_add_string_value(b, build->env[i]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "argv");
  json_builder_begin_array(b);
  g_auto(GStrv) v = ic_qemu_argv_to_strv(build->argv);
  for (int i = 0; v[i]; i++)
    json_builder_add_string_value(b, v[i]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "options");
  ic_qemu_argv_parse_json(build->argv);
  g_autoptr(JsonNode) opts = ic_qemu_argv_to_json(build->argv);
  json_builder_add_value(b, json_node_copy(json_object_get_member(json_node_get_object(opts), "options")));
  add_notes_json(b, build->notes);
  if (build->memlock_bytes == G_MAXUINT64)
    ic_json_add_string(b, "memlock", "unlimited");
  else
    ic_json_add_int(b, "memlock", (gint64) build->memlock_bytes);
  if (checks != NULL)
    add_checks_json(b, checks);
  ic_json_end_document(b);
}

/* MAX() would evaluate ic_cli_fail() twice */
static int
worse(int a, int b)
{
  return MAX(a, b);
}

/* One engine connection for every file; each argv after a "# FILE" line
 * when there are several.  Exit status: the worst of the files. */
int
ic_cmd_domain_qemu_args(IcCli *cli, int argc, char **argv)
{
  g_autofree char *qemu = NULL, *version = NULL, *libvirt_version = NULL;
  gboolean shell = FALSE, verify = FALSE, no_groups = FALSE;
  GOptionEntry entries[] = {
    {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &qemu,
     "QEMU binary (default: <emulator>, else qemu-system-<arch>, which must pass the trusted-binary rule)", "PATH"},
    {"qemu-version", 0, 0, G_OPTION_ARG_STRING, &version,
     "Also check the command line against QEMU X.Y (iommuctl's table of when each IOMMU option appeared)", "X.Y"},
    {"libvirt-version", 0, 0, G_OPTION_ARG_STRING, &libvirt_version,
     "Lint by the rules of libvirt X.Y (default: the installed libvirt, else 9.0); the argv is the installed "
     "libvirt's", "X.Y"},
    {"shell", 0, 0, G_OPTION_ARG_NONE, &shell, "One shell-quoted line instead of one option per line", NULL},
    {"verify", 0, 0, G_OPTION_ARG_NONE, &verify,
     "Start the domain paused on the engine and read back every IOMMU property (qom-get, info qtree); exit 1 "
     "on a mismatch", NULL},
    {"no-groups", 0, 0, G_OPTION_ARG_NONE, &no_groups,
     "Do not check the hostdevs' IOMMU groups on this host", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE...",
                    "libvirt's own QEMU command line for a domain XML (its embedded QEMU driver), with iommuctl's "
                    "checks and the bypass libvirt cannot express",
                    entries, &status))
    return status;
  if (argc < 2)
    return ic_cli_usage_error(cli, "expected a domain XML file");
  if (argc > 2 && cli->json)
    return ic_cli_usage_error(cli, "--json takes one file");
  guint lv = 0;
  if (libvirt_version != NULL && !ic_libvirt_version_parse(libvirt_version, &lv))
    return ic_cli_usage_error(cli, "--libvirt-version takes X.Y, not '%s'", libvirt_version);
  if (lv == 0)
    lv = ic_libvirt_version_installed(NULL) ? ic_libvirt_version_installed(NULL) : 9000000;
  GError *error = NULL;
  /* opened at the first file that loads: a verb refused on its input
   * never touches the state directory or loads libvirt */
  g_autoptr(IcQemuEngine) engine = NULL;
  IcQemuBuildOptions bo = {
    .emulator = qemu,
    .libvirt_version = lv,
    .qemu_version = version,
    .host_ram_bytes = (guint64) sysconf(_SC_PHYS_PAGES) * (guint64) sysconf(_SC_PAGESIZE),
    .skip_groups = no_groups,
  };
  int worst = IC_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    g_autoptr(IcDomainDoc) doc = ic_domain_doc_load(argv[i], &error);
    if (doc == NULL) {
      worst = worse(worst, ic_cli_fail(cli, error));
      error = NULL;
      continue;
    }
    if (engine == NULL && (engine = ic_qemu_engine_open(cli->ctx, &error)) == NULL)
      return worse(worst, ic_cli_fail(cli, error));
    g_autoptr(IcQemuBuild) build = ic_qemu_build(engine, cli->ctx, doc, &bo, &error);
    if (build == NULL) {
      worst = worse(worst, ic_cli_fail(cli, error));
      error = NULL;
      continue;
    }
    g_autoptr(GPtrArray) checks = NULL;
    if (verify && (checks = ic_qemu_verify(engine, build, argv[i], &error)) == NULL) {
      worst = worse(worst, ic_cli_fail(cli, error));
      error = NULL;
      continue;
    }
    if (count_bad(checks) > 0)
      worst = MAX(worst, IC_EXIT_NEGATIVE);
    if (cli->json) {
      print_json(engine, argv[i], build, lv, checks);
      continue;
    }
    print_notes_text(doc, build->notes);
    g_autofree char *text = shell ? ic_qemu_argv_to_shell(build->argv) : argv_to_lines_escaped(build->argv);
    if (argc > 2) {
      g_autofree char *shown = ic_escape_control(argv[i]);
      printf("# %s\n", shown);
    }
    fputs(text, stdout);
    print_checks_text(checks);
  }
  return worst;
}

static gboolean
parse_onoff(const char *text, gboolean *out)
{
  int v = ic_parse_bool_word(text);
  if (v < 0)
    return FALSE;
  *out = v;
  return TRUE;
}

int
ic_cmd_domain_bypass(IcCli *cli, int argc, char **argv)
{
  g_auto(GStrv) buses = NULL;
  g_autofree char *default_bus = NULL, *output = NULL, *hard_links = NULL;
  gboolean dry_run = FALSE;
  GOptionEntry entries[] = {
    {"bus", 0, 0, G_OPTION_ARG_STRING_ARRAY, &buses,
     "pcie-expander-bus controller INDEX bypasses the vIOMMU (on) or not (off); repeatable", "INDEX=on|off"},
    {"default-bus", 0, 0, G_OPTION_ARG_STRING, &default_bus, "The machine's default root bus bypasses the vIOMMU", "on|off"},
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the result here instead of editing FILE in place", "OUT"},
    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "Print the edited XML on stdout, change nothing", NULL},
    {"hard-links", 0, 0, G_OPTION_ARG_STRING, &hard_links,
     "The file written has several hard links: refuse (default), share (edit the inode all names share) or "
     "break (replace this name only)", "refuse|share|break"},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE",
                    "per-host-bridge IOMMU bypass: writes iommuctl metadata plus the qemu:override / "
                    "qemu:commandline that real libvirt launches with (rest of the file kept byte for byte)",
                    entries, &status))
    return status;
  if (argc != 2)
    return ic_cli_usage_error(cli, "expected one domain XML file");
  IcQemuBypassEdit edit = {.default_bus = -1, .buses = g_array_new(FALSE, FALSE, sizeof(IcQemuBypassBus))};
  g_autoptr(GArray) bus_array = edit.buses;
  gboolean on;
  if (default_bus != NULL) {
    if (!parse_onoff(default_bus, &on))
      return ic_cli_usage_error(cli, "--default-bus takes on or off, not '%s'", default_bus);
    edit.default_bus = on;
  }
  for (int i = 0; buses && buses[i]; i++) {
    g_auto(GStrv) kv = g_strsplit(buses[i], "=", 2);
    gint64 idx;
    if (kv[0] == NULL || kv[1] == NULL || !ic_parse_int64(kv[0], 10, 1, 255, &idx) || !parse_onoff(kv[1], &on))
      return ic_cli_usage_error(cli, "--bus takes INDEX=on|off (controller index 1..255), not '%s'", buses[i]);
    IcQemuBypassBus e = {.index = (int) idx, .on = on};
    g_array_append_val(bus_array, e);
  }
  if (edit.default_bus < 0 && bus_array->len == 0)
    return ic_cli_usage_error(cli, "nothing to do: give --bus INDEX=on|off and/or --default-bus on|off");
  IcSafeEditOptions write_opts = {.backup = FALSE};
  if (!ic_hard_links_parse(hard_links, &write_opts.hard_links))
    return ic_cli_usage_error(cli, "--hard-links takes refuse, share or break, not '%s'", hard_links);
  GError *error = NULL;
  /* editing FILE in place: open, lock and read it through the safe-edit
   * layer, which keeps the lock until the write (src/util/safe-write.c) */
  g_autoptr(IcSafeEdit) in_place = NULL;
  g_autoptr(IcDomainDoc) doc = NULL;
  if (dry_run || output != NULL) {
    doc = ic_domain_doc_load(argv[1], &error);
  } else if ((in_place = ic_safe_edit_open(argv[1], IC_DOMAIN_MAX_BYTES, &error)) != NULL) {
    gsize in_len = 0;
    const char *in_text = ic_safe_edit_contents(in_place, &in_len);
    doc = ic_domain_doc_parse(in_text, in_len, argv[1], &error);
  }
  if (doc == NULL)
    return ic_cli_fail(cli, error);
  gsize before_len = 0;
  const char *before_bytes = ic_domain_doc_bytes(doc, &before_len);
  g_autofree char *before = g_memdup2(before_bytes, before_len);
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
  if (!ic_qemu_bypass_apply(doc, &edit, notes, &error))
    return ic_cli_fail(cli, error);
  for (guint i = 0; i < notes->len; i++)
    fprintf(stderr, "%s: %s\n", argv[1], (const char *) notes->pdata[i]);
  gsize len = 0;
  const char *bytes = ic_domain_doc_bytes(doc, &len);
  if (dry_run) {
    fwrite(bytes, 1, len, stdout);
    return IC_EXIT_OK;
  }
  if (!ic_domain_doc_changed(doc) || (len == before_len && memcmp(bytes, before, len) == 0)) {
    fprintf(stderr, "%s: already so; unchanged\n", argv[1]);
    return IC_EXIT_OK;
  }
  gboolean written = in_place != NULL ? ic_safe_edit_commit(in_place, bytes, len, &write_opts, &error)
                                      : ic_safe_write_file(output, bytes, len, &write_opts, &error);
  if (cli->json) {
    /* a failed write is never reported as a change */
    g_autoptr(JsonBuilder) b = ic_json_begin_document("qemu-bypass", 1);
    ic_json_add_string_or_null(b, "file", output ? output : argv[1]);
    ic_json_add_bool(b, "changed", written);
    ic_json_add_string_or_null(b, "error", error != NULL ? error->message : NULL);
    ic_json_end_document(b);
  }
  if (!written)
    return ic_cli_fail(cli, error);
  return IC_EXIT_OK;
}

int
ic_cmd_run(IcCli *cli, int argc, char **argv)
{
  g_autofree char *qemu = NULL, *user = NULL;
  gboolean dry_run = FALSE;
  int shutdown_timeout = 30;
  GOptionEntry entries[] = {
    {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &qemu,
     "QEMU binary libvirt runs instead of the domain's <emulator> (executed as named; the XML's must pass the "
     "trusted-binary rule)", "PATH"},
    {"user", 0, 0, G_OPTION_ARG_STRING, &user,
     "QEMU runs as this user (default: the engine's qemu.conf user, libvirt-qemu; 'root' keeps root)", "NAME"},
    {"shutdown-timeout", 0, 0, G_OPTION_ARG_INT, &shutdown_timeout,
     "After SIGINT/SIGTERM/SIGHUP, seconds the guest gets to shut down before it is destroyed (default 30)", "SEC"},
    {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
     "Print what would be detached and libvirt's command line; change nothing, start nothing", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE",
                    "lint, detach the hostdevs' IOMMU groups, run the domain on libvirt's embedded QEMU driver in "
                    "the foreground, reattach on exit",
                    entries, &status))
    return status;
  /* run's output is the steps it takes while the guest runs; there is no
   * document to emit, so say so rather than accept the flag and ignore it */
  if (cli->json)
    return ic_cli_usage_error(cli, "--json is not supported by run (use 'domain qemu-args --json' or 'status --json')");
  if (argc != 2)
    return ic_cli_usage_error(cli, "expected one domain XML file");
  if (shutdown_timeout < 1 || shutdown_timeout > 3600)
    return ic_cli_usage_error(cli, "--shutdown-timeout takes 1..3600 seconds, not %d", shutdown_timeout);
  GError *error = NULL;
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_load(argv[1], &error);
  if (doc == NULL)
    return ic_cli_fail(cli, error);
  IcQemuRunOptions ro = {.emulator = qemu, .user = user, .dry_run = dry_run,
                         .shutdown_timeout_s = (guint) shutdown_timeout,
                         .host_ram_bytes = (guint64) sysconf(_SC_PHYS_PAGES) * (guint64) sysconf(_SC_PAGESIZE)};
  int exit_status = 0;
  if (!ic_qemu_run(cli->ctx, doc, &ro, NULL, &exit_status, &error))
    return ic_cli_fail(cli, error);
  return exit_status;
}
