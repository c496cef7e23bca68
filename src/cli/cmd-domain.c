/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cli/cmd-stub.h"
IC_CMD_NOT_YET(ic_cmd_domain_lint)
IC_CMD_NOT_YET(ic_cmd_domain_protect)
IC_CMD_NOT_YET(ic_cmd_domain_viommu)
IC_CMD_NOT_YET(ic_cmd_domain_hostdev)
IC_CMD_NOT_YET(ic_cmd_domain_memlock)
