/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A simulated kernel behind sysfs writes, for LD_PRELOAD (in the manner of
 * libvirt's tests/virpcimock.c, written for iommuctl).
 *
 * iommuctl runs unchanged with --sysfs-root FIXTURE; this module intercepts
 * open/write/close of the PCI attributes under FIXTURE/sys and makes the
 * fixture tree behave like the kernel's driver core:
 *   devices/<bdf>/driver_override   "\n" or "" clears; reads "(null)"
 *   drivers/<drv>/bind, unbind      bind needs a match (override or ids)
 *   drivers_probe                   override first, else the first driver
 *                                   whose id table matches (FIXTURE/mock/drivers)
 *   new_id                          refused loudly: iommuctl must never use it
 * and keeps FIXTURE/dev/vfio/<group> while a member is bound to a vfio driver.
 *
 * Fault injection, IC_MOCK_FAULT="KIND@N[,KIND@N...]", N = the Nth
 * intercepted write of this process:
 *   ebusy   the write fails with EBUSY and changes nothing
 *   nobind  the write "succeeds" and changes nothing
 *   grab    the write takes effect, then a host driver matching the device's
 *           ids grabs the device (ignoring driver_override)
 *   kill    the write takes effect, then the process gets SIGKILL
 * IC_MOCK_LOG=FILE appends "N path value [fault]" per intercepted write.
 * IC_MOCK_KEEP_PRELOAD=1 leaves LD_PRELOAD set (see below), for profiling:
 * valgrind's launcher is itself a dynamically linked program, loads the mock
 * first and would otherwise drop it before iommuctl starts.
 *
 * Driver table FIXTURE/mock/drivers: "NAME VVVV:DDDD ..." per line, '*' as a
 * wildcard ID; a driver without IDs (vfio-pci) binds only via override. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FDS 4096

static char *tracked[MAX_FDS]; /* fd -> path of a sysfs attribute opened for writing */
static unsigned long n_writes;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_close)(int);

static void
init_real(void)
{
  if (real_write != NULL)
    return;
  real_open = dlsym(RTLD_NEXT, "open");
  real_open64 = dlsym(RTLD_NEXT, "open64");
  real_openat = dlsym(RTLD_NEXT, "openat");
  real_openat64 = dlsym(RTLD_NEXT, "openat64");
  real_close = dlsym(RTLD_NEXT, "close");
  real_write = dlsym(RTLD_NEXT, "write");
}

/* The simulated kernel belongs to the iommuctl process it was preloaded
 * into, not to what that process starts (QEMU under `iommuctl run`): drop it
 * from the environment at load.  Besides being the right scope, a child
 * without the sanitizer runtime (/bin/sh) cannot even load the ASan-built
 * mock. */
__attribute__((constructor)) static void
mock_scope_to_this_process(void)
{
  const char *keep = getenv("IC_MOCK_KEEP_PRELOAD");
  if (keep == NULL || strcmp(keep, "1") != 0)
    unsetenv("LD_PRELOAD");
}

static const char *
mock_root(void)
{
  static char root[PATH_MAX];
  static int done;
  if (!done) {
    const char *r = getenv("IC_MOCK_ROOT");
    if (r == NULL || realpath(r, root) == NULL)
      root[0] = '\0';
    done = 1;
  }
  return root[0] ? root : NULL;
}

/* "ROOT/sys/..." -> the part after ROOT, else NULL. */
static const char *
rel_to_root(const char *path)
{
  const char *root = mock_root();
  size_t n = root ? strlen(root) : 0;
  if (root == NULL || strncmp(path, root, n) != 0 || strncmp(path + n, "/sys/", 5) != 0)
    return NULL;
  return path + n;
}

static void
die(const char *fmt, const char *arg)
{
  fprintf(stderr, "mock-kernel: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n");
  abort();
}

/* ---- fixture helpers ------------------------------------------------------ */

static void
root_path(char *out, const char *fmt, const char *a, const char *b)
{
  char rel[PATH_MAX];
  snprintf(rel, sizeof rel, fmt, a, b);
  snprintf(out, PATH_MAX, "%s%s", mock_root(), rel);
}

static int
read_small(const char *path, char *buf, size_t size)
{
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return -1;
  size_t n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = '\0';
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  return (int) n;
}

static int
write_small(const char *path, const char *text)
{
  FILE *f = fopen(path, "we");
  if (f == NULL)
    return -1;
  fputs(text, f);
  return fclose(f);
}

static int
device_driver(const char *bdf, char *drv, size_t size)
{
  char p[PATH_MAX], t[PATH_MAX];
  root_path(p, "/sys/bus/pci/devices/%s/driver%s", bdf, "");
  ssize_t n = readlink(p, t, sizeof t - 1);
  if (n < 0)
    return 0;
  t[n] = '\0';
  const char *base = strrchr(t, '/');
  snprintf(drv, size, "%s", base ? base + 1 : t);
  return 1;
}

static int
device_group(const char *bdf, char *grp, size_t size)
{
  char p[PATH_MAX], t[PATH_MAX];
  root_path(p, "/sys/bus/pci/devices/%s/iommu_group%s", bdf, "");
  ssize_t n = readlink(p, t, sizeof t - 1);
  if (n < 0)
    return 0;
  t[n] = '\0';
  const char *base = strrchr(t, '/');
  snprintf(grp, size, "%s", base ? base + 1 : t);
  return 1;
}

static int
device_exists(const char *bdf)
{
  char p[PATH_MAX];
  struct stat st;
  root_path(p, "/sys/bus/pci/devices/%s%s", bdf, "");
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
driver_exists(const char *drv)
{
  char p[PATH_MAX];
  struct stat st;
  root_path(p, "/sys/bus/pci/drivers/%s%s", drv, "");
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
device_override(const char *bdf, char *ov, size_t size)
{
  char p[PATH_MAX];
  root_path(p, "/sys/bus/pci/devices/%s/driver_override%s", bdf, "");
  if (read_small(p, ov, size) < 0 || strcmp(ov, "(null)") == 0)
    ov[0] = '\0';
}

/* Relative path from directory `from` to `to` (both canonical). */
static void
relative(const char *from, const char *to, char *out, size_t size)
{
  size_t i = 0, common = 0;
  while (from[i] && to[i] && from[i] == to[i]) {
    if (from[i] == '/')
      common = i;
    i++;
  }
  if ((from[i] == '\0' && to[i] == '/') || (from[i] == '/' && to[i] == '\0'))
    common = i;
  out[0] = '\0';
  for (const char *p = from + common; *p; p++)
    if (*p == '/')
      strncat(out, "../", size - strlen(out) - 1);
  if (to[common] == '/')
    strncat(out, to + common + 1, size - strlen(out) - 1);
}

static int
is_vfio(const char *drv)
{
  return strstr(drv, "vfio") != NULL;
}

static void
update_vfio_node(const char *bdf)
{
  char grp[64];
  if (!device_group(bdf, grp, sizeof grp))
    return;
  char dir[PATH_MAX], node[PATH_MAX];
  root_path(dir, "/sys/kernel/iommu_groups/%s/devices%s", grp, "");
  root_path(node, "/dev/vfio/%s%s", grp, "");
  int on_vfio = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    char drv[256];
    if (e->d_name[0] != '.' && device_driver(e->d_name, drv, sizeof drv) && is_vfio(drv))
      on_vfio++;
  }
  if (d)
    closedir(d);
  if (on_vfio > 0) {
    char vdir[PATH_MAX];
    root_path(vdir, "/dev/vfio%s%s", "", "");
    mkdir(vdir, 0755);
    write_small(node, "");
  } else {
    unlink(node);
  }
}

/* The kernel generates uevent on read, with DRIVER= while bound. */
static void
update_uevent(const char *bdf, const char *drv)
{
  char p[PATH_MAX], text[4096], out[4096 + 300];
  root_path(p, "/sys/bus/pci/devices/%s/uevent%s", bdf, "");
  FILE *f = fopen(p, "re");
  if (f == NULL)
    return;
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  out[0] = '\0';
  if (drv)
    snprintf(out, sizeof out, "DRIVER=%s\n", drv);
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (strncmp(line, "DRIVER=", 7) == 0)
      continue;
    strncat(out, line, sizeof out - strlen(out) - 2);
    strcat(out, "\n");
  }
  write_small(p, out);
}

static void
do_bind(const char *bdf, const char *drv)
{
  char dev[PATH_MAX], devreal[PATH_MAX], drvdir[PATH_MAX], link[PATH_MAX], rel[PATH_MAX];
  root_path(dev, "/sys/bus/pci/devices/%s%s", bdf, "");
  root_path(drvdir, "/sys/bus/pci/drivers/%s%s", drv, "");
  if (realpath(dev, devreal) == NULL)
    return;
  char drvreal[PATH_MAX];
  if (realpath(drvdir, drvreal) == NULL)
    return;
  snprintf(link, sizeof link, "%s/driver", devreal);
  relative(devreal, drvreal, rel, sizeof rel);
  unlink(link);
  if (symlink(rel, link) != 0)
    die("cannot link %s", link);
  snprintf(link, sizeof link, "%s/%s", drvreal, bdf);
  relative(drvreal, devreal, rel, sizeof rel);
  unlink(link);
  if (symlink(rel, link) != 0)
    die("cannot link %s", link);
  update_uevent(bdf, drv);
  if (is_vfio(drv))
    update_vfio_node(bdf);
}

static void
do_unbind(const char *bdf)
{
  char drv[256];
  if (!device_driver(bdf, drv, sizeof drv))
    return;
  char p[PATH_MAX];
  root_path(p, "/sys/bus/pci/devices/%s/driver%s", bdf, "");
  unlink(p);
  root_path(p, "/sys/bus/pci/drivers/%s/%s", drv, bdf);
  unlink(p);
  update_uevent(bdf, NULL);
  if (is_vfio(drv))
    update_vfio_node(bdf);
}

/* First driver in FIXTURE/mock/drivers whose id table matches bdf; with
 * only_name, whether that driver matches. */
static int
id_match(const char *bdf, const char *only_name, char *out, size_t size)
{
  char p[PATH_MAX], ven[32], dev[32];
  root_path(p, "/sys/bus/pci/devices/%s/vendor%s", bdf, "");
  if (read_small(p, ven, sizeof ven) < 0)
    return 0;
  root_path(p, "/sys/bus/pci/devices/%s/device%s", bdf, "");
  if (read_small(p, dev, sizeof dev) < 0)
    return 0;
  const char *v = strncmp(ven, "0x", 2) == 0 ? ven + 2 : ven;
  const char *d = strncmp(dev, "0x", 2) == 0 ? dev + 2 : dev;
  root_path(p, "/mock/drivers%s%s", "", "");
  FILE *f = fopen(p, "re");
  if (f == NULL)
    return 0;
  char line[1024];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    char *save = NULL;
    char *name = strtok_r(line, " \t\n", &save);
    if (name == NULL || name[0] == '#')
      continue;
    if (only_name && strcmp(only_name, name) != 0)
      continue;
    for (char *id; !found && (id = strtok_r(NULL, " \t\n", &save)) != NULL;) {
      char iv[16] = "", idv[16] = "";
      if (sscanf(id, "%15[^:]:%15s", iv, idv) != 2)
        continue;
      if ((strcmp(iv, "*") == 0 || strcasecmp(iv, v) == 0) &&
          (strcmp(idv, "*") == 0 || strcasecmp(idv, d) == 0)) {
        found = driver_exists(name);
        if (found && out)
          snprintf(out, size, "%s", name);
      }
    }
  }
  fclose(f);
  return found;
}

/* ---- the kernel's side of each attribute ---------------------------------- */

static void
trim_value(const char *buf, size_t n, char *out, size_t size)
{
  if (n >= size)
    n = size - 1;
  memcpy(out, buf, n);
  out[n] = '\0';
  while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
    out[--n] = '\0';
}

/* Returns 0 or an errno. */
static int
kernel_store(const char *rel, const char *value, char *bdf_out, size_t bdf_size)
{
  char a[256] = "", b[256] = "";
  bdf_out[0] = '\0';
  if (sscanf(rel, "/sys/bus/pci/devices/%255[^/]/%255s", a, b) == 2 && strcmp(b, "driver_override") == 0) {
    char p[PATH_MAX];
    snprintf(bdf_out, bdf_size, "%s", a);
    root_path(p, "/sys/bus/pci/devices/%s/driver_override%s", a, "");
    char text[300];
    snprintf(text, sizeof text, "%s\n", value[0] ? value : "(null)");
    return write_small(p, text) == 0 ? 0 : EIO;
  }
  if (sscanf(rel, "/sys/bus/pci/devices/%255[^/]/driver/%255s", a, b) == 2 && strcmp(b, "unbind") == 0) {
    char drv[256];
    if (!device_driver(a, drv, sizeof drv))
      return ENOENT;
    static char redirected[PATH_MAX];
    snprintf(redirected, sizeof redirected, "/sys/bus/pci/drivers/%s/unbind", drv);
    rel = redirected;
  }
  if (sscanf(rel, "/sys/bus/pci/drivers/%255[^/]/%255s", a, b) == 2) {
    char cur[256] = "";
    snprintf(bdf_out, bdf_size, "%s", value);
    if (strcmp(b, "new_id") == 0 || strcmp(b, "remove_id") == 0)
      die("%s written: iommuctl must never use new_id/remove_id", rel);
    if (!device_exists(value))
      return ENODEV;
    int bound = device_driver(value, cur, sizeof cur);
    if (strcmp(b, "unbind") == 0) {
      if (!bound || strcmp(cur, a) != 0)
        return ENODEV;
      do_unbind(value);
      return 0;
    }
    if (strcmp(b, "bind") == 0) {
      char ov[256];
      device_override(value, ov, sizeof ov);
      if (bound)
        return EBUSY;
      if (ov[0] ? strcmp(ov, a) != 0 : !id_match(value, a, NULL, 0))
        return ENODEV;
      do_bind(value, a);
      return 0;
    }
    die("unexpected write to %s", rel);
  }
  if (strcmp(rel, "/sys/bus/pci/drivers_probe") == 0) {
    char cur[256], ov[256], drv[256];
    snprintf(bdf_out, bdf_size, "%s", value);
    if (!device_exists(value))
      return EINVAL;
    if (device_driver(value, cur, sizeof cur))
      return 0;
    device_override(value, ov, sizeof ov);
    if (ov[0]) {
      if (driver_exists(ov))
        do_bind(value, ov);
    } else if (id_match(value, NULL, drv, sizeof drv)) {
      do_bind(value, drv);
    }
    return 0;
  }
  die("write to an attribute the mock does not model: %s", rel);
  return EIO;
}

static void
grab(const char *bdf)
{
  char drv[256];
  if (bdf[0] == '\0' || !id_match(bdf, NULL, drv, sizeof drv))
    return;
  do_unbind(bdf);
  do_bind(bdf, drv);
}

static const char *
fault_for(unsigned long n)
{
  const char *spec = getenv("IC_MOCK_FAULT");
  static char kind[32];
  while (spec && *spec) {
    unsigned long at = 0;
    if (sscanf(spec, "%31[a-z]@%lu", kind, &at) == 2 && at == n)
      return kind;
    spec = strchr(spec, ',');
    if (spec)
      spec++;
  }
  return NULL;
}

static void
log_write(unsigned long n, const char *rel, const char *value, const char *fault)
{
  const char *path = getenv("IC_MOCK_LOG");
  if (path == NULL)
    return;
  FILE *f = fopen(path, "ae");
  if (f == NULL)
    return;
  fprintf(f, "%lu %d %s \"%s\"%s%s\n", n, (int) getpid(), rel, value, fault ? " " : "", fault ? fault : "");
  fclose(f);
}

/* ---- interposed libc functions -------------------------------------------- */

static void
track(int fd, const char *path, int flags)
{
  if (fd < 0 || fd >= MAX_FDS || (flags & O_ACCMODE) == O_RDONLY)
    return;
  char full[PATH_MAX];
  if (path[0] != '/') {
    if (getcwd(full, sizeof full) == NULL)
      return;
    strncat(full, "/", sizeof full - strlen(full) - 1);
    strncat(full, path, sizeof full - strlen(full) - 1);
  } else {
    snprintf(full, sizeof full, "%s", path);
  }
  if (rel_to_root(full) == NULL)
    return;
  free(tracked[fd]);
  tracked[fd] = strdup(full);
}

#define OPEN_MODE(flags, mode)                                   \
  do {                                                           \
    if ((flags) & (O_CREAT | O_TMPFILE)) {                       \
      va_list ap;                                                \
      va_start(ap, flags);                                       \
      mode = va_arg(ap, int);                                    \
      va_end(ap);                                                \
    }                                                            \
  } while (0)

int
open(const char *path, int flags, ...)
{
  int mode = 0;
  OPEN_MODE(flags, mode);
  init_real();
  int fd = real_open(path, flags, mode);
  track(fd, path, flags);
  return fd;
}

int
open64(const char *path, int flags, ...)
{
  int mode = 0;
  OPEN_MODE(flags, mode);
  init_real();
  int fd = real_open64(path, flags, mode);
  track(fd, path, flags);
  return fd;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
  int mode = 0;
  OPEN_MODE(flags, mode);
  init_real();
  int fd = real_openat(dirfd, path, flags, mode);
  if (dirfd == AT_FDCWD || path[0] == '/')
    track(fd, path, flags);
  return fd;
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
  int mode = 0;
  OPEN_MODE(flags, mode);
  init_real();
  int fd = real_openat64(dirfd, path, flags, mode);
  if (dirfd == AT_FDCWD || path[0] == '/')
    track(fd, path, flags);
  return fd;
}

int
close(int fd)
{
  init_real();
  if (fd >= 0 && fd < MAX_FDS && tracked[fd]) {
    free(tracked[fd]);
    tracked[fd] = NULL;
  }
  return real_close(fd);
}

ssize_t
write(int fd, const void *buf, size_t count)
{
  init_real();
  if (fd < 0 || fd >= MAX_FDS || tracked[fd] == NULL)
    return real_write(fd, buf, count);
  const char *rel = rel_to_root(tracked[fd]);
  char value[256], bdf[256];
  trim_value(buf, count, value, sizeof value);
  unsigned long n = ++n_writes;
  const char *fault = fault_for(n);
  log_write(n, rel, value, fault);
  if (fault && strcmp(fault, "ebusy") == 0) {
    errno = EBUSY;
    return -1;
  }
  if (fault && strcmp(fault, "nobind") == 0)
    return (ssize_t) count;
  int err = kernel_store(rel, value, bdf, sizeof bdf);
  if (fault && strcmp(fault, "grab") == 0)
    grab(bdf);
  if (fault && strcmp(fault, "kill") == 0)
    raise(SIGKILL);
  if (err != 0) {
    errno = err;
    return -1;
  }
  return (ssize_t) count;
}
