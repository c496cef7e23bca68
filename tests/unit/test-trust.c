/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The trust rules of src/util/trust.c, the iommu_group link parser and the
 * QEMU comma escaping: the pieces issue 10's state/emulator cases rest on. */
#include <iommuctl/iommuctl.h>
#include <iommuctl/host.h>
#include "util/ic-util.h"
#include "qemu/qemu-private.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_trusted_executable_system(void)
{
  /* /bin/sh: root's on every system the tests run on (also through the
   * /bin -> /usr/bin symlink of merged-/usr systems) */
  g_autofree char *resolved = NULL;
  g_autoptr(GError) err = NULL;
  gboolean ok = ic_trusted_executable("/bin/sh", &resolved, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  g_assert_nonnull(resolved);
  g_assert_true(g_path_is_absolute(resolved));
}

static void
test_trusted_executable_refused(void)
{
  g_autofree char *dir = g_dir_make_tmp("ic-trust-XXXXXX", NULL);
  g_assert_nonnull(dir);
  g_autofree char *exe = g_build_filename(dir, "qemu", NULL);
  g_assert_true(g_file_set_contents(exe, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint(g_chmod(exe, 0755), ==, 0);
  /* in a world-writable directory */
  g_assert_cmpint(g_chmod(dir, 0777), ==, 0);
  g_autoptr(GError) err = NULL;
  g_assert_false(ic_trusted_executable(exe, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_INVALID_ARG);
  /* the first failing component is named: /tmp (1777) or the directory */
  g_assert_nonnull(strstr(err->message, "writable by"));
  g_clear_error(&err);
  /* a group-writable file in a private directory (/tmp itself is 1777, so
   * anything below it fails the walk; the file's own mode is then moot,
   * but the message must still name a path) */
  g_assert_cmpint(g_chmod(dir, 0700), ==, 0);
  g_assert_cmpint(g_chmod(exe, 0775), ==, 0);
  g_assert_false(ic_trusted_executable(exe, NULL, &err));
  g_assert_nonnull(err);
  g_clear_error(&err);
  /* missing */
  g_autofree char *none = g_build_filename(dir, "absent", NULL);
  g_assert_false(ic_trusted_executable(none, NULL, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_NOT_FOUND);
  g_unlink(exe);
  g_rmdir(dir);
}

static void
test_trusted_state(void)
{
  g_autofree char *dir = g_dir_make_tmp("ic-state-XXXXXX", NULL);
  g_autoptr(GError) err = NULL;
  g_assert_cmpint(g_chmod(dir, 0700), ==, 0);
  g_assert_true(ic_trusted_state_path(dir, TRUE, &err));
  g_assert_cmpint(g_chmod(dir, 0770), ==, 0);
  g_assert_false(ic_trusted_state_path(dir, TRUE, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_PERMISSION);
  g_assert_nonnull(strstr(err->message, "chmod go-w"));
  g_clear_error(&err);
  g_assert_cmpint(g_chmod(dir, 0700), ==, 0);
  /* a file that does not exist yet is fine; a symlink is not */
  g_autofree char *lock = g_build_filename(dir, "lock", NULL);
  g_assert_true(ic_trusted_state_path(lock, FALSE, &err));
  g_assert_cmpint(symlink("/etc/passwd", lock), ==, 0);
  g_assert_false(ic_trusted_state_path(lock, FALSE, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_PERMISSION);
  g_clear_error(&err);
  g_unlink(lock);
  g_assert_true(g_file_set_contents(lock, "1\n", -1, NULL));
  g_assert_cmpint(g_chmod(lock, 0646), ==, 0);
  g_assert_false(ic_trusted_state_path(lock, FALSE, &err));
  g_assert_error(err, IC_ERROR, IC_ERROR_PERMISSION);
  g_clear_error(&err);
  g_assert_cmpint(g_chmod(lock, 0644), ==, 0);
  g_assert_true(ic_trusted_state_path(lock, FALSE, &err));
  g_unlink(lock);
  g_rmdir(dir);
}

static void
test_group_link(void)
{
  gint64 n = -1;
  g_assert_true(ic_host_parse_group_link("../../../../kernel/iommu_groups/15", &n));
  g_assert_cmpint(n, ==, 15);
  g_assert_true(ic_host_parse_group_link("/sys/kernel/iommu_groups/0", &n));
  g_assert_cmpint(n, ==, 0);
  g_assert_true(ic_host_parse_group_link("kernel/iommu_groups/7", &n));
  const char *bad[] = {"garbage", "15", "garbage/15", "../../kernel/iommu_groups/", "../xkernel/iommu_groups/3",
                       "../../kernel/iommu_groups/-1", "../../kernel/iommu_groups/ 3", "../../kernel/iommu_groups/3x",
                       "../../kernel/iommu_groups/3/", "../../kernel/iommu_groups/99999999999", NULL};
  for (int i = 0; bad[i]; i++)
    g_assert_false(ic_host_parse_group_link(bad[i], &n));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/trust/executable/system", test_trusted_executable_system);
  g_test_add_func("/trust/executable/refused", test_trusted_executable_refused);
  g_test_add_func("/trust/state", test_trusted_state);
  g_test_add_func("/host/group-link", test_group_link);
  return g_test_run();
}
