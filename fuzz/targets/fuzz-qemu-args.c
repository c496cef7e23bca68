/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: what iommuctl itself does around libvirt's engine (no libvirt
 * is loaded here):
 *   - domain XML -> iommuctl's part of qemu-args (lint first, the bypass
 *     collected and realised from its metadata, the XML it would hand to
 *     libvirt), under the 9.0 and 12.1 rules: a refusal always says why, and
 *     the XML handed over parses again;
 *   - the same bytes as the one line libvirt's domxml-to-native prints:
 *     split, turned into the argv model and back, word for word;
 *   - the bypass edit: it re-parses and is idempotent. */
#include <iommuctl/domain.h>
#include <iommuctl/qemu.h>
#include "qemu/engine.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static void
fuzz_native_line(const guint8 *data, size_t size)
{
  g_autofree char *line = g_strndup((const char *) data, size);
  char **env = NULL;
  char **words = ic_qemu_engine_split_native(line, &env, NULL);
  if (words == NULL)
    return;
  IcQemuArgv *a = ic_qemu_argv_from_strv((const char *const *) words);
  char **back = ic_qemu_argv_to_strv(a);
  if (g_strv_length(back) != g_strv_length(words))
    __builtin_trap(); /* every word survives the model */
  for (guint i = 0; words[i]; i++)
    if (strcmp(back[i], words[i]) != 0)
      __builtin_trap(); /* and is printed as libvirt wrote it */
  g_strfreev(back);
  ic_qemu_argv_free(a);
  g_strfreev(words);
  g_strfreev(env);
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  static IcContext *ctx;
  if (ctx == NULL)
    ctx = ic_context_new();
  fuzz_native_line(data, size);
  IcDomainDoc *doc = ic_domain_doc_parse((const char *) data, size, "fuzz.xml", NULL);
  if (doc == NULL)
    return 0;
  const guint versions[] = {9000000, 12001000};
  for (guint i = 0; i < G_N_ELEMENTS(versions); i++) {
    IcQemuBuildOptions bo = {.libvirt_version = versions[i], .skip_groups = TRUE};
    GError *error = NULL;
    IcQemuBuild *b = ic_qemu_build(NULL, ctx, doc, &bo, &error);
    if (b == NULL && error == NULL)
      __builtin_trap(); /* a refusal always says why */
    if (b != NULL) {
      IcDomainDoc *again = ic_domain_doc_parse(b->xml, strlen(b->xml), "handed-over.xml", NULL);
      if (again == NULL)
        __builtin_trap(); /* what goes to libvirt is XML iommuctl reads */
      ic_domain_doc_free(again);
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
