/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder body for commands whose module has not landed yet. */
#pragma once
#include "cli/cli.h"
#define IC_CMD_NOT_YET(fn)                                                   \
  int fn(IcCli *cli, int argc, char **argv)                                  \
  {                                                                          \
    (void) argc, (void) argv;                                                \
    return ic_cli_fail(cli, g_error_new(IC_ERROR, IC_ERROR_UNSUPPORTED,      \
                                        "not implemented yet"));             \
  }
