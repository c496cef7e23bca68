/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The edits: protect (bounce buffers), vIOMMU, split ioapic, locked memory,
 * hostdev.  Each collects splices against the current text, then commits
 * (re-parse + new view), so the document is always consistent. */
#include "domain/domain-private.h"

#include <string.h>

static const char *
doc_name(const IcDomainDoc *doc)
{
  return doc->filename != NULL ? doc->filename : "<input>";
}

/* "<name a='b'/>" with the document's quote character. */
static char *
element_with_attrs(char q, const char *name, const char *const *kv, gboolean close)
{
  GString *s = g_string_new("<");
  g_string_append(s, name);
  for (guint i = 0; kv != NULL && kv[i] != NULL; i += 2)
    g_string_append_printf(s, " %s=%c%s%c", kv[i], q, kv[i + 1], q);
  g_string_append(s, close ? "/>" : ">");
  return g_string_free(s, FALSE);
}

/* ---- protect ------------------------------------------------------------------ */

void
ic_protect_report_init(IcProtectReport *r)
{
  memset(r, 0, sizeof *r);
  r->explicit_off = g_ptr_array_new_with_free_func(g_free);
  r->forced_off = g_ptr_array_new_with_free_func(g_free);
  r->ccw_addresses = g_ptr_array_new_with_free_func(g_free);
  r->notes = g_ptr_array_new_with_free_func(g_free);
  r->refused = g_ptr_array_new_with_free_func(g_free);
}

void
ic_protect_report_clear(IcProtectReport *r)
{
  g_clear_pointer(&r->explicit_off, g_ptr_array_unref);
  g_clear_pointer(&r->forced_off, g_ptr_array_unref);
  g_clear_pointer(&r->ccw_addresses, g_ptr_array_unref);
  g_clear_pointer(&r->notes, g_ptr_array_unref);
  g_clear_pointer(&r->refused, g_ptr_array_unref);
}

static char *
describe(const IcDomainDevice *d)
{
  if (d->model != NULL)
    return g_strdup_printf("%d: %s (%s)", d->line, ic_device_kind_to_string(d->kind), d->model);
  return g_strdup_printf("%d: %s", d->line, ic_device_kind_to_string(d->kind));
}

/* Make a transitional virtio device modern-only so QEMU takes iommu_platform
 * (libvirt maps model='virtio-non-transitional' to QEMU's *-non-transitional). */
static void
switch_to_non_transitional(IcDomainDoc *doc, IcEditBatch *b, const IcDomainDevice *d)
{
  if (d->kind != IC_DEV_INTERFACE) {
    ic_edit_set_attr(b, d->node, "model", "virtio-non-transitional");
    return;
  }
  xmlNodePtr model = ic_xml_child(d->node, "model");
  if (model != NULL) {
    ic_edit_set_attr(b, model, "type", "virtio-non-transitional");
  } else {
    const char *kv[] = {"type", "virtio-non-transitional", NULL};
    g_autofree char *frag = element_with_attrs(ic_domain_quote_near(doc, d->node), "model", kv, TRUE);
    ic_edit_append_child(b, d->node, frag);
  }
}

static void
protect_device(IcDomainDoc *doc, IcEditBatch *b, const IcDomainDevice *d, gboolean force, IcProtectReport *r)
{
  if (d->opts.iommu == IC_TRI_OFF && !force) {
    g_ptr_array_add(r->explicit_off, describe(d));
    return;
  }
  /* protect leaves only domains that start: the rule lint's QM002/QM006 use */
  IcIommuPlatformWhy why;
  IcIommuPlatform verdict = ic_domain_iommu_platform_check(ic_domain_doc_def(doc), d, &why);
  if (verdict == IC_IOMMU_PLATFORM_REFUSED) {
    g_autofree char *what = describe(d);
    g_ptr_array_add(r->refused, g_strdup_printf("%s: %s iommu='on': QEMU refuses it (\"%s\", %s); fix: %s", what,
                                              d->opts.iommu == IC_TRI_ON ? "has" : "not given", why.message,
                                              why.code, why.hint));
    return;
  }
  gboolean switch_model = verdict == IC_IOMMU_PLATFORM_SWITCH_MODEL;
  if (switch_model) {
    g_autofree char *what = describe(d);
    g_ptr_array_add(r->notes, g_strdup_printf("%s: model='virtio-non-transitional': QEMU refuses iommu_platform on "
                                              "the transitional device libvirt picks on conventional PCI", what));
    if (b != NULL)
      switch_to_non_transitional(doc, b, d);
  }
  if (d->opts.iommu == IC_TRI_ON) {
    r->already_on++;
    if (switch_model)
      r->devices_changed++;
    return;
  }
  if (d->opts.iommu == IC_TRI_OFF)
    g_ptr_array_add(r->forced_off, describe(d));
  if (b == NULL) {
    /* dry run: count only */
  } else if (d->opts.driver != NULL) {
    ic_edit_set_attr(b, d->opts.driver, "iommu", "on");
  } else {
    const char *kv[] = {"iommu", "on", NULL};
    g_autofree char *frag = element_with_attrs(ic_domain_quote_near(doc, d->node), "driver", kv, TRUE);
    ic_edit_append_child(b, d->node, frag);
  }
  r->devices_changed++;
}

/* b == NULL: only fill the report (what protect would do). */
static void
protect_walk(IcDomainDoc *doc, IcEditBatch *b, gboolean force, IcProtectReport *r)
{
  const IcDomainDef *def = ic_domain_doc_def(doc);
  for (guint i = 0; i < def->devices->len; i++) {
    const IcDomainDevice *d = g_ptr_array_index(def->devices, i);
    if (d->address.type == IC_ADDR_CCW)
      g_ptr_array_add(r->ccw_addresses, g_strdup_printf("%x.%x.%04x", d->address.cssid, d->address.ssid,
                                                        d->address.devno));
    if (!d->takes_virtio_options)
      continue;
    if (!d->virtio) {
      if (d->kind == IC_DEV_INTERFACE && d->model == NULL &&
          (def->arch == NULL || def->kind != IC_DOMAIN_DOC_DOMAIN))
        g_ptr_array_add(r->notes, g_strdup_printf("%d: interface without <model type='virtio'/>: left alone "
                                                  "(libvirt picks the model by architecture)", d->line));
      if (d->kind == IC_DEV_CONTROLLER && d->model == NULL && def->arch == NULL)
        g_ptr_array_add(r->notes, g_strdup_printf("%d: scsi controller without model: left alone "
                                                  "(virtio-scsi only off x86)", d->line));
      continue;
    }
    if (d->kind == IC_DEV_MEMORY && d->opts.iommu != IC_TRI_ON)
      g_ptr_array_add(r->notes, g_strdup_printf("%d: <driver> on a %s memory device needs libvirt >= 11.9",
                                                d->line, d->model));
    protect_device(doc, b, d, force, r);
  }
  if (def->kind == IC_DOMAIN_DOC_DOMAIN && ic_domain_def_is_s390(def)) {
    /* the rest of IBM's Secure Execution checklist (qemu-ecosystem.md A.7) */
    for (guint i = 0; i < def->devices->len; i++) {
      const IcDomainDevice *d = g_ptr_array_index(def->devices, i);
      if (d->kind == IC_DEV_MEMBALLOON && d->virtio)
        g_ptr_array_add(r->notes, g_strdup_printf("%d: Secure Execution fences ballooning: use <memballoon "
                                                  "model='none'/>", d->line));
    }
    if (def->cmdline != NULL && strstr(def->cmdline, "swiotlb=") == NULL)
      g_ptr_array_add(r->notes, g_strdup(" the guest needs bounce buffers: add swiotlb=262144 (512 MB) to its "
                                         "kernel command line"));
  }
}

void
ic_domain_protect_dry_run(const IcDomainDoc *doc, gboolean force, IcProtectReport *report)
{
  protect_walk((IcDomainDoc *) doc, NULL, force, report);
}

gboolean
ic_domain_protect(IcDomainDoc *doc, gboolean force, IcProtectReport *report, GError **error)
{
  IcProtectReport local;
  IcProtectReport *r = report;
  if (r == NULL) {
    ic_protect_report_init(&local);
    r = &local;
  }
  g_autoptr(IcEditBatch) b = ic_edit_batch_new(doc);
  protect_walk(doc, b, force, r);
  gboolean ok = ic_edit_batch_commit(b, error);
  if (r == &local)
    ic_protect_report_clear(&local);
  return ok;
}

/* ---- features, memoryBacking ------------------------------------------------------- */

/* Append a new top-level element to <domain>. */
static void
append_to_root(IcEditBatch *b, const IcDomainDef *def, const char *fragment)
{
  ic_edit_append_child(b, def->root, fragment);
}

static gboolean
require_domain(const IcDomainDoc *doc, GError **error)
{
  if (ic_domain_doc_def(doc)->kind != IC_DOMAIN_DOC_DOMAIN) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: not a <domain> document", doc_name(doc));
    return FALSE;
  }
  return TRUE;
}

typedef struct {
  const char *name;
  const char *attr;   /* may be NULL */
  const char *value;
} FeatureWant;

/* Make each wanted <features> child exist (with attr=value). */
static void
ensure_features(IcEditBatch *b, IcDomainDoc *doc, const FeatureWant *want, guint n)
{
  const IcDomainDef *def = ic_domain_doc_def(doc);
  char fq = ic_domain_quote_near(doc, def->features != NULL ? def->features : def->root);
  if (def->features == NULL) {
    GString *frag = g_string_new("<features>");
    for (guint i = 0; i < n; i++) {
      const char *kv[] = {want[i].attr, want[i].value, NULL};
      g_autofree char *el = element_with_attrs(fq, want[i].name, want[i].attr != NULL ? kv : NULL, TRUE);
      g_string_append_printf(frag, "\n  %s", el);
    }
    g_string_append(frag, "\n</features>");
    append_to_root(b, def, frag->str);
    g_string_free(frag, TRUE);
    return;
  }
  for (guint i = 0; i < n; i++) {
    xmlNodePtr el = ic_xml_child(def->features, want[i].name);
    if (el != NULL) {
      if (want[i].attr != NULL) {
        xmlChar *cur = xmlGetNoNsProp(el, (const xmlChar *) want[i].attr);
        if (cur == NULL || strcmp((const char *) cur, want[i].value) != 0)
          ic_edit_set_attr(b, el, want[i].attr, want[i].value);
        xmlFree(cur);
      }
      continue;
    }
    const char *kv[] = {want[i].attr, want[i].value, NULL};
    g_autofree char *frag = element_with_attrs(fq, want[i].name, want[i].attr != NULL ? kv : NULL, TRUE);
    ic_edit_append_child(b, def->features, frag);
  }
}

gboolean
ic_domain_ensure_split_ioapic(IcDomainDoc *doc, GError **error)
{
  if (!require_domain(doc, error))
    return FALSE;
  const IcDomainDef *def = ic_domain_doc_def(doc);
  if (!ic_domain_def_is_x86(def)) {
    g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED,
                "%s: <ioapic> is an x86 feature; libvirt rejects it for arch '%s'", doc_name(doc),
                def->arch != NULL ? def->arch : "(none)");
    return FALSE;
  }
  if (def->ioapic_driver != NULL && strcmp(def->ioapic_driver, "qemu") == 0)
    return TRUE;
  g_autoptr(IcEditBatch) b = ic_edit_batch_new(doc);
  FeatureWant w = {"ioapic", "driver", "qemu"};
  ensure_features(b, doc, &w, 1);
  return ic_edit_batch_commit(b, error);
}

static gboolean
memory_backing_has(const IcDomainDef *def, const char *name)
{
  if (def->memory_backing == NULL)
    return FALSE;
  for (xmlNodePtr c = def->memory_backing->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
      return TRUE;
  return FALSE;
}

/* An empty flag child of <memoryBacking> (<locked/>, <nosharepages/>),
 * creating <memoryBacking> when the domain has none. */
static gboolean
ensure_memory_backing_flag(IcDomainDoc *doc, const char *name, GError **error)
{
  if (!require_domain(doc, error))
    return FALSE;
  const IcDomainDef *def = ic_domain_doc_def(doc);
  if (memory_backing_has(def, name))
    return TRUE;
  g_autofree char *flag = g_strdup_printf("<%s/>", name);
  g_autoptr(IcEditBatch) b = ic_edit_batch_new(doc);
  if (def->memory_backing != NULL) {
    ic_edit_append_child(b, def->memory_backing, flag);
  } else {
    g_autofree char *backing = g_strdup_printf("<memoryBacking>\n  %s\n</memoryBacking>", flag);
    append_to_root(b, def, backing);
  }
  return ic_edit_batch_commit(b, error);
}

gboolean
ic_domain_set_locked_memory(IcDomainDoc *doc, GError **error)
{
  return ensure_memory_backing_flag(doc, "locked", error);
}

gboolean
ic_domain_set_nosharepages(IcDomainDoc *doc, GError **error)
{
  return ensure_memory_backing_flag(doc, "nosharepages", error);
}

/* ---- vIOMMU ------------------------------------------------------------------------- */

void
ic_viommu_request_init(IcViommuRequest *req)
{
  memset(req, 0, sizeof *req);
  req->model = IC_VIOMMU_AUTO;
  req->complete = TRUE;
}

gboolean
ic_domain_viommu_resolve_auto(const IcDomainDef *def, guint libvirt_version, IcViommuModel *out, GError **error)
{
  /* nova.md §1.4: machine check by substring, then the auto choice */
  const char *arch = def->arch != NULL ? def->arch : (ic_domain_def_is_x86(def) ? "x86_64" : NULL);
  gboolean x86 = arch != NULL && (strcmp(arch, "x86_64") == 0 || strcmp(arch, "i686") == 0);
  gboolean aarch64 = arch != NULL && strcmp(arch, "aarch64") == 0;
  if (x86) {
    if (def->machine != NULL && strstr(def->machine, "q35") == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT,
                  "vIOMMU is not supported by Current machine type %s (Architecture: %s).", def->machine, arch);
      return FALSE;
    }
  } else if (aarch64) {
    if (def->machine != NULL && strstr(def->machine, "virt") == NULL) {
      g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT,
                  "vIOMMU is not supported by Current machine type %s (Architecture: %s).", def->machine, arch);
      return FALSE;
    }
  } else {
    g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT,
                "vIOMMU required either x86 or AArch64 architecture, but given architecture %s.",
                arch != NULL ? arch : "(unknown)");
    return FALSE;
  }
  if (libvirt_version == 0 || libvirt_version >= 8003000) {
    *out = IC_VIOMMU_VIRTIO;
    /* iommuctl deviation: virtio-iommu needs ACPI, and ACPI on aarch64 needs
     * UEFI; without it the smmuv3 is the vIOMMU that works. */
    if (aarch64 && !def->acpi && def->firmware == NULL && def->loader == NULL)
      *out = IC_VIOMMU_SMMUV3;
  } else if (x86 && def->machine != NULL && strstr(def->machine, "q35") != NULL) {
    *out = IC_VIOMMU_INTEL;
  } else {
    *out = IC_VIOMMU_SMMUV3;
  }
  return TRUE;
}

typedef struct {
  IcTristate intremap, caching_mode, eim, iotlb, dma_translation, passthrough, xtsup;
  guint aw_bits;
} ViommuAttrs;

static void
note(GPtrArray *notes, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void
note(GPtrArray *notes, const char *fmt, ...)
{
  if (notes == NULL)
    return;
  va_list ap;
  va_start(ap, fmt);
  g_ptr_array_add(notes, g_strdup_vprintf(fmt, ap));
  va_end(ap);
}

static gboolean
has_vfio(const IcDomainDef *def)
{
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = g_ptr_array_index(def->hostdevs, i);
    if (h->type != NULL && (strcmp(h->type, "pci") == 0 || strcmp(h->type, "mdev") == 0))
      return TRUE;
  }
  return FALSE;
}

/* Decide the driver attributes for model on this domain. */
static gboolean
choose_attrs(const IcDomainDef *def, IcViommuModel model, const IcViommuRequest *req, ViommuAttrs *a,
             GPtrArray *notes, GError **error)
{
  *a = (ViommuAttrs){req->intremap, req->caching_mode, req->eim, req->iotlb, req->dma_translation,
                     req->passthrough, req->xtsup, req->aw_bits};
  if (model == IC_VIOMMU_SMMUV3 || model == IC_VIOMMU_VIRTIO) {
    if (a->intremap || a->caching_mode || a->eim || a->iotlb || a->dma_translation || a->aw_bits ||
        a->passthrough || a->xtsup)
      note(notes, "model %s takes no <driver> attributes in libvirt: the requested ones are left out",
           ic_viommu_model_to_string(model));
    *a = (ViommuAttrs){0};
    return TRUE;
  }
  if (model == IC_VIOMMU_AMD) {
    if (a->caching_mode || a->eim || a->aw_bits || a->dma_translation)
      note(notes, "amd takes no caching_mode/eim/aw_bits/dma_translation: left out");
    a->caching_mode = a->eim = a->dma_translation = IC_TRI_ABSENT;
    a->aw_bits = 0;
    if (req->complete) {
      if (a->intremap == IC_TRI_ABSENT)
        a->intremap = IC_TRI_ON, note(notes, "intremap='on': interrupt remapping (with <ioapic driver='qemu'/>)");
      if (def->vcpus_max > 255 && a->xtsup == IC_TRI_ABSENT)
        a->xtsup = IC_TRI_ON, note(notes, "xtsup='on': more than 255 vCPUs need x2APIC IRTEs");
    }
    return TRUE;
  }
  /* intel */
  if (a->aw_bits != 0 && a->aw_bits != 39 && a->aw_bits != 48) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "aw_bits %u: QEMU's intel-iommu supports only 39 or 48",
                a->aw_bits);
    return FALSE;
  }
  if (!req->complete)
    return TRUE;
  if (a->intremap == IC_TRI_ABSENT)
    a->intremap = IC_TRI_ON, note(notes, "intremap='on': interrupt remapping (with <ioapic driver='qemu'/>)");
  if (a->caching_mode == IC_TRI_ABSENT && has_vfio(def))
    a->caching_mode = IC_TRI_ON, note(notes, "caching_mode='on': the domain has VFIO hostdevs, which QEMU refuses otherwise");
  if (def->vcpus_max > 255 && a->eim == IC_TRI_ABSENT) {
    a->eim = IC_TRI_ON;
    note(notes, "eim='on': more than 255 vCPUs need extended interrupt mode");
    if (a->intremap == IC_TRI_OFF) {
      g_set_error(error, IC_ERROR, IC_ERROR_CONFLICT, "more than 255 vCPUs need eim, and eim needs intremap='on'");
      return FALSE;
    }
  }
  if (a->aw_bits == 0 && req->host_aw_bits != 0) {
    a->aw_bits = req->host_aw_bits >= 48 ? 48 : 39;
    note(notes, "aw_bits='%u': fits the host IOMMU's %u-bit width", a->aw_bits, req->host_aw_bits);
  }
  return TRUE;
}

static void
add_tri(GPtrArray *kv, const char *name, IcTristate t)
{
  if (t == IC_TRI_ON || t == IC_TRI_OFF) {
    g_ptr_array_add(kv, (gpointer) name);
    g_ptr_array_add(kv, (gpointer) (t == IC_TRI_ON ? "on" : "off"));
  }
}

/* attribute list in libvirt's formatting order */
static GPtrArray *
attr_list(const ViommuAttrs *a, char aw_buf[8])
{
  GPtrArray *kv = g_ptr_array_new();
  add_tri(kv, "intremap", a->intremap);
  add_tri(kv, "caching_mode", a->caching_mode);
  add_tri(kv, "eim", a->eim);
  add_tri(kv, "iotlb", a->iotlb);
  if (a->aw_bits != 0) {
    g_snprintf(aw_buf, 8, "%u", a->aw_bits);
    g_ptr_array_add(kv, (gpointer) "aw_bits");
    g_ptr_array_add(kv, aw_buf);
  }
  add_tri(kv, "dma_translation", a->dma_translation);
  add_tri(kv, "passthrough", a->passthrough);
  add_tri(kv, "xtsup", a->xtsup);
  g_ptr_array_add(kv, NULL);
  return kv;
}

gboolean
ic_domain_viommu_set(IcDomainDoc *doc, const IcViommuRequest *req, GPtrArray *notes, GError **error)
{
  if (!require_domain(doc, error))
    return FALSE;
  const IcDomainDef *def = ic_domain_doc_def(doc);
  IcViommuModel model = req->model;
  if (model == IC_VIOMMU_AUTO) {
    if (!ic_domain_viommu_resolve_auto(def, req->libvirt_version, &model, error))
      return FALSE;
    note(notes, "auto: model %s (Nova's rule for %s/%s)", ic_viommu_model_to_string(model),
         def->arch != NULL ? def->arch : "?", def->machine != NULL ? def->machine : "?");
  }
  if (model == IC_VIOMMU_NONE || model == IC_VIOMMU_UNKNOWN) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "no vIOMMU model given");
    return FALSE;
  }
  ViommuAttrs a;
  if (!choose_attrs(def, model, req, &a, notes, error))
    return FALSE;
  gboolean x86 = ic_domain_def_is_x86(def);
  gboolean want_ioapic = a.intremap == IC_TRI_ON && x86 &&
                         (def->ioapic_driver == NULL || strcmp(def->ioapic_driver, "qemu") != 0);
  /* x86 vIOMMUs are found through ACPI: VIOT (virtio), DMAR (intel), IVRS (amd) */
  gboolean want_acpi = req->complete && !def->acpi && x86 &&
                       (model == IC_VIOMMU_VIRTIO || model == IC_VIOMMU_INTEL || model == IC_VIOMMU_AMD);
  char aw_buf[8];
  g_autoptr(GPtrArray) kv = attr_list(&a, aw_buf);
  const char *const *attrs = (const char *const *) kv->pdata;

  g_autoptr(IcEditBatch) b = ic_edit_batch_new(doc);
  char vq = ic_domain_quote_near(doc, def->devices_node != NULL ? def->devices_node : def->root);
  const IcDomainIommu *first = def->iommus->len > 0 ? g_ptr_array_index(def->iommus, 0) : NULL;
  if (first != NULL && first->model == model) {
    /* same model: edit in place, keeping its address/alias/acpi */
    if (first->driver != NULL) {
      for (guint i = 0; attrs[i] != NULL; i += 2) {
        xmlChar *cur = xmlGetNoNsProp(first->driver, (const xmlChar *) attrs[i]);
        if (cur == NULL || strcmp((const char *) cur, attrs[i + 1]) != 0)
          ic_edit_set_attr(b, first->driver, attrs[i], attrs[i + 1]);
        xmlFree(cur);
      }
      if (a.aw_bits == 0 && model == IC_VIOMMU_INTEL && first->aw_bits != 0 && first->aw_bits != 39 &&
          first->aw_bits != 48) {
        ic_edit_set_attr(b, first->driver, "aw_bits", "48");
        note(notes, "aw_bits='48': %u is not a width QEMU supports", first->aw_bits);
      }
    } else if (attrs[0] != NULL) {
      g_autofree char *drv = element_with_attrs(vq, "driver", attrs, TRUE);
      ic_edit_append_child(b, first->base.node, drv);
    }
  } else {
    const char *mkv[] = {"model", ic_viommu_model_to_string(model), NULL};
    g_autofree char *open = element_with_attrs(vq, "iommu", mkv, attrs[0] == NULL);
    g_autofree char *frag = NULL;
    if (attrs[0] != NULL) {
      g_autofree char *drv = element_with_attrs(vq, "driver", attrs, TRUE);
      frag = g_strdup_printf("%s\n  %s\n</iommu>", open, drv);
    } else {
      frag = g_strdup(open);
    }
    if (first != NULL)
      ic_edit_replace(b, first->base.node, frag);
    else if (def->devices_node != NULL)
      ic_edit_append_child(b, def->devices_node, frag);
    else {
      g_autofree char *devs = g_strdup_printf("<devices>\n  %s\n</devices>", frag);
      append_to_root(b, def, devs);
    }
  }
  for (guint i = 1; i < def->iommus->len; i++) {
    const IcDomainIommu *extra = g_ptr_array_index(def->iommus, i);
    ic_edit_remove(b, extra->base.node);
    note(notes, "removed the extra <iommu> on line %d (one vIOMMU per guest)", extra->base.line);
  }
  FeatureWant w[2];
  guint nw = 0;
  if (want_ioapic)
    w[nw++] = (FeatureWant){"ioapic", "driver", "qemu"}, note(notes, "<ioapic driver='qemu'/>: split irqchip for interrupt remapping");
  if (want_acpi) {
    w[nw++] = (FeatureWant){"acpi", NULL, NULL};
    note(notes, "<acpi/>: the guest finds the vIOMMU through ACPI (%s); without it libvirt turns ACPI off",
         model == IC_VIOMMU_VIRTIO ? "VIOT" : model == IC_VIOMMU_INTEL ? "DMAR" : "IVRS");
  }
  if (nw > 0)
    ensure_features(b, doc, w, nw);
  return ic_edit_batch_commit(b, error);
}

gboolean
ic_domain_viommu_remove(IcDomainDoc *doc, GError **error)
{
  if (!require_domain(doc, error))
    return FALSE;
  const IcDomainDef *def = ic_domain_doc_def(doc);
  g_autoptr(IcEditBatch) b = ic_edit_batch_new(doc);
  for (guint i = 0; i < def->iommus->len; i++)
    ic_edit_remove(b, ((const IcDomainIommu *) g_ptr_array_index(def->iommus, i))->base.node);
  return ic_edit_batch_commit(b, error);
}

/* ---- hostdev ------------------------------------------------------------------------ */

gboolean
ic_domain_hostdev_add(IcDomainDoc *doc, const IcHostdevSpec *spec, GError **error)
{
  if (!require_domain(doc, error))
    return FALSE;
  const IcDomainDef *def = ic_domain_doc_def(doc);
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = g_ptr_array_index(def->hostdevs, i);
    if (h->has_source_pci && ic_pci_addr_equal(&h->source_pci, &spec->addr))
      return TRUE;
  }
  char q = ic_domain_quote_near(doc, def->devices_node != NULL ? def->devices_node : def->root);
  GString *f = g_string_new(NULL);
  g_string_append_printf(f, "<hostdev mode=%csubsystem%c type=%cpci%c managed=%c%s%c>\n", q, q, q, q, q,
                         spec->managed == IC_TRI_OFF ? "no" : "yes", q);
  g_string_append_printf(f, "  <driver name=%cvfio%c", q, q);
  if (spec->driver_model != NULL) {
    /* model names are plain tokens (genericName); anything else is refused */
    for (const char *p = spec->driver_model; *p != '\0'; p++)
      if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.') {
        g_string_free(f, TRUE);
        g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "driver model '%s' is not a driver name", spec->driver_model);
        return FALSE;
      }
    g_string_append_printf(f, " model=%c%s%c", q, spec->driver_model, q);
  }
  if (spec->iommufd == IC_TRI_ON || spec->iommufd == IC_TRI_OFF)
    g_string_append_printf(f, " iommufd=%c%s%c", q, spec->iommufd == IC_TRI_ON ? "yes" : "no", q);
  g_string_append(f, "/>\n  <source>\n");
  g_string_append_printf(f, "    <address domain=%c0x%04x%c bus=%c0x%02x%c slot=%c0x%02x%c function=%c0x%x%c/>\n",
                         q, spec->addr.domain, q, q, spec->addr.bus, q, q, spec->addr.slot, q, q,
                         spec->addr.function, q);
  g_string_append(f, "  </source>\n</hostdev>");
  g_autoptr(IcEditBatch) b = ic_edit_batch_new(doc);
  if (def->devices_node != NULL)
    ic_edit_append_child(b, def->devices_node, f->str);
  else {
    g_autofree char *devs = NULL;
    g_auto(GStrv) lines = g_strsplit(f->str, "\n", -1);
    g_autofree char *inner = g_strjoinv("\n  ", lines);
    devs = g_strdup_printf("<devices>\n  %s\n</devices>", inner);
    append_to_root(b, def, devs);
  }
  g_string_free(f, TRUE);
  return ic_edit_batch_commit(b, error);
}
