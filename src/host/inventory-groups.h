/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An inventory of some IOMMU groups only, for the verbs that act on a few
 * groups (detach, persist: the assign layer's plan) and must not pay for
 * reading every device of the host. */
#pragma once

#include "iommuctl/host.h"

G_BEGIN_DECLS

/* Like ic_inventory_load(), but reads only the members of the given groups
 * (iommu_groups/N/devices) and every bridge or port above them, so that
 * each loaded group gets the same members, reasons and verdict as in a
 * whole scan, and each member the same host uses (mounts, routes, console
 * traced to it), parent chain, ACS and reset facts.  What it does not have:
 * the other groups (ic_inventory_find_group() finds only these; a bridge
 * above them has group == NULL when its own group was not asked for),
 * SR-IOV links (physfn/virtfns), and host counters beyond these groups
 * (n_groups, n_assignable_groups, default_domain_type).  A group with no
 * iommu_groups/N directory is IC_ERROR_NOT_FOUND. */
gboolean ic_inventory_load_groups(IcContext *ctx, IcInventoryFlags flags, const int *numbers,
                                  guint n_numbers, IcInventory **out, GError **error);

G_END_DECLS
