/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Independent GET requests to Placement at once, each on its own connection
 * and thread, each reply parsed in the thread that fetched it.
 *
 * Why threads and not libsoup's async API on one main context: what costs
 * is reading the replies (7.7 MB of listings for 10,000 providers) as much
 * as waiting for them, and threads read two replies on two cores while
 * Placement computes the next one; the sync client (placement-http.c) stays
 * the one code path for every request.  Each thread gets a session of its
 * own (ic_placement_sibling), so no libsoup object crosses threads.
 *
 * At most MAX_IN_FLIGHT at once: Placement's test server (wsgiref) serves
 * one connection at a time with a listen backlog of 5, and a connection
 * beyond the backlog is retried by TCP only after a second. */
#include "placement-private.h"

#define MAX_IN_FLIGHT 4

void
placement_fetch_clear(PlacementFetch *f)
{
  placement_reply_clear(&f->reply);
  if (f->result != NULL && f->result_free != NULL)
    f->result_free(f->result);
  f->result = NULL;
  g_clear_error(&f->error);
}

typedef struct {
  IcPlacement *parent;
  GMutex lock;   /* guards parent's counters */
} Batch;

static void
fetch_one(gpointer data, gpointer user_data)
{
  PlacementFetch *f = data;
  Batch *b = user_data;
  g_autoptr(IcPlacement) own = ic_placement_sibling(b->parent);
  if (ic_placement_http(own, "GET", f->path, NULL, &f->reply, &f->error) && f->reply.status == 200 &&
      f->parse != NULL)
    f->parse(f, &f->error);
  g_mutex_lock(&b->lock);
  ic_placement_add_counts(b->parent, own);
  g_mutex_unlock(&b->lock);
}

gboolean
ic_placement_get_all(IcPlacement *p, PlacementFetch *const *fetches, guint n, GError **error)
{
  if (n == 1) { /* nothing to overlap: no thread */
    PlacementFetch *f = fetches[0];
    if (ic_placement_http(p, "GET", f->path, NULL, &f->reply, &f->error) && f->reply.status == 200 &&
        f->parse != NULL)
      f->parse(f, &f->error);
    return TRUE;
  }
  Batch b = {.parent = p};
  g_mutex_init(&b.lock);
  GThreadPool *pool = g_thread_pool_new(fetch_one, &b, MIN(n, MAX_IN_FLIGHT), TRUE, error);
  if (pool == NULL) {
    g_mutex_clear(&b.lock);
    return FALSE;
  }
  for (guint i = 0; i < n; i++)
    g_thread_pool_push(pool, fetches[i], NULL);
  g_thread_pool_free(pool, FALSE, TRUE); /* waits for every fetch */
  g_mutex_clear(&b.lock);
  return TRUE;
}
