/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Locked guest memory: Nova's get_locked_memory_constraint (hardware.py)
 * with the fixed error classes of bug 2158972 (both refusals are HTTP 400),
 * plus the implicit locks Nova applies for realtime and memory encryption,
 * with Nova master's memory-encryption models (SEV and SEV-ES lock guest
 * memory, SEV-SNP does not), their constraints and the page-size rules. */
#include "policy/policy-private.h"

/* Flavor and image names are not part of iommuctl's input: Nova's texts
 * name them, so they read as Nova prints a missing name. */
#define NOVA_NO_NAME "None"
#define NOVA_NO_IMAGE_ID "<no-id>"

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

/* check_and_return_pages_size: the three words, a number of KiB, or a size
 * oslo's string_to_bytes reads (IEC: a unit suffix b, bit or B is required,
 * so "2M" is refused while "2MB" and "2048" are not). */
typedef enum { PAGES_SIZE, PAGES_ANY, PAGES_LARGE, PAGES_SMALL } PagesKind;

static gboolean
nova_page_size(const char *request, PagesKind *kind)
{
  *kind = PAGES_SIZE;
  if (strcmp(request, "any") == 0)
    *kind = PAGES_ANY;
  else if (strcmp(request, "large") == 0)
    *kind = PAGES_LARGE;
  else if (strcmp(request, "small") == 0)
    *kind = PAGES_SMALL;
  else if (!g_regex_match_simple("^[0-9]+$", request, 0, 0) &&
           !g_regex_match_simple("^[-+]?[0-9]*\\.?[0-9]+([KMGT]i?)?(b|bit|B)$", request, 0, 0))
    return FALSE;
  return TRUE;
}

/* _get_numa_pagesize_constraint runs before the lock check: a page size in
 * the image alone is refused, so at the API a lock needs the flavor's size;
 * a size Nova cannot read is MemoryPageSizeInvalid, an image size against a
 * flavor that did not allow one (any/large) MemoryPageSizeForbidden. */
static gboolean
check_page_size(const IcPolicyInput *in, IcPolicyDecision *d, GError **error)
{
  const char *psf = g_hash_table_lookup(in->flavor, "hw:mem_page_size");
  const char *psi = g_hash_table_lookup(in->image, "hw_mem_page_size");
  if (in->compute_only || (!truthy(psf) && !truthy(psi)))
    return TRUE;
  if (!truthy(psf)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "MemoryPageSizeForbidden", "api", 400,
                    "Page size %s forbidden against '<empty>'", psi);
    return FALSE;
  }
  PagesKind kf, ki;
  if (!nova_page_size(psf, &kf)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "MemoryPageSizeInvalid", "api", 400,
                    "Invalid memory page size '%s'", psf);
    return FALSE;
  }
  if (!truthy(psi))
    return TRUE;
  if (kf != PAGES_ANY && kf != PAGES_LARGE) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "MemoryPageSizeForbidden", "api", 400,
                    "Page size %s forbidden against '%s'", psi, psf);
    return FALSE;
  }
  if (!nova_page_size(psi, &ki)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "MemoryPageSizeInvalid", "api", 400,
                    "Invalid memory page size '%s'", psi);
    return FALSE;
  }
  return TRUE;
}

/* ---- memory encryption (get_mem_encryption_constraint, Nova master) ---------- */

typedef enum { ENC_NONE, ENC_SEV, ENC_SEV_ES, ENC_SEV_SNP } EncModel;

/* The model requested, after Nova's conflict and platform checks; machine_type
 * is NULL at the API (only the image's hw_machine_type is known there). */
static gboolean
mem_encryption(const IcPolicyInput *in, const char *machine_type, const char *stage, EncModel *out,
               IcPolicyDecision *d, GError **error)
{
  int http = strcmp(stage, "api") == 0 ? 400 : 0;
  const char *ef = g_hash_table_lookup(in->flavor, "hw:mem_encryption");
  const char *ei = g_hash_table_lookup(in->image, "hw_mem_encryption");
  int fv = ef ? ic_policy_oslo_bool(ef) == 1 : -1;   /* bool_from_string, non-strict */
  int iv = ei ? ic_policy_oslo_bool(ei) == 1 : -1;   /* FlexibleBooleanField */
  *out = ENC_NONE;
  if (fv != 1 && iv != 1)
    return TRUE;
  if (fv >= 0 && iv >= 0 && fv != iv) {
    ic_policy_fault(d, error, IC_ERROR_CONFLICT, "FlavorImageConflict", stage, http,
                    "Flavor %s has hw:mem_encryption extra spec explicitly set to %s, conflicting with image %s "
                    "which has hw_mem_encryption property explicitly set to %s",
                    NOVA_NO_NAME, ef, NOVA_NO_NAME, py_bool(iv == 1));
    return FALSE;
  }
  g_autoptr(GString) requesters = g_string_new(NULL);
  if (fv == 1)
    g_string_append_printf(requesters, "hw:mem_encryption extra spec in %s flavor", NOVA_NO_NAME);
  if (iv == 1)
    g_string_append_printf(requesters, "%shw_mem_encryption property of image %s", requesters->len ? " and " : "",
                           NOVA_NO_IMAGE_ID);

  const char *mf = g_hash_table_lookup(in->flavor, "hw:mem_encryption_model");
  const char *mi = g_hash_table_lookup(in->image, "hw_mem_encryption_model");
  if (mf != NULL && mi != NULL && strcmp(mf, mi) != 0) {
    ic_policy_fault(d, error, IC_ERROR_CONFLICT, "FlavorImageConflict", stage, http,
                    "Flavor %s has hw:mem_encryption_model extra spec explicitly set to %s, conflicting with "
                    "image %s which has hw_mem_encryption_model property explicitly set to %s",
                    NOVA_NO_NAME, mf, NOVA_NO_NAME, mi);
    return FALSE;
  }
  const char *model = truthy(mi) ? mi : truthy(mf) ? mf : "amd-sev";
  EncModel m = strcmp(model, "amd-sev") == 0      ? ENC_SEV
             : strcmp(model, "amd-sev-es") == 0   ? ENC_SEV_ES
             : strcmp(model, "amd-sev-snp") == 0  ? ENC_SEV_SNP
                                                  : ENC_NONE;
  if (m == ENC_NONE) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "Invalid", stage, http,
                    "Invalid memory encryption model '%s'. Allowed values: amd-sev, amd-sev-es, amd-sev-snp.", model);
    return FALSE;
  }
  /* MemEncryptionConfigSev.check_constraints: UEFI, then a q35 machine */
  const char *fw = g_hash_table_lookup(in->image, "hw_firmware_type");
  if (g_strcmp0(fw, "uefi") != 0) {
    ic_policy_fault(d, error, IC_ERROR_CONFLICT, "FlavorImageConflict", stage, http,
                    "Memory encryption is requested by %s but the image metadata doesn't have the "
                    "'hw_firmware_type' property set to 'uefi'", requesters->str);
    return FALSE;
  }
  const char *mach = machine_type ? machine_type : g_hash_table_lookup(in->image, "hw_machine_type");
  if (mach != NULL && strstr(mach, "q35") == NULL) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "InvalidMachineType", stage, http,
                    "Machine type '%s' is not compatible with image %s (%s): q35 type is required for SEV to work",
                    mach, NOVA_NO_NAME, NOVA_NO_IMAGE_ID);
    return FALSE;
  }
  /* SEV-SNP also needs stateless firmware (get_stateless_firmware_constraint) */
  const char *stateless = g_hash_table_lookup(in->image, "hw_firmware_stateless");
  if (m == ENC_SEV_SNP && (stateless == NULL || ic_policy_oslo_bool(stateless) != 1)) {
    ic_policy_fault(d, error, IC_ERROR_INVALID_ARG, "StatelessFirmwareRequired", stage, http,
                    "The amd-sev-snp memory encryption model requires stateless firmware but the image metadata "
                    "doesn't have the 'hw_firmware_stateless' property set to True");
    return FALSE;
  }
  *out = m;
  return TRUE;
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
  /* get_locked_memory_constraint returns early for an explicit lock; only
   * otherwise does the encryption model decide (SEV, SEV-ES: locked;
   * SEV-SNP: not, it pins memory itself) */
  if (d->locked == IC_POLICY_TRUE && in->compute_only)
    return TRUE;
  EncModel m;
  if (!mem_encryption(in, machine_type, in->compute_only ? "compute" : "api", &m, d, error))
    return FALSE;
  if (m == ENC_SEV || m == ENC_SEV_ES) {
    if (d->locked == IC_POLICY_FALSE)
      g_ptr_array_add(d->notes, g_strdup("hw:locked_memory=False does not unlock encrypted memory (as in Nova master)"));
    d->locked = IC_POLICY_TRUE;
    g_free(d->locked_rule);
    d->locked_rule = g_strdup_printf("memory encryption (%s, machine type %s) needs locked memory",
                                     m == ENC_SEV ? "amd-sev" : "amd-sev-es", machine_type ? machine_type : "none");
  } else if (m == ENC_SEV_SNP) {
    g_ptr_array_add(d->notes, g_strdup("amd-sev-snp memory encryption needs no locked memory (Nova master)"));
  }
  return TRUE;
}

gboolean
ic_policy_locked_memory(const IcPolicyInput *in, const char *machine_type, IcPolicyDecision *d,
                        GError **error)
{
  EncModel m;
  /* the API validates the encryption request first (_validate_flavor_image_nostatus,
   * with only the image's machine type), then the NUMA constraints */
  if (!in->compute_only && !mem_encryption(in, NULL, "api", &m, d, error))
    return FALSE;
  return check_page_size(in, d, error) && explicit_lock(in, d, error) &&
         implicit_locks(in, machine_type, d, error);
}
