/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safe-file layer: see ic-safe.h for the rules.  Modelled on systemd's
 * src/basic (read_full_file's open+fstat, chase()'s component walk). */
#include "util/ic-safe.h"
#include "util/ic-util.h"
#include "iommuctl/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- opening and reading ---------------------------------------------------- */

const char *
ic_file_type_name(mode_t mode)
{
  switch (mode & S_IFMT) {
  case S_IFREG: return "a regular file";
  case S_IFDIR: return "a directory";
  case S_IFIFO: return "a FIFO";
  case S_IFSOCK: return "a socket";
  case S_IFCHR: return "a character device";
  case S_IFBLK: return "a block device";
  case S_IFLNK: return "a symbolic link";
  default: return "a special file";
  }
}

static int
code_for_errno(int e)
{
  switch (e) {
  case ENOENT: case ENOTDIR: return IC_ERROR_NOT_FOUND;
  case EACCES: case EPERM: case EROFS: return IC_ERROR_PERMISSION;
  /* a refused symlink (O_NOFOLLOW), a FIFO without reader (ENXIO), a
   * path that would leave its root: the input is wrong, not the host */
  case ELOOP: case ENXIO: case EXDEV: case EEXIST: return IC_ERROR_INVALID_ARG;
  default: return IC_ERROR_IO;
  }
}

static const char *
open_errno_text(int e, IcOpenFlags flags)
{
  if (e == ELOOP && (flags & IC_OPEN_NOFOLLOW))
    return "is a symbolic link (not followed here)";
  return NULL;
}

int
ic_open_regular_at(int dirfd, const char *path, IcOpenFlags flags, struct stat *st_out, GError **error)
{
  int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  if (flags & IC_OPEN_NOFOLLOW)
    oflags |= O_NOFOLLOW;
  int fd;
  do
    fd = openat(dirfd, path, oflags);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int e = errno;
    const char *why = open_errno_text(e, flags);
    if (why != NULL)
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s %s", path, why);
    else
      g_set_error(error, IC_ERROR, code_for_errno(e), "cannot open %s: %s", path, g_strerror(e));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot stat %s: %s", path, g_strerror(e));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s is %s, not a regular file", path,
                ic_file_type_name(st.st_mode));
    return -1;
  }
  if (st_out != NULL)
    *st_out = st;
  return fd;
}

static void
set_too_large(GError **error, const char *name, gsize max_size)
{
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
              "%s is larger than the limit of %" G_GSIZE_FORMAT " bytes", name, max_size);
}

gboolean
ic_read_fd(int fd, const char *name, const struct stat *st, gsize max_size, char **contents,
           gsize *len_out, GError **error)
{
  /* st_size > 0 is the exact size of a regular file and of a sysfs binary
   * attribute, an upper bound for sysfs text attributes; 0 for proc files.
   * It sizes the first buffer, and reading stops once it is reached. */
  gsize hint = st != NULL && st->st_size > 0 ? (gsize) st->st_size : 0;
  if (hint > max_size) {
    set_too_large(error, name, max_size);
    return FALSE;
  }
  gsize cap = hint > 0 ? hint + 1 : MIN(max_size + 1, (gsize) 16384);
  gsize total = 0;
  g_autofree char *buf = g_malloc(cap + 1);
  for (;;) {
    if (total == cap) {
      if (cap > max_size) {
        set_too_large(error, name, max_size);
        return FALSE;
      }
      /* memory in proportion to the input: at most twice what was read */
      cap = MIN(cap * 2, max_size + 1);
      buf = g_realloc(buf, cap + 1);
    }
    ssize_t n = read(fd, buf + total, cap - total);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      g_set_error(error, IC_ERROR, e == EAGAIN ? IC_ERROR_INVALID_ARG : IC_ERROR_IO,
                  "cannot read %s: %s", name, g_strerror(e));
      return FALSE;
    }
    if (n == 0)
      break;
    total += (gsize) n;
    if (total > max_size) {
      set_too_large(error, name, max_size);
      return FALSE;
    }
    /* reached the size fstat reported: stop without the read(2) that
     * would return 0 (a file growing meanwhile is read as it was) */
    if (hint > 0 && total >= hint)
      break;
  }
  buf[total] = '\0';
  if (len_out != NULL)
    *len_out = total;
  *contents = g_steal_pointer(&buf);
  return TRUE;
}

gboolean
ic_read_file_at(int dirfd, const char *path, IcOpenFlags flags, const char *display, gsize max_size,
                char **contents, gsize *len_out, GError **error)
{
  const char *name = display != NULL ? display : path;
  struct stat st;
  g_autoptr(GError) local = NULL;
  int fd = ic_open_regular_at(dirfd, path, flags, &st, &local);
  if (fd < 0) {
    if (display != NULL && strcmp(display, path) != 0)
      g_set_error(error, local->domain, local->code, "%s (%s)", local->message, display);
    else
      g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
  }
  gboolean ok = ic_read_fd(fd, name, &st, max_size, contents, len_out, error);
  close(fd);
  return ok;
}

/* ---- walking a directory tree ----------------------------------------------- */

typedef struct {
  IcWalkFlags flags;
  IcWalkMatchFunc match;
  IcWalkFileFunc on_file;
  IcWalkSkipFunc on_skip;
  gpointer user_data;
  GArray *stack; /* struct stat of the directories on the current path */
} Walk;

static void
walk_skip(Walk *w, const char *path, const char *reason)
{
  if (w->on_skip != NULL)
    w->on_skip(path, reason, w->user_data);
}

static gint
compare_strings(gconstpointer a, gconstpointer b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

static gboolean
on_path(Walk *w, const struct stat *st)
{
  for (guint i = 0; i < w->stack->len; i++) {
    const struct stat *s = &g_array_index(w->stack, struct stat, i);
    if (s->st_dev == st->st_dev && s->st_ino == st->st_ino)
      return TRUE;
  }
  return FALSE;
}

/* Names of dirfd's entries, sorted; hidden ones only with IC_WALK_HIDDEN.
 * Takes ownership of dirfd (closedir). */
static GPtrArray *
read_names(Walk *w, int dirfd, const char *path, GError **error)
{
  int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  if (d == NULL) {
    int e = errno;
    if (dup_fd >= 0)
      close(dup_fd);
    g_set_error(error, IC_ERROR, code_for_errno(e), "cannot read directory %s: %s", path, g_strerror(e));
    return NULL;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    if (e->d_name[0] == '.' && !(w->flags & IC_WALK_HIDDEN))
      continue;
    g_ptr_array_add(names, g_strdup(e->d_name));
  }
  closedir(d);
  g_ptr_array_sort(names, compare_strings);
  return names;
}

static gboolean walk_level(Walk *w, int dirfd, const char *path, const char *rel, guint depth, GError **error);

static gboolean
walk_entry(Walk *w, int dirfd, const char *path, const char *rel, const char *name, guint depth, GError **error)
{
  g_autofree char *epath = g_build_filename(path, name, NULL);
  g_autofree char *erel = *rel ? g_build_filename(rel, name, NULL) : g_strdup(name);
  gboolean matches = w->match == NULL || w->match(name);
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) /* gone since readdir */
      return TRUE;
    int e = errno;
    g_set_error(error, IC_ERROR, code_for_errno(e), "cannot stat %s: %s", epath, g_strerror(e));
    return FALSE;
  }
  if (S_ISLNK(st.st_mode)) {
    if (matches || (w->flags & IC_WALK_RECURSIVE))
      walk_skip(w, epath, "is a symbolic link (links are not followed inside a walked directory)");
    return TRUE;
  }
  if (S_ISDIR(st.st_mode)) {
    if (!(w->flags & IC_WALK_RECURSIVE))
      return TRUE;
    if (on_path(w, &st)) {
      walk_skip(w, epath, "loops back to a directory above it (same device and inode)");
      return TRUE;
    }
    if (depth + 1 > IC_WALK_MAX_DEPTH) {
      walk_skip(w, epath, "is nested deeper than " G_STRINGIFY(IC_WALK_MAX_DEPTH) " directories");
      return TRUE;
    }
    int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (sub < 0) {
      int e = errno;
      if (e == ELOOP || e == ENOTDIR) { /* swapped for a link since fstatat */
        walk_skip(w, epath, "changed into a symbolic link or file during the walk");
        return TRUE;
      }
      g_set_error(error, IC_ERROR, code_for_errno(e), "cannot open directory %s: %s", epath, g_strerror(e));
      return FALSE;
    }
    struct stat sst;
    if (fstat(sub, &sst) != 0 || sst.st_dev != st.st_dev || sst.st_ino != st.st_ino) {
      close(sub);
      walk_skip(w, epath, "changed during the walk");
      return TRUE;
    }
    g_array_append_val(w->stack, sst);
    gboolean ok = walk_level(w, sub, epath, erel, depth + 1, error);
    g_array_set_size(w->stack, w->stack->len - 1);
    close(sub);
    return ok;
  }
  if (!matches)
    return TRUE;
  if (!S_ISREG(st.st_mode)) {
    g_autofree char *why = g_strdup_printf("is %s, not a regular file", ic_file_type_name(st.st_mode));
    walk_skip(w, epath, why);
    return TRUE;
  }
  IcWalkEntry entry = {dirfd, name, epath, erel, &st};
  return w->on_file(&entry, w->user_data, error);
}

static gboolean
walk_level(Walk *w, int dirfd, const char *path, const char *rel, guint depth, GError **error)
{
  g_autoptr(GPtrArray) names = read_names(w, dirfd, path, error);
  if (names == NULL)
    return FALSE;
  for (guint i = 0; i < names->len; i++)
    if (!walk_entry(w, dirfd, path, rel, g_ptr_array_index(names, i), depth, error))
      return FALSE;
  return TRUE;
}

gboolean
ic_walk_dir(const char *root, IcWalkFlags flags, IcWalkMatchFunc match, IcWalkFileFunc on_file,
            IcWalkSkipFunc on_skip, gpointer user_data, GError **error)
{
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, IC_ERROR, e == ENOTDIR ? IC_ERROR_INVALID_ARG : code_for_errno(e),
                "cannot open directory %s: %s", root, g_strerror(e));
    return FALSE;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot stat %s: %s", root, g_strerror(e));
    return FALSE;
  }
  Walk w = {flags, match, on_file, on_skip, user_data, g_array_new(FALSE, FALSE, sizeof(struct stat))};
  g_array_append_val(w.stack, st);
  gboolean ok = walk_level(&w, fd, root, "", 0, error);
  g_array_free(w.stack, TRUE);
  close(fd);
  return ok;
}

/* ic_walk_collect(): the list being built and the caller's skip callback */
typedef struct {
  GPtrArray *out;
  IcWalkSkipFunc skip;
  gpointer data;
} Collect;

static gboolean
collect_one(const IcWalkEntry *entry, gpointer user_data, GError **error)
{
  (void) error;
  Collect *c = user_data;
  g_ptr_array_add(c->out, g_strdup(entry->path));
  return TRUE;
}

static void
collect_skip(const char *path, const char *reason, gpointer user_data)
{
  Collect *c = user_data;
  if (c->skip != NULL)
    c->skip(path, reason, c->data);
}

GPtrArray *
ic_walk_collect(const char *root, IcWalkFlags flags, IcWalkMatchFunc match, IcWalkSkipFunc on_skip,
                gpointer user_data, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
  Collect c = {out, on_skip, user_data};
  if (!ic_walk_dir(root, flags, match, collect_one, collect_skip, &c, error))
    return NULL;
  return g_steal_pointer(&out);
}

/* ---- confined writes ---------------------------------------------------------- */

static gboolean force_no_openat2;

void
ic_safe_force_no_openat2(gboolean force)
{
  force_no_openat2 = force;
}

/* relpath must be relative, without ".." components: checked before any
 * system call so that both code paths refuse the same names */
static gboolean
check_relpath(const char *relpath, const char *display, GError **error)
{
  if (relpath == NULL || *relpath == '\0' || *relpath == '/') {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: not a relative path beneath its root", display);
    return FALSE;
  }
  g_auto(GStrv) parts = g_strsplit(relpath, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (strcmp(parts[i], "..") == 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: \"..\" would leave the directory it belongs in", display);
      return FALSE;
    }
  }
  return TRUE;
}

static void
set_beneath_error(GError **error, int e, const char *display, const char *what)
{
  if (e == ELOOP)
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "cannot %s %s: a symbolic link is in the way (not followed)", what, display);
  else if (e == EXDEV)
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "cannot %s %s: it would leave its root directory", what, display);
  else if (e == EEXIST)
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "cannot %s %s: it already exists", what, display);
  else if (e == ENOTDIR)
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "cannot %s %s: a file is in the way of a directory", what, display);
  else
    g_set_error(error, IC_ERROR, code_for_errno(e), "cannot %s %s: %s", what, display, g_strerror(e));
}

/* ENOTDIR from an O_NOFOLLOW|O_DIRECTORY open: a symlink (ELOOP, as
 * openat2's RESOLVE_NO_SYMLINKS says) or a file in the way (ENOTDIR) */
static int
notdir_errno(int dirfd, const char *name)
{
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    return ELOOP;
  return ENOTDIR;
}

/* Component by component: every directory opened with O_NOFOLLOW|O_DIRECTORY
 * relative to the last, the final name with O_NOFOLLOW.  Sets errno. */
static int
open_walk(int rootfd, const char *relpath, int flags, mode_t mode)
{
  g_auto(GStrv) parts = g_strsplit(relpath, "/", -1);
  guint n = g_strv_length(parts);
  guint last = n;
  while (last > 0 && (*parts[last - 1] == '\0' || strcmp(parts[last - 1], ".") == 0))
    last--;
  if (last == 0) /* the root itself */
    return openat(rootfd, ".", flags & ~(O_CREAT | O_EXCL), mode);
  int cur = rootfd;
  for (guint i = 0; i + 1 < last; i++) {
    if (*parts[i] == '\0' || strcmp(parts[i], ".") == 0)
      continue;
    int next = openat(cur, parts[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = next < 0 && errno == ENOTDIR ? notdir_errno(cur, parts[i]) : errno;
    if (cur != rootfd)
      close(cur);
    if (next < 0) {
      errno = e;
      return -1;
    }
    cur = next;
  }
  int fd = openat(cur, parts[last - 1], flags | O_NOFOLLOW, mode);
  int e = errno;
  if (cur != rootfd)
    close(cur);
  errno = e;
  return fd;
}

static int
open_beneath_raw(int rootfd, const char *relpath, int flags, mode_t mode)
{
  /* O_NONBLOCK: a FIFO in the tree neither blocks the open nor a read */
  flags |= O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
  if (!force_no_openat2) {
    struct open_how how = {
      .flags = (guint64) flags,
      .mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
      .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    for (int tries = 0; tries < 8; tries++) {
      long fd = syscall(SYS_openat2, rootfd, relpath, &how, sizeof how);
      if (fd >= 0)
        return (int) fd;
      if (errno == EAGAIN || errno == EINTR) /* a concurrent rename: retry */
        continue;
      if (errno != ENOSYS)
        return -1;
      break;
    }
    if (errno != ENOSYS)
      return -1;
  }
  return open_walk(rootfd, relpath, flags, mode);
}

int
ic_open_beneath(int rootfd, const char *relpath, int open_flags, mode_t mode, const char *display,
                GError **error)
{
  const char *name = display != NULL ? display : relpath;
  if (!check_relpath(relpath, name, error))
    return -1;
  int fd = open_beneath_raw(rootfd, relpath, open_flags, mode);
  if (fd < 0) {
    set_beneath_error(error, errno, name, (open_flags & O_ACCMODE) == O_RDONLY ? "open" : "write");
    return -1;
  }
  return fd;
}

int
ic_mkdir_beneath(int rootfd, const char *relpath, mode_t mode, const char *display, GError **error)
{
  const char *name = display != NULL ? display : relpath;
  if (!check_relpath(relpath, name, error))
    return -1;
  g_auto(GStrv) parts = g_strsplit(relpath, "/", -1);
  int cur = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0) {
    set_beneath_error(error, errno, name, "create directory");
    return -1;
  }
  for (guint i = 0; parts[i] != NULL; i++) {
    if (*parts[i] == '\0' || strcmp(parts[i], ".") == 0)
      continue;
    if (mkdirat(cur, parts[i], mode) != 0 && errno != EEXIST) {
      int e = errno;
      close(cur);
      set_beneath_error(error, e, name, "create directory");
      return -1;
    }
    /* whatever is there now must be a real directory: O_NOFOLLOW makes a
     * planted symlink ELOOP (or ENOTDIR), never a way out */
    int next = openat(cur, parts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = next < 0 && (errno == ENOTDIR || errno == ELOOP) ? notdir_errno(cur, parts[i]) : errno;
    close(cur);
    if (next < 0) {
      set_beneath_error(error, e, name, "create directory");
      return -1;
    }
    cur = next;
  }
  return cur;
}

gboolean
ic_write_new_file_beneath(int rootfd, const char *relpath, const void *data, gsize len, mode_t mode,
                          const char *display, GError **error)
{
  const char *name = display != NULL ? display : relpath;
  int fd = ic_open_beneath(rootfd, relpath, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY, mode, name, error);
  if (fd < 0)
    return FALSE;
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      g_set_error(error, IC_ERROR, code_for_errno(e), "cannot write %s: %s", name, g_strerror(e));
      return FALSE;
    }
    p += n;
    len -= (gsize) n;
  }
  if (close(fd) != 0) {
    int e = errno;
    g_set_error(error, IC_ERROR, code_for_errno(e), "cannot write %s: %s", name, g_strerror(e));
    return FALSE;
  }
  return TRUE;
}

/* ---- names from inputs ---------------------------------------------------------- */

gboolean
ic_name_is_safe(const char *name, gsize max_len)
{
  if (name == NULL || *name == '\0')
    return FALSE;
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return FALSE;
  gsize len = 0;
  for (const unsigned char *p = (const unsigned char *) name; *p; p++, len++) {
    if (len >= max_len || *p == '/' || *p < 0x20 || *p == 0x7f)
      return FALSE;
  }
  return TRUE;
}

/* the value as it may be shown: printable ASCII kept, the rest \xNN, cut */
static char *
shown_value(const char *value)
{
  GString *s = g_string_new(NULL);
  for (const unsigned char *p = (const unsigned char *) value; *p && s->len < 80; p++) {
    if (*p >= 0x20 && *p < 0x7f && *p != '\\')
      g_string_append_c(s, (char) *p);
    else
      g_string_append_printf(s, "\\x%02x", *p);
  }
  if (strlen(value) > 80)
    g_string_append(s, "...");
  return g_string_free(s, FALSE);
}

static gboolean
name_error(const char *what, const char *value, const char *rule, GError **error)
{
  g_autofree char *shown = shown_value(value != NULL ? value : "");
  g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s \"%s\" is not valid: %s", what, shown, rule);
  return FALSE;
}

gboolean
ic_check_name(const char *what, const char *name, gsize max_len, GError **error)
{
  if (ic_name_is_safe(name, max_len))
    return TRUE;
  g_autofree char *rule = g_strdup_printf("a file name needs 1 to %" G_GSIZE_FORMAT " characters, no '/', "
                                          "not \".\" or \"..\", no control characters", max_len);
  return name_error(what, name, rule, error);
}

static gboolean
only_chars(const char *s, const char *extra, gsize max_len)
{
  if (s == NULL || *s == '\0' || *s == '.' || strlen(s) > max_len)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum(*p) && strchr(extra, *p) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
ic_check_kernel_release(const char *release, GError **error)
{
  if (only_chars(release, "._+~-", 64))
    return TRUE;
  return name_error("kernel release", release,
                    "1 to 64 of A-Z a-z 0-9 . _ + ~ -, not starting with '.'", error);
}

gboolean
ic_check_driver_name(const char *name, GError **error)
{
  if (only_chars(name, "._:+-", 64))
    return TRUE;
  return name_error("driver name", name, "1 to 64 of A-Z a-z 0-9 . _ : + -, not starting with '.'", error);
}

gboolean
ic_check_pci_address_name(const char *name, GError **error)
{
  /* the domain has 4 hex digits, or up to 8 for VMD domains (10000:...) */
  static const char tail[] = ":hh:hh.h";
  gsize len = name != NULL ? strlen(name) : 0;
  gsize dom = len >= sizeof tail - 1 ? len - (sizeof tail - 1) : 0;
  gboolean ok = dom >= 4 && dom <= 8;
  for (gsize i = 0; ok && i < dom; i++)
    ok = g_ascii_isxdigit(name[i]);
  for (gsize i = 0; ok && i < sizeof tail - 1; i++)
    ok = tail[i] == 'h' ? g_ascii_isxdigit(name[dom + i]) : name[dom + i] == tail[i];
  if (ok)
    return TRUE;
  return name_error("PCI address", name, "the form dddd:bb:dd.f in hexadecimal", error);
}

gboolean
ic_check_group_number(const char *text, int *out, GError **error)
{
  gboolean ok = text != NULL && *text != '\0' && strlen(text) <= 10;
  for (const char *p = text; ok && *p; p++)
    ok = g_ascii_isdigit(*p);
  gint64 v = 0;
  if (ok)
    ok = ic_parse_int64(text, 10, 0, G_MAXINT, &v);
  if (!ok)
    return name_error("IOMMU group", text, "a decimal number from 0 to 2147483647", error);
  if (out != NULL)
    *out = (int) v;
  return TRUE;
}

/* ---- JSON we do not control --------------------------------------------------------- */

gboolean
ic_json_check_depth(const char *data, gsize len, guint max_depth, const char *name, GError **error)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = data[i];
    if (in_string) {
      if (c == '\\')
        i++; /* the escaped character cannot end the string */
      else if (c == '"')
        in_string = FALSE;
      continue;
    }
    if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        g_set_error(error, IC_ERROR, IC_ERROR_PARSE,
                    "%s: JSON nested deeper than %u levels (at byte %" G_GSIZE_FORMAT ")",
                    name != NULL ? name : "input", max_depth, i);
        return FALSE;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      depth--;
    }
  }
  return TRUE;
}

gboolean
ic_json_parser_load(JsonParser *parser, const char *data, gssize len, const char *name, GError **error)
{
  gsize n = len < 0 ? strlen(data) : (gsize) len;
  if (!ic_json_check_depth(data, n, IC_JSON_MAX_DEPTH, name, error))
    return FALSE;
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_data(parser, data, (gssize) n, &local)) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: %s", name != NULL ? name : "input", local->message);
    return FALSE;
  }
  return TRUE;
}

gboolean
ic_json_parser_load_file(JsonParser *parser, const char *path, gsize max_size, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!ic_read_file(path, max_size, &data, &len, error))
    return FALSE;
  return ic_json_parser_load(parser, data, (gssize) len, path, error);
}
