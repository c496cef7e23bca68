/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every lint rule has lint-cases/CODE-fail.xml (must report CODE) and
 * CODE-pass.xml (must not), and may have more (CODE-fail-WHAT.xml...).  The
 * host IOMMU width is fixed at 39 bits; the libvirt version is 9.0 unless the
 * case's first line says "<!-- iommuctl-lint: libvirt-version=X.Y -->". */
#include <iommuctl/domain.h>
#include <glib/gstdio.h>
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
  IcLintOptions opts = {.host_aw_bits = 39, .libvirt_version = 9000000};
  const char *text = ic_domain_doc_bytes(doc, NULL);
  const char *tag = "<!-- iommuctl-lint: libvirt-version=";
  if (g_str_has_prefix(text, tag)) {
    g_autofree char *v = g_strndup(text + strlen(tag), strcspn(text + strlen(tag), " -"));
    g_assert_true(ic_libvirt_version_parse(v, &opts.libvirt_version));
  }
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

static GPtrArray *
lint_text(const char *xml, guint libvirt_version)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(IcDomainDoc) doc = ic_domain_doc_parse(xml, strlen(xml), "t.xml", &error);
  g_assert_no_error(error);
  IcLintOptions opts = {.libvirt_version = libvirt_version};
  return ic_domain_lint(doc, &opts);
}

static const IcLintFinding *
find(GPtrArray *f, const char *code)
{
  for (guint i = 0; i < f->len; i++)
    if (strcmp(((IcLintFinding *) f->pdata[i])->code, code) == 0)
      return f->pdata[i];
  g_error("no %s finding", code);
  return NULL;
}

static void
test_new_rule_texts(void)
{
  g_autofree char *dir = g_build_filename(g_getenv("IOMMUCTL_SRCDIR"), "tests", "domain", "lint-cases", NULL);
  struct { const char *file, *code, *text; guint version; } want[] = {
    /* libvirt's virDomainDefHostdevValidate (src/conf/domain_validate.c) */
    {"LV021-fail.xml", "LV021", "Hostdev already exists in the domain configuration", 0},
    {"IC005-fail.xml", "IC005", "IOMMU device: 'intel' without ACPI is dead: the guest gets no DMAR table, so no "
                                "device is translated (libvirt starts the guest with ACPI off)", 0},
    {"LV022-fail.xml", "LV022", "<driver pciBus=''/> (one SMMUv3 per PCI host bridge) needs libvirt >= 11.10; "
                                "libvirt 9.0 does not know it (ignored when parsed, refused by its schema)", 0},
    {"LV022-fail-granule.xml", "LV022", "<granule/> of the virtio-iommu needs libvirt >= 12.1; libvirt 11.10 does "
                                        "not know it (ignored when parsed, refused by its schema)", 11010000},
    {"LV019-fail.xml", "LV019", "iommu model 'amd' needs libvirt >= 11.5; libvirt 11.4: Invalid value for attribute "
                                "'model' in element 'iommu': 'amd'.", 11004000},
    {"QM006-fail.xml", "QM006", "iommu_platform=true is not supported by the device", 0},
  };
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    g_autofree char *path = g_build_filename(dir, want[i].file, NULL);
    g_autofree char *xml = NULL;
    g_assert_true(g_file_get_contents(path, &xml, NULL, NULL));
    g_autoptr(GPtrArray) f = lint_text(xml, want[i].version);
    g_assert_cmpstr(find(f, want[i].code)->message, ==, want[i].text);
  }
}

/* QM002 is about the device QEMU gets: video and input are virtio 1.0 only
 * (no false positive on i440fx), the rest are transitional there. */
static void
test_qm002_per_device(void)
{
  const char *xml =
    "<domain type='qemu'><name>t</name><memory>1</memory><os><type arch='x86_64' machine='pc'>hvm</type></os>"
    "<devices>\n<video><model type='virtio'/><driver iommu='on'/></video>\n"
    "<input type='keyboard' bus='virtio'><driver iommu='on'/></input>\n"
    "<memballoon model='virtio'><driver iommu='on'/></memballoon>\n"
    "<rng model='virtio-non-transitional'><backend model='random'>/dev/urandom</backend><driver iommu='on'/></rng>\n"
    "<disk type='file' device='disk' model='virtio-transitional'><source file='/x'/><target dev='vda' bus='virtio'/>"
    "<driver name='qemu' iommu='on'/></disk>\n</devices></domain>";
  g_autoptr(GPtrArray) f = lint_text(xml, 0);
  guint lines[8], n = 0;
  for (guint i = 0; i < f->len; i++)
    if (strcmp(((IcLintFinding *) f->pdata[i])->code, "QM002") == 0)
      lines[n++] = (guint) ((IcLintFinding *) f->pdata[i])->line;
  g_assert_cmpuint(n, ==, 2);
  g_assert_cmpuint(lines[0], ==, 4); /* memballoon */
  g_assert_cmpuint(lines[1], ==, 6); /* the explicitly transitional disk */
}

static void
test_installed_version(void)
{
  g_autofree char *root = g_dir_make_tmp("ic-lv-XXXXXX", NULL);
  g_autofree char *lib = g_build_filename(root, "usr", "lib64", NULL);
  g_assert_cmpint(g_mkdir_with_parents(lib, 0700), ==, 0);
  g_assert_cmpuint(ic_libvirt_version_installed(root), ==, 0);
  g_autofree char *so = g_build_filename(lib, "libvirt.so.0.11010000.0", NULL);
  g_autofree char *so2 = g_build_filename(lib, "libvirt.so.0.11005.2", NULL);
  g_assert_true(g_file_set_contents(so2, "", 0, NULL));
  g_assert_cmpuint(ic_libvirt_version_installed(root), ==, 11005002);
  g_assert_true(g_file_set_contents(so, "", 0, NULL)); /* not a soname version: ignored */
  g_assert_cmpuint(ic_libvirt_version_installed(root), ==, 11005002);
  g_unlink(so);
  g_unlink(so2);
  g_autofree char *pcdir = g_build_filename(lib, "pkgconfig", NULL);
  g_assert_cmpint(g_mkdir_with_parents(pcdir, 0700), ==, 0);
  g_autofree char *pc = g_build_filename(pcdir, "libvirt.pc", NULL);
  g_assert_true(g_file_set_contents(pc, "Name: libvirt\nVersion: 12.1.0\n", -1, NULL));
  g_assert_cmpuint(ic_libvirt_version_installed(root), ==, 12001000);
  g_unlink(pc);
  g_rmdir(pcdir);
  g_rmdir(lib);
  g_autofree char *usr = g_build_filename(root, "usr", NULL);
  g_rmdir(usr);
  g_rmdir(root);
  guint v = 0;
  g_assert_true(ic_libvirt_version_parse("11.10", &v));
  g_assert_cmpuint(v, ==, 11010000);
  g_assert_false(ic_libvirt_version_parse("11", &v));
  g_assert_false(ic_libvirt_version_parse("11.x", &v));
  g_assert_false(ic_libvirt_version_parse("1.2.3.4", &v));
  g_assert_false(ic_libvirt_version_parse("4295.0", &v)); /* does not fit the guint */
  g_assert_true(ic_libvirt_version_parse("4294.0", &v));
}

/* LV009 on the virtio-iommu says what the libvirt asked for says: from 12.1,
 * when virtio took aw_bits and <granule/>, "some additional attributes"
 * (upstream's virtio-iommu-dma-translation.x86_64-latest.err) */
static void
test_virtio_attr_text_by_version(void)
{
  const char *xml = "<domain type='qemu'><name>t</name><memory>1</memory><os><type arch='x86_64' machine='q35'>hvm</type>"
                    "</os><features><acpi/></features><devices><iommu model='virtio'><driver dma_translation='on'/>"
                    "</iommu></devices></domain>";
  g_autoptr(GPtrArray) old = lint_text(xml, 9000000);
  g_assert_cmpstr(find(old, "LV009")->message, ==, "iommu model 'virtio' doesn't support additional attributes");
  g_autoptr(GPtrArray) now = lint_text(xml, 12001000);
  g_assert_cmpstr(find(now, "LV009")->message, ==, "iommu model 'virtio' doesn't support some additional attributes");
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
  g_test_add_func("/domain/lint/new-rule-texts", test_new_rule_texts);
  g_test_add_func("/domain/lint/qm002-per-device", test_qm002_per_device);
  g_test_add_func("/domain/lint/installed-libvirt-version", test_installed_version);
  g_test_add_func("/domain/lint/virtio-attr-text-by-version", test_virtio_attr_text_by_version);
  return g_test_run();
}
