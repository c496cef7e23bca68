/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The proxy iommuctl goes through to reach Placement: the one the
 * environment names -- http_proxy, https_proxy, all_proxy, no_proxy, read
 * the way curl reads them, which is also what OpenStack's own Python
 * clients honour -- handed to GIO's GSimpleProxyResolver.
 *
 * Why not libsoup's default, g_proxy_resolver_get_default(): on Debian that
 * loads GIO's proxy modules (glib-networking's GNOME resolver, which starts
 * GSettings and dconf, then libproxy, which starts a thread) to read desktop
 * proxy settings a compute host does not have.  That was 12-15 ms of a
 * 50-60 ms unchanged `placement sync` (docs/fleet.md, Benchmarks).  Even a
 * resolver of our own does not avoid that: GSocketClient's proxy enumerator
 * asks for the default one on every connection (GLib 2.74).  So when the
 * environment names no proxy, the session gets none at all (NULL), which
 * libsoup documents as "no proxy" and which turns GIO's proxy path off. */
#include "placement-private.h"

/* The first of names set and not empty in envp. */
static const char *
env_first(const char *const *envp, const char *const *names)
{
  for (; *names; names++) {
    const char *v = g_environ_getenv((char **) envp, *names);
    if (v != NULL && *v != '\0')
      return v;
  }
  return NULL;
}

/* curl's rule: a proxy given without a scheme is an HTTP proxy. */
static char *
proxy_uri(const char *value)
{
  if (value == NULL)
    return NULL;
  if (strstr(value, "://") != NULL)
    return g_strdup(value);
  return g_strconcat("http://", value, NULL);
}

GProxyResolver *
ic_placement_proxy_resolver(const char *const *envp)
{
  /* lower case first; HTTP_PROXY is not read (curl, and CGI's httpoxy:
   * a web server sets HTTP_PROXY from a request's Proxy: header) */
  static const char *const http_names[] = {"http_proxy", NULL};
  static const char *const https_names[] = {"https_proxy", "HTTPS_PROXY", NULL};
  static const char *const all_names[] = {"all_proxy", "ALL_PROXY", NULL};
  static const char *const no_names[] = {"no_proxy", "NO_PROXY", NULL};

  g_autoptr(GPtrArray) ignore = g_ptr_array_new_with_free_func(g_free);
  const char *no = env_first(envp, no_names);
  g_auto(GStrv) entries = g_strsplit(no ? no : "", ",", -1);
  for (char **e = entries; *e; e++) {
    char *host = g_strstrip(*e);
    if (strcmp(host, "*") == 0) /* no proxy for any host */
      return NULL;
    if (*host != '\0')
      g_ptr_array_add(ignore, g_strdup(host));
  }
  g_ptr_array_add(ignore, NULL);

  g_autofree char *all = proxy_uri(env_first(envp, all_names));
  g_autofree char *http = proxy_uri(env_first(envp, http_names));
  g_autofree char *https = proxy_uri(env_first(envp, https_names));
  if (all == NULL && http == NULL && https == NULL)
    return NULL;
  /* default_proxy NULL: direct */
  GProxyResolver *r = g_simple_proxy_resolver_new(all, (char **) ignore->pdata);
  if (http != NULL)
    g_simple_proxy_resolver_set_uri_proxy(G_SIMPLE_PROXY_RESOLVER(r), "http", http);
  if (https != NULL)
    g_simple_proxy_resolver_set_uri_proxy(G_SIMPLE_PROXY_RESOLVER(r), "https", https);
  return r;
}
