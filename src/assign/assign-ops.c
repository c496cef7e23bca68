/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs that change the host: detach, reattach, recover; and status.
 * Each write verb: preconditions (nothing touched yet) -> lock -> journal
 * intent with every device's original state -> moves -> journal outcome. */
#include "assign/assign-private.h"
#include "assign/assign-host.h"
#include "util/ic-util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

static GPtrArray *
new_moves(void)
{
  return g_ptr_array_new_with_free_func((GDestroyNotify) ic_as_move_free);
}

static char *
addrs_to_string(const IcPciAddr *addrs, guint n)
{
  g_autoptr(GString) s = g_string_new(NULL);
  for (guint i = 0; i < n; i++) {
    char buf[IC_PCI_ADDR_STRLEN];
    g_string_append_printf(s, "%s%s", i ? " " : "", ic_pci_addr_format(&addrs[i], buf));
  }
  return g_string_free(g_steal_pointer(&s), FALSE);
}

/* An unfinished operation means some group may be split: nothing new may
 * start before 'recover' has put it right. */
static gboolean
refuse_if_pending(IcAsJournal *j, GError **error)
{
  g_autoptr(GPtrArray) pending = ic_as_journal_pending(j, error);
  if (pending == NULL)
    return FALSE;
  if (pending->len == 0)
    return TRUE;
  const IcAsOpRow *op = pending->pdata[0];
  g_set_error(error, IC_ERROR, IC_ERROR_FAILED,
              "operation #%" G_GUINT64_FORMAT " (%s, started %s by pid %d) did not finish (%s); "
              "run 'iommuctl recover' first; nothing was changed",
              op->id, op->kind, op->started, op->pid, op->state);
  return FALSE;
}

typedef struct {
  int lock_fd;
  IcAsJournal *journal;
} IcAsSession;

static void
session_end(IcAsSession *s)
{
  ic_as_journal_close(s->journal);
  s->journal = NULL;
  ic_as_unlock(s->lock_fd);
  s->lock_fd = -1;
}

static gboolean
session_begin(IcContext *ctx, IcAsSession *s, GError **error)
{
  s->journal = NULL;
  s->lock_fd = ic_as_lock(ctx, error);
  if (s->lock_fd < 0)
    return FALSE;
  s->journal = ic_as_journal_open(ctx, TRUE, error);
  if (s->journal == NULL) {
    session_end(s);
    return FALSE;
  }
  return TRUE;
}

/* ---- detach -------------------------------------------------------------- */

static gboolean
check_plan_allowed(const IcAssignPlan *plan, gboolean force, GError **error)
{
  g_autoptr(GString) blocked = g_string_new(NULL);
  gboolean root = FALSE;
  for (guint k = 0; k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    for (guint i = 0; i < g->members->len; i++) {
      const IcAssignMember *m = g->members->pdata[i];
      if (m->action != IC_ASSIGN_BLOCKED)
        continue;
      g_string_append_printf(blocked, "%s%s (group %u): %s", blocked->len ? "; " : "", m->name,
                             g->number, m->reason);
      root |= m->holds_root;
    }
  }
  if (blocked->len == 0)
    return TRUE;
  if (root) {
    g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED,
                "refusing, even with --force: the group holds the root filesystem's device: %s; "
                "nothing was changed", blocked->str);
    return FALSE;
  }
  if (force)
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED,
              "blocked: %s; nothing was changed ('iommuctl plan' explains, --force overrides)",
              blocked->str);
  return FALSE;
}

static GPtrArray *
moves_from_plan(const IcAssignPlan *plan, gboolean force)
{
  GPtrArray *moves = new_moves();
  for (guint k = 0; k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    for (guint i = 0; i < g->members->len; i++) {
      const IcAssignMember *m = g->members->pdata[i];
      if (ic_assign_member_moves(m, force))
        g_ptr_array_add(moves, ic_as_move_new(m->name, g->number, m->driver, m->driver_override,
                                              m->target_driver, m->target_driver));
    }
  }
  return moves;
}

static const char *
first_detach_target(const IcAssignPlan *plan, const char **sample_dev)
{
  for (guint k = 0; k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    for (guint i = 0; i < g->members->len; i++) {
      const IcAssignMember *m = g->members->pdata[i];
      if (m->action == IC_ASSIGN_DETACH || m->action == IC_ASSIGN_BLOCKED) {
        *sample_dev = m->name;
        return m->target_driver;
      }
    }
  }
  return NULL;
}

static gboolean
check_detach_preconditions(IcContext *ctx, const IcAssignPlan *plan, gboolean force, GError **error)
{
  const char *sample = NULL;
  const char *target = first_detach_target(plan, &sample);
  if (!ic_as_check_can_write(ctx, sample, error))
    return FALSE;
  /* every distinct target driver must be there before anything moves */
  for (guint k = 0; k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    for (guint i = 0; i < g->members->len; i++) {
      const IcAssignMember *m = g->members->pdata[i];
      if ((m->action == IC_ASSIGN_DETACH || m->action == IC_ASSIGN_BLOCKED) &&
          !ic_as_check_driver_available(ctx, m->target_driver, error))
        return FALSE;
    }
  }
  (void) target;
  return check_plan_allowed(plan, force, error);
}

gboolean
ic_assign_detach(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs,
                 const IcAssignDetachOptions *options, IcAssignReport **report, GError **error)
{
  static const IcAssignDetachOptions defaults = {0};
  if (options == NULL)
    options = &defaults;
  g_autoptr(IcAssignReport) rep = ic_as_report_new();
  if (report != NULL)
    *report = NULL;

  /* Root and the IOMMU first, so those say so before anything else; the
   * plan is made under the lock, so it is what the moves will meet. */
  if (!ic_as_check_can_write(ctx, NULL, error) || !ic_as_check_iommu(ctx, error))
    return FALSE;
  int lock_fd = ic_as_lock(ctx, error);
  if (lock_fd < 0)
    return FALSE;
  g_autoptr(IcAssignPlan) plan = ic_assign_plan_new(ctx, addrs, n_addrs, options->driver, error);
  if (plan == NULL || !check_detach_preconditions(ctx, plan, options->force, error)) {
    ic_as_unlock(lock_fd);
    return FALSE;
  }
  IcAsSession s = {.lock_fd = lock_fd};
  s.journal = ic_as_journal_open(ctx, TRUE, error);
  if (s.journal == NULL) {
    session_end(&s);
    return FALSE;
  }
  gboolean ok = FALSE;
  g_autofree char *args = NULL;
  g_autoptr(GPtrArray) moves = NULL;
  if (!refuse_if_pending(s.journal, error))
    goto out;
  moves = moves_from_plan(plan, options->force);
  if (moves->len == 0) {
    ic_as_report_add(rep, "nothing to detach: every member is already on a vfio driver, "
                          "unbound, or a bridge");
    ok = TRUE;
    goto out;
  }
  args = addrs_to_string(addrs, n_addrs);
  IcAsRun run = {.ctx = ctx, .journal = s.journal, .report = rep};
  if (!ic_as_journal_begin(s.journal, "detach", args, moves, &run.op_id, error))
    goto out;
  rep->op_id = run.op_id;
  if (!ic_as_run_moves(&run, moves, TRUE, error))
    goto out;
  ok = ic_as_journal_finish(s.journal, run.op_id, "done", NULL, moves, NULL, error);
  for (guint k = 0; ok && k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    if (g->vfio_node_will_appear)
      ic_as_report_add(rep, "group %u: %s ready", g->number, g->vfio_node);
  }
out:
  session_end(&s);
  if (report != NULL)
    *report = g_steal_pointer(&rep);
  return ok;
}

/* ---- reattach ------------------------------------------------------------ */

static gboolean
select_rows(GPtrArray *rows, const IcContext *ctx, const IcPciAddr *addrs, guint n_addrs,
            gboolean all, GPtrArray *selected, GError **error)
{
  g_autoptr(GArray) groups = g_array_new(FALSE, FALSE, sizeof(guint));
  for (guint i = 0; i < n_addrs && !all; i++) {
    g_autofree char *dev = ic_pci_addr_to_string(&addrs[i]);
    const IcAsDetachedRow *hit = NULL;
    for (guint r = 0; r < rows->len && hit == NULL; r++)
      if (strcmp(((IcAsDetachedRow *) rows->pdata[r])->dev, dev) == 0)
        hit = rows->pdata[r];
    if (hit == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND,
                  "%s was not detached by iommuctl ('iommuctl status' lists what was); "
                  "nothing was changed", dev);
      return FALSE;
    }
    g_array_append_val(groups, hit->group);
  }
  (void) ctx;
  for (guint r = 0; r < rows->len; r++) {
    IcAsDetachedRow *row = rows->pdata[r];
    gboolean take = all;
    /* the whole group goes back together, or the group is split */
    for (guint k = 0; k < groups->len && !take; k++)
      take = g_array_index(groups, guint, k) == row->group;
    if (take)
      g_ptr_array_add(selected, row);
  }
  return TRUE;
}

gboolean
ic_assign_reattach(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs, gboolean all,
                   IcAssignReport **report, GError **error)
{
  g_autoptr(IcAssignReport) rep = ic_as_report_new();
  if (report != NULL)
    *report = NULL;
  if (!all && n_addrs == 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "no device given (or --all)");
    return FALSE;
  }
  if (!ic_as_check_can_write(ctx, NULL, error))
    return FALSE;

  IcAsSession s;
  if (!session_begin(ctx, &s, error))
    return FALSE;
  gboolean ok = FALSE;
  g_autofree char *args = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) selected = g_ptr_array_new();
  g_autoptr(GPtrArray) moves = new_moves();
  if (!refuse_if_pending(s.journal, error) ||
      (rows = ic_as_journal_detached(s.journal, error)) == NULL ||
      !select_rows(rows, ctx, addrs, n_addrs, all, selected, error))
    goto out;
  if (selected->len == 0) {
    ic_as_report_add(rep, "nothing to reattach: iommuctl has no device detached");
    ok = TRUE;
    goto out;
  }
  for (guint i = 0; i < selected->len; i++) {
    const IcAsDetachedRow *row = selected->pdata[i];
    if (!ic_as_device_exists(ctx, row->dev)) {
      g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND,
                  "%s (group %u) is gone from sysfs (hot-unplugged?); nothing was changed",
                  row->dev, row->group);
      goto out;
    }
    if (row->orig_driver != NULL && !ic_as_check_driver_available(ctx, row->orig_driver, error))
      goto out;
    g_autofree char *cur = ic_as_read_driver(ctx, row->dev);
    g_autofree char *ov = ic_as_read_override(ctx, row->dev);
    g_ptr_array_add(moves, ic_as_move_new(row->dev, row->group, cur, ov, row->orig_driver,
                                          row->orig_override));
  }
  if (!ic_as_check_can_write(ctx, ((IcAsMove *) moves->pdata[0])->dev, error))
    goto out;
  args = all ? g_strdup("--all") : addrs_to_string(addrs, n_addrs);
  IcAsRun run = {.ctx = ctx, .journal = s.journal, .report = rep};
  if (!ic_as_journal_begin(s.journal, "reattach", args, moves, &run.op_id, error))
    goto out;
  rep->op_id = run.op_id;
  if (!ic_as_run_moves(&run, moves, FALSE, error))
    goto out;
  ok = ic_as_journal_finish(s.journal, run.op_id, "done", NULL, NULL, moves, error);
out:
  session_end(&s);
  if (report != NULL)
    *report = g_steal_pointer(&rep);
  return ok;
}

/* ---- recover ------------------------------------------------------------- */

/* The host's needs win over the journal's: recover re-checks every device
 * it would put on a vfio driver, as detach does, and never takes the root
 * filesystem's controller, the console or the default route's NIC (a
 * forged or stale row must not do what even 'detach --force' refuses). */
static gboolean
refuse_host_critical(IcAsRun *run, const IcAsOpRow *op, gboolean forward, GError **error)
{
  g_autoptr(IcAsHostView) view = NULL;
  g_autoptr(GString) refused = g_string_new(NULL);
  for (guint n = 0; n < op->moves->len; n++) {
    const IcAsMove *m = op->moves->pdata[n];
    const char *goal = forward ? m->to_driver : m->from_driver;
    if (!ic_as_is_vfio_driver(goal))
      continue;
    g_autofree char *cur = ic_as_read_driver(run->ctx, m->dev);
    if (ic_as_is_vfio_driver(cur))
      continue; /* already there: recover changes nothing the host has */
    if (view == NULL && (view = ic_as_host_view_new(run->ctx, error)) == NULL)
      return FALSE;
    IcAsHostFacts facts;
    ic_as_host_facts(view, m->dev, &facts);
    if (facts.holds_root || facts.host_use != NULL)
      g_string_append_printf(refused, "%s%s (group %u): %s%s", refused->len ? "; " : "", m->dev, m->group,
                             facts.holds_root ? "it holds the root filesystem; " : "",
                             facts.host_use ? facts.host_use : "");
    ic_as_host_facts_clear(&facts);
  }
  if (refused->len == 0)
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED,
              "refusing to recover operation #%" G_GUINT64_FORMAT ": it would bind to a vfio driver "
              "what the host uses now: %s; nothing of it was changed and it stays pending (if the "
              "journal is stale or forged: 'iommuctl recover --from-sysfs --move-journal-aside')",
              op->id, refused->str);
  return FALSE;
}

static gboolean
recover_op(IcAsRun *run, IcAsJournal *j, IcAsOpRow *op, gboolean forward, GError **error)
{
  if (!refuse_host_critical(run, op, forward, error))
    return FALSE;
  ic_as_report_add(run->report, "operation #%" G_GUINT64_FORMAT " %s (started %s by pid %d, %s, "
                   "%u steps done): %s", op->id, op->kind, op->started, op->pid, op->state,
                   op->n_steps_done, forward ? "finishing it" : "restoring the state before it");
  run->op_id = op->id;
  guint before = run->report->lines->len;
  g_autoptr(GString) failures = g_string_new(NULL);
  for (guint n = 0; n < op->moves->len; n++) {
    /* backward in reverse order, like a rollback; forward in order */
    const IcAsMove *m = op->moves->pdata[forward ? n : op->moves->len - 1 - n];
    g_autoptr(GError) err = NULL;
    gboolean done = forward
      ? ic_as_drive(run, "recover", m->dev, m->group, m->to_driver, m->to_override, &err)
      : ic_as_drive(run, "recover", m->dev, m->group, m->from_driver, m->from_override, &err);
    if (!done)
      g_string_append_printf(failures, "%s%s", failures->len ? "; " : "", err->message);
  }
  if (failures->len > 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "recovering operation #%" G_GUINT64_FORMAT
                " failed: %s (it stays pending; run 'iommuctl recover' again)", op->id, failures->str);
    return FALSE;
  }
  if (run->report->lines->len == before)
    ic_as_report_add(run->report, "  every device was already in place");
  gboolean is_detach = strcmp(op->kind, "detach") == 0;
  GPtrArray *add = forward && is_detach ? op->moves : NULL;
  GPtrArray *remove = forward && !is_detach ? op->moves : NULL;
  return ic_as_journal_finish(j, op->id, forward ? "recovered-forward" : "recovered-backward",
                              NULL, add, remove, error);
}

gboolean
ic_assign_recover(IcContext *ctx, gboolean forward, IcAssignReport **report, GError **error)
{
  g_autoptr(IcAssignReport) rep = ic_as_report_new();
  if (report != NULL)
    *report = NULL;
  if (!ic_as_check_can_write(ctx, NULL, error))
    return FALSE;
  IcAsSession s;
  if (!session_begin(ctx, &s, error))
    return FALSE;
  gboolean ok = FALSE;
  g_autoptr(GPtrArray) pending = ic_as_journal_pending(s.journal, error);
  if (pending == NULL)
    goto out;
  if (pending->len == 0) {
    ic_as_report_add(rep, "nothing to recover: no unfinished operation in %s",
                     ic_as_journal_path(s.journal));
    ok = TRUE;
    goto out;
  }
  IcAsRun run = {.ctx = ctx, .journal = s.journal, .report = rep};
  ok = TRUE;
  for (guint i = 0; i < pending->len && ok; i++)
    ok = recover_op(&run, s.journal, pending->pdata[i], forward, error);
out:
  session_end(&s);
  if (report != NULL)
    *report = g_steal_pointer(&rep);
  return ok;
}

/* ---- recover --from-sysfs ------------------------------------------------
 * The salvage path for a journal that cannot be read.  iommuctl leaves one
 * mark in sysfs on every device it detaches: driver_override naming the vfio
 * driver the device is bound to.  Those devices go back to whatever driver
 * the kernel picks (drivers_probe), whole groups at a time; a group with a
 * member someone else put on vfio, or a member the host needs, is left
 * alone. */

typedef struct {
  guint number;
  GPtrArray *devs; /* char*: the members carrying iommuctl's mark */
} SalvageGroup;

static void
salvage_group_free(SalvageGroup *g)
{
  g_ptr_array_unref(g->devs);
  g_free(g);
}

static int
compare_salvage_groups(gconstpointer a, gconstpointer b)
{
  const SalvageGroup *x = *(SalvageGroup *const *) a, *y = *(SalvageGroup *const *) b;
  return (x->number > y->number) - (x->number < y->number);
}

static int
compare_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static gboolean
has_iommuctl_mark(IcContext *ctx, const char *dev)
{
  g_autofree char *drv = ic_as_read_driver(ctx, dev);
  g_autofree char *ov = ic_as_read_override(ctx, dev);
  return ic_as_is_vfio_driver(drv) && ov != NULL && strcmp(ov, drv) == 0;
}

/* Devices with the mark, by group, sorted; problems (an unreadable group
 * link) go to refused. */
static GPtrArray *
salvage_scan(IcContext *ctx, GString *refused, GError **error)
{
  g_autofree char *dir_path = ic_context_sys_path(ctx, "/sys/bus/pci/devices");
  g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
  if (dir == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "cannot list %s", dir_path);
    return NULL;
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(dir)) != NULL)
    if (ic_as_valid_dev_name(name))
      g_ptr_array_add(names, g_strdup(name));
  g_ptr_array_sort(names, compare_names);
  GPtrArray *groups = g_ptr_array_new_with_free_func((GDestroyNotify) salvage_group_free);
  for (guint i = 0; i < names->len; i++) {
    const char *dev = names->pdata[i];
    if (!has_iommuctl_mark(ctx, dev))
      continue;
    guint number;
    g_autoptr(GError) gerr = NULL;
    if (!ic_as_read_group(ctx, dev, &number, &gerr)) {
      g_string_append_printf(refused, "%s%s", refused->len ? "; " : "", gerr->message);
      continue;
    }
    SalvageGroup *g = NULL;
    for (guint k = 0; k < groups->len && g == NULL; k++)
      if (((SalvageGroup *) groups->pdata[k])->number == number)
        g = groups->pdata[k];
    if (g == NULL) {
      g = g_new0(SalvageGroup, 1);
      g->number = number;
      g->devs = g_ptr_array_new_with_free_func(g_free);
      g_ptr_array_add(groups, g);
    }
    g_ptr_array_add(g->devs, g_strdup(dev));
  }
  g_ptr_array_sort(groups, compare_salvage_groups);
  return groups;
}

/* Why the group must stay as it is, or NULL. */
static char *
salvage_group_refusal(IcContext *ctx, IcAsHostView *view, const SalvageGroup *g)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) members = ic_as_host_group_members(view, g->number, &local);
  if (members == NULL)
    return g_strdup_printf("group %u: %s", g->number, local->message);
  for (guint i = 0; i < members->len; i++) {
    const char *dev = members->pdata[i];
    gboolean marked = FALSE;
    for (guint k = 0; k < g->devs->len && !marked; k++)
      marked = strcmp(g->devs->pdata[k], dev) == 0;
    if (marked) {
      IcAsHostFacts facts;
      ic_as_host_facts(view, dev, &facts);
      char *why = facts.holds_root || facts.host_use
        ? g_strdup_printf("group %u: %s is host-critical (%s%s)", g->number, dev,
                          facts.holds_root ? "it holds the root filesystem; " : "",
                          facts.host_use ? facts.host_use : "")
        : NULL;
      ic_as_host_facts_clear(&facts);
      if (why != NULL)
        return why;
      continue;
    }
    /* on vfio without the mark: someone else's (libvirt, a VM running);
     * moving the rest of its group would split it under them */
    g_autofree char *drv = ic_as_read_driver(ctx, dev);
    if (ic_as_is_vfio_driver(drv))
      return g_strdup_printf("group %u: %s is on %s without iommuctl's driver_override: another "
                             "tool bound it, so the group is left whole", g->number, dev, drv);
  }
  return NULL;
}

static gboolean
move_journal_aside(IcContext *ctx, IcAssignReport *rep, GError **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autofree char *stamp = g_date_time_format(now, "%Y%m%dT%H%M%SZ");
  static const char *const files[] = {"state.db", "state.db-wal", "state.db-shm", "state.db-journal", NULL};
  gboolean any = FALSE;
  for (guint i = 0; files[i] != NULL; i++) {
    g_autofree char *from = g_build_filename(ctx->state_dir, files[i], NULL);
    g_autofree char *to_name = g_strdup_printf("%s.damaged-%s", files[i], stamp);
    g_autofree char *to = g_build_filename(ctx->state_dir, to_name, NULL);
    if (rename(from, to) != 0) {
      if (errno == ENOENT)
        continue;
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot move %s aside to %s: %s", from, to, g_strerror(errno));
      return FALSE;
    }
    any = TRUE;
    ic_as_report_add(rep, "moved %s aside to %s", from, to);
  }
  if (!any)
    ic_as_report_add(rep, "no journal in %s to move aside", ctx->state_dir);
  return TRUE;
}

gboolean
ic_assign_recover_from_sysfs(IcContext *ctx, gboolean move_aside, IcAssignReport **report, GError **error)
{
  g_autoptr(IcAssignReport) rep = ic_as_report_new();
  if (report != NULL)
    *report = NULL;
  if (!ic_as_check_can_write(ctx, NULL, error))
    return FALSE;
  int lock_fd = ic_as_lock(ctx, error);
  if (lock_fd < 0)
    return FALSE;
  gboolean ok = FALSE;
  g_autoptr(GString) refused = g_string_new(NULL);
  g_autoptr(GString) failures = g_string_new(NULL);
  g_autoptr(IcAsHostView) view = NULL;
  g_autoptr(GPtrArray) groups = salvage_scan(ctx, refused, error);
  if (groups == NULL)
    goto out;
  if (groups->len > 0 && (view = ic_as_host_view_new(ctx, error)) == NULL)
    goto out;
  IcAsRun run = {.ctx = ctx, .report = rep}; /* no journal: it is what failed */
  for (guint k = 0; k < groups->len; k++) {
    const SalvageGroup *g = groups->pdata[k];
    g_autofree char *why = salvage_group_refusal(ctx, view, g);
    if (why != NULL) {
      g_string_append_printf(refused, "%s%s", refused->len ? "; " : "", why);
      continue;
    }
    for (guint i = 0; i < g->devs->len; i++) {
      g_autoptr(GError) err = NULL;
      if (!ic_as_release(&run, "salvage", g->devs->pdata[i], g->number, &err))
        g_string_append_printf(failures, "%s%s", failures->len ? "; " : "", err->message);
    }
  }
  if (groups->len == 0 && refused->len == 0)
    ic_as_report_add(rep, "nothing to salvage: no device is on a vfio driver with driver_override "
                          "naming it");
  ok = TRUE;
  if (move_aside)
    ok = move_journal_aside(ctx, rep, error);
  if (ok && failures->len > 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "salvage failed for: %s", failures->str);
    ok = FALSE;
  } else if (ok && refused->len > 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED, "left alone: %s", refused->str);
    ok = FALSE;
  }
out:
  ic_as_unlock(lock_fd);
  if (report != NULL)
    *report = g_steal_pointer(&rep);
  return ok;
}

/* ---- status -------------------------------------------------------------- */

void
ic_assign_status_free(IcAssignStatus *status)
{
  if (status == NULL)
    return;
  g_ptr_array_unref(status->detached);
  g_ptr_array_unref(status->pending);
  g_free(status->journal);
  g_free(status);
}

static void
detached_free(IcAssignDetached *d)
{
  g_free(d->name);
  g_free(d->original_driver);
  g_free(d->driver);
  g_free(d->current_driver);
  g_free(d->since);
  g_free(d);
}

static void
pending_free(IcAssignPendingOp *p)
{
  g_free(p->kind);
  g_free(p->state);
  g_free(p->started);
  g_free(p->error);
  g_free(p);
}

IcAssignStatus *
ic_assign_status_new(IcContext *ctx, GError **error)
{
  g_autoptr(IcAssignStatus) st = g_new0(IcAssignStatus, 1);
  st->detached = g_ptr_array_new_with_free_func((GDestroyNotify) detached_free);
  st->pending = g_ptr_array_new_with_free_func((GDestroyNotify) pending_free);
  st->journal = g_build_filename(ctx->state_dir, "state.db", NULL);
  if (!ic_as_state_dir_check(ctx, FALSE, error))
    return NULL;
  if (!g_file_test(st->journal, G_FILE_TEST_EXISTS))
    return g_steal_pointer(&st); /* nothing ever detached here */
  g_autoptr(IcAsJournal) j = ic_as_journal_open(ctx, FALSE, error);
  if (j == NULL)
    return NULL;
  g_autoptr(GPtrArray) rows = ic_as_journal_detached(j, error);
  g_autoptr(GPtrArray) ops = rows ? ic_as_journal_pending(j, error) : NULL;
  if (ops == NULL)
    return NULL;
  for (guint i = 0; i < rows->len; i++) {
    const IcAsDetachedRow *r = rows->pdata[i];
    IcAssignDetached *d = g_new0(IcAssignDetached, 1);
    d->name = g_strdup(r->dev);
    d->group = r->group;
    d->original_driver = g_strdup(r->orig_driver);
    d->driver = g_strdup(r->driver);
    d->current_driver = ic_as_read_driver(ctx, r->dev);
    d->since = g_strdup(r->since);
    d->op_id = r->op_id;
    g_ptr_array_add(st->detached, d);
  }
  int holder = ic_as_lock_holder(ctx);
  for (guint i = 0; i < ops->len; i++) {
    const IcAsOpRow *o = ops->pdata[i];
    IcAssignPendingOp *p = g_new0(IcAssignPendingOp, 1);
    p->id = o->id;
    p->kind = g_strdup(o->kind);
    /* a running op whose process still holds the lock is in progress, not
     * crashed */
    p->state = g_strdup(strcmp(o->state, "running") == 0 && holder == o->pid && holder > 0 &&
                        kill(o->pid, 0) == 0 ? "in-progress" : o->state);
    p->started = g_strdup(o->started);
    p->pid = o->pid;
    p->error = g_strdup(o->error);
    p->n_devices = o->moves->len;
    p->n_steps_done = o->n_steps_done;
    g_ptr_array_add(st->pending, p);
  }
  return g_steal_pointer(&st);
}
