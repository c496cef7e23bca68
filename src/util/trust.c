/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a root tool may trust on disk, decided the way sudo and OpenSSH
 * decide it: by who can change the bytes, not by where they are.
 *
 * - An executable is trusted when it, and every directory from / down to
 *   it, is owned by root and writable by nobody else.  Then only root can
 *   replace it, so running it as root gives nobody anything.
 * - A state directory and its files are trusted when owned by root (or by
 *   the invoking user, for tests run without root) and not writable by
 *   group or other; a symlink where a state file should be is refused. */
#include "util/ic-util.h"
#include "iommuctl/error.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* One step of the walk: fd is the component, opened O_PATH|O_NOFOLLOW. */
static gboolean
root_only(int fd, const char *shown, gboolean want_dir, GError **error)
{
  struct stat st;
  if (fstat(fd, &st) != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot stat %s: %s", shown, g_strerror(errno));
    return FALSE;
  }
  if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s is not a %s", shown,
                want_dir ? "directory" : "regular file");
    return FALSE;
  }
  if (st.st_uid != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s is owned by uid %u, not by root", shown,
                (guint) st.st_uid);
    return FALSE;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s is writable by %s (mode %04o)", shown,
                (st.st_mode & S_IWOTH) ? "every user" : "its group", (guint) (st.st_mode & 07777));
    return FALSE;
  }
  return TRUE;
}

gboolean
ic_trusted_executable(const char *path, char **resolved_out, GError **error)
{
  if (resolved_out != NULL)
    *resolved_out = NULL;
  /* realpath first, then a walk that follows nothing: a symlink swapped in
   * between makes the walk fail instead of checking the wrong file */
  g_autofree char *real = realpath(path, NULL);
  if (real == NULL) {
    int e = errno;
    g_set_error(error, IC_ERROR, e == ENOENT ? IC_ERROR_NOT_FOUND : IC_ERROR_IO, "%s: %s", path,
                g_strerror(e));
    return FALSE;
  }
  int dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0 || !root_only(dirfd, "/", TRUE, error)) {
    if (dirfd >= 0)
      close(dirfd);
    else
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot open /: %s", g_strerror(errno));
    return FALSE;
  }
  g_auto(GStrv) parts = g_strsplit(real + 1, "/", -1);
  GString *shown = g_string_new(NULL);
  gboolean ok = TRUE;
  for (guint i = 0; ok && parts[i] != NULL; i++) {
    gboolean last = parts[i + 1] == NULL;
    g_string_append_printf(shown, "/%s", parts[i]);
    int fd = openat(dirfd, parts[i], O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY));
    if (fd < 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s changed while it was checked: %s", shown->str,
                  g_strerror(errno));
      ok = FALSE;
      break;
    }
    ok = root_only(fd, shown->str, !last, error);
    close(dirfd);
    dirfd = fd;
  }
  close(dirfd);
  g_string_free(shown, TRUE);
  if (ok && resolved_out != NULL)
    *resolved_out = g_steal_pointer(&real);
  return ok;
}

/* The fix a sudo or sshd message would give, for a file or directory. */
static char *
state_fix(const char *path, const struct stat *st, uid_t euid)
{
  if (st->st_uid != 0 && st->st_uid != euid)
    return euid == 0 ? g_strdup_printf("chown root:root '%s'", path)
                     : g_strdup_printf("chown %u '%s' (or use a state directory of your own)", (guint) euid, path);
  return g_strdup_printf("chmod go-w '%s'", path);
}

gboolean
ic_trusted_state_fd(int fd, const char *path, gboolean want_dir, GError **error)
{
  struct stat st;
  if (fstat(fd, &st) != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot stat %s: %s", path, g_strerror(errno));
    return FALSE;
  }
  if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    g_set_error(error, IC_ERROR, IC_ERROR_PERMISSION,
                "refusing the state %s %s: it is not a %s; remove it and run again",
                want_dir ? "directory" : "file", path, want_dir ? "directory" : "regular file");
    return FALSE;
  }
  uid_t euid = geteuid();
  gboolean bad_owner = st.st_uid != 0 && st.st_uid != euid;
  gboolean bad_mode = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
  if (!bad_owner && !bad_mode)
    return TRUE;
  g_autofree char *fix = state_fix(path, &st, euid);
  g_set_error(error, IC_ERROR, IC_ERROR_PERMISSION,
              "refusing the state %s %s: %s (uid %u, mode %04o); whoever can write it can make "
              "iommuctl bind devices or write files as root; fix: %s",
              want_dir ? "directory" : "file", path,
              bad_owner ? (euid == 0 ? "it is not owned by root" : "it is owned by another user")
                        : "it is writable by group or other",
              (guint) st.st_uid, (guint) (st.st_mode & 07777), fix);
  return FALSE;
}

gboolean
ic_trusted_state_path(const char *path, gboolean want_dir, GError **error)
{
  /* the directory itself may be a symlink an administrator made (its
   * parent is root's); a file inside it may not */
  int fd = open(path, O_PATH | O_CLOEXEC | (want_dir ? O_DIRECTORY : O_NOFOLLOW));
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return TRUE; /* not there yet: it will be created with a safe mode */
    g_set_error(error, IC_ERROR, IC_ERROR_PERMISSION, "refusing the state %s %s: %s",
                want_dir ? "directory" : "file", path,
                e == ELOOP || e == ENOTDIR ? "it is a symlink or not a directory; remove it and run again"
                                           : g_strerror(e));
    return FALSE;
  }
  gboolean ok = ic_trusted_state_fd(fd, path, want_dir, error);
  close(fd);
  return ok;
}
