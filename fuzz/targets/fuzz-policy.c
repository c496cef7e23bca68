/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the policy module's untrusted inputs.  First byte picks:
 *   'F' a fleet file (traits documents: JSON, array, NDJSON) + one request
 *   'R' request terms, one per line
 *   else resolve inputs, lines "f:KEY=VALUE" / "i:KEY=VALUE" / "d:ARCH=TYPE" */
#include <iommuctl/iommuctl.h>
#include <iommuctl/policy.h>

#include <string.h>

static void
fuzz_fleet(const char *data, gsize len)
{
  g_autoptr(IcPolicyFleet) fleet = ic_policy_fleet_load_data(data, len, "fuzz", NULL);
  if (fleet == NULL)
    return;
  g_autoptr(IcPolicyRequest) r = ic_policy_request_new();
  ic_policy_request_add(r, "hw_viommu_model=virtio", NULL);
  ic_policy_request_add(r, "!trait:CUSTOM_IOMMUFD", NULL);
  ic_policy_request_finish(r, NULL);
  g_autoptr(GArray) rejected = NULL;
  g_autoptr(GArray) fit = ic_policy_place(fleet, r, &rejected);
  g_assert(fit->len + rejected->len == ic_policy_fleet_size(fleet));
  for (guint i = 0; i < rejected->len && i < 8; i++) {
    g_autoptr(GPtrArray) lacks = g_ptr_array_new();
    g_autoptr(GPtrArray) has = g_ptr_array_new();
    ic_policy_fleet_explain(fleet, r, g_array_index(rejected, guint, i), lacks, has);
  }
}

static void
fuzz_lines(const char *data, gsize len, gboolean request)
{
  g_autofree char *text = g_strndup(data, len);
  g_auto(GStrv) lines = g_strsplit(text, "\n", 64);
  g_autoptr(IcPolicyRequest) r = ic_policy_request_new();
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  for (int i = 0; lines[i]; i++) {
    if (request) {
      ic_policy_request_add(r, lines[i], NULL);
      continue;
    }
    const char *l = lines[i];
    GHashTable *t = l[0] == 'f' ? in->flavor : l[0] == 'i' ? in->image : in->default_machine_types;
    if (strlen(l) > 2)
      ic_policy_input_add(t, l + 2, NULL);
  }
  if (request) {
    ic_policy_request_finish(r, NULL);
    return;
  }
  g_autoptr(IcPolicyHost) h = ic_policy_host_new();
  h->arch = g_strdup("x86_64");
  h->libvirt_version = IC_POLICY_VERSION(8, 2, 0);
  g_autoptr(IcPolicyDecision) d = ic_policy_resolve(in, h, NULL);
  g_autofree char *j = ic_policy_decision_to_json(d);
  g_autofree char *t = ic_policy_decision_to_text(d);
  g_assert(j != NULL && t != NULL);
}

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (size < 1 || size > 1 << 16)
    return 0;
  const char *rest = (const char *) data + 1;
  gsize len = size - 1;
  if (data[0] == 'F')
    fuzz_fleet(rest, len);
  else
    fuzz_lines(rest, len, data[0] == 'R');
  return 0;
}
