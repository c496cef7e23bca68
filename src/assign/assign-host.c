/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Facts from the host inventory, per device.  Interim: until the host
 * layer's IcInventory lands, only the two attributes that need no analysis
 * (modalias, reset_method) are read here. */
#include "assign/assign-host.h"
#include "util/ic-util.h"

struct IcAsHostView {
  IcContext *ctx;
};

IcAsHostView *
ic_as_host_view_new(IcContext *ctx)
{
  IcAsHostView *v = g_new0(IcAsHostView, 1);
  v->ctx = ctx;
  return v;
}

void
ic_as_host_view_free(IcAsHostView *view)
{
  g_free(view);
}

static char *
read_dev_attr(IcContext *ctx, const char *dev, const char *attr)
{
  g_autofree char *abs = g_strdup_printf("/sys/bus/pci/devices/%s/%s", dev, attr);
  g_autofree char *path = ic_context_sys_path(ctx, abs);
  char buf[512];
  if (ic_read_attr_stripped_at(AT_FDCWD, path, buf, sizeof buf) <= 0)
    return NULL;
  return g_strdup(buf);
}

void
ic_as_host_facts(IcAsHostView *view, const char *dev, IcAsHostFacts *facts)
{
  memset(facts, 0, sizeof *facts);
  facts->modalias = read_dev_attr(view->ctx, dev, "modalias");
  g_autofree char *methods = read_dev_attr(view->ctx, dev, "reset_method");
  if (methods != NULL) {
    g_auto(GStrv) m = g_strsplit(methods, " ", 2);
    facts->reset_method = g_strdup(m[0]);
  }
}

void
ic_as_host_facts_clear(IcAsHostFacts *facts)
{
  g_free(facts->modalias);
  g_free(facts->reset_method);
  g_free(facts->host_use);
  g_free(facts->acs_warning);
  memset(facts, 0, sizeof *facts);
}
