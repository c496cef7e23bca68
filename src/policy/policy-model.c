/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Value parsing shared by resolve, traits and place: the vIOMMU model enum
 * with Nova's validation texts, Nova's architecture names, oslo's boolean
 * words, and libvirt-style version numbers. */
#include "policy/policy-private.h"

#include <string.h>

static const char *const model_names[] = {
  [IC_VIOMMU_NONE] = NULL,
  [IC_VIOMMU_INTEL] = "intel",
  [IC_VIOMMU_SMMUV3] = "smmuv3",
  [IC_VIOMMU_VIRTIO] = "virtio",
  [IC_VIOMMU_AUTO] = "auto",
};

/* os-traits' names, in its order (os_traits/compute/viommu.py). */
static const char *const model_traits[] = {
  [IC_VIOMMU_NONE] = NULL,
  [IC_VIOMMU_INTEL] = "COMPUTE_VIOMMU_MODEL_INTEL",
  [IC_VIOMMU_SMMUV3] = "COMPUTE_VIOMMU_MODEL_SMMUV3",
  [IC_VIOMMU_VIRTIO] = "COMPUTE_VIOMMU_MODEL_VIRTIO",
  [IC_VIOMMU_AUTO] = "COMPUTE_VIOMMU_MODEL_AUTO",
};

const char *
ic_viommu_model_name(IcViommuModel model)
{
  return model >= 0 && model <= IC_VIOMMU_AUTO ? model_names[model] : NULL;
}

const char *
ic_viommu_model_trait(IcViommuModel model)
{
  return model >= 0 && model <= IC_VIOMMU_AUTO ? model_traits[model] : NULL;
}

/* Exact, case-sensitive match: Nova's enum never lowercases. */
static gboolean
model_lookup(const char *value, IcViommuModel *out)
{
  for (int m = IC_VIOMMU_INTEL; m <= IC_VIOMMU_AUTO; m++)
    if (model_names[m] != NULL && strcmp(value, model_names[m]) == 0) { /* AMD is not Nova's */
      *out = (IcViommuModel) m;
      return TRUE;
    }
  return FALSE;
}

gboolean
ic_viommu_model_parse_flavor(const char *value, IcViommuModel *out, GError **error)
{
  *out = IC_VIOMMU_NONE;
  if (value == NULL || *value == '\0')
    return TRUE;
  if (model_lookup(value, out))
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
              "Validation failed; '%s' is not one of: intel, smmuv3, virtio, auto.", value);
  return FALSE;
}

gboolean
ic_viommu_model_parse_image(const char *value, IcViommuModel *out, GError **error)
{
  *out = IC_VIOMMU_NONE;
  if (value == NULL || *value == '\0')
    return TRUE;
  if (model_lookup(value, out))
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
              "Invalid image metadata. Error: Field value %s is invalid", value);
  return FALSE;
}

/* ---- architectures ------------------------------------------------------ */

/* Nova's Architecture.ALL (nova/objects/fields.py). */
static const char *const nova_arches[] = {
  "alpha", "armv6", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64", "lm32",
  "m68k", "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el",
  "openrisc", "parisc", "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb",
  "s390", "s390x", "sh4", "sh4eb", "sparc", "sparc64", "unicore32", "x86_64",
  "xtensa", "xtensaeb", NULL,
};

char *
ic_policy_canonical_arch(const char *name)
{
  if (name == NULL || *name == '\0')
    return NULL;
  g_autofree char *lower = g_ascii_strdown(name, -1);
  /* the aliases Nova's Architecture.canonicalize folds */
  if (g_str_equal(lower, "i386") || g_str_equal(lower, "i486") || g_str_equal(lower, "i586") ||
      g_str_equal(lower, "x86_32") || g_str_equal(lower, "x86_32p"))
    return g_strdup("i686");
  if (g_str_equal(lower, "amd64"))
    return g_strdup("x86_64");
  for (int i = 0; nova_arches[i]; i++)
    if (g_str_equal(lower, nova_arches[i]))
      return g_steal_pointer(&lower);
  return NULL;
}

gboolean
ic_policy_arch_is_x86(const char *arch)
{
  return g_strcmp0(arch, "x86_64") == 0 || g_strcmp0(arch, "i686") == 0;
}

/* ---- oslo booleans ------------------------------------------------------- */

int
ic_policy_oslo_bool(const char *value)
{
  static const char *const yes[] = {"1", "t", "true", "on", "y", "yes", NULL};
  static const char *const no[] = {"0", "f", "false", "off", "n", "no", NULL};
  if (value == NULL)
    return -1;
  g_autofree char *s = g_ascii_strdown(value, -1);
  g_strstrip(s);
  for (int i = 0; yes[i]; i++)
    if (g_str_equal(s, yes[i]))
      return 1;
  for (int i = 0; no[i]; i++)
    if (g_str_equal(s, no[i]))
      return 0;
  return -1;
}

gboolean
ic_policy_flavor_bool(const char *key, const char *value, gboolean strict, gboolean *out,
                      GError **error)
{
  int b = ic_policy_oslo_bool(value);
  if (b < 0 && strict) {
    (void) key;
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                "Validation failed; '%s' is not a valid boolean-like value.", value);
    return FALSE;
  }
  *out = b == 1; /* non-strict: anything unknown is False, as oslo does */
  return TRUE;
}

/* ---- versions -------------------------------------------------------------- */

gboolean
ic_policy_parse_version(const char *text, guint64 *out)
{
  return ic_version_parse(text, out);
}

char *
ic_policy_format_version(guint64 version)
{
  if (version == 0)
    return NULL;
  return g_strdup_printf("%" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT ".%" G_GUINT64_FORMAT,
                         version / 1000000u, version / 1000u % 1000u, version % 1000u);
}

/* "1.2.3 (Debian ...)" or "libvirtd (libvirt) 9.0.0": the first token that
 * parses as a dotted version. */
gboolean
ic_policy_version_from_output(const char *output, guint64 *out)
{
  if (output == NULL)
    return FALSE;
  g_auto(GStrv) words = g_strsplit_set(output, " \t\n(),", -1);
  for (guint i = 0; words[i]; i++) {
    if (words[i][0] == '\0' || !g_ascii_isdigit(words[i][0]) || strchr(words[i], '.') == NULL)
      continue;
    /* keep only the leading digits-and-dots part: "7.2.0-debian" -> "7.2.0" */
    gsize len = strspn(words[i], "0123456789.");
    g_autofree char *v = g_strndup(words[i], len);
    if (ic_policy_parse_version(v, out))
      return TRUE;
  }
  return FALSE;
}
