/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RLIMIT_MEMLOCK a guest needs: libvirt's formula (qemuDomainGetMemLockLimitBytes)
 * and iommuctl's estimate, which knows that iommufd shares one IOAS. */
#include "domain/domain-private.h"

#include <string.h>

void
ic_memlock_report_clear(IcMemlockReport *r)
{
  g_clear_pointer(&r->libvirt_why, g_free);
  g_clear_pointer(&r->estimate_why, g_free);
}

static guint
count_vfio(const IcDomainDef *def, guint *n_iommufd)
{
  guint n = 0;
  *n_iommufd = 0;
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = g_ptr_array_index(def->hostdevs, i);
    if (h->type != NULL && (strcmp(h->type, "pci") == 0 || strcmp(h->type, "mdev") == 0)) {
      n++;
      *n_iommufd += h->iommufd == IC_TRI_ON;
    }
  }
  return n;
}

static guint
count_nvme(const IcDomainDef *def)
{
  guint n = 0;
  for (guint i = 0; i < def->disks->len; i++) {
    const IcDomainDisk *d = g_ptr_array_index(def->disks, i);
    xmlNodePtr src = ic_xml_child(d->base.node, "source");
    xmlChar *st = src != NULL ? xmlGetNoNsProp(src, (const xmlChar *) "type") : NULL;
    if ((d->type != NULL && strcmp(d->type, "nvme") == 0) || (st != NULL && strcmp((char *) st, "nvme") == 0))
      n++;
    xmlFree(st);
  }
  return n;
}

static guint
count_vdpa(const IcDomainDef *def)
{
  guint n = 0;
  for (guint i = 0; i < def->interfaces->len; i++) {
    const IcDomainInterface *f = g_ptr_array_index(def->interfaces, i);
    n += f->type != NULL && strcmp(f->type, "vdpa") == 0;
  }
  for (guint i = 0; i < def->disks->len; i++) {
    const IcDomainDisk *d = g_ptr_array_index(def->disks, i);
    n += d->type != NULL && strcmp(d->type, "vhostvdpa") == 0;
  }
  return n;
}

/* libvirt's virDomainDefGetMemoryTotal: <memory> (maxMemory does not count) */
static guint64
memory_total_kib(const IcDomainDef *def)
{
  return def->memory_kib;
}

gboolean
ic_domain_memlock(const IcDomainDef *def, guint64 host_ram_bytes, IcMemlockReport *out, GError **error)
{
  memset(out, 0, sizeof *out);
  if (def->kind != IC_DOMAIN_DOC_DOMAIN) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "memlock needs a <domain> document");
    return FALSE;
  }
  out->host_ram_bytes = host_ram_bytes;
  guint n_iommufd = 0;
  guint nvfio = count_vfio(def, &n_iommufd);
  guint nnvme = count_nvme(def);
  guint nvdpa = count_vdpa(def);
  gboolean viommu = def->iommus->len > 0;
  guint64 mem_kib = memory_total_kib(def);
  const guint64 gib_kib = 1024 * 1024;

  /* libvirt, in its order */
  if (def->has_hard_limit) {
    out->libvirt_bytes = def->hard_limit_kib << 10;
    out->libvirt_why = g_strdup_printf("<memtune><hard_limit> is set: libvirt uses it (%" G_GUINT64_FORMAT " KiB)",
                                       def->hard_limit_kib);
  } else if (def->locked) {
    out->libvirt_unlimited = TRUE;
    out->libvirt_why = g_strdup("<memoryBacking><locked/>: all guest memory is locked, the limit is unlimited");
  } else if (nvfio || nnvme || nvdpa) {
    guint64 factor = nvdpa + nnvme + (nvfio ? (viommu ? nvfio : 1) : 0);
    out->libvirt_bytes = (factor * mem_kib + gib_kib) << 10;
    out->libvirt_why = g_strdup_printf(
      "%" G_GUINT64_FORMAT " x guest RAM (%" G_GUINT64_FORMAT " KiB) + 1 GiB: %u VFIO device(s)%s, %u NVMe disk(s), "
      "%u vDPA device(s)", factor, mem_kib, nvfio,
      nvfio && viommu ? " each with its own address space under the vIOMMU" : (nvfio ? " sharing one container" : ""),
      nnvme, nvdpa);
  } else {
    out->libvirt_why = g_strdup("no VFIO, NVMe or vDPA device: libvirt sets no limit");
  }

  /* iommuctl's estimate: the pinning really needed.  Without a vIOMMU all
   * VFIO devices share one container (RAM pinned once).  With a vIOMMU each
   * legacy-VFIO device has its own container and may pin all RAM; iommufd
   * devices share one IOAS and the pages are accounted once. */
  if (def->locked) {
    out->estimate_unlimited = TRUE;
    out->estimate_why = g_strdup("all guest memory is locked (<locked/>): unlimited");
  } else if (nvfio || nnvme || nvdpa) {
    guint legacy = nvfio - n_iommufd;
    guint64 vfio_factor = 0;
    if (nvfio) {
      if (!viommu)
        vfio_factor = 1;
      else
        vfio_factor = legacy + (n_iommufd ? 1 : 0);
    }
    guint64 factor = vfio_factor + nnvme + nvdpa;
    out->estimate_bytes = (factor * mem_kib + gib_kib) << 10;
    out->estimate_why = g_strdup_printf(
      "%" G_GUINT64_FORMAT " x guest RAM + 1 GiB MMIO allowance: %s%u NVMe, %u vDPA", factor,
      !nvfio ? "" : !viommu ? "VFIO devices share one container, " :
      n_iommufd ? "iommufd devices share one IOAS, legacy VFIO devices one container each, " :
                  "one container per VFIO device under the vIOMMU, ",
      nnvme, nvdpa);
  } else {
    out->estimate_why = g_strdup("nothing pins guest memory");
  }
  if (def->has_hard_limit && !def->locked) {
    /* the user's limit is what QEMU gets: say whether it is enough */
    guint64 need = out->estimate_bytes;
    if (need > out->libvirt_bytes) {
      char *w = g_strdup_printf("%s; the hard_limit is below it: VFIO mapping may fail with ENOMEM", out->estimate_why);
      g_free(out->estimate_why);
      out->estimate_why = w;
    }
  }
  if (host_ram_bytes != 0)
    out->exceeds_host_ram = (!out->libvirt_unlimited && out->libvirt_bytes > host_ram_bytes) ||
                            (!out->estimate_unlimited && out->estimate_bytes > host_ram_bytes);
  return TRUE;
}
