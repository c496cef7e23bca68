/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Every libvirt function iommuctl calls, as typed pointers (types from
 * libvirt's own headers, through __typeof__), filled once per engine by
 * src/qemu/engine.c when it loads libvirt with GModule; `run`
 * (engine-run.c) calls through the engine's table. */
#pragma once

#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

struct IcLibvirtSyms {
#define SYM(name) __typeof__(name) *name
  SYM(virGetVersion);
  SYM(virInitialize);
  SYM(virSetErrorFunc);
  SYM(virGetLastError);
  SYM(virGetLastErrorMessage);
  SYM(virResetLastError);
  SYM(virConnectOpen);
  SYM(virConnectClose);
  SYM(virConnSetErrorFunc);
  SYM(virConnectDomainXMLToNative);
  SYM(virConnectDomainEventRegisterAny);
  SYM(virConnectDomainEventDeregisterAny);
  SYM(virDomainCreateXML);
  SYM(virDomainResume);
  SYM(virDomainShutdown);
  SYM(virDomainDestroy);
  SYM(virDomainFree);
  SYM(virDomainIsActive);
  SYM(virDomainGetName);
  SYM(virDomainGetID);
  SYM(virDomainGetState);
  SYM(virEventRegisterDefaultImpl);
  SYM(virEventRunDefaultImpl);
  SYM(virDomainQemuMonitorCommand); /* from libvirt-qemu.so.0 */
#undef SYM
};
