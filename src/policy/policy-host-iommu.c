/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The CUSTOM_* facts come from the host layer (include/iommuctl/host.h);
 * until it is on main they stay unknown, and the traits say so. */
#include "policy/policy-private.h"

void
ic_policy_host_probe_iommu(IcContext *ctx, IcPolicyHost *host)
{
  (void) ctx, (void) host;
}
