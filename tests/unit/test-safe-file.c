/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safe-file layer (src/util/safe-file.c): regular files only, bounded
 * reads, walks that never follow links, writes confined beneath a root,
 * name validators, the JSON depth pre-scan. */
#include <iommuctl/iommuctl.h>
#include "util/ic-util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
make_tree(void)
{
  g_autoptr(GError) err = NULL;
  char *dir = g_dir_make_tmp("ic-safe-XXXXXX", &err);
  g_assert_no_error(err);
  return dir;
}

static void
put(const char *dir, const char *rel, const char *text)
{
  g_autofree char *p = g_build_filename(dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname(p);
  g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
  g_assert_true(g_file_set_contents(p, text, -1, NULL));
}

static void
link_at(const char *dir, const char *rel, const char *target)
{
  g_autofree char *p = g_build_filename(dir, rel, NULL);
  g_assert_cmpint(symlink(target, p), ==, 0);
}

static void
remove_tree(const char *dir)
{
  g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
  g_assert_cmpint(system(cmd), ==, 0);
}

static void
test_regular_only(void)
{
  g_autofree char *dir = make_tree();
  put(dir, "f", "hello\n");
  g_autofree char *f = g_build_filename(dir, "f", NULL);
  g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
  g_autofree char *lnk = g_build_filename(dir, "lnk", NULL);
  g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
  link_at(dir, "lnk", "f");

  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) err = NULL;
  g_assert_true(ic_read_file(f, 100, &text, &len, &err));
  g_assert_cmpstr(text, ==, "hello\n");
  g_assert_cmpuint(len, ==, 6);
  g_clear_pointer(&text, g_free);

  /* a FIFO neither blocks nor is read */
  g_assert_false(ic_read_file(fifo, 100, &text, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_assert_nonnull(strstr(err->message, "FIFO"));
  g_assert_nonnull(strstr(err->message, fifo));
  g_clear_error(&err);
  char buf[16];
  g_assert_cmpint(ic_read_attr_at(AT_FDCWD, fifo, buf, sizeof buf), ==, -EINVAL);
  g_assert_cmpint(ic_read_attr_at(AT_FDCWD, dir, buf, sizeof buf), ==, -EISDIR);
  g_assert_false(ic_read_file(dir, 100, &text, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_clear_error(&err);
  g_assert_false(ic_read_file("/dev/zero", 100, &text, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_clear_error(&err);

  /* links: followed for a named file, refused with IC_OPEN_NOFOLLOW */
  g_assert_true(ic_read_file(lnk, 100, &text, NULL, &err));
  g_clear_pointer(&text, g_free);
  g_assert_false(ic_read_file_at(AT_FDCWD, lnk, IC_OPEN_NOFOLLOW, NULL, 100, &text, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_assert_nonnull(strstr(err->message, "symbolic link"));
  g_clear_error(&err);

  /* bounds: exactly the limit is fine, one byte more is not */
  g_assert_true(ic_read_file(f, 6, &text, NULL, &err));
  g_clear_pointer(&text, g_free);
  g_assert_false(ic_read_file(f, 5, &text, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_assert_cmpint(ic_error_exit_status(err), ==, IC_EXIT_USAGE);
  g_clear_error(&err);
  /* proc files have st_size 0: read to the end all the same */
  g_assert_true(ic_read_file("/proc/self/status", 1 << 20, &text, &len, &err));
  g_assert_nonnull(strstr(text, "Name:"));
  g_clear_pointer(&text, g_free);
  g_assert_false(ic_read_file("/proc/self/status", 10, &text, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_clear_error(&err);
  remove_tree(dir);
}

static void
test_big_file_grows_buffer(void)
{
  g_autofree char *dir = make_tree();
  g_autofree char *f = g_build_filename(dir, "big", NULL);
  gsize n = 300000;
  g_autofree char *data = g_malloc(n + 1);
  memset(data, 'x', n);
  data[n] = '\0';
  g_assert_true(g_file_set_contents(f, data, (gssize) n, NULL));
  int fd = open(f, O_RDONLY);
  g_assert_cmpint(fd, >=, 0);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GError) err = NULL;
  /* no stat hint: the buffer grows by doubling */
  g_assert_true(ic_read_fd(fd, f, NULL, n, &text, &len, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(len, ==, n);
  g_assert_cmpint(memcmp(text, data, n), ==, 0);
  close(fd);
  remove_tree(dir);
}

typedef struct {
  GPtrArray *skipped;
} Skips;

static void
note_skip(const char *path, const char *reason, gpointer user_data)
{
  Skips *s = user_data;
  g_ptr_array_add(s->skipped, g_strdup_printf("%s %s", path, reason));
}

static gboolean
is_xml(const char *name)
{
  return g_str_has_suffix(name, ".xml");
}

static void
test_walk(void)
{
  g_autofree char *dir = make_tree();
  g_autofree char *outside = make_tree();
  put(outside, "secret.xml", "<x/>");
  put(dir, "b.xml", "<b/>");
  put(dir, "a.xml", "<a/>");
  put(dir, "notes.txt", "-");
  put(dir, "sub/c.xml", "<c/>");
  put(dir, ".hidden/d.xml", "<d/>");
  link_at(dir, "self", ".");
  link_at(dir, "self2", "self");
  link_at(dir, "sub/up", "..");
  link_at(dir, "out", outside);
  link_at(dir, "out.xml", "b.xml");
  g_autofree char *fifo = g_build_filename(dir, "sub", "fifo.xml", NULL);
  g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);

  Skips s = {g_ptr_array_new_with_free_func(g_free)};
  g_autoptr(GError) err = NULL;
  g_autoptr(GPtrArray) files = ic_walk_collect(dir, IC_WALK_RECURSIVE, is_xml, note_skip, &s, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(files->len, ==, 3);
  g_autofree char *a = g_build_filename(dir, "a.xml", NULL);
  g_autofree char *c = g_build_filename(dir, "sub", "c.xml", NULL);
  g_assert_cmpstr(g_ptr_array_index(files, 0), ==, a);
  g_assert_cmpstr(g_ptr_array_index(files, 2), ==, c);
  /* out, out.xml, self, self2, sub/up (links), sub/fifo.xml (FIFO) */
  g_assert_cmpuint(s.skipped->len, ==, 6);
  for (guint i = 0; i < s.skipped->len; i++)
    g_assert_null(strstr(g_ptr_array_index(s.skipped, i), "secret"));

  /* not recursive: only the top level, links named *.xml still reported */
  g_ptr_array_set_size(s.skipped, 0);
  g_autoptr(GPtrArray) top = ic_walk_collect(dir, 0, is_xml, note_skip, &s, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(top->len, ==, 2);
  g_assert_cmpuint(s.skipped->len, ==, 1);

  /* the root may be a link the user named; a file as root is bad input */
  g_autofree char *rootlink = g_build_filename(outside, "tree", NULL);
  g_assert_cmpint(symlink(dir, rootlink), ==, 0);
  g_autoptr(GPtrArray) via = ic_walk_collect(rootlink, IC_WALK_RECURSIVE, is_xml, NULL, NULL, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(via->len, ==, 3);
  g_assert_null(ic_walk_collect(a, IC_WALK_RECURSIVE, is_xml, NULL, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_clear_error(&err);
  g_ptr_array_unref(s.skipped);
  remove_tree(dir);
  remove_tree(outside);
}

static void
test_walk_deep(void)
{
  g_autofree char *dir = make_tree();
  GString *rel = g_string_new("");
  for (int i = 0; i < IC_WALK_MAX_DEPTH + 5; i++)
    g_string_append(rel, "d/");
  g_string_append(rel, "x.xml");
  put(dir, rel->str, "<x/>");
  g_string_free(rel, TRUE);
  Skips s = {g_ptr_array_new_with_free_func(g_free)};
  g_autoptr(GError) err = NULL;
  g_autoptr(GPtrArray) files = ic_walk_collect(dir, IC_WALK_RECURSIVE, is_xml, note_skip, &s, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(files->len, ==, 0);
  g_assert_cmpuint(s.skipped->len, ==, 1);
  g_ptr_array_unref(s.skipped);
  remove_tree(dir);
}

static void
check_beneath(gboolean no_openat2)
{
  ic_safe_force_no_openat2(no_openat2);
  g_autofree char *dir = make_tree();
  g_autofree char *outside = make_tree();
  link_at(dir, "proc", outside);
  int root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint(root, >=, 0);
  g_autoptr(GError) err = NULL;

  int d = ic_mkdir_beneath(root, "sys/bus/pci", 0755, "sys/bus/pci", &err);
  g_assert_no_error(err);
  g_assert_cmpint(d, >=, 0);
  close(d);
  g_assert_true(ic_write_new_file_beneath(root, "sys/bus/pci/x", "1\n", 2, 0644, NULL, &err));
  g_assert_no_error(err);
  /* O_EXCL: never over an existing file */
  g_assert_false(ic_write_new_file_beneath(root, "sys/bus/pci/x", "2\n", 2, 0644, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_clear_error(&err);

  /* through a planted link: refused, nothing appears outside */
  g_assert_cmpint(ic_mkdir_beneath(root, "proc/sys", 0755, NULL, &err), ==, -1);
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_clear_error(&err);
  g_assert_false(ic_write_new_file_beneath(root, "proc/cmdline", "x", 1, 0644, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_clear_error(&err);
  g_autofree char *leak = g_build_filename(outside, "cmdline", NULL);
  g_assert_false(g_file_test(leak, G_FILE_TEST_EXISTS));
  /* a link as the last component */
  link_at(dir, "sys/bus/pci/y", "/tmp/ic-safe-never");
  g_assert_false(ic_write_new_file_beneath(root, "sys/bus/pci/y", "x", 1, 0644, NULL, &err));
  g_clear_error(&err);
  g_assert_false(g_file_test("/tmp/ic-safe-never", G_FILE_TEST_EXISTS));
  /* .. and absolute paths never get to the kernel */
  const char *bad[] = {"../x", "a/../../x", "/etc/x", "", NULL};
  for (int i = 0; bad[i]; i++) {
    g_assert_cmpint(ic_open_beneath(root, bad[i], O_RDONLY, 0, NULL, &err), ==, -1);
    g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
    g_clear_error(&err);
    g_assert_cmpint(ic_mkdir_beneath(root, bad[i], 0755, NULL, &err), ==, -1);
    g_clear_error(&err);
  }
  int fd = ic_open_beneath(root, "sys/bus/pci/x", O_RDONLY, 0, NULL, &err);
  g_assert_no_error(err);
  g_assert_cmpint(fd, >=, 0);
  close(fd);
  close(root);
  remove_tree(dir);
  remove_tree(outside);
  ic_safe_force_no_openat2(FALSE);
}

static void
test_beneath_openat2(void)
{
  check_beneath(FALSE);
}

static void
test_beneath_fallback(void)
{
  check_beneath(TRUE);
}

static void
test_names(void)
{
  g_assert_true(ic_name_is_safe("6.1.0-18-amd64", 64));
  const char *bad[] = {"", ".", "..", "a/b", "../../..", "a\nb", "a\x7f", NULL};
  for (int i = 0; bad[i]; i++)
    g_assert_false(ic_name_is_safe(bad[i], 64));
  g_assert_false(ic_name_is_safe("abcdef", 5));
  g_autoptr(GError) err = NULL;
  g_assert_true(ic_check_kernel_release("6.1.0-18-amd64", NULL));
  g_assert_true(ic_check_kernel_release("5.14.0-362.8.1.el9_3.x86_64+debug", NULL));
  g_assert_false(ic_check_kernel_release("../../..", &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  g_assert_nonnull(strstr(err->message, "../../.."));
  g_clear_error(&err);
  g_assert_false(ic_check_kernel_release("6.1\n", &err));
  g_assert_nonnull(strstr(err->message, "\\x0a"));
  g_clear_error(&err);
  g_assert_false(ic_check_kernel_release(".hidden", NULL));
  g_assert_true(ic_check_driver_name("vfio-pci", NULL));
  g_assert_true(ic_check_driver_name("xhci_hcd", NULL));
  g_assert_false(ic_check_driver_name("../vfio", NULL));
  g_assert_false(ic_check_driver_name("", NULL));
  g_assert_true(ic_check_pci_address_name("0000:01:00.0", NULL));
  g_assert_true(ic_check_pci_address_name("10000:e1:1f.7", NULL));
  g_assert_false(ic_check_pci_address_name("../../x", NULL));
  g_assert_false(ic_check_pci_address_name("0000:01:00.0/..", NULL));
  g_assert_false(ic_check_pci_address_name("01:00.0", NULL));
  int g = -1;
  g_assert_true(ic_check_group_number("42", &g, NULL));
  g_assert_cmpint(g, ==, 42);
  g_assert_false(ic_check_group_number("-1", &g, NULL));
  g_assert_false(ic_check_group_number("4x", &g, NULL));
  g_assert_false(ic_check_group_number("99999999999", &g, NULL));
  g_assert_false(ic_check_group_number("", &g, NULL));
}

static void
test_json_depth(void)
{
  g_autoptr(GError) err = NULL;
  g_assert_true(ic_json_check_depth("[[[]]]", 6, 3, "x", NULL));
  g_assert_false(ic_json_check_depth("[[[[]]]]", 8, 3, "x", &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_PARSE);
  g_clear_error(&err);
  /* brackets in strings, escaped quotes */
  const char *s = "{\"a\": \"[[[[[\\\"[[[[\"}";
  g_assert_true(ic_json_check_depth(s, strlen(s), 2, "x", NULL));
  /* 100,000 levels: refused before json-glib recurses */
  gsize n = 100000;
  g_autofree char *deep = g_malloc(n + 1);
  memset(deep, '[', n);
  deep[n] = '\0';
  g_autoptr(JsonParser) p = json_parser_new_immutable();
  g_assert_false(ic_json_parser_load(p, deep, -1, "deep.json", &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_PARSE);
  g_assert_nonnull(strstr(err->message, "deep.json"));
  g_assert_cmpint(ic_error_exit_status(err), ==, IC_EXIT_USAGE);
  g_clear_error(&err);
  g_assert_true(ic_json_parser_load(p, "{\"a\": [1, {\"b\": 2}]}", -1, "ok.json", &err));
  g_assert_no_error(err);
  g_assert_false(ic_json_parser_load(p, "{\"a\": ", -1, "bad.json", &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_PARSE);
  g_assert_true(g_str_has_prefix(err->message, "bad.json: "));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/safe-file/regular-only", test_regular_only);
  g_test_add_func("/safe-file/big-file", test_big_file_grows_buffer);
  g_test_add_func("/safe-file/walk", test_walk);
  g_test_add_func("/safe-file/walk-deep", test_walk_deep);
  g_test_add_func("/safe-file/beneath-openat2", test_beneath_openat2);
  g_test_add_func("/safe-file/beneath-fallback", test_beneath_fallback);
  g_test_add_func("/safe-file/names", test_names);
  g_test_add_func("/safe-file/json-depth", test_json_depth);
  return g_test_run();
}
