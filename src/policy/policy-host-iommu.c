/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CUSTOM_* facts come from the host layer's inventory: iommufd,
 * interrupt remapping, the IOMMU address width and assignable groups. */
#include "policy/policy-private.h"
#include <iommuctl/host.h>

void
ic_policy_host_probe_iommu(IcContext *ctx, IcPolicyHost *host)
{
  g_autoptr(GError) error = NULL;
  /* names are not needed; host use is, since it decides assignability */
  IcInventory *inv = ic_inventory_get(ctx, IC_INVENTORY_NO_NAMES, &error);
  if (inv == NULL) {
    g_debug("no host inventory, CUSTOM_* traits stay unknown: %s", error->message);
    return;
  }
  const IcHostInfo *hi = ic_inventory_host(inv);
  host->iommufd = hi->dev_iommu ? 1 : 0;
  host->interrupt_remapping = hi->interrupt_remapping;
  host->iommu_address_width = hi->address_width;
  host->assignable_groups = (int) hi->n_assignable_groups;
  if (host->arch == NULL && hi->arch != NULL)
    host->arch = ic_policy_canonical_arch(hi->arch);
}
