/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "persist/persist-private.h"
struct IcDiff { int changed; };
IcDiff *ic_diff_new(IcContext *ctx, const char *o, const char *n, const char *const *d, GError **error)
{ (void) ctx; (void) o; (void) n; (void) d; (void) error; return g_new0(IcDiff, 1); }
void ic_diff_free(IcDiff *d) { g_free(d); }
gboolean ic_diff_changed(const IcDiff *d) { return d->changed; }
char *ic_diff_to_text(const IcDiff *d) { (void) d; return g_strdup(""); }
char *ic_diff_to_json(const IcDiff *d) { (void) d; return g_strdup("{}\n"); }
