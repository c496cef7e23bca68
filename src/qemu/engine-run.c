/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt calls `iommuctl run` needs beyond the engine's (run-virt.h):
 * a connection of its own to the engine's URI (the embedded driver is one
 * per process and root, so it is the same driver the engine opened, and its
 * event loop is the engine's), lifecycle events, start, shutdown, destroy,
 * through the engine's table of libvirt functions (qemu/libvirt-syms.h).
 * Types and constants come from libvirt's header. */
#include "run-virt.h"
#include "qemu/libvirt-syms.h"
#include <iommuctl/error.h>

#include <string.h>

static const char *
last_error(const IcLibvirtSyms *v)
{
  const char *m = v->virGetLastErrorMessage();
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

/* What the lifecycle callback reads and writes.  libvirt runs the callback
 * on its event loop thread without its own lock held, and a deregistration
 * that meets a callback in flight only marks it, calling the free function
 * once the callback has returned: so this is reference counted, one
 * reference held by libvirt's registration, and outlives the IcRunVirt that
 * made it when a stop event is being delivered as the domain is destroyed. */
typedef struct {
  const IcLibvirtSyms *v; /* the engine's */
  GMutex lock;
  char *name;     /* the domain's name, to match events (registered before it exists) */
  IcRunStop stop; /* what the lifecycle callback saw */
} RunEvents;

static void
run_events_clear(gpointer p)
{
  RunEvents *e = p;
  g_mutex_clear(&e->lock);
  g_free(e->name);
}

static void
run_events_release(void *p)
{
  g_atomic_rc_box_release_full(p, run_events_clear);
}

static void
run_events_set_name(RunEvents *e, const char *name)
{
  g_mutex_lock(&e->lock);
  g_free(e->name);
  e->name = g_strdup(name);
  g_mutex_unlock(&e->lock);
}

struct IcRunVirt {
  const IcLibvirtSyms *v; /* the engine's */
  virConnectPtr conn;
  virDomainPtr dom;
  int callback_id;      /* -1: none */
  RunEvents *events;    /* our reference */
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
  RunEvents *e = opaque;
  const char *name = e->v->virDomainGetName(dom);
  IcRunStop stop = stop_from_event(event, detail);
  g_mutex_lock(&e->lock);
  /* the first stop is the reason: a crash followed by our destroy is a crash */
  if (name != NULL && g_strcmp0(name, e->name) == 0 && stop != IC_RUN_STOP_NONE && e->stop == IC_RUN_STOP_NONE)
    e->stop = stop;
  g_mutex_unlock(&e->lock);
  return 0;
}

IcRunVirt *
ic_run_virt_open(const IcQemuEngine *engine, GError **error)
{
  const IcLibvirtSyms *v = ic_qemu_engine_libvirt(engine);
  const char *uri = ic_qemu_engine_uri(engine);
  virConnectPtr conn = v->virConnectOpen(uri);
  if (conn == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "libvirt: cannot open %s: %s", uri, last_error(v));
    return NULL;
  }
  IcRunVirt *rv = g_new0(IcRunVirt, 1);
  rv->v = v;
  rv->conn = conn;
  rv->callback_id = -1;
  rv->events = g_atomic_rc_box_new0(RunEvents);
  rv->events->v = v;
  g_mutex_init(&rv->events->lock);
  return rv;
}

gboolean ic_run_virt_active(IcRunVirt *rv);

void
ic_run_virt_free(IcRunVirt *rv)
{
  if (rv == NULL)
    return;
  if (rv->callback_id >= 0)
    rv->v->virConnectDomainEventDeregisterAny(rv->conn, rv->callback_id);
  if (rv->dom != NULL) {
    /* nothing run started outlives it: libvirt daemonizes QEMU */
    if (ic_run_virt_active(rv))
      rv->v->virDomainDestroy(rv->dom);
    rv->v->virDomainFree(rv->dom);
  }
  rv->v->virConnectClose(rv->conn);
  run_events_release(rv->events);
  g_free(rv);
}

gboolean
ic_run_virt_start(IcRunVirt *rv, const char *name, const char *xml, GError **error)
{
  run_events_set_name(rv->events, name);
  /* registered before the start: a guest that stops at once is not missed;
   * the registration holds a reference, dropped by libvirt (not on failure) */
  RunEvents *ref = g_atomic_rc_box_acquire(rv->events);
  rv->callback_id = rv->v->virConnectDomainEventRegisterAny(rv->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                            VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), ref,
                                                            run_events_release);
  if (rv->callback_id < 0) {
    run_events_release(ref);
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "cannot register libvirt's lifecycle callback: %s", last_error(rv->v));
    return FALSE;
  }
  /* no VIR_DOMAIN_START_AUTODESTROY: libvirt 9.0's embedded driver refuses
   * it ("Domain autodestroy not supported for embedded drivers yet") and the
   * test driver has no such flag; ic_run_virt_free destroys instead */
  rv->dom = rv->v->virDomainCreateXML(rv->conn, xml, 0);
  if (rv->dom == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "libvirt did not start the domain: %s", last_error(rv->v));
    return FALSE;
  }
  /* libvirt may have normalised the name; events carry its spelling */
  const char *actual = rv->v->virDomainGetName(rv->dom);
  if (actual != NULL && g_strcmp0(actual, name) != 0)
    run_events_set_name(rv->events, actual);
  return TRUE;
}

int
ic_run_virt_domain_id(IcRunVirt *rv)
{
  return rv->dom ? (int) rv->v->virDomainGetID(rv->dom) : -1;
}

gboolean
ic_run_virt_active(IcRunVirt *rv)
{
  int state = 0, reason = 0;
  return rv->dom != NULL && rv->v->virDomainGetState(rv->dom, &state, &reason, 0) == 0 && state != VIR_DOMAIN_SHUTOFF;
}

IcRunStop
ic_run_virt_stopped(IcRunVirt *rv, gboolean poll_state)
{
  g_mutex_lock(&rv->events->lock);
  IcRunStop stop = rv->events->stop;
  g_mutex_unlock(&rv->events->lock);
  if (stop != IC_RUN_STOP_NONE || !poll_state || rv->dom == NULL)
    return stop;
  /* the fallback when an event was lost: a transient domain that stopped
   * is gone, and asking for its state fails */
  int state = 0, reason = 0;
  if (rv->v->virDomainGetState(rv->dom, &state, &reason, 0) < 0)
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
  if (rv->dom != NULL && rv->v->virDomainShutdown(rv->dom) == 0)
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "virDomainShutdown: %s", last_error(rv->v));
  return FALSE;
}

gboolean
ic_run_virt_destroy(IcRunVirt *rv, GError **error)
{
  if (rv->dom == NULL || rv->v->virDomainDestroy(rv->dom) == 0)
    return TRUE;
  /* already gone is what we wanted */
  if (!ic_run_virt_active(rv))
    return TRUE;
  g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "virDomainDestroy: %s", last_error(rv->v));
  return FALSE;
}
