/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The compute host as the policy sees it, and the traits it offers:
 * Nova's COMPUTE_VIOMMU_MODEL_* by _get_iommu_model_traits' rules, plus
 * iommuctl's CUSTOM_* traits from the host layer's facts. */
#include "policy/policy-private.h"

#include <string.h>
#include <sys/utsname.h>

IcPolicyHost *
ic_policy_host_new(void)
{
  IcPolicyHost *h = g_new0(IcPolicyHost, 1);
  h->emulators = g_ptr_array_new_with_free_func(g_free);
  h->iommufd = -1;
  h->interrupt_remapping = -1;
  h->assignable_groups = -1;
  return h;
}

void
ic_policy_host_free(IcPolicyHost *h)
{
  if (h == NULL)
    return;
  g_free(h->name);
  g_free(h->arch);
  g_ptr_array_unref(h->emulators);
  g_free(h);
}

static gboolean
host_has_emulator(const IcPolicyHost *h, const char *arch)
{
  for (guint i = 0; i < h->emulators->len; i++)
    if (g_str_equal(g_ptr_array_index(h->emulators, i), arch))
      return TRUE;
  return FALSE;
}

static void
add_emulator(IcPolicyHost *h, const char *arch)
{
  if (arch != NULL && !host_has_emulator(h, arch))
    g_ptr_array_add(h->emulators, g_strdup(arch));
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* qemu-system-<suffix> -> the guest arch libvirt's capabilities list for it. */
static char *
emulator_arch(const char *suffix)
{
  if (g_str_equal(suffix, "i386"))
    return g_strdup("i686");
  if (g_str_equal(suffix, "arm"))
    return g_strdup("armv7l");
  if (strchr(suffix, '-') != NULL) /* qemu-system-x86_64-microvm and such */
    return NULL;
  return ic_policy_canonical_arch(suffix);
}

static void
probe_emulators(IcContext *ctx, IcPolicyHost *h)
{
  g_autofree char *bindir = ic_context_sys_path(ctx, "/usr/bin");
  g_autoptr(GDir) dir = g_dir_open(bindir, 0, NULL);
  if (dir == NULL)
    return;
  const char *name;
  while ((name = g_dir_read_name(dir)) != NULL) {
    if (!g_str_has_prefix(name, "qemu-system-"))
      continue;
    g_autofree char *path = g_build_filename(bindir, name, NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR))
      continue;
    g_autofree char *arch = emulator_arch(name + strlen("qemu-system-"));
    add_emulator(h, arch);
  }
  g_ptr_array_sort(h->emulators, compare_strings);
}

static char *
run_for_output(const char *const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  if (!g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, NULL))
    return NULL;
  if (!g_spawn_check_wait_status(status, NULL))
    return NULL;
  return g_steal_pointer(&out);
}

static guint64
probe_libvirt_version(void)
{
  static const char *const libvirtd[] = {"libvirtd", "--version", NULL};
  static const char *const virsh[] = {"virsh", "--version", NULL};
  guint64 v = 0;
  g_autofree char *out = run_for_output(libvirtd);
  if (out == NULL || !ic_policy_version_from_output(out, &v)) {
    g_free(out);
    out = run_for_output(virsh);
    if (out == NULL || !ic_policy_version_from_output(out, &v))
      v = 0;
  }
  return v;
}

static guint64
probe_qemu_version(const IcPolicyHost *h)
{
  if (h->emulators->len == 0)
    return 0;
  const char *arch = host_has_emulator(h, h->arch) ? h->arch : g_ptr_array_index(h->emulators, 0);
  const char *suffix = g_str_equal(arch, "i686") ? "i386" : g_str_equal(arch, "armv7l") ? "arm" : arch;
  g_autofree char *bin = g_strdup_printf("qemu-system-%s", suffix);
  const char *argv[] = {bin, "--version", NULL};
  g_autofree char *out = run_for_output(argv);
  guint64 v = 0;
  return out && ic_policy_version_from_output(out, &v) ? v : 0;
}

static char *
probe_arch(IcContext *ctx)
{
  g_autofree char *path = ic_context_proc_path(ctx, "/proc/sys/kernel/arch");
  char buf[64];
  if (ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf) > 0)
    return ic_policy_canonical_arch(buf);
  if (!ic_context_is_real_host(ctx))
    return NULL;
  struct utsname u;
  uname(&u);
  return ic_policy_canonical_arch(u.machine);
}

static gboolean
parse_override_version(const char *what, const char *text, guint64 *out, GError **error)
{
  if (ic_policy_parse_version(text, out))
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s version '%s' is not MAJOR.MINOR.MICRO", what, text);
  return FALSE;
}

IcPolicyHost *
ic_policy_host_probe(IcContext *ctx, const IcPolicyProbeOverrides *ovr, GError **error)
{
  static const IcPolicyProbeOverrides none = {0};
  if (ovr == NULL)
    ovr = &none;
  g_autoptr(IcPolicyHost) h = ic_policy_host_new();
  h->name = g_strdup(ovr->name ? ovr->name : g_get_host_name());
  if (ovr->arch != NULL) {
    h->arch = ic_policy_canonical_arch(ovr->arch);
    if (h->arch == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "'%s' is not an architecture Nova knows", ovr->arch);
      return NULL;
    }
  } else {
    h->arch = probe_arch(ctx);
  }
  probe_emulators(ctx, h);
  gboolean real = ic_context_is_real_host(ctx);
  if (ovr->libvirt_version != NULL) {
    if (!parse_override_version("libvirt", ovr->libvirt_version, &h->libvirt_version, error))
      return NULL;
  } else if (real) {
    h->libvirt_version = probe_libvirt_version();
  }
  if (ovr->qemu_version != NULL) {
    if (!parse_override_version("QEMU", ovr->qemu_version, &h->qemu_version, error))
      return NULL;
  } else if (real) {
    h->qemu_version = probe_qemu_version(h);
  }
  ic_policy_host_probe_iommu(ctx, h);
  return g_steal_pointer(&h);
}

/* ---- JSON ------------------------------------------------------------------ */

IcPolicyHost *
ic_policy_host_load_json(const char *path, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  /* bounded, regular files only, depth pre-scan: ic-safe.h */
  if (!ic_json_parser_load_file(parser, path, 16 << 20, error))
    return NULL;
  JsonObject *doc = ic_json_node_object(json_parser_get_root(parser));
  JsonObject *o = NULL;
  if (doc == NULL || !ic_json_get_object(doc, "host", NULL, &o, NULL) || o == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: not an iommuctl.traits document (no \"host\" object)", path);
    return NULL;
  }
  g_autoptr(IcPolicyHost) h = ic_policy_host_new();
  const char *name = NULL, *arch = NULL, *lv = NULL, *qv = NULL;
  JsonArray *emus = NULL;
  gint64 width = 0, assignable = -1;
  h->iommufd = h->interrupt_remapping = -1;
  if (!ic_json_get_string(o, "name", "host", &name, error) || !ic_json_get_string(o, "arch", "host", &arch, error) ||
      !ic_json_get_string(o, "libvirt_version", "host", &lv, error) ||
      !ic_json_get_string(o, "qemu_version", "host", &qv, error) ||
      !ic_json_get_array(o, "emulators", "host", &emus, error) ||
      !ic_json_get_tristate(o, "iommufd", "host", &h->iommufd, error) ||
      !ic_json_get_tristate(o, "interrupt_remapping", "host", &h->interrupt_remapping, error) ||
      !ic_json_get_int(o, "iommu_address_width", "host", &width, error) ||
      !ic_json_get_int(o, "assignable_groups", "host", &assignable, error)) {
    g_prefix_error(error, "%s: ", path);
    return NULL;
  }
  if ((lv && !ic_policy_parse_version(lv, &h->libvirt_version)) ||
      (qv && !ic_policy_parse_version(qv, &h->qemu_version))) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: bad version in \"host\"", path);
    return NULL;
  }
  if (width < 0 || width > 64 || assignable < -1 || assignable > G_MAXINT) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: host.iommu_address_width or host.assignable_groups out of range", path);
    return NULL;
  }
  h->name = g_strdup(name);
  h->arch = g_strdup(arch);
  for (guint i = 0; emus && i < json_array_get_length(emus); i++) {
    const char *emu = ic_json_array_string(emus, i);
    if (emu == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: host.emulators[%u] must be a string", path, i);
      return NULL;
    }
    add_emulator(h, emu);
  }
  h->iommu_address_width = (guint) width;
  h->assignable_groups = (int) assignable;
  return g_steal_pointer(&h);
}

/* ---- traits ------------------------------------------------------------------ */

static void
trait_free(gpointer p)
{
  IcPolicyTrait *t = p;
  g_free(t->name);
  g_free(t->reason);
  g_free(t);
}

static void
add_trait(GPtrArray *a, const char *name, gboolean present, gboolean custom, char *reason)
{
  IcPolicyTrait *t = g_new0(IcPolicyTrait, 1);
  t->name = g_strdup(name);
  t->present = present;
  t->custom = custom;
  t->reason = reason;
  g_ptr_array_add(a, t);
}

GPtrArray *
ic_policy_host_traits(const IcPolicyHost *h)
{
  GPtrArray *a = g_ptr_array_new_with_free_func(trait_free);
  gboolean x86 = host_has_emulator(h, "x86_64");
  gboolean arm = host_has_emulator(h, "aarch64");
  g_autofree char *lv = ic_policy_format_version(h->libvirt_version);
  g_autofree char *qv = ic_policy_format_version(h->qemu_version);
  gboolean virtio = h->libvirt_version >= IC_MIN_LIBVIRT_VIOMMU_VIRTIO;

  add_trait(a, "COMPUTE_VIOMMU_MODEL_INTEL", x86, FALSE,
            g_strdup(x86 ? "an x86_64 QEMU emulator is present" : "no x86_64 QEMU emulator"));
  add_trait(a, "COMPUTE_VIOMMU_MODEL_SMMUV3", arm, FALSE,
            g_strdup(arm ? "an aarch64 QEMU emulator is present" : "no aarch64 QEMU emulator"));
  add_trait(a, "COMPUTE_VIOMMU_MODEL_VIRTIO", virtio, FALSE,
            lv ? g_strdup_printf("libvirt %s %s 8.3.0", lv, virtio ? ">=" : "<")
               : g_strdup("libvirt version unknown"));
  add_trait(a, "COMPUTE_VIOMMU_MODEL_AUTO", TRUE, FALSE, g_strdup("always reported by Nova's libvirt driver"));

  add_trait(a, "CUSTOM_IOMMUFD", h->iommufd == 1, TRUE,
            g_strdup(h->iommufd == 1 ? "/dev/iommu exists" : h->iommufd == 0 ? "no /dev/iommu" : "iommufd unknown (no host inventory)"));
  add_trait(a, "CUSTOM_IOMMU_INTERRUPT_REMAPPING", h->interrupt_remapping == 1, TRUE,
            g_strdup(h->interrupt_remapping == 1 ? "the host IOMMU remaps interrupts"
                     : h->interrupt_remapping == 0 ? "no interrupt remapping" : "interrupt remapping unknown"));
  if (h->iommu_address_width != 0) {
    g_autofree char *name = g_strdup_printf("CUSTOM_IOMMU_ADDRESS_WIDTH_%u", h->iommu_address_width);
    add_trait(a, name, TRUE, TRUE, g_strdup_printf("host IOMMU address width %u bits", h->iommu_address_width));
  }
  gboolean bypass = h->qemu_version >= IC_MIN_QEMU_IOMMU_BYPASS;
  add_trait(a, "CUSTOM_QEMU_IOMMU_BYPASS", bypass, TRUE,
            qv ? g_strdup_printf("QEMU %s %s 6.1.0 (bypass_iommu)", qv, bypass ? ">=" : "<")
               : g_strdup("QEMU version unknown"));
  add_trait(a, "CUSTOM_VFIO_ASSIGNABLE_GROUPS", h->assignable_groups > 0, TRUE,
            h->assignable_groups >= 0 ? g_strdup_printf("%d assignable IOMMU groups", h->assignable_groups)
                                      : g_strdup("IOMMU groups unknown (no host inventory)"));
  return a;
}

char *
ic_policy_traits_to_json(const IcPolicyHost *h, GPtrArray *traits)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("traits", 1);
  json_builder_set_member_name(b, "host");
  json_builder_begin_object(b);
  ic_json_add_string_or_null(b, "name", h->name);
  ic_json_add_string_or_null(b, "arch", h->arch);
  g_autofree char *lv = ic_policy_format_version(h->libvirt_version);
  g_autofree char *qv = ic_policy_format_version(h->qemu_version);
  ic_json_add_string_or_null(b, "libvirt_version", lv);
  ic_json_add_string_or_null(b, "qemu_version", qv);
  json_builder_set_member_name(b, "emulators");
  json_builder_begin_array(b);
  for (guint i = 0; i < h->emulators->len; i++)
    json_builder_add_string_value(b, g_ptr_array_index(h->emulators, i));
  json_builder_end_array(b);
  const struct { const char *key; int val; } tris[] = {
    {"iommufd", h->iommufd}, {"interrupt_remapping", h->interrupt_remapping},
  };
  for (gsize i = 0; i < G_N_ELEMENTS(tris); i++) {
    json_builder_set_member_name(b, tris[i].key);
    if (tris[i].val < 0)
      json_builder_add_null_value(b);
    else
      json_builder_add_boolean_value(b, tris[i].val);
  }
  json_builder_set_member_name(b, "iommu_address_width");
  if (h->iommu_address_width)
    json_builder_add_int_value(b, h->iommu_address_width);
  else
    json_builder_add_null_value(b);
  json_builder_set_member_name(b, "assignable_groups");
  if (h->assignable_groups >= 0)
    json_builder_add_int_value(b, h->assignable_groups);
  else
    json_builder_add_null_value(b);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "traits");
  json_builder_begin_array(b);
  for (guint i = 0; i < traits->len; i++) {
    IcPolicyTrait *t = g_ptr_array_index(traits, i);
    if (t->present)
      json_builder_add_string_value(b, t->name);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "details");
  json_builder_begin_array(b);
  for (guint i = 0; i < traits->len; i++) {
    IcPolicyTrait *t = g_ptr_array_index(traits, i);
    json_builder_begin_object(b);
    ic_json_add_string_or_null(b, "name", t->name);
    ic_json_add_bool(b, "present", t->present);
    ic_json_add_bool(b, "custom", t->custom);
    ic_json_add_string_or_null(b, "reason", t->reason);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return ic_json_to_string(root, TRUE);
}

char *
ic_policy_traits_to_provider_yaml(const IcPolicyHost *h, GPtrArray *traits)
{
  GString *s = g_string_new(NULL);
  g_string_append_printf(s,
                         "# Nova provider config written by `iommuctl traits --provider-yaml`%s%s.\n"
                         "# Install as /etc/nova/provider_config/iommuctl.yaml and restart nova-compute.\n"
                         "# Nova reports COMPUTE_VIOMMU_MODEL_* itself; a provider config may only add\n"
                         "# CUSTOM_* traits, so only those are listed.\n",
                         h->name ? " on " : "", h->name ? h->name : "");
  g_string_append(s, "meta:\n  schema_version: '1.0'\n");
  guint custom = 0;
  for (guint i = 0; i < traits->len; i++) {
    IcPolicyTrait *t = g_ptr_array_index(traits, i);
    custom += t->present && t->custom;
  }
  if (custom == 0) {
    /* Nova ignores (with a warning) a provider that adds nothing */
    g_string_append(s, "# This host offers no CUSTOM_* trait.\nproviders: []\n");
    return g_string_free(s, FALSE);
  }
  g_string_append(s, "providers:\n"
                     "  - identification:\n"
                     "      uuid: '$COMPUTE_NODE'\n"
                     "    traits:\n"
                     "      additional:\n");
  for (guint i = 0; i < traits->len; i++) {
    IcPolicyTrait *t = g_ptr_array_index(traits, i);
    if (t->present && t->custom)
      g_string_append_printf(s, "        - %s\n", t->name);
  }
  return g_string_free(s, FALSE);
}
