/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Devices other than the vIOMMU, in libvirt 9.0's JSON -device style. */
#include "qemu-private.h"

#include <stdio.h>

static JsonObject *
dev_new(const char *driver)
{
  JsonObject *o = json_object_new();
  json_object_set_string_member(o, "driver", driver);
  return o;
}

gboolean
qb_collect(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  for (guint i = 0; i < def->controllers->len; i++) {
    const IcDomainController *c = def->controllers->pdata[i];
    if (g_strcmp0(c->type, "pci") == 0 && c->index >= 0) {
      if (g_hash_table_contains(b->pci_controllers, GINT_TO_POINTER(c->index)))
        return qb_fail(b, c->base.node, IC_ERROR_INVALID_ARG, "a second PCI controller with index %d", c->index);
      g_hash_table_insert(b->pci_controllers, GINT_TO_POINTER(c->index), (gpointer) c);
    }
  }
  for (guint i = 0; i < def->devices->len; i++) {
    const IcDomainDevice *d = def->devices->pdata[i];
    /* s390x zPCI identities need zpci devices the builtin command line
     * does not make: refused rather than dropped */
    if (d->address.type == IC_ADDR_PCI && d->address.zpci != NULL)
      return qb_fail(b, d->address.zpci, IC_ERROR_UNSUPPORTED, "<zpci/> addresses are not expressed by iommuctl's "
                     "command line (libvirt generates zpci devices on s390x)");
    if (d->address.type == IC_ADDR_PCI)
      qb_reserve_slot(b, d->address.pci.bus, d->address.pci.slot);
  }
  if (b->q35)
    qb_reserve_slot(b, 0, 0x1f); /* ICH9 LPC/SATA/SMBus */
  if (b->pc)
    qb_reserve_slot(b, 0, 1);    /* PIIX3 */
  b->vfio_nodes = g_ptr_array_new();
  return TRUE;
}

const char *
qb_controller_alias(QemuBuild *b, const IcDomainController *c)
{
  if (c->base.alias != NULL && g_str_has_prefix(c->base.alias, "ua-"))
    return c->base.alias;
  char *a;
  if (g_strcmp0(c->type, "pci") == 0)
    a = g_strdup_printf("pci.%d", c->index);
  else if (g_strcmp0(c->type, "virtio-serial") == 0)
    a = g_strdup_printf("virtio-serial%d", c->index);
  else
    a = g_strdup_printf("%s%d", c->type ? c->type : "ctl", c->index);
  g_ptr_array_add(b->strings, a);
  return a;
}

int
qb_root_of_bus(QemuBuild *b, guint bus)
{
  for (int hops = 0; hops < 256; hops++) {
    if (bus == 0)
      return -1;
    const IcDomainController *c = g_hash_table_lookup(b->pci_controllers, GUINT_TO_POINTER(bus));
    if (c == NULL)
      return -1;
    if (g_strcmp0(c->base.model, "pcie-expander-bus") == 0)
      return c->index;
    if (c->base.address.type != IC_ADDR_PCI)
      return -1;
    bus = c->base.address.pci.bus;
  }
  return -1;
}

static gboolean
build_pci_controller(QemuBuild *b, const IcDomainController *c)
{
  const char *model = c->base.model;
  xmlNodePtr node = c->base.node;
  if (model == NULL)
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "PCI controller without model");
  if (strcmp(model, "pcie-root") == 0 || strcmp(model, "pci-root") == 0) {
    if (c->index != 0)
      return qb_fail(b, node, IC_ERROR_INVALID_ARG, "%s must have index 0", model);
    return TRUE;
  }
  if (c->index <= 0)
    return qb_fail(b, node, IC_ERROR_INVALID_ARG, "PCI controller needs an index > 0");
  JsonObject *dev;
  if (strcmp(model, "pcie-root-port") == 0) {
    dev = dev_new("pcie-root-port");
    int port = c->target_port;
    if (port < 0)
      port = c->base.address.type == IC_ADDR_PCI ? (c->base.address.pci.slot << 3) + c->base.address.pci.function : 0;
    json_object_set_int_member(dev, "port", port);
    json_object_set_int_member(dev, "chassis", c->target_chassis >= 0 ? c->target_chassis : c->index);
  } else if (strcmp(model, "pcie-expander-bus") == 0) {
    if (!b->q35)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "pcie-expander-bus needs a q35 machine (QEMU: pxb-pcie devices cannot reside on a PCI bus)");
    if (c->target_bus_nr < 0)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "pcie-expander-bus needs <target busNr='N'/>");
    if (c->base.address.type == IC_ADDR_PCI && c->base.address.pci.bus != 0)
      return qb_fail(b, node, IC_ERROR_INVALID_ARG, "pcie-expander-bus must sit on the root bus (bus 0)");
    dev = dev_new("pxb-pcie");
    json_object_set_int_member(dev, "bus_nr", c->target_bus_nr);
  } else {
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "PCI controller model '%s' is outside what iommuctl models "
                   "(pcie-root, pci-root, pcie-root-port, pcie-expander-bus)", model);
  }
  json_object_set_string_member(dev, "id", qb_controller_alias(b, c));
  if (!qb_add_pci_address(b, dev, &c->base.address, node, NULL)) {
    json_object_unref(dev);
    return FALSE;
  }
  ic_qemu_argv_add_json(b->argv, "-device", dev);
  return TRUE;
}

static gboolean
build_virtio_controller(QemuBuild *b, const IcDomainController *c, const char *driver)
{
  JsonObject *dev = dev_new(driver);
  gboolean root = FALSE;
  json_object_set_string_member(dev, "id", qb_controller_alias(b, c));
  if (!qb_add_pci_address(b, dev, &c->base.address, c->base.node, &root) ||
      !qb_virtio_options(b, dev, &c->base, root)) {
    json_object_unref(dev);
    return FALSE;
  }
  ic_qemu_argv_add_json(b->argv, "-device", dev);
  return TRUE;
}

gboolean
qb_build_controllers(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  /* PCI controllers in index order (parents before children) */
  g_autoptr(GPtrArray) pci = g_ptr_array_new();
  for (guint i = 0; i < def->controllers->len; i++) {
    const IcDomainController *c = def->controllers->pdata[i];
    if (g_strcmp0(c->type, "pci") == 0)
      g_ptr_array_add(pci, (gpointer) c);
  }
  for (int idx = 0; idx < 256; idx++)
    for (guint i = 0; i < pci->len; i++) {
      const IcDomainController *c = pci->pdata[i];
      if (c->index == idx && !build_pci_controller(b, c))
        return FALSE;
    }
  for (guint i = 0; i < pci->len; i++) {
    const IcDomainController *c = pci->pdata[i];
    if (c->index < 0 || c->index > 255)
      return qb_fail(b, c->base.node, IC_ERROR_INVALID_ARG, "PCI controller index must be 0..255");
  }
  for (guint i = 0; i < def->controllers->len; i++) {
    const IcDomainController *c = def->controllers->pdata[i];
    const char *type = c->type ? c->type : "";
    const char *model = c->base.model;
    if (strcmp(type, "pci") == 0)
      continue;
    if (strcmp(type, "usb") == 0) {
      if (g_strcmp0(model, "none") != 0)
        return qb_fail(b, c->base.node, IC_ERROR_UNSUPPORTED, "USB controllers other than model='none' are outside what iommuctl models");
    } else if ((strcmp(type, "sata") == 0 && b->q35 && c->index == 0) ||
               (strcmp(type, "ide") == 0 && b->pc && c->index == 0)) {
      /* built into the machine (ICH9 AHCI / PIIX IDE): no option */
    } else if (strcmp(type, "scsi") == 0 && g_strcmp0(model, "virtio-scsi") == 0) {
      if (!build_virtio_controller(b, c, "virtio-scsi-pci"))
        return FALSE;
    } else if (strcmp(type, "virtio-serial") == 0) {
      if (!build_virtio_controller(b, c, "virtio-serial-pci"))
        return FALSE;
    } else {
      return qb_fail(b, c->base.node, IC_ERROR_UNSUPPORTED, "controller type '%s'%s%s is outside what iommuctl models",
                     type, model ? " model " : "", model ? model : "");
    }
  }
  return TRUE;
}

static const char *const disk_name_prefixes[] = {"fd", "hd", "vd", "sd", "xvd", "ubd"};

/* The disk's index as libvirt derives it from the target name:
 * vda -> 0, vdb -> 1, sdc -> 2, vdaa -> 26.  libvirt refuses names without
 * a known prefix or with a partition number, with these texts; it lets a
 * long name overflow into a garbage (even negative) index, we refuse it. */
static gboolean
disk_index(QemuBuild *b, const IcDomainDisk *disk, int *index)
{
  const char *dev = disk->target_dev;
  if (dev == NULL)
    return qb_fail(b, disk->base.node, IC_ERROR_INVALID_ARG, "disk without <target dev=...>");
  const char *p = NULL;
  for (guint i = 0; i < G_N_ELEMENTS(disk_name_prefixes) && p == NULL; i++)
    if (g_str_has_prefix(dev, disk_name_prefixes[i]))
      p = dev + strlen(disk_name_prefixes[i]);
  if (p == NULL || *p < 'a' || *p > 'z')
    return qb_fail(b, disk->base.node, IC_ERROR_INVALID_ARG, "invalid disk target '%s'", dev);
  gint64 idx = 0;
  for (; *p >= 'a' && *p <= 'z'; p++) {
    idx = idx * 26 + (*p - 'a' + 1);
    if (idx - 1 > G_MAXINT)
      return qb_fail(b, disk->base.node, IC_ERROR_INVALID_ARG,
                     "disk target '%s' is too long: its index does not fit in an int", dev);
  }
  if (g_ascii_isdigit(*p))
    return qb_fail(b, disk->base.node, IC_ERROR_INVALID_ARG,
                   "invalid disk target '%s', partitions can't appear in disk targets", dev);
  if (*p != '\0')
    return qb_fail(b, disk->base.node, IC_ERROR_INVALID_ARG, "invalid disk target '%s'", dev);
  *index = (int) (idx - 1);
  return TRUE;
}

static gboolean
disk_model_driver(QemuBuild *b, const IcDomainDisk *disk, const char **driver)
{
  const char *model = disk->base.model;
  if (model == NULL || strcmp(model, "virtio") == 0)
    *driver = "virtio-blk-pci";
  else if (strcmp(model, "virtio-non-transitional") == 0)
    *driver = "virtio-blk-pci-non-transitional";
  else if (strcmp(model, "virtio-transitional") == 0)
    *driver = "virtio-blk-pci-transitional";
  else
    return qb_fail(b, disk->base.node, IC_ERROR_UNSUPPORTED, "disk model '%s' is outside what iommuctl models", model);
  return TRUE;
}

gboolean
qb_build_disks(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  guint n = def->disks->len;
  for (guint i = 0; i < n; i++) {
    const IcDomainDisk *disk = def->disks->pdata[i];
    xmlNodePtr node = disk->base.node;
    if (disk->device != NULL && strcmp(disk->device, "disk") != 0)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "disk device '%s' is outside what iommuctl models (disk)", disk->device);
    const char *type = disk->type ? disk->type : "file";
    const char *proto;
    if (strcmp(type, "file") == 0)
      proto = "file";
    else if (strcmp(type, "block") == 0)
      proto = "host_device";
    else
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "disk type '%s' is outside what iommuctl models (file, block)", type);
    if (disk->source == NULL)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "disk without <source>");
    const char *format = disk->driver_type ? disk->driver_type : "raw";
    if (strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "disk format '%s' is outside what iommuctl models (raw, qcow2)", format);
    const char *bus = disk->bus ? disk->bus : "virtio";
    int idx = 0;
    if (!disk_index(b, disk, &idx))
      return FALSE;
    /* libvirt numbers block nodes from the last disk */
    guint num = n - i;
    g_autofree char *storage = g_strdup_printf("libvirt-%u-storage", num);
    g_autofree char *fmt = g_strdup_printf("libvirt-%u-format", num);
    JsonObject *s = json_object_new();
    json_object_set_string_member(s, "driver", proto);
    json_object_set_string_member(s, "filename", disk->source);
    json_object_set_string_member(s, "node-name", storage);
    json_object_set_boolean_member(s, "auto-read-only", TRUE);
    json_object_set_string_member(s, "discard", "unmap");
    ic_qemu_argv_add_json(b->argv, "-blockdev", s);
    JsonObject *f = json_object_new();
    json_object_set_string_member(f, "node-name", fmt);
    json_object_set_boolean_member(f, "read-only", FALSE);
    json_object_set_string_member(f, "driver", format);
    json_object_set_string_member(f, "file", storage);
    ic_qemu_argv_add_json(b->argv, "-blockdev", f);

    JsonObject *dev;
    if (strcmp(bus, "virtio") == 0) {
      const char *driver = NULL;
      if (!disk_model_driver(b, disk, &driver))
        return FALSE;
      dev = dev_new(driver);
      gboolean root = FALSE;
      if (!qb_add_pci_address(b, dev, &disk->base.address, node, &root) ||
          !qb_virtio_options(b, dev, &disk->base, root)) {
        json_object_unref(dev);
        return FALSE;
      }
      json_object_set_string_member(dev, "drive", fmt);
      g_autofree char *id = g_strdup_printf("virtio-disk%d", idx);
      json_object_set_string_member(dev, "id", disk->base.alias && g_str_has_prefix(disk->base.alias, "ua-") ? disk->base.alias : id);
    } else if (strcmp(bus, "sata") == 0 && b->q35) {
      if (!qb_virtio_options(b, NULL, &disk->base, FALSE))
        return FALSE;
      dev = dev_new("ide-hd");
      g_autofree char *ide = g_strdup_printf("ide.%d", idx);
      json_object_set_string_member(dev, "bus", ide);
      json_object_set_string_member(dev, "drive", fmt);
      g_autofree char *id = g_strdup_printf("sata0-0-%d", idx);
      json_object_set_string_member(dev, "id", id);
    } else if (strcmp(bus, "scsi") == 0) {
      if (!qb_virtio_options(b, NULL, &disk->base, FALSE))
        return FALSE;
      dev = dev_new("scsi-hd");
      json_object_set_string_member(dev, "bus", "scsi0.0");
      json_object_set_int_member(dev, "channel", 0);
      json_object_set_int_member(dev, "scsi-id", 0);
      json_object_set_int_member(dev, "lun", idx);
      g_autofree char *did = g_strdup_printf("drive-scsi0-0-0-%d", idx);
      json_object_set_string_member(dev, "device_id", did);
      json_object_set_string_member(dev, "drive", fmt);
      g_autofree char *id = g_strdup_printf("scsi0-0-0-%d", idx);
      json_object_set_string_member(dev, "id", id);
    } else {
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "disk bus '%s' is outside what iommuctl models (virtio, sata on q35, scsi)", bus);
    }
    if (b->boot_hd && i == 0)
      json_object_set_int_member(dev, "bootindex", 1);
    ic_qemu_argv_add_json(b->argv, "-device", dev);
  }
  return TRUE;
}

static const char *
nic_driver(const char *model)
{
  if (model == NULL || strcmp(model, "virtio") == 0)
    return "virtio-net-pci";
  if (strcmp(model, "virtio-non-transitional") == 0)
    return "virtio-net-pci-non-transitional";
  if (strcmp(model, "virtio-transitional") == 0)
    return "virtio-net-pci-transitional";
  if (strcmp(model, "e1000e") == 0 || strcmp(model, "e1000") == 0 || strcmp(model, "rtl8139") == 0)
    return model;
  return NULL;
}

gboolean
qb_build_interfaces(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  for (guint i = 0; i < def->interfaces->len; i++) {
    const IcDomainInterface *nic = def->interfaces->pdata[i];
    xmlNodePtr node = nic->base.node;
    if (g_strcmp0(nic->type, "user") != 0)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "interface type '%s' is outside what iommuctl models (user); "
                     "libvirt opens tap devices and passes their fds, iommuctl does not", nic->type ? nic->type : "");
    const char *driver = nic_driver(nic->base.model);
    if (driver == NULL)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "interface model '%s' is outside what iommuctl models", nic->base.model);
    g_autofree char *netdev = g_strdup_printf("hostnet%u", i);
    JsonObject *nd = json_object_new();
    json_object_set_string_member(nd, "type", "user");
    json_object_set_string_member(nd, "id", netdev);
    ic_qemu_argv_add_json(b->argv, "-netdev", nd);
    JsonObject *dev = dev_new(driver);
    gboolean root = FALSE;
    json_object_set_string_member(dev, "netdev", netdev);
    g_autofree char *id = g_strdup_printf("net%u", i);
    json_object_set_string_member(dev, "id", nic->base.alias && g_str_has_prefix(nic->base.alias, "ua-") ? nic->base.alias : id);
    g_autofree char *mac = NULL;
    if (nic->mac != NULL) {
      mac = g_strdup(nic->mac);
    } else {
      /* deterministic where libvirt picks a random one */
      g_autofree char *seed = g_strdup_printf("%s/%u", def->uuid ? def->uuid : (def->name ? def->name : ""), i);
      guint h = g_str_hash(seed);
      mac = g_strdup_printf("52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff);
    }
    json_object_set_string_member(dev, "mac", mac);
    if (!qb_add_pci_address(b, dev, &nic->base.address, node, &root) ||
        !qb_virtio_options(b, strncmp(driver, "virtio", 6) == 0 ? dev : NULL, &nic->base, root)) {
      json_object_unref(dev);
      return FALSE;
    }
    ic_qemu_argv_add_json(b->argv, "-device", dev);
  }
  return TRUE;
}

gboolean
qb_build_chardevs(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  guint serial_n = 0;
  for (guint i = 0; i < def->chardevs->len; i++) {
    const IcDomainChardev *ch = def->chardevs->pdata[i];
    xmlNodePtr node = ch->base.node;
    const char *el = (const char *) node->name;
    if (strcmp(el, "console") == 0) {
      /* <console> mirroring serial0 (libvirt's default) needs no option */
      if (g_strcmp0(ch->target_type, "serial") == 0 || ch->target_type == NULL)
        continue;
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "console target '%s' is outside what iommuctl models (serial)", ch->target_type);
    }
    if (strcmp(el, "serial") != 0)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "chardev outside what iommuctl models (serial, console)");
    const char *type = ch->type ? ch->type : "pty";
    g_autofree char *id = g_strdup_printf("charserial%u", serial_n);
    g_autofree char *chardev = NULL;
    if (strcmp(type, "pty") == 0 || strcmp(type, "stdio") == 0 || strcmp(type, "null") == 0) {
      chardev = g_strdup_printf("%s,id=%s", type, id);
    } else if (strcmp(type, "file") == 0 || strcmp(type, "unix") == 0) {
      const char *path = qb_attr(b, qb_child(node, "source"), "path");
      if (path == NULL)
        return qb_fail(b, node, IC_ERROR_INVALID_ARG, "serial type '%s' needs <source path=''/>", type);
      g_autofree char *esc = ic_qemu_escape_comma(path);
      if (strcmp(type, "file") == 0)
        chardev = g_strdup_printf("file,id=%s,path=%s", id, esc);
      else
        chardev = g_strdup_printf("socket,id=%s,path=%s,server=on,wait=off", id, esc);
    } else {
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "serial type '%s' is outside what iommuctl models (pty, stdio, null, file, unix)", type);
    }
    ic_qemu_argv_add_text(b->argv, "-chardev", chardev);
    if (b->x86) {
      JsonObject *dev = dev_new("isa-serial");
      json_object_set_string_member(dev, "chardev", id);
      g_autofree char *sid = g_strdup_printf("serial%u", serial_n);
      json_object_set_string_member(dev, "id", sid);
      json_object_set_int_member(dev, "index", serial_n);
      ic_qemu_argv_add_json(b->argv, "-device", dev);
    } else {
      g_autofree char *s = g_strdup_printf("chardev:%s", id);
      ic_qemu_argv_add_text(b->argv, "-serial", s);
    }
    serial_n++;
  }
  return TRUE;
}

gboolean
qb_build_hostdevs(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  gboolean iommufd_object = FALSE;
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = def->hostdevs->pdata[i];
    xmlNodePtr node = h->base.node;
    if (g_strcmp0(h->mode, "subsystem") != 0 || g_strcmp0(h->type, "pci") != 0)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "hostdev mode '%s' type '%s' is outside what iommuctl models (subsystem pci)",
                     h->mode ? h->mode : "", h->type ? h->type : "");
    if (h->driver_name != NULL && strcmp(h->driver_name, "vfio") != 0)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "hostdev driver '%s': only vfio is modelled", h->driver_name);
    if (!h->has_source_pci || h->source_pci_partial)
      return qb_fail(b, node, IC_ERROR_INVALID_ARG, "hostdev needs a complete <source><address domain bus slot function/>");
    if (!ic_qemu_caps_has_device(b->caps, "vfio-pci"))
      return qb_fail_caps(b, node, "VFIO PCI device assignment", "vfio-pci", NULL);
    gboolean iommufd = h->iommufd == IC_TRI_ON;
    if (iommufd) {
      if (!ic_qemu_caps_has_object(b->caps, "iommufd"))
        return qb_fail_caps(b, node, "<driver iommufd='yes'/>", "iommufd", NULL);
      if (!ic_qemu_caps_has_device_prop(b->caps, "vfio-pci", "iommufd"))
        return qb_fail_caps(b, node, "<driver iommufd='yes'/>", "vfio-pci", "iommufd");
      if (!iommufd_object) {
        JsonObject *o = json_object_new();
        json_object_set_string_member(o, "qom-type", "iommufd");
        json_object_set_string_member(o, "id", "iommufd0");
        ic_qemu_argv_add_json(b->argv, "-object", o);
        iommufd_object = TRUE;
      }
    }
    JsonObject *dev = dev_new("vfio-pci");
    char host[IC_PCI_ADDR_STRLEN];
    json_object_set_string_member(dev, "host", ic_pci_addr_format(&h->source_pci, host));
    g_autofree char *id = g_strdup_printf("hostdev%u", i);
    json_object_set_string_member(dev, "id", h->base.alias && g_str_has_prefix(h->base.alias, "ua-") ? h->base.alias : id);
    if (iommufd)
      json_object_set_string_member(dev, "iommufd", "iommufd0");
    if (!qb_add_pci_address(b, dev, &h->base.address, node, NULL)) {
      json_object_unref(dev);
      return FALSE;
    }
    ic_qemu_argv_add_json(b->argv, "-device", dev);
    b->n_vfio++;
    g_ptr_array_add(b->vfio_nodes, (gpointer) h);
  }
  return TRUE;
}

gboolean
qb_build_misc_devices(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  guint rng_n = 0;
  for (guint i = 0; i < def->devices->len; i++) {
    const IcDomainDevice *d = def->devices->pdata[i];
    xmlNodePtr node = d->node;
    if (d->kind == IC_DEV_MEMBALLOON) {
      if (g_strcmp0(d->model, "none") == 0)
        continue;
      const char *driver = g_strcmp0(d->model, "virtio") == 0 ? "virtio-balloon-pci"
                           : g_strcmp0(d->model, "virtio-transitional") == 0 ? "virtio-balloon-pci-transitional"
                           : g_strcmp0(d->model, "virtio-non-transitional") == 0 ? "virtio-balloon-pci-non-transitional"
                           : NULL;
      if (driver == NULL)
        return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "memballoon model '%s' is outside what iommuctl models (virtio, none)",
                       d->model ? d->model : "");
      JsonObject *dev = dev_new(driver);
      gboolean root = FALSE;
      json_object_set_string_member(dev, "id", "balloon0");
      if (!qb_add_pci_address(b, dev, &d->address, node, &root) || !qb_virtio_options(b, dev, d, root)) {
        json_object_unref(dev);
        return FALSE;
      }
      ic_qemu_argv_add_json(b->argv, "-device", dev);
    } else if (d->kind == IC_DEV_RNG) {
      if (g_strcmp0(d->model, "virtio") != 0)
        return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "rng model '%s' is outside what iommuctl models (virtio)", d->model ? d->model : "");
      xmlNodePtr backend = qb_child(node, "backend");
      if (backend == NULL || g_strcmp0(qb_attr(b, backend, "model"), "random") != 0)
        return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "rng backend other than model='random' is outside what iommuctl models");
      const char *file = qb_text(b, backend);
      g_autofree char *obj = g_strdup_printf("objrng%u", rng_n);
      JsonObject *o = json_object_new();
      json_object_set_string_member(o, "qom-type", "rng-random");
      json_object_set_string_member(o, "id", obj);
      json_object_set_string_member(o, "filename", file && *file ? file : "/dev/urandom");
      ic_qemu_argv_add_json(b->argv, "-object", o);
      JsonObject *dev = dev_new("virtio-rng-pci");
      gboolean root = FALSE;
      json_object_set_string_member(dev, "rng", obj);
      g_autofree char *id = g_strdup_printf("rng%u", rng_n);
      json_object_set_string_member(dev, "id", id);
      if (!qb_add_pci_address(b, dev, &d->address, node, &root) || !qb_virtio_options(b, dev, d, root)) {
        json_object_unref(dev);
        return FALSE;
      }
      ic_qemu_argv_add_json(b->argv, "-device", dev);
      rng_n++;
    } else if (d->kind == IC_DEV_INPUT) {
      const char *bus = qb_attr(b, node, "bus");
      if (g_strcmp0(bus, "ps2") != 0)
        return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "input bus '%s' is outside what iommuctl models (ps2, built in)", bus ? bus : "");
    }
  }
  return TRUE;
}

/* ---- <qemu:commandline> and <qemu:override> ------------------------------ */

static gboolean
apply_override_property(QemuBuild *b, JsonObject *dev, xmlNodePtr prop)
{
  const char *name = qb_attr(b, prop, "name");
  const char *type = qb_attr(b, prop, "type");
  const char *value = qb_attr(b, prop, "value");
  if (name == NULL || type == NULL)
    return qb_fail(b, prop, IC_ERROR_INVALID_ARG, "qemu:property needs name and type");
  if (strcmp(type, "remove") == 0) {
    json_object_remove_member(dev, name);
    return TRUE;
  }
  if (value == NULL)
    return qb_fail(b, prop, IC_ERROR_INVALID_ARG, "qemu:property '%s' needs a value", name);
  if (strcmp(type, "string") == 0) {
    json_object_set_string_member(dev, name, value);
  } else if (strcmp(type, "bool") == 0) {
    int v = ic_parse_bool_word(value);
    if (v < 0 || (strcmp(value, "true") != 0 && strcmp(value, "false") != 0))
      return qb_fail(b, prop, IC_ERROR_INVALID_ARG, "qemu:property '%s': bool value must be true or false", name);
    json_object_set_boolean_member(dev, name, v);
  } else if (strcmp(type, "signed") == 0 || strcmp(type, "unsigned") == 0) {
    gint64 v;
    if (!ic_parse_int64(value, 0, strcmp(type, "signed") == 0 ? G_MININT64 : 0, G_MAXINT64, &v))
      return qb_fail(b, prop, IC_ERROR_INVALID_ARG, "qemu:property '%s': '%s' is not a %s number", name, value, type);
    json_object_set_int_member(dev, name, v);
  } else {
    return qb_fail(b, prop, IC_ERROR_INVALID_ARG, "qemu:property type '%s' unknown", type);
  }
  return TRUE;
}

static gboolean
apply_override(QemuBuild *b, xmlNodePtr ov)
{
  for (xmlNodePtr d = ov->children; d; d = d->next) {
    if (d->type != XML_ELEMENT_NODE)
      continue;
    if (strcmp((const char *) d->name, "device") != 0)
      return qb_fail(b, d, IC_ERROR_UNSUPPORTED, "qemu:override child outside what iommuctl models (qemu:device)");
    const char *alias = qb_attr(b, d, "alias");
    IcQemuOpt *opt = alias ? ic_qemu_argv_find_id(b->argv, "-device", alias) : NULL;
    if (opt == NULL)
      return qb_fail(b, d, IC_ERROR_INVALID_ARG, "qemu:override names alias '%s', which no -device has", alias ? alias : "");
    for (xmlNodePtr f = d->children; f; f = f->next) {
      if (f->type != XML_ELEMENT_NODE)
        continue;
      if (strcmp((const char *) f->name, "frontend") != 0)
        return qb_fail(b, f, IC_ERROR_UNSUPPORTED, "qemu:device child outside what iommuctl models (qemu:frontend)");
      for (xmlNodePtr p = f->children; p; p = p->next)
        if (p->type == XML_ELEMENT_NODE && !apply_override_property(b, opt->json, p))
          return FALSE;
    }
  }
  return TRUE;
}

gboolean
qb_apply_qemu_xml(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  for (guint i = 0; def->qemu_override && i < def->qemu_override->len; i++)
    if (!apply_override(b, def->qemu_override->pdata[i]))
      return FALSE;
  /* libvirt appends qemu:arg values verbatim at the end; so do we */
  for (guint i = 0; def->qemu_commandline && i < def->qemu_commandline->len; i++) {
    xmlNodePtr cl = def->qemu_commandline->pdata[i];
    const char *pending = NULL;
    for (xmlNodePtr a = cl->children; a; a = a->next) {
      if (a->type != XML_ELEMENT_NODE)
        continue;
      if (strcmp((const char *) a->name, "arg") != 0)
        return qb_fail(b, a, IC_ERROR_UNSUPPORTED, "qemu:commandline child outside what iommuctl models (qemu:arg)");
      const char *v = qb_attr(b, a, "value");
      if (v == NULL)
        return qb_fail(b, a, IC_ERROR_INVALID_ARG, "qemu:arg without value");
      if (pending != NULL && v[0] != '-') {
        ic_qemu_argv_add_text(b->argv, pending, v);
        pending = NULL;
      } else {
        if (pending != NULL)
          ic_qemu_argv_add_flag(b->argv, pending);
        pending = v;
      }
    }
    if (pending != NULL)
      ic_qemu_argv_add_flag(b->argv, pending);
  }
  return TRUE;
}
