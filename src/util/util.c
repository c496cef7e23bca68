/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util/ic-util.h"
#include "iommuctl/error.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

gssize
ic_read_attr_at(int dirfd, const char *name, char *buf, gsize size)
{
  g_return_val_if_fail(size > 1, -EINVAL);
  /* O_NONBLOCK: a FIFO planted in a captured tree opens and reads without
   * blocking; the one fstat() then refuses anything but a regular file
   * (sysfs attributes are regular files) */
  int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0)
    return -errno;
  struct stat st;
  int bad = fstat(fd, &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
  if (bad != 0) {
    int e = bad;
    close(fd);
    buf[0] = '\0';
    return -e;
  }
  /* st_size is exact for binary attributes (config) and regular files, an
   * upper bound (the page size) for text attributes: stop on reaching it */
  gsize limit = size - 1;
  if (st.st_size > 0 && (guint64) st.st_size < limit)
    limit = (gsize) st.st_size;
  gsize total = 0;
  /* sysfs attributes and regular files return everything available in one
   * read; a short read therefore means end of file, which saves the extra
   * read(2) that would only return 0. */
  while (total < limit) {
    gsize want = limit - total;
    ssize_t n = read(fd, buf + total, want);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      buf[total] = '\0';
      return -saved;
    }
    total += (gsize) n;
    if (n == 0 || (gsize) n < want)
      break;
  }
  close(fd);
  buf[total] = '\0';
  return (gssize) total;
}

gssize
ic_read_attr_stripped_at(int dirfd, const char *name, char *buf, gsize size)
{
  gssize n = ic_read_attr_at(dirfd, name, buf, size);
  if (n < 0)
    return n;
  while (n > 0 && g_ascii_isspace(buf[n - 1]))
    buf[--n] = '\0';
  return n;
}

gboolean
ic_read_file(const char *path, gsize max_size, char **contents, gsize *len_out,
             GError **error)
{
  /* the safe-file layer: regular files only, O_NONBLOCK, bounded */
  return ic_read_file_at(AT_FDCWD, path, IC_OPEN_FOLLOW, NULL, max_size, contents, len_out, error);
}

static gboolean
write_all(int fd, const char *data, gsize len)
{
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return FALSE;
    }
    data += n;
    len -= (gsize) n;
  }
  return TRUE;
}

gboolean
ic_write_file_atomic(const char *path, const char *data, gsize len, GError **error)
{
  g_autofree char *dir = g_path_get_dirname(path);
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *tmpl = g_strdup_printf("%s/.%s.XXXXXX", dir, base);
  struct stat st;
  gboolean existed = stat(path, &st) == 0;

  int fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, existed ? (st.st_mode & 07777) : 0644);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, IC_ERROR, e == EACCES || e == EROFS ? IC_ERROR_PERMISSION : IC_ERROR_IO,
                "cannot create a temporary file next to %s: %s", path, g_strerror(e));
    return FALSE;
  }
  gboolean ok = write_all(fd, data, len);
  int e = errno;
  if (ok && existed) {
    /* keep the original's mode and owner; chown fails harmlessly as non-root
     * when the owner is already ours */
    if (fchmod(fd, st.st_mode & 07777) != 0)
      ok = FALSE, e = errno;
    else if ((st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd, st.st_uid, st.st_gid) != 0)
      ok = FALSE, e = errno;
  } else if (ok && fchmod(fd, 0644) != 0) {
    ok = FALSE, e = errno;
  }
  if (ok && fsync(fd) != 0)
    ok = FALSE, e = errno;
  if (close(fd) != 0 && ok)
    ok = FALSE, e = errno;
  if (ok && rename(tmpl, path) != 0)
    ok = FALSE, e = errno;
  if (!ok) {
    unlink(tmpl);
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot write %s: %s", path, g_strerror(e));
    return FALSE;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void) fsync(dfd);
    close(dfd);
  }
  return TRUE;
}

gboolean
ic_write_attr(const char *path, const char *value, GError **error)
{
  /* O_NONBLOCK: a FIFO in place of an attribute fails (ENXIO), never blocks */
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, IC_ERROR,
                e == EACCES || e == EROFS || e == EPERM ? IC_ERROR_PERMISSION :
                e == ENOENT ? IC_ERROR_NOT_FOUND : IC_ERROR_IO,
                "cannot open %s for writing: %s", path, g_strerror(e));
    return FALSE;
  }
  gsize len = strlen(value);
  ssize_t n;
  do {
    n = write(fd, value, len);
  } while (n < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (n < 0 || (gsize) n != len) {
    g_autofree char *shown = g_strchomp(g_strdup(value));
    g_set_error(error, IC_ERROR, e == EBUSY ? IC_ERROR_BUSY : IC_ERROR_IO,
                "writing \"%s\" to %s failed: %s", shown, path,
                n < 0 ? g_strerror(e) : "short write");
    return FALSE;
  }
  return TRUE;
}

gboolean
ic_mkdir_p(const char *path, int mode, GError **error)
{
  if (g_mkdir_with_parents(path, mode) != 0) {
    int e = errno;
    g_set_error(error, IC_ERROR, e == EACCES || e == EROFS ? IC_ERROR_PERMISSION : IC_ERROR_IO,
                "cannot create directory %s: %s", path, g_strerror(e));
    return FALSE;
  }
  return TRUE;
}

gboolean
ic_parse_int64(const char *text, int base, gint64 min, gint64 max, gint64 *out)
{
  if (text == NULL)
    return FALSE;
  while (g_ascii_isspace(*text))
    text++;
  if (*text == '\0')
    return FALSE;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, base);
  if (errno != 0 || end == text)
    return FALSE;
  while (g_ascii_isspace(*end))
    end++;
  if (*end != '\0' || v < min || v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

gboolean
ic_parse_uint64(const char *text, int base, guint64 max, guint64 *out)
{
  if (text == NULL)
    return FALSE;
  while (g_ascii_isspace(*text))
    text++;
  if (*text == '\0' || *text == '-')
    return FALSE;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, base);
  if (errno != 0 || end == text)
    return FALSE;
  while (g_ascii_isspace(*end))
    end++;
  if (*end != '\0' || v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

/* One dotted component: 1 to 6 decimal digits (no sign, no space: strtoull
 * would take both), at most max. */
static gboolean
version_component(const char *p, gsize len, guint64 max, guint64 *out)
{
  if (len == 0 || len > 6)
    return FALSE;
  guint64 v = 0;
  for (gsize i = 0; i < len; i++) {
    if (!g_ascii_isdigit(p[i]))
      return FALSE;
    v = v * 10 + (guint64) (p[i] - '0');
  }
  if (v > max)
    return FALSE;
  *out = v;
  return TRUE;
}

gboolean
ic_version_parse(const char *text, guint64 *out)
{
  if (text == NULL)
    return FALSE;
  static const guint64 max[3] = {999999, 999, 999};
  guint64 v[3] = {0, 0, 0};
  guint n = 0;
  const char *p = text;
  for (;;) {
    const char *dot = strchr(p, '.');
    gsize len = dot != NULL ? (gsize) (dot - p) : strlen(p);
    if (n == 3 || !version_component(p, len, max[n], &v[n]))
      return FALSE;
    n++;
    if (dot == NULL)
      break;
    p = dot + 1;
  }
  guint64 r = v[0] * 1000000u + v[1] * 1000u + v[2];
  if (n < 2 || r == 0)
    return FALSE;
  *out = r;
  return TRUE;
}

int
ic_parse_bool_word(const char *text)
{
  static const char *const yes[] = {"on", "yes", "true", "1", NULL};
  static const char *const no[] = {"off", "no", "false", "0", NULL};
  if (text == NULL)
    return -1;
  for (int i = 0; yes[i]; i++)
    if (g_ascii_strcasecmp(text, yes[i]) == 0)
      return 1;
  for (int i = 0; no[i]; i++)
    if (g_ascii_strcasecmp(text, no[i]) == 0)
      return 0;
  return -1;
}

char *
ic_json_to_string(JsonNode *node, gboolean pretty)
{
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, pretty);
  json_generator_set_indent(gen, 2);
  json_generator_set_root(gen, node);
  return json_generator_to_data(gen, NULL);
}

void
ic_json_print(JsonNode *node)
{
  g_autofree char *s = ic_json_to_string(node, TRUE);
  fputs(s, stdout);
  fputc('\n', stdout);
}

void
ic_json_end_document(JsonBuilder *b)
{
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  ic_json_print(root);
}

JsonBuilder *
ic_json_begin_document(const char *kind, int version)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "schema");
  g_autofree char *name = g_strdup_printf("iommuctl.%s", kind);
  json_builder_add_string_value(b, name);
  json_builder_set_member_name(b, "version");
  json_builder_add_int_value(b, version);
  return b;
}

void
ic_json_add_string_or_null(JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name(b, key);
  if (value != NULL)
    json_builder_add_string_value(b, value);
  else
    json_builder_add_null_value(b);
}

void
ic_json_add_string(JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name(b, key);
  json_builder_add_string_value(b, value);
}

void
ic_json_add_int(JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name(b, key);
  json_builder_add_int_value(b, value);
}

void
ic_json_add_bool(JsonBuilder *b, const char *key, gboolean value)
{
  json_builder_set_member_name(b, key);
  json_builder_add_boolean_value(b, value);
}

void
ic_json_add_string_array(JsonBuilder *b, const char *key, GPtrArray *strings)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_array(b);
  for (guint i = 0; strings != NULL && i < strings->len; i++)
    json_builder_add_string_value(b, g_ptr_array_index(strings, i));
  json_builder_end_array(b);
}

void
ic_json_add_double(JsonBuilder *b, const char *key, gdouble value)
{
  json_builder_set_member_name(b, key);
  json_builder_add_double_value(b, value);
}

const char *
ic_color(gboolean enabled, IcColor color)
{
  static const char *const seq[] = {
    [IC_COLOR_RESET] = "\033[0m", [IC_COLOR_BOLD] = "\033[1m",
    [IC_COLOR_RED] = "\033[31m", [IC_COLOR_GREEN] = "\033[32m",
    [IC_COLOR_YELLOW] = "\033[33m", [IC_COLOR_BLUE] = "\033[34m",
    [IC_COLOR_GREY] = "\033[90m",
  };
  return enabled ? seq[color] : "";
}

char *
ic_escape_control(const char *text)
{
  if (text == NULL)
    return NULL;
  GString *s = g_string_sized_new(strlen(text));
  for (const unsigned char *p = (const unsigned char *) text; *p != '\0'; p++) {
    switch (*p) {
    case '\n': g_string_append(s, "\\n"); break;
    case '\r': g_string_append(s, "\\r"); break;
    case '\t': g_string_append(s, "\\t"); break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        g_string_append_printf(s, "\\x%02x", *p);
      else
        g_string_append_c(s, (char) *p);
    }
  }
  return g_string_free(s, FALSE);
}
