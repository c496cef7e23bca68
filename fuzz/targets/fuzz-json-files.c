/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the JSON files users hand iommuctl by path.  First byte picks:
 *   a host document for `policy resolve --host-json` (then resolve and
 *   derive traits from it).  The first byte is skipped (it chose between
 *   this and QEMU capability files, which went with the builtin argv
 *   generator: libvirt's engine probes QEMU itself).
 * Invariant: a file is either loaded or refused with an error; no GLib
 * critical (fatal here, see fuzz-common.c), no crash. */
#include <iommuctl/policy.h>
#include <glib/gstdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static void
fuzz_host(const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(IcPolicyHost) h = ic_policy_host_load_json(path, &error);
  if (h == NULL) {
    if (error == NULL)
      __builtin_trap(); /* a refusal always says why */
    return;
  }
  g_autoptr(IcPolicyInput) in = ic_policy_input_new();
  ic_policy_input_add(in->flavor, "hw:viommu_model=auto", NULL);
  g_autoptr(IcPolicyDecision) d = ic_policy_resolve(in, h, NULL);
  g_autofree char *j = d ? ic_policy_decision_to_json(d) : NULL;
  if (d != NULL && j == NULL)
    __builtin_trap();
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  static char *path;
  if (size < 1 || size > 1 << 16)
    return 0;
  if (path == NULL)
    path = g_strdup_printf("%s/iommuctl-fuzz-json-%d.json", g_get_tmp_dir(), (int) getpid());
  if (!g_file_set_contents(path, (const char *) data + 1, (gssize) size - 1, NULL))
    __builtin_trap();
  fuzz_host(path);
  g_unlink(path);
  return 0;
}
