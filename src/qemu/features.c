/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The emulator iommuctl lets libvirt execute, and iommuctl's table of when
 * each IOMMU-relevant QEMU option appeared.  libvirt's engine probes the
 * installed QEMU itself; the table answers `qemu-args --qemu-version X.Y`:
 * would the argv libvirt made here also start on QEMU X.Y? */
#include "qemu-private.h"

/* When each IOMMU-relevant type/property appeared (qemu-ecosystem.md A).
 * prop NULL means the type itself. */
typedef struct {
  const char *type;
  const char *prop;
  const char *since;
} IcFeatureSince;

static const IcFeatureSince feature_table[] = {
  {"vfio-pci", NULL, "2.0"},
  {"virtio-net-pci", NULL, "2.0"},
  {"virtio-blk-pci", NULL, "2.0"},
  {"virtio-scsi-pci", NULL, "2.0"},
  {"virtio-serial-pci", NULL, "2.0"},
  {"virtio-balloon-pci", NULL, "2.0"},
  {"virtio-rng-pci", NULL, "2.0"},
  {"pxb-pcie", NULL, "2.9"},
  {"pcie-root-port", NULL, "2.9"},
  {"intel-iommu", NULL, "2.7"},
  {"intel-iommu", "intremap", "2.7"},
  {"intel-iommu", "eim", "2.8"},
  {"intel-iommu", "caching-mode", "2.9"},
  {"intel-iommu", "device-iotlb", "2.9"},
  {"intel-iommu", "pt", "2.10"},
  {"intel-iommu", "aw-bits", "2.12"},
  {"intel-iommu", "snoop-control", "7.0"},
  {"intel-iommu", "dma-translation", "7.2"},
  {"intel-iommu", "x-pasid-mode", "7.2"},
  {"intel-iommu", "stale-tm", "9.2"},
  {"intel-iommu", "x-flts", "9.2"},
  {"amd-iommu", NULL, "2.7"},
  {"AMDVI-PCI", NULL, "2.7"},
  {"amd-iommu", "xtsup", "8.2"},
  {"amd-iommu", "pci-id", "10.0"},
  {"amd-iommu", "dma-remap", "10.1"},
  {"virtio-iommu-pci", NULL, "6.2"},
  {"virtio-iommu-pci", "boot-bypass", "7.0"},
  {"virtio-iommu-pci", "granule", "9.0"},
  {"virtio-iommu-pci", "aw-bits", "9.0"},
  {"vfio-pci", "iommufd", "9.0"},
  {"vfio-pci", "fd", "9.0"},
  {"iommufd", NULL, "9.0"},
  {"pxb-pcie", "bypass_iommu", "6.1"},
  {"pxb", "bypass_iommu", "6.1"},
  {"machine", "default-bus-bypass-iommu", "6.1"},
  {"arm-smmuv3", NULL, "10.2"},
  {NULL},
};

const char *
ic_qemu_feature_since(const char *type, const char *prop)
{
  for (const IcFeatureSince *f = feature_table; f->type; f++)
    if (strcmp(f->type, type) == 0 && g_strcmp0(f->prop, prop) == 0)
      return f->since;
  return NULL;
}

static gboolean
version_code(const char *text, guint *out)
{
  guint major = 0, minor = 0, micro = 0;
  g_auto(GStrv) parts = g_strsplit(text, ".", 4);
  guint n = g_strv_length(parts);
  guint64 v;
  if (n < 2 || n > 3)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (!ic_parse_uint64(parts[i], 10, 999, &v))
      return FALSE;
  ic_parse_uint64(parts[0], 10, 999, &v), major = (guint) v;
  ic_parse_uint64(parts[1], 10, 999, &v), minor = (guint) v;
  if (n == 3)
    ic_parse_uint64(parts[2], 10, 999, &v), micro = (guint) v;
  *out = major * 1000000 + minor * 1000 + micro;
  return TRUE;
}

gboolean
ic_qemu_version_parse(const char *text, guint *out)
{
  return text != NULL && version_code(text, out);
}

/* Refuse the first option of argv the table says QEMU `version` lacks. */
static gboolean
check_one(const char *type, const char *prop, guint want, const char *version, const char *file, GError **error)
{
  const char *since = ic_qemu_feature_since(type, prop);
  guint code;
  if (since == NULL || !version_code(since, &code) || code <= want)
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED, "%s: %s%s%s%s needs QEMU >= %s; --qemu-version is %s", file,
              type, prop ? " property '" : "", prop ? prop : "", prop ? "'" : "", since, version);
  return FALSE;
}

gboolean
ic_qemu_argv_check_version(const IcQemuArgv *argv, const char *version, const char *file, GError **error)
{
  guint want;
  if (!ic_qemu_version_parse(version, &want)) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "--qemu-version takes X.Y or X.Y.Z, not '%s'", version);
    return FALSE;
  }
  for (guint i = 0; i < argv->opts->len; i++) {
    const IcQemuOpt *o = argv->opts->pdata[i];
    if (o->json != NULL && (strcmp(o->name, "-device") == 0 || strcmp(o->name, "-object") == 0)) {
      const char *type = json_object_get_string_member_with_default(
          o->json, strcmp(o->name, "-device") == 0 ? "driver" : "qom-type", "");
      /* libvirt names virtio-iommu "virtio-iommu"; the table knows the PCI type */
      g_autofree char *t = g_strcmp0(type, "virtio-iommu") == 0 ? g_strdup("virtio-iommu-pci") : g_strdup(type);
      if (!check_one(t, NULL, want, version, file, error))
        return FALSE;
      g_autoptr(GList) members = json_object_get_members(o->json);
      for (GList *l = members; l; l = l->next)
        if (!check_one(t, l->data, want, version, file, error))
          return FALSE;
    } else if (o->text != NULL && strcmp(o->name, "-machine") == 0) {
      g_autoptr(JsonObject) kv = ic_qemu_keyval_parse(o->text, "type");
      g_autoptr(GList) members = json_object_get_members(kv);
      for (GList *l = members; l; l = l->next)
        if (!check_one("machine", l->data, want, version, file, error))
          return FALSE;
    }
  }
  return TRUE;
}

gboolean
ic_qemu_emulator_trusted(const char *binary, char **resolved_out, GError **error)
{
  g_autofree char *path = g_find_program_in_path(binary);
  g_autoptr(GError) why = NULL;
  if (path != NULL && ic_trusted_executable(path, resolved_out, &why))
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
              "refusing to let libvirt execute the emulator %s that the domain XML names: %s; iommuctl runs "
              "as root and lets only an emulator be probed or run that is, with every directory above it, "
              "owned by root and not writable by group or other; pass --qemu PATH (a binary you choose)",
              binary, why ? why->message : "it is not found");
  return FALSE;
}

