/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plan: the closure of the requested devices over their IOMMU groups
 * (the kernel hands a group to a guest whole, or not at all), with a verdict
 * for every member. */
#include "assign/assign-private.h"
#include "assign/assign-host.h"
#include "util/ic-util.h"

#include <fnmatch.h>
#include <stdio.h>

const char *
ic_assign_action_to_string(IcAssignAction action)
{
  switch (action) {
  case IC_ASSIGN_DETACH: return "detach";
  case IC_ASSIGN_KEEP: return "keep";
  case IC_ASSIGN_BRIDGE_OK: return "bridge-ok";
  case IC_ASSIGN_BLOCKED: return "blocked";
  }
  return "?";
}

static void
member_free(IcAssignMember *m)
{
  if (m == NULL)
    return;
  g_free(m->name);
  g_free(m->reason);
  g_free(m->driver);
  g_free(m->driver_override);
  g_free(m->target_driver);
  g_free(m->reset_method);
  g_free(m);
}

static void
group_free(IcAssignGroup *g)
{
  if (g == NULL)
    return;
  g_ptr_array_unref(g->members);
  g_free(g->vfio_node);
  g_free(g);
}

void
ic_assign_plan_free(IcAssignPlan *plan)
{
  if (plan == NULL)
    return;
  g_ptr_array_unref(plan->groups);
  g_ptr_array_unref(plan->warnings);
  g_free(plan);
}

gboolean
ic_as_check_iommu(IcContext *ctx, GError **error)
{
  g_autofree char *path = ic_context_sys_path(ctx, "/sys/kernel/iommu_groups");
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  if (dir == NULL || g_dir_read_name(dir) == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED,
                "no IOMMU: %s is %s; enable VT-d/AMD-Vi in the firmware and intel_iommu=on "
                "(or amd_iommu=on) on the kernel command line; nothing was changed",
                path, dir == NULL ? "missing" : "empty");
    return FALSE;
  }
  return TRUE;
}

/* ---- vfio variant drivers (modules.alias) -------------------------------- */

static guint
count_wildcards(const char *pattern)
{
  guint n = 0;
  for (const char *p = pattern; *p; p++)
    n += *p == '*';
  return n;
}

/* The vfio_pci lines of modules.alias, read once per plan and only when a
 * member needs its target: a Debian kernel's file is 1.3 MB in 26,000 lines
 * of which one or two are vfio_pci's, and reading and splitting it for every
 * member was 85% of `plan` of a 3-device group (13 ms instead of 2). */
typedef struct {
  IcContext *ctx;
  GPtrArray *entries; /* GStrv: the modalias pattern, the module; NULL until read */
} VfioVariants;

static void
vfio_variants_clear(VfioVariants *v)
{
  g_clear_pointer(&v->entries, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VfioVariants, vfio_variants_clear)

/* "v000015B3d0000101Esv*sd*bc*sc*i* mlx5_vfio_pci" (what follows "alias
 * vfio_pci:") -> its pattern and module; NULL for vfio-pci's own catch-all
 * line ("... vfio_pci"), which names the generic driver by its module name:
 * no variant, and no driver name in sysfs. */
static GStrv
vfio_alias_entry(const char *line, gsize len)
{
  g_autofree char *text = g_strndup(line, len);
  g_auto(GStrv) f = g_strsplit_set(text, " \t", 3);
  if (f[0] == NULL || f[1] == NULL || *g_strstrip(f[1]) == '\0' || strcmp(f[1], "vfio_pci") == 0)
    return NULL;
  return g_steal_pointer(&f);
}

static GPtrArray *
vfio_variants(VfioVariants *v)
{
  if (v->entries != NULL)
    return v->entries;
  v->entries = g_ptr_array_new_with_free_func((GDestroyNotify) g_strfreev);
  g_autofree char *path = ic_context_modules_path(v->ctx, "modules.alias");
  g_autofree char *text = NULL;
  if (!ic_read_file(path, 64 * 1024 * 1024, &text, NULL, NULL))
    return v->entries;
  static const char key[] = "alias vfio_pci:";
  for (const char *p = text; (p = strstr(p, key)) != NULL; p += strlen(key)) {
    if (p != text && p[-1] != '\n')
      continue;
    const char *start = p + strlen(key);
    GStrv entry = vfio_alias_entry(start, (gsize) (strchrnul(start, '\n') - start));
    if (entry != NULL)
      g_ptr_array_add(v->entries, entry);
  }
  return v->entries;
}

/* The variant driver whose pattern matches the device's modalias with the
 * fewest wildcards, or NULL. */
static char *
find_vfio_variant(VfioVariants *v, const char *modalias)
{
  if (modalias == NULL || !g_str_has_prefix(modalias, "pci:"))
    return NULL;
  const char *id = modalias + strlen("pci:");
  GPtrArray *entries = vfio_variants(v);
  const char *best = NULL;
  guint best_wild = G_MAXUINT;
  for (guint i = 0; i < entries->len; i++) {
    char **e = entries->pdata[i];
    if (fnmatch(e[0], id, 0) != 0)
      continue;
    guint wild = count_wildcards(e[0]);
    if (wild < best_wild) {
      best = e[1];
      best_wild = wild;
    }
  }
  return g_strdup(best);
}

gboolean
ic_as_check_driver_available(IcContext *ctx, const char *driver, GError **error)
{
  if (ic_as_driver_exists(ctx, driver))
    return TRUE;
  if (ic_context_is_real_host(ctx)) {
    /* modprobe takes module names; vfio-pci's module is vfio_pci (modprobe
     * treats - and _ alike) */
    const char *argv[] = {"modprobe", "-q", driver, NULL};
    int status = -1;
    (void) g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                        G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL);
    if (ic_as_driver_exists(ctx, driver))
      return TRUE;
  }
  g_autofree char *abs = g_strdup_printf("/sys/bus/pci/drivers/%s", driver);
  g_autofree char *path = ic_context_sys_path(ctx, abs);
  g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED,
              "driver %s is not available: %s is missing%s; nothing was changed", driver, path,
              ic_context_is_real_host(ctx) ? " and 'modprobe' could not load it" :
                                             " (the module is not loaded)");
  return FALSE;
}

/* ---- verdicts -------------------------------------------------------------- */

static gboolean
is_bridge_class(gint64 cls)
{
  /* host bridges (0x0600) and PCI-PCI bridges / PCIe ports (0x0604) carry
   * no DMA of their own that a guest could use; they stay with the host */
  return cls >= 0 && ((cls >> 8) == 0x0604 || (cls >> 8) == 0x0600);
}

static IcAssignMember *
classify(IcContext *ctx, IcAsHostView *view, VfioVariants *variants, const char *dev, guint group,
         const char *driver_request, GPtrArray *warnings)
{
  IcAssignMember *m = g_new0(IcAssignMember, 1);
  (void) ic_pci_addr_parse(dev, &m->addr, NULL);
  m->name = g_strdup(dev);
  m->group = group;
  m->driver = ic_as_read_driver(ctx, dev);
  m->driver_override = ic_as_read_override(ctx, dev);

  IcAsHostFacts facts = {0};
  ic_as_host_facts(view, dev, &facts);
  m->reset_method = g_strdup(facts.reset_method);
  m->holds_root = facts.holds_root;

  if (is_bridge_class(ic_as_read_class(ctx, dev)) || facts.is_bridge) {
    m->action = IC_ASSIGN_BRIDGE_OK;
    m->reason = g_strdup_printf("bridge/port on %s: stays with the host, it does not break the "
                                "group's isolation", m->driver ? m->driver : "no driver");
    g_clear_pointer(&m->reset_method, g_free);
  } else if (ic_as_is_vfio_driver(m->driver)) {
    m->action = IC_ASSIGN_KEEP;
    m->reason = g_strdup_printf("already on %s", m->driver);
    m->target_driver = g_strdup(m->driver);
  } else if (m->driver == NULL) {
    m->action = IC_ASSIGN_KEEP;
    m->reason = g_strdup("no driver bound: the group stays viable without touching it");
  } else {
    if (facts.host_use != NULL) {
      m->action = IC_ASSIGN_BLOCKED;
      m->reason = g_strdup(facts.host_use);
    } else {
      m->action = IC_ASSIGN_DETACH;
      m->reason = g_strdup_printf("endpoint on host driver %s", m->driver);
    }
    m->target_driver = driver_request ? g_strdup(driver_request) : find_vfio_variant(variants, facts.modalias);
    if (m->target_driver == NULL)
      m->target_driver = g_strdup("vfio-pci");
  }
  if (facts.acs_warning != NULL) {
    g_autofree char *w = g_strdup(facts.acs_warning);
    gboolean seen = FALSE;
    for (guint i = 0; i < warnings->len && !seen; i++)
      seen = strcmp(warnings->pdata[i], w) == 0;
    if (!seen)
      g_ptr_array_add(warnings, g_steal_pointer(&w));
  }
  ic_as_host_facts_clear(&facts);
  return m;
}

static int
compare_groups(gconstpointer a, gconstpointer b)
{
  const IcAssignGroup *ga = *(IcAssignGroup *const *) a, *gb = *(IcAssignGroup *const *) b;
  return ga->number < gb->number ? -1 : ga->number > gb->number;
}

static IcAssignGroup *
plan_group(IcContext *ctx, IcAsHostView *view, VfioVariants *variants, guint number,
           const char *driver_request, GPtrArray *warnings, GError **error)
{
  g_autoptr(GPtrArray) names = ic_as_host_group_members(view, number, error);
  if (names == NULL)
    return NULL;
  IcAssignGroup *g = g_new0(IcAssignGroup, 1);
  g->number = number;
  g->members = g_ptr_array_new_with_free_func((GDestroyNotify) member_free);
  g->vfio_node = g_strdup_printf("/dev/vfio/%u", number);
  gboolean blocked = FALSE;
  for (guint i = 0; i < names->len; i++) {
    IcAssignMember *m = classify(ctx, view, variants, names->pdata[i], number, driver_request, warnings);
    /* the node exists once a member is on vfio; a blocked member means the
     * plan does not run (without --force), so it will not appear */
    if (m->action == IC_ASSIGN_DETACH || (m->action == IC_ASSIGN_KEEP && m->target_driver))
      g->vfio_node_will_appear = TRUE;
    blocked |= m->action == IC_ASSIGN_BLOCKED;
    g_ptr_array_add(g->members, m);
  }
  if (blocked)
    g->vfio_node_will_appear = FALSE;
  return g;
}

IcAssignPlan *
ic_assign_plan_new(IcContext *ctx, const IcPciAddr *addrs, guint n_addrs, const char *driver,
                   GError **error)
{
  if (n_addrs == 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "no device given");
    return NULL;
  }
  if (!ic_as_check_iommu(ctx, error))
    return NULL;
  g_autoptr(GArray) numbers = g_array_new(FALSE, FALSE, sizeof(guint));
  g_autoptr(GPtrArray) requested = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < n_addrs; i++) {
    g_autofree char *dev = ic_pci_addr_to_string(&addrs[i]);
    if (!ic_as_device_exists(ctx, dev)) {
      g_autofree char *path = ic_context_sys_path(ctx, "/sys/bus/pci/devices");
      g_set_error(error, IC_ERROR, IC_ERROR_NOT_FOUND, "no PCI device %s in %s", dev, path);
      return NULL;
    }
    guint number;
    if (!ic_as_read_group(ctx, dev, &number, error))
      return NULL;
    gboolean seen = FALSE;
    for (guint k = 0; k < numbers->len && !seen; k++)
      seen = g_array_index(numbers, guint, k) == number;
    if (!seen)
      g_array_append_val(numbers, number);
    g_ptr_array_add(requested, g_steal_pointer(&dev));
  }

  /* only the groups asked for: detach and persist must not pay for
   * reading every device of the host */
  g_autoptr(IcAsHostView) view = ic_as_host_view_new_for_groups(ctx, (const guint *) numbers->data,
                                                                numbers->len, error);
  if (view == NULL)
    return NULL;
  g_autoptr(IcAssignPlan) plan = g_new0(IcAssignPlan, 1);
  plan->groups = g_ptr_array_new_with_free_func((GDestroyNotify) group_free);
  plan->warnings = g_ptr_array_new_with_free_func(g_free);
  g_auto(VfioVariants) variants = {.ctx = ctx};
  for (guint k = 0; k < numbers->len; k++) {
    IcAssignGroup *g = plan_group(ctx, view, &variants, g_array_index(numbers, guint, k), driver,
                                  plan->warnings, error);
    if (g == NULL)
      return NULL;
    g_ptr_array_add(plan->groups, g);
  }
  g_ptr_array_sort(plan->groups, compare_groups);

  plan->executable = TRUE;
  for (guint k = 0; k < plan->groups->len; k++) {
    IcAssignGroup *g = plan->groups->pdata[k];
    for (guint i = 0; i < g->members->len; i++) {
      IcAssignMember *m = g->members->pdata[i];
      for (guint r = 0; r < requested->len; r++)
        m->requested |= strcmp(requested->pdata[r], m->name) == 0;
      plan->n_detach += m->action == IC_ASSIGN_DETACH;
      if (m->action == IC_ASSIGN_BLOCKED) {
        plan->n_blocked++;
        plan->executable = FALSE;
      }
      if (m->action == IC_ASSIGN_DETACH && m->reset_method == NULL) {
        g_ptr_array_add(plan->warnings,
                        g_strdup_printf("%s: no reset method (no FLR, PM or bus reset): state "
                                        "may leak between host and guest", m->name));
      }
    }
  }
  return g_steal_pointer(&plan);
}

gboolean
ic_assign_member_moves(const IcAssignMember *m, gboolean force)
{
  return m->action == IC_ASSIGN_DETACH || (force && m->action == IC_ASSIGN_BLOCKED && !m->holds_root);
}

void
ic_assign_plan_force(IcAssignPlan *plan)
{
  plan->n_detach = plan->n_blocked = 0;
  for (guint k = 0; k < plan->groups->len; k++) {
    IcAssignGroup *g = plan->groups->pdata[k];
    gboolean on_vfio = FALSE, blocked = FALSE;
    for (guint i = 0; i < g->members->len; i++) {
      IcAssignMember *m = g->members->pdata[i];
      if (m->action == IC_ASSIGN_BLOCKED && ic_assign_member_moves(m, TRUE)) {
        m->action = IC_ASSIGN_DETACH;
        char *reason = g_strconcat("forced: ", m->reason, NULL);
        g_free(m->reason);
        m->reason = reason;
      }
      plan->n_detach += m->action == IC_ASSIGN_DETACH;
      plan->n_blocked += m->action == IC_ASSIGN_BLOCKED;
      blocked |= m->action == IC_ASSIGN_BLOCKED;
      on_vfio |= m->action == IC_ASSIGN_DETACH || (m->action == IC_ASSIGN_KEEP && m->target_driver);
    }
    g->vfio_node_will_appear = on_vfio && !blocked;
  }
  plan->executable = plan->n_blocked == 0;
}
