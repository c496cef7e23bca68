/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libsoup, loaded when the first Placement client is made rather than at
 * every start of iommuctl.  Only the fleet verbs speak HTTP, but linking
 * libsoup made every command (detach, reattach under TCG: ~0.3 s of a
 * cycle) map and relocate it and the ~20 libraries it needs (Kerberos,
 * nghttp2, brotli, libpsl, libidn2...).  As systemd does with its optional
 * libraries: the headers for the types, g_module_open() + g_module_symbol()
 * into a typed table, and the soup_* names used by placement-http.c
 * redirected to that table by the macros below. */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

typedef struct {
  SoupSession *(*session_new_with_options)(const char *first_property_name, ...);
  SoupMessage *(*message_new)(const char *method, const char *uri_string);
  SoupMessageHeaders *(*message_get_request_headers)(SoupMessage *msg);
  void (*message_headers_append)(SoupMessageHeaders *hdrs, const char *name, const char *value);
  void (*message_set_request_body_from_bytes)(SoupMessage *msg, const char *content_type, GBytes *bytes);
  GInputStream *(*session_send)(SoupSession *session, SoupMessage *msg, GCancellable *cancellable,
                                GError **error);
  SoupStatus (*message_get_status)(SoupMessage *msg);
  SoupMessageHeaders *(*message_get_response_headers)(SoupMessage *msg);
  goffset (*message_headers_get_content_length)(SoupMessageHeaders *hdrs);
} IcSoup;

/* Loads libsoup once per process (thread-safe); NULL with an error naming
 * the library and the package when it cannot be loaded. */
const IcSoup *ic_soup_load(GError **error);
/* The table; only after ic_soup_load() succeeded. */
const IcSoup *ic_soup(void);

#define soup_session_new_with_options(...) (ic_soup()->session_new_with_options(__VA_ARGS__))
#define soup_message_new(m, u) (ic_soup()->message_new((m), (u)))
#define soup_message_get_request_headers(m) (ic_soup()->message_get_request_headers(m))
#define soup_message_headers_append(h, n, v) (ic_soup()->message_headers_append((h), (n), (v)))
#define soup_message_set_request_body_from_bytes(m, t, b)                                          \
  (ic_soup()->message_set_request_body_from_bytes((m), (t), (b)))
#define soup_session_send(s, m, c, e) (ic_soup()->session_send((s), (m), (c), (e)))
#define soup_message_get_status(m) (ic_soup()->message_get_status(m))
#define soup_message_get_response_headers(m) (ic_soup()->message_get_response_headers(m))
#define soup_message_headers_get_content_length(h) (ic_soup()->message_headers_get_content_length(h))

G_END_DECLS
