/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Locked guest memory: Nova's get_locked_memory_constraint (hardware.py)
 * with the fixed error classes of bug 2158972 (both refusals are HTTP 400),
 * plus the implicit locks Nova applies for realtime and memory encryption. */
#include "policy/policy-private.h"

static const char *
py_bool(gboolean b)
{
  return b ? "True" : "False";
}

static gboolean
truthy(const char *v)
{
  return v != NULL && *v != '\0';
}

/* _get_numa_pagesize_constraint runs before the lock check: a page size in
 * the image alone is refused, so at the API a lock needs the flavor's size. */
static gboolean
check_page_size(const IcPolicyInput *in, IcPolicyDecision *d, GError **error)
{
  const char *psf = g_hash_table_lookup(in->flavor, "hw:mem_page_size");
  const char *psi = g_hash_table_lookup(in->image, "hw_mem_page_size");
  if (in->compute_only || truthy(psf) || !truthy(psi))
    return TRUE;
  ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "MemoryPageSizeForbidden", "api", 400,
                  "Page size %s forbidden against '<empty>'", psi);
  return FALSE;
}

static gboolean
explicit_lock(const IcPolicyInput *in, IcPolicyDecision *d, GError **error)
{
  const char *lf = g_hash_table_lookup(in->flavor, "hw:locked_memory");
  const char *li = g_hash_table_lookup(in->image, "hw_locked_memory");
  const char *psf = g_hash_table_lookup(in->flavor, "hw:mem_page_size");
  const char *psi = g_hash_table_lookup(in->image, "hw_mem_page_size");
  /* the image field is a FlexibleBoolean: unknown words are False */
  gboolean image_val = li != NULL && ic_policy_oslo_bool(li) == 1;

  if (lf != NULL) {
    gboolean flavor_val = ic_policy_oslo_bool(lf) == 1;
    if (li != NULL && flavor_val != image_val) {
      ic_policy_fault(d, error, IC_ERROR_CONFLICT, "FlavorImageLockedMemoryConflict", "api", 400,
                      "locked_memory value in image (%s) and flavor (%s) conflict. A consistent "
                      "value is expected if both specified.", py_bool(image_val), py_bool(flavor_val));
      return FALSE;
    }
    d->locked = flavor_val ? IC_POLICY_TRUE : IC_POLICY_FALSE;
    d->locked_rule = g_strdup_printf("flavor hw:locked_memory=%s", lf);
  } else if (li != NULL) {
    d->locked = image_val ? IC_POLICY_TRUE : IC_POLICY_FALSE;
    d->locked_rule = g_strdup_printf("image hw_locked_memory=%s", li);
  } else {
    d->locked = IC_POLICY_UNSET;
    d->locked_rule = g_strdup("neither flavor hw:locked_memory nor image hw_locked_memory is set");
  }
  if (d->locked == IC_POLICY_TRUE && !truthy(psf) && !truthy(psi)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "LockMemoryForbidden", "api", 400,
                    "locked_memory value in image or flavor is forbidden when mem_page_size is not set.");
    return FALSE;
  }
  return TRUE;
}

static const char *
cpu_policy(const IcPolicyInput *in)
{
  const char *f = g_hash_table_lookup(in->flavor, "hw:cpu_policy");
  return f ? f : g_hash_table_lookup(in->image, "hw_cpu_policy");
}

/* Realtime vCPUs need pinned, locked, unshared memory; Nova locks it
 * whatever hw:locked_memory says. */
static gboolean
implicit_locks(const IcPolicyInput *in, const char *machine_type, IcPolicyDecision *d, GError **error)
{
  const char *rt = g_hash_table_lookup(in->flavor, "hw:cpu_realtime");
  if (rt != NULL && ic_policy_oslo_bool(rt) == 1) {
    if (g_strcmp0(cpu_policy(in), "dedicated") != 0) {
      ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "RealtimeConfigurationInvalid", "api", 400,
                      "Cannot set realtime policy in a non dedicated cpu pinning policy");
      return FALSE;
    }
    if (d->locked == IC_POLICY_FALSE)
      g_ptr_array_add(d->notes, g_strdup("hw:locked_memory=False does not unlock realtime memory (as in Nova)"));
    d->locked = IC_POLICY_TRUE;
    g_free(d->locked_rule);
    d->locked_rule = g_strdup("flavor hw:cpu_realtime with hw:cpu_policy=dedicated locks memory");
    d->nosharepages = TRUE;
  }
  const char *ef = g_hash_table_lookup(in->flavor, "hw:mem_encryption");
  const char *ei = g_hash_table_lookup(in->image, "hw_mem_encryption");
  if ((ef && ic_policy_oslo_bool(ef) == 1) || (ei && ic_policy_oslo_bool(ei) == 1)) {
    const char *model = g_hash_table_lookup(in->image, "hw_mem_encryption_model");
    if (d->locked == IC_POLICY_FALSE)
      g_ptr_array_add(d->notes, g_strdup("hw:locked_memory=False does not unlock encrypted memory (as in Nova master)"));
    d->locked = IC_POLICY_TRUE;
    g_free(d->locked_rule);
    d->locked_rule = g_strdup_printf("memory encryption (%s, machine type %s) needs locked memory",
                                     model ? model : "amd-sev", machine_type ? machine_type : "none");
  }
  return TRUE;
}

gboolean
ic_policy_locked_memory(const IcPolicyInput *in, const char *machine_type, IcPolicyDecision *d,
                        GError **error)
{
  return check_page_size(in, d, error) && explicit_lock(in, d, error) &&
         implicit_locks(in, machine_type, d, error);
}
