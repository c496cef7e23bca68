/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* iommuctl domain lint|protect|viommu|hostdev|memlock */
#include "cli/cli.h"
#include "util/ic-util.h"

#include <iommuctl/domain.h>
#include <iommuctl/host.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- inputs: files and directories ----------------------------------------------- */

static gboolean
has_xml_suffix(const char *name)
{
  return g_str_has_suffix(name, ".xml");
}

/* A symlink, FIFO or device found in a walked directory is not read: say so
 * on stderr and go on (docs/security.md: walked directories). */
static void
print_skipped(const char *path, const char *reason, gpointer user_data)
{
  IcCli *cli = user_data;
  fprintf(stderr, "%s %s: skipped %s: it %s\n", cli->prog, cli->command, path, reason);
}

/* FILE arguments as given (a link the user names is followed); DIR
 * arguments walked for *.xml through ic_walk_dir(): sorted, recursive,
 * hidden entries left out, symlinks never followed, never out of the tree. */
static GPtrArray *
collect_inputs(IcCli *cli, int argc, char **argv, GError **error)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
  for (int i = 0; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      g_autoptr(GPtrArray) found = ic_walk_collect(argv[i], IC_WALK_RECURSIVE, has_xml_suffix, print_skipped, cli, error);
      if (found == NULL)
        return NULL;
      for (guint k = 0; k < found->len; k++)
        g_ptr_array_add(files, g_strdup(g_ptr_array_index(found, k)));
    } else {
      g_ptr_array_add(files, g_strdup(argv[i]));
    }
  }
  return g_steal_pointer(&files);
}

/* Host facts, read once: IOMMU address width and RAM.  Absent host data is
 * not an error: the rules that need them are then skipped. */
static guint
host_aw_bits(IcCli *cli)
{
  g_autoptr(GError) error = NULL;
  IcInventory *inv = ic_inventory_get(cli->ctx, IC_INVENTORY_NO_NAMES | IC_INVENTORY_NO_HOST_USE, &error);
  if (inv == NULL)
    return 0;
  return ic_inventory_host(inv)->address_width;
}

static guint64
host_ram_bytes(IcCli *cli)
{
  g_autofree char *path = ic_context_proc_path(cli->ctx, "/proc/meminfo");
  g_autofree char *text = NULL;
  if (!ic_read_file(path, 1 << 20, &text, NULL, NULL))
    return 0;
  const char *p = strstr(text, "MemTotal:");
  if (p == NULL)
    return 0;
  return g_ascii_strtoull(p + 9, NULL, 10) * 1024;
}

/* ---- lint -------------------------------------------------------------------------- */

static void
print_findings_text(IcCli *cli, const char *file, GPtrArray *findings)
{
  gboolean c = cli->ctx->color;
  for (guint i = 0; i < findings->len; i++) {
    const IcLintFinding *f = g_ptr_array_index(findings, i);
    IcColor col = f->severity == IC_LINT_ERROR ? IC_COLOR_RED : f->severity == IC_LINT_WARNING ? IC_COLOR_YELLOW
                                                                                               : IC_COLOR_BLUE;
    printf("%s:%d: %s%s%s %s [%s]: %s\n", file, f->line, ic_color(c, col), ic_lint_severity_to_string(f->severity),
           ic_color(c, IC_COLOR_RESET), f->code, f->origin, f->message);
    if (f->hint != NULL)
      printf("    fix: %s\n", f->hint);
  }
}

static void
json_findings(JsonBuilder *b, GPtrArray *findings)
{
  json_builder_set_member_name(b, "findings");
  json_builder_begin_array(b);
  for (guint i = 0; i < findings->len; i++) {
    const IcLintFinding *f = g_ptr_array_index(findings, i);
    json_builder_begin_object(b);
    ic_json_add_string(b, "code", f->code);
    ic_json_add_string(b, "severity", ic_lint_severity_to_string(f->severity));
    ic_json_add_string(b, "origin", f->origin);
    ic_json_add_int(b, "line", f->line);
    ic_json_add_string(b, "message", f->message);
    ic_json_add_string_or_null(b, "hint", f->hint);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
}

static int
worse(int a, int b)
{
  /* usage/parse errors (2) and failures (3) outrank a negative result (1) */
  return MAX(a, b);
}

/* --libvirt-version of lint and the editing verbs (which lint their result):
 * the version asked for, else the installed libvirt, else 9.0 (Debian 12's).
 * FALSE when text is not a version. */
static gboolean
libvirt_version_option(const char *text, guint *out)
{
  *out = 0;
  if (text != NULL && !ic_libvirt_version_parse(text, out))
    return FALSE;
  if (*out == 0)
    *out = ic_libvirt_version_installed(NULL);
  if (*out == 0)
    *out = 9000000;
  return TRUE;
}

int
ic_cmd_domain_lint(IcCli *cli, int argc, char **argv)
{
  int aw_override = -1;
  gboolean list_rules = FALSE;
  g_autofree char *libvirt_version = NULL;
  GOptionEntry entries[] = {
    {"host-aw-bits", 0, 0, G_OPTION_ARG_INT, &aw_override,
     "Host IOMMU address width for the aw_bits rule (default: from the host inventory; 0 = skip)", "N"},
    {"libvirt-version", 0, 0, G_OPTION_ARG_STRING, &libvirt_version,
     "Lint by the rules and texts of this libvirt (default: the installed libvirt library, else 9.0)", "X.Y"},
    {"rules", 0, 0, G_OPTION_ARG_NONE, &list_rules, "List every rule (code, severity, origin) and exit", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE|DIR...",
                    "check domain XML against libvirt's, QEMU's and iommuctl's IOMMU rules.\n"
                    "Directories are searched recursively for *.xml. Exit 1 when any error is found, 2 when a file "
                    "cannot be parsed.",
                    entries, &status))
    return status;
  if (list_rules) {
    guint n;
    const IcLintRule *r = ic_lint_rules(&n);
    for (guint i = 0; i < n; i++)
      printf("%s  %-7s  %-8s  %s\n", r[i].code, ic_lint_severity_to_string(r[i].severity), r[i].origin, r[i].summary);
    return IC_EXIT_OK;
  }
  if (argc < 2)
    return ic_cli_usage_error(cli, "give at least one FILE or DIR");
  IcLintOptions opts = {.host_aw_bits = aw_override >= 0 ? (guint) aw_override : host_aw_bits(cli)};
  if (!libvirt_version_option(libvirt_version, &opts.libvirt_version))
    return ic_cli_usage_error(cli, "--libvirt-version: '%s' is not X.Y or X.Y.Z", libvirt_version);
  g_autoptr(GError) walk_error = NULL;
  g_autoptr(GPtrArray) files = collect_inputs(cli, argc - 1, argv + 1, &walk_error);
  if (files == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&walk_error));
  g_autoptr(JsonBuilder) jb = NULL;
  if (cli->json) {
    jb = ic_json_begin_document("domain-lint", 1);
    ic_json_add_int(jb, "host_aw_bits", opts.host_aw_bits);
    g_autofree char *lv = g_strdup_printf("%u.%u.%u", opts.libvirt_version / 1000000,
                                          opts.libvirt_version / 1000 % 1000, opts.libvirt_version % 1000);
    ic_json_add_string(jb, "libvirt_version", lv);
    json_builder_set_member_name(jb, "files");
    json_builder_begin_array(jb);
  }
  guint n_err = 0, n_warn = 0, n_bad = 0;
  status = IC_EXIT_OK;
  for (guint i = 0; i < files->len; i++) {
    const char *file = g_ptr_array_index(files, i);
    g_autoptr(GError) error = NULL;
    g_autoptr(IcDomainDoc) doc = ic_domain_doc_load(file, &error);
    g_autoptr(GPtrArray) findings = doc != NULL ? ic_domain_lint(doc, &opts) : NULL;
    if (doc == NULL) {
      n_bad++;
      status = worse(status, ic_error_exit_status(error));
      if (!cli->json)
        fprintf(stderr, "%s %s: %s\n", cli->prog, cli->command, error->message);
    } else {
      guint e = ic_lint_count_errors(findings);
      n_err += e;
      n_warn += findings->len - e;
      if (e > 0)
        status = worse(status, IC_EXIT_NEGATIVE);
      if (!cli->json)
        print_findings_text(cli, file, findings);
    }
    if (jb != NULL) {
      json_builder_begin_object(jb);
      ic_json_add_string(jb, "file", file);
      ic_json_add_string_or_null(jb, "error", error != NULL ? error->message : NULL);
      if (findings != NULL)
        json_findings(jb, findings);
      json_builder_end_object(jb);
    }
  }
  if (jb != NULL) {
    json_builder_end_array(jb);
    ic_json_add_int(jb, "errors", n_err);
    ic_json_add_int(jb, "warnings", n_warn);
    ic_json_add_int(jb, "unreadable", n_bad);
    ic_json_end_document(jb);
  } else {
    printf("%u file(s): %u error(s), %u warning(s)%s\n", files->len, n_err, n_warn,
           n_bad ? ", some files unreadable" : "");
  }
  return status;
}

/* ---- shared writing logic for the editing verbs ------------------------------------- */

typedef struct {
  gboolean in_place, check, no_backup;
  char *hard_links;            /* --hard-links as given */
  IcHardLinkPolicy hard_link;  /* parsed */
} WriteMode;

#define WRITE_OPTIONS(m)                                                                              \
  {"in-place", 'i', 0, G_OPTION_ARG_NONE, &(m).in_place, "Rewrite the files atomically (keeps FILE.bak)", NULL}, \
  {"check", 0, 0, G_OPTION_ARG_NONE, &(m).check, "Change nothing; exit 1 when a change would be made", NULL},    \
  {"no-backup", 0, 0, G_OPTION_ARG_NONE, &(m).no_backup, "With --in-place: keep no FILE.bak", NULL},              \
  {"hard-links", 0, 0, G_OPTION_ARG_STRING, &(m).hard_links,                                                      \
   "With --in-place, a file with several hard links: refuse (default), share (edit the inode all names share) "   \
   "or break (replace this name only)", "refuse|share|break"}

static void
write_mode_clear(WriteMode *m)
{
  g_clear_pointer(&m->hard_links, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(WriteMode, write_mode_clear)

static gboolean
check_write_mode(IcCli *cli, WriteMode *m, guint n_files, int *status)
{
  if (!ic_hard_links_parse(m->hard_links, &m->hard_link)) {
    *status = ic_cli_usage_error(cli, "--hard-links takes refuse, share or break, not '%s'", m->hard_links);
    return FALSE;
  }
  if (m->in_place && m->check) {
    *status = ic_cli_usage_error(cli, "--in-place and --check exclude each other");
    return FALSE;
  }
  if (!m->in_place && !m->check && n_files != 1) {
    *status = ic_cli_usage_error(cli, "several files need --in-place or --check (one file goes to stdout)");
    return FALSE;
  }
  return TRUE;
}

/* Load FILE for the mode.  An in-place edit opens, locks and reads it
 * through the safe-edit layer (src/util/safe-write.c), which holds the lock
 * until the edit is written or given up: two iommuctl editors of one file
 * take turns, and neither loses the other's change. */
static IcDomainDoc *
load_for_mode(const WriteMode *m, const char *file, IcSafeEdit **edit, GError **error)
{
  if (!m->in_place)
    return ic_domain_doc_load(file, error);
  *edit = ic_safe_edit_open(file, IC_DOMAIN_MAX_BYTES, error);
  if (*edit == NULL)
    return NULL;
  gsize len = 0;
  const char *text = ic_safe_edit_contents(*edit, &len);
  return ic_domain_doc_parse(text, len, file, error);
}

/* Output the edited document per mode.  Returns an exit status; a failed
 * write sets *error (for the caller to report) and leaves *written FALSE, so
 * nothing claims a change that is not on disk. */
static int
emit_result(IcCli *cli, const WriteMode *m, const IcDomainDoc *doc, IcSafeEdit *edit, gboolean *written,
            GError **error)
{
  *written = FALSE;
  if (m->check)
    return ic_domain_doc_changed(doc) ? IC_EXIT_NEGATIVE : IC_EXIT_OK;
  if (m->in_place) {
    if (!ic_domain_doc_changed(doc))
      return IC_EXIT_OK;
    IcSafeEditOptions opts = {.backup = !m->no_backup, .hard_links = m->hard_link};
    gsize len = 0;
    const char *text = ic_domain_doc_bytes(doc, &len);
    if (!ic_safe_edit_commit(edit, text, len, &opts, error))
      return ic_error_exit_status(*error);
    *written = TRUE;
    return IC_EXIT_OK;
  }
  if (!cli->json) {
    gsize len;
    const char *text = ic_domain_doc_bytes(doc, &len);
    fwrite(text, 1, len, stdout);
  }
  return IC_EXIT_OK;
}

/* Lint after an edit, by the rules of the libvirt the user asked for (or has):
 * print what is left.  Returns IC_EXIT_NEGATIVE when errors remain. */
static int
lint_after_edit(IcCli *cli, const IcDomainDoc *doc, const char *file, guint aw, guint libvirt_version,
                JsonBuilder *jb)
{
  IcLintOptions opts = {.host_aw_bits = aw, .libvirt_version = libvirt_version};
  g_autoptr(GPtrArray) findings = ic_domain_lint(doc, &opts);
  if (jb != NULL)
    json_findings(jb, findings);
  else if (findings->len > 0) {
    /* findings go to stderr when the XML itself goes to stdout */
    fflush(stdout);
    int saved = dup(fileno(stdout));
    (void) dup2(fileno(stderr), fileno(stdout));
    print_findings_text(cli, file, findings);
    fflush(stdout);
    (void) dup2(saved, fileno(stdout));
    close(saved);
  }
  return ic_lint_count_errors(findings) > 0 ? IC_EXIT_NEGATIVE : IC_EXIT_OK;
}

/* ---- protect ---------------------------------------------------------------------- */

int
ic_cmd_domain_protect(IcCli *cli, int argc, char **argv)
{
  g_auto(WriteMode) m = {0};
  gboolean force = FALSE;
  GOptionEntry entries[] = {
    WRITE_OPTIONS(m),
    {"force", 'f', 0, G_OPTION_ARG_NONE, &force, "Also turn an explicit iommu='off' on", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE|DIR...",
                    "put <driver iommu='on'/> on every virtio device (IBM Secure Execution bounce buffers).\n"
                    "Works on domain XML and standalone device XML. One FILE without --in-place/--check: the result "
                    "goes to stdout, the report to stderr. A device QEMU would refuse with iommu on (QM002/QM006) "
                    "is left without it, named with the reason and the fix, and protect exits 1.",
                    entries, &status))
    return status;
  if (argc < 2)
    return ic_cli_usage_error(cli, "give at least one FILE or DIR");
  g_autoptr(GError) walk_error = NULL;
  g_autoptr(GPtrArray) files = collect_inputs(cli, argc - 1, argv + 1, &walk_error);
  if (files == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&walk_error));
  if (!check_write_mode(cli, &m, files->len, &status))
    return status;
  FILE *rep = (!m.in_place && !m.check) ? stderr : stdout;
  g_autoptr(JsonBuilder) jb = NULL;
  if (cli->json) {
    jb = ic_json_begin_document("domain-protect", 1);
    json_builder_set_member_name(jb, "files");
    json_builder_begin_array(jb);
  }
  status = IC_EXIT_OK;
  guint n_changed_files = 0;
  for (guint i = 0; i < files->len; i++) {
    const char *file = g_ptr_array_index(files, i);
    g_autoptr(GError) error = NULL;
    g_autoptr(IcSafeEdit) edit = NULL;
    g_autoptr(IcDomainDoc) doc = load_for_mode(&m, file, &edit, &error);
    IcProtectReport r;
    ic_protect_report_init(&r);
    gboolean would_change = FALSE, written = FALSE, changed = FALSE;
    if (doc != NULL && m.check) {
      ic_domain_protect_dry_run(doc, force, &r);
      would_change = r.devices_changed > 0;
    } else if (doc != NULL && !ic_domain_protect(doc, force, &r, &error)) {
      g_clear_pointer(&doc, ic_domain_doc_free);
    }
    if (doc == NULL) {
      status = worse(status, ic_error_exit_status(error));
      if (!cli->json)
        fprintf(stderr, "%s %s: %s\n", cli->prog, cli->command, error->message);
    } else {
      if (m.check)
        status = worse(status, would_change ? IC_EXIT_NEGATIVE : IC_EXIT_OK);
      else
        status = worse(status, emit_result(cli, &m, doc, edit, &written, &error));
      /* a device QEMU would refuse with iommu on is left without it: the
       * result starts, but is not fully protected — a negative result */
      if (r.refused->len > 0)
        status = worse(status, IC_EXIT_NEGATIVE);
      /* in place, only what reached the disk counts as changed */
      changed = m.check ? would_change : m.in_place ? written : ic_domain_doc_changed(doc);
      n_changed_files += changed;
      if (error != NULL && !cli->json)
        fprintf(stderr, "%s %s: %s\n", cli->prog, cli->command, error->message);
      if (!cli->json) {
        if (r.devices_changed > 0 && error == NULL)
          fprintf(rep, "%s: %s iommu='on' on %u device(s)\n", file, m.check ? "would set" : "set", r.devices_changed);
        for (guint k = 0; k < r.explicit_off->len; k++)
          fprintf(rep, "%s:%s has iommu='off': left alone (use --force)\n", file,
                  (char *) g_ptr_array_index(r.explicit_off, k));
        for (guint k = 0; k < r.forced_off->len; k++)
          fprintf(rep, "%s:%s had iommu='off': turned on (--force)\n", file,
                  (char *) g_ptr_array_index(r.forced_off, k));
        for (guint k = 0; k < r.notes->len; k++)
          fprintf(rep, "%s:%s\n", file, (char *) g_ptr_array_index(r.notes, k));
        for (guint k = 0; k < r.refused->len; k++)
          fprintf(rep, "%s:%s\n", file, (char *) g_ptr_array_index(r.refused, k));
        if (r.ccw_addresses->len > 0) {
          g_ptr_array_add(r.ccw_addresses, NULL);
          g_autofree char *list = g_strjoinv(" ", (char **) r.ccw_addresses->pdata);
          g_ptr_array_remove_index(r.ccw_addresses, r.ccw_addresses->len - 1);
          fprintf(rep, "%s: ccw devices: %s\n", file, list);
        }
      }
    }
    if (jb != NULL) {
      json_builder_begin_object(jb);
      ic_json_add_string(jb, "file", file);
      ic_json_add_string_or_null(jb, "error", error != NULL ? error->message : NULL);
      ic_json_add_bool(jb, "changed", changed);
      ic_json_add_int(jb, "devices_changed", r.devices_changed);
      ic_json_add_int(jb, "already_on", r.already_on);
      ic_json_add_string_array(jb, "explicit_off", r.explicit_off);
      ic_json_add_string_array(jb, "forced_off", r.forced_off);
      ic_json_add_string_array(jb, "ccw_addresses", r.ccw_addresses);
      ic_json_add_string_array(jb, "notes", r.notes);
      ic_json_add_string_array(jb, "refused", r.refused);
      json_builder_end_object(jb);
    }
    ic_protect_report_clear(&r);
  }
  if (jb != NULL) {
    json_builder_end_array(jb);
    ic_json_add_int(jb, "files_changed", n_changed_files);
    ic_json_end_document(jb);
  } else if (m.in_place || m.check) {
    printf("%u file(s), %u %s\n", files->len, n_changed_files, m.check ? "would change" : "changed");
  }
  return status;
}

/* ---- viommu ------------------------------------------------------------------------ */

int
ic_cmd_domain_viommu(IcCli *cli, int argc, char **argv)
{
  g_auto(WriteMode) m = {0};
  g_autofree char *model = NULL, *libvirt_version = NULL;
  int aw_bits = 0, host_aw = -1;
  gboolean remove = FALSE;
  GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_STRING, &model, "intel, smmuv3, virtio, amd or auto (Nova's rule)", "MODEL"},
    {"aw-bits", 0, 0, G_OPTION_ARG_INT, &aw_bits, "IOVA width for intel (39 or 48; default: from the host)", "N"},
    {"remove", 0, 0, G_OPTION_ARG_NONE, &remove, "Remove the vIOMMU", NULL},
    {"libvirt-version", 0, 0, G_OPTION_ARG_STRING, &libvirt_version,
     "libvirt version for --model auto (default: assume >= 8.3, i.e. virtio) and for linting the result "
     "(default: the installed libvirt, else 9.0)", "X.Y.Z"},
    {"host-aw-bits", 0, 0, G_OPTION_ARG_INT, &host_aw, "Host IOMMU address width (default: host inventory)", "N"},
    WRITE_OPTIONS(m),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE...",
                    "add, update or remove the vIOMMU with what it needs: split ioapic for interrupt remapping on "
                    "x86, caching_mode with VFIO hostdevs, eim above 255 vCPUs, aw_bits from the host IOMMU width. "
                    "The result is linted; exit 1 when errors remain.",
                    entries, &status))
    return status;
  if (argc < 2)
    return ic_cli_usage_error(cli, "give at least one FILE");
  if (!remove && model == NULL)
    return ic_cli_usage_error(cli, "give --model or --remove");
  IcViommuRequest req;
  ic_viommu_request_init(&req);
  if (!remove) {
    req.model = ic_viommu_model_from_string(model);
    if (req.model == IC_VIOMMU_UNKNOWN)
      return ic_cli_usage_error(cli, "unknown model '%s' (intel, smmuv3, virtio, amd, auto)", model);
  }
  if (aw_bits != 0 && aw_bits != 39 && aw_bits != 48)
    return ic_cli_usage_error(cli, "--aw-bits must be 39 or 48 (QEMU's intel-iommu)");
  guint lint_libvirt;
  if (!libvirt_version_option(libvirt_version, &lint_libvirt))
    return ic_cli_usage_error(cli, "--libvirt-version: '%s' is not X.Y or X.Y.Z", libvirt_version);
  if (libvirt_version != NULL)
    req.libvirt_version = lint_libvirt;
  req.aw_bits = (guint) aw_bits;
  req.host_aw_bits = host_aw >= 0 ? (guint) host_aw : host_aw_bits(cli);
  g_autoptr(GError) walk_error = NULL;
  g_autoptr(GPtrArray) files = collect_inputs(cli, argc - 1, argv + 1, &walk_error);
  if (files == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&walk_error));
  if (!check_write_mode(cli, &m, files->len, &status))
    return status;
  FILE *rep = (!m.in_place && !m.check) ? stderr : stdout;
  g_autoptr(JsonBuilder) jb = NULL;
  if (cli->json) {
    jb = ic_json_begin_document("domain-viommu", 1);
    json_builder_set_member_name(jb, "files");
    json_builder_begin_array(jb);
  }
  status = IC_EXIT_OK;
  for (guint i = 0; i < files->len; i++) {
    const char *file = g_ptr_array_index(files, i);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(IcSafeEdit) edit = NULL;
    g_autoptr(IcDomainDoc) doc = load_for_mode(&m, file, &edit, &error);
    if (doc != NULL) {
      gboolean ok = remove ? ic_domain_viommu_remove(doc, &error) : ic_domain_viommu_set(doc, &req, notes, &error);
      if (!ok)
        g_clear_pointer(&doc, ic_domain_doc_free);
    }
    /* write first, so the report below says what is on disk */
    gboolean written = FALSE;
    int write_status = doc != NULL ? emit_result(cli, &m, doc, edit, &written, &error) : IC_EXIT_OK;
    if (jb != NULL) {
      json_builder_begin_object(jb);
      ic_json_add_string(jb, "file", file);
      ic_json_add_string_or_null(jb, "error", error != NULL ? error->message : NULL);
      ic_json_add_bool(jb, "changed", doc != NULL && (m.in_place ? written : ic_domain_doc_changed(doc)));
      ic_json_add_string_array(jb, "notes", notes);
    }
    if (doc == NULL) {
      status = worse(status, ic_error_exit_status(error));
      if (!cli->json)
        fprintf(stderr, "%s %s: %s: %s\n", cli->prog, cli->command, file, error->message);
    } else {
      if (!cli->json)
        for (guint k = 0; k < notes->len; k++)
          fprintf(rep, "%s: %s\n", file, (char *) g_ptr_array_index(notes, k));
      status = worse(status, lint_after_edit(cli, doc, file, req.host_aw_bits, lint_libvirt, jb));
      status = worse(status, write_status);
      if (error != NULL && !cli->json)
        fprintf(stderr, "%s %s: %s\n", cli->prog, cli->command, error->message);
    }
    if (jb != NULL)
      json_builder_end_object(jb);
  }
  if (jb != NULL) {
    json_builder_end_array(jb);
    ic_json_end_document(jb);
  }
  return status;
}

/* ---- hostdev ---------------------------------------------------------------------- */

static gboolean
parse_yes_no(const char *text, IcTristate *out)
{
  if (text == NULL)
    return TRUE;
  int v = ic_parse_bool_word(text);
  if (v < 0)
    return FALSE;
  *out = v ? IC_TRI_ON : IC_TRI_OFF;
  return TRUE;
}

int
ic_cmd_domain_hostdev(IcCli *cli, int argc, char **argv)
{
  g_auto(WriteMode) m = {0};
  g_autofree char *iommufd = NULL, *managed = NULL, *driver_model = NULL, *libvirt_version = NULL;
  gboolean group = FALSE;
  GOptionEntry entries[] = {
    {"iommufd", 0, 0, G_OPTION_ARG_STRING, &iommufd, "Write <driver iommufd='yes|no'/> (libvirt >= 12.1)", "yes|no"},
    {"managed", 0, 0, G_OPTION_ARG_STRING, &managed, "managed='yes|no' (default yes)", "yes|no"},
    {"driver-model", 0, 0, G_OPTION_ARG_STRING, &driver_model, "VFIO variant driver (<driver model=''>)", "NAME"},
    {"group", 'g', 0, G_OPTION_ARG_NONE, &group, "Add every endpoint of each device's IOMMU group (host inventory)", NULL},
    {"libvirt-version", 0, 0, G_OPTION_ARG_STRING, &libvirt_version,
     "libvirt version whose rules lint the result (default: the installed libvirt, else 9.0)", "X.Y.Z"},
    WRITE_OPTIONS(m),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE ADDR...",
                    "add PCI hostdevs (<driver name='vfio'/>) for the given host devices; with --group, for every "
                    "endpoint of their IOMMU groups. Existing hostdevs for the same address are kept.",
                    entries, &status))
    return status;
  if (argc < 3)
    return ic_cli_usage_error(cli, "give FILE and at least one PCI address");
  IcHostdevSpec spec = {.managed = IC_TRI_ABSENT, .iommufd = IC_TRI_ABSENT, .driver_model = driver_model};
  if (!parse_yes_no(iommufd, &spec.iommufd))
    return ic_cli_usage_error(cli, "--iommufd takes yes or no");
  if (!parse_yes_no(managed, &spec.managed))
    return ic_cli_usage_error(cli, "--managed takes yes or no");
  guint lint_libvirt;
  if (!libvirt_version_option(libvirt_version, &lint_libvirt))
    return ic_cli_usage_error(cli, "--libvirt-version: '%s' is not X.Y or X.Y.Z", libvirt_version);
  if (!check_write_mode(cli, &m, 1, &status))
    return status;
  const char *file = argv[1];
  g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  IcInventory *inv = NULL;
  for (int i = 2; i < argc; i++) {
    IcPciAddr a;
    GError *error = NULL;
    if (!ic_pci_addr_parse(argv[i], &a, &error))
      return ic_cli_fail(cli, error);
    if (!group) {
      g_array_append_val(addrs, a);
      continue;
    }
    if (inv == NULL && (inv = ic_inventory_get(cli->ctx, IC_INVENTORY_NO_NAMES | IC_INVENTORY_NO_HOST_USE, &error)) == NULL)
      return ic_cli_fail(cli, error);
    IcPciDevice *dev = ic_inventory_find_device(inv, &a);
    if (dev == NULL || dev->group == NULL)
      return ic_cli_fail(cli, g_error_new(IC_ERROR, IC_ERROR_NOT_FOUND, "%s: %s", argv[i],
                                          dev == NULL ? "no such PCI device on the host" : "the device has no IOMMU group"));
    for (guint k = 0; k < dev->group->members->len; k++) {
      IcPciDevice *mbr = g_ptr_array_index(dev->group->members, k);
      if (!ic_pci_device_is_bridge(mbr))
        g_array_append_val(addrs, mbr->addr);
    }
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(IcSafeEdit) edit = NULL;
  g_autoptr(IcDomainDoc) doc = load_for_mode(&m, file, &edit, &error);
  if (doc == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  for (guint i = 0; i < addrs->len; i++) {
    spec.addr = g_array_index(addrs, IcPciAddr, i);
    if (!ic_domain_hostdev_add(doc, &spec, &error))
      return ic_cli_fail(cli, g_steal_pointer(&error));
  }
  /* write first, so the report says what is on disk */
  gboolean written = FALSE;
  int write_status = emit_result(cli, &m, doc, edit, &written, &error);
  g_autoptr(JsonBuilder) jb = NULL;
  if (cli->json) {
    jb = ic_json_begin_document("domain-hostdev", 1);
    ic_json_add_string(jb, "file", file);
    ic_json_add_string_or_null(jb, "error", error != NULL ? error->message : NULL);
    ic_json_add_bool(jb, "changed", m.in_place ? written : ic_domain_doc_changed(doc));
    json_builder_set_member_name(jb, "addresses");
    json_builder_begin_array(jb);
    for (guint i = 0; i < addrs->len; i++) {
      char buf[IC_PCI_ADDR_STRLEN];
      json_builder_add_string_value(jb, ic_pci_addr_format(&g_array_index(addrs, IcPciAddr, i), buf));
    }
    json_builder_end_array(jb);
  }
  status = lint_after_edit(cli, doc, file, 0, lint_libvirt, jb);
  status = worse(status, write_status);
  if (jb != NULL)
    ic_json_end_document(jb);
  else if (error != NULL)
    fprintf(stderr, "%s %s: %s\n", cli->prog, cli->command, error->message);
  return status;
}

/* ---- memlock ---------------------------------------------------------------------- */

static char *
human_bytes(gboolean unlimited, guint64 bytes)
{
  if (unlimited)
    return g_strdup("unlimited");
  if (bytes == 0)
    return g_strdup("no limit set");
  g_autofree char *h = g_format_size_full(bytes, G_FORMAT_SIZE_IEC_UNITS);
  return g_strdup_printf("%s (%" G_GUINT64_FORMAT " bytes)", h, bytes);
}

int
ic_cmd_domain_memlock(IcCli *cli, int argc, char **argv)
{
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "FILE...",
                    "the RLIMIT_MEMLOCK a guest needs: libvirt's formula and iommuctl's estimate, with a warning "
                    "when it exceeds the host's RAM (from /proc/meminfo). Exit 1 when it does.",
                    NULL, &status))
    return status;
  if (argc < 2)
    return ic_cli_usage_error(cli, "give at least one FILE");
  guint64 ram = host_ram_bytes(cli);
  g_autoptr(GError) walk_error = NULL;
  g_autoptr(GPtrArray) files = collect_inputs(cli, argc - 1, argv + 1, &walk_error);
  if (files == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&walk_error));
  g_autoptr(JsonBuilder) jb = NULL;
  if (cli->json) {
    jb = ic_json_begin_document("domain-memlock", 1);
    ic_json_add_int(jb, "host_ram_bytes", (gint64) ram);
    json_builder_set_member_name(jb, "files");
    json_builder_begin_array(jb);
  }
  status = IC_EXIT_OK;
  for (guint i = 0; i < files->len; i++) {
    const char *file = g_ptr_array_index(files, i);
    g_autoptr(GError) error = NULL;
    g_autoptr(IcDomainDoc) doc = ic_domain_doc_load(file, &error);
    IcMemlockReport r = {0};
    gboolean ok = doc != NULL && ic_domain_memlock(ic_domain_doc_def(doc), ram, &r, &error);
    if (!ok) {
      status = worse(status, ic_error_exit_status(error));
      if (!cli->json)
        fprintf(stderr, "%s %s: %s: %s\n", cli->prog, cli->command, file, error->message);
    } else if (r.exceeds_host_ram) {
      status = worse(status, IC_EXIT_NEGATIVE);
    }
    if (jb != NULL) {
      json_builder_begin_object(jb);
      ic_json_add_string(jb, "file", file);
      ic_json_add_string_or_null(jb, "error", error != NULL ? error->message : NULL);
      if (ok) {
        json_builder_set_member_name(jb, "libvirt");
        json_builder_begin_object(jb);
        ic_json_add_bool(jb, "unlimited", r.libvirt_unlimited);
        ic_json_add_int(jb, "bytes", (gint64) r.libvirt_bytes);
        ic_json_add_string(jb, "why", r.libvirt_why);
        json_builder_end_object(jb);
        json_builder_set_member_name(jb, "estimate");
        json_builder_begin_object(jb);
        ic_json_add_bool(jb, "unlimited", r.estimate_unlimited);
        ic_json_add_int(jb, "bytes", (gint64) r.estimate_bytes);
        ic_json_add_string(jb, "why", r.estimate_why);
        json_builder_end_object(jb);
        ic_json_add_bool(jb, "exceeds_host_ram", r.exceeds_host_ram);
      }
      json_builder_end_object(jb);
    } else if (ok) {
      g_autofree char *lv = human_bytes(r.libvirt_unlimited, r.libvirt_bytes);
      g_autofree char *es = human_bytes(r.estimate_unlimited, r.estimate_bytes);
      printf("%s:\n  libvirt:  %s\n            %s\n  iommuctl: %s\n            %s\n", file, lv, r.libvirt_why, es,
             r.estimate_why);
      if (ram != 0) {
        g_autofree char *h = g_format_size_full(ram, G_FORMAT_SIZE_IEC_UNITS);
        printf("  host RAM: %s%s\n", h, r.exceeds_host_ram ? "" : " (fits)");
        if (r.exceeds_host_ram)
          printf("  %swarning%s: the limit exceeds the host's RAM; pinning that much cannot succeed "
                 "(use iommufd, fewer devices per vIOMMU, or drop the vIOMMU)\n",
                 ic_color(cli->ctx->color, IC_COLOR_YELLOW), ic_color(cli->ctx->color, IC_COLOR_RESET));
      }
    }
    ic_memlock_report_clear(&r);
  }
  if (jb != NULL) {
    json_builder_end_array(jb);
    ic_json_end_document(jb);
  }
  return status;
}
