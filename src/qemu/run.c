/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `iommuctl run`: a domain XML started on libvirt's embedded QEMU driver
 * (the engine, src/qemu/engine.h), in the foreground, with what libvirt
 * lacks added around it: lint first, whole IOMMU groups detached through
 * the assign layer (journaled) and handed to libvirt as managed='no',
 * signals turned into a graceful shutdown, and the groups given back on
 * every exit.
 *
 * Order matters for "nothing left behind": SIGINT/SIGTERM/SIGHUP are
 * blocked before libvirt starts a thread (so none of its threads dies of
 * them), every host change has its undo on the one exit path, and the
 * domain is destroyed (when it still runs) and its connection closed before
 * the groups are reattached, so QEMU no longer holds /dev/vfio/N then.
 * libvirt 9.0's embedded driver has no VIR_DOMAIN_START_AUTODESTROY, and it
 * daemonizes QEMU: only a SIGKILL of iommuctl itself leaves QEMU running
 * (docs/qemu.md says how to end it). */
#include "qemu-private.h"
#include "engine.h"
#include "run-virt.h"
#include <iommuctl/assign.h>
#include <iommuctl/domain-edit.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void say(GPtrArray *out, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

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

static const char *
doc_name(const IcDomainDoc *doc)
{
  return ic_domain_doc_filename(doc) ? ic_domain_doc_filename(doc) : "<domain>";
}

/* libvirt is in the path now: every lint error stops the start, libvirt's
 * own rules included (it would refuse them itself, later). */
static gboolean
run_lint(const IcDomainDoc *doc, GPtrArray *out, GError **error)
{
  IcLintOptions lo = {0};
  g_autoptr(GPtrArray) findings = ic_domain_lint(doc, &lo);
  guint errors = 0;
  for (guint i = 0; findings && i < findings->len; i++) {
    const IcLintFinding *f = findings->pdata[i];
    say(out, "lint: %s: line %d: %s [%s]", ic_lint_severity_to_string(f->severity), f->line, f->message, f->code);
    if (f->severity == IC_LINT_ERROR)
      errors++;
  }
  if (errors > 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED, "%s: %u lint error%s; not starting", doc_name(doc), errors,
                errors == 1 ? "" : "s");
    return FALSE;
  }
  return TRUE;
}

/* ---- what the XML may not decide -----------------------------------------
 * The XML is untrusted; iommuctl runs as root.  Whom QEMU runs as is the
 * engine's qemu.conf (libvirt-qemu) or the operator's --user, never the
 * file: a <seclabel> with a <label>/<baselabel> names an identity (DAC
 * "+0:+0" is root) or the owner libvirt chowns files to, and
 * qemu:commandline's -runas/-run-with/-chroot/-daemonize would undo the
 * drop behind libvirt's back. */

static gboolean
refuse_seclabels(const IcDomainDoc *doc, xmlNodePtr node, GError **error)
{
  for (xmlNodePtr c = node->children; c != NULL; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (xmlStrcmp(c->name, BAD_CAST "seclabel") == 0) {
      for (xmlNodePtr l = c->children; l != NULL; l = l->next) {
        if (l->type == XML_ELEMENT_NODE &&
            (xmlStrcmp(l->name, BAD_CAST "label") == 0 || xmlStrcmp(l->name, BAD_CAST "baselabel") == 0)) {
          g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                      "%s:%d: <seclabel> with a <%s>: 'iommuctl run' decides whom QEMU runs as and whom "
                      "libvirt gives files to (qemu.conf's user, or --user); remove it",
                      doc_name(doc), ic_domain_doc_line(doc, c), (const char *) l->name);
          return FALSE;
        }
      }
    }
    if (!refuse_seclabels(doc, c, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
refuse_privilege_args(const IcDomainDoc *doc, const IcDomainDef *def, GError **error)
{
  static const char *const owned[] = {"-runas", "-run-with", "-chroot", "-daemonize", NULL};
  for (guint i = 0; def->qemu_commandline && i < def->qemu_commandline->len; i++) {
    xmlNodePtr cl = def->qemu_commandline->pdata[i];
    for (xmlNodePtr a = cl->children; a != NULL; a = a->next) {
      if (a->type != XML_ELEMENT_NODE || xmlStrcmp(a->name, BAD_CAST "arg") != 0)
        continue;
      g_autofree char *v = (char *) xmlGetProp(a, BAD_CAST "value");
      if (v != NULL && g_strv_contains(owned, v)) {
        g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                    "%s:%d: qemu:commandline passes %s: 'iommuctl run' decides whom QEMU runs as "
                    "(qemu.conf's user, or --user); remove it", doc_name(doc), ic_domain_doc_line(doc, a), v);
        return FALSE;
      }
    }
  }
  return TRUE;
}

/* <interface type='hostdev'> is an SR-IOV VF libvirt would detach itself
 * (managed) without looking at its group: run does not take it. */
static gboolean
refuse_interface_hostdev(const IcDomainDoc *doc, const IcDomainDef *def, GError **error)
{
  for (guint i = 0; i < def->interfaces->len; i++) {
    const IcDomainInterface *n = def->interfaces->pdata[i];
    if (g_strcmp0(n->type, "hostdev") == 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                  "%s:%d: <interface type='hostdev'>: 'iommuctl run' detaches whole IOMMU groups only for "
                  "<hostdev> elements; write the VF as <hostdev mode='subsystem' type='pci' managed='yes'>",
                  doc_name(doc), n->base.line);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- hostdevs --------------------------------------------------------------- */

static gboolean
is_pci_hostdev(const IcDomainHostdev *h)
{
  return g_strcmp0(h->mode, "subsystem") == 0 && g_strcmp0(h->type, "pci") == 0 && h->has_source_pci;
}

/* managed='yes' PCI hostdevs: iommuctl detaches their groups (libvirt would
 * detach the one function and split the group).  Unmanaged ones are the
 * operator's: already on vfio, left alone, as libvirt does. */
static GArray *
hostdevs_to_detach(const IcDomainDef *def, GPtrArray *out)
{
  GArray *addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = def->hostdevs->pdata[i];
    if (!is_pci_hostdev(h)) {
      say(out, "hostdev line %d (%s %s): handed to libvirt as it is", h->base.line, h->mode ? h->mode : "?",
          h->type ? h->type : "?");
      continue;
    }
    char bdf[IC_PCI_ADDR_STRLEN];
    ic_pci_addr_format(&h->source_pci, bdf);
    if (h->managed == IC_TRI_ON)
      g_array_append_val(addrs, h->source_pci);
    else
      say(out, "hostdev %s: not managed='yes': the operator keeps it on vfio-pci; not detached, not reattached",
          bdf);
  }
  return addrs;
}

static gboolean
addr_listed(GArray *addrs, const IcPciAddr *a)
{
  for (guint i = 0; i < addrs->len; i++)
    if (ic_pci_addr_equal(&g_array_index(addrs, IcPciAddr, i), a))
      return TRUE;
  return FALSE;
}

/* The plan of the groups, said member by member: what moves, and which
 * members go to vfio-pci only so that the group is not split. */
static gboolean
plan_groups(IcContext *ctx, GArray *addrs, gboolean dry_run, guint *n_detach, GPtrArray *out, GError **error)
{
  g_autoptr(IcAssignPlan) plan = ic_assign_plan_new(ctx, (const IcPciAddr *) addrs->data, addrs->len, NULL, error);
  if (plan == NULL)
    return FALSE;
  for (guint g = 0; g < plan->groups->len; g++) {
    const IcAssignGroup *grp = plan->groups->pdata[g];
    for (guint m = 0; m < grp->members->len; m++) {
      const IcAssignMember *mem = grp->members->pdata[m];
      gboolean in_domain = addr_listed(addrs, &mem->addr);
      const char *role = in_domain ? "given to the guest"
                       : mem->action == IC_ASSIGN_BRIDGE_OK ? "a bridge, stays on its driver"
                       : "not in the domain: bound to vfio-pci so the group is not split, not given to the guest";
      say(out, "%sgroup %u: %s (%s): %s, %s%s%s", dry_run ? "would: " : "plan: ", grp->number, mem->name,
          mem->driver ? mem->driver : "no driver", ic_assign_action_to_string(mem->action), role,
          mem->reason ? "; " : "", mem->reason ? mem->reason : "");
    }
  }
  for (guint i = 0; i < plan->warnings->len; i++)
    say(out, "assign warning: %s", (const char *) plan->warnings->pdata[i]);
  if (!plan->executable) {
    g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED, "%u device%s of the hostdevs' IOMMU groups cannot be detached "
                "(the host uses them); not starting", plan->n_blocked, plan->n_blocked == 1 ? "" : "s");
    return FALSE;
  }
  *n_detach = plan->n_detach;
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
  g_autoptr(IcAssignReport) report = NULL;
  gboolean ok = ic_assign_reattach(ctx, (const IcPciAddr *) addrs->data, addrs->len, FALSE, &report, error);
  say_report(out, report);
  say(out, ok ? "reattached the hostdevs' groups" : "reattach FAILED; run 'iommuctl recover'");
  return ok;
}

/* ---- memlock ----------------------------------------------------------------
 * libvirt sets the limit itself, on the QEMU it spawns (qemuProcessLaunch:
 * virCommandSetMaxMemLock with qemuDomainGetMemLockLimitBytes, counting
 * managed='no' hostdevs too): a limit iommuctl set on itself would not
 * reach QEMU.  So run reports libvirt's figure beside iommuctl's estimate
 * and says how to raise it when the estimate is higher. */
static gboolean
report_memlock(const IcDomainDef *def, const IcQemuRunOptions *opts, GPtrArray *out, GError **error)
{
  IcMemlockReport r = {0};
  if (!ic_domain_memlock(def, opts->host_ram_bytes, &r, error))
    return FALSE;
  g_autofree char *lv = r.libvirt_unlimited ? g_strdup("unlimited")
                      : r.libvirt_bytes ? g_strdup_printf("%" G_GUINT64_FORMAT " bytes", r.libvirt_bytes)
                      : g_strdup("none (the inherited limit)");
  g_autofree char *est = r.estimate_unlimited ? g_strdup("unlimited")
                       : g_strdup_printf("%" G_GUINT64_FORMAT " bytes", r.estimate_bytes);
  say(out, "memlock: libvirt sets %s on QEMU (%s); iommuctl estimates %s (%s)", lv,
      r.libvirt_why ? r.libvirt_why : "", est, r.estimate_why ? r.estimate_why : "");
  gboolean short_of = !r.libvirt_unlimited && (r.estimate_unlimited || r.estimate_bytes > r.libvirt_bytes) &&
                      (r.estimate_unlimited || r.estimate_bytes > 0) && r.libvirt_bytes > 0;
  if (short_of)
    say(out, "memlock: warning: libvirt's limit is below iommuctl's estimate; QEMU may fail to map guest memory "
        "for VFIO (\"vfio_dma_map ... -12\"): give the domain <memtune><hard_limit> (or <memoryBacking><locked/>)");
  ic_memlock_report_clear(&r);
  return TRUE;
}

/* ---- the XML libvirt gets ------------------------------------------------------ */

/* A portable user name (POSIX: letters, digits, '.', '_', '-'; not a leading
 * '-'): anything else is a typo or an attempt, not a user. */
static gboolean
user_name_valid(const char *user)
{
  gsize n = strlen(user);
  if (n == 0 || n > 32 || user[0] == '-')
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum(user[i]) && user[i] != '.' && user[i] != '_' && user[i] != '-')
      return FALSE;
  return TRUE;
}

/* The operator's --user as libvirt's per-domain DAC label ("+UID:+GID", the
 * user's primary group): QEMU runs as it, libvirt gives it the files. */
static char *
user_seclabel(const char *user, GError **error)
{
  if (!user_name_valid(user)) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "--user '%s' is not a user name", user);
    return NULL;
  }
  struct passwd *pw = getpwnam(user);
  if (pw == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "--user %s: no such user", user);
    return NULL;
  }
  return g_strdup_printf("<seclabel type='static' model='dac' relabel='yes'>\n  <label>+%u:+%u</label>\n"
                         "</seclabel>",
                         (guint) pw->pw_uid, (guint) pw->pw_gid);
}

/* The text to hand libvirt: the engine's prepared XML (emulator checked or
 * the operator's), with every PCI hostdev iommuctl detached as
 * managed='no' (libvirt must neither detach nor reattach it: it would do
 * one function, not the group) and the --user label. */
static char *
xml_for_libvirt(const char *prepared, const char *file, GArray *addrs, const char *user, GPtrArray *out,
                GError **error)
{
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_parse(prepared, strlen(prepared), file, error);
  if (doc == NULL)
    return NULL;
  const IcDomainDef *def = ic_domain_doc_def(doc);
  g_autoptr(IcEditBatch) b = ic_edit_batch_new(doc);
  guint n = 0;
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = def->hostdevs->pdata[i];
    if (is_pci_hostdev(h) && addr_listed(addrs, &h->source_pci)) {
      ic_edit_set_attr(b, h->base.node, "managed", "no");
      n++;
    }
  }
  if (user != NULL) {
    g_autofree char *label = user_seclabel(user, error);
    if (label == NULL)
      return NULL;
    ic_edit_append_child(b, def->root, label);
    say(out, "QEMU runs as %s (--user: libvirt's DAC label for this domain)", user);
  }
  if (!ic_edit_batch_empty(b) && !ic_edit_batch_commit(b, error))
    return NULL;
  if (n > 0)
    say(out, "libvirt gets %u hostdev%s as managed='no' (iommuctl holds the groups)", n, n == 1 ? "" : "s");
  gsize len = 0;
  const char *bytes = ic_domain_doc_bytes(doc, &len);
  return g_strndup(bytes, len);
}

/* ---- signals ------------------------------------------------------------------ */

static void
run_sigset(sigset_t *set)
{
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGHUP);
}

/* A pending SIGINT/SIGTERM/SIGHUP, waiting at most timeout_ms; 0 = none. */
static int
take_signal(guint timeout_ms)
{
  sigset_t set;
  run_sigset(&set);
  struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long) (timeout_ms % 1000) * 1000000L};
  int sig = sigtimedwait(&set, NULL, &ts);
  return sig > 0 ? sig : 0;
}

/* ---- the foreground wait ---------------------------------------------------------
 * Lifecycle events say why the domain stopped (shutdown, crash, QEMU
 * failure): a transient domain is gone once stopped, so its state cannot be
 * asked afterwards.  The state is also polled every second, in case an
 * event is lost (libvirt drops events when the connection hiccups). */

typedef struct {
  int first_signal;
  gint64 destroy_at;    /* monotonic µs; 0 = no deadline */
  IcRunStop stop;
} RunWait;

static void
on_signal(IcRunVirt *rv, RunWait *w, int sig, guint timeout_s, GPtrArray *out)
{
  g_autoptr(GError) e = NULL;
  if (w->first_signal == 0) {
    w->first_signal = sig;
    w->destroy_at = g_get_monotonic_time() + (gint64) timeout_s * G_USEC_PER_SEC;
    say(out, "%s: asking the guest to shut down (ACPI); destroying it in %u s, or at a second signal",
        g_strsignal(sig), timeout_s);
    if (!ic_run_virt_shutdown(rv, &e)) {
      say(out, "%s; destroying it now", e->message);
      w->destroy_at = g_get_monotonic_time();
    }
    return;
  }
  say(out, "%s again: destroying the domain now", g_strsignal(sig));
  w->destroy_at = g_get_monotonic_time();
}

/* The poll can see the domain gone before libvirt's event loop delivered
 * the event that says why (libvirt removes the transient domain first): the
 * event gets this long to arrive before the poll's answer is taken. */
#define EVENT_GRACE_US (3 * G_USEC_PER_SEC)

static IcRunStop
stop_reason(IcRunVirt *rv, gboolean poll_now, gint64 *polled_gone_at)
{
  IcRunStop by_event = ic_run_virt_stopped(rv, FALSE);
  if (by_event != IC_RUN_STOP_NONE || (!poll_now && *polled_gone_at == 0))
    return by_event;
  IcRunStop polled = ic_run_virt_stopped(rv, TRUE);
  if (polled == IC_RUN_STOP_NONE)
    return polled;
  if (*polled_gone_at == 0)
    *polled_gone_at = g_get_monotonic_time();
  return g_get_monotonic_time() - *polled_gone_at >= EVENT_GRACE_US ? polled : IC_RUN_STOP_NONE;
}

static void
wait_for_stop(IcRunVirt *rv, RunWait *w, guint timeout_s, GPtrArray *out)
{
  guint ticks = 0;
  gint64 polled_gone_at = 0;
  for (;;) {
    int sig = take_signal(200);
    if (sig != 0)
      on_signal(rv, w, sig, timeout_s, out);
    w->stop = stop_reason(rv, ++ticks % 5 == 0, &polled_gone_at);
    if (w->stop == IC_RUN_STOP_CRASHED && ic_run_virt_active(rv)) {
      /* on_crash='preserve' keeps a crashed guest: nobody will resume it here */
      g_autoptr(GError) e = NULL;
      if (!ic_run_virt_destroy(rv, &e))
        say(out, "%s", e->message);
      return;
    }
    if (w->stop != IC_RUN_STOP_NONE)
      return;
    if (w->destroy_at != 0 && g_get_monotonic_time() >= w->destroy_at) {
      g_autoptr(GError) e = NULL;
      say(out, "destroying the domain");
      if (!ic_run_virt_destroy(rv, &e))
        say(out, "%s", e->message);
      w->destroy_at = 0;
      w->stop = IC_RUN_STOP_DESTROYED;
      return;
    }
  }
}

/* Hidden test hook (like the assign layer's IOMMUCTL_DEBUG_PAUSE_AFTER_STEP):
 * "fail-after-detach", "fail-after-start" inject an error at that point;
 * "guest-shutdown" has the guest of libvirt's test driver, which never
 * stops by itself, power off once started. */
static gboolean
debug_hook(const char *point)
{
  const char *v = g_getenv("IOMMUCTL_DEBUG_RUN");
  return v != NULL && strcmp(v, point) == 0;
}

/* Start, wait, stop: the part between detach and reattach.  Returns FALSE
 * with error for a failure of libvirt or QEMU (exit 3); *status is the
 * exit status otherwise. */
static gboolean
run_domain(IcQemuEngine *engine, const char *name, const char *xml, const IcQemuRunOptions *opts, GPtrArray *out,
           int *status, GError **error)
{
  /* QEMU runs as qemu.conf's user unless --user labels it otherwise */
  if (opts->user == NULL && !ic_qemu_engine_check_qemu_reaches_root(engine, error))
    return FALSE;
  g_autoptr(IcRunVirt) rv = ic_run_virt_open(engine, error);
  if (rv == NULL)
    return FALSE;
  int early = take_signal(0);
  if (early != 0) {
    say(out, "%s before the start: not starting", g_strsignal(early));
    *status = 128 + early;
    return TRUE;
  }
  if (!ic_run_virt_start(rv, name, xml, error))
    return FALSE;
  const char *root = ic_qemu_engine_root(engine);
  g_autofree char *pidfile = root ? g_strdup_printf("%s/run/qemu/%s.pid", root, name) : NULL;
  g_autofree char *pid = NULL;
  if (pidfile != NULL && g_file_get_contents(pidfile, &pid, NULL, NULL))
    g_strstrip(pid);
  say(out, "domain %s started (libvirt id %d%s%s); waiting until it shuts down", name, ic_run_virt_domain_id(rv),
      pid ? ", QEMU pid " : "", pid ? pid : "");
  if (debug_hook("fail-after-start")) {
    ic_run_virt_destroy(rv, NULL);
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "IOMMUCTL_DEBUG_RUN: failure injected after the start");
    return FALSE;
  }
  if (debug_hook("guest-shutdown"))
    ic_run_virt_shutdown(rv, NULL);
  RunWait w = {0};
  wait_for_stop(rv, &w, opts->shutdown_timeout_s ? opts->shutdown_timeout_s : 30, out);
  say(out, "domain %s %s", name, ic_run_stop_to_string(w.stop));
  if (w.first_signal != 0) {
    *status = 128 + w.first_signal;
    return TRUE;
  }
  if (w.stop == IC_RUN_STOP_SHUTDOWN) {
    *status = 0;
    return TRUE;
  }
  g_autofree char *log = root ? g_strdup_printf("%s/log/qemu/%s.log", root, name) : NULL;
  g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "domain %s %s%s%s", name, ic_run_stop_to_string(w.stop),
              log ? "; QEMU's log: " : "", log ? log : "");
  return FALSE;
}

static void
say_argv(IcQemuEngine *engine, const char *xml, const char *file, GPtrArray *out)
{
  g_autoptr(GError) e = NULL;
  g_auto(GStrv) env = NULL;
  g_auto(GStrv) argv = ic_qemu_engine_xml_to_argv(engine, xml, file, &env, &e);
  if (argv == NULL) {
    say(out, "would run: (libvirt gives no command line on %s: %s)", ic_qemu_engine_uri(engine), e->message);
    return;
  }
  GString *s = g_string_new(NULL);
  for (guint i = 0; argv[i] != NULL; i++) {
    g_autofree char *q = g_shell_quote(argv[i]);
    g_string_append_printf(s, "%s%s", i ? " " : "", q);
  }
  say(out, "would run: %s", s->str);
  g_string_free(s, TRUE);
}

gboolean
ic_qemu_run(IcContext *ctx, IcDomainDoc *doc, const IcQemuRunOptions *opts, GPtrArray *out, int *exit_status,
            GError **error)
{
  const IcDomainDef *def = ic_domain_doc_def(doc);
  *exit_status = 0;
  if (!run_lint(doc, out, error) || !refuse_seclabels(doc, def->root, error) ||
      !refuse_privilege_args(doc, def, error) || !refuse_interface_hostdev(doc, def, error))
    return FALSE;
  if (def->name == NULL || *def->name == '\0') {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: the domain has no <name>", doc_name(doc));
    return FALSE;
  }
  g_autoptr(GArray) addrs = hostdevs_to_detach(def, out);
  guint n_detach = 0;
  if (addrs->len > 0 && !plan_groups(ctx, addrs, opts->dry_run, &n_detach, out, error))
    return FALSE;
  /* groups already on vfio-pci (an earlier `iommuctl detach`) are not run's
   * to give back when the guest ends: it moves and returns only its own */
  gboolean own_groups = n_detach > 0;
  if (addrs->len > 0 && !own_groups)
    say(out, "the hostdevs' groups are on vfio-pci already: run leaves them there when the domain ends");
  if (!report_memlock(def, opts, out, error))
    return FALSE;

  /* before the engine starts libvirt's threads: they inherit the mask, and
   * SIGINT/SIGTERM/SIGHUP wait for sigtimedwait in this thread */
  sigset_t set, old;
  run_sigset(&set);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  gboolean ok = FALSE;
  gboolean detached = FALSE;
  g_autoptr(GError) local = NULL;
  g_autoptr(IcQemuEngine) engine = ic_qemu_engine_open(ctx, &local);
  g_autofree char *prepared = NULL, *xml = NULL;
  if (engine == NULL)
    goto out;
  const char *qemu_user = ic_qemu_engine_qemu_user(engine);
  if (opts->user == NULL && ic_qemu_engine_root(engine) != NULL)
    say(out, "QEMU runs as %s (the engine's qemu.conf)", qemu_user ? qemu_user : "the invoking user");
  /* the trusted-binary rule on <emulator> (or the operator's --qemu) */
  prepared = ic_qemu_engine_prepare_xml(engine, doc, opts->emulator, &local);
  if (prepared == NULL)
    goto out;
  xml = xml_for_libvirt(prepared, ic_domain_doc_filename(doc), addrs, opts->user, out, &local);
  if (xml == NULL)
    goto out;
  if (ctx->verbose)
    say(out, "the domain XML handed to libvirt:\n%s", xml);
  /* a Ctrl-C during the engine's start (a first capability probe takes
   * seconds) is honoured before any device moves */
  int early = take_signal(0);
  if (early != 0) {
    say(out, "%s: stopping before anything changed", g_strsignal(early));
    *exit_status = 128 + early;
    ok = TRUE;
    goto out;
  }
  if (opts->dry_run) {
    say_argv(engine, xml, ic_domain_doc_filename(doc), out);
    if (own_groups)
      say(out, "would reattach the hostdevs' groups when the domain ends");
    ok = TRUE;
    goto out;
  }
  if (own_groups) {
    g_autoptr(IcAssignReport) report = NULL;
    detached = ic_assign_detach(ctx, (const IcPciAddr *) addrs->data, addrs->len, NULL, &report, &local);
    say_report(out, report);
    if (!detached)
      goto out; /* the assign layer rolled back already */
  }
  if (debug_hook("fail-after-detach")) {
    g_set_error(&local, IC_ERROR, IC_ERROR_FAILED, "IOMMUCTL_DEBUG_RUN: failure injected after the detach");
    goto out;
  }
  ok = run_domain(engine, def->name, xml, opts, out, exit_status, &local);

out:
  /* run_domain destroyed what still ran and closed its connection: QEMU no
   * longer holds /dev/vfio/N when the devices go back */
  if (detached) {
    g_autoptr(GError) re = NULL;
    if (!reattach(ctx, addrs, out, &re)) {
      if (local == NULL) {
        local = g_steal_pointer(&re);
      } else {
        char *both = g_strdup_printf("%s; and the reattach failed: %s", local->message, re->message);
        g_free(local->message);
        local->message = both;
      }
      ok = FALSE;
    }
  }
  /* a signal that came after the end is taken now, not at the unblock */
  while (take_signal(0) != 0)
    ;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (!ok && local != NULL)
    g_propagate_error(error, g_steal_pointer(&local));
  return ok;
}
