/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Entry point: find the verb (and sub-verb), hand the rest to it. */
#include "cli/cli.h"
#include "ic-config.h"

#include <locale.h>
#include <stdio.h>

static const IcCommand domain_commands[] = {
  {"lint", ic_cmd_domain_lint, "check domain XML against libvirt's, QEMU's and iommuctl's IOMMU rules"},
  {"protect", ic_cmd_domain_protect, "put <driver iommu='on'/> on every virtio device (s390x Secure Execution)"},
  {"viommu", ic_cmd_domain_viommu, "add, update or remove the vIOMMU with what it needs"},
  {"hostdev", ic_cmd_domain_hostdev, "add PCI hostdevs (optionally whole IOMMU groups)"},
  {"memlock", ic_cmd_domain_memlock, "the RLIMIT_MEMLOCK a guest needs, explained"},
  {"qemu-args", ic_cmd_domain_qemu_args, "the QEMU command line a domain XML means"},
  {"bypass", ic_cmd_domain_bypass, "per-host-bridge IOMMU bypass (bypass_iommu / default_bus_bypass_iommu)"},
  {NULL},
};

static const IcCommand policy_commands[] = {
  {"resolve", ic_cmd_policy_resolve, "Nova's vIOMMU and locked-memory decision for a flavor, image and host"},
  {NULL},
};

static const IcCommand placement_commands[] = {
  {"sync", ic_cmd_placement_sync, "publish this host's traits and assignable groups on its resource provider"},
  {NULL},
};

static const IcCommand nova_commands[] = {
  {"pci-config", ic_cmd_nova_pci_config, "[pci] device_spec and alias for whole assignable groups"},
  {NULL},
};

static const IcCommand export_commands[] = {
  {"nfd", ic_cmd_export_nfd, "Node Feature Discovery local feature file (features.d)"},
  {"kubevirt", ic_cmd_export_kubevirt, "KubeVirt permittedHostDevices.pciHostDevices"},
  {"proxmox", ic_cmd_export_proxmox, "Proxmox /etc/pve/mapping/pci.cfg entries, a whole group together"},
  {"prometheus", ic_cmd_export_prometheus, "metrics for node_exporter's textfile collector"},
  {NULL},
};

static int cmd_domain(IcCli *cli, int argc, char **argv);
static int cmd_policy(IcCli *cli, int argc, char **argv);
static int cmd_placement(IcCli *cli, int argc, char **argv);
static int cmd_nova(IcCli *cli, int argc, char **argv);
static int cmd_export(IcCli *cli, int argc, char **argv);
static int cmd_version(IcCli *cli, int argc, char **argv);
static int cmd_help(IcCli *cli, int argc, char **argv);

static const IcCommand commands[] = {
  {"report", ic_cmd_report, "readiness verdict and every IOMMU group (default)"},
  {"groups", ic_cmd_groups, "IOMMU groups with members and verdicts (--dot for Graphviz)"},
  {"show", ic_cmd_show, "one device or group in detail (--xml: libvirt nodedev format)"},
  {"check", ic_cmd_check, "host readiness check, PASS/WARN/FAIL with fixes"},
  {"snapshot", ic_cmd_snapshot, "copy what iommuctl reads of sysfs/proc into a directory"},
  {"plan", ic_cmd_plan, "what detaching these devices would do to their whole groups"},
  {"detach", ic_cmd_detach, "bind whole groups to vfio-pci, journaled and rolled back on failure"},
  {"reattach", ic_cmd_reattach, "return devices to the exact driver they had"},
  {"status", ic_cmd_status, "what iommuctl has detached, and unfinished operations"},
  {"recover", ic_cmd_recover, "bring groups back to a consistent state after a crash"},
  {"persist", ic_cmd_persist, "bind whole groups to vfio-pci now and at every boot; --list, --verify"},
  {"unpersist", ic_cmd_unpersist, "remove what persist wrote and give the devices back"},
  {"diff", ic_cmd_diff, "what changed between two snapshots (or a snapshot and this host)"},
  {"domain", cmd_domain, "domain XML verbs: lint protect viommu hostdev memlock qemu-args bypass"},
  {"run", ic_cmd_run, "lint, detach, launch QEMU for a domain XML, reattach on exit"},
  {"version", cmd_version, "print the version"},
  {"help", cmd_help, "this list"},
  {NULL},
};

/* The fleet group: the host's truth for the schedulers operators run. */
static const IcCommand fleet_commands[] = {
  {"policy", cmd_policy, "cloud policy verbs: resolve"},
  {"traits", ic_cmd_traits, "the placement traits this host offers (Nova and CUSTOM_*)"},
  {"place", ic_cmd_fleet_place, "ask Placement (--placement) or filter fleet files for a vIOMMU request"},
  {"placement", cmd_placement, "OpenStack Placement verbs: sync"},
  {"nova", cmd_nova, "Nova verbs: pci-config"},
  {"export", cmd_export, "export verbs: nfd kubevirt proxmox prometheus"},
  {NULL},
};

static void
print_command_list(FILE *out, const char *prefix, const IcCommand *table)
{
  for (const IcCommand *c = table; c->name; c++)
    fprintf(out, "  %s%-12s %s\n", prefix, c->name, c->summary);
}

static void
print_usage(FILE *out)
{
  fprintf(out,
          "Usage: iommuctl [COMMAND] [OPTIONS...]\n\n"
          "The IOMMU layer of KVM virtualization: host groups, safe vfio-pci assignment,\n"
          "libvirt domain XML, QEMU command lines and Nova policy.\n\n"
          "Commands:\n");
  print_command_list(out, "", commands);
  fprintf(out, "\nFleet commands (feed the schedulers: Placement, Nova, Kubernetes, Proxmox, Prometheus):\n");
  print_command_list(out, "", fleet_commands);
  fprintf(out, "\nDomain verbs (iommuctl domain VERB):\n");
  print_command_list(out, "", domain_commands);
  fprintf(out,
          "\nWithout a command, iommuctl runs 'report'. 'iommuctl COMMAND --help' lists a\n"
          "command's options; every command takes --json, --sysfs-root DIR, --proc-root DIR.\n"
          "Exit status: 0 ok, 1 negative result, 2 invalid input, 3 operational failure.\n");
}

static gboolean
global_option_takes_value(const char *arg)
{
  static const char *const with_value[] = {"--sysfs-root", "--proc-root", "--state-dir", NULL};
  for (int i = 0; with_value[i]; i++)
    if (strcmp(arg, with_value[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Index of the first positional argument at or after 'from', or -1. */
static int
find_verb(int argc, char **argv, int from)
{
  for (int i = from; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return -1;
    if (argv[i][0] != '-')
      return i;
    if (global_option_takes_value(argv[i]))
      i++;
  }
  return -1;
}

/* Move argv[verb] to argv[base] so that options before the verb still
 * reach the command's own parser. */
static void
hoist_verb(char **argv, int base, int verb)
{
  char *v = argv[verb];
  memmove(&argv[base + 1], &argv[base], sizeof(char *) * (size_t) (verb - base));
  argv[base] = v;
}

static const IcCommand *
lookup(const IcCommand *table, const char *name)
{
  for (const IcCommand *c = table; c->name; c++)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

static int
dispatch_sub(IcCli *cli, int argc, char **argv, const IcCommand *table, const char *group)
{
  int verb = find_verb(argc, argv, 1);
  if (verb < 0) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
      fprintf(stdout, "Usage: iommuctl %s VERB [OPTIONS...]\n\nVerbs:\n", group);
      print_command_list(stdout, "", table);
      return IC_EXIT_OK;
    }
    fprintf(stderr, "iommuctl %s: missing verb. Verbs:\n", group);
    print_command_list(stderr, "", table);
    return IC_EXIT_USAGE;
  }
  const IcCommand *c = lookup(table, argv[verb]);
  if (c == NULL) {
    fprintf(stderr, "iommuctl %s: unknown verb '%s'. Verbs:\n", group, argv[verb]);
    print_command_list(stderr, "", table);
    return IC_EXIT_USAGE;
  }
  hoist_verb(argv, 1, verb);
  g_autofree char *name = g_strdup_printf("%s %s", group, c->name);
  cli->command = name;
  /* the sub-verb becomes argv[0] of the command */
  return c->fn(cli, argc - 1, argv + 1);
}

static int
cmd_domain(IcCli *cli, int argc, char **argv)
{
  return dispatch_sub(cli, argc, argv, domain_commands, "domain");
}

static int
cmd_policy(IcCli *cli, int argc, char **argv)
{
  return dispatch_sub(cli, argc, argv, policy_commands, "policy");
}

static int
cmd_placement(IcCli *cli, int argc, char **argv)
{
  return dispatch_sub(cli, argc, argv, placement_commands, "placement");
}

static int
cmd_nova(IcCli *cli, int argc, char **argv)
{
  return dispatch_sub(cli, argc, argv, nova_commands, "nova");
}

static int
cmd_export(IcCli *cli, int argc, char **argv)
{
  return dispatch_sub(cli, argc, argv, export_commands, "export");
}

static int
cmd_version(IcCli *cli, int argc, char **argv)
{
  int status;
  if (!ic_cli_parse(cli, &argc, &argv, "", "print the version", NULL, &status))
    return status;
  printf("iommuctl %s\n", IOMMUCTL_VERSION);
  return IC_EXIT_OK;
}

static int
cmd_help(IcCli *cli, int argc, char **argv)
{
  (void) cli, (void) argc, (void) argv;
  print_usage(stdout);
  return IC_EXIT_OK;
}

int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  g_autoptr(IcContext) ctx = ic_context_new();
  IcCli cli = {.ctx = ctx, .prog = "iommuctl", .command = "report"};

  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    print_usage(stdout);
    return IC_EXIT_OK;
  }
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("iommuctl %s\n", IOMMUCTL_VERSION);
    return IC_EXIT_OK;
  }

  int verb = find_verb(argc, argv, 1);
  if (verb < 0) /* no command: the host report, with whatever options were given */
    return ic_cmd_report(&cli, argc, argv);

  const IcCommand *c = lookup(commands, argv[verb]);
  if (c == NULL)
    c = lookup(fleet_commands, argv[verb]);
  if (c == NULL) {
    fprintf(stderr, "iommuctl: unknown command '%s'. Try 'iommuctl --help'.\n", argv[verb]);
    return IC_EXIT_USAGE;
  }
  hoist_verb(argv, 1, verb);
  cli.command = c->name;
  return c->fn(&cli, argc - 1, argv + 1);
}
