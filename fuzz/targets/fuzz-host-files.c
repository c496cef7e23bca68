/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the kernel's text files the host and assign layers parse, in
 * a real captured sysfs/proc tree (tests/fixtures/host-guest-intel-pxb,
 * copied once).  The input is up to N_FILES chunks separated by "\n@@\n";
 * chunk i replaces files[i], the others get their captured content back, so
 * every input is reproducible on its own.  Then: inventory with details,
 * check, groups JSON, nodedev XML, Graphviz and an assign plan (which reads
 * modules.alias).  Invariant: no crash, no GLib critical, no leak. */
#include <iommuctl/assign.h>
#include <iommuctl/host.h>
#include <glib/gstdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

#define RELEASE "6.1.0-56-amd64"
#define NIC "sys/devices/pci0000:00/0000:00:09.0/0000:04:00.0/0000:05:01.0"

static const char *const files[] = {
  "proc/self/mountinfo",
  "proc/cmdline",
  "proc/net/route",
  "proc/self/limits",
  "sys/devices/virtual/iommu/dmar0/intel-iommu/ecap",
  "sys/devices/virtual/iommu/dmar0/intel-iommu/cap",
  "sys/kernel/iommu_groups/3/type",
  "sys/kernel/iommu_groups/3/reserved_regions",
  NIC "/uevent",
  NIC "/reset_method",
  "lib/modules/" RELEASE "/modules.dep",
  "lib/modules/" RELEASE "/modules.alias",
  "proc/net/if_inet6",
  NIC "/driver_override",
};
#define N_FILES G_N_ELEMENTS(files)

typedef struct {
  char *root;
  GBytes *original[N_FILES];
} Tree;

static Tree *
tree_get(void)
{
  static Tree *t;
  if (t != NULL)
    return t;
  t = g_new0(Tree, 1);
  t->root = g_dir_make_tmp("iommuctl-fuzz-host-XXXXXX", NULL);
  g_autofree char *src = g_build_filename(IC_SOURCE_ROOT, "tests/fixtures/host-guest-intel-pxb/.", NULL);
  const char *argv[] = {"cp", "-a", src, t->root, NULL};
  int status = 1;
  if (t->root == NULL ||
      !g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, NULL) ||
      status != 0)
    __builtin_trap(); /* the harness itself is broken */
  for (guint i = 0; i < N_FILES; i++) {
    g_autofree char *path = g_build_filename(t->root, files[i], NULL);
    char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, NULL))
      text = g_strdup(""), len = 0; /* modules.* are not in the capture */
    t->original[i] = g_bytes_new_take(text, len);
  }
  return t;
}

static void
put(const Tree *t, guint i, const char *data, gsize len)
{
  g_autofree char *path = g_build_filename(t->root, files[i], NULL);
  g_autofree char *dir = g_path_get_dirname(path);
  g_mkdir_with_parents(dir, 0755);
  /* no fsync and rename: thousands of inputs a second, and no crash-safety needed */
  if (!g_file_set_contents_full(path, data, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0644, NULL))
    __builtin_trap();
}

static void
exercise(IcContext *ctx)
{
  g_autoptr(IcInventory) inv = NULL;
  g_autoptr(GError) error = NULL;
  if (!ic_inventory_load(ctx, IC_INVENTORY_DETAILS | IC_INVENTORY_NO_NAMES, &inv, &error)) {
    if (error == NULL)
      __builtin_trap();
    return;
  }
  g_autoptr(GPtrArray) checks = ic_host_check(inv);
  g_autofree char *json = ic_inventory_groups_json(inv);
  g_autofree char *dot = ic_inventory_to_dot(inv);
  for (guint i = 0; i < ic_inventory_n_devices(inv); i++)
    g_free(ic_pci_device_to_nodedev_xml(inv, ic_inventory_device(inv, i)));
  if (checks == NULL || json == NULL || dot == NULL)
    __builtin_trap();
  IcPciAddr nic;
  if (!ic_pci_addr_parse("0000:05:01.0", &nic, NULL))
    __builtin_trap();
  g_autoptr(GError) plan_error = NULL;
  g_autoptr(IcAssignPlan) plan = ic_assign_plan_new(ctx, &nic, 1, NULL, &plan_error);
  if (plan == NULL && plan_error == NULL)
    __builtin_trap(); /* a refusal always says why */
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (size > 1 << 16)
    return 0;
  Tree *t = tree_get();
  const char *p = (const char *) data, *end = p + size;
  for (guint i = 0; i < N_FILES; i++) {
    const char *sep = p ? g_strstr_len(p, end - p, "\n@@\n") : NULL;
    if (p != NULL) {
      put(t, i, p, sep ? (gsize) (sep - p) : (gsize) (end - p));
      p = sep ? sep + 4 : NULL;
    } else {
      gsize len;
      const char *orig = g_bytes_get_data(t->original[i], &len);
      put(t, i, orig ? orig : "", len);
    }
  }
  g_autoptr(IcContext) ctx = ic_context_new();
  ic_context_set_sysfs_root(ctx, t->root);
  g_autofree char *state = g_build_filename(t->root, "state", NULL);
  ic_context_set_state_dir(ctx, state);
  exercise(ctx);
  return 0;
}
