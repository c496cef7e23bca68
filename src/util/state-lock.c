/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Exclusive locks on files of the state directory (flock(2)).  flock locks
 * die with their process, so a crashed iommuctl never leaves a stale lock;
 * the holder's pid is written into the file only to name it in errors. */
#include "util/ic-util.h"
#include "iommuctl/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

int
ic_state_lock_holder_fd(int fd)
{
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  gint64 pid;
  return ic_parse_int64(buf, 10, 1, G_MAXINT, &pid) ? (int) pid : -1;
}

static int
open_lock_file(const char *path, GError **error)
{
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
  return fd;
}

int
ic_state_lock(const char *path, guint timeout_ms, const char *holder_is, GError **error)
{
  int fd = open_lock_file(path, error);
  if (fd < 0)
    return -1;
  gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
  guint sleep_us = 2000;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      int e = errno;
      close(fd);
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot lock %s: %s", path, g_strerror(e));
      return -1;
    }
    if (g_get_monotonic_time() >= deadline) {
      int holder = ic_state_lock_holder_fd(fd);
      close(fd);
      g_autofree char *who = holder > 0 ? g_strdup_printf("process %d", holder) : g_strdup("another process");
      g_set_error(error, IC_ERROR, IC_ERROR_BUSY, "%s (%s holds %s); gave up after %u ms (--lock-timeout)",
                  holder_is, who, path, timeout_ms);
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
ic_state_unlock(int fd)
{
  if (fd >= 0) {
    (void) flock(fd, LOCK_UN);
    close(fd);
  }
}
