/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli/cmd-stub.h"
IC_CMD_NOT_YET(ic_cmd_plan)
IC_CMD_NOT_YET(ic_cmd_detach)
IC_CMD_NOT_YET(ic_cmd_reattach)
IC_CMD_NOT_YET(ic_cmd_status)
IC_CMD_NOT_YET(ic_cmd_recover)
