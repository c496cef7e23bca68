/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: domain XML -> QEMU argv (with capabilities synthesised for
 * QEMU 7.2 and 10.1, no QEMU started) and the bypass edit.  Invariants: a
 * build either fails with an error or yields an argv whose vIOMMU precedes
 * every other -device; a bypass edit re-parses and is idempotent. */
#include <iommuctl/domain.h>
#include <iommuctl/qemu.h>
#include <string.h>

static void
check_order(const IcQemuArgv *argv)
{
  gboolean other_device_seen = FALSE;
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    if (strcmp(o->name, "-device") != 0 || o->json == NULL)
      continue;
    const char *drv = json_object_get_string_member_with_default(o->json, "driver", "");
    gboolean viommu = strcmp(drv, "intel-iommu") == 0 || strcmp(drv, "amd-iommu") == 0 ||
                      strcmp(drv, "AMDVI-PCI") == 0;
    if (viommu && other_device_seen)
      __builtin_trap(); /* the vIOMMU must come before any PCI device */
    other_device_seen = other_device_seen || !viommu;
  }
}

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  static IcQemuCaps *caps72, *caps101;
  static IcContext *ctx;
  if (ctx == NULL) {
    ctx = ic_context_new();
    caps72 = ic_qemu_caps_for_version(NULL, "7.2", NULL);
    caps101 = ic_qemu_caps_for_version(NULL, "10.1", NULL);
  }
  IcDomainDoc *doc = ic_domain_doc_parse((const char *) data, size, "fuzz.xml", NULL);
  if (doc == NULL)
    return 0;
  IcQemuCaps *all[] = {caps72, caps101};
  for (guint i = 0; i < G_N_ELEMENTS(all); i++) {
    IcQemuBuildOptions bo = {.caps = all[i], .binary = "qemu-system-x86_64", .paused = TRUE};
    GError *error = NULL;
    IcQemuBuild *b = ic_qemu_build(ctx, doc, &bo, &error);
    if (b == NULL && error == NULL)
      __builtin_trap(); /* a refusal always says why */
    if (b != NULL) {
      check_order(b->argv);
      g_strfreev(ic_qemu_argv_to_strv(b->argv));
      ic_qemu_build_free(b);
    }
    g_clear_error(&error);
  }
  IcQemuBypassEdit edit = {.default_bus = size & 1, .buses = g_array_new(FALSE, FALSE, sizeof(IcQemuBypassBus))};
  IcQemuBypassBus bus = {.index = 1, .on = (size & 2) != 0};
  g_array_append_val(edit.buses, bus);
  if (ic_qemu_bypass_apply(doc, &edit, NULL, NULL)) {
    gsize len1;
    char *once = g_strdup(ic_domain_doc_bytes(doc, &len1));
    if (ic_qemu_bypass_apply(doc, &edit, NULL, NULL)) {
      gsize len2;
      const char *twice = ic_domain_doc_bytes(doc, &len2);
      if (len1 != len2 || memcmp(once, twice, len1) != 0)
        __builtin_trap(); /* the edit is idempotent */
    }
    g_free(once);
  }
  g_array_unref(edit.buses);
  ic_domain_doc_free(doc);
  return 0;
}
