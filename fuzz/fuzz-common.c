/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Linked into every fuzz target.  A g_return_if_fail() or g_warning() in
 * our code or a library under it means we handed it something invalid: that
 * is a finding, so it aborts (which libFuzzer catches and saves, unlike
 * G_DEBUG=fatal-criticals' SIGTRAP).  libxml2's own error chatter about the
 * malformed input is expected and silenced. */
#include <glib.h>
#include <libxml/xmlerror.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void
abort_on_glib_complaint(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  (void) data;
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) == 0)
    return;
  fprintf(stderr, "%s: %s\n", domain ? domain : "glib", message);
  abort();
}

static void
silence_xml(void *ctx, const char *msg, ...)
{
  (void) ctx, (void) msg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void) argc, (void) argv;
  g_log_set_default_handler(abort_on_glib_complaint, NULL);
  xmlSetGenericErrorFunc(NULL, silence_xml);
  return 0;
}
