/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Libraries loaded on first use (see lazy-lib.h). */
#include "util/lazy-lib.h"

#include <gmodule.h>

static gpointer
load_once(gpointer data)
{
  IcLazyLib *lib = data;
  GModule *m = g_module_open(lib->soname, G_MODULE_BIND_LOCAL);
  if (m == NULL)
    g_error("cannot load %s (install %s): %s", lib->soname, lib->package, g_module_error());
  /* the library registers types and keeps state for the life of the process */
  g_module_make_resident(m);
  for (guint i = 0; i < lib->n; i++)
    if (!g_module_symbol(m, lib->names[i], &lib->slots[i]) || lib->slots[i] == NULL)
      g_error("%s has no symbol %s: %s", lib->soname, lib->names[i], g_module_error());
  return lib;
}

gpointer
ic_lazy_lib_sym(IcLazyLib *lib, guint index)
{
  g_once(&lib->once, load_once, lib);
  return lib->slots[index];
}
