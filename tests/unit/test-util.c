/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <iommuctl/iommuctl.h>
#include <iommuctl/pciaddr.h>
#include "util/ic-util.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

static void
test_pci_addr_parse(void)
{
  IcPciAddr a;
  char buf[IC_PCI_ADDR_STRLEN];
  g_assert_true(ic_pci_addr_parse("0000:01:00.0", &a, NULL));
  g_assert_cmpstr(ic_pci_addr_format(&a, buf), ==, "0000:01:00.0");
  g_assert_true(ic_pci_addr_parse("3b:1F.7", &a, NULL));
  g_assert_cmpstr(ic_pci_addr_format(&a, buf), ==, "0000:3b:1f.7");
  g_assert_true(ic_pci_addr_parse("pci_0001_02_03_4", &a, NULL));
  g_assert_cmpstr(ic_pci_addr_format(&a, buf), ==, "0001:02:03.4");
  g_assert_true(ic_pci_addr_parse("10000:00:00.0", &a, NULL));
  g_assert_cmpstr(ic_pci_addr_format(&a, buf), ==, "10000:00:00.0");

  const char *bad[] = {"", "0000:01:00", "0000:01:20.0", "0000:01:00.8", "zz:00.0",
                       "0000:100:00.0", "0000:01:00.0x", ":01:00.0", "1:2:3:4.0", NULL};
  for (int i = 0; bad[i]; i++) {
    g_autoptr(GError) err = NULL;
    g_assert_false(ic_pci_addr_parse(bad[i], &a, &err));
    g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
    g_assert_cmpint(ic_error_exit_status(err), ==, IC_EXIT_USAGE);
  }
}

static void
test_parse_numbers(void)
{
  gint64 v;
  guint64 u;
  g_assert_true(ic_parse_int64(" -1\n", 10, -1, 100, &v));
  g_assert_cmpint(v, ==, -1);
  g_assert_false(ic_parse_int64("12abc", 10, 0, 100, &v));
  g_assert_false(ic_parse_int64("101", 10, 0, 100, &v));
  g_assert_true(ic_parse_uint64("0x10", 0, 0xff, &u));
  g_assert_cmpuint(u, ==, 16);
  g_assert_false(ic_parse_uint64("-3", 0, 0xff, &u));
  g_assert_cmpint(ic_parse_bool_word("On"), ==, 1);
  g_assert_cmpint(ic_parse_bool_word("no"), ==, 0);
  g_assert_cmpint(ic_parse_bool_word("maybe"), ==, -1);
}

static void
test_context_paths(void)
{
  g_autoptr(IcContext) ctx = ic_context_new();
  g_autofree char *p1 = ic_context_sys_path(ctx, "/sys/bus/pci/devices");
  g_assert_cmpstr(p1, ==, "/sys/bus/pci/devices");
  ic_context_set_sysfs_root(ctx, "/tmp/fx");
  g_autofree char *p2 = ic_context_sys_path(ctx, "/sys/bus/pci/devices");
  g_assert_cmpstr(p2, ==, "/tmp/fx/sys/bus/pci/devices");
  g_autofree char *p3 = ic_context_proc_path(ctx, "/proc/cmdline");
  g_assert_cmpstr(p3, ==, "/tmp/fx/proc/cmdline");
  ic_context_set_proc_root(ctx, "/tmp/pr");
  ic_context_set_sysfs_root(ctx, "/tmp/other");
  g_autofree char *p4 = ic_context_proc_path(ctx, "/proc/cmdline");
  g_assert_cmpstr(p4, ==, "/tmp/pr/proc/cmdline");
}

static void
test_files(void)
{
  g_autofree char *dir = g_dir_make_tmp("ic-util-XXXXXX", NULL);
  g_autofree char *path = g_build_filename(dir, "f", NULL);
  g_autoptr(GError) err = NULL;
  g_assert_true(ic_write_file_atomic(path, "hello\n", 6, &err));
  g_assert_no_error(err);
  char buf[8];
  g_assert_cmpint(ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf), ==, 5);
  g_assert_cmpstr(buf, ==, "hello");
  /* a read larger than the buffer is cut, never overflows */
  char tiny[4];
  g_assert_cmpint(ic_read_attr_at(AT_FDCWD, path, tiny, sizeof tiny), ==, 3);
  g_assert_cmpstr(tiny, ==, "hel");
  g_autofree char *contents = NULL;
  /* over the limit is bad input (exit 2), named by the error */
  g_assert_false(ic_read_file(path, 3, &contents, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_clear_error(&err);
  g_assert_true(ic_read_file(path, 100, &contents, NULL, &err));
  g_assert_cmpstr(contents, ==, "hello\n");
  g_assert_cmpint(ic_read_attr_at(AT_FDCWD, "/nonexistent/x", buf, sizeof buf), ==, -ENOENT);
  g_unlink(path);
  g_rmdir(dir);
}

/* Both writer backends give the bytes json-glib's pretty generator gives,
 * for every value kind, nesting, empty containers and escapes. */
static void
write_sample(IcJsonWriter *w)
{
  ic_json_writer_begin_object(w);
  ic_jw_add_string(w, "s", "q\"\\/\b\f\n\r\t\x01\x7f \xc3\xa9");
  ic_jw_add_string(w, "null", NULL);
  ic_jw_add_int(w, "neg", -5);
  ic_jw_add_bool(w, "t", TRUE);
  ic_jw_add_hex(w, "hex", 0x1af4, 4);
  ic_json_writer_member(w, "empty_array");
  ic_json_writer_begin_array(w);
  ic_json_writer_end_array(w);
  ic_json_writer_member(w, "empty_object");
  ic_json_writer_begin_object(w);
  ic_json_writer_end_object(w);
  ic_json_writer_member(w, "k\"ey");
  ic_json_writer_begin_array(w);
  ic_json_writer_int(w, 1);
  ic_json_writer_begin_object(w);
  ic_jw_add_bool(w, "f", FALSE);
  ic_json_writer_end_object(w);
  ic_json_writer_begin_array(w);
  ic_json_writer_null(w);
  ic_json_writer_end_array(w);
  ic_json_writer_end_array(w);
  ic_json_writer_end_object(w);
}

static void
test_json_writer(void)
{
  g_autoptr(IcJsonWriter) stream = ic_json_writer_new_stream();
  write_sample(stream);
  gsize len = 0;
  g_autofree char *text = ic_json_writer_steal_text(stream, &len);
  g_autoptr(JsonBuilder) b = json_builder_new();
  g_autoptr(IcJsonWriter) via_builder = ic_json_writer_new_builder(b);
  write_sample(via_builder);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree char *generated = ic_json_to_string(root, TRUE);
  g_assert_cmpstr(text, ==, generated);
  g_assert_cmpuint(len, ==, strlen(text));
  /* 0x1f: json-glib 1.6 writes it raw (invalid JSON); we escape it */
  g_autoptr(IcJsonWriter) w = ic_json_writer_new_stream();
  ic_json_writer_string(w, "\x1f");
  g_autofree char *unit = ic_json_writer_steal_text(w, NULL);
  g_assert_cmpstr(unit, ==, "\"\\u001f\"");
}

/* An editor that takes no lock (vi, sed -i) changes the file between our
 * read and our rename: the edit must fail, write nothing, and leave the
 * other editor's text (compare-before-rename in src/util/safe-write.c). */
static void
test_safe_edit_conflict(void)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *dir = g_dir_make_tmp("ic-safe-XXXXXX", &err);
  g_assert_no_error(err);
  g_autofree char *path = g_build_filename(dir, "f.xml", NULL);
  g_assert_true(g_file_set_contents(path, "one\n", -1, NULL));
  g_autoptr(IcSafeEdit) e = ic_safe_edit_open(path, 100, &err);
  g_assert_no_error(err);
  gsize len = 0;
  g_assert_cmpstr(ic_safe_edit_contents(e, &len), ==, "one\n");
  /* the other editor writes through the same inode, then through a rename */
  FILE *f = fopen(path, "a");
  g_assert_nonnull(f);
  fputs("two\n", f);
  fclose(f);
  IcSafeEditOptions opts = {.backup = TRUE};
  g_assert_false(ic_safe_edit_commit(e, "mine\n", 5, &opts, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_BUSY);
  g_assert_nonnull(strstr(err->message, "nothing was written"));
  g_clear_error(&err);
  g_autofree char *now = NULL;
  g_assert_true(g_file_get_contents(path, &now, NULL, NULL));
  g_assert_cmpstr(now, ==, "one\ntwo\n");
  g_autofree char *bak = g_strconcat(path, ".bak", NULL);
  g_assert_false(g_file_test(bak, G_FILE_TEST_EXISTS));
  g_clear_pointer(&e, ic_safe_edit_free);
  /* a fresh edit of the new text goes through, with its .bak */
  e = ic_safe_edit_open(path, 100, &err);
  g_assert_no_error(err);
  g_assert_true(ic_safe_edit_commit(e, "mine\n", 5, &opts, &err));
  g_assert_no_error(err);
  g_clear_pointer(&now, g_free);
  g_assert_true(g_file_get_contents(path, &now, NULL, NULL));
  g_assert_cmpstr(now, ==, "mine\n");
  g_clear_pointer(&now, g_free);
  g_assert_true(g_file_get_contents(bak, &now, NULL, NULL));
  g_assert_cmpstr(now, ==, "one\ntwo\n");
  g_unlink(bak);
  g_unlink(path);
  g_rmdir(dir);
}

/* the one version parser (lint's --libvirt-version, the policy's versions) */
static void
test_version_parse(void)
{
  guint64 v = 42;
  g_assert_true(ic_version_parse("9.0", &v));
  g_assert_cmpuint(v, ==, 9000000);
  g_assert_true(ic_version_parse("11.10", &v));
  g_assert_cmpuint(v, ==, 11010000);
  g_assert_true(ic_version_parse("8.3.0", &v));
  g_assert_cmpuint(v, ==, 8003000);
  g_assert_true(ic_version_parse("0.10.2", &v));
  g_assert_cmpuint(v, ==, 10002);
  g_assert_true(ic_version_parse("999999.999.999", &v));
  g_assert_cmpuint(v, ==, G_GUINT64_CONSTANT(999999999999));
  static const char *const bad[] = {
    "", "9", "9.", ".9", "9..0", "9.x", "x.0", "9.0.0.0", "9.0.", "9.1000", "9.0.1000", "1000000.0",
    "99999999999999999999.0", "18446744073709551616.0", "9.0 ", " 9.0", "+9.0", "-9.0", "9.-1", "0x9.0", "9,0",
    "0.0", "0.0.0", "9.0\n", "9.0-debian",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    v = 42;
    if (ic_version_parse(bad[i], &v))
      g_error("'%s' parsed as a version", bad[i]);
    g_assert_cmpuint(v, ==, 42); /* untouched on failure */
  }
  g_assert_false(ic_version_parse(NULL, &v));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/util/pci-addr", test_pci_addr_parse);
  g_test_add_func("/util/numbers", test_parse_numbers);
  g_test_add_func("/util/context-paths", test_context_paths);
  g_test_add_func("/util/files", test_files);
  g_test_add_func("/util/safe-edit-conflict", test_safe_edit_conflict);
  g_test_add_func("/util/json-writer", test_json_writer);
  g_test_add_func("/util/version-parse", test_version_parse);
  return g_test_run();
}
