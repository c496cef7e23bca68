/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* persist, unpersist, diff: parse, call libiommuctl, print. */
#include "cli/cli.h"
#include "iommuctl/persist.h"
#include "util/ic-util.h"

#include <stdio.h>

/* The command written into every file: the verb, the canonical addresses
 * and the options that change what is bound (never the roots or --json). */
static char *
canonical_command(const char *verb, GArray *addrs, const char *driver, gboolean force)
{
  g_autoptr(GString) s = g_string_new("iommuctl ");
  g_string_append(s, verb);
  for (guint i = 0; i < addrs->len; i++) {
    char buf[IC_PCI_ADDR_STRLEN];
    g_string_append_printf(s, " %s", ic_pci_addr_format(&g_array_index(addrs, IcPciAddr, i), buf));
  }
  if (driver != NULL)
    g_string_append_printf(s, " --driver %s", driver);
  if (force)
    g_string_append(s, " --force");
  return g_string_free(g_steal_pointer(&s), FALSE);
}

static void
add_strv(JsonBuilder *b, const char *key, char **v)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_array(b);
  for (char **p = v; p && *p; p++)
    json_builder_add_string_value(b, *p);
  json_builder_end_array(b);
}

static void
add_ptrv(JsonBuilder *b, const char *key, GPtrArray *v)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_array(b);
  for (guint i = 0; v && i < v->len; i++)
    json_builder_add_string_value(b, v->pdata[i]);
  json_builder_end_array(b);
}

static void
add_hex(JsonBuilder *b, const char *key, guint v, int digits)
{
  g_autofree char *s = g_strdup_printf("%0*x", digits, v);
  ic_json_add_string(b, key, s);
}

static void
device_json(JsonBuilder *b, const IcPersistDevice *d)
{
  json_builder_begin_object(b);
  ic_json_add_string(b, "address", d->name);
  ic_json_add_int(b, "group", d->group);
  add_hex(b, "vendor", d->vendor, 4);
  add_hex(b, "device", d->device, 4);
  add_hex(b, "subsystem_vendor", d->subsys_vendor, 4);
  add_hex(b, "subsystem_device", d->subsys_device, 4);
  add_hex(b, "class", d->class_code, 6);
  ic_json_add_string(b, "driver", d->driver);
  ic_json_add_string_or_null(b, "host_driver", d->host_driver);
  ic_json_add_string_or_null(b, "host_module", d->host_module);
  add_strv(b, "group_members", d->members);
  add_strv(b, "ports", d->ports);
  ic_json_add_string(b, "config_root", d->config_root);
  ic_json_add_string(b, "command", d->command);
  ic_json_add_string(b, "since", d->since);
  json_builder_end_object(b);
}

static void
result_json(const char *verb, const IcPersistResult *r)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("persist", 1);
  ic_json_add_string(b, "command", verb);
  ic_json_add_bool(b, "dry_run", r->dry_run);
  json_builder_set_member_name(b, "devices");
  json_builder_begin_array(b);
  for (guint i = 0; i < r->devices->len; i++)
    device_json(b, r->devices->pdata[i]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "files");
  json_builder_begin_array(b);
  for (guint i = 0; i < r->files->len; i++) {
    const IcPersistFile *f = r->files->pdata[i];
    json_builder_begin_object(b);
    ic_json_add_string(b, "path", f->path);
    ic_json_add_string(b, "action", ic_persist_file_action_to_string(f->action));
    ic_json_add_string_or_null(b, "mechanism", f->content ? f->mechanism : NULL);
    json_builder_set_member_name(b, "lines");
    json_builder_begin_array(b);
    if (f->content != NULL) {
      g_auto(GStrv) lines = g_strsplit(f->content, "\n", -1);
      for (char **l = lines; *l; l++)
        if (**l || l[1] != NULL)
          json_builder_add_string_value(b, *l);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  ic_json_add_bool(b, "vfio_pci_builtin", r->vfio_builtin);
  json_builder_set_member_name(b, "initramfs");
  json_builder_begin_object(b);
  ic_json_add_string_or_null(b, "kind", r->initramfs_kind);
  ic_json_add_string_or_null(b, "command", r->initramfs_command);
  ic_json_add_bool(b, "updated", r->initramfs_updated);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "operation");
  if (r->op_id > 0)
    json_builder_add_int_value(b, (gint64) r->op_id);
  else
    json_builder_add_null_value(b);
  add_ptrv(b, "actions", r->actions);
  add_ptrv(b, "notes", r->notes);
  ic_json_end_document(b);
}

static void
result_text(const char *verb, const IcPersistResult *r)
{
  for (guint i = 0; i < r->devices->len; i++) {
    const IcPersistDevice *d = r->devices->pdata[i];
    gboolean un = strcmp(verb, "unpersist") == 0;
    printf("%s%s %s  group %u  %04x:%04x  %s%s%s\n", r->dry_run ? "would " : "", verb, d->name, d->group,
           d->vendor, d->device, un ? "" : d->host_driver ? d->host_driver : "(none)",
           un ? "recorded host driver " : " -> ", un ? (d->host_driver ? d->host_driver : "(none)") : d->driver);
  }
  for (guint i = 0; i < r->files->len; i++) {
    const IcPersistFile *f = r->files->pdata[i];
    if (r->dry_run && f->action == IC_PERSIST_FILE_WRITE)
      printf("would write %s (%s):\n%s", f->path, f->mechanism, f->content);
    else if (r->dry_run && f->action == IC_PERSIST_FILE_REMOVE)
      printf("would remove %s\n", f->path);
  }
  for (guint i = 0; i < r->actions->len; i++)
    printf("%s\n", (const char *) r->actions->pdata[i]);
  for (guint i = 0; i < r->notes->len; i++)
    printf("note: %s\n", (const char *) r->notes->pdata[i]);
}

static int
persist_list(IcCli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) recs = ic_persist_list(cli->ctx, &error);
  if (recs == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  if (cli->json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document("persist-list", 1);
    json_builder_set_member_name(b, "devices");
    json_builder_begin_array(b);
    for (guint i = 0; i < recs->len; i++)
      device_json(b, recs->pdata[i]);
    json_builder_end_array(b);
    ic_json_end_document(b);
    return IC_EXIT_OK;
  }
  if (recs->len == 0)
    printf("nothing persisted\n");
  for (guint i = 0; i < recs->len; i++) {
    const IcPersistDevice *d = recs->pdata[i];
    g_autofree char *ports = d->ports && d->ports[0] ? g_strjoinv(" ", d->ports) : g_strdup("(root bus)");
    printf("%s  group %-3u %04x:%04x sub %04x:%04x class %06x  %s (was %s)  behind %s\n"
           "    under %s since %s by '%s'\n", d->name, d->group, d->vendor, d->device, d->subsys_vendor,
           d->subsys_device, d->class_code, d->driver, d->host_driver ? d->host_driver : "(none)", ports,
           d->config_root, d->since, d->command);
  }
  return IC_EXIT_OK;
}

static int
persist_verify(IcCli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) checks = ic_persist_verify(cli->ctx, &error);
  if (checks == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  gboolean ok = TRUE;
  for (guint i = 0; i < checks->len; i++)
    ok &= ((IcPersistCheck *) checks->pdata[i])->state == IC_PERSIST_BOUND;
  if (cli->json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document("persist-verify", 1);
    ic_json_add_bool(b, "ok", ok);
    json_builder_set_member_name(b, "devices");
    json_builder_begin_array(b);
    for (guint i = 0; i < checks->len; i++) {
      const IcPersistCheck *c = checks->pdata[i];
      json_builder_begin_object(b);
      ic_json_add_string(b, "address", c->record->name);
      ic_json_add_string(b, "state", ic_persist_state_to_string(c->state));
      ic_json_add_bool(b, "present", c->present);
      ic_json_add_string_or_null(b, "current_driver", c->current_driver);
      ic_json_add_string(b, "driver", c->record->driver);
      ic_json_add_string_or_null(b, "host_driver_first", c->host_first_driver);
      ic_json_add_string_or_null(b, "moved_to", c->moved_to);
      add_ptrv(b, "changes", c->changes);
      json_builder_set_member_name(b, "record");
      device_json(b, c->record);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    ic_json_end_document(b);
  } else {
    gboolean col = cli->ctx->color;
    if (checks->len == 0)
      printf("nothing persisted\n");
    for (guint i = 0; i < checks->len; i++) {
      const IcPersistCheck *c = checks->pdata[i];
      const char *what = c->state == IC_PERSIST_BOUND ? "bound"
                       : c->state == IC_PERSIST_HOST_FIRST ? "bound, but a host driver bound it first"
                       : c->state == IC_PERSIST_NOT_BOUND ? "NOT BOUND"
                       : "HARDWARE CHANGED";
      printf("%s  %s%s%s (now on %s, wants %s)%s%s\n", c->record->name,
             ic_color(col, c->state == IC_PERSIST_BOUND ? IC_COLOR_GREEN : c->state == IC_PERSIST_HARDWARE_CHANGED
                      ? IC_COLOR_RED : IC_COLOR_YELLOW), what, ic_color(col, IC_COLOR_RESET),
             c->current_driver ? c->current_driver : c->present ? "(none)" : "(absent)", c->record->driver,
             c->host_first_driver ? "; host driver first: " : "",
             c->host_first_driver ? c->host_first_driver : "");
      for (guint k = 0; k < c->changes->len; k++)
        printf("    %s\n", (const char *) c->changes->pdata[k]);
    }
  }
  return ok ? IC_EXIT_OK : IC_EXIT_NEGATIVE;
}

int
ic_cmd_persist(IcCli *cli, int argc, char **argv)
{
  g_autofree char *driver = NULL, *config_root = NULL;
  gboolean dry_run = FALSE, force = FALSE, update = FALSE, list = FALSE, verify = FALSE;
  GOptionEntry entries[] = {
    {"driver", 0, 0, G_OPTION_ARG_STRING, &driver,
     "Target driver (default: vfio-pci or the vfio variant driver modules.alias names)", "NAME"},
    {"dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run,
     "List the devices, files and lines it would write; change nothing", NULL},
    {"force", 0, 0, G_OPTION_ARG_NONE, &force,
     "Persist members the host uses too (never the root filesystem's device)", NULL},
    {"config-root", 0, 0, G_OPTION_ARG_FILENAME, &config_root,
     "Write the udev, modules-load.d, modprobe.d and initramfs files under DIR (default /)", "DIR"},
    {"update-initramfs", 0, 0, G_OPTION_ARG_NONE, &update,
     "Regenerate the initramfs when it needs the binding (else the command is printed)", NULL},
    {"list", 0, 0, G_OPTION_ARG_NONE, &list, "Show what is persisted", NULL},
    {"verify", 0, 0, G_OPTION_ARG_NONE, &verify,
     "Check each persisted device: bound, bound by a host driver first, hardware changed", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "ADDR...|--list|--verify",
                    "bind the whole IOMMU groups of ADDR to vfio-pci now and at every boot "
                    "(udev driver_override by address and identity, early vfio-pci, initramfs)",
                    entries, &status))
    return status;
  if (list + verify > 1 || ((list || verify) && argc > 1))
    return ic_cli_usage_error(cli, "give PCI addresses, --list or --verify");
  if (list)
    return persist_list(cli);
  if (verify)
    return persist_verify(cli);
  if (argc < 2)
    return ic_cli_usage_error(cli, "give at least one PCI address (or --list, --verify)");
  g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  if (!ic_cli_parse_addrs(cli, argc, argv, addrs, &status))
    return status;
  g_autofree char *command = canonical_command("persist", addrs, driver, force);
  IcPersistOptions o = {.driver = driver, .config_root = config_root, .command = command,
                        .dry_run = dry_run, .force = force, .update_initramfs = update};
  g_autoptr(GError) error = NULL;
  g_autoptr(IcPersistResult) r = ic_persist(cli->ctx, (IcPciAddr *) addrs->data, addrs->len, &o, &error);
  if (r == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  if (cli->json)
    result_json("persist", r);
  else
    result_text("persist", r);
  return IC_EXIT_OK;
}

int
ic_cmd_unpersist(IcCli *cli, int argc, char **argv)
{
  gboolean all = FALSE, keep_bound = FALSE, dry_run = FALSE;
  GOptionEntry entries[] = {
    {"all", 0, 0, G_OPTION_ARG_NONE, &all, "Every persisted device", NULL},
    {"keep-bound", 0, 0, G_OPTION_ARG_NONE, &keep_bound,
     "Leave the devices on vfio-pci until the next boot", NULL},
    {"dry-run", 0, 0, G_OPTION_ARG_NONE, &dry_run, "Say what would be removed; change nothing", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "ADDR...|--all",
                    "remove exactly what 'persist' wrote for the whole recorded groups of ADDR and "
                    "give the devices back to their recorded driver", entries, &status))
    return status;
  if (all == (argc > 1))
    return ic_cli_usage_error(cli, "give PCI addresses or --all (not both)");
  g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  if (!ic_cli_parse_addrs(cli, argc, argv, addrs, &status))
    return status;
  IcUnpersistOptions o = {.all = all, .keep_bound = keep_bound, .dry_run = dry_run};
  g_autoptr(GError) error = NULL;
  g_autoptr(IcPersistResult) r = ic_unpersist(cli->ctx, (IcPciAddr *) addrs->data, addrs->len, &o, &error);
  if (r == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  if (cli->json)
    result_json("unpersist", r);
  else
    result_text("unpersist", r);
  return IC_EXIT_OK;
}

int
ic_cmd_diff(IcCli *cli, int argc, char **argv)
{
  g_auto(GStrv) domains = NULL;
  GOptionEntry entries[] = {
    {"domain", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &domains,
     "libvirt domain XML whose PCI hostdevs are checked against the changes (repeatable)", "FILE"},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "OLD [NEW]",
                    "what changed between two snapshot directories (NEW defaults to this host): "
                    "devices, groups, types, drivers, verdicts, persisted bindings, hostdevs "
                    "(exit 0 nothing changed, 1 something did)", entries, &status))
    return status;
  if (argc < 2 || argc > 3)
    return ic_cli_usage_error(cli, "give OLD and optionally NEW snapshot directories");
  g_autoptr(GError) error = NULL;
  g_autoptr(IcDiff) d = ic_diff_new(cli->ctx, argv[1], argc > 2 ? argv[2] : NULL,
                                    (const char *const *) domains, &error);
  if (d == NULL)
    return ic_cli_fail(cli, g_steal_pointer(&error));
  g_autofree char *out = cli->json ? ic_diff_to_json(d) : ic_diff_to_text(d);
  fputs(out, stdout);
  return ic_diff_changed(d) ? IC_EXIT_NEGATIVE : IC_EXIT_OK;
}
