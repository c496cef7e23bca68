/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What `iommuctl run` needs from libvirt beyond the engine's open/convert
 * (src/qemu/engine-run.c): a lifecycle callback, start, graceful shutdown,
 * destroy, through the engine's libvirt functions (libiommuctl does not
 * link against libvirt). */
#pragma once

#include <glib.h>
#include "qemu/engine.h"

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

/* A connection of run's own to the engine's URI (the embedded driver is
 * one per process and root, so it is the engine's driver, and the engine
 * runs libvirt's event loop).  Freeing it destroys the domain when it
 * still runs, then closes the connection; the engine must outlive it. */
IcRunVirt *ic_run_virt_open(const IcQemuEngine *engine, GError **error);
void ic_run_virt_free(IcRunVirt *rv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcRunVirt, ic_run_virt_free)

/* Register the lifecycle callback for the domain called name, then
 * virDomainCreateXML(xml), not paused.  libvirt's refusal is
 * IC_ERROR_FAILED with libvirt's message. */
gboolean ic_run_virt_start(IcRunVirt *rv, const char *name, const char *xml, GError **error);
/* The running domain's id (-1 when unknown). */
int ic_run_virt_domain_id(IcRunVirt *rv);
/* Started and not shut off (running, paused, crashed and kept). */
gboolean ic_run_virt_active(IcRunVirt *rv);

/* NONE while it runs.  Uses the event when one came; otherwise asks libvirt
 * (virDomainGetState; a transient domain that is gone is OTHER). */
IcRunStop ic_run_virt_stopped(IcRunVirt *rv, gboolean poll_state);

gboolean ic_run_virt_shutdown(IcRunVirt *rv, GError **error);
gboolean ic_run_virt_destroy(IcRunVirt *rv, GError **error);

G_END_DECLS
