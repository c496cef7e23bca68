/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The one context object.  Every path the host layer touches is built with
 * ic_context_sys_path()/ic_context_proc_path(), so a fixture tree or a
 * snapshot taken on another machine stands in for the real host. */
typedef struct IcContext {
  char *sysfs_root;     /* root of /sys, /dev, /lib/modules, /etc; "/" = real host */
  char *proc_root;      /* root of /proc; defaults to sysfs_root                    */
  char *state_dir;      /* assignment journal directory (state.db, lock)            */
  char *cache_dir;      /* QEMU capability cache etc.                                */
  char *kernel_release; /* override of `uname -r` (for modules.dep/alias lookups)   */
  guint poll_timeout_ms;  /* bound for sysfs verify polls                            */
  guint lock_timeout_ms;  /* bound for waiting on the state lock                     */
  gboolean verbose;
  gboolean color;       /* decided once by the CLI: isatty && !NO_COLOR             */
  /* Module-private caches hang off here, never in globals. */
  gpointer host_cache;  /* IcInventory*, owned; see host.h */
  GDestroyNotify host_cache_free;
} IcContext;

IcContext *ic_context_new(void);
void ic_context_free(IcContext *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcContext, ic_context_free)

/* Fill roots etc. from IOMMUCTL_SYSFS_ROOT / IOMMUCTL_PROC_ROOT /
 * IOMMUCTL_STATE_DIR / IOMMUCTL_KERNEL_RELEASE; explicit setters win. */
void ic_context_load_env(IcContext *ctx);
void ic_context_set_sysfs_root(IcContext *ctx, const char *root);
void ic_context_set_proc_root(IcContext *ctx, const char *root);
void ic_context_set_state_dir(IcContext *ctx, const char *dir);

/* "/sys/bus/pci/devices" -> "<root>/sys/bus/pci/devices" (newly allocated).
 * Any absolute host path outside /proc goes through this one. */
char *ic_context_sys_path(const IcContext *ctx, const char *abs_path);
char *ic_context_proc_path(const IcContext *ctx, const char *abs_path);
gboolean ic_context_is_real_host(const IcContext *ctx);

/* Kernel release for /lib/modules/<rel>: override, else the snapshot's
 * proc/sys/kernel/osrelease, else uname(). */
const char *ic_context_kernel_release(IcContext *ctx);

G_END_DECLS
