/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: what the persist module reads back.  First byte picks:
 *   'D' a domain XML for `diff --domain` (its PCI hostdev addresses)
 *   'H' /run/iommuctl/host-bound, the lines the udev rule appends
 *   else a persist.db record, one field per line: address, driver, host
 *       driver, host module, members, ports, config root; a record that
 *       validates is rendered into the boot files.
 * Invariants: no GLib critical (fatal, see fuzz-common.c), no crash; a
 * refusal says why; a record that validates never puts a line break or a
 * quote of its own into a udev rule. */
#include "persist/persist-private.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static void
fuzz_domain(const char *text, gsize len)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) addrs = ic_ps_domain_hostdevs(text, len, &error);
  if (addrs == NULL && error == NULL)
    __builtin_trap();
  for (char **a = addrs; a && *a; a++) {
    IcPciAddr p;
    if (!ic_pci_addr_parse(*a, &p, NULL))
      __builtin_trap(); /* only well-formed addresses come out */
  }
}

static void
fuzz_host_bound(const char *text)
{
  g_autoptr(GHashTable) t = ic_ps_parse_host_bound(text);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, t);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (strchr(v, '\n') != NULL || strchr(v, ' ') != NULL)
      __builtin_trap();
}

static char *
nul_if_empty(char *s)
{
  return s && *s ? g_strdup(s) : NULL;
}

static void
fuzz_record(const char *text)
{
  g_auto(GStrv) f = g_strsplit(text, "\n", 8);
  if (g_strv_length(f) < 7)
    return;
  g_autoptr(IcPersistDevice) d = g_new0(IcPersistDevice, 1);
  d->name = g_strdup(f[0]);
  d->driver = g_strdup(f[1]);
  d->host_driver = nul_if_empty(f[2]);
  d->host_module = nul_if_empty(f[3]);
  d->config_root = g_strdup(f[6]);
  d->command = g_strdup("iommuctl persist");
  d->since = g_strdup("2026-01-01T00:00:00Z");
  g_autoptr(GError) error = NULL;
  d->members = ic_persist_parse_addr_list(f[4], "members", &error);
  if (d->members == NULL) {
    if (error == NULL)
      __builtin_trap();
    return;
  }
  d->ports = ic_persist_parse_addr_list(f[5], "ports", &error);
  if (d->ports == NULL) {
    if (error == NULL)
      __builtin_trap();
    return;
  }
  if (!ic_persist_device_validate(d, &error)) {
    if (error == NULL)
      __builtin_trap();
    return;
  }
  g_autoptr(GPtrArray) recs = g_ptr_array_new();
  g_ptr_array_add(recs, d);
  IcPsRender r = {.vfio_builtin = FALSE, .initramfs_kind = "dracut"};
  g_autoptr(GPtrArray) files = ic_ps_render(recs, "/nonexistent-fuzz-root", &r);
  for (guint i = 0; i < files->len; i++) {
    const IcPersistFile *file = files->pdata[i];
    if (file->content == NULL)
      continue;
    /* every rule line starts with a key the renderer wrote */
    g_auto(GStrv) lines = g_strsplit(file->content, "\n", -1);
    for (char **l = lines; *l; l++)
      if (**l == '"')
        __builtin_trap();
  }
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (size < 1 || size > 1 << 16)
    return 0;
  g_autofree char *text = g_strndup((const char *) data + 1, size - 1);
  gsize len = strlen(text);
  if (data[0] == 'D')
    fuzz_domain(text, len);
  else if (data[0] == 'H')
    fuzz_host_bound(text);
  else
    fuzz_record(text);
  return 0;
}
