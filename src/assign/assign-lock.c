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
  return ic_state_lock(path, ctx->lock_timeout_ms, "another iommuctl operation is running", error);
}

void
ic_as_unlock(int fd)
{
  ic_state_unlock(fd);
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
    result = errno == EWOULDBLOCK ? MAX(ic_state_lock_holder_fd(fd), -1) : -1;
  else
    (void) flock(fd, LOCK_UN);
  close(fd);
  return result;
}
