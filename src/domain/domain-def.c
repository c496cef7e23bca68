/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The typed view of a domain (or device) XML: what the IOMMU rules, the
 * QEMU command line and the policy layer need, each item with its node. */
#include "domain/domain-private.h"
#include "util/ic-util.h"

#include <string.h>

typedef struct {
  IcDomainDef pub;          /* first: the public view */
  GStringChunk *strings;    /* every string of the view */
  GPtrArray *owned;         /* every device struct, freed with the view */
  const IcDomainDoc *doc;
} DefPriv;

/* ---- small helpers ------------------------------------------------------------ */

IcTristate
ic_tristate_parse(const char *text)
{
  if (text == NULL)
    return IC_TRI_ABSENT;
  if (strcmp(text, "on") == 0 || strcmp(text, "yes") == 0)
    return IC_TRI_ON;
  if (strcmp(text, "off") == 0 || strcmp(text, "no") == 0)
    return IC_TRI_OFF;
  return IC_TRI_INVALID;
}

const char *
ic_tristate_to_string(IcTristate t)
{
  switch (t) {
  case IC_TRI_ON: return "on";
  case IC_TRI_OFF: return "off";
  case IC_TRI_INVALID: return "invalid";
  case IC_TRI_ABSENT: default: return "absent";
  }
}

static gboolean
name_is(xmlNodePtr n, const char *name)
{
  return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0;
}

/* Child in no namespace or libvirt's (none): libvirt elements carry no ns. */
xmlNodePtr
ic_xml_child(xmlNodePtr parent, const char *name)
{
  if (parent == NULL)
    return NULL;
  for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
    if (name_is(c, name) && c->ns == NULL)
      return c;
  return NULL;
}

/* The view's strings live as long as the parsed tree (IcDomainDoc frees the
 * two together), so an attribute whose value is one text node is returned
 * from the tree itself: no copy, no intern.  Copying every attribute was
 * ~5% of lint's instructions (bench/lint). */
static const char *
prop(DefPriv *p, xmlNodePtr n, const char *name)
{
  if (n == NULL)
    return NULL;
  xmlAttrPtr a = xmlHasNsProp(n, (const xmlChar *) name, NULL);
  if (a == NULL || a->type != XML_ATTRIBUTE_NODE)
    return NULL;
  if (a->children == NULL)
    return "";
  if (a->children->type == XML_TEXT_NODE && a->children->next == NULL && a->children->content != NULL)
    return (const char *) a->children->content;
  xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *) name);
  if (v == NULL)
    return NULL;
  const char *s = g_string_chunk_insert_const(p->strings, (const char *) v);
  xmlFree(v);
  return s;
}

static const char *
text_of(DefPriv *p, xmlNodePtr n)
{
  if (n == NULL)
    return NULL;
  /* the usual <name>vm1</name>: one text node, nothing to strip, read in
   * place like prop() */
  xmlNodePtr c = n->children;
  if (c == NULL && n->type == XML_ELEMENT_NODE)
    return "";
  if (c != NULL && c->next == NULL && c->type == XML_TEXT_NODE && c->content != NULL) {
    const char *s = (const char *) c->content;
    gsize len = strlen(s);
    if (len > 0 && !g_ascii_isspace(s[0]) && !g_ascii_isspace(s[len - 1]))
      return s;
  }
  xmlChar *v = xmlNodeGetContent(n);
  if (v == NULL)
    return NULL;
  g_autofree char *s = g_strstrip(g_strdup((const char *) v));
  xmlFree(v);
  return g_string_chunk_insert_const(p->strings, s);
}

static int
prop_int(DefPriv *p, xmlNodePtr n, const char *name)
{
  const char *v = prop(p, n, name);
  gint64 x;
  if (v == NULL || !ic_parse_int64(v, 0, 0, G_MAXINT, &x))
    return -1;
  return (int) x;
}

static guint
prop_hex_uint(DefPriv *p, xmlNodePtr n, const char *name, guint max, gboolean *missing)
{
  const char *v = prop(p, n, name);
  guint64 x;
  if (v == NULL || !ic_parse_uint64(v, 0, max, &x)) {
    if (missing != NULL)
      *missing = TRUE;
    return 0;
  }
  return (guint) x;
}

/* libvirt's scaled integers: <memory unit='GiB'>4</memory>. */
static guint64
scaled_kib(DefPriv *p, xmlNodePtr n)
{
  const char *text = text_of(p, n);
  guint64 v;
  if (text == NULL || !ic_parse_uint64(text, 10, G_MAXUINT64, &v))
    return 0;
  const char *unit = prop(p, n, "unit");
  if (unit == NULL)
    return v;
  static const struct { const char *u; guint64 bytes; } units[] = {
    {"b", 1}, {"bytes", 1},
    {"KB", 1000}, {"k", 1024}, {"KiB", 1024}, {"K", 1024},
    {"MB", 1000000}, {"m", 1048576}, {"M", 1048576}, {"MiB", 1048576},
    {"GB", 1000000000ull}, {"g", 1ull << 30}, {"G", 1ull << 30}, {"GiB", 1ull << 30},
    {"TB", 1000000000000ull}, {"t", 1ull << 40}, {"T", 1ull << 40}, {"TiB", 1ull << 40},
    {"PB", 1000000000000000ull}, {"p", 1ull << 50}, {"P", 1ull << 50}, {"PiB", 1ull << 50},
  };
  for (guint i = 0; i < G_N_ELEMENTS(units); i++)
    if (strcmp(units[i].u, unit) == 0) {
      if (v > G_MAXUINT64 / units[i].bytes)
        return G_MAXUINT64 / 1024;
      return v * units[i].bytes / 1024;
    }
  return v;
}

/* ---- devices ------------------------------------------------------------------ */

static const char *const kind_names[] = {
  [IC_DEV_DISK] = "disk", [IC_DEV_INTERFACE] = "interface", [IC_DEV_CONTROLLER] = "controller",
  [IC_DEV_FILESYSTEM] = "filesystem", [IC_DEV_RNG] = "rng", [IC_DEV_MEMBALLOON] = "memballoon",
  [IC_DEV_VSOCK] = "vsock", [IC_DEV_VIDEO] = "video", [IC_DEV_INPUT] = "input",
  [IC_DEV_SOUND] = "sound", [IC_DEV_CRYPTO] = "crypto", [IC_DEV_MEMORY] = "memory",
  [IC_DEV_HOSTDEV] = "hostdev", [IC_DEV_IOMMU] = "iommu", [IC_DEV_SERIAL] = "serial",
  [IC_DEV_CONSOLE] = "console", [IC_DEV_CHANNEL] = "channel", [IC_DEV_GRAPHICS] = "graphics",
  [IC_DEV_WATCHDOG] = "watchdog", [IC_DEV_TPM] = "tpm", [IC_DEV_SHMEM] = "shmem",
  [IC_DEV_REDIRDEV] = "redirdev", [IC_DEV_PANIC] = "panic", [IC_DEV_EMULATOR] = "emulator",
  [IC_DEV_OTHER] = NULL,
};

const char *
ic_device_kind_to_string(IcDeviceKind kind)
{
  if ((guint) kind < G_N_ELEMENTS(kind_names) && kind_names[kind] != NULL)
    return kind_names[kind];
  return "other";
}

static IcDeviceKind
kind_from_name(const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS(kind_names); i++)
    if (kind_names[i] != NULL && strcmp(kind_names[i], name) == 0)
      return (IcDeviceKind) i;
  return IC_DEV_OTHER;
}

static gboolean
model_is_virtio(const char *model)
{
  return model != NULL && (strcmp(model, "virtio") == 0 || strcmp(model, "virtio-transitional") == 0 ||
                           strcmp(model, "virtio-non-transitional") == 0);
}

static gboolean
model_is_transitional(const char *model)
{
  return model != NULL && g_str_has_suffix(model, "-transitional") && !g_str_has_suffix(model, "non-transitional");
}

static void
parse_address(DefPriv *p, xmlNodePtr dev, IcDevAddress *a)
{
  xmlNodePtr n = ic_xml_child(dev, "address");
  a->node = n;
  if (n == NULL)
    return;
  a->type_name = prop(p, n, "type");
  if (a->type_name == NULL)
    a->type = IC_ADDR_OTHER;
  else if (strcmp(a->type_name, "pci") == 0) {
    a->type = IC_ADDR_PCI;
    a->pci.domain = prop_hex_uint(p, n, "domain", G_MAXUINT32, NULL);
    a->pci.bus = (guint8) prop_hex_uint(p, n, "bus", 0xff, NULL);
    a->pci.slot = (guint8) prop_hex_uint(p, n, "slot", 0x1f, NULL);
    a->pci.function = (guint8) prop_hex_uint(p, n, "function", 7, NULL);
    a->pci_multifunction = ic_tristate_parse(prop(p, n, "multifunction")) == IC_TRI_ON;
    a->zpci = ic_xml_child(n, "zpci");
  } else if (strcmp(a->type_name, "ccw") == 0) {
    a->type = IC_ADDR_CCW;
    a->cssid = prop_hex_uint(p, n, "cssid", 0xff, NULL);
    a->ssid = prop_hex_uint(p, n, "ssid", 3, NULL);
    a->devno = prop_hex_uint(p, n, "devno", 0xffff, NULL);
  } else if (strcmp(a->type_name, "drive") == 0)
    a->type = IC_ADDR_DRIVE;
  else if (strcmp(a->type_name, "virtio-mmio") == 0)
    a->type = IC_ADDR_VIRTIO_MMIO;
  else
    a->type = IC_ADDR_OTHER;
}

static void
parse_virtio_options(DefPriv *p, xmlNodePtr dev, IcVirtioOptions *o)
{
  xmlNodePtr d = ic_xml_child(dev, "driver");
  o->driver = d;
  if (d == NULL)
    return;
  o->iommu = ic_tristate_parse(prop(p, d, "iommu"));
  o->ats = ic_tristate_parse(prop(p, d, "ats"));
  o->packed = ic_tristate_parse(prop(p, d, "packed"));
  o->page_per_vq = ic_tristate_parse(prop(p, d, "page_per_vq"));
}

static void
fill_base(DefPriv *p, IcDomainDevice *b, xmlNodePtr n, IcDeviceKind kind)
{
  b->kind = kind;
  b->node = n;
  b->line = ic_domain_doc_line(p->doc, n);
  parse_address(p, n, &b->address);
  b->alias = prop(p, ic_xml_child(n, "alias"), "name");
  switch (kind) {
  case IC_DEV_DISK: case IC_DEV_INTERFACE: case IC_DEV_CONTROLLER: case IC_DEV_FILESYSTEM:
  case IC_DEV_RNG: case IC_DEV_MEMBALLOON: case IC_DEV_VSOCK: case IC_DEV_VIDEO:
  case IC_DEV_INPUT: case IC_DEV_SOUND: case IC_DEV_CRYPTO: case IC_DEV_MEMORY:
    b->takes_virtio_options = TRUE;
    parse_virtio_options(p, n, &b->opts);
    break;
  default:
    break;
  }
}

static gpointer
new_dev(DefPriv *p, gsize size)
{
  gpointer d = g_malloc0(size);
  g_ptr_array_add(p->owned, d);
  return d;
}

static gboolean
arch_is_x86_or_unknown(const IcDomainDef *def)
{
  return def->arch == NULL || ic_domain_def_is_x86(def);
}

static IcDomainDevice *
parse_disk(DefPriv *p, xmlNodePtr n)
{
  IcDomainDisk *d = new_dev(p, sizeof *d);
  fill_base(p, &d->base, n, IC_DEV_DISK);
  d->type = prop(p, n, "type");
  d->device = prop(p, n, "device");
  if (d->device == NULL)
    d->device = "disk";
  d->base.model = prop(p, n, "model");
  xmlNodePtr target = ic_xml_child(n, "target");
  d->bus = prop(p, target, "bus");
  d->target_dev = prop(p, target, "dev");
  if (d->bus == NULL && d->target_dev != NULL) {
    /* libvirt's virDomainDiskDefAssignAddress-era default: guess from the name */
    if (g_str_has_prefix(d->target_dev, "vd"))
      d->bus = "virtio";
    else if (g_str_has_prefix(d->target_dev, "sd"))
      d->bus = "scsi";
    else if (g_str_has_prefix(d->target_dev, "hd"))
      d->bus = "ide";
  }
  xmlNodePtr src = ic_xml_child(n, "source");
  d->source = prop(p, src, "file");
  if (d->source == NULL)
    d->source = prop(p, src, "dev");
  if (d->source == NULL)
    d->source = prop(p, src, "name");
  if (d->source == NULL)
    d->source = prop(p, src, "dir");
  d->driver_name = prop(p, d->base.opts.driver, "name");
  d->driver_type = prop(p, d->base.opts.driver, "type");
  d->base.virtio = d->bus != NULL && strcmp(d->bus, "virtio") == 0;
  d->base.transitional = model_is_transitional(d->base.model);
  g_ptr_array_add(p->pub.disks, d);
  return &d->base;
}

static IcDomainDevice *
parse_interface(DefPriv *p, xmlNodePtr n)
{
  IcDomainInterface *i = new_dev(p, sizeof *i);
  fill_base(p, &i->base, n, IC_DEV_INTERFACE);
  i->type = prop(p, n, "type");
  i->base.model = prop(p, ic_xml_child(n, "model"), "type");
  i->mac = prop(p, ic_xml_child(n, "mac"), "address");
  xmlNodePtr src = ic_xml_child(n, "source");
  static const char *const src_attrs[] = {"network", "bridge", "dev", "path", "address"};
  for (guint k = 0; k < G_N_ELEMENTS(src_attrs) && i->source == NULL; k++)
    i->source = prop(p, src, src_attrs[k]);
  i->driver_name = prop(p, i->base.opts.driver, "name");
  gboolean hostdev = i->type != NULL && strcmp(i->type, "hostdev") == 0;
  if (i->base.model != NULL)
    i->base.virtio = model_is_virtio(i->base.model);
  else if (i->type != NULL && (strcmp(i->type, "vhostuser") == 0 || strcmp(i->type, "vdpa") == 0))
    i->base.virtio = TRUE;
  else /* libvirt's default NIC model is virtio except on x86 */
    i->base.virtio = !hostdev && !arch_is_x86_or_unknown(&p->pub) && p->pub.arch != NULL;
  if (hostdev)
    i->base.takes_virtio_options = TRUE; /* schema allows it; libvirt rejects non-virtio use */
  i->base.transitional = model_is_transitional(i->base.model);
  g_ptr_array_add(p->pub.interfaces, i);
  return &i->base;
}

static IcDomainDevice *
parse_controller(DefPriv *p, xmlNodePtr n)
{
  IcDomainController *c = new_dev(p, sizeof *c);
  fill_base(p, &c->base, n, IC_DEV_CONTROLLER);
  c->type = prop(p, n, "type");
  c->base.model = prop(p, n, "model");
  c->index = prop_int(p, n, "index");
  xmlNodePtr target = ic_xml_child(n, "target");
  c->target_chassis = prop_int(p, target, "chassis");
  c->target_port = prop_int(p, target, "port");
  c->target_bus_nr = prop_int(p, target, "busNr");
  c->target_index = prop_int(p, target, "index");
  c->model_name = prop(p, ic_xml_child(n, "model"), "name");
  const char *type = c->type != NULL ? c->type : "";
  const char *model = c->base.model;
  if (strcmp(type, "scsi") == 0) {
    if (model != NULL)
      c->base.virtio = g_str_has_prefix(model, "virtio-");
    else /* libvirt picks virtio-scsi by default off x86 */
      c->base.virtio = p->pub.arch != NULL && !ic_domain_def_is_x86(&p->pub);
  } else if (strcmp(type, "virtio-serial") == 0) {
    c->base.virtio = TRUE;
  } else {
    /* pci, usb, sata, ide...: <driver> there is queues/iothread, not virtio */
    c->base.takes_virtio_options = FALSE;
  }
  c->base.transitional = model_is_transitional(model);
  g_ptr_array_add(p->pub.controllers, c);
  return &c->base;
}

static IcDomainDevice *
parse_hostdev(DefPriv *p, xmlNodePtr n)
{
  IcDomainHostdev *h = new_dev(p, sizeof *h);
  fill_base(p, &h->base, n, IC_DEV_HOSTDEV);
  h->mode = prop(p, n, "mode");
  h->type = prop(p, n, "type");
  h->managed = ic_tristate_parse(prop(p, n, "managed"));
  xmlNodePtr drv = ic_xml_child(n, "driver");
  h->driver_name = prop(p, drv, "name");
  h->driver_model = prop(p, drv, "model");
  h->iommufd = ic_tristate_parse(prop(p, drv, "iommufd"));
  xmlNodePtr src_addr = ic_xml_child(ic_xml_child(n, "source"), "address");
  if (src_addr != NULL && h->type != NULL && strcmp(h->type, "pci") == 0) {
    gboolean missing = FALSE;
    h->has_source_pci = TRUE;
    h->source_pci.domain = prop_hex_uint(p, src_addr, "domain", G_MAXUINT32, &missing);
    h->source_pci.bus = (guint8) prop_hex_uint(p, src_addr, "bus", 0xff, &missing);
    h->source_pci.slot = (guint8) prop_hex_uint(p, src_addr, "slot", 0x1f, &missing);
    h->source_pci.function = (guint8) prop_hex_uint(p, src_addr, "function", 7, &missing);
    h->source_pci_partial = missing;
  }
  g_ptr_array_add(p->pub.hostdevs, h);
  return &h->base;
}

IcViommuModel
ic_viommu_model_from_string(const char *text)
{
  static const char *const names[] = {"intel", "smmuv3", "virtio", "amd", "auto"};
  static const IcViommuModel models[] = {IC_VIOMMU_INTEL, IC_VIOMMU_SMMUV3, IC_VIOMMU_VIRTIO,
                                         IC_VIOMMU_AMD, IC_VIOMMU_AUTO};
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS(names); i++)
    if (strcmp(text, names[i]) == 0)
      return models[i];
  return IC_VIOMMU_UNKNOWN;
}

const char *
ic_viommu_model_to_string(IcViommuModel m)
{
  switch (m) {
  case IC_VIOMMU_INTEL: return "intel";
  case IC_VIOMMU_SMMUV3: return "smmuv3";
  case IC_VIOMMU_VIRTIO: return "virtio";
  case IC_VIOMMU_AMD: return "amd";
  case IC_VIOMMU_AUTO: return "auto";
  case IC_VIOMMU_UNKNOWN: return "unknown";
  case IC_VIOMMU_NONE: default: return NULL;
  }
}

static IcDomainDevice *
parse_iommu(DefPriv *p, xmlNodePtr n)
{
  IcDomainIommu *i = new_dev(p, sizeof *i);
  fill_base(p, &i->base, n, IC_DEV_IOMMU);
  i->base.model = prop(p, n, "model");
  i->model = ic_viommu_model_from_string(i->base.model);
  if (i->model == IC_VIOMMU_AUTO)
    i->model = IC_VIOMMU_UNKNOWN; /* "auto" is not a libvirt model */
  xmlNodePtr d = ic_xml_child(n, "driver");
  i->driver = d;
  i->intremap = ic_tristate_parse(prop(p, d, "intremap"));
  i->caching_mode = ic_tristate_parse(prop(p, d, "caching_mode"));
  i->eim = ic_tristate_parse(prop(p, d, "eim"));
  i->iotlb = ic_tristate_parse(prop(p, d, "iotlb"));
  i->dma_translation = ic_tristate_parse(prop(p, d, "dma_translation"));
  i->passthrough = ic_tristate_parse(prop(p, d, "passthrough"));
  i->xtsup = ic_tristate_parse(prop(p, d, "xtsup"));
  const char *aw = prop(p, d, "aw_bits");
  guint64 v;
  if (aw != NULL) {
    if (ic_parse_uint64(aw, 10, 255, &v))
      i->aw_bits = (guint) v;
    else
      i->aw_bits_invalid = TRUE;
  }
  i->pci_bus = prop_int(p, d, "pciBus");
  i->granule = ic_xml_child(d, "granule");
  g_ptr_array_add(p->pub.iommus, i);
  return &i->base;
}

static IcDomainDevice *
parse_chardev(DefPriv *p, xmlNodePtr n, IcDeviceKind kind)
{
  IcDomainChardev *c = new_dev(p, sizeof *c);
  fill_base(p, &c->base, n, kind);
  c->type = prop(p, n, "type");
  xmlNodePtr target = ic_xml_child(n, "target");
  c->target_type = prop(p, target, "type");
  c->target_port = prop_int(p, target, "port");
  g_ptr_array_add(p->pub.chardevs, c);
  return &c->base;
}

static IcDomainDevice *
parse_other(DefPriv *p, xmlNodePtr n, IcDeviceKind kind)
{
  IcDomainDevice *d = new_dev(p, sizeof *d);
  fill_base(p, d, n, kind);
  switch (kind) {
  case IC_DEV_FILESYSTEM:
    d->model = prop(p, n, "model");
    /* every QEMU filesystem is virtio (virtio-9p or vhost-user-fs) */
    d->virtio = TRUE;
    break;
  case IC_DEV_RNG: case IC_DEV_MEMBALLOON: case IC_DEV_CRYPTO: case IC_DEV_SOUND:
    d->model = prop(p, n, "model");
    d->virtio = model_is_virtio(d->model);
    break;
  case IC_DEV_VSOCK:
    d->model = prop(p, n, "model");
    d->virtio = d->model == NULL || model_is_virtio(d->model);
    break;
  case IC_DEV_VIDEO:
    d->model = prop(p, ic_xml_child(n, "model"), "type");
    d->virtio = d->model != NULL && strcmp(d->model, "virtio") == 0;
    break;
  case IC_DEV_INPUT: {
    d->model = prop(p, n, "model");
    const char *bus = prop(p, n, "bus");
    d->virtio = (bus != NULL && strcmp(bus, "virtio") == 0) || model_is_virtio(d->model);
    break;
  }
  case IC_DEV_MEMORY:
    d->model = prop(p, n, "model");
    d->virtio = d->model != NULL && (strcmp(d->model, "virtio-mem") == 0 || strcmp(d->model, "virtio-pmem") == 0);
    break;
  default:
    d->model = prop(p, n, "model");
    break;
  }
  d->transitional = model_is_transitional(d->model);
  return d;
}

static void
add_device(DefPriv *p, xmlNodePtr n)
{
  if (n->ns != NULL)
    return; /* foreign namespaces are kept, not interpreted */
  IcDeviceKind kind = kind_from_name((const char *) n->name);
  IcDomainDevice *d;
  switch (kind) {
  case IC_DEV_DISK: d = parse_disk(p, n); break;
  case IC_DEV_INTERFACE: d = parse_interface(p, n); break;
  case IC_DEV_CONTROLLER: d = parse_controller(p, n); break;
  case IC_DEV_HOSTDEV: d = parse_hostdev(p, n); break;
  case IC_DEV_IOMMU: d = parse_iommu(p, n); break;
  case IC_DEV_SERIAL: case IC_DEV_CONSOLE: case IC_DEV_CHANNEL: d = parse_chardev(p, n, kind); break;
  case IC_DEV_EMULATOR: p->pub.emulator = text_of(p, n); return;
  default: d = parse_other(p, n, kind); break;
  }
  g_ptr_array_add(p->pub.devices, d);
  if (d->virtio)
    g_ptr_array_add(p->pub.virtio_devices, d);
}

/* ---- domain-level elements ---------------------------------------------------------- */

static void
parse_os(DefPriv *p, xmlNodePtr os)
{
  IcDomainDef *def = &p->pub;
  def->os = os;
  if (os == NULL)
    return;
  def->firmware = prop(p, os, "firmware");
  xmlNodePtr type = ic_xml_child(os, "type");
  def->os_type = text_of(p, type);
  def->arch = prop(p, type, "arch");
  def->machine = prop(p, type, "machine");
  def->loader = text_of(p, ic_xml_child(os, "loader"));
  def->nvram = text_of(p, ic_xml_child(os, "nvram"));
  def->kernel = text_of(p, ic_xml_child(os, "kernel"));
  def->initrd = text_of(p, ic_xml_child(os, "initrd"));
  def->cmdline = text_of(p, ic_xml_child(os, "cmdline"));
  for (xmlNodePtr c = os->children; c != NULL; c = c->next)
    if (name_is(c, "boot") && c->ns == NULL) {
      const char *dev = prop(p, c, "dev");
      if (dev != NULL)
        g_ptr_array_add(def->boot_devs, (gpointer) dev);
    }
}

static void
parse_features(DefPriv *p, xmlNodePtr f)
{
  IcDomainDef *def = &p->pub;
  def->features = f;
  if (f == NULL)
    return;
  xmlNodePtr acpi = ic_xml_child(f, "acpi");
  def->acpi = acpi != NULL && ic_tristate_parse(prop(p, acpi, "state")) != IC_TRI_OFF;
  xmlNodePtr apic = ic_xml_child(f, "apic");
  def->apic = apic != NULL && ic_tristate_parse(prop(p, apic, "state")) != IC_TRI_OFF;
  xmlNodePtr ioapic = ic_xml_child(f, "ioapic");
  def->ioapic_driver = prop(p, ioapic, "driver");
}

static void
parse_domain(DefPriv *p, xmlNodePtr root)
{
  IcDomainDef *def = &p->pub;
  def->type = prop(p, root, "type");
  def->name = text_of(p, ic_xml_child(root, "name"));
  def->uuid = text_of(p, ic_xml_child(root, "uuid"));
  def->title = text_of(p, ic_xml_child(root, "title"));
  parse_os(p, ic_xml_child(root, "os"));
  xmlNodePtr vcpu = ic_xml_child(root, "vcpu");
  gint64 v;
  const char *vt = text_of(p, vcpu);
  def->vcpus_max = vt != NULL && ic_parse_int64(vt, 10, 1, G_MAXINT, &v) ? (guint) v : 1;
  int cur = prop_int(p, vcpu, "current");
  def->vcpus_current = cur > 0 ? (guint) cur : def->vcpus_max;
  def->memory_kib = scaled_kib(p, ic_xml_child(root, "memory"));
  xmlNodePtr cm = ic_xml_child(root, "currentMemory");
  def->current_memory_kib = cm != NULL ? scaled_kib(p, cm) : def->memory_kib;
  xmlNodePtr mm = ic_xml_child(root, "maxMemory");
  def->max_memory_kib = scaled_kib(p, mm);
  int slots = prop_int(p, mm, "slots");
  def->max_memory_slots = slots > 0 ? (guint) slots : 0;
  xmlNodePtr hl = ic_xml_child(ic_xml_child(root, "memtune"), "hard_limit");
  def->has_hard_limit = hl != NULL;
  def->hard_limit_kib = scaled_kib(p, hl);
  def->memory_backing = ic_xml_child(root, "memoryBacking");
  def->hugepages = ic_xml_child(def->memory_backing, "hugepages") != NULL;
  def->locked = ic_xml_child(def->memory_backing, "locked") != NULL;
  def->cpu = ic_xml_child(root, "cpu");
  def->cpu_mode = prop(p, def->cpu, "mode");
  parse_features(p, ic_xml_child(root, "features"));
  def->launch_security_node = ic_xml_child(root, "launchSecurity");
  def->launch_security = prop(p, def->launch_security_node, "type");
  if (def->launch_security_node != NULL && def->launch_security == NULL)
    def->launch_security = "unknown";
  def->metadata = ic_xml_child(root, "metadata");
  for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
    /* libvirt's QEMU passthrough namespace, whatever prefix the file uses */
    if (c->type != XML_ELEMENT_NODE || c->ns == NULL || c->ns->href == NULL ||
        strcmp((const char *) c->ns->href, "http://libvirt.org/schemas/domain/qemu/1.0") != 0)
      continue;
    if (strcmp((const char *) c->name, "commandline") == 0)
      g_ptr_array_add(def->qemu_commandline, c);
    else if (strcmp((const char *) c->name, "override") == 0)
      g_ptr_array_add(def->qemu_override, c);
  }
  def->devices_node = ic_xml_child(root, "devices");
  if (def->devices_node != NULL)
    for (xmlNodePtr c = def->devices_node->children; c != NULL; c = c->next)
      if (c->type == XML_ELEMENT_NODE)
        add_device(p, c);
}

IcDomainDef *
ic_domain_def_build(IcDomainDoc *doc, GError **error)
{
  xmlNodePtr root = xmlDocGetRootElement(doc->xml);
  const char *name = doc->filename != NULL ? doc->filename : "<input>";
  if (root == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s: empty document", name);
    return NULL;
  }
  DefPriv *p = g_new0(DefPriv, 1);
  p->strings = g_string_chunk_new(256);
  p->owned = g_ptr_array_new_with_free_func(g_free);
  p->doc = doc;
  IcDomainDef *def = &p->pub;
  def->root = root;
  def->boot_devs = g_ptr_array_new();
  def->qemu_commandline = g_ptr_array_new();
  def->qemu_override = g_ptr_array_new();
  def->devices = g_ptr_array_new();
  def->virtio_devices = g_ptr_array_new();
  def->disks = g_ptr_array_new();
  def->interfaces = g_ptr_array_new();
  def->controllers = g_ptr_array_new();
  def->hostdevs = g_ptr_array_new();
  def->iommus = g_ptr_array_new();
  def->chardevs = g_ptr_array_new();
  const char *rname = (const char *) root->name;
  if (root->ns == NULL && strcmp(rname, "domain") == 0) {
    def->kind = IC_DOMAIN_DOC_DOMAIN;
    parse_domain(p, root);
  } else if (root->ns == NULL && strcmp(rname, "devices") == 0) {
    def->kind = IC_DOMAIN_DOC_DEVICES;
    def->devices_node = root;
    for (xmlNodePtr c = root->children; c != NULL; c = c->next)
      if (c->type == XML_ELEMENT_NODE)
        add_device(p, c);
  } else if (root->ns == NULL && kind_from_name(rname) != IC_DEV_OTHER && strcmp(rname, "emulator") != 0) {
    def->kind = IC_DOMAIN_DOC_DEVICE;
    add_device(p, root);
  } else {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE,
                "%s:%d: root element <%s> is neither <domain> nor a device element", name,
                ic_domain_doc_line(doc, root), rname);
    ic_domain_def_free(def);
    return NULL;
  }
  p->doc = NULL; /* only needed while building (line numbers) */
  return def;
}

void
ic_domain_def_free(IcDomainDef *def)
{
  if (def == NULL)
    return;
  DefPriv *p = (DefPriv *) def;
  GPtrArray *arrays[] = {def->boot_devs, def->qemu_commandline, def->qemu_override, def->devices,
                         def->virtio_devices, def->disks, def->interfaces, def->controllers,
                         def->hostdevs, def->iommus, def->chardevs};
  for (guint i = 0; i < G_N_ELEMENTS(arrays); i++)
    g_ptr_array_unref(arrays[i]);
  g_ptr_array_unref(p->owned);
  g_string_chunk_free(p->strings);
  g_free(p);
}

/* ---- arch helpers --------------------------------------------------------------------- */

gboolean
ic_domain_def_is_x86(const IcDomainDef *def)
{
  if (def->arch != NULL)
    return strcmp(def->arch, "x86_64") == 0 || strcmp(def->arch, "i686") == 0;
  /* no arch: libvirt uses the host's; judge by the machine name */
  return def->machine != NULL && (strstr(def->machine, "q35") != NULL ||
                                  g_str_has_prefix(def->machine, "pc") || strcmp(def->machine, "microvm") == 0);
}

gboolean
ic_domain_def_is_q35(const IcDomainDef *def)
{
  /* libvirt's qemuDomainIsQ35: machine "q35" or "pc-q35-*" */
  return ic_domain_def_is_x86(def) && def->machine != NULL &&
         (strcmp(def->machine, "q35") == 0 || g_str_has_prefix(def->machine, "pc-q35-"));
}

gboolean
ic_domain_def_is_arm_virt(const IcDomainDef *def)
{
  return def->arch != NULL && (strcmp(def->arch, "aarch64") == 0 || strcmp(def->arch, "armv7l") == 0) &&
         def->machine != NULL && (strcmp(def->machine, "virt") == 0 || g_str_has_prefix(def->machine, "virt-"));
}

gboolean
ic_domain_def_is_s390(const IcDomainDef *def)
{
  return (def->arch != NULL && g_str_has_prefix(def->arch, "s390")) ||
         (def->machine != NULL && g_str_has_prefix(def->machine, "s390-ccw"));
}

gboolean
ic_domain_def_needs_bounce_buffers(const IcDomainDef *def)
{
  return def->launch_security != NULL;
}
