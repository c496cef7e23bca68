/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Applying a decision to a domain XML goes through the domain layer
 * (include/iommuctl/domain.h); policy never edits domain XML itself.  The
 * result is linted with the same rules as `iommuctl domain lint`. */
#include "policy/policy-private.h"

#include <string.h>

static IcTristate
tri(gboolean on)
{
  return on ? IC_TRI_ON : IC_TRI_OFF;
}

/* The domain's arch and machine must be the ones the decision was made for:
 * the vIOMMU rules are about that machine. */
static gboolean
check_domain_matches(const IcPolicyDecision *d, const IcDomainDef *def, const char *path, GError **error)
{
  g_autofree char *arch = def->arch ? ic_policy_canonical_arch(def->arch) : NULL;
  if (def->arch != NULL && g_strcmp0(arch, d->arch) != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT,
                "%s: the domain's arch is %s but the decision is for %s (%s)", path, def->arch, d->arch,
                d->arch_rule);
    return FALSE;
  }
  if (d->model == IC_VIOMMU_NONE)
    return TRUE;
  if (def->machine == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT,
                "%s: <os><type> names no machine, so libvirt would pick its default; "
                "set machine='%s' for the vIOMMU", path, d->machine_type ? d->machine_type : "q35");
    return FALSE;
  }
  const char *needle = ic_policy_arch_is_x86(d->arch) ? "q35" : "virt";
  if (strstr(def->machine, needle) == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT,
                "%s: the domain's machine type is %s but the decision is for %s (%s)", path, def->machine,
                d->machine_type, d->machine_type_rule);
    return FALSE;
  }
  return TRUE;
}

static gboolean
apply_viommu(const IcPolicyDecision *d, IcDomainDoc *doc, guint host_aw_bits, GPtrArray *notes, GError **error)
{
  const IcDomainDef *def = ic_domain_doc_def(doc);
  if (d->model == IC_VIOMMU_NONE) {
    if (def->iommus->len == 0)
      return TRUE;
    if (notes)
      g_ptr_array_add(notes, g_strdup("removed the domain's <iommu>: the decision is no vIOMMU"));
    return ic_domain_viommu_remove(doc, error);
  }
  IcViommuRequest req;
  ic_viommu_request_init(&req);
  req.model = d->model;
  req.host_aw_bits = host_aw_bits;
  /* exactly the decision's attributes; "complete" then only adds what the
   * model needs to work in the guest (ACPI for virtio-iommu on x86) */
  req.complete = TRUE;
  if (d->has_driver) {
    req.intremap = tri(d->intremap);
    req.caching_mode = tri(d->caching_mode);
    req.eim = tri(d->eim);
    req.iotlb = tri(d->iotlb);
    req.aw_bits = d->aw_bits;
  }
  if (!ic_domain_viommu_set(doc, &req, notes, error))
    return FALSE;
  /* Nova's <ioapic driver='qemu'/>, on x86 only (D2) */
  if (d->ioapic_qemu && !ic_domain_ensure_split_ioapic(doc, error))
    return FALSE;
  return TRUE;
}

static void
collect_lint(const IcDomainDoc *doc, const char *path, guint host_aw_bits, guint *errors, char **text)
{
  IcLintOptions opts = {.host_aw_bits = host_aw_bits};
  g_autoptr(GPtrArray) findings = ic_domain_lint(doc, &opts);
  g_ptr_array_set_free_func(findings, (GDestroyNotify) ic_lint_finding_free);
  GString *s = g_string_new(NULL);
  guint n = 0;
  for (guint i = 0; i < findings->len; i++) {
    const IcLintFinding *f = g_ptr_array_index(findings, i);
    if (f->severity < IC_LINT_ERROR)
      continue;
    n++;
    g_string_append_printf(s, "%s:%d: %s %s\n", path, f->line, f->code, f->message);
  }
  if (errors)
    *errors = n;
  if (text)
    *text = g_string_free(s, FALSE);
  else
    g_string_free(s, TRUE);
}

char *
ic_policy_apply_to_domain(const IcPolicyDecision *d, const char *xml, gsize len, const char *path,
                          guint host_aw_bits, GPtrArray *notes, guint *lint_errors, char **lint_text,
                          GError **error)
{
  if (d->fault_exception != NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: the request was refused (%s), nothing to apply",
                path, d->fault_exception);
    return NULL;
  }
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_parse(xml, len, path, error);
  if (doc == NULL)
    return NULL;
  const IcDomainDef *def = ic_domain_doc_def(doc);
  if (def->kind != IC_DOMAIN_DOC_DOMAIN) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: not a <domain> document", path);
    return NULL;
  }
  if (!check_domain_matches(d, def, path, error) || !apply_viommu(d, doc, host_aw_bits, notes, error))
    return NULL;
  /* Nova's child order: hugepages, nosharepages, locked */
  if (d->nosharepages && !ic_domain_set_nosharepages(doc, error))
    return NULL;
  if (d->locked == IC_POLICY_TRUE && !ic_domain_set_locked_memory(doc, error))
    return NULL;
  collect_lint(doc, path, host_aw_bits, lint_errors, lint_text);
  gsize out_len;
  const char *out = ic_domain_doc_bytes(doc, &out_len);
  return g_strndup(out, out_len);
}
