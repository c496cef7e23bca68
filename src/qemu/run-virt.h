/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What `iommuctl run` needs from libvirt beyond the engine's open/convert
 * (src/qemu/engine-run.c): a lifecycle callback, start, graceful shutdown,
 * destroy.  libvirt is loaded through GModule, as
 * the engine loads it, so libiommuctl does not link against it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Why the domain is no longer running, from libvirt's lifecycle event
 * (VIR_DOMAIN_EVENT_STOPPED_* / CRASHED) or, when no event came, the state
 * poll. */
typedef enum {
  IC_RUN_STOP_NONE = 0,   /* still running */
  IC_RUN_STOP_SHUTDOWN,   /* the guest powered off (or obeyed our shutdown) */
  IC_RUN_STOP_DESTROYED,  /* virDomainDestroy: ours, or someone else's */
  IC_RUN_STOP_CRASHED,    /* the guest crashed */
  IC_RUN_STOP_FAILED,     /* QEMU died or libvirt lost it */
  IC_RUN_STOP_OTHER,      /* saved, migrated, ... or gone without an event */
} IcRunStop;

const char *ic_run_stop_to_string(IcRunStop stop);

typedef struct IcRunVirt IcRunVirt;

/* A connection of run's own to uri (ic_qemu_engine_uri: open the engine
 * first, which also runs libvirt's event loop).  Freeing it closes the
 * connection, which destroys a domain started with autodestroy. */
IcRunVirt *ic_run_virt_open(const char *uri, GError **error);
void ic_run_virt_free(IcRunVirt *rv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcRunVirt, ic_run_virt_free)

/* libvirt's test driver (test:///...): "runs" domains without QEMU and has
 * no VIR_DOMAIN_START_AUTODESTROY. */
gboolean ic_run_virt_is_test_driver(IcRunVirt *rv);

/* Register the lifecycle callback for the domain called name, then
 * virDomainCreateXML(xml) (not
 * paused; AUTODESTROY when autodestroy: closing the connection kills QEMU).
 * libvirt's refusal is IC_ERROR_FAILED with libvirt's message. */
gboolean ic_run_virt_start(IcRunVirt *rv, const char *name, const char *xml, gboolean autodestroy, GError **error);
/* The running domain's id ("-1" when unknown) and its XML as libvirt holds it. */
int ic_run_virt_domain_id(IcRunVirt *rv);
char *ic_run_virt_domain_xml(IcRunVirt *rv);

/* NONE while it runs.  Uses the event when one came; otherwise asks libvirt
 * (virDomainGetState; a transient domain that is gone is OTHER). */
IcRunStop ic_run_virt_stopped(IcRunVirt *rv, gboolean poll_state);

gboolean ic_run_virt_shutdown(IcRunVirt *rv, GError **error);
gboolean ic_run_virt_destroy(IcRunVirt *rv, GError **error);

G_END_DECLS
