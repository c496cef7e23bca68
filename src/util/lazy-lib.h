/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A shared library loaded on first use whose callers keep calling it by its
 * own names, through its own headers.
 *
 * Linking a library costs every start of iommuctl its mapping, relocations
 * and constructors, and those of everything it needs, whether the command
 * uses it or not; detach and reattach, run twice per bench/assign-cycle
 * cycle in a TCG guest, use none of libxml2, json-glib, GObject or GIO.
 * A loader file lists the functions it forwards once, as an X-macro of
 *   X(return type, name, (parameters), (arguments))   or
 *   V(name, (parameters), (arguments))                 for void ones,
 * and expands it with the macros below: an enum of slots, a table of names
 * and one forwarder per function, with the header's prototype (so the
 * compiler checks each against the library's own declaration).  The first
 * forwarder called loads the library (RTLD_LOCAL: its names must not
 * resolve to it in place of the forwarders) and resolves every name; a
 * library that cannot be loaded stops the process with a message naming
 * it and its package, as the dynamic loader would have done at start.
 * A call not listed fails to link: add it to the loader's list. */
#pragma once

#include <glib.h>

typedef struct {
  const char *soname;
  const char *package; /* named in the message when it cannot be loaded */
  const char *const *names;
  gpointer *slots;
  guint n;
  GOnce once;
} IcLazyLib;

/* Loads LIB once per process (thread-safe) and returns the function in
 * slot INDEX. */
gpointer ic_lazy_lib_sym(IcLazyLib *lib, guint index);

/* The IcLazyLib VAR with one slot per name of NAMES (N of them). */
#define IC_LAZY_LIB_DEFINE(var, soname_, package_, names_, n_)                                    \
  static gpointer var##_slots[n_];                                                                \
  static IcLazyLib var = {.soname = (soname_),                                                    \
                          .package = (package_),                                                  \
                          .names = (names_),                                                      \
                          .slots = var##_slots,                                                   \
                          .n = (n_),                                                              \
                          .once = G_ONCE_INIT}

/* Expansions of a loader's list; IC_LAZY_LIB must name its IcLazyLib. */
#define IC_LAZY_SLOT(ret, name, params, args) IC_LAZY_##name,
#define IC_LAZY_SLOT_V(name, params, args) IC_LAZY_##name,
#define IC_LAZY_NAME(ret, name, params, args) #name,
#define IC_LAZY_NAME_V(name, params, args) #name,
/* (name): some are also function-like macros (g_object_ref) */
#define IC_LAZY_FORWARD(ret, name, params, args)                                                  \
  ret(name) params                                                                                \
  {                                                                                               \
    return ((ret(*) params) ic_lazy_lib_sym(&IC_LAZY_LIB, IC_LAZY_##name)) args;                  \
  }
#define IC_LAZY_FORWARD_V(name, params, args)                                                     \
  void(name) params                                                                               \
  {                                                                                               \
    ((void(*) params) ic_lazy_lib_sym(&IC_LAZY_LIB, IC_LAZY_##name)) args;                        \
  }
