/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "iommuctl/context.h"
#include "iommuctl/error.h"
#include "ic-config.h"
#include "util/ic-util.h"

#include <sys/utsname.h>

IcContext *
ic_context_new(void)
{
  IcContext *ctx = g_new0(IcContext, 1);
  ctx->sysfs_root = g_strdup("/");
  ctx->proc_root = g_strdup("/");
  ctx->state_dir = g_strdup(IOMMUCTL_DEFAULT_STATE_DIR);
  ctx->cache_dir = g_build_filename(g_get_user_cache_dir(), "iommuctl", NULL);
  ctx->poll_timeout_ms = 5000;
  ctx->lock_timeout_ms = 10000;
  return ctx;
}

void
ic_context_free(IcContext *ctx)
{
  if (ctx == NULL)
    return;
  if (ctx->host_cache != NULL && ctx->host_cache_free != NULL)
    ctx->host_cache_free(ctx->host_cache);
  g_free(ctx->sysfs_root);
  g_free(ctx->proc_root);
  g_free(ctx->state_dir);
  g_free(ctx->cache_dir);
  g_free(ctx->kernel_release);
  g_free(ctx);
}

static char *
normalize_root(const char *root)
{
  if (root == NULL || *root == '\0')
    return g_strdup("/");
  g_autofree char *canon = g_canonicalize_filename(root, NULL);
  return g_steal_pointer(&canon);
}

void
ic_context_set_sysfs_root(IcContext *ctx, const char *root)
{
  gboolean proc_followed = g_strcmp0(ctx->proc_root, ctx->sysfs_root) == 0;
  g_free(ctx->sysfs_root);
  ctx->sysfs_root = normalize_root(root);
  /* A snapshot carries its own proc/, so the proc root follows the sysfs
   * root unless it was set on its own. */
  if (proc_followed) {
    g_free(ctx->proc_root);
    ctx->proc_root = g_strdup(ctx->sysfs_root);
  }
}

void
ic_context_set_proc_root(IcContext *ctx, const char *root)
{
  g_free(ctx->proc_root);
  ctx->proc_root = normalize_root(root);
}

void
ic_context_set_state_dir(IcContext *ctx, const char *dir)
{
  g_free(ctx->state_dir);
  ctx->state_dir = g_strdup(dir);
}

void
ic_context_load_env(IcContext *ctx)
{
  const char *v;
  if ((v = g_getenv("IOMMUCTL_SYSFS_ROOT")) != NULL && *v)
    ic_context_set_sysfs_root(ctx, v);
  if ((v = g_getenv("IOMMUCTL_PROC_ROOT")) != NULL && *v)
    ic_context_set_proc_root(ctx, v);
  if ((v = g_getenv("IOMMUCTL_STATE_DIR")) != NULL && *v)
    ic_context_set_state_dir(ctx, v);
  if ((v = g_getenv("IOMMUCTL_KERNEL_RELEASE")) != NULL && *v) {
    g_free(ctx->kernel_release);
    ctx->kernel_release = g_strdup(v);
  }
  if ((v = g_getenv("IOMMUCTL_CACHE_DIR")) != NULL && *v) {
    g_free(ctx->cache_dir);
    ctx->cache_dir = g_strdup(v);
  }
}

static char *
rooted(const char *root, const char *abs_path)
{
  g_return_val_if_fail(abs_path != NULL && abs_path[0] == '/', NULL);
  if (strcmp(root, "/") == 0)
    return g_strdup(abs_path);
  return g_strconcat(root, abs_path, NULL);
}

char *
ic_context_sys_path(const IcContext *ctx, const char *abs_path)
{
  return rooted(ctx->sysfs_root, abs_path);
}

char *
ic_context_proc_path(const IcContext *ctx, const char *abs_path)
{
  return rooted(ctx->proc_root, abs_path);
}

gboolean
ic_context_is_real_host(const IcContext *ctx)
{
  return strcmp(ctx->sysfs_root, "/") == 0;
}

gboolean
ic_context_read_kernel_release(IcContext *ctx, const char **out, GError **error)
{
  if (ctx->kernel_release == NULL) {
    g_autofree char *path = ic_context_proc_path(ctx, "/proc/sys/kernel/osrelease");
    char buf[256];
    if (!ic_context_is_real_host(ctx) || strcmp(ctx->proc_root, "/") != 0) {
      if (ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf) > 0) {
        /* a captured tree's release is input: it becomes a path component
         * (lib/modules/<release>/), so it is checked before anyone uses it */
        g_autoptr(GError) local = NULL;
        if (!ic_check_kernel_release(buf, &local)) {
          g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: %s", path, local->message);
          return FALSE;
        }
        ctx->kernel_release = g_strdup(buf);
      }
    }
    if (ctx->kernel_release == NULL) {
      struct utsname u;
      ctx->kernel_release = g_strdup(uname(&u) == 0 ? u.release : "unknown");
    }
  }
  if (!ic_check_kernel_release(ctx->kernel_release, error))
    return FALSE;
  *out = ctx->kernel_release;
  return TRUE;
}

char *
ic_context_modules_path(IcContext *ctx, const char *name)
{
  g_autofree char *abs = g_strdup_printf("/lib/modules/%s/%s", ic_context_kernel_release(ctx), name);
  return ic_context_sys_path(ctx, abs);
}

const char *
ic_context_kernel_release(IcContext *ctx)
{
  /* an invalid release never reaches a path: callers get "unknown", and
   * the verbs that write (snapshot) use ic_context_read_kernel_release() */
  const char *rel = NULL;
  if (!ic_context_read_kernel_release(ctx, &rel, NULL))
    return "unknown";
  return rel;
}
