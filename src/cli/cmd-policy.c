/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli/cmd-stub.h"
IC_CMD_NOT_YET(ic_cmd_policy_resolve)
IC_CMD_NOT_YET(ic_cmd_traits)
IC_CMD_NOT_YET(ic_cmd_place)
