/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* In-place edits of a user's file, done the way careful editors do them.
 *
 * iommuctl runs as root and rewrites files it does not own (domain XML in
 * /etc/libvirt/qemu, under a user's home, in a shared directory).  An edit
 * must therefore leave everything but the text as it was:
 *
 *  - the replacement is a temporary file in the target's directory, created
 *    O_EXCL|O_NOFOLLOW with mode 0600 (nobody can read it half written), then
 *    given the original's owner, extended attributes (ACLs are the
 *    system.posix_acl_access/default xattrs, the SELinux label is
 *    security.selinux) and mode, fsynced, renamed over the original, and the
 *    directory fsynced;
 *  - a symlink is resolved: the link's target is edited and the link stays a
 *    link (all later steps work relative to the target's directory, opened
 *    once, so a directory swapped in afterwards is not followed);
 *  - a hard-linked file (st_nlink > 1) is refused unless the caller chose:
 *    SHARE overwrites the one inode in place (every name sees the edit; not
 *    atomic, so the .bak is written first) or BREAK replaces this name only;
 *  - FILE.bak is written the same way (temporary file + rename), so a .bak
 *    planted beforehand -- a symlink, or a file with another owner or mode --
 *    is replaced, never written through, and gets the original's metadata;
 *  - two editors never lose an update silently: the original is locked
 *    (flock) from before it is read until after the rename, and just before
 *    the rename its device, inode, size, mtime and ctime are compared with
 *    what was read; an editor that does not take the lock (vi, sed -i) is
 *    caught by that comparison and the edit fails with IC_ERROR_BUSY.
 *
 * The lock is on the file itself, not on a lock file beside it: nothing is
 * left behind, and a planted lock file cannot redirect anything.  A waiter
 * that gets the lock after the holder renamed a new file into place sees
 * that the name now points to another inode and starts over on the new one,
 * so concurrent iommuctl edits serialize and all of them land.
 */
#include "util/ic-util.h"
#include "iommuctl/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define LOCK_WAIT_DEFAULT_MS 30000
#define REOPEN_TRIES 100

struct IcSafeEdit {
  char *path;       /* as the user gave it: for messages */
  char *target;     /* the regular file edited (symlinks resolved) */
  char *dir;        /* its directory */
  char *base;       /* its name in dirfd */
  int dirfd;        /* the target's directory, opened once */
  int fd;           /* the target, read-only, flock(LOCK_EX) held; -1 when absent */
  struct stat st;   /* the target as read */
  char *contents;   /* what was read (NUL-terminated), NULL when not read */
  gsize len;
};

/* ---- small helpers -------------------------------------------------------- */

static int
errno_code(int e)
{
  switch (e) {
  case EACCES:
  case EPERM:
  case EROFS:
    return IC_ERROR_PERMISSION;
  case ENOENT:
    return IC_ERROR_NOT_FOUND;
  default:
    return IC_ERROR_IO;
  }
}

static gboolean
write_all_at(int fd, const char *data, gsize len, off_t off)
{
  while (len > 0) {
    ssize_t n = pwrite(fd, data, len, off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return FALSE;
    if (n == 0) {
      errno = EIO;
      return FALSE;
    }
    data += n;
    off += n;
    len -= (gsize) n;
  }
  return TRUE;
}

static gboolean
same_inode(const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static gboolean
same_version(const struct stat *a, const struct stat *b)
{
  return same_inode(a, b) && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
         a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
         a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void
edit_close_target(IcSafeEdit *e)
{
  if (e->fd >= 0)
    close(e->fd); /* releases the flock */
  e->fd = -1;
}

void
ic_safe_edit_free(IcSafeEdit *e)
{
  if (e == NULL)
    return;
  edit_close_target(e);
  if (e->dirfd >= 0)
    close(e->dirfd);
  g_free(e->contents);
  g_free(e->path);
  g_free(e->target);
  g_free(e->dir);
  g_free(e->base);
  g_free(e);
}

/* ---- opening, locking, reading ------------------------------------------------ */

/* Resolve path to the file an edit must replace: through symlinks (the link
 * stays, its target is edited).  A path that does not exist yet is allowed
 * when allow_missing (an output file): its directory is resolved instead.
 * A dangling symlink is refused: writing would replace the link. */
static gboolean
resolve_target(IcSafeEdit *e, gboolean allow_missing, gboolean *exists, GError **error)
{
  struct stat lst;
  if (lstat(e->path, &lst) != 0) {
    int err = errno;
    if (err == ENOENT && allow_missing) {
      g_autofree char *dir = g_path_get_dirname(e->path);
      char *real = realpath(dir, NULL);
      if (real == NULL) {
        err = errno;
        g_set_error(error, IC_ERROR, errno_code(err), "cannot write %s: %s: %s", e->path, dir, g_strerror(err));
        return FALSE;
      }
      e->dir = g_strdup(real);
      free(real);
      e->base = g_path_get_basename(e->path);
      e->target = g_build_filename(e->dir, e->base, NULL);
      *exists = FALSE;
      return TRUE;
    }
    g_set_error(error, IC_ERROR, errno_code(err), "cannot open %s: %s", e->path, g_strerror(err));
    return FALSE;
  }
  char *real = realpath(e->path, NULL);
  if (real == NULL) {
    int err = errno;
    g_set_error(error, IC_ERROR, errno_code(err), "%s: %s%s", e->path,
                S_ISLNK(lst.st_mode) && err == ENOENT ? "dangling symlink: " : "cannot resolve: ", g_strerror(err));
    return FALSE;
  }
  e->target = g_strdup(real);
  free(real);
  e->dir = g_path_get_dirname(e->target);
  e->base = g_path_get_basename(e->target);
  *exists = TRUE;
  return TRUE;
}

static gboolean
wait_for_lock(IcSafeEdit *e, guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
  guint nap_us = 1000;
  while (flock(e->fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EINTR)
      continue;
    if (err == ENOLCK || err == ENOTSUP || err == EOPNOTSUPP || err == EINVAL)
      return TRUE; /* a file system without flock: compare-before-rename still guards the edit */
    if (err != EWOULDBLOCK) {
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot lock %s: %s", e->path, g_strerror(err));
      return FALSE;
    }
    if (g_get_monotonic_time() >= deadline) {
      g_set_error(error, IC_ERROR, IC_ERROR_BUSY,
                  "%s is being edited by another process (still locked after %u s); nothing was written",
                  e->path, timeout_ms / 1000);
      return FALSE;
    }
    g_usleep(nap_us);
    nap_us = MIN(nap_us * 2, 50000);
  }
  return TRUE;
}

/* Bounded read of the locked file.  TODO(lead): once the safe-file layer
 * (src/util/safe-file.c) lands, read through it. */
static gboolean
read_locked(IcSafeEdit *e, gsize max_size, GError **error)
{
  if ((guint64) e->st.st_size > max_size) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: %" G_GUINT64_FORMAT " bytes is over the %" G_GSIZE_FORMAT
                "-byte limit", e->path, (guint64) e->st.st_size, max_size);
    return FALSE;
  }
  gsize cap = (gsize) e->st.st_size + 1; /* one more: notices a file that grew */
  g_autofree char *buf = g_malloc(cap + 1);
  gsize total = 0;
  for (;;) {
    if (total == cap) {
      g_set_error(error, IC_ERROR, IC_ERROR_BUSY, "%s grew while being read; nothing was written", e->path);
      return FALSE;
    }
    ssize_t n = pread(e->fd, buf + total, cap - total, (off_t) total);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int err = errno;
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot read %s: %s", e->path, g_strerror(err));
      return FALSE;
    }
    if (n == 0)
      break;
    total += (gsize) n;
  }
  buf[total] = '\0';
  e->contents = g_steal_pointer(&buf);
  e->len = total;
  return TRUE;
}

/* Open the target in the pinned directory, lock it, and make sure both its
 * name there and the path the user gave still refer to the locked inode (a
 * concurrent editor may have renamed a new file into place while we waited,
 * or between the symlink resolution and the open: then start over on the
 * file the name now has). */
static gboolean
open_and_lock(IcSafeEdit *e, guint timeout_ms, GError **error)
{
  for (int attempt = 0; attempt < REOPEN_TRIES; attempt++) {
    e->fd = openat(e->dirfd, e->base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (e->fd < 0) {
      int err = errno;
      g_set_error(error, IC_ERROR, err == ELOOP ? IC_ERROR_BUSY : errno_code(err), "cannot open %s: %s",
                  e->path, err == ELOOP ? "it was replaced by a symlink while being opened" : g_strerror(err));
      return FALSE;
    }
    if (fstat(e->fd, &e->st) != 0) {
      int err = errno;
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot stat %s: %s", e->path, g_strerror(err));
      return FALSE;
    }
    if (!S_ISREG(e->st.st_mode)) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s is not a regular file; only regular files are edited",
                  e->path);
      return FALSE;
    }
    if (!wait_for_lock(e, timeout_ms, error))
      return FALSE;
    struct stat now, by_path;
    if (fstatat(e->dirfd, e->base, &now, AT_SYMLINK_NOFOLLOW) == 0 && same_inode(&now, &e->st) &&
        stat(e->path, &by_path) == 0 && same_inode(&by_path, &e->st)) {
      if (fstat(e->fd, &e->st) != 0) { /* as it is now, under the lock */
        int err = errno;
        g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot stat %s: %s", e->path, g_strerror(err));
        return FALSE;
      }
      return TRUE;
    }
    edit_close_target(e); /* replaced while we waited: take the new one */
  }
  g_set_error(error, IC_ERROR, IC_ERROR_BUSY, "%s keeps being replaced by other editors; nothing was written", e->path);
  return FALSE;
}

static IcSafeEdit *
edit_open(const char *path, gboolean read, gsize max_size, gboolean allow_missing, GError **error)
{
  g_autoptr(IcSafeEdit) e = g_new0(IcSafeEdit, 1);
  e->fd = e->dirfd = -1;
  e->path = g_strdup(path);
  gboolean exists = FALSE;
  if (!resolve_target(e, allow_missing, &exists, error))
    return NULL;
  e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (e->dirfd < 0) {
    int err = errno;
    g_set_error(error, IC_ERROR, errno_code(err), "cannot open the directory of %s (%s): %s", path, e->dir,
                g_strerror(err));
    return NULL;
  }
  if (!exists)
    return g_steal_pointer(&e);
  if (!open_and_lock(e, LOCK_WAIT_DEFAULT_MS, error))
    return NULL;
  if (read && !read_locked(e, max_size, error))
    return NULL;
  return g_steal_pointer(&e);
}

IcSafeEdit *
ic_safe_edit_open(const char *path, gsize max_size, GError **error)
{
  return edit_open(path, TRUE, max_size, FALSE, error);
}

const char *
ic_safe_edit_contents(const IcSafeEdit *e, gsize *len)
{
  if (len != NULL)
    *len = e->len;
  return e->contents;
}

const char *
ic_safe_edit_target(const IcSafeEdit *e)
{
  return e->target;
}

/* ---- writing ------------------------------------------------------------------ */

/* A new, empty temporary file beside the target: 0600, O_EXCL, O_NOFOLLOW. */
static int
create_temp(IcSafeEdit *e, char **name_out, GError **error)
{
  /* keep the name under NAME_MAX whatever the target's name */
  g_autofree char *stem = g_strndup(e->base, 200);
  for (int attempt = 0; attempt < 100; attempt++) {
    g_autofree char *name = g_strdup_printf(".%s.iommuctl-%08x", stem, g_random_int());
    int fd = openat(e->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      *name_out = g_steal_pointer(&name);
      return fd;
    }
    if (errno == EEXIST)
      continue;
    int err = errno;
    g_set_error(error, IC_ERROR, errno_code(err), "cannot create a temporary file in %s to write %s: %s; "
                "nothing was written", e->dir, e->path, g_strerror(err));
    return -1;
  }
  g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot create a temporary file in %s: every name is taken", e->dir);
  return -1;
}

/* Attributes derived from the old content: IMA's hash and EVM's HMAC would
 * be wrong on the new text (and make IMA appraisal deny the file); the
 * kernel computes fresh ones. */
static gboolean
content_derived(const char *name)
{
  return strcmp(name, "security.ima") == 0 || strcmp(name, "security.evm") == 0;
}

/* Every extended attribute of from onto to: user.*, trusted.*, security.*
 * (the SELinux label) and system.posix_acl_* (the ACLs).  A file system
 * without xattrs has none to copy.  An access ACL the temporary file
 * inherited from the directory's default ACL, which the original did not
 * have, is removed. */
static gboolean
copy_xattrs(IcSafeEdit *e, int from, int to, GError **error)
{
  g_autofree char *names = NULL;
  ssize_t size = -1;
  for (int tries = 0; tries < 5 && size < 0; tries++) {
    size = flistxattr(from, NULL, 0);
    if (size < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
      return TRUE;
    if (size <= 0)
      break;
    names = g_realloc(names, (gsize) size);
    size = flistxattr(from, names, (size_t) size);
    if (size < 0 && errno != ERANGE)
      break; /* ERANGE: an attribute was added meanwhile, list again */
  }
  if (size < 0) {
    int err = errno;
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot list the extended attributes of %s: %s", e->path,
                g_strerror(err));
    return FALSE;
  }
  gboolean had_acl = FALSE;
  for (ssize_t off = 0; names != NULL && off < size; off += (ssize_t) strlen(names + off) + 1) {
    const char *name = names + off;
    had_acl = had_acl || strcmp(name, "system.posix_acl_access") == 0;
    if (content_derived(name))
      continue;
    ssize_t vlen = fgetxattr(from, name, NULL, 0);
    g_autofree char *value = vlen > 0 ? g_malloc((gsize) vlen) : NULL;
    if (vlen > 0)
      vlen = fgetxattr(from, name, value, (size_t) vlen);
    if (vlen < 0 || fsetxattr(to, name, value, (size_t) vlen, 0) != 0) {
      int err = errno;
      g_set_error(error, IC_ERROR, errno_code(err),
                  "cannot carry the extended attribute %s of %s over to its replacement: %s; nothing was written",
                  name, e->path, g_strerror(err));
      return FALSE;
    }
  }
  if (!had_acl && fremovexattr(to, "system.posix_acl_access") != 0 && errno != ENODATA && errno != ENOTSUP &&
      errno != EOPNOTSUPP) {
    int err = errno;
    g_set_error(error, IC_ERROR, errno_code(err),
                "cannot drop the ACL the replacement of %s inherited from its directory: %s; nothing was written",
                e->path, g_strerror(err));
    return FALSE;
  }
  return TRUE;
}

/* The original's owner, xattrs and mode on fd.  Order matters: chown clears
 * set-id bits and file capabilities, so it goes first and chmod last. */
static gboolean
copy_metadata(IcSafeEdit *e, int fd, GError **error)
{
  if (e->fd < 0) { /* a new file */
    if (fchmod(fd, 0644) != 0) {
      int err = errno;
      g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot give the new %s mode 0644: %s", e->path, g_strerror(err));
      return FALSE;
    }
    return TRUE;
  }
  if (fchown(fd, e->st.st_uid, e->st.st_gid) != 0) {
    int err = errno;
    g_set_error(error, IC_ERROR, errno_code(err),
                "cannot give the replacement of %s its owner %u:%u: %s; nothing was written", e->path,
                (guint) e->st.st_uid, (guint) e->st.st_gid, g_strerror(err));
    return FALSE;
  }
  if (!copy_xattrs(e, e->fd, fd, error))
    return FALSE;
  if (fchmod(fd, e->st.st_mode & 07777) != 0) {
    int err = errno;
    g_set_error(error, IC_ERROR, errno_code(err), "cannot give the replacement of %s its mode %04o: %s", e->path,
                (guint) (e->st.st_mode & 07777), g_strerror(err));
    return FALSE;
  }
  return TRUE;
}

/* Has anyone touched the original since we read it?  Another iommuctl waits
 * for our lock; this catches the editors that take none. */
static gboolean
check_unchanged(IcSafeEdit *e, GError **error)
{
  if (e->fd < 0) {
    struct stat now;
    if (fstatat(e->dirfd, e->base, &now, AT_SYMLINK_NOFOLLOW) == 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_BUSY, "%s was created by someone else meanwhile; nothing was written",
                  e->path);
      return FALSE;
    }
    return TRUE;
  }
  struct stat by_name, by_fd;
  if (fstatat(e->dirfd, e->base, &by_name, AT_SYMLINK_NOFOLLOW) != 0 || fstat(e->fd, &by_fd) != 0 ||
      !same_inode(&by_name, &e->st) || !same_version(&by_fd, &e->st)) {
    g_set_error(error, IC_ERROR, IC_ERROR_BUSY,
                "%s changed on disk while iommuctl was editing it (another editor?); nothing was written, "
                "run the command again", e->path);
    return FALSE;
  }
  return TRUE;
}

/* Write data to a temporary file with the original's metadata and rename it
 * to name (the target itself, or its .bak).  With verify, the original is
 * compared with what was read just before the rename. */
static gboolean
replace_name(IcSafeEdit *e, const char *name, const char *data, gsize len, gboolean verify, GError **error)
{
  g_autofree char *tmp = NULL;
  int fd = create_temp(e, &tmp, error);
  if (fd < 0)
    return FALSE;
  gboolean ok = TRUE;
  g_autofree char *what = strcmp(name, e->base) == 0 ? g_strdup(e->path) : g_strconcat(e->path, ".bak", NULL);
  if (!write_all_at(fd, data, len, 0) || fsync(fd) != 0) {
    int err = errno;
    g_set_error(error, IC_ERROR, errno_code(err), "cannot write %s: %s; %s is unchanged", what, g_strerror(err),
                e->path);
    ok = FALSE;
  }
  ok = ok && copy_metadata(e, fd, error);
  if (close(fd) != 0 && ok) {
    int err = errno;
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot write %s: %s; it is unchanged", e->path, g_strerror(err));
    ok = FALSE;
  }
  ok = ok && (!verify || check_unchanged(e, error));
  if (ok && renameat(e->dirfd, tmp, e->dirfd, name) != 0) {
    int err = errno;
    g_set_error(error, IC_ERROR, errno_code(err), "cannot rename the new %s into place: %s; %s is unchanged",
                what, g_strerror(err), e->path);
    ok = FALSE;
  }
  if (!ok) {
    (void) unlinkat(e->dirfd, tmp, 0);
    return FALSE;
  }
  if (fsync(e->dirfd) != 0) {
    int err = errno;
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "%s was replaced but its directory could not be synced: %s", e->path,
                g_strerror(err));
    return FALSE;
  }
  return TRUE;
}

/* SHARE: rewrite the one inode every hard link names.  Not atomic: the .bak
 * (written first by the caller) is the way back after a crash; after a
 * failed write the old text is put back. */
static gboolean
overwrite_in_place(IcSafeEdit *e, const char *data, gsize len, GError **error)
{
  int wfd = openat(e->dirfd, e->base, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat st;
  if (wfd < 0 || fstat(wfd, &st) != 0 || !same_inode(&st, &e->st)) {
    int err = wfd < 0 ? errno : EBUSY;
    if (wfd >= 0)
      close(wfd);
    g_set_error(error, IC_ERROR, wfd < 0 ? errno_code(err) : IC_ERROR_BUSY, "cannot open %s for writing: %s",
                e->path, wfd < 0 ? g_strerror(err) : "it was replaced meanwhile");
    return FALSE;
  }
  if (!check_unchanged(e, error)) {
    close(wfd);
    return FALSE;
  }
  if (!write_all_at(wfd, data, len, 0) || ftruncate(wfd, (off_t) len) != 0 || fsync(wfd) != 0) {
    int err = errno;
    gboolean restored = write_all_at(wfd, e->contents, e->len, 0) && ftruncate(wfd, (off_t) e->len) == 0 &&
                        fsync(wfd) == 0;
    close(wfd);
    g_set_error(error, IC_ERROR, errno_code(err), "cannot write %s in place: %s; %s", e->path, g_strerror(err),
                restored ? "its old text was put back" : "it may be damaged: restore it from its .bak");
    return FALSE;
  }
  if (close(wfd) != 0) {
    int err = errno;
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot write %s in place: %s", e->path, g_strerror(err));
    return FALSE;
  }
  return TRUE;
}

gboolean
ic_safe_edit_commit(IcSafeEdit *e, const char *data, gsize len, const IcSafeEditOptions *opts, GError **error)
{
  static const IcSafeEditOptions defaults = {0};
  if (opts == NULL)
    opts = &defaults;
  gboolean linked = e->fd >= 0 && e->st.st_nlink > 1;
  if (linked && opts->hard_links == IC_HARD_LINKS_REFUSE) {
    g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED,
                "%s has %u hard links: replacing it would leave the other names with the old text; nothing was "
                "written (--hard-links=share edits the file all names share, --hard-links=break replaces this "
                "name only)", e->path, (guint) e->st.st_nlink);
    return FALSE;
  }
  gboolean share = linked && opts->hard_links == IC_HARD_LINKS_SHARE;
  if (!check_unchanged(e, error))
    return FALSE;
  if ((opts->backup || share) && e->fd >= 0) {
    if (e->contents == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "%s: internal error: backup without contents", e->path);
      return FALSE;
    }
    g_autofree char *bak = g_strconcat(e->base, ".bak", NULL);
    if (!replace_name(e, bak, e->contents, e->len, FALSE, error))
      return FALSE;
  }
  if (share)
    return overwrite_in_place(e, data, len, error);
  return replace_name(e, e->base, data, len, TRUE, error);
}

gboolean
ic_safe_write_file(const char *path, const char *data, gsize len, const IcSafeEditOptions *opts, GError **error)
{
  gboolean need_contents = opts != NULL && (opts->backup || opts->hard_links == IC_HARD_LINKS_SHARE);
  g_autoptr(IcSafeEdit) e = edit_open(path, need_contents, G_MAXSIZE - 1, TRUE, error);
  if (e == NULL)
    return FALSE;
  return ic_safe_edit_commit(e, data, len, opts, error);
}

gboolean
ic_hard_links_parse(const char *text, IcHardLinkPolicy *out)
{
  if (text == NULL || strcmp(text, "refuse") == 0)
    *out = IC_HARD_LINKS_REFUSE;
  else if (strcmp(text, "share") == 0)
    *out = IC_HARD_LINKS_SHARE;
  else if (strcmp(text, "break") == 0)
    *out = IC_HARD_LINKS_BREAK;
  else
    return FALSE;
  return TRUE;
}
