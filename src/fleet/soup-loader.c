/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libsoup loaded on first use (see soup-loader.h). */
#include "fleet/soup-loader.h"
#include "iommuctl/error.h"

#include <gmodule.h>

/* The soname of libsoup 3 (Debian: libsoup-3.0-0, Fedora: libsoup3). */
#define IC_SOUP_SONAME "libsoup-3.0.so.0"

static IcSoup soup_table;
static char *soup_failure; /* why loading failed, kept for every later call */

static gboolean
resolve(GModule *m, const char *name, gpointer *slot)
{
  if (g_module_symbol(m, name, slot) && *slot != NULL)
    return TRUE;
  soup_failure = g_strdup_printf("%s has no symbol %s: %s", IC_SOUP_SONAME, name, g_module_error());
  return FALSE;
}

static gpointer
load_once(gpointer unused)
{
  (void) unused;
  /* LOCAL: its symbols must not interpose on anything else; the module
   * stays loaded for the life of the process (its types are registered). */
  GModule *m = g_module_open(IC_SOUP_SONAME, G_MODULE_BIND_LOCAL);
  if (m == NULL) {
    soup_failure = g_strdup_printf("cannot load the HTTP library %s (install libsoup-3.0-0 or "
                                   "libsoup3): %s", IC_SOUP_SONAME, g_module_error());
    return NULL;
  }
  g_module_make_resident(m);
  IcSoup t;
  gboolean ok = resolve(m, "soup_session_new_with_options", (gpointer *) &t.session_new_with_options) &&
                resolve(m, "soup_message_new", (gpointer *) &t.message_new) &&
                resolve(m, "soup_message_get_request_headers", (gpointer *) &t.message_get_request_headers) &&
                resolve(m, "soup_message_headers_append", (gpointer *) &t.message_headers_append) &&
                resolve(m, "soup_message_set_request_body_from_bytes",
                        (gpointer *) &t.message_set_request_body_from_bytes) &&
                resolve(m, "soup_session_send", (gpointer *) &t.session_send) &&
                resolve(m, "soup_message_get_status", (gpointer *) &t.message_get_status) &&
                resolve(m, "soup_message_get_response_headers", (gpointer *) &t.message_get_response_headers) &&
                resolve(m, "soup_message_headers_get_content_length",
                        (gpointer *) &t.message_headers_get_content_length);
  if (!ok)
    return NULL;
  soup_table = t;
  return &soup_table;
}

const IcSoup *
ic_soup_load(GError **error)
{
  static GOnce once = G_ONCE_INIT;
  const IcSoup *t = g_once(&once, load_once, NULL);
  if (t == NULL)
    g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED, "%s", soup_failure);
  return t;
}

const IcSoup *
ic_soup(void)
{
  g_assert(soup_table.session_send != NULL);
  return &soup_table;
}
