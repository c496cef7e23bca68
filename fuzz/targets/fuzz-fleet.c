/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: OpenStack Placement's replies as `placement sync` and `place
 * --placement` read them (a server, or anything answering on its URL, is
 * not under our control).  The first byte picks the reply:
 *   'P' a provider listing / one provider   'T' a provider's traits
 *   'C' allocation candidates                else an error body
 * Invariant: a reply is parsed or refused with an error; no GLib critical
 * (fatal here, see fuzz-common.c), no crash. */
#include <iommuctl/fleet.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (size < 1 || size > 1 << 16)
    return 0;
  const char *body = (const char *) data + 1;
  gsize len = size - 1;
  if (data[0] != 'P' && data[0] != 'T' && data[0] != 'C') {
    g_autofree char *code = NULL;
    g_autofree char *detail = ic_placement_error_detail(body, len, &code);
    if (detail == NULL)
      __builtin_trap(); /* there is always something to show */
    return 0;
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = ic_placement_parse_object(body, len, "fuzz", &error);
  if (root == NULL) {
    if (error == NULL)
      __builtin_trap();
    return 0;
  }
  g_clear_error(&error);
  if (data[0] == 'P') {
    g_autoptr(GPtrArray) list = ic_placement_parse_providers(root, "fuzz", &error);
    if (list == NULL && error == NULL)
      __builtin_trap();
    g_clear_error(&error);
    g_autoptr(IcPlacementProvider) one = ic_placement_parse_provider(root, "fuzz", &error);
    if (one == NULL && error == NULL)
      __builtin_trap();
  } else if (data[0] == 'T') {
    gint64 gen = 0;
    g_autoptr(GPtrArray) traits = ic_placement_parse_traits(root, "fuzz", &gen, &error);
    if (traits == NULL && error == NULL)
      __builtin_trap();
  } else {
    g_autoptr(GHashTable) set = ic_placement_parse_candidates(root, "fuzz", &error);
    if (set == NULL && error == NULL)
      __builtin_trap();
    if (set != NULL && !ic_placement_candidate_roots(root, set, "fuzz", &error) && error == NULL)
      __builtin_trap();
  }
  return 0;
}
