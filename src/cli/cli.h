/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The thin CLI: option parsing, output selection, exit codes.  All real
 * work is in libiommuctl; a command function parses, calls one library
 * entry point, and prints. */
#pragma once

#include <glib.h>
#include <iommuctl/iommuctl.h>

typedef struct IcCli {
  IcContext *ctx;
  const char *prog;      /* "iommuctl" */
  const char *command;   /* "groups", "domain lint", ... for messages */
  gboolean json;         /* --json */
  gboolean no_color;     /* --no-color */
} IcCli;

typedef int (*IcCmdFunc)(IcCli *cli, int argc, char **argv);

typedef struct {
  const char *name;
  IcCmdFunc fn;
  const char *summary;
} IcCommand;

/* Parse a command's options together with the global ones (--sysfs-root,
 * --proc-root, --state-dir, --json, --no-color, --verbose).  On success the
 * remaining positional arguments are left in argc/argv (argv[0] is the
 * command).  On --help returns FALSE with *exit_status 0; on a usage error
 * prints it and returns FALSE with *exit_status 2. */
gboolean ic_cli_parse(IcCli *cli, int *argc, char ***argv,
                      const char *parameter_string, const char *summary,
                      const GOptionEntry *entries, int *exit_status);

/* Print "iommuctl <command>: <message>" on stderr; returns the exit status
 * that belongs to the error (see ic_error_exit_status) and frees it. */
int ic_cli_fail(IcCli *cli, GError *error);
/* argv[1..argc-1] as PCI addresses appended to OUT (a GArray of IcPciAddr);
 * on the first bad one, report it and set *status to the exit status. */
gboolean ic_cli_parse_addrs(IcCli *cli, int argc, char **argv, GArray *out, int *status);

/* "iommuctl <command>: <message>" on stderr, exit status 2. */
int ic_cli_usage_error(IcCli *cli, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- commands, one file per module (cmd-<module>.c) --------------------- */
/* host (cmd-host.c) */
int ic_cmd_report(IcCli *cli, int argc, char **argv);
int ic_cmd_groups(IcCli *cli, int argc, char **argv);
int ic_cmd_show(IcCli *cli, int argc, char **argv);
int ic_cmd_check(IcCli *cli, int argc, char **argv);
int ic_cmd_snapshot(IcCli *cli, int argc, char **argv);
/* assign (cmd-assign.c) */
int ic_cmd_plan(IcCli *cli, int argc, char **argv);
int ic_cmd_detach(IcCli *cli, int argc, char **argv);
int ic_cmd_reattach(IcCli *cli, int argc, char **argv);
int ic_cmd_status(IcCli *cli, int argc, char **argv);
int ic_cmd_recover(IcCli *cli, int argc, char **argv);
/* persist (cmd-persist.c) */
int ic_cmd_persist(IcCli *cli, int argc, char **argv);
int ic_cmd_unpersist(IcCli *cli, int argc, char **argv);
int ic_cmd_diff(IcCli *cli, int argc, char **argv);
/* domain (cmd-domain.c): iommuctl domain <verb> */
int ic_cmd_domain_lint(IcCli *cli, int argc, char **argv);
int ic_cmd_domain_protect(IcCli *cli, int argc, char **argv);
int ic_cmd_domain_viommu(IcCli *cli, int argc, char **argv);
int ic_cmd_domain_hostdev(IcCli *cli, int argc, char **argv);
int ic_cmd_domain_memlock(IcCli *cli, int argc, char **argv);
/* qemu (cmd-qemu.c) */
int ic_cmd_domain_qemu_args(IcCli *cli, int argc, char **argv);
int ic_cmd_domain_bypass(IcCli *cli, int argc, char **argv);
int ic_cmd_run(IcCli *cli, int argc, char **argv);
/* policy (cmd-policy.c) */
int ic_cmd_policy_resolve(IcCli *cli, int argc, char **argv);
int ic_cmd_traits(IcCli *cli, int argc, char **argv);
int ic_cmd_place(IcCli *cli, int argc, char **argv);
/* fleet (cmd-fleet.c): placement, nova, export, and place --placement */
int ic_cmd_fleet_place(IcCli *cli, int argc, char **argv);
int ic_cmd_placement_sync(IcCli *cli, int argc, char **argv);
int ic_cmd_nova_pci_config(IcCli *cli, int argc, char **argv);
int ic_cmd_export_nfd(IcCli *cli, int argc, char **argv);
int ic_cmd_export_kubevirt(IcCli *cli, int argc, char **argv);
int ic_cmd_export_proxmox(IcCli *cli, int argc, char **argv);
int ic_cmd_export_prometheus(IcCli *cli, int argc, char **argv);
