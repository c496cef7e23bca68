/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Umbrella header of libiommuctl: every public layer, bottom up. */
#pragma once

#include <iommuctl/error.h>
#include <iommuctl/context.h>
#include <iommuctl/pciaddr.h>
#include <iommuctl/host.h>
#include <iommuctl/assign.h>
#include <iommuctl/domain.h>
#include <iommuctl/domain-edit.h>
#include <iommuctl/qemu.h>
#include <iommuctl/policy.h>
#include <iommuctl/persist.h>
#include <iommuctl/fleet.h>
