/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Umbrella header of libiommuctl. */
#pragma once

#include <iommuctl/error.h>
#include <iommuctl/context.h>
