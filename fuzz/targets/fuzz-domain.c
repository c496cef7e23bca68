/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: domain XML parse + lint + protect + viommu, and the invariants
 * that must hold on any input: an untouched document round-trips byte for
 * byte, and protect is idempotent. */
#include <iommuctl/domain.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  IcDomainDoc *doc = ic_domain_doc_parse((const char *) data, size, "fuzz.xml", NULL);
  if (doc == NULL)
    return 0;
  gsize len;
  const char *text = ic_domain_doc_bytes(doc, &len);
  if (len != size || memcmp(text, data, size) != 0)
    __builtin_trap(); /* untouched documents must round-trip */
  IcLintOptions opts = {.host_aw_bits = 39};
  g_ptr_array_unref(ic_domain_lint(doc, &opts));
  IcProtectReport r;
  ic_protect_report_init(&r);
  if (ic_domain_protect(doc, TRUE, &r, NULL)) {
    ic_protect_report_clear(&r);
    ic_protect_report_init(&r);
    gboolean was_changed = ic_domain_doc_changed(doc);
    g_autofree char *once = g_strdup(ic_domain_doc_bytes(doc, NULL));
    if (ic_domain_protect(doc, TRUE, &r, NULL) && strcmp(once, ic_domain_doc_bytes(doc, NULL)) != 0)
      __builtin_trap(); /* protect must be idempotent */
    (void) was_changed;
  }
  ic_protect_report_clear(&r);
  IcViommuRequest req;
  ic_viommu_request_init(&req);
  req.model = (size & 1) ? IC_VIOMMU_INTEL : IC_VIOMMU_AUTO;
  req.host_aw_bits = 48;
  if (ic_domain_viommu_set(doc, &req, NULL, NULL))
    g_ptr_array_unref(ic_domain_lint(doc, &opts));
  ic_domain_doc_free(doc);
  return 0;
}
