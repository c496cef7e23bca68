/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer: the safe-file layer (src/util/safe-file.c).  The input is a
 * small program that builds a tree in a fresh temporary directory: files,
 * directories, FIFOs and symlinks (to ".", "..", "/", siblings, a directory
 * outside the tree), all created through the layer itself (ic_mkdir_beneath,
 * ic_open_beneath + symlinkat/mkfifoat).  Then:
 *   - ic_walk_dir() over it: it ends (no loop), reports only regular files
 *     whose lexical path has no symlink in it, and reads each bounded;
 *   - ic_read_file() of every path named by the program: never blocks on a
 *     FIFO, fails with an error or returns a regular file's bytes;
 *   - ic_open_beneath() for writing at every path: never creates anything
 *     outside the tree (the "outside" directory stays empty);
 *   - the name validators on every name: a valid release, driver or PCI
 *     address is also a safe path component.
 * The tail after the program goes through ic_json_check_depth() and, when
 * accepted, json-glib (which must not crash on what the pre-scan lets by). */
#include <iommuctl/iommuctl.h>
#include <iommuctl/pciaddr.h>
#include "util/ic-util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static const char *const names[] = {"a", "b", "x.xml", "y.json", ".h", "..", ".", "sub", "a b", "\x01"};
static const char *const targets[] = {".", "..", "/", "a", "../..", "sub/a", "x.xml", "OUTSIDE", "b/../..", "self"};

typedef struct {
  const guint8 *p, *end;
} Reader;

static guint
next(Reader *r)
{
  return r->p < r->end ? *r->p++ : 0;
}

/* a relative path of 1 to 3 components from the name table */
static char *
next_path(Reader *r)
{
  guint n = 1 + next(r) % 3;
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n; i++) {
    if (i > 0)
      g_string_append_c(s, '/');
    g_string_append(s, names[next(r) % G_N_ELEMENTS(names)]);
  }
  return g_string_free(s, FALSE);
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st, (void) flag, (void) ftw;
  remove(path);
  return 0;
}

static void
remove_tree(const char *dir)
{
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static gboolean
dir_is_empty(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  return d != NULL && g_dir_read_name(d) == NULL;
}

typedef struct {
  const char *root;
  guint files;
} WalkCheck;

static gboolean
on_file(const IcWalkEntry *e, gpointer user_data, GError **error)
{
  (void) error;
  WalkCheck *w = user_data;
  struct stat st;
  if (fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
    __builtin_trap(); /* only regular files are reported */
  if (!g_str_has_prefix(e->path, w->root))
    __builtin_trap();
  /* no symlink on the way: the resolved path is the lexical one */
  g_autofree char *real = realpath(e->path, NULL);
  g_autofree char *want = g_build_filename(w->root, e->relpath, NULL);
  if (real == NULL || strcmp(real, want) != 0)
    __builtin_trap();
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;
  if (!ic_read_file_at(e->dirfd, e->name, IC_OPEN_NOFOLLOW, e->path, 4096, &text, NULL, &local) && local == NULL)
    __builtin_trap();
  if (++w->files > 10000)
    __builtin_trap(); /* a loop */
  return TRUE;
}

static void
on_skip(const char *path, const char *reason, gpointer user_data)
{
  (void) user_data;
  if (path == NULL || reason == NULL)
    __builtin_trap();
}

static void
check_names(const char *name)
{
  if (ic_check_kernel_release(name, NULL) && !ic_name_is_safe(name, 64))
    __builtin_trap();
  if (ic_check_driver_name(name, NULL) && !ic_name_is_safe(name, 64))
    __builtin_trap();
  IcPciAddr a;
  if (ic_check_pci_address_name(name, NULL) && (!ic_name_is_safe(name, 64) || !ic_pci_addr_parse(name, &a, NULL)))
    __builtin_trap();
  int g;
  if (ic_check_group_number(name, &g, NULL) && g < 0)
    __builtin_trap();
  g_autoptr(GError) e = NULL;
  if (!ic_check_name("name", name, 255, &e) && e == NULL)
    __builtin_trap();
}

static void
build(Reader *r, int rootfd, const char *outside, GPtrArray *paths)
{
  guint ops = 0;
  while (r->p < r->end && ops++ < 24) {
    guint op = next(r);
    if (op == 0xff)
      break; /* the rest is JSON */
    g_autofree char *path = next_path(r);
    g_ptr_array_add(paths, g_strdup(path));
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    check_names(base);
    int dfd = strcmp(dir, ".") == 0 ? dup(rootfd) : ic_mkdir_beneath(rootfd, dir, 0755, NULL, NULL);
    if (dfd < 0)
      continue;
    switch (op % 4) {
    case 0:
      (void) mkdirat(dfd, base, 0755);
      break;
    case 1: {
      int fd = ic_open_beneath(rootfd, path, O_WRONLY | O_CREAT | O_EXCL, 0644, NULL, NULL);
      if (fd >= 0) {
        guint len = next(r) % 16;
        char buf[16];
        for (guint i = 0; i < len; i++)
          buf[i] = (char) next(r);
        if (write(fd, buf, len) < 0)
          __builtin_trap();
        close(fd);
      }
      break;
    }
    case 2: {
      const char *t = targets[next(r) % G_N_ELEMENTS(targets)];
      (void) symlinkat(strcmp(t, "OUTSIDE") == 0 ? outside : t, dfd, base);
      break;
    }
    case 3:
      (void) mkfifoat(dfd, base, 0644);
      break;
    }
    close(dfd);
  }
}

int
LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
  if (size > 4096)
    return 0;
  g_autofree char *root = g_dir_make_tmp("ic-fuzz-safe-XXXXXX", NULL);
  g_autofree char *outside = g_dir_make_tmp("ic-fuzz-out-XXXXXX", NULL);
  if (root == NULL || outside == NULL)
    __builtin_trap();
  g_autofree char *real_root = realpath(root, NULL);
  int rootfd = open(real_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    __builtin_trap();
  Reader r = {data, data + size};
  ic_safe_force_no_openat2(size > 0 && (data[0] & 1));
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
  build(&r, rootfd, outside, paths);

  WalkCheck w = {real_root, 0};
  g_autoptr(GError) error = NULL;
  if (!ic_walk_dir(real_root, IC_WALK_RECURSIVE | IC_WALK_HIDDEN, NULL, on_file, on_skip, &w, &error) && error == NULL)
    __builtin_trap();
  g_clear_error(&error);

  for (guint i = 0; i < paths->len; i++) {
    const char *rel = g_ptr_array_index(paths, i);
    g_autofree char *full = g_build_filename(real_root, rel, NULL);
    g_autofree char *text = NULL;
    if (!ic_read_file(full, 4096, &text, NULL, &error) && error == NULL)
      __builtin_trap();
    g_clear_error(&error);
    g_autofree char *rel_new = g_strconcat(rel, ".new", NULL);
    int fd = ic_open_beneath(rootfd, rel_new, O_WRONLY | O_CREAT | O_EXCL, 0644, NULL, &error);
    if (fd >= 0)
      close(fd);
    else if (error == NULL)
      __builtin_trap();
    g_clear_error(&error);
  }
  if (!dir_is_empty(outside))
    __builtin_trap(); /* something was created outside the tree */

  /* the tail: JSON depth pre-scan, then json-glib on what it accepts */
  gsize left = (gsize) (r.end - r.p);
  if (ic_json_check_depth((const char *) r.p, left, IC_JSON_MAX_DEPTH, "tail", &error)) {
    g_autoptr(JsonParser) parser = json_parser_new();
    (void) ic_json_parser_load(parser, (const char *) r.p, (gssize) left, "tail", NULL);
  } else if (error == NULL) {
    __builtin_trap();
  }
  g_clear_error(&error);

  ic_safe_force_no_openat2(FALSE);
  close(rootfd);
  remove_tree(root);
  remove_tree(outside);
  return 0;
}
