/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt calls `iommuctl run` needs beyond the engine's (run-virt.h):
 * a connection of its own to the engine's URI (the embedded driver is one
 * per process and root, so it is the same driver the engine opened, and its
 * event loop is the engine's), lifecycle events, start, shutdown, destroy.
 * libvirt is resolved through GModule like the engine does it: the same
 * library handle (dlopen refcounts it), so libiommuctl keeps no link-time
 * dependency on libvirt.  Types and constants come from libvirt's header. */
#include "run-virt.h"
#include <iommuctl/error.h>

#include <gmodule.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

#define LIBVIRT_SONAME "libvirt.so.0"

/* Every libvirt function run calls, resolved once. */
typedef struct {
  virConnectPtr (*connect_open)(const char *);
  int (*connect_close)(virConnectPtr);
  int (*event_register_any)(virConnectPtr, virDomainPtr, int, virConnectDomainEventGenericCallback, void *,
                            virFreeCallback);
  int (*event_deregister_any)(virConnectPtr, int);
  virDomainPtr (*create_xml)(virConnectPtr, const char *, unsigned int);
  int (*shutdown)(virDomainPtr);
  int (*destroy)(virDomainPtr);
  int (*free)(virDomainPtr);
  int (*get_state)(virDomainPtr, int *, int *, unsigned int);
  unsigned int (*get_id)(virDomainPtr);
  const char *(*get_name)(virDomainPtr);
  const char *(*last_error_message)(void);
} VirtSyms;

static VirtSyms syms;
static GModule *libvirt_module;

static gboolean
resolve(const char *name, gpointer *slot, GError **error)
{
  if (g_module_symbol(libvirt_module, name, slot) && *slot != NULL)
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED, "%s lacks %s: %s", LIBVIRT_SONAME, name, g_module_error());
  return FALSE;
}

static gboolean
load_syms(GError **error)
{
  static gsize done = 0;
  static gboolean ok = FALSE;
  static char *why = NULL;
  if (g_once_init_enter(&done)) {
    GError *e = NULL;
    libvirt_module = g_module_open(LIBVIRT_SONAME, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
    if (libvirt_module == NULL) {
      why = g_strdup_printf("cannot load %s (install libvirt0): %s", LIBVIRT_SONAME, g_module_error());
    } else {
      g_module_make_resident(libvirt_module);
      ok = resolve("virConnectOpen", (gpointer *) &syms.connect_open, &e) &&
           resolve("virConnectClose", (gpointer *) &syms.connect_close, &e) &&
           resolve("virConnectDomainEventRegisterAny", (gpointer *) &syms.event_register_any, &e) &&
           resolve("virConnectDomainEventDeregisterAny", (gpointer *) &syms.event_deregister_any, &e) &&
           resolve("virDomainCreateXML", (gpointer *) &syms.create_xml, &e) &&
           resolve("virDomainShutdown", (gpointer *) &syms.shutdown, &e) &&
           resolve("virDomainDestroy", (gpointer *) &syms.destroy, &e) &&
           resolve("virDomainFree", (gpointer *) &syms.free, &e) &&
           resolve("virDomainGetState", (gpointer *) &syms.get_state, &e) &&
           resolve("virDomainGetID", (gpointer *) &syms.get_id, &e) &&
           resolve("virDomainGetName", (gpointer *) &syms.get_name, &e) &&

           resolve("virGetLastErrorMessage", (gpointer *) &syms.last_error_message, &e);
      if (!ok)
        why = g_strdup(e->message);
      g_clear_error(&e);
    }
    g_once_init_leave(&done, 1);
  }
  if (!ok)
    g_set_error_literal(error, IC_ERROR, IC_ERROR_UNSUPPORTED, why);
  return ok;
}

static const char *
last_error(void)
{
  const char *m = syms.last_error_message ? syms.last_error_message() : NULL;
  return m ? m : "unknown libvirt error";
}

const char *
ic_run_stop_to_string(IcRunStop stop)
{
  switch (stop) {
  case IC_RUN_STOP_NONE: return "running";
  case IC_RUN_STOP_SHUTDOWN: return "shut down";
  case IC_RUN_STOP_DESTROYED: return "destroyed";
  case IC_RUN_STOP_CRASHED: return "crashed";
  case IC_RUN_STOP_FAILED: return "failed (QEMU died or libvirt lost it)";
  case IC_RUN_STOP_OTHER: return "stopped";
  }
  return "stopped";
}

/* ---- one domain ------------------------------------------------------------ */

struct IcRunVirt {
  virConnectPtr conn;
  virDomainPtr dom;
  char *name;           /* the domain's name, to match events (registered before it exists) */
  int callback_id;      /* -1: none */
  GMutex lock;
  IcRunStop event_stop; /* what the lifecycle callback saw */
};

static IcRunStop
stop_from_event(int event, int detail)
{
  if (event == VIR_DOMAIN_EVENT_CRASHED)
    return IC_RUN_STOP_CRASHED;
  if (event != VIR_DOMAIN_EVENT_STOPPED)
    return IC_RUN_STOP_NONE;
  switch (detail) {
  case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: return IC_RUN_STOP_SHUTDOWN;
  case VIR_DOMAIN_EVENT_STOPPED_DESTROYED: return IC_RUN_STOP_DESTROYED;
  case VIR_DOMAIN_EVENT_STOPPED_CRASHED: return IC_RUN_STOP_CRASHED;
  case VIR_DOMAIN_EVENT_STOPPED_FAILED: return IC_RUN_STOP_FAILED;
  default: return IC_RUN_STOP_OTHER;
  }
}

static int
on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
  (void) conn;
  IcRunVirt *rv = opaque;
  const char *name = syms.get_name(dom);
  IcRunStop stop = stop_from_event(event, detail);
  g_mutex_lock(&rv->lock);
  /* the first stop is the reason: a crash followed by our destroy is a crash */
  if (name != NULL && g_strcmp0(name, rv->name) == 0 && stop != IC_RUN_STOP_NONE &&
      rv->event_stop == IC_RUN_STOP_NONE)
    rv->event_stop = stop;
  g_mutex_unlock(&rv->lock);
  return 0;
}

IcRunVirt *
ic_run_virt_open(const char *uri, GError **error)
{
  if (!load_syms(error))
    return NULL;
  virConnectPtr conn = syms.connect_open(uri);
  if (conn == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "libvirt: cannot open %s: %s", uri, last_error());
    return NULL;
  }
  IcRunVirt *rv = g_new0(IcRunVirt, 1);
  rv->conn = conn;
  rv->callback_id = -1;
  g_mutex_init(&rv->lock);
  return rv;
}

gboolean ic_run_virt_active(IcRunVirt *rv);

void
ic_run_virt_free(IcRunVirt *rv)
{
  if (rv == NULL)
    return;
  if (rv->callback_id >= 0)
    syms.event_deregister_any(rv->conn, rv->callback_id);
  if (rv->dom != NULL) {
    /* nothing run started outlives it: libvirt daemonizes QEMU */
    if (ic_run_virt_active(rv))
      syms.destroy(rv->dom);
    syms.free(rv->dom);
  }
  syms.connect_close(rv->conn);
  g_mutex_clear(&rv->lock);
  g_free(rv->name);
  g_free(rv);
}

gboolean
ic_run_virt_start(IcRunVirt *rv, const char *name, const char *xml, GError **error)
{
  g_mutex_lock(&rv->lock);
  g_free(rv->name);
  rv->name = g_strdup(name);
  g_mutex_unlock(&rv->lock);
  /* registered before the start: a guest that stops at once is not missed */
  rv->callback_id = syms.event_register_any(rv->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                            VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), rv, NULL);
  if (rv->callback_id < 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "cannot register libvirt's lifecycle callback: %s", last_error());
    return FALSE;
  }
  /* no VIR_DOMAIN_START_AUTODESTROY: libvirt 9.0's embedded driver refuses
   * it ("Domain autodestroy not supported for embedded drivers yet") and the
   * test driver has no such flag; ic_run_virt_free destroys instead */
  rv->dom = syms.create_xml(rv->conn, xml, 0);
  if (rv->dom == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "libvirt did not start the domain: %s", last_error());
    return FALSE;
  }
  /* libvirt may have normalised the name; events carry its spelling */
  const char *actual = syms.get_name(rv->dom);
  if (actual != NULL && g_strcmp0(actual, name) != 0) {
    g_mutex_lock(&rv->lock);
    g_free(rv->name);
    rv->name = g_strdup(actual);
    g_mutex_unlock(&rv->lock);
  }
  return TRUE;
}

int
ic_run_virt_domain_id(IcRunVirt *rv)
{
  return rv->dom ? (int) syms.get_id(rv->dom) : -1;
}

gboolean
ic_run_virt_active(IcRunVirt *rv)
{
  int state = 0, reason = 0;
  return rv->dom != NULL && syms.get_state(rv->dom, &state, &reason, 0) == 0 && state != VIR_DOMAIN_SHUTOFF;
}

IcRunStop
ic_run_virt_stopped(IcRunVirt *rv, gboolean poll_state)
{
  g_mutex_lock(&rv->lock);
  IcRunStop stop = rv->event_stop;
  g_mutex_unlock(&rv->lock);
  if (stop != IC_RUN_STOP_NONE || !poll_state || rv->dom == NULL)
    return stop;
  /* the fallback when an event was lost: a transient domain that stopped
   * is gone, and asking for its state fails */
  int state = 0, reason = 0;
  if (syms.get_state(rv->dom, &state, &reason, 0) < 0)
    return IC_RUN_STOP_OTHER;
  switch (state) {
  case VIR_DOMAIN_SHUTOFF:
    return reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN ? IC_RUN_STOP_SHUTDOWN
         : reason == VIR_DOMAIN_SHUTOFF_DESTROYED ? IC_RUN_STOP_DESTROYED
         : reason == VIR_DOMAIN_SHUTOFF_CRASHED ? IC_RUN_STOP_CRASHED
         : reason == VIR_DOMAIN_SHUTOFF_FAILED ? IC_RUN_STOP_FAILED : IC_RUN_STOP_OTHER;
  case VIR_DOMAIN_CRASHED:
    return IC_RUN_STOP_CRASHED;
  default:
    return IC_RUN_STOP_NONE;
  }
}

gboolean
ic_run_virt_shutdown(IcRunVirt *rv, GError **error)
{
  if (rv->dom != NULL && syms.shutdown(rv->dom) == 0)
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "virDomainShutdown: %s", last_error());
  return FALSE;
}

gboolean
ic_run_virt_destroy(IcRunVirt *rv, GError **error)
{
  if (rv->dom == NULL || syms.destroy(rv->dom) == 0)
    return TRUE;
  /* already gone is what we wanted */
  if (!ic_run_virt_active(rv))
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "virDomainDestroy: %s", last_error());
  return FALSE;
}
