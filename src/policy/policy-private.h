/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal helpers of the policy module. */
#pragma once

#include <iommuctl/iommuctl.h>
#include <iommuctl/policy.h>
#include "util/ic-util.h"

G_BEGIN_DECLS

gboolean ic_policy_arch_is_x86(const char *arch);

/* oslo strutils.bool_from_string words: 1 true, 0 false, -1 neither. */
int ic_policy_oslo_bool(const char *value);
/* strict: Nova's extra-spec validator text on a bad word; non-strict:
 * unknown words are False, as oslo's default. */
gboolean ic_policy_flavor_bool(const char *key, const char *value, gboolean strict,
                               gboolean *out, GError **error);

gboolean ic_policy_version_from_output(const char *output, guint64 *out);

/* Host IOMMU facts (iommufd, interrupt remapping, address width,
 * assignable groups) through the host layer; leaves them unknown (-1/0)
 * when the host layer cannot tell. */
void ic_policy_host_probe_iommu(IcContext *ctx, IcPolicyHost *host);

/* [libvirt]virt_type: given, else the domain's type, else kvm. */
const char *ic_policy_virt_type(const IcPolicyInput *in);

/* Record a Nova fault on the decision and in *error. */
void ic_policy_fault(IcPolicyDecision *d, GError **error, int code, const char *exception,
                     const char *stage, int http, const char *fmt, ...) G_GNUC_PRINTF(7, 8);

/* Nova's minimum libvirt versions (nova/virt/libvirt/driver.py). */
#define IC_MIN_LIBVIRT_VIOMMU_VIRTIO IC_POLICY_VERSION(8, 3, 0)
#define IC_MIN_LIBVIRT_VIOMMU_AW_BITS IC_POLICY_VERSION(6, 5, 0)
/* QEMU 6.1 added bypass_iommu / default_bus_bypass_iommu. */
#define IC_MIN_QEMU_IOMMU_BYPASS IC_POLICY_VERSION(6, 1, 0)

G_END_DECLS
