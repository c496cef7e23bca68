/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Config-space parsing: everything the inventory needs from one read of the
 * `config` file.  Every offset is bounds-checked against what was read, and
 * capability walks are bounded, so a garbage image yields notes, not crashes. */
#include "host/host-private.h"

enum {
  CFG_STATUS = 0x06, CFG_REVISION = 0x08, CFG_HEADER_TYPE = 0x0e,
  CFG_CAP_PTR = 0x34, CFG_CARDBUS_CAP_PTR = 0x14,
  STATUS_CAP_LIST = 0x10,
  CAP_ID_PM = 0x01, CAP_ID_EXP = 0x10, CAP_ID_AF = 0x13,
  EXT_CAP_ACS = 0x0d, EXT_CAP_SRIOV = 0x10,
};

static guint16
rd16(const guint8 *c, gsize off)
{
  return (guint16) (c[off] | (c[off + 1] << 8));
}

static guint32
rd32(const guint8 *c, gsize off)
{
  return (guint32) c[off] | ((guint32) c[off + 1] << 8) | ((guint32) c[off + 2] << 16) |
         ((guint32) c[off + 3] << 24);
}

static void
parse_pcie_cap(IcPciDevice *dev, const guint8 *cfg, gsize len, gsize pos)
{
  if (pos + 0x14 > len) {
    ic_pci_device_note(dev, "PCIe capability at 0x%zx runs past the end of config", pos);
    return;
  }
  guint16 flags = rd16(cfg, pos + 2);
  dev->pcie_type = (IcPcieType) ((flags >> 4) & 0xf);
  guint32 devcap = rd32(cfg, pos + 4);
  if (devcap & (1u << 28))
    dev->reset_caps |= IC_RESET_CAP_FLR;
  /* root-complex integrated endpoints and event collectors have no link */
  if (dev->pcie_type != IC_PCIE_RC_INTEGRATED_ENDPOINT && dev->pcie_type != IC_PCIE_RC_EVENT_COLLECTOR) {
    guint32 linkcap = rd32(cfg, pos + 0x0c);
    guint16 linksta = rd16(cfg, pos + 0x12);
    dev->link_cap_speed = linkcap & 0xf;
    dev->link_cap_width = (linkcap >> 4) & 0x3f;
    dev->link_port = (guint8) (linkcap >> 24);
    dev->link_sta_speed = linksta & 0xf;
    dev->link_sta_width = (linksta >> 4) & 0x3f;
  }
}

static void
parse_caps(IcPciDevice *dev, const guint8 *cfg, gsize len)
{
  if (!(rd16(cfg, CFG_STATUS) & STATUS_CAP_LIST))
    return;
  gsize pos = cfg[dev->header_type == IC_HEADER_CARDBUS ? CFG_CARDBUS_CAP_PTR : CFG_CAP_PTR] & ~3u;
  /* at most 48 capabilities fit in 192 bytes; more means a loop */
  for (int guard = 0; pos >= 0x40 && guard < 48; guard++) {
    if (pos + 2 > len) {
      if (len > 64)
        ic_pci_device_note(dev, "capability pointer 0x%zx is outside the %zu bytes read", pos, len);
      return;
    }
    guint8 id = cfg[pos];
    if (id == 0xff)
      return;
    if (id == CAP_ID_EXP) {
      parse_pcie_cap(dev, cfg, len, pos);
    } else if (id == CAP_ID_PM && pos + 6 <= len) {
      /* PMCSR NO_SOFT_RESET clear: a D3hot->D0 transition resets the function */
      if (!(rd16(cfg, pos + 4) & 0x0008))
        dev->reset_caps |= IC_RESET_CAP_PM;
    } else if (id == CAP_ID_AF && pos + 4 <= len) {
      if (cfg[pos + 3] & 0x02)
        dev->reset_caps |= IC_RESET_CAP_AF_FLR;
    }
    pos = cfg[pos + 1] & ~3u;
    if (guard == 47 && pos >= 0x40)
      ic_pci_device_note(dev, "capability list loops; stopped after 48 entries");
  }
}

static void
parse_ext_caps(IcPciDevice *dev, const guint8 *cfg, gsize len)
{
  gsize pos = 0x100;
  /* (4096 - 256) / 4 headers at most */
  for (int guard = 0; pos >= 0x100 && pos + 4 <= len && guard < 960; guard++) {
    guint32 hdr = rd32(cfg, pos);
    if (hdr == 0 || hdr == 0xffffffffu)
      return;
    guint16 id = hdr & 0xffff;
    if (id == EXT_CAP_ACS && pos + 8 <= len) {
      dev->has_acs = TRUE;
      dev->acs_cap = rd16(cfg, pos + 4);
      dev->acs_ctrl = rd16(cfg, pos + 6);
    } else if (id == EXT_CAP_SRIOV && pos + 0x18 <= len) {
      dev->sriov_capable = TRUE;
      dev->sriov_totalvfs = rd16(cfg, pos + 0x0e);
      dev->sriov_numvfs = rd16(cfg, pos + 0x10);
      dev->sriov_vf_offset = rd16(cfg, pos + 0x14);
      dev->sriov_vf_stride = rd16(cfg, pos + 0x16);
    }
    pos = (hdr >> 20) & 0xffc;
    if (guard == 959 && pos >= 0x100)
      ic_pci_device_note(dev, "extended capability list loops; stopped");
  }
}

void
ic_host_parse_config(IcPciDevice *dev, const guint8 *cfg, gsize len)
{
  if (len < 64)
    return;
  if (rd16(cfg, 0) == 0xffff && rd16(cfg, 2) == 0xffff && dev->physfn == NULL) {
    /* VFs read vendor 0xffff but keep a valid header; all-ones means gone */
    if (cfg[CFG_HEADER_TYPE] == 0xff) {
      ic_pci_device_note(dev, "config space reads all ones (device gone or powered off)");
      return;
    }
  }
  dev->config_readable = TRUE;
  dev->config_size = len;
  dev->has_cap_list = (rd16(cfg, CFG_STATUS) & STATUS_CAP_LIST) != 0;
  dev->config_extended = len >= 4096;
  dev->revision = cfg[CFG_REVISION];
  guint8 ht = cfg[CFG_HEADER_TYPE];
  dev->multifunction = (ht & 0x80) != 0;
  switch (ht & 0x7f) {
  case 0: dev->header_type = IC_HEADER_ENDPOINT; break;
  case 1: dev->header_type = IC_HEADER_BRIDGE; break;
  case 2: dev->header_type = IC_HEADER_CARDBUS; break;
  default:
    ic_pci_device_note(dev, "unknown config header type 0x%02x", ht & 0x7f);
    dev->header_type = IC_HEADER_UNKNOWN;
    return;
  }
  parse_caps(dev, cfg, len);
  if (len > 0x100)
    parse_ext_caps(dev, cfg, len);
}
