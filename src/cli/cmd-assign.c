/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* plan, detach, reattach, status, recover: parse, call libiommuctl, print. */
#include "cli/cli.h"
#include "iommuctl/assign.h"
#include "util/ic-util.h"

#include <stdio.h>

/* Options every writing verb shares: the bounds of its waits. */
typedef struct {
  int poll_timeout_ms;
  int lock_timeout_ms;
} WaitOptions;

#define WAIT_ENTRIES(w)                                                                          \
  {"poll-timeout", 0, 0, G_OPTION_ARG_INT, &(w).poll_timeout_ms,                                 \
   "Wait at most MS for each driver change to show in sysfs (default 5000)", "MS"},              \
  {"lock-timeout", 0, 0, G_OPTION_ARG_INT, &(w).lock_timeout_ms,                                 \
   "Wait at most MS for another iommuctl operation to finish (default 10000; 0 = fail at once)", \
   "MS"}

static gboolean
apply_waits(IcCli *cli, const WaitOptions *w)
{
  if (w->poll_timeout_ms < -1 || w->lock_timeout_ms < -1) {
    ic_cli_usage_error(cli, "timeouts are milliseconds, 0 or more");
    return FALSE;
  }
  if (w->poll_timeout_ms >= 0)
    cli->ctx->poll_timeout_ms = (guint) w->poll_timeout_ms;
  if (w->lock_timeout_ms >= 0)
    cli->ctx->lock_timeout_ms = (guint) w->lock_timeout_ms;
  return TRUE;
}

/* ---- plan ------------------------------------------------------------------ */

static void
plan_json(const IcAssignPlan *plan, gboolean forced)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("assign-plan", 1);
  ic_json_add_bool(b, "executable", plan->executable);
  ic_json_add_bool(b, "forced", forced);
  json_builder_set_member_name(b, "groups");
  json_builder_begin_array(b);
  for (guint k = 0; k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    json_builder_begin_object(b);
    ic_json_add_int(b, "group", g->number);
    ic_json_add_string(b, "vfio_node", g->vfio_node);
    ic_json_add_bool(b, "vfio_node_will_appear", g->vfio_node_will_appear);
    json_builder_set_member_name(b, "members");
    json_builder_begin_array(b);
    for (guint i = 0; i < g->members->len; i++) {
      const IcAssignMember *m = g->members->pdata[i];
      json_builder_begin_object(b);
      ic_json_add_string(b, "address", m->name);
      ic_json_add_string(b, "action", ic_assign_action_to_string(m->action));
      ic_json_add_string(b, "reason", m->reason);
      ic_json_add_string_or_null(b, "driver", m->driver);
      ic_json_add_string_or_null(b, "driver_override", m->driver_override);
      ic_json_add_string_or_null(b, "target_driver", m->target_driver);
      ic_json_add_string_or_null(b, "reset_method", m->reset_method);
      ic_json_add_bool(b, "requested", m->requested);
      ic_json_add_bool(b, "holds_root", m->holds_root);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "warnings");
  json_builder_begin_array(b);
  for (guint i = 0; i < plan->warnings->len; i++)
    json_builder_add_string_value(b, plan->warnings->pdata[i]);
  json_builder_end_array(b);
  ic_json_end_document(b);
}

static IcColor
action_color(IcAssignAction a)
{
  switch (a) {
  case IC_ASSIGN_DETACH: return IC_COLOR_BLUE;
  case IC_ASSIGN_BLOCKED: return IC_COLOR_RED;
  case IC_ASSIGN_BRIDGE_OK: return IC_COLOR_GREY;
  default: return IC_COLOR_GREEN;
  }
}

static void
plan_text(const IcCli *cli, const IcAssignPlan *plan)
{
  gboolean c = cli->ctx->color;
  for (guint k = 0; k < plan->groups->len; k++) {
    const IcAssignGroup *g = plan->groups->pdata[k];
    printf("%sgroup %u%s  %s %s\n", ic_color(c, IC_COLOR_BOLD), g->number, ic_color(c, IC_COLOR_RESET),
           g->vfio_node, g->vfio_node_will_appear ? "will appear" : "will not appear");
    for (guint i = 0; i < g->members->len; i++) {
      const IcAssignMember *m = g->members->pdata[i];
      g_autofree char *move = m->action == IC_ASSIGN_DETACH || m->action == IC_ASSIGN_BLOCKED
        ? g_strdup_printf("%s -> %s", m->driver ? m->driver : "(none)", m->target_driver)
        : g_strdup(m->driver ? m->driver : "(none)");
      printf("  %s%c %-12s %s%-9s%s %-24s reset=%-6s %s\n", m->requested ? "*" : " ", ' ', m->name,
             ic_color(c, action_color(m->action)), ic_assign_action_to_string(m->action),
             ic_color(c, IC_COLOR_RESET), move, m->reset_method ? m->reset_method : "-", m->reason);
    }
  }
  for (guint i = 0; i < plan->warnings->len; i++)
    printf("%swarning:%s %s\n", ic_color(c, IC_COLOR_YELLOW), ic_color(c, IC_COLOR_RESET),
           (const char *) plan->warnings->pdata[i]);
  if (plan->executable)
    printf("plan: executable, %u device(s) to detach (* = requested)\n", plan->n_detach);
  else
    printf("plan: %sBLOCKED%s by %u member(s) the host uses; 'detach --force' overrides "
           "(never for the root filesystem; 'plan --force' previews it)\n", ic_color(c, IC_COLOR_RED),
           ic_color(c, IC_COLOR_RESET), plan->n_blocked);
}

int
ic_cmd_plan(IcCli *cli, int argc, char **argv)
{
  g_autofree char *driver = NULL;
  gboolean force = FALSE;
  GOptionEntry entries[] = {
    {"driver", 0, 0, G_OPTION_ARG_STRING, &driver,
     "Target driver (default: vfio-pci or the vfio variant driver modules.alias names)", "NAME"},
    {"force", 0, 0, G_OPTION_ARG_NONE, &force,
     "Preview 'detach --force': blocked members move too (marked 'forced:'), except the root filesystem's", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "ADDR...",
                    "what detaching these devices would do to their whole IOMMU groups "
                    "(exit 0: executable, 1: blocked)", entries, &status))
    return status;
  if (argc < 2)
    return ic_cli_usage_error(cli, "give at least one PCI address");
  g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  if (!ic_cli_parse_addrs(cli, argc, argv, addrs, &status))
    return status;
  g_autoptr(GError) error = NULL;
  g_autoptr(IcAssignPlan) plan = ic_assign_plan_new(cli->ctx, (IcPciAddr *) addrs->data, addrs->len,
                                                    driver, &error);
  if (plan == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  if (force)
    ic_assign_plan_force(plan);
  if (cli->json)
    plan_json(plan, force);
  else
    plan_text(cli, plan);
  return plan->executable ? IC_EXIT_OK : IC_EXIT_NEGATIVE;
}

/* ---- detach / reattach / recover ---------------------------------------- */

static int
finish_op(IcCli *cli, const char *kind, gboolean ok, IcAssignReport *report, GError *error)
{
  if (cli->json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document("assign-result", 1);
    ic_json_add_string(b, "command", kind);
    ic_json_add_bool(b, "ok", ok);
    json_builder_set_member_name(b, "operation");
    if (report != NULL && report->op_id > 0)
      json_builder_add_int_value(b, (gint64) report->op_id);
    else
      json_builder_add_null_value(b);
    json_builder_set_member_name(b, "actions");
    json_builder_begin_array(b);
    for (guint i = 0; report != NULL && i < report->lines->len; i++)
      json_builder_add_string_value(b, report->lines->pdata[i]);
    json_builder_end_array(b);
    ic_json_add_string_or_null(b, "error", error ? error->message : NULL);
    ic_json_end_document(b);
  } else {
    for (guint i = 0; report != NULL && i < report->lines->len; i++)
      printf("%s\n", (const char *) report->lines->pdata[i]);
  }
  if (!ok)
    return ic_cli_fail(cli, error);
  return IC_EXIT_OK;
}

int
ic_cmd_detach(IcCli *cli, int argc, char **argv)
{
  g_autofree char *driver = NULL;
  gboolean force = FALSE;
  WaitOptions w = {-1, -1};
  GOptionEntry entries[] = {
    {"driver", 0, 0, G_OPTION_ARG_STRING, &driver,
     "Target driver (default: vfio-pci or the vfio variant driver modules.alias names)", "NAME"},
    {"force", 0, 0, G_OPTION_ARG_NONE, &force,
     "Detach members the host uses too (never the root filesystem's device)", NULL},
    WAIT_ENTRIES(w),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "ADDR...",
                    "bind the whole IOMMU groups of ADDR to vfio-pci (driver_override, unbind, "
                    "drivers_probe), journaled in STATE-DIR/state.db and rolled back on failure",
                    entries, &status))
    return status;
  if (!apply_waits(cli, &w))
    return IC_EXIT_USAGE;
  if (argc < 2)
    return ic_cli_usage_error(cli, "give at least one PCI address");
  g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  if (!ic_cli_parse_addrs(cli, argc, argv, addrs, &status))
    return status;
  IcAssignDetachOptions opts = {.driver = driver, .force = force};
  g_autoptr(IcAssignReport) report = NULL;
  GError *error = NULL;
  gboolean ok = ic_assign_detach(cli->ctx, (IcPciAddr *) addrs->data, addrs->len, &opts, &report, &error);
  return finish_op(cli, "detach", ok, report, error);
}

int
ic_cmd_reattach(IcCli *cli, int argc, char **argv)
{
  gboolean all = FALSE;
  WaitOptions w = {-1, -1};
  GOptionEntry entries[] = {
    {"all", 0, 0, G_OPTION_ARG_NONE, &all, "Every device iommuctl detached", NULL},
    WAIT_ENTRIES(w),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "ADDR...|--all",
                    "return devices (whole groups) to the exact driver recorded when iommuctl "
                    "detached them, and clear driver_override", entries, &status))
    return status;
  if (!apply_waits(cli, &w))
    return IC_EXIT_USAGE;
  if (all == (argc > 1))
    return ic_cli_usage_error(cli, "give PCI addresses or --all (not both)");
  g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  if (!ic_cli_parse_addrs(cli, argc, argv, addrs, &status))
    return status;
  g_autoptr(IcAssignReport) report = NULL;
  GError *error = NULL;
  gboolean ok = ic_assign_reattach(cli->ctx, (IcPciAddr *) addrs->data, addrs->len, all, &report, &error);
  return finish_op(cli, "reattach", ok, report, error);
}

int
ic_cmd_recover(IcCli *cli, int argc, char **argv)
{
  gboolean forward = FALSE, from_sysfs = FALSE, move_aside = FALSE;
  WaitOptions w = {-1, -1};
  GOptionEntry entries[] = {
    {"forward", 0, 0, G_OPTION_ARG_NONE, &forward,
     "Finish unfinished operations instead of undoing them", NULL},
    {"from-sysfs", 0, 0, G_OPTION_ARG_NONE, &from_sysfs,
     "Without the journal (damaged state.db): return every device iommuctl left on vfio-pci "
     "(driver_override naming it) to its default driver, whole groups at a time", NULL},
    {"move-journal-aside", 0, 0, G_OPTION_ARG_NONE, &move_aside,
     "With --from-sysfs: rename the damaged state.db to state.db.damaged-TIME afterwards", NULL},
    WAIT_ENTRIES(w),
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "",
                    "after a crash or power loss: put every device of an unfinished operation "
                    "back where it was (or --forward: where it was going), and say what was done",
                    entries, &status))
    return status;
  if (!apply_waits(cli, &w))
    return IC_EXIT_USAGE;
  if (argc > 1)
    return ic_cli_usage_error(cli, "recover takes no arguments");
  if (move_aside && !from_sysfs)
    return ic_cli_usage_error(cli, "--move-journal-aside goes with --from-sysfs");
  if (forward && from_sysfs)
    return ic_cli_usage_error(cli, "--from-sysfs does not read the journal, so it has no --forward");
  g_autoptr(IcAssignReport) report = NULL;
  GError *error = NULL;
  gboolean ok = from_sysfs ? ic_assign_recover_from_sysfs(cli->ctx, move_aside, &report, &error)
                           : ic_assign_recover(cli->ctx, forward, &report, &error);
  return finish_op(cli, "recover", ok, report, error);
}

/* ---- status ---------------------------------------------------------------- */

static void
status_json(const IcAssignStatus *st)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("assign-status", 1);
  ic_json_add_string(b, "journal", st->journal);
  json_builder_set_member_name(b, "detached");
  json_builder_begin_array(b);
  for (guint i = 0; i < st->detached->len; i++) {
    const IcAssignDetached *d = st->detached->pdata[i];
    json_builder_begin_object(b);
    ic_json_add_string(b, "address", d->name);
    ic_json_add_int(b, "group", d->group);
    ic_json_add_string_or_null(b, "original_driver", d->original_driver);
    ic_json_add_string_or_null(b, "driver", d->driver);
    ic_json_add_string_or_null(b, "current_driver", d->current_driver);
    ic_json_add_string(b, "since", d->since);
    ic_json_add_int(b, "operation", (gint64) d->op_id);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "unfinished");
  json_builder_begin_array(b);
  for (guint i = 0; i < st->pending->len; i++) {
    const IcAssignPendingOp *p = st->pending->pdata[i];
    json_builder_begin_object(b);
    ic_json_add_int(b, "operation", (gint64) p->id);
    ic_json_add_string(b, "kind", p->kind);
    ic_json_add_string(b, "state", p->state);
    ic_json_add_string(b, "started", p->started);
    ic_json_add_int(b, "pid", p->pid);
    ic_json_add_int(b, "devices", p->n_devices);
    ic_json_add_int(b, "steps_done", p->n_steps_done);
    ic_json_add_string_or_null(b, "error", p->error);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  ic_json_end_document(b);
}

static void
status_text(const IcCli *cli, const IcAssignStatus *st)
{
  gboolean c = cli->ctx->color;
  if (st->detached->len == 0)
    printf("no device detached by iommuctl (journal %s)\n", st->journal);
  for (guint i = 0; i < st->detached->len; i++) {
    const IcAssignDetached *d = st->detached->pdata[i];
    gboolean moved = g_strcmp0(d->current_driver, d->driver) != 0;
    printf("%s  group %-3u %s (was %s) since %s, operation #%" G_GUINT64_FORMAT "%s%s%s\n", d->name,
           d->group, d->driver, d->original_driver ? d->original_driver : "(none)", d->since,
           d->op_id, moved ? ic_color(c, IC_COLOR_YELLOW) : "",
           moved ? "  NOW ON " : "", moved ? (d->current_driver ? d->current_driver : "(none)") : "");
    if (moved)
      printf("%s", ic_color(c, IC_COLOR_RESET));
  }
  for (guint i = 0; i < st->pending->len; i++) {
    const IcAssignPendingOp *p = st->pending->pdata[i];
    printf("%sunfinished%s operation #%" G_GUINT64_FORMAT ": %s of %u device(s), started %s by pid "
           "%d, %u step(s) done, state %s%s%s\n",
           ic_color(c, IC_COLOR_RED), ic_color(c, IC_COLOR_RESET), p->id, p->kind, p->n_devices,
           p->started, p->pid, p->n_steps_done, p->state, p->error ? ": " : "", p->error ? p->error : "");
  }
  if (st->pending->len > 0)
    printf("run 'iommuctl recover' to restore a consistent state\n");
}

int
ic_cmd_status(IcCli *cli, int argc, char **argv)
{
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "",
                    "what iommuctl has detached (when, from which driver) and any unfinished "
                    "operation (exit 1 when one needs 'recover')", NULL, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "status takes no arguments");
  g_autoptr(GError) error = NULL;
  g_autoptr(IcAssignStatus) st = ic_assign_status_new(cli->ctx, &error);
  if (st == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  if (cli->json)
    status_json(st);
  else
    status_text(cli, st);
  return st->pending->len > 0 ? IC_EXIT_NEGATIVE : IC_EXIT_OK;
}
