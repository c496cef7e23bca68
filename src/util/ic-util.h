/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small, sharp helpers shared by every module (internal, not installed). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <sys/types.h>
#include <fcntl.h>

#include "util/ic-safe.h"

G_BEGIN_DECLS

/* ---- files ------------------------------------------------------------ */

/* Read a small attribute file with open/fstat/read/close and no stdio:
 * sysfs attributes come back whole from one read.  Only regular files are
 * read (O_NONBLOCK open, one fstat): anything else is -EINVAL (-EISDIR for
 * a directory), so a FIFO in a captured tree never blocks.  Content beyond
 * size - 1 bytes is cut.  Returns the byte count (>= 0) with buf
 * NUL-terminated, or -errno.  dirfd may be AT_FDCWD. */
gssize ic_read_attr_at(int dirfd, const char *name, char *buf, gsize size);
/* Same, trailing whitespace/newlines stripped. */
gssize ic_read_attr_stripped_at(int dirfd, const char *name, char *buf, gsize size);

/* Whole file into a new buffer, at most max_size bytes (bigger is an error:
 * IC_ERROR_INVALID_ARG naming the path).  Regular files only (a FIFO,
 * device or directory is IC_ERROR_INVALID_ARG); a symlink as the last
 * component is followed (use ic_read_file_at() with IC_OPEN_NOFOLLOW for
 * entries of a tree).  *len_out may be NULL.  See ic-safe.h. */
gboolean ic_read_file(const char *path, gsize max_size, char **contents,
                      gsize *len_out, GError **error);

/* Write path atomically: temp file in the same directory, fsync, rename,
 * fsync of the directory.  Keeps mode and owner of an existing file; new
 * files get mode 0644. */
gboolean ic_write_file_atomic(const char *path, const char *data, gsize len,
                              GError **error);

/* ---- in-place edits of a user's file (src/util/safe-write.c) ------------- */

/* What an edit does to a file with several hard links (st_nlink > 1). */
typedef enum {
  IC_HARD_LINKS_REFUSE, /* default: IC_ERROR_BLOCKED, nothing written */
  IC_HARD_LINKS_SHARE,  /* overwrite the shared inode in place (every name sees
                         * the edit; not atomic: FILE.bak is always written first) */
  IC_HARD_LINKS_BREAK,  /* replace this name only; the others keep the old text */
} IcHardLinkPolicy;

/* "refuse", "share", "break" (NULL: refuse).  FALSE on anything else. */
gboolean ic_hard_links_parse(const char *text, IcHardLinkPolicy *out);

typedef struct {
  gboolean backup;              /* write FILE.bak (the text as read) first */
  IcHardLinkPolicy hard_links;
} IcSafeEditOptions;

/* One in-place edit: open path (through symlinks: the link's target is
 * edited, the link stays), refuse anything but a regular file, lock it
 * (flock, waiting up to 30 s for another editor), and read it (more than
 * max_size bytes is IC_ERROR_PARSE).  The lock is held until the free.
 * Errors name path; a missing file is IC_ERROR_NOT_FOUND. */
typedef struct IcSafeEdit IcSafeEdit;
IcSafeEdit *ic_safe_edit_open(const char *path, gsize max_size, GError **error);
void ic_safe_edit_free(IcSafeEdit *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcSafeEdit, ic_safe_edit_free)
/* The text as read (NUL-terminated). */
const char *ic_safe_edit_contents(const IcSafeEdit *e, gsize *len);
/* The file that is replaced (symlinks resolved). */
const char *ic_safe_edit_target(const IcSafeEdit *e);
/* Replace the file with data: a temporary file beside it (O_EXCL, 0600), the
 * original's owner, extended attributes (ACLs, SELinux label) and mode,
 * fsync, rename, fsync of the directory.  Just before the rename the file is
 * compared with what was read (device, inode, size, mtime, ctime): if
 * another editor changed it, IC_ERROR_BUSY and nothing is written.  Every
 * failure leaves the file as it was (SHARE: put back, or named). */
gboolean ic_safe_edit_commit(IcSafeEdit *e, const char *data, gsize len,
                             const IcSafeEditOptions *opts, GError **error);
/* The same for a file not read first (an output file; it may not exist yet:
 * then it is created with mode 0644). */
gboolean ic_safe_write_file(const char *path, const char *data, gsize len,
                            const IcSafeEditOptions *opts, GError **error);

/* Write a short string to a sysfs-like attribute (one write(2)).  On
 * failure the GError names the path and errno text. */
gboolean ic_write_attr(const char *path, const char *value, GError **error);

/* The kernel release (ic_context_kernel_release()), checked with
 * ic_check_kernel_release(): an osrelease file of a --sysfs-root/--proc-root
 * tree that is not a release (e.g. "../../..") is an IC_ERROR_PARSE naming
 * the file.  ic_context_kernel_release() returns "unknown" then. */
struct IcContext;
gboolean ic_context_read_kernel_release(struct IcContext *ctx, const char **out, GError **error);
/* <root>/lib/modules/<release>/NAME (newly allocated). */
char *ic_context_modules_path(struct IcContext *ctx, const char *name);

/* mkdir -p with mode. */
gboolean ic_mkdir_p(const char *path, int mode, GError **error);

/* ---- trust (src/util/trust.c) ------------------------------------------- */

/* Whether root may execute path: after realpath, the file and every
 * directory from / down to it are owned by root and not writable by group
 * or other (checked component by component with O_PATH|O_NOFOLLOW).  The
 * error (IC_ERROR_INVALID_ARG) names the component that fails.
 * *resolved_out (may be NULL) gets the resolved path. */
gboolean ic_trusted_executable(const char *path, char **resolved_out, GError **error);
/* A state directory (want_dir) or file: owned by root or the effective uid,
 * not writable by group or other, a file not a symlink.  The error
 * (IC_ERROR_PERMISSION) names the path and the chown/chmod that fixes it.
 * _path accepts a path that does not exist yet. */
gboolean ic_trusted_state_fd(int fd, const char *path, gboolean want_dir, GError **error);
gboolean ic_trusted_state_path(const char *path, gboolean want_dir, GError **error);

/* Exclusive lock on PATH, a file in the state directory (flock(2); created
 * 0600, never through a symlink, checked by the state rule), waiting at most
 * timeout_ms.  IC_ERROR_BUSY when it stays held: "HOLDER_IS (process N holds
 * PATH); gave up after ...".  Returns the fd for ic_state_unlock(). */
int ic_state_lock(const char *path, guint timeout_ms, const char *holder_is, GError **error);
void ic_state_unlock(int fd);
/* The pid the holder wrote into the lock file, -1 when unknown. */
int ic_state_lock_holder_fd(int fd);

/* ---- strings & numbers ------------------------------------------------- */

/* Strict integer parsing: whole string (after trimming whitespace) must be
 * a number in range; base 0 accepts 0x.  FALSE on garbage. */
gboolean ic_parse_int64(const char *text, int base, gint64 min, gint64 max, gint64 *out);
gboolean ic_parse_uint64(const char *text, int base, guint64 max, guint64 *out);
/* A libvirt or QEMU version, "MAJOR.MINOR" or "MAJOR.MINOR.MICRO" (decimal
 * digits only, minor and micro <= 999, major <= 999999, not 0.0.0), in
 * libvirt's encoding MAJOR*1000000 + MINOR*1000 + MICRO.  The one parser for
 * every version iommuctl reads (lint's --libvirt-version, libvirt.pc, the
 * policy host's versions and `--version` outputs).  FALSE on anything else. */
gboolean ic_version_parse(const char *text, guint64 *out);
/* "on"/"off", "yes"/"no", "true"/"false", "1"/"0" -> 1/0, else -1. */
int ic_parse_bool_word(const char *text);
/* text with control characters (newline, tab, ESC, DEL, ...) written as \n,
 * \t, \xNN, so a value from an input cannot start a line of its own or
 * drive the terminal in text output.  UTF-8 passes unchanged.  NULL -> NULL. */
char *ic_escape_control(const char *text);

/* ---- output ------------------------------------------------------------ */

/* Pretty JSON of node, with a trailing newline, to stdout. */
void ic_json_print(JsonNode *node);
char *ic_json_to_string(JsonNode *node, gboolean pretty);
/* Start an object {"schema": "iommuctl.<kind>", "version": N, ...}. */
JsonBuilder *ic_json_begin_document(const char *kind, int version);
/* Close the document's top-level object and print it (ic_json_print). */
void ic_json_end_document(JsonBuilder *b);
/* Add key: string, or null when value is NULL. */
void ic_json_add_string_or_null(JsonBuilder *b, const char *key, const char *value);
/* One call per object member, so output code reads as the schema it writes. */
void ic_json_add_string(JsonBuilder *b, const char *key, const char *value);
void ic_json_add_int(JsonBuilder *b, const char *key, gint64 value);
void ic_json_add_bool(JsonBuilder *b, const char *key, gboolean value);
void ic_json_add_double(JsonBuilder *b, const char *key, gdouble value);
/* key: [strings...]; NULL writes [] */
void ic_json_add_string_array(JsonBuilder *b, const char *key, GPtrArray *strings);

/* One emitting API over two backends (src/util/json-writer.c): a
 * JsonBuilder, or pretty text in json-glib's generator format, streamed
 * without a tree, for listings of thousands of devices. */
typedef struct IcJsonWriter IcJsonWriter;
IcJsonWriter *ic_json_writer_new_builder(JsonBuilder *builder);
IcJsonWriter *ic_json_writer_new_stream(void);
void ic_json_writer_free(IcJsonWriter *w);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcJsonWriter, ic_json_writer_free)
/* The streamed text, once every object and array is closed. */
char *ic_json_writer_steal_text(IcJsonWriter *w, gsize *len);
void ic_json_writer_begin_object(IcJsonWriter *w);
void ic_json_writer_end_object(IcJsonWriter *w);
void ic_json_writer_begin_array(IcJsonWriter *w);
void ic_json_writer_end_array(IcJsonWriter *w);
void ic_json_writer_member(IcJsonWriter *w, const char *key);
/* NULL writes null. */
void ic_json_writer_string(IcJsonWriter *w, const char *value);
void ic_json_writer_int(IcJsonWriter *w, gint64 value);
void ic_json_writer_bool(IcJsonWriter *w, gboolean value);
void ic_json_writer_null(IcJsonWriter *w);
/* key + value in one call; a NULL string writes null */
void ic_jw_add_string(IcJsonWriter *w, const char *key, const char *value);
void ic_jw_add_int(IcJsonWriter *w, const char *key, gint64 value);
void ic_jw_add_bool(IcJsonWriter *w, const char *key, gboolean value);
void ic_jw_add_hex(IcJsonWriter *w, const char *key, guint value, int digits);
/* key: [strings...]; NULL writes [] */
void ic_jw_add_string_array(IcJsonWriter *w, const char *key, GPtrArray *strings);

/* ---- reading untrusted JSON ---------------------------------------------- */

/* json-glib's typed getters raise a GLib critical when a member has another
 * type than asked for, and its _with_default variants only cover absence.
 * These read members of files and peers we do not control: an absent or
 * null member leaves *out alone and succeeds; a member of the wrong type is
 * an IC_ERROR_PARSE naming WHERE.KEY and the type it must have. */
gboolean ic_json_get_string(JsonObject *o, const char *key, const char *where, const char **out, GError **error);
gboolean ic_json_get_int(JsonObject *o, const char *key, const char *where, gint64 *out, GError **error);
/* *out: 1 true, 0 false; untouched (callers start at -1) when absent/null. */
gboolean ic_json_get_tristate(JsonObject *o, const char *key, const char *where, int *out, GError **error);
gboolean ic_json_get_object(JsonObject *o, const char *key, const char *where, JsonObject **out, GError **error);
gboolean ic_json_get_array(JsonObject *o, const char *key, const char *where, JsonArray **out, GError **error);
/* Element i when it is a string, else NULL. */
const char *ic_json_array_string(JsonArray *a, guint i);
/* The node as an object, or NULL (also for a NULL node). */
JsonObject *ic_json_node_object(JsonNode *node);

typedef enum {
  IC_COLOR_RESET, IC_COLOR_BOLD, IC_COLOR_RED, IC_COLOR_GREEN,
  IC_COLOR_YELLOW, IC_COLOR_BLUE, IC_COLOR_GREY,
} IcColor;
/* ANSI sequence when enabled, "" otherwise. */
const char *ic_color(gboolean enabled, IcColor color);

G_END_DECLS
