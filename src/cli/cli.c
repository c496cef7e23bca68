/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli/cli.h"
#include "ic-config.h"

#include <stdio.h>
#include <unistd.h>

static gboolean
want_color(const IcCli *cli)
{
  if (cli->no_color || g_getenv("NO_COLOR") != NULL)
    return FALSE;
  const char *term = g_getenv("TERM");
  if (term == NULL || strcmp(term, "dumb") == 0)
    return FALSE;
  return isatty(STDOUT_FILENO);
}

gboolean
ic_cli_parse(IcCli *cli, int *argc, char ***argv, const char *parameter_string,
             const char *summary, const GOptionEntry *entries, int *exit_status)
{
  g_autofree char *sysfs_root = NULL, *proc_root = NULL, *state_dir = NULL;
  gboolean verbose = FALSE;
  GOptionEntry global[] = {
    {"sysfs-root", 0, 0, G_OPTION_ARG_FILENAME, &sysfs_root,
     "Root of the host filesystem to read (/sys, /dev, /lib/modules); env IOMMUCTL_SYSFS_ROOT", "DIR"},
    {"proc-root", 0, 0, G_OPTION_ARG_FILENAME, &proc_root,
     "Root for /proc (default: the sysfs root); env IOMMUCTL_PROC_ROOT", "DIR"},
    {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
     "Journal directory (default " IOMMUCTL_DEFAULT_STATE_DIR "); env IOMMUCTL_STATE_DIR", "DIR"},
    {"json", 0, 0, G_OPTION_ARG_NONE, &cli->json, "Machine-readable JSON output (schemas in docs/json/)", NULL},
    {"no-color", 0, 0, G_OPTION_ARG_NONE, &cli->no_color, "Never colour the output", NULL},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Say more about what is done", NULL},
    {NULL},
  };
  g_autoptr(GOptionContext) oc = g_option_context_new(parameter_string);
  g_autofree char *summary_line = g_strdup_printf("%s %s — %s", cli->prog, cli->command, summary);
  g_option_context_set_summary(oc, summary_line);
  if (entries != NULL)
    g_option_context_add_main_entries(oc, entries, NULL);
  GOptionGroup *g = g_option_group_new("global", "Options of every command:", "Show global options", NULL, NULL);
  g_option_group_add_entries(g, global);
  g_option_context_add_group(oc, g);
  g_option_context_set_strict_posix(oc, FALSE);

  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(oc, argc, argv, &error)) {
    fprintf(stderr, "%s %s: %s\nTry '%s %s --help'.\n", cli->prog, cli->command, error->message,
            cli->prog, cli->command);
    *exit_status = IC_EXIT_USAGE;
    return FALSE;
  }
  ic_context_load_env(cli->ctx);
  if (sysfs_root != NULL)
    ic_context_set_sysfs_root(cli->ctx, sysfs_root);
  if (proc_root != NULL)
    ic_context_set_proc_root(cli->ctx, proc_root);
  if (state_dir != NULL)
    ic_context_set_state_dir(cli->ctx, state_dir);
  cli->ctx->verbose = verbose;
  cli->ctx->color = !cli->json && want_color(cli);
  *exit_status = IC_EXIT_OK;
  return TRUE;
}

int
ic_cli_fail(IcCli *cli, GError *error)
{
  int status = ic_error_exit_status(error);
  fprintf(stderr, "%s %s: %s\n", cli->prog, cli->command, error ? error->message : "failed");
  g_clear_error(&error);
  return status;
}

int
ic_cli_usage_error(IcCli *cli, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s %s: %s\nTry '%s %s --help'.\n", cli->prog, cli->command, msg, cli->prog, cli->command);
  return IC_EXIT_USAGE;
}

gboolean
ic_cli_parse_addrs(IcCli *cli, int argc, char **argv, GArray *out, int *status)
{
  for (int i = 1; i < argc; i++) {
    IcPciAddr a;
    g_autoptr(GError) error = NULL;
    if (!ic_pci_addr_parse(argv[i], &a, &error)) {
      *status = ic_cli_fail(cli, g_steal_pointer(&error));
      return FALSE;
    }
    g_array_append_val(out, a);
  }
  return TRUE;
}
