/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Moving one device between drivers, and running a journaled list of such
 * moves with rollback.
 *
 * The only mechanism is driver_override + unbind + drivers_probe (never
 * new_id, which would also claim every other device with the same IDs).
 * After each write the driver link is re-read, polling with a bounded
 * timeout, because a write that "succeeds" proves nothing: a probe can fail
 * silently, and another driver (or udev) can grab a device in between. */
#include "assign/assign-private.h"
#include "util/ic-util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/statvfs.h>
#include <unistd.h>

IcAssignReport *
ic_as_report_new(void)
{
  IcAssignReport *r = g_new0(IcAssignReport, 1);
  r->lines = g_ptr_array_new_with_free_func(g_free);
  return r;
}

void
ic_assign_report_free(IcAssignReport *report)
{
  if (report == NULL)
    return;
  g_ptr_array_unref(report->lines);
  g_free(report);
}

void
ic_as_report_add(IcAssignReport *report, const char *fmt, ...)
{
  if (report == NULL)
    return;
  va_list ap;
  va_start(ap, fmt);
  g_ptr_array_add(report->lines, g_strdup_vprintf(fmt, ap));
  va_end(ap);
}

static const char *
or_none(const char *driver)
{
  return driver ? driver : "(none)";
}

/* ---- single writes ------------------------------------------------------- */

/* Crash tests in a real guest need the process to stop between two sysfs
 * writes, with the journal committed, so the machine can be cut off there:
 * IOMMUCTL_DEBUG_PAUSE_AFTER_STEP=N sleeps (10 min) after step N. */
static void
pause_for_crash_test(guint steps)
{
  const char *v = g_getenv("IOMMUCTL_DEBUG_PAUSE_AFTER_STEP");
  guint64 n;
  if (v == NULL || !ic_parse_uint64(v, 10, G_MAXUINT, &n) || n != steps)
    return;
  fprintf(stderr, "iommuctl: paused after step %u (IOMMUCTL_DEBUG_PAUSE_AFTER_STEP)\n", steps);
  fflush(stderr);
  g_usleep(G_USEC_PER_SEC * 600);
}

static gboolean
journal_step(IcAsRun *run, const char *phase, const char *dev, const char *action,
             const char *value, GError **error)
{
  if (run->journal != NULL &&
      !ic_as_journal_step(run->journal, run->op_id, phase, dev, action, value, error))
    return FALSE;
  run->steps++;
  pause_for_crash_test(run->steps);
  return TRUE;
}

static gboolean
write_override(IcAsRun *run, const char *phase, const char *dev, const char *value, GError **error)
{
  g_autofree char *abs = g_strdup_printf("/sys/bus/pci/devices/%s/driver_override", dev);
  g_autofree char *path = ic_context_sys_path(run->ctx, abs);
  /* "\n" clears the override; a name must not carry a newline of its own
   * or older kernels keep it as part of the name. */
  if (!ic_write_attr(path, value ? value : "\n", error))
    return FALSE;
  g_autofree char *now = ic_as_read_override(run->ctx, dev);
  if (g_strcmp0(now, value) != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED,
                "%s: driver_override reads \"%s\" after writing \"%s\" to %s", dev,
                now ? now : "(null)", value ? value : "", path);
    return FALSE;
  }
  return journal_step(run, phase, dev, "override", value, error);
}

/* Wait until the device's driver is `expect` (NULL = unbound).  `leaving`
 * is the driver being unbound, which may linger until the write settles;
 * any third driver means the device was grabbed and fails at once. */
static gboolean
wait_for_driver(IcAsRun *run, const char *dev, const char *expect, const char *leaving,
                const char *after, GError **error)
{
  gint64 deadline = g_get_monotonic_time() + (gint64) run->ctx->poll_timeout_ms * 1000;
  /* The driver core binds and unbinds synchronously within the write for
   * most drivers, so the first read usually settles it.  A driver that
   * probes asynchronously is polled in steps growing by half (not doubling,
   * capped at 5 ms): the last sleep, all a wait can overshoot by, is at
   * most half of what was waited before it, or 5 ms (with doubling up to
   * 20 ms it was as long as all of it); a readlink per poll is cheap. */
  gulong sleep_us = 100;
  for (;;) {
    g_autofree char *now = ic_as_read_driver(run->ctx, dev);
    if (g_strcmp0(now, expect) == 0)
      return TRUE;
    if (now != NULL && g_strcmp0(now, leaving) != 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_FAILED,
                  "%s: driver %s took the device after %s (expected %s)", dev, now, after,
                  or_none(expect));
      return FALSE;
    }
    if (g_get_monotonic_time() >= deadline) {
      g_set_error(error, IC_ERROR, IC_ERROR_TIMEOUT,
                  "%s: driver is still %s %u ms after %s (expected %s; --poll-timeout)", dev,
                  or_none(now), run->ctx->poll_timeout_ms, after, or_none(expect));
      return FALSE;
    }
    g_usleep(sleep_us);
    sleep_us = MIN(sleep_us + sleep_us / 2, 5000);
  }
}

static gboolean
unbind(IcAsRun *run, const char *phase, const char *dev, const char *driver, GError **error)
{
  g_autofree char *abs = g_strdup_printf("/sys/bus/pci/drivers/%s/unbind", driver);
  g_autofree char *path = ic_context_sys_path(run->ctx, abs);
  if (!ic_write_attr(path, dev, error))
    return FALSE;
  if (!journal_step(run, phase, dev, "unbind", driver, error))
    return FALSE;
  g_autofree char *what = g_strdup_printf("unbinding from %s", driver);
  return wait_for_driver(run, dev, NULL, driver, what, error);
}

static gboolean
probe(IcAsRun *run, const char *phase, const char *dev, const char *expect, GError **error)
{
  g_autofree char *path = ic_context_sys_path(run->ctx, "/sys/bus/pci/drivers_probe");
  if (!ic_write_attr(path, dev, error))
    return FALSE;
  if (!journal_step(run, phase, dev, "probe", expect, error))
    return FALSE;
  return wait_for_driver(run, dev, expect, NULL, "drivers_probe", error);
}

/* ---- one device ---------------------------------------------------------- */

/* Names that become sysfs paths or values were validated where they were
 * read; this is the last line: nothing else reaches a write. */
static gboolean
check_names(const char *dev, const char *driver, const char *override, const char *current,
            GError **error)
{
  const char *bad = !ic_as_valid_dev_name(dev) ? dev
                    : driver && !ic_as_valid_driver_name(driver) ? driver
                    : override && !ic_as_valid_driver_name(override) ? override
                    : current && !ic_as_valid_driver_name(current) ? current : NULL;
  if (bad == NULL && dev != NULL)
    return TRUE;
  g_autofree char *shown = g_strescape(bad ? bad : "NULL", NULL);
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
              "refusing to write sysfs for \"%s\": not a PCI address or driver name", shown);
  return FALSE;
}

gboolean
ic_as_drive(IcAsRun *run, const char *phase, const char *dev, guint group,
            const char *goal_driver, const char *goal_override, GError **error)
{
  if (!check_names(dev, goal_driver, goal_override, NULL, error))
    return FALSE;
  g_autofree char *cur = ic_as_read_driver(run->ctx, dev);
  g_autofree char *ov = ic_as_read_override(run->ctx, dev);
  if (!check_names(dev, cur, NULL, NULL, error))
    return FALSE;
  if (g_strcmp0(cur, goal_driver) == 0 && g_strcmp0(ov, goal_override) == 0)
    return TRUE;

  /* While moving, the override names the goal driver so drivers_probe can
   * pick nothing else; for "no driver" it already holds the final value. */
  const char *moving_override = goal_driver ? goal_driver : goal_override;
  if (g_strcmp0(ov, moving_override) != 0 && !write_override(run, phase, dev, moving_override, error))
    return FALSE;
  if (g_strcmp0(cur, goal_driver) != 0) {
    if (cur != NULL && !unbind(run, phase, dev, cur, error))
      return FALSE;
    if (goal_driver != NULL && !probe(run, phase, dev, goal_driver, error))
      return FALSE;
  }
  if (g_strcmp0(moving_override, goal_override) != 0) {
    if (!write_override(run, phase, dev, goal_override, error))
      return FALSE;
    /* the override no longer protects the binding: make sure nothing took
     * the device in between */
    g_autofree char *last = ic_as_read_driver(run->ctx, dev);
    if (g_strcmp0(last, goal_driver) != 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_FAILED,
                  "%s: driver %s took the device after driver_override was restored (expected %s)",
                  dev, or_none(last), or_none(goal_driver));
      return FALSE;
    }
  }
  ic_as_report_add(run->report, "%s (group %u): %s -> %s%s", dev, group, or_none(cur),
                   or_none(goal_driver), g_strcmp0(phase, "forward") == 0 ? "" : " (restored)");
  return TRUE;
}

gboolean
ic_as_release(IcAsRun *run, const char *phase, const char *dev, guint group, GError **error)
{
  g_autofree char *cur = ic_as_read_driver(run->ctx, dev);
  if (!check_names(dev, cur, NULL, NULL, error))
    return FALSE;
  /* clear the override first: with it, drivers_probe could pick only vfio */
  if (!write_override(run, phase, dev, NULL, error))
    return FALSE;
  if (cur != NULL && !unbind(run, phase, dev, cur, error))
    return FALSE;
  g_autofree char *path = ic_context_sys_path(run->ctx, "/sys/bus/pci/drivers_probe");
  if (!ic_write_attr(path, dev, error) || !journal_step(run, phase, dev, "probe", NULL, error))
    return FALSE;
  /* which driver takes it is the kernel's choice; give it the usual time */
  gint64 deadline = g_get_monotonic_time() + (gint64) run->ctx->poll_timeout_ms * 1000;
  g_autofree char *now = NULL;
  while ((now = ic_as_read_driver(run->ctx, dev)) == NULL && g_get_monotonic_time() < deadline)
    g_usleep(5000);
  if (ic_as_is_vfio_driver(now)) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED,
                "%s: %s took the device again after drivers_probe without driver_override", dev, now);
    return FALSE;
  }
  ic_as_report_add(run->report, "%s (group %u): %s -> %s (salvaged from sysfs)", dev, group,
                   or_none(cur), now ? now : "(none: no driver claims it)");
  return TRUE;
}

/* ---- preconditions ------------------------------------------------------- */

gboolean
ic_as_check_can_write(IcContext *ctx, const char *sample_dev, GError **error)
{
  if (geteuid() != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_PERMISSION,
                "must run as root (effective uid %u): only root can change driver bindings "
                "in sysfs; nothing was changed", (guint) geteuid());
    return FALSE;
  }
  g_autofree char *probe_path = ic_context_sys_path(ctx, "/sys/bus/pci/drivers_probe");
  struct statvfs vfs;
  gboolean ro = statvfs(probe_path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
  if (!ro && access(probe_path, W_OK) != 0 && errno == EROFS)
    ro = TRUE;
  if (ro) {
    g_set_error(error, IC_ERROR, IC_ERROR_PERMISSION,
                "sysfs is read-only (%s is on a read-only mount, e.g. a container): cannot "
                "change driver bindings; nothing was changed", probe_path);
    return FALSE;
  }
  if (sample_dev != NULL) {
    g_autofree char *abs = g_strdup_printf("/sys/bus/pci/devices/%s/driver_override", sample_dev);
    g_autofree char *path = ic_context_sys_path(ctx, abs);
    if (access(path, W_OK) != 0) {
      int e = errno;
      g_set_error(error, IC_ERROR, e == ENOENT ? IC_ERROR_UNSUPPORTED : IC_ERROR_PERMISSION,
                  e == ENOENT ? "%s is missing: the kernel lacks driver_override (Linux 3.16+); "
                                "nothing was changed"
                              : "cannot write %s: %s; nothing was changed",
                  path, g_strerror(e));
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- a list of moves, with rollback -------------------------------------- */

/* Put moves[0..last] back where they were, in reverse.  Every failure is
 * collected; none stops the others (a half-restored group is worse). */
static gboolean
roll_back(IcAsRun *run, GPtrArray *moves, guint last, GString *failures)
{
  gboolean ok = TRUE;
  for (guint k = last + 1; k-- > 0;) {
    const IcAsMove *m = moves->pdata[k];
    g_autoptr(GError) err = NULL;
    if (!ic_as_drive(run, "rollback", m->dev, m->group, m->from_driver, m->from_override, &err)) {
      g_string_append_printf(failures, "%s%s", failures->len ? "; " : "", err->message);
      ok = FALSE;
    }
  }
  return ok;
}

static gboolean
check_vfio_nodes(IcAsRun *run, GPtrArray *moves, GError **error)
{
  for (guint i = 0; i < moves->len; i++) {
    const IcAsMove *m = moves->pdata[i];
    if (!ic_as_is_vfio_driver(m->to_driver) || ic_as_vfio_node_exists(run->ctx, m->group))
      continue;
    /* the node is created by the vfio core as the device binds; give udev
     * the same bounded time as a driver link */
    gint64 deadline = g_get_monotonic_time() + (gint64) run->ctx->poll_timeout_ms * 1000;
    while (!ic_as_vfio_node_exists(run->ctx, m->group) && g_get_monotonic_time() < deadline)
      g_usleep(2000);
    if (!ic_as_vfio_node_exists(run->ctx, m->group)) {
      g_autofree char *abs = g_strdup_printf("/dev/vfio/%u", m->group);
      g_autofree char *path = ic_context_sys_path(run->ctx, abs);
      g_set_error(error, IC_ERROR, IC_ERROR_FAILED,
                  "group %u: %s did not appear after binding %s to %s", m->group, path, m->dev,
                  m->to_driver);
      return FALSE;
    }
  }
  return TRUE;
}

gboolean
ic_as_run_moves(IcAsRun *run, GPtrArray *moves, gboolean want_vfio_nodes, GError **error)
{
  g_autoptr(GError) failure = NULL;
  guint reached = 0;
  for (guint i = 0; i < moves->len && failure == NULL; i++) {
    const IcAsMove *m = moves->pdata[i];
    reached = i;
    (void) ic_as_drive(run, "forward", m->dev, m->group, m->to_driver, m->to_override, &failure);
  }
  if (failure == NULL && want_vfio_nodes && moves->len > 0) {
    reached = moves->len - 1;
    (void) check_vfio_nodes(run, moves, &failure);
  }
  if (failure == NULL)
    return TRUE;

  g_autoptr(GString) rb = g_string_new(NULL);
  gboolean restored = moves->len == 0 || roll_back(run, moves, reached, rb);
  g_autofree char *message = restored
    ? g_strdup_printf("%s (rolled back: every device is on its original driver again)", failure->message)
    : g_strdup_printf("%s; rolling back ALSO FAILED: %s (run 'iommuctl recover')", failure->message, rb->str);
  g_autoptr(GError) jerr = NULL;
  if (run->journal != NULL &&
      !ic_as_journal_finish(run->journal, run->op_id, restored ? "rolled-back" : "rollback-failed",
                            message, NULL, NULL, &jerr)) {
    g_set_error(error, IC_ERROR, failure->code, "%s; and the journal could not record it: %s",
                message, jerr->message);
    return FALSE;
  }
  g_set_error_literal(error, IC_ERROR, failure->code, message);
  return FALSE;
}
