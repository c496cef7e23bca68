/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The safe-file layer (src/util/safe-file.c): the one way iommuctl reads
 * files it does not control, walks directories it is given, writes beneath
 * a root it was told to fill, and checks names from inputs before they
 * become path components.  Internal, not installed.
 *
 * Rules (docs/security.md, "Reading files we do not control"):
 *  - content is read only from regular files: every open is
 *    O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK (a FIFO can neither block the
 *    open nor the read) followed by ONE fstat() of the descriptor and an
 *    S_ISREG check; FIFOs, sockets, devices and directories are refused
 *    with an error naming the path;
 *  - every read is bounded; over the bound is an error naming the path and
 *    the limit (IC_ERROR_INVALID_ARG: bad input, exit 2);
 *  - a directory walk never follows a symbolic link beneath the root it
 *    was given, detects loops by (st_dev, st_ino) and never leaves the tree;
 *  - writes into a tree go beneath an open root descriptor with
 *    openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), or a component-by-
 *    component walk with O_NOFOLLOW where the kernel lacks openat2;
 *  - a name that comes from an input (kernel release, PCI address, driver
 *    name, group number) is validated before it joins a path.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* ---- limits -------------------------------------------------------------- */

/* JSON nesting deeper than this is refused before json-glib sees it (its
 * recursive-descent parser overflows the stack at ~100,000 levels). */
#define IC_JSON_MAX_DEPTH 256
/* Depth of a directory walk below its root. */
#define IC_WALK_MAX_DEPTH 64
/* Longest name accepted by ic_name_is_safe() callers by default (NAME_MAX). */
#define IC_NAME_MAX 255

/* ---- opening and reading regular files ----------------------------------- */

typedef enum {
  IC_OPEN_FOLLOW = 0,        /* a symlink as the last component is followed
                              * (a path the user named on the command line) */
  IC_OPEN_NOFOLLOW = 1 << 0, /* O_NOFOLLOW: the last component must not be a
                              * symlink (an entry found by a walk, a file in a
                              * tree we write or do not trust) */
} IcOpenFlags;

/* Open dirfd/path (dirfd may be AT_FDCWD) for reading, accepting only a
 * regular file: O_RDONLY|O_CLOEXEC|O_NOCTTY|O_NONBLOCK (+O_NOFOLLOW), then
 * one fstat().  Returns the descriptor, or -1 with error set:
 * IC_ERROR_NOT_FOUND for ENOENT, IC_ERROR_INVALID_ARG for a non-regular
 * file or a refused symlink ("... is a FIFO, not a regular file"),
 * IC_ERROR_PERMISSION for EACCES, IC_ERROR_IO otherwise.  st_out may be NULL.
 * The message names `path` (give the full path as dirfd-relative paths make
 * poor messages: see ic_read_file_at()). */
int ic_open_regular_at(int dirfd, const char *path, IcOpenFlags flags,
                       struct stat *st_out, GError **error);

/* Read all of fd (opened by ic_open_regular_at) into a new NUL-terminated
 * buffer of at most max_size bytes; more is IC_ERROR_INVALID_ARG naming
 * `name` and the limit.  st (may be NULL) lets the read size its buffer and
 * stop at st_size without the extra read(2) that returns 0. */
gboolean ic_read_fd(int fd, const char *name, const struct stat *st, gsize max_size,
                    char **contents, gsize *len_out, GError **error);

/* ic_open_regular_at() + ic_read_fd() + close.  `display` names the file in
 * errors (NULL: path).  ic_read_file() (ic-util.h) is this with AT_FDCWD and
 * IC_OPEN_FOLLOW. */
gboolean ic_read_file_at(int dirfd, const char *path, IcOpenFlags flags, const char *display,
                         gsize max_size, char **contents, gsize *len_out, GError **error);

/* The kind of file st describes, for messages: "a FIFO", "a socket",
 * "a directory", "a character device", "a block device", "a symbolic link",
 * "a regular file". */
const char *ic_file_type_name(mode_t mode);

/* ---- walking a directory tree --------------------------------------------- */

typedef enum {
  IC_WALK_RECURSIVE = 1 << 0,    /* descend into subdirectories */
  IC_WALK_HIDDEN = 1 << 1,       /* also entries whose name starts with '.' */
} IcWalkFlags;

/* One regular file found by ic_walk_dir(). */
typedef struct {
  int dirfd;               /* the open directory holding it (valid during the call) */
  const char *name;        /* its name in dirfd */
  const char *path;        /* root/relpath: for messages and path-based APIs */
  const char *relpath;     /* path below the root */
  const struct stat *st;   /* fstatat(AT_SYMLINK_NOFOLLOW) of the entry */
} IcWalkEntry;

/* Return FALSE with error set to stop the walk. */
typedef gboolean (*IcWalkFileFunc)(const IcWalkEntry *entry, gpointer user_data, GError **error);
/* An entry the walk does not follow or read: a symlink, a FIFO/socket/device
 * whose name matched, a directory loop, a tree deeper than
 * IC_WALK_MAX_DEPTH.  `reason` is a sentence fragment: "is a symbolic link
 * (not followed inside a walked directory)". */
typedef void (*IcWalkSkipFunc)(const char *path, const char *reason, gpointer user_data);
/* Which regular files to report (NULL: all). */
typedef gboolean (*IcWalkMatchFunc)(const char *name);

/* Walk `root`.  The root itself is opened following a symlink (the user
 * named it, as find -H does); nothing beneath it is: every directory is
 * opened with openat(O_NOFOLLOW|O_DIRECTORY) relative to its parent and
 * every entry is fstatat(AT_SYMLINK_NOFOLLOW)'d, so the walk never leaves
 * the tree through a link.  Directories are keyed by (st_dev, st_ino) along
 * the current path, so a bind-mount loop is reported, not followed.
 * Entries are visited in strcmp() order of their names, directories where
 * they sort (deterministic output).  Symlinked entries are SKIPPED and
 * reported through on_skip (never followed, never read); so are non-regular
 * entries that match.  A root that is not a directory is IC_ERROR_INVALID_ARG;
 * a root that cannot be opened is IC_ERROR_NOT_FOUND/IC_ERROR_PERMISSION. */
gboolean ic_walk_dir(const char *root, IcWalkFlags flags, IcWalkMatchFunc match,
                     IcWalkFileFunc on_file, IcWalkSkipFunc on_skip, gpointer user_data,
                     GError **error);

/* Convenience over ic_walk_dir(): the full paths (root/relpath) of the
 * matching regular files, in walk order. */
GPtrArray *ic_walk_collect(const char *root, IcWalkFlags flags, IcWalkMatchFunc match,
                           IcWalkSkipFunc on_skip, gpointer user_data, GError **error);

/* ---- confined writes ---------------------------------------------------- */

/* Open relpath beneath the directory rootfd with open_flags (O_CLOEXEC,
 * O_NOFOLLOW and O_NONBLOCK are added: a FIFO never blocks) and mode: no absolute path, no "..", no symlink in
 * any component, never a path outside rootfd.  openat2(RESOLVE_BENEATH|
 * RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS) where the kernel has it; on
 * ENOSYS a walk component by component with O_NOFOLLOW|O_DIRECTORY.
 * `display` names the file in errors.  Returns the fd or -1 with error. */
int ic_open_beneath(int rootfd, const char *relpath, int open_flags, mode_t mode,
                    const char *display, GError **error);

/* mkdir -p of relpath beneath rootfd the same way (existing directories are
 * fine; an existing symlink or file in the way is an error).  Returns an
 * O_DIRECTORY descriptor of the last directory, or -1 with error. */
int ic_mkdir_beneath(int rootfd, const char *relpath, mode_t mode,
                     const char *display, GError **error);

/* Create relpath beneath rootfd with O_CREAT|O_EXCL (never through or over
 * an existing entry) and write data to it.  Parent directories must exist
 * (ic_mkdir_beneath). */
gboolean ic_write_new_file_beneath(int rootfd, const char *relpath, const void *data,
                                   gsize len, mode_t mode, const char *display,
                                   GError **error);

/* Tests only: force the component-by-component fallback as if openat2()
 * returned ENOSYS (process-wide; not for library callers). */
void ic_safe_force_no_openat2(gboolean force);

/* ---- names from inputs ---------------------------------------------------- */

/* A single safe path component: 1..max_len bytes, no '/', not "." or "..",
 * no NUL (by construction), no ASCII control characters or DEL. */
gboolean ic_name_is_safe(const char *name, gsize max_len);
/* Same, as an IC_ERROR_INVALID_ARG naming `what` and the offending value
 * (escaped: control characters are shown as \xNN). */
gboolean ic_check_name(const char *what, const char *name, gsize max_len, GError **error);
/* A kernel release (uname -r): 1..64 bytes of [A-Za-z0-9._+~-], not
 * starting with '.'. */
gboolean ic_check_kernel_release(const char *release, GError **error);
/* A kernel driver name as sysfs shows it: 1..64 bytes of [A-Za-z0-9_.:+-],
 * not starting with '.'. */
gboolean ic_check_driver_name(const char *name, GError **error);
/* A PCI address in the sysfs form dddd:bb:dd.f (hex; the domain has 4 to
 * 8 digits, VMD domains are 10000 and up).  Only the form: use
 * ic_pci_addr_parse() for the values. */
gboolean ic_check_pci_address_name(const char *name, GError **error);
/* An IOMMU group number: decimal digits only, no sign, fits in an int. */
gboolean ic_check_group_number(const char *text, int *out, GError **error);

/* ---- JSON we do not control ------------------------------------------------ */

/* Pre-scan: is data[0..len) nested deeper than max_depth arrays/objects?
 * Linear, no allocation; brackets inside strings do not count.  FALSE with
 * IC_ERROR_PARSE "<name>: JSON nested deeper than N levels (at byte B)". */
gboolean ic_json_check_depth(const char *data, gsize len, guint max_depth,
                             const char *name, GError **error);

/* THE way to load untrusted JSON: the depth pre-scan (IC_JSON_MAX_DEPTH),
 * then json_parser_load_from_data().  len < 0: NUL-terminated.  Errors are
 * IC_ERROR_PARSE prefixed with `name`. */
gboolean ic_json_parser_load(JsonParser *parser, const char *data, gssize len,
                             const char *name, GError **error);
/* ic_read_file() (bounded, regular files only) + ic_json_parser_load(). */
gboolean ic_json_parser_load_file(JsonParser *parser, const char *path, gsize max_size,
                                  GError **error);

G_END_DECLS
