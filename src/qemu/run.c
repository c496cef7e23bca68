/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `iommuctl run`: the whole path for people who run QEMU without libvirt.
 * Every step that changes the host has its undo registered before it runs,
 * so QEMU dying (or a signal) still ends with the devices given back. */
#include "qemu-private.h"
#include <iommuctl/assign.h>

#include <errno.h>
#include <pwd.h>
#include <unistd.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

static void
say(GPtrArray *out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
say(GPtrArray *out, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *line = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (out != NULL) {
    g_ptr_array_add(out, line);
    return;
  }
  /* live progress: the user watches a foreground VM */
  fprintf(stdout, "iommuctl run: %s\n", line);
  fflush(stdout);
  g_free(line);
}

/* libvirt is not in the path of `run`: a rule only libvirt enforces (its
 * version, its schema) is reported but does not stop a direct QEMU start;
 * what QEMU or iommuctl refuse does (and ic_qemu_build re-checks those). */
static gboolean
run_lint(const IcDomainDoc *doc, GPtrArray *out, GError **error)
{
  IcLintOptions lo = {0};
  g_autoptr(GPtrArray) findings = ic_domain_lint(doc, &lo);
  guint errors = 0;
  for (guint i = 0; findings && i < findings->len; i++) {
    const IcLintFinding *f = findings->pdata[i];
    gboolean libvirt_only = f->severity == IC_LINT_ERROR && g_strcmp0(f->origin, "libvirt") == 0;
    say(out, "lint: %s: line %d: %s [%s]%s", ic_lint_severity_to_string(f->severity), f->line, f->message, f->code,
        libvirt_only ? " (libvirt's rule; not blocking a direct QEMU run)" : "");
    if (f->severity == IC_LINT_ERROR && !libvirt_only)
      errors++;
  }
  if (errors > 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED, "%s: %u lint error%s; not starting",
                ic_domain_doc_filename(doc) ? ic_domain_doc_filename(doc) : "<domain>", errors,
                errors == 1 ? "" : "s");
    return FALSE;
  }
  return TRUE;
}

/* Managed hostdevs are ours to detach (whole groups) and give back;
 * unmanaged ones must already be on vfio. */
static GArray *
managed_addrs(const IcDomainDef *def, GPtrArray *out)
{
  GArray *addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = def->hostdevs->pdata[i];
    char bdf[IC_PCI_ADDR_STRLEN];
    ic_pci_addr_format(&h->source_pci, bdf);
    if (h->managed == IC_TRI_ON)
      g_array_append_val(addrs, h->source_pci);
    else
      say(out, "hostdev %s: managed='no', expected already bound to vfio-pci", bdf);
  }
  return addrs;
}

static gboolean
show_plan(IcContext *ctx, GArray *addrs, GPtrArray *out, GError **error)
{
  g_autoptr(IcAssignPlan) plan = ic_assign_plan_new(ctx, (const IcPciAddr *) addrs->data, addrs->len, NULL, error);
  if (plan == NULL)
    return FALSE;
  for (guint g = 0; g < plan->groups->len; g++) {
    const IcAssignGroup *grp = plan->groups->pdata[g];
    for (guint m = 0; m < grp->members->len; m++) {
      const IcAssignMember *mem = grp->members->pdata[m];
      say(out, "would %s group %u member %s (%s): %s", ic_assign_action_to_string(mem->action), grp->number,
          mem->name, mem->driver ? mem->driver : "no driver", mem->reason ? mem->reason : "");
    }
  }
  for (guint i = 0; i < plan->warnings->len; i++)
    say(out, "assign warning: %s", (const char *) plan->warnings->pdata[i]);
  if (!plan->executable) {
    g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED, "%u device%s of the hostdevs' IOMMU groups cannot be detached "
                "(the host uses them); not starting", plan->n_blocked, plan->n_blocked == 1 ? "" : "s");
    return FALSE;
  }
  return TRUE;
}

static void
say_report(GPtrArray *out, IcAssignReport *report)
{
  for (guint i = 0; report && i < report->lines->len; i++)
    say(out, "%s", (const char *) report->lines->pdata[i]);
}

static gboolean
reattach(IcContext *ctx, GArray *addrs, GPtrArray *out, GError **error)
{
  if (addrs->len == 0)
    return TRUE;
  g_autoptr(IcAssignReport) report = NULL;
  gboolean ok = ic_assign_reattach(ctx, (const IcPciAddr *) addrs->data, addrs->len, FALSE, &report, error);
  say_report(out, report);
  say(out, ok ? "reattached the hostdevs' groups" : "reattach FAILED; run 'iommuctl recover'");
  return ok;
}

static gboolean
raise_memlock(const IcDomainDef *def, const IcQemuRunOptions *opts, GPtrArray *out, GError **error)
{
  IcMemlockReport r = {0};
  if (!ic_domain_memlock(def, opts->host_ram_bytes, &r, error))
    return FALSE;
  gboolean unlimited = r.estimate_unlimited;
  guint64 bytes = r.estimate_bytes;
  say(out, "memlock: %s (%s)", unlimited ? "unlimited" : (bytes ? "set" : "no limit needed"),
      r.estimate_why ? r.estimate_why : "");
  ic_memlock_report_clear(&r);
  if (!unlimited && bytes == 0)
    return TRUE;
  if (opts->keep_memlock) {
    say(out, "memlock: left as it is (--keep-memlock)");
    return TRUE;
  }
  struct rlimit rl = {.rlim_cur = unlimited ? RLIM_INFINITY : bytes, .rlim_max = unlimited ? RLIM_INFINITY : bytes};
  if (unlimited)
    say(out, "setrlimit RLIMIT_MEMLOCK unlimited");
  else
    say(out, "setrlimit RLIMIT_MEMLOCK %" G_GUINT64_FORMAT, bytes);
  if (opts->dry_run)
    return TRUE;
  struct rlimit cur;
  if (getrlimit(RLIMIT_MEMLOCK, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && rl.rlim_max != RLIM_INFINITY &&
      cur.rlim_max > rl.rlim_max)
    rl.rlim_max = cur.rlim_max; /* never lower the hard limit */
  if (setrlimit(RLIMIT_MEMLOCK, &rl) != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_PERMISSION, "cannot raise RLIMIT_MEMLOCK to %s: %s (needs CAP_SYS_RESOURCE)",
                unlimited ? "unlimited" : "the estimate", g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  GSubprocess *proc;
  GMainLoop *loop;
  int last_signal;
} RunWait;

static gboolean
forward_signal(gpointer data, int sig)
{
  RunWait *w = data;
  w->last_signal = sig;
  g_subprocess_send_signal(w->proc, sig);
  return G_SOURCE_CONTINUE;
}

static gboolean on_sigint(gpointer d) { return forward_signal(d, SIGINT); }
static gboolean on_sigterm(gpointer d) { return forward_signal(d, SIGTERM); }
static gboolean on_sighup(gpointer d) { return forward_signal(d, SIGHUP); }

static void
on_exit_cb(GObject *src, GAsyncResult *res, gpointer data)
{
  RunWait *w = data;
  g_subprocess_wait_finish(G_SUBPROCESS(src), res, NULL);
  g_main_loop_quit(w->loop);
}

static gboolean
launch_and_wait(const IcQemuArgv *argv, GPtrArray *out, int *status, GError **error)
{
  g_auto(GStrv) v = ic_qemu_argv_to_strv(argv);
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawnv(l, (const char *const *) v, error);
  if (proc == NULL)
    return FALSE;
  say(out, "started QEMU pid %s", g_subprocess_get_identifier(proc));
  g_autoptr(GMainContext) mc = g_main_context_ref_thread_default();
  RunWait w = {.proc = proc, .loop = g_main_loop_new(mc, FALSE)};
  guint s1 = g_unix_signal_add(SIGINT, on_sigint, &w);
  guint s2 = g_unix_signal_add(SIGTERM, on_sigterm, &w);
  guint s3 = g_unix_signal_add(SIGHUP, on_sighup, &w);
  g_subprocess_wait_async(proc, NULL, on_exit_cb, &w);
  g_main_loop_run(w.loop);
  g_source_remove(s1);
  g_source_remove(s2);
  g_source_remove(s3);
  g_main_loop_unref(w.loop);
  if (g_subprocess_get_if_exited(proc))
    *status = g_subprocess_get_exit_status(proc);
  else if (g_subprocess_get_if_signaled(proc))
    *status = 128 + g_subprocess_get_term_sig(proc);
  else
    *status = 255;
  if (w.last_signal)
    say(out, "QEMU exited with status %d (after forwarding signal %d)", *status, w.last_signal);
  else
    say(out, "QEMU exited with status %d", *status);
  return TRUE;
}

/* ---- whom QEMU runs as ----------------------------------------------------
 * QEMU opens what needs root at start-up (/dev/vfio/N, the tap, locked
 * memory), then changes to the user with -run-with user= (QEMU >= 9.1) or
 * -runas (older; deprecated in 9.1).  Without a user to drop to, iommuctl
 * refuses to start QEMU as root unless told so. */

#define DEFAULT_QEMU_USER "libvirt-qemu"

/* The user QEMU drops to, NULL for none (stay as we are). */
static gboolean
choose_user(const IcQemuRunOptions *opts, GPtrArray *out, char **user, GError **error)
{
  *user = NULL;
  if (opts->user != NULL) {
    if (strcmp(opts->user, "root") == 0) {
      say(out, "QEMU runs as root (--user root)");
      return TRUE;
    }
    /* a user name goes into -run-with/-runas: a plain word, and one that
     * exists, or QEMU fails only after iommuctl detached the devices */
    if (opts->user[0] == '-' || strspn(opts->user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                                     strlen(opts->user)) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "--user '%s' is not a user name", opts->user);
      return FALSE;
    }
    if (getpwnam(opts->user) == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "--user %s: no such user", opts->user);
      return FALSE;
    }
    *user = g_strdup(opts->user);
    return TRUE;
  }
  if (getpwnam(DEFAULT_QEMU_USER) != NULL) {
    *user = g_strdup(DEFAULT_QEMU_USER);
    return TRUE;
  }
  if (geteuid() != 0) {
    say(out, "QEMU runs as the invoking user (uid %u)", (guint) geteuid());
    return TRUE;
  }
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
              "refusing to run QEMU as root: there is no %s user to drop to, and as root QEMU opens "
              "every path the domain XML names with root's rights; pass --user NAME (an unprivileged "
              "account that can open the domain's disks), or --user root to accept it", DEFAULT_QEMU_USER);
  return FALSE;
}

/* <qemu:commandline> is copied verbatim, as libvirt does; it must not
 * choose the user or the jail behind --user's back. */
static gboolean
refuse_privilege_options(const IcQemuArgv *argv, GError **error)
{
  static const char *const owned[] = {"-runas", "-run-with", "-chroot", "-daemonize", NULL};
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    if (g_strv_contains(owned, o->name)) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                  "the domain's qemu:commandline passes %s: 'iommuctl run' decides whom QEMU runs as "
                  "(--user); remove it", o->name);
      return FALSE;
    }
  }
  return TRUE;
}

/* Interim (the engine branch retired the capability probe; run moves onto
 * the engine in its own branch): -runas, which every QEMU up to 10.x has. */
static void
add_user_option(IcQemuArgv *argv, const char *user, GPtrArray *out)
{
  ic_qemu_argv_add_text(argv, "-runas", user);
  say(out, "QEMU drops to user %s after start-up", user);
}

gboolean
ic_qemu_run(IcContext *ctx, IcDomainDoc *doc, const IcQemuRunOptions *opts, GPtrArray *out, int *qemu_status,
            GError **error)
{
  const IcDomainDef *def = ic_domain_doc_def(doc);
  *qemu_status = 0;
  if (!run_lint(doc, out, error))
    return FALSE;
  g_autoptr(IcQemuEngine) engine = ic_qemu_engine_open(ctx, error);
  if (engine == NULL)
    return FALSE;
  IcQemuBuildOptions bo = {.emulator = opts->binary_from_operator ? opts->binary : NULL,
                           .host_ram_bytes = opts->host_ram_bytes};
  g_autoptr(IcQemuBuild) build = ic_qemu_build(engine, ctx, doc, &bo, error);
  if (build == NULL || !refuse_privilege_options(build->argv, error))
    return FALSE;
  g_autofree char *user = NULL;
  if (!choose_user(opts, out, &user, error))
    return FALSE;
  if (user != NULL)
    add_user_option(build->argv, user, out);
  /* starting it executes it: the XML's emulator must pass the trust rule
   * before anything on the host changes */
  if (!opts->dry_run && !opts->binary_from_operator) {
    g_autofree char *resolved = NULL;
    if (!ic_qemu_emulator_trusted(build->argv->binary, &resolved, error))
      return FALSE;
    g_free(build->argv->binary);
    build->argv->binary = g_steal_pointer(&resolved);
  }
  for (guint i = 0; i < build->notes->len; i++) {
    const IcQemuNote *n = build->notes->pdata[i];
    say(out, "%s: line %d: %s [%s]", n->level == IC_QEMU_NOTE_WARNING ? "warning" : "note", n->line, n->message,
        n->code);
  }
  g_autoptr(GArray) addrs = managed_addrs(def, out);
  if (opts->dry_run) {
    if (addrs->len > 0 && !show_plan(ctx, addrs, out, error))
      return FALSE;
    if (!raise_memlock(def, opts, out, error))
      return FALSE;
    g_autofree char *shell = ic_qemu_argv_to_shell(build->argv);
    g_strchomp(shell);
    say(out, "would run: %s", shell);
    if (addrs->len > 0)
      say(out, "would reattach the hostdevs' groups when QEMU exits");
    return TRUE;
  }
  if (addrs->len > 0) {
    g_autoptr(IcAssignReport) report = NULL;
    gboolean ok = ic_assign_detach(ctx, (const IcPciAddr *) addrs->data, addrs->len, NULL, &report, error);
    say_report(out, report);
    if (!ok)
      return FALSE; /* the assign layer rolled back already */
  }
  gboolean ok = raise_memlock(def, opts, out, error);
  if (ok) {
    g_autofree char *shell = ic_qemu_argv_to_shell(build->argv);
    g_strchomp(shell);
    say(out, "running: %s", shell);
    ok = launch_and_wait(build->argv, out, qemu_status, error);
  }
  /* clean exit, crash, refused start: the devices go back in every case */
  g_autoptr(GError) reattach_error = NULL;
  if (!reattach(ctx, addrs, out, ok ? error : &reattach_error))
    return FALSE;
  return ok;
}
