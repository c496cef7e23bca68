/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal helpers of the fleet module. */
#pragma once

#include <iommuctl/fleet.h>
#include <iommuctl/error.h>
#include "util/ic-util.h"

#include <string.h>

/* Not a bridge and not a host bridge: a function a guest can be given. */
gboolean ic_fleet_is_endpoint(const IcPciDevice *dev);
/* Append a refusal (takes reason); refused may be NULL. */
void ic_fleet_refuse(GPtrArray *refused, int number, char *reason);
