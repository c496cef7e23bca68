/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One operation at a time per host: flock(2) on <state_dir>/lock.  flock
 * locks die with their process, so a crashed iommuctl never leaves a stale
 * lock behind; its unfinished operation stays in the journal instead. */
#include "assign/assign-private.h"
#include "util/ic-util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int
read_holder_pid(int fd)
{
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  gint64 pid;
  return ic_parse_int64(buf, 10, 1, G_MAXINT, &pid) ? (int) pid : -1;
}

/* The files iommuctl keeps in its state directory. */
static const char *const state_files[] = {
  "lock", "state.db", "state.db-wal", "state.db-shm", "state.db-journal", NULL,
};

gboolean
ic_as_state_dir_check(IcContext *ctx, gboolean create, GError **error)
{
  if (create && !ic_mkdir_p(ctx->state_dir, 0700, error))
    return FALSE;
  if (!ic_trusted_state_path(ctx->state_dir, TRUE, error))
    return FALSE;
  for (guint i = 0; state_files[i] != NULL; i++) {
    g_autofree char *path = g_build_filename(ctx->state_dir, state_files[i], NULL);
    if (!ic_trusted_state_path(path, FALSE, error))
      return FALSE;
  }
  return TRUE;
}

int
ic_as_lock(IcContext *ctx, GError **error)
{
  if (!ic_as_state_dir_check(ctx, TRUE, error))
    return -1;
  g_autofree char *path = g_build_filename(ctx->state_dir, "lock", NULL);
  /* O_NOFOLLOW and no O_TRUNC: a lock planted as a symlink must neither be
   * followed nor let the ftruncate below reach its target */
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP)
      g_set_error(error, IC_ERROR, IC_ERROR_PERMISSION,
                  "refusing the lock %s: it is a symlink (planted?); remove it and run again", path);
    else
      g_set_error(error, IC_ERROR, e == EACCES || e == EROFS ? IC_ERROR_PERMISSION : IC_ERROR_IO,
                  "cannot open the lock %s: %s", path, g_strerror(e));
    return -1;
  }
  if (!ic_trusted_state_fd(fd, path, FALSE, error)) {
    close(fd);
    return -1;
  }
  gint64 deadline = g_get_monotonic_time() + (gint64) ctx->lock_timeout_ms * 1000;
  guint sleep_us = 2000;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int e = errno;
      close(fd);
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot lock %s: %s", path, g_strerror(e));
      return -1;
    }
    if (g_get_monotonic_time() >= deadline) {
      int holder = read_holder_pid(fd);
      close(fd);
      g_autofree char *who = holder > 0 ? g_strdup_printf("process %d", holder)
                                        : g_strdup("another process");
      g_set_error(error, IC_ERROR, IC_ERROR_BUSY,
                  "another iommuctl operation is running (%s holds %s); gave up after %u ms "
                  "(--lock-timeout)", who, path, ctx->lock_timeout_ms);
      return -1;
    }
    g_usleep(sleep_us);
    sleep_us = MIN(sleep_us * 2, 50000);
  }
  char pid[32];
  int len = g_snprintf(pid, sizeof pid, "%d\n", (int) getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t) len, 0) != len) {
    /* only informational: the lock itself is held */
  }
  return fd;
}

void
ic_as_unlock(int fd)
{
  if (fd >= 0) {
    (void) flock(fd, LOCK_UN);
    close(fd);
  }
}

int
ic_as_lock_holder(IcContext *ctx)
{
  g_autofree char *path = g_build_filename(ctx->state_dir, "lock", NULL);
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return 0;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  int result = 0;
  if (flock(fd, LOCK_SH | LOCK_NB) != 0)
    result = errno == EWOULDBLOCK ? MAX(read_holder_pid(fd), -1) : -1;
  else
    (void) flock(fd, LOCK_UN);
  close(fd);
  return result;
}
