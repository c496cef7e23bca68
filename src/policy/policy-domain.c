/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Applying a decision to a domain XML goes through the domain layer
 * (include/iommuctl/domain.h); policy never edits domain XML itself. */
#include "policy/policy-private.h"

char *
ic_policy_apply_to_domain(const IcPolicyDecision *d, const char *xml, const char *path, GError **error)
{
  (void) d, (void) xml;
  g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED,
              "%s: editing domain XML needs the domain layer, which is not built in yet", path);
  return NULL;
}
