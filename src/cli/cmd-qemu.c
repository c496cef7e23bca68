/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domain qemu-args, domain bypass, run. */
#include "cli/cli.h"
#include <iommuctl/domain.h>
#include <iommuctl/qemu.h>
#include "util/ic-util.h"

#include <stdio.h>
#include <unistd.h>

static IcQemuCaps *
select_caps(IcCli *cli, const IcDomainDoc *doc, const char *qemu, const char *version, const char *caps_file,
            char **binary_out, GError **error)
{
  g_autofree char *binary = ic_qemu_binary_for(doc, qemu);
  IcQemuCaps *caps = ic_qemu_caps_select(cli->ctx, binary, qemu != NULL, version, caps_file, error);
  if (caps != NULL)
    *binary_out = g_steal_pointer(&binary);
  return caps;
}

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

/* Several files in one process: each argv after a "# FILE" line; caps are
 * probed once per emulator.  Exit status: the worst of the files. */
static int
qemu_args_batch(IcCli *cli, int argc, char **argv, const char *qemu, const char *version, const char *caps_file,
                gboolean shell, gboolean paused, const char *qmp)
{
  g_autoptr(GHashTable) caps_by_binary = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                               (GDestroyNotify) ic_qemu_caps_free);
  int worst = IC_EXIT_OK;
  for (int i = 1; i < argc; i++) {
    GError *error = NULL;
    g_autoptr(IcDomainDoc) doc = ic_domain_doc_load(argv[i], &error);
    if (doc == NULL) {
      worst = MAX(worst, ic_cli_fail(cli, error));
      continue;
    }
    g_autofree char *binary = ic_qemu_binary_for(doc, qemu);
    IcQemuCaps *caps = g_hash_table_lookup(caps_by_binary, binary);
    if (caps == NULL) {
      caps = ic_qemu_caps_select(cli->ctx, binary, qemu != NULL, version, caps_file, &error);
      if (caps == NULL) {
        worst = MAX(worst, ic_cli_fail(cli, error));
        continue;
      }
      g_hash_table_insert(caps_by_binary, g_strdup(binary), caps);
    }
    IcQemuBuildOptions bo = {.caps = caps, .binary = binary, .paused = paused, .qmp_socket = qmp};
    g_autoptr(IcQemuBuild) build = ic_qemu_build(cli->ctx, doc, &bo, &error);
    if (build == NULL) {
      worst = MAX(worst, ic_cli_fail(cli, error));
      continue;
    }
    print_notes_text(doc, build->notes);
    g_autofree char *text = shell ? ic_qemu_argv_to_shell(build->argv) : argv_to_lines_escaped(build->argv);
    g_autofree char *shown = ic_escape_control(argv[i]);
    printf("# %s\n%s", shown, text);
  }
  return worst;
}

int
ic_cmd_domain_qemu_args(IcCli *cli, int argc, char **argv)
{
  g_autofree char *qemu = NULL, *version = NULL, *caps_file = NULL, *qmp = NULL;
  gboolean shell = FALSE, paused = FALSE, verify = FALSE;
  GOptionEntry entries[] = {
    {"qemu", 0, 0, G_OPTION_ARG_FILENAME, &qemu, "QEMU binary (default: <emulator>, else qemu-system-<arch>)", "PATH"},
    {"qemu-version", 0, 0, G_OPTION_ARG_STRING, &version,
     "Generate for this QEMU version (its options from iommuctl's version table over the probed binary)", "X.Y"},
    {"qemu-caps", 0, 0, G_OPTION_ARG_FILENAME, &caps_file, "Capability file instead of probing (schema iommuctl.qemu-caps)", "FILE"},
    {"shell", 0, 0, G_OPTION_ARG_NONE, &shell, "One shell-quoted line instead of one option per line", NULL},
    {"paused", 'S', 0, G_OPTION_ARG_NONE, &paused, "Add -S (start paused)", NULL},
    {"qmp", 0, 0, G_OPTION_ARG_FILENAME, &qmp, "Add a QMP monitor on this unix socket", "SOCKET"},
    {"verify", 0, 0, G_OPTION_ARG_NONE, &verify,
     "Start the QEMU paused and read back every property set (qom-get, info qtree); exit 1 on a mismatch", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE...",
                    "the QEMU command line a domain XML means (refuses what it cannot express exactly)", entries, &status))
    return status;
  if (argc < 2)
    return ic_cli_usage_error(cli, "expected a domain XML file");
  if (argc > 2) {
    if (cli->json || verify)
      return ic_cli_usage_error(cli, "--json and --verify take one file");
    return qemu_args_batch(cli, argc, argv, qemu, version, caps_file, shell, paused, qmp);
  }
  GError *error = NULL;
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_load(argv[1], &error);
  if (doc == NULL)
    return ic_cli_fail(cli, error);
  g_autofree char *binary = NULL;
  g_autoptr(IcQemuCaps) caps = select_caps(cli, doc, qemu, version, caps_file, &binary, &error);
  if (caps == NULL)
    return ic_cli_fail(cli, error);
  IcQemuBuildOptions bo = {.caps = caps, .binary = binary, .paused = paused, .qmp_socket = qmp};
  g_autoptr(IcQemuBuild) build = ic_qemu_build(cli->ctx, doc, &bo, &error);
  if (build == NULL)
    return ic_cli_fail(cli, error);
  g_autoptr(GPtrArray) checks = NULL;
  if (verify) {
    /* --verify starts the emulator: the XML's must pass the trust rule */
    if (qemu == NULL) {
      g_autofree char *resolved = NULL;
      if (!ic_qemu_emulator_trusted(binary, &resolved, &error))
        return ic_cli_fail(cli, error);
      g_free(build->argv->binary);
      build->argv->binary = g_steal_pointer(&resolved);
    }
    checks = ic_qemu_verify(cli->ctx, build->argv, &error);
    if (checks == NULL)
      return ic_cli_fail(cli, error);
  }
  guint bad = 0;
  for (guint i = 0; checks && i < checks->len; i++)
    bad += !((IcQemuCheck *) checks->pdata[i])->ok;

  if (cli->json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document("qemu-args", 1);
    ic_json_add_string_or_null(b, "file", argv[1]);
    ic_json_add_string_or_null(b, "binary", build->argv->binary);
    ic_json_add_string_or_null(b, "qemu_version", ic_qemu_caps_version(caps));
    json_builder_set_member_name(b, "argv");
    json_builder_begin_array(b);
    g_auto(GStrv) v = ic_qemu_argv_to_strv(build->argv);
    for (int i = 0; v[i]; i++)
      json_builder_add_string_value(b, v[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "options");
    g_autoptr(JsonNode) opts = ic_qemu_argv_to_json(build->argv);
    json_builder_add_value(b, json_node_copy(json_object_get_member(json_node_get_object(opts), "options")));
    add_notes_json(b, build->notes);
    if (verify)
      add_checks_json(b, checks);
    ic_json_end_document(b);
  } else {
    print_notes_text(doc, build->notes);
    g_autofree char *text = shell ? ic_qemu_argv_to_shell(build->argv) : argv_to_lines_escaped(build->argv);
    fputs(text, stdout);
    for (guint i = 0; checks && i < checks->len; i++) {
      const IcQemuCheck *c = checks->pdata[i];
      fprintf(stderr, "verify: %s %s: expected %s, QEMU has %s\n", c->skipped ? "skip" : c->ok ? "ok  " : "FAIL", c->what, c->expected,
              c->actual ? c->actual : "(unreadable)");
    }
  }
  return bad ? IC_EXIT_NEGATIVE : IC_EXIT_OK;
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
