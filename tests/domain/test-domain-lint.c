/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every lint rule has lint-cases/CODE-fail.xml (must report CODE) and
 * CODE-pass.xml (must not).  The host IOMMU width is fixed at 39 bits. */
#include <iommuctl/domain.h>
#include <string.h>

static gboolean
has_code(GPtrArray *findings, const char *code)
{
  for (guint i = 0; i < findings->len; i++)
    if (strcmp(((IcLintFinding *) g_ptr_array_index(findings, i))->code, code) == 0)
      return TRUE;
  return FALSE;
}

static void
check_case(gconstpointer data)
{
  const char *path = data;
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *code = g_strndup(base, 5);
  gboolean expect = strstr(base, "-fail") != NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_load(path, &error);
  g_assert_no_error(error);
  IcLintOptions opts = {.host_aw_bits = 39};
  g_autoptr(GPtrArray) findings = ic_domain_lint(doc, &opts);
  if (has_code(findings, code) != expect)
    g_error("%s: expected %s %s", base, code, expect ? "reported" : "absent");
  for (guint i = 0; i < findings->len; i++) {
    const IcLintFinding *f = g_ptr_array_index(findings, i);
    g_assert_cmpint(f->line, >, 0);
    g_assert_nonnull(f->message);
    g_assert_nonnull(f->hint);
  }
}

static void
test_every_rule_has_cases(gconstpointer data)
{
  const char *dir = data;
  guint n;
  const IcLintRule *rules = ic_lint_rules(&n);
  for (guint i = 0; i < n; i++) {
    for (int k = 0; k < 2; k++) {
      g_autofree char *p = g_strdup_printf("%s/%s-%s.xml", dir, rules[i].code, k ? "pass" : "fail");
      if (!g_file_test(p, G_FILE_TEST_EXISTS))
        g_error("rule %s has no case %s", rules[i].code, p);
    }
  }
}

static void
test_exact_libvirt_texts(void)
{
  /* a few texts pinned to libvirt 9.0's (libvirt-oracle.md) */
  const char *xml = "<domain type='kvm'><name>t</name><memory>1</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>"
                    "<devices><iommu model='intel'><driver eim='on'/></iommu></devices></domain>";
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_parse(xml, strlen(xml), NULL, NULL);
  g_assert_nonnull(doc);
  g_autoptr(GPtrArray) f = ic_domain_lint(doc, NULL);
  g_assert_cmpuint(f->len, ==, 2);
  g_assert_cmpstr(((IcLintFinding *) f->pdata[0])->message, ==, "IOMMU device: 'intel' is only supported with Q35 machines");
  g_assert_cmpstr(((IcLintFinding *) f->pdata[1])->message, ==, "IOMMU eim requires interrupt remapping to be enabled");
}

static gint
cmp_names(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autofree char *dir = g_build_filename(g_getenv("IOMMUCTL_SRCDIR"), "tests", "domain", "lint-cases", NULL);
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *n;
  while ((n = g_dir_read_name(d)) != NULL)
    if (g_str_has_suffix(n, ".xml"))
      g_ptr_array_add(names, g_strdup(n));
  g_ptr_array_sort(names, cmp_names);
  for (guint i = 0; i < names->len; i++) {
    char *name = g_ptr_array_index(names, i);
    g_autofree char *tp = g_strdup_printf("/domain/lint/%s", name);
    g_test_add_data_func_full(tp, g_build_filename(dir, name, NULL), check_case, g_free);
  }
  g_test_add_data_func("/domain/lint/every-rule-has-cases", dir, test_every_rule_has_cases);
  g_test_add_func("/domain/lint/exact-libvirt-texts", test_exact_libvirt_texts);
  return g_test_run();
}
