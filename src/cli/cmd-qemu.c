/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli/cmd-stub.h"
IC_CMD_NOT_YET(ic_cmd_domain_qemu_args)
IC_CMD_NOT_YET(ic_cmd_domain_bypass)
IC_CMD_NOT_YET(ic_cmd_run)
