/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal: the Placement HTTP layer shared by sync and place. */
#pragma once

#include "fleet-private.h"

/* 1.39: the newest Placement 8.0 speaks; in: groups need it, ! needs 1.22,
 * in_tree 1.14, providers in the POST reply 1.20. */
#define IC_PLACEMENT_MICROVERSION "1.39"

typedef struct {
  guint status;
  char *data;   /* NUL-terminated */
  gsize len;
} PlacementReply;

void placement_reply_clear(PlacementReply *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PlacementReply, placement_reply_clear)

/* A client of the same endpoint with its own session and connection, for
 * another thread (placement-batch.c); add_counts adds its requests to p's. */
IcPlacement *ic_placement_sibling(const IcPlacement *p);
void ic_placement_add_counts(IcPlacement *p, const IcPlacement *sibling);

/* Independent GETs at once (placement-batch.c): each on its own connection
 * and thread; parse, when set, runs in that thread on a 200 reply and
 * keeps what it makes in result. */
typedef struct PlacementFetch PlacementFetch;
struct PlacementFetch {
  const char *path;
  gboolean (*parse)(PlacementFetch *f, GError **error);
  PlacementReply reply;     /* status 0: no answer (error set) */
  gpointer result;
  GDestroyNotify result_free;
  GError *error;            /* no answer, or the 200 reply did not parse */
};
void placement_fetch_clear(PlacementFetch *f);
/* FALSE only when a thread could not be started; each fetch says how it went. */
gboolean ic_placement_get_all(IcPlacement *p, PlacementFetch *const *fetches, guint n, GError **error);

/* One request; FALSE only when no HTTP answer came (IC_ERROR_IO). */
gboolean ic_placement_http(IcPlacement *p, const char *method, const char *path, JsonNode *body,
                           PlacementReply *reply, GError **error);
/* Turn an unexpected status into an error naming the request and
 * Placement's detail; always FALSE. */
/* GET PATH, which must answer 200 (else ic_placement_fail's error). */
gboolean ic_placement_get_ok(IcPlacement *p, const char *path, PlacementReply *reply, GError **error);
gboolean ic_placement_fail(const char *method, const char *path, const PlacementReply *r, GError **error);
/* GET that must answer 200 with a JSON object. */
JsonNode *ic_placement_get_json(IcPlacement *p, const char *path, GError **error);
/* The names of names (char*) Placement knows: one GET /traits?name=in:... */
GHashTable *ic_placement_known_traits(IcPlacement *p, GPtrArray *names, GError **error);
/* The proxy the environment names (http_proxy, https_proxy, all_proxy,
 * no_proxy, as curl reads them); NULL (connect directly) when none names one
 * for this use.  envp: g_get_environ(). */
GProxyResolver *ic_placement_proxy_resolver(const char *const *envp);
char *ic_placement_group_uuid(const char *root_uuid, int group, const char *resource_class);
