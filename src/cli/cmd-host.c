/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host verbs: report, groups, show, check, snapshot.  Each parses, loads the
 * inventory once (libiommuctl, src/host/) and prints text, JSON or XML. */
#include "cli/cli.h"
#include "iommuctl/host.h"
#include "iommuctl/persist.h"
#include "util/ic-util.h"

#include <stdio.h>
#include <string.h>

/* ---- shared text helpers ---------------------------------------------------- */

static const char *
col(IcCli *cli, IcColor c)
{
  return ic_color(cli->ctx->color, c);
}

static IcColor
verdict_color(IcGroupVerdict v)
{
  switch (v) {
  case IC_GROUP_ASSIGNABLE: return IC_COLOR_GREEN;
  case IC_GROUP_NEEDS_DETACH: return IC_COLOR_YELLOW;
  case IC_GROUP_NOT_ISOLATED:
  case IC_GROUP_HOST_IN_USE: return IC_COLOR_RED;
  }
  return IC_COLOR_RESET;
}

static IcColor
status_color(IcCheckStatus s)
{
  switch (s) {
  case IC_CHECK_PASS: return IC_COLOR_GREEN;
  case IC_CHECK_WARN: return IC_COLOR_YELLOW;
  case IC_CHECK_FAIL: return IC_COLOR_RED;
  case IC_CHECK_INFO: return IC_COLOR_BLUE;
  }
  return IC_COLOR_RESET;
}

static const char *
device_label(const IcPciDevice *d)
{
  if (d->device_name)
    return d->device_name;
  if (d->class_name)
    return d->class_name;
  return "(unknown device)";
}

static void
print_device_line(IcCli *cli, const IcPciDevice *d, const char *indent)
{
  printf("%s%s  %04x  %04x:%04x  %-14s %s%s%s%s\n", indent, d->name, d->class_code >> 8, d->vendor_id,
         d->device_id, d->driver ? d->driver : "-", d->vendor_name ? d->vendor_name : "",
         d->vendor_name ? " " : "", device_label(d), ic_pci_device_is_bridge(d) ? " [bridge]" : "");
  for (guint i = 0; i < d->host_uses->len; i++) {
    IcHostUse *u = g_ptr_array_index(d->host_uses, i);
    printf("%s    %shost use:%s %s\n", indent, col(cli, IC_COLOR_RED), col(cli, IC_COLOR_RESET), u->detail);
  }
  for (guint i = 0; i < d->notes->len; i++)
    printf("%s    %snote:%s %s\n", indent, col(cli, IC_COLOR_GREY), col(cli, IC_COLOR_RESET),
           (const char *) g_ptr_array_index(d->notes, i));
}

static void
print_group(IcCli *cli, const IcIommuGroup *g)
{
  printf("%sgroup %d%s  %s%s%s%s%s%s%s\n", col(cli, IC_COLOR_BOLD), g->number, col(cli, IC_COLOR_RESET),
         col(cli, verdict_color(g->verdict)), ic_group_verdict_to_string(g->verdict), col(cli, IC_COLOR_RESET),
         g->n_endpoints == 0 ? " (nothing to assign)" : "", g->type ? "  (" : "", g->type ? g->type : "",
         g->type ? ")" : "");
  for (guint i = 0; i < g->members->len; i++)
    print_device_line(cli, g_ptr_array_index(g->members, i), "  ");
  for (guint i = 0; i < g->reasons->len; i++) {
    IcGroupReason *r = g_ptr_array_index(g->reasons, i);
    printf("  %s- %s%s\n", col(cli, verdict_color(r->kind)), r->text, col(cli, IC_COLOR_RESET));
  }
}

static void
print_ungrouped(IcCli *cli, const IcInventory *inv)
{
  gboolean header = FALSE;
  for (guint i = 0; i < ic_inventory_n_devices(inv); i++) {
    IcPciDevice *d = ic_inventory_device(inv, i);
    if (d->iommu_group >= 0)
      continue;
    if (!header)
      printf("%sno IOMMU group%s\n", col(cli, IC_COLOR_BOLD), col(cli, IC_COLOR_RESET));
    header = TRUE;
    print_device_line(cli, d, "  ");
  }
}

static int
print_json_doc(JsonBuilder *b)
{
  ic_json_end_document(b);
  return IC_EXIT_OK;
}

static void
add_checks_json(JsonBuilder *b, GPtrArray *items)
{
  json_builder_set_member_name(b, "checks");
  json_builder_begin_array(b);
  for (guint i = 0; i < items->len; i++) {
    IcCheckItem *it = g_ptr_array_index(items, i);
    json_builder_begin_object(b);
    ic_json_add_string(b, "id", it->id);
    ic_json_add_string(b, "title", it->title);
    ic_json_add_string(b, "status", ic_check_status_to_string(it->status));
    ic_json_add_string_or_null(b, "detail", it->detail);
    ic_json_add_string_or_null(b, "fix", it->fix);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
}

/* persisted bindings (persist --verify) join the readiness items when there are any */
static void
add_persist_item(IcCli *cli, GPtrArray *items)
{
  IcCheckItem *it = ic_persist_check_item(cli->ctx);
  if (it != NULL)
    g_ptr_array_add(items, it);
}

static guint
count_status(GPtrArray *items, IcCheckStatus st)
{
  guint n = 0;
  for (guint i = 0; i < items->len; i++)
    n += ((IcCheckItem *) g_ptr_array_index(items, i))->status == st;
  return n;
}

static void
print_checks(IcCli *cli, GPtrArray *items)
{
  for (guint i = 0; i < items->len; i++) {
    IcCheckItem *it = g_ptr_array_index(items, i);
    printf("%-52s: %s%s%s", it->title, col(cli, status_color(it->status)), ic_check_status_to_string(it->status),
           col(cli, IC_COLOR_RESET));
    if (it->detail)
      printf(" (%s)", it->detail);
    printf("\n");
    if (it->fix && (it->status == IC_CHECK_WARN || it->status == IC_CHECK_FAIL))
      printf("    fix: %s\n", it->fix);
  }
}

static void
print_host_summary(IcCli *cli, const IcHostInfo *h)
{
  printf("%sIOMMU:%s %s, %s, %u groups (%u assignable)", col(cli, IC_COLOR_BOLD), col(cli, IC_COLOR_RESET),
         h->iommu_vendor ? h->iommu_vendor : "none found", h->iommu_enabled ? "enabled" : "disabled", h->n_groups,
         h->n_assignable_groups);
  if (h->default_domain_type)
    printf(", default domain %s", h->default_domain_type);
  printf(", interrupt remapping %s", h->interrupt_remapping == 1 ? "on" : h->interrupt_remapping == 0 ? "off" : "unknown");
  if (h->address_width)
    printf(", address width %u bits", h->address_width);
  printf("\n%svfio:%s vfio-pci %s, /dev/vfio/vfio %s, iommufd %s; kernel %s (%s)\n", col(cli, IC_COLOR_BOLD),
         col(cli, IC_COLOR_RESET), h->vfio_pci_available ? "available" : "missing",
         h->dev_vfio ? "present" : "absent", h->dev_iommu ? "present" : "absent", h->kernel_release,
         h->arch ? h->arch : "?");
  for (guint i = 0; i < h->notes->len; i++)
    printf("%snote:%s %s\n", col(cli, IC_COLOR_GREY), col(cli, IC_COLOR_RESET),
           (const char *) g_ptr_array_index(h->notes, i));
}

static IcInventory *
load(IcCli *cli, IcInventoryFlags flags, int *status)
{
  GError *error = NULL;
  IcInventory *inv = ic_inventory_get(cli->ctx, flags, &error);
  if (inv == NULL)
    *status = ic_cli_fail(cli, error);
  return inv;
}

/* ---- report ------------------------------------------------------------------ */

int
ic_cmd_report(IcCli *cli, int argc, char **argv)
{
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, NULL,
                    "readiness verdict, then every IOMMU group with its members and verdict", NULL, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  IcInventory *inv = load(cli, IC_INVENTORY_DETAILS, &status);
  if (inv == NULL)
    return status;
  g_autoptr(GPtrArray) items = ic_host_check(inv);
  add_persist_item(cli, items);
  gboolean ready = count_status(items, IC_CHECK_FAIL) == 0;
  if (cli->json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document("report", 1);
    ic_json_add_bool(b, "ready", ready);
    json_builder_set_member_name(b, "host");
    ic_json_add_host(b, ic_inventory_host(inv));
    add_checks_json(b, items);
    ic_json_add_group_lists(b, inv, TRUE);
    return print_json_doc(b);
  }
  printf("%sHost readiness for PCI assignment: %s%s%s\n", col(cli, IC_COLOR_BOLD),
         col(cli, ready ? IC_COLOR_GREEN : IC_COLOR_RED), ready ? "READY" : "NOT READY", col(cli, IC_COLOR_RESET));
  print_host_summary(cli, ic_inventory_host(inv));
  for (guint i = 0; i < items->len; i++) {
    IcCheckItem *it = g_ptr_array_index(items, i);
    if (it->status == IC_CHECK_FAIL || it->status == IC_CHECK_WARN)
      printf("%s%s%s %s: %s\n    fix: %s\n", col(cli, status_color(it->status)), ic_check_status_to_string(it->status),
             col(cli, IC_COLOR_RESET), it->title, it->detail ? it->detail : "", it->fix ? it->fix : "-");
  }
  printf("\n");
  for (guint i = 0; i < ic_inventory_n_groups(inv); i++) {
    IcIommuGroup *g = ic_inventory_group(inv, i);
    if (g->members->len > 0)
      print_group(cli, g);
  }
  print_ungrouped(cli, inv);
  return IC_EXIT_OK;
}

/* ---- groups ------------------------------------------------------------------ */

int
ic_cmd_groups(IcCli *cli, int argc, char **argv)
{
  gboolean dot = FALSE;
  GOptionEntry entries[] = {
    {"dot", 0, 0, G_OPTION_ARG_NONE, &dot, "Graphviz picture of buses, bridges, groups and devices", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, NULL, "IOMMU groups with their members and verdicts", entries, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  IcInventory *inv = load(cli, IC_INVENTORY_DEFAULT, &status);
  if (inv == NULL)
    return status;
  if (dot) {
    g_autofree char *s = ic_inventory_to_dot(inv);
    fputs(s, stdout);
    return IC_EXIT_OK;
  }
  const IcHostInfo *h = ic_inventory_host(inv);
  if (cli->json) {
    g_autofree char *text = ic_inventory_groups_json(inv);
    fputs(text, stdout);
    fputc('\n', stdout);
    return IC_EXIT_OK;
  }
  if (!h->iommu_enabled)
    printf("no IOMMU groups: the IOMMU is off or absent (see 'iommuctl check')\n");
  for (guint i = 0; i < ic_inventory_n_groups(inv); i++) {
    IcIommuGroup *g = ic_inventory_group(inv, i);
    if (g->members->len > 0)
      print_group(cli, g);
  }
  print_ungrouped(cli, inv);
  return IC_EXIT_OK;
}

/* ---- show -------------------------------------------------------------------- */

static void
print_device_details(IcCli *cli, IcInventory *inv, IcPciDevice *d)
{
  IcContext *ctx = ic_inventory_context(inv);
  printf("%s%s%s  %s\n", col(cli, IC_COLOR_BOLD), d->name, col(cli, IC_COLOR_RESET), device_label(d));
  printf("  vendor        %04x %s\n", d->vendor_id, d->vendor_name ? d->vendor_name : "");
  printf("  device        %04x %s\n", d->device_id, d->device_name ? d->device_name : "");
  printf("  subsystem     %04x:%04x %s\n", d->subsys_vendor_id, d->subsys_device_id, d->subsys_name ? d->subsys_name : "");
  printf("  class         %06x %s\n", d->class_code, d->class_name ? d->class_name : "");
  if (d->revision >= 0)
    printf("  revision      %02x\n", d->revision);
  printf("  header        %s%s, PCIe %s\n", ic_header_type_to_string(d->header_type),
         d->multifunction ? " (multifunction)" : "", ic_pcie_type_to_string(d->pcie_type));
  printf("  parents       ");
  int guard = 0;
  for (IcPciDevice *p = d->parent; p && guard < 64; p = p->parent, guard++)
    printf("%s <- ", p->name);
  printf("%s\n", d->root_bus ? d->root_bus : "?");
  printf("  driver        %s%s%s\n", d->driver ? d->driver : "(none)", d->driver_override ? "  override " : "",
         d->driver_override ? d->driver_override : "");
  if (d->iommu_group >= 0)
    printf("  iommu group   %d (%s)\n", d->iommu_group, d->group ? ic_group_verdict_to_string(d->group->verdict) : "?");
  else
    printf("  iommu group   none\n");
  printf("  numa node     %d\n", d->numa_node);
  if (d->modalias)
    printf("  modalias      %s\n", d->modalias);
  char **rm = ic_pci_device_reset_methods(ctx, d);
  g_autofree char *rms = rm ? g_strjoinv(" ", rm) : g_strdup("(attribute absent)");
  printf("  reset         %s; config: %s%s%s\n", rms, (d->reset_caps & IC_RESET_CAP_FLR) ? "FLR " : "",
         (d->reset_caps & IC_RESET_CAP_AF_FLR) ? "AF-FLR " : "", (d->reset_caps & IC_RESET_CAP_PM) ? "PM " : "");
  if (d->has_acs)
    printf("  ACS           cap %04x ctrl %04x\n", d->acs_cap, d->acs_ctrl);
  if (d->sriov_capable) {
    printf("  SR-IOV        %u of %u VFs", d->sriov_numvfs, d->sriov_totalvfs);
    for (guint i = 0; i < d->virtfns->len && i < 8; i++)
      printf(" %s", ((IcPciDevice *) g_ptr_array_index(d->virtfns, i))->name);
    printf("%s\n", d->virtfns->len > 8 ? " ..." : "");
  }
  if (d->physfn)
    printf("  physfn        %s\n", d->physfn->name);
  if (d->boot_vga)
    printf("  boot VGA      yes\n");
  for (guint i = 0; i < d->host_uses->len; i++)
    printf("  %shost use%s      %s\n", col(cli, IC_COLOR_RED), col(cli, IC_COLOR_RESET),
           ((IcHostUse *) g_ptr_array_index(d->host_uses, i))->detail);
  for (guint i = 0; i < d->notes->len; i++)
    printf("  note          %s\n", (const char *) g_ptr_array_index(d->notes, i));
}

int
ic_cmd_show(IcCli *cli, int argc, char **argv)
{
  gboolean xml = FALSE;
  GOptionEntry entries[] = {
    {"xml", 0, 0, G_OPTION_ARG_NONE, &xml, "libvirt nodedev XML (virsh nodedev-dumpxml format)", NULL},
    {NULL},
  };
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "ADDR|GROUP", "one PCI device (dddd:bb:ss.f) or IOMMU group (number) in detail",
                    entries, &status))
    return status;
  if (argc != 2)
    return ic_cli_usage_error(cli, "expected one PCI address or IOMMU group number");
  const char *arg = argv[1];
  gint64 number = -1;
  gboolean is_group = ic_parse_int64(arg, 10, 0, G_MAXINT, &number);
  IcPciAddr addr;
  GError *error = NULL;
  if (!is_group && !ic_pci_addr_parse(arg, &addr, &error))
    return ic_cli_fail(cli, error);
  IcInventory *inv = load(cli, IC_INVENTORY_DETAILS, &status);
  if (inv == NULL)
    return status;
  g_autoptr(GPtrArray) devices = g_ptr_array_new();
  IcIommuGroup *group = NULL;
  if (is_group) {
    group = ic_inventory_find_group(inv, (int) number);
    if (group == NULL)
      return ic_cli_fail(cli, g_error_new(IC_ERROR, IC_ERROR_NOT_FOUND, "no IOMMU group %s", arg));
    g_ptr_array_extend(devices, group->members, NULL, NULL);
  } else {
    IcPciDevice *d = ic_inventory_find_device(inv, &addr);
    if (d == NULL) {
      char buf[IC_PCI_ADDR_STRLEN];
      return ic_cli_fail(cli, g_error_new(IC_ERROR, IC_ERROR_NOT_FOUND, "no PCI device %s",
                                          ic_pci_addr_format(&addr, buf)));
    }
    g_ptr_array_add(devices, d);
    group = d->group;
  }
  if (xml) {
    for (guint i = 0; i < devices->len; i++) {
      g_autofree char *s = ic_pci_device_to_nodedev_xml(inv, g_ptr_array_index(devices, i));
      fputs(s, stdout);
    }
    return IC_EXIT_OK;
  }
  if (cli->json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document(is_group ? "group" : "device", 1);
    if (!is_group) {
      json_builder_set_member_name(b, "device");
      ic_json_add_device(b, g_ptr_array_index(devices, 0), TRUE);
    }
    json_builder_set_member_name(b, "group");
    if (group)
      ic_json_add_group(b, group, TRUE);
    else
      json_builder_add_null_value(b);
    return print_json_doc(b);
  }
  if (is_group) {
    print_group(cli, group);
    if (group->reserved_regions && group->reserved_regions[0]) {
      printf("  reserved regions:\n");
      for (guint i = 0; group->reserved_regions[i]; i++)
        printf("    %s\n", group->reserved_regions[i]);
    }
    return IC_EXIT_OK;
  }
  print_device_details(cli, inv, g_ptr_array_index(devices, 0));
  if (group) {
    printf("\n");
    print_group(cli, group);
  }
  return IC_EXIT_OK;
}

/* ---- check -------------------------------------------------------------------- */

int
ic_cmd_check(IcCli *cli, int argc, char **argv)
{
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, NULL,
                    "host readiness for PCI assignment: PASS/WARN/FAIL per item with the fix; exit 1 on FAIL",
                    NULL, &status))
    return status;
  if (argc > 1)
    return ic_cli_usage_error(cli, "unexpected argument '%s'", argv[1]);
  IcInventory *inv = load(cli, IC_INVENTORY_DEFAULT, &status);
  if (inv == NULL)
    return status;
  g_autoptr(GPtrArray) items = ic_host_check(inv);
  add_persist_item(cli, items);
  guint fails = count_status(items, IC_CHECK_FAIL);
  if (cli->json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document("check", 1);
    ic_json_add_bool(b, "ready", fails == 0);
    add_checks_json(b, items);
    print_json_doc(b);
  } else {
    print_checks(cli, items);
  }
  return fails ? IC_EXIT_NEGATIVE : IC_EXIT_OK;
}

/* ---- snapshot ----------------------------------------------------------------- */

int
ic_cmd_snapshot(IcCli *cli, int argc, char **argv)
{
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "DIR",
                    "copy what iommuctl reads of sysfs/proc into DIR (no resource files, no device memory); "
                    "'--sysfs-root DIR' then reproduces the report", NULL, &status))
    return status;
  if (argc != 2)
    return ic_cli_usage_error(cli, "expected one target directory");
  GError *error = NULL;
  guint n = 0;
  if (!ic_host_snapshot(cli->ctx, argv[1], &n, &error))
    return ic_cli_fail(cli, error);
  if (cli->json) {
    g_autoptr(JsonBuilder) b = ic_json_begin_document("snapshot", 1);
    ic_json_add_string(b, "directory", argv[1]);
    ic_json_add_int(b, "entries", n);
    return print_json_doc(b);
  }
  printf("snapshot of %u files and links written to %s\n", n, argv[1]);
  return IC_EXIT_OK;
}
