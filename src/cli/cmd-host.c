/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli/cmd-stub.h"
IC_CMD_NOT_YET(ic_cmd_report)
IC_CMD_NOT_YET(ic_cmd_groups)
IC_CMD_NOT_YET(ic_cmd_show)
IC_CMD_NOT_YET(ic_cmd_check)
IC_CMD_NOT_YET(ic_cmd_snapshot)
