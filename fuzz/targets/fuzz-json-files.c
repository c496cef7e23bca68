/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the JSON files users hand iommuctl by path.  First byte picks:
 *   'H' a host document for `policy resolve --host-json` (then resolve and
 *       derive traits from it)
 *   else a QEMU capability file (the probe cache, or `--caps FILE`).
 * Invariant: a file is either loaded or refused with an error; no GLib
 * critical (fatal here, see fuzz-common.c), no crash. */
#include <iommuctl/policy.h>
#include <iommuctl/qemu.h>
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

static void
fuzz_caps(const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(IcQemuCaps) c = ic_qemu_caps_load_file(path, &error);
  if (c == NULL) {
    if (error == NULL)
      __builtin_trap();
    return;
  }
  (void) ic_qemu_caps_has_device_prop(c, "intel-iommu", "aw-bits");
  g_autoptr(JsonNode) back = ic_qemu_caps_to_json(c);
  if (back == NULL)
    __builtin_trap(); /* what was loaded can be written back */
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
  if (data[0] == 'H')
    fuzz_host(path);
  else
    fuzz_caps(path);
  g_unlink(path);
  return 0;
}
