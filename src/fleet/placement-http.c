/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small client of OpenStack Placement over libsoup (GNOME's HTTP library,
 * GLib-based): one session, Placement microversion 1.39, X-Auth-Token.
 * Every reply is read with a size bound before it is parsed. */
#include "placement-private.h"

#include "fleet/soup-loader.h" /* libsoup, loaded on first use */

/* 10,000 providers answer allocation_candidates with ~7 MB; leave room. */
#define IC_PLACEMENT_MAX_REPLY (256u << 20)

struct IcPlacement {
  SoupSession *session;
  char *base;    /* URL without a trailing slash */
  char *token;   /* NULL: no X-Auth-Token */
  guint reads, writes;
};

IcPlacement *
ic_placement_new(const char *url, const char *token, GError **error)
{
  g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || (g_strcmp0(g_uri_get_scheme(uri), "http") != 0 &&
                      g_strcmp0(g_uri_get_scheme(uri), "https") != 0) || g_uri_get_host(uri) == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "'%s' is not an http:// or https:// URL", url);
    return NULL;
  }
  if (ic_soup_load(error) == NULL)
    return NULL;
  IcPlacement *p = g_new0(IcPlacement, 1);
  /* the environment's proxy, not GIO's desktop-oriented default (placement-proxy.c) */
  g_auto(GStrv) env = g_get_environ();
  g_autoptr(GProxyResolver) proxy = ic_placement_proxy_resolver((const char *const *) env);
  p->session = soup_session_new_with_options("timeout", 120, "user-agent", "iommuctl", "proxy-resolver", proxy, NULL);
  p->base = g_strdup(url);
  gsize n = strlen(p->base);
  while (n > 0 && p->base[n - 1] == '/')
    p->base[--n] = '\0';
  p->token = g_strdup(token);
  return p;
}

void
ic_placement_free(IcPlacement *p)
{
  if (p == NULL)
    return;
  g_clear_object(&p->session);
  g_free(p->base);
  g_free(p->token);
  g_free(p);
}

IcPlacement *
ic_placement_sibling(const IcPlacement *p)
{
  return ic_placement_new(p->base, p->token, NULL);
}

void
ic_placement_add_counts(IcPlacement *p, const IcPlacement *sibling)
{
  p->reads += sibling->reads;
  p->writes += sibling->writes;
}

guint ic_placement_reads(const IcPlacement *p) { return p->reads; }
guint ic_placement_writes(const IcPlacement *p) { return p->writes; }

static gboolean
read_bounded(GInputStream *in, GByteArray *out, const char *what, GError **error)
{
  enum { CHUNK = 65536 };
  for (;;) {
    /* straight into the array's tail, not through a buffer on the stack */
    guint had = out->len;
    g_byte_array_set_size(out, had + CHUNK);
    gssize n = g_input_stream_read(in, out->data + had, CHUNK, NULL, error);
    g_byte_array_set_size(out, had + (guint) MAX(n, 0));
    if (n < 0) {
      g_prefix_error(error, "%s: ", what);
      return FALSE;
    }
    if (n == 0)
      return TRUE;
    if (out->len > IC_PLACEMENT_MAX_REPLY) {
      g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: the reply is larger than %u MiB", what,
                  IC_PLACEMENT_MAX_REPLY >> 20);
      return FALSE;
    }
  }
}

gboolean
ic_placement_http(IcPlacement *p, const char *method, const char *path, JsonNode *body, PlacementReply *reply,
                  GError **error)
{
  g_autofree char *url = g_strconcat(p->base, path, NULL);
  g_autofree char *what = g_strdup_printf("%s %s", method, path);
  g_autoptr(SoupMessage) msg = soup_message_new(method, url);
  if (msg == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: not a valid URL", url);
    return FALSE;
  }
  SoupMessageHeaders *h = soup_message_get_request_headers(msg);
  soup_message_headers_append(h, "OpenStack-API-Version", "placement " IC_PLACEMENT_MICROVERSION);
  soup_message_headers_append(h, "Accept", "application/json");
  if (p->token != NULL)
    soup_message_headers_append(h, "X-Auth-Token", p->token);
  if (body != NULL) {
    gsize len = 0;
    char *text = json_to_string(body, FALSE);
    len = strlen(text);
    g_autoptr(GBytes) bytes = g_bytes_new_take(text, len);
    soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
  }
  if (strcmp(method, "GET") == 0)
    p->reads++;
  else
    p->writes++;
  g_autoptr(GError) local = NULL;
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(GInputStream) in = soup_session_send(p->session, msg, NULL, &local);
  if (in == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "%s: %s", url, local->message);
    return FALSE;
  }
  /* sized from Content-Length when given: growing by doubling copied and
   * page-faulted a 7.7 MB listing several times over */
  goffset announced = soup_message_headers_get_content_length(soup_message_get_response_headers(msg));
  g_autoptr(GByteArray) data =
    g_byte_array_sized_new((guint) CLAMP(announced + 1, 1, (goffset) IC_PLACEMENT_MAX_REPLY + 1));
  if (!read_bounded(in, data, what, error))
    return FALSE;
  g_input_stream_close(in, NULL, NULL);
  reply->status = soup_message_get_status(msg);
  reply->len = data->len;
  g_debug("%s: HTTP %u, %u bytes in %.1f ms", what, reply->status, data->len,
          (double) (g_get_monotonic_time() - t0) / 1000.0);
  g_byte_array_append(data, (const guint8 *) "", 1);
  reply->data = (char *) g_byte_array_free(g_steal_pointer(&data), FALSE);
  return TRUE;
}

void
placement_reply_clear(PlacementReply *r)
{
  g_clear_pointer(&r->data, g_free);
  r->len = 0;
  r->status = 0;
}

gboolean
ic_placement_fail(const char *method, const char *path, const PlacementReply *r, GError **error)
{
  g_autofree char *code = NULL;
  g_autofree char *detail = ic_placement_error_detail(r->data, r->len, &code);
  int ic = r->status == 401 || r->status == 403 ? IC_ERROR_PERMISSION
         : r->status == 404                     ? IC_ERROR_NOT_FOUND
         : r->status == 409                     ? IC_ERROR_CONFLICT
                                                : IC_ERROR_FAILED;
  g_set_error(error, IC_ERROR, ic, "Placement refused %s %s: HTTP %u%s%s%s: %s", method, path, r->status,
              code ? " (" : "", code ? code : "", code ? ")" : "", detail[0] ? detail : "(empty reply)");
  return FALSE;
}

gboolean
ic_placement_get_ok(IcPlacement *p, const char *path, PlacementReply *r, GError **error)
{
  if (!ic_placement_http(p, "GET", path, NULL, r, error))
    return FALSE;
  return r->status == 200 || ic_placement_fail("GET", path, r, error);
}

JsonNode *
ic_placement_get_json(IcPlacement *p, const char *path, GError **error)
{
  g_auto(PlacementReply) r = {0};
  if (!ic_placement_get_ok(p, path, &r, error))
    return NULL;
  g_autofree char *what = g_strdup_printf("GET %s", path);
  return ic_placement_parse_object(r.data, r.len, what, error);
}
