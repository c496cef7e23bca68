/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Domain XML (the domain layer's typed view) -> QEMU argv, in libvirt 9.0's
 * option names and order wherever libvirt can express the same thing, so the
 * IOMMU-relevant parts compare equal as JSON (docs/qemu.md lists the
 * deliberate differences).  Anything outside the modelled subset is refused
 * naming the element: a dropped element would be a silently different VM. */
#include "qemu-private.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- small helpers ------------------------------------------------------- */

/* QEMU's option parser ends a value at a single ',' and reads ",," as one
 * comma; libvirt's virQEMUBuildBufferEscapeComma doubles them.  Every
 * string from the XML that lands inside a comma-separated option goes
 * through here (or through qb_safe_word, where escaping is not enough). */
char *
ic_qemu_escape_comma(const char *value)
{
  GString *s = g_string_sized_new(strlen(value) + 8);
  for (const char *p = value; *p; p++) {
    if (*p == ',')
      g_string_append_c(s, ',');
    g_string_append_c(s, *p);
  }
  return g_string_free(s, FALSE);
}

gboolean
qb_safe_word(const char *value)
{
  if (value == NULL || *value == '\0' || strlen(value) > 128)
    return FALSE;
  for (const char *p = value; *p; p++)
    if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

const char *
qb_attr(QemuBuild *b, xmlNodePtr node, const char *name)
{
  if (node == NULL)
    return NULL;
  xmlChar *v = xmlGetProp(node, (const xmlChar *) name);
  if (v == NULL)
    return NULL;
  char *s = g_strdup((const char *) v);
  xmlFree(v);
  g_ptr_array_add(b->strings, s);
  return s;
}

const char *
qb_text(QemuBuild *b, xmlNodePtr node)
{
  if (node == NULL)
    return NULL;
  xmlChar *v = xmlNodeGetContent(node);
  char *s = g_strstrip(g_strdup(v ? (const char *) v : ""));
  xmlFree(v);
  g_ptr_array_add(b->strings, s);
  return s;
}

xmlNodePtr
qb_child(xmlNodePtr parent, const char *name)
{
  for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, name) == 0)
      return c;
  return NULL;
}

int
qb_line(QemuBuild *b, xmlNodePtr node)
{
  int line = node ? ic_domain_doc_line(b->doc, node) : 0;
  return line > 0 ? line : (node ? (int) xmlGetLineNo(node) : 0);
}

static const char *
doc_name(QemuBuild *b)
{
  const char *f = ic_domain_doc_filename(b->doc);
  return f ? f : "<domain>";
}

gboolean
qb_fail(QemuBuild *b, xmlNodePtr node, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (node != NULL)
    g_set_error(b->error, IC_ERROR, code, "%s:%d: <%s>: %s", doc_name(b), qb_line(b, node),
                (const char *) node->name, msg);
  else
    g_set_error(b->error, IC_ERROR, code, "%s: %s", doc_name(b), msg);
  return FALSE;
}

void
qb_note(QemuBuild *b, const char *code, IcQemuNoteLevel level, xmlNodePtr node, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  IcQemuNote *n = g_new0(IcQemuNote, 1);
  n->code = code;
  n->level = level;
  n->line = node ? qb_line(b, node) : 0;
  n->message = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_ptr_array_add(b->notes, n);
}

/* "needs QEMU >= X; this is QEMU V (binary)" */
gboolean
qb_fail_caps(QemuBuild *b, xmlNodePtr node, const char *what, const char *type, const char *prop)
{
  const char *since = ic_qemu_feature_since(type, prop);
  return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "%s needs %s%s%s%s (QEMU >= %s); this is QEMU %s (%s)",
                 what, type, prop ? " property '" : "", prop ? prop : "", prop ? "'" : "",
                 since ? since : "a newer version", ic_qemu_caps_version(b->caps),
                 ic_qemu_caps_binary(b->caps) ? ic_qemu_caps_binary(b->caps) : "capability file");
}

static void
note_free(gpointer p)
{
  IcQemuNote *n = p;
  g_free(n->message);
  g_free(n);
}

void
ic_qemu_build_free(IcQemuBuild *build)
{
  if (build == NULL)
    return;
  ic_qemu_argv_free(build->argv);
  if (build->notes)
    g_ptr_array_unref(build->notes);
  g_free(build);
}


/* ---- PCI placement -------------------------------------------------------- */

/* The QEMU bus id of libvirt PCI bus number N. */
const char *
qb_bus_id(QemuBuild *b, guint bus, xmlNodePtr node)
{
  if (bus == 0)
    return b->virt ? "pcie.0" : (b->q35 ? "pcie.0" : "pci.0");
  const IcDomainController *c = g_hash_table_lookup(b->pci_controllers, GUINT_TO_POINTER(bus));
  if (c == NULL) {
    qb_fail(b, node, IC_ERROR_INVALID_ARG, "PCI address names bus %u, but no PCI controller has index %u",
            bus, bus);
    return NULL;
  }
  return qb_controller_alias(b, c);
}

static gboolean
slot_used(QemuBuild *b, guint bus, guint slot)
{
  return g_hash_table_contains(b->used_slots, GUINT_TO_POINTER((bus << 8) | slot));
}

void
qb_reserve_slot(QemuBuild *b, guint bus, guint slot)
{
  g_hash_table_add(b->used_slots, GUINT_TO_POINTER((bus << 8) | slot));
}

/* Put "bus"/"addr"(/"multifunction") for a device; without an <address>,
 * the next free slot on the root bus (libvirt would create root ports;
 * see docs/qemu.md). */
gboolean
qb_add_pci_address(QemuBuild *b, JsonObject *dev, const IcDevAddress *addr, xmlNodePtr node,
                   gboolean *on_root_bus)
{
  guint bus, slot, function = 0;
  gboolean multi = FALSE;
  if (addr->type == IC_ADDR_PCI) {
    if (addr->pci.domain != 0)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "PCI domain %u is outside what iommuctl models (0 only)",
                     addr->pci.domain);
    bus = addr->pci.bus;
    slot = addr->pci.slot;
    function = addr->pci.function;
    multi = addr->pci_multifunction;
  } else if (addr->type == IC_ADDR_NONE) {
    bus = 0;
    slot = b->pc ? 2 : 1;
    while (slot < 0x1f && slot_used(b, 0, slot))
      slot++;
    if (slot >= 0x1f)
      return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "no free slot left on the root bus; give an <address>");
    qb_reserve_slot(b, 0, slot);
  } else {
    return qb_fail(b, node, IC_ERROR_UNSUPPORTED, "address type '%s' is outside what iommuctl models",
                   addr->type_name ? addr->type_name : "?");
  }
  const char *bus_id = qb_bus_id(b, bus, node);
  if (bus_id == NULL)
    return FALSE;
  json_object_set_string_member(dev, "bus", bus_id);
  if (multi)
    json_object_set_boolean_member(dev, "multifunction", TRUE);
  g_autofree char *a = function ? g_strdup_printf("0x%x.0x%x", slot, function) : g_strdup_printf("0x%x", slot);
  json_object_set_string_member(dev, "addr", a);
  if (on_root_bus)
    *on_root_bus = (bus == 0);
  return TRUE;
}

/* ---- build ------------------------------------------------------------------ */

static gboolean
build_machine_checks(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  if (def->kind != IC_DOMAIN_DOC_DOMAIN)
    return qb_fail(b, NULL, IC_ERROR_INVALID_ARG, "not a <domain> document");
  if (def->type == NULL || (strcmp(def->type, "qemu") != 0 && strcmp(def->type, "kvm") != 0))
    return qb_fail(b, def->root, IC_ERROR_UNSUPPORTED, "domain type '%s' is outside what iommuctl models (qemu, kvm)",
                   def->type ? def->type : "");
  if (def->os_type != NULL && strcmp(def->os_type, "hvm") != 0)
    return qb_fail(b, def->os, IC_ERROR_UNSUPPORTED, "os type '%s' is outside what iommuctl models (hvm)",
                   def->os_type);
  const char *arch = def->arch ? def->arch : "x86_64";
  b->x86 = strcmp(arch, "x86_64") == 0 || strcmp(arch, "i686") == 0;
  b->arm = strcmp(arch, "aarch64") == 0;
  if (!b->x86 && !b->arm)
    return qb_fail(b, def->os, IC_ERROR_UNSUPPORTED, "architecture '%s' is outside what iommuctl models (x86_64, aarch64)", arch);
  const char *machine = def->machine ? def->machine : (b->x86 ? "pc" : "virt");
  b->machine_full = ic_qemu_caps_resolve_machine(b->caps, machine);
  if (b->machine_full == NULL)
    return qb_fail(b, def->os, IC_ERROR_UNSUPPORTED, "machine type '%s' is not offered by QEMU %s (%s)", machine,
                   ic_qemu_caps_version(b->caps), b->binary);
  b->q35 = g_str_has_prefix(b->machine_full, "pc-q35") || strcmp(b->machine_full, "q35") == 0;
  b->pc = g_str_has_prefix(b->machine_full, "pc-i440fx") || strcmp(b->machine_full, "pc") == 0;
  b->virt = g_str_has_prefix(b->machine_full, "virt");
  if (!b->q35 && !b->pc && !b->virt)
    return qb_fail(b, def->os, IC_ERROR_UNSUPPORTED, "machine type '%s' is outside what iommuctl models (q35, pc, virt)",
                   b->machine_full);
  b->tcg = strcmp(def->type, "qemu") == 0;
  return TRUE;
}

/* Top-level and <features>/<devices> elements iommuctl knows; others are
 * refused by name. */
static gboolean
check_subset(QemuBuild *b)
{
  static const char *const top[] = {"name", "uuid", "title", "description", "metadata", "memory",
                                    "currentMemory", "vcpu", "os", "features", "cpu", "clock",
                                    "on_poweroff", "on_reboot", "on_crash", "memoryBacking",
                                    "devices", "commandline", "override", "resource", "seclabel", NULL};
  static const char *const features[] = {"acpi", "apic", "ioapic", "pae", NULL};
  static const char *const devices[] = {"emulator", "disk", "interface", "controller", "hostdev",
                                        "iommu", "memballoon", "rng", "serial", "console", "input",
                                        NULL};
  for (xmlNodePtr c = b->def->root->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (!g_strv_contains(top, (const char *) c->name))
      return qb_fail(b, c, IC_ERROR_UNSUPPORTED, "element outside what iommuctl models; it would be dropped from the QEMU command line");
    gboolean qemu_el = strcmp((const char *) c->name, "commandline") == 0 || strcmp((const char *) c->name, "override") == 0;
    const char *href = c->ns && c->ns->href ? (const char *) c->ns->href : NULL;
    if (qemu_el && g_strcmp0(href, IC_QEMU_LIBVIRT_NS) != 0)
      return qb_fail(b, c, IC_ERROR_UNSUPPORTED, "not in libvirt's qemu namespace (%s); libvirt would not apply it",
                     IC_QEMU_LIBVIRT_NS);
    if (!qemu_el && href != NULL)
      return qb_fail(b, c, IC_ERROR_UNSUPPORTED, "element in namespace %s outside what iommuctl models", href);
  }
  for (xmlNodePtr c = b->def->features ? b->def->features->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !g_strv_contains(features, (const char *) c->name))
      return qb_fail(b, c, IC_ERROR_UNSUPPORTED, "feature outside what iommuctl models (acpi, apic, ioapic, pae)");
  for (xmlNodePtr c = b->def->devices_node ? b->def->devices_node->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !g_strv_contains(devices, (const char *) c->name))
      return qb_fail(b, c, IC_ERROR_UNSUPPORTED, "device outside what iommuctl models");
  if (b->def->memory_backing != NULL)
    for (xmlNodePtr c = b->def->memory_backing->children; c; c = c->next)
      if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, "locked") != 0)
        return qb_fail(b, c, IC_ERROR_UNSUPPORTED, "memoryBacking option outside what iommuctl models (locked)");
  if (b->def->max_memory_kib != 0)
    return qb_fail(b, b->def->root, IC_ERROR_UNSUPPORTED, "<maxMemory> (memory hotplug) is outside what iommuctl models");
  static const char *const os_children[] = {"type", "kernel", "initrd", "cmdline", "boot", NULL};
  for (xmlNodePtr c = b->def->os ? b->def->os->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !g_strv_contains(os_children, (const char *) c->name))
      return qb_fail(b, c, IC_ERROR_UNSUPPORTED, "os element outside what iommuctl models (type, kernel, initrd, cmdline, boot)");
  return TRUE;
}

static gboolean
build_machine(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  /* the machine type comes from the capabilities (a --qemu-caps file is
   * the operator's, but still a file): a plain word or nothing */
  if (!qb_safe_word(b->machine_full))
    return qb_fail(b, def->os, IC_ERROR_INVALID_ARG, "machine type '%s' is not a plain name", b->machine_full);
  GString *m = g_string_new(b->machine_full);
  if (b->q35 || b->pc)
    g_string_append(m, ",usb=off");
  if (def->ioapic_driver != NULL) {
    if (!b->x86) {
      g_string_free(m, TRUE);
      return qb_fail(b, qb_child(def->features, "ioapic"), IC_ERROR_UNSUPPORTED,
                     "The 'ioapic' feature is not supported for architecture '%s' or machine type '%s'",
                     def->arch ? def->arch : "", b->machine_full);
    }
    if (strcmp(def->ioapic_driver, "qemu") == 0)
      g_string_append(m, ",kernel_irqchip=split");
    else if (strcmp(def->ioapic_driver, "kvm") == 0)
      g_string_append(m, ",kernel_irqchip=on");
    else {
      g_string_free(m, TRUE);
      return qb_fail(b, qb_child(def->features, "ioapic"), IC_ERROR_INVALID_ARG, "ioapic driver '%s' is neither qemu nor kvm",
                     def->ioapic_driver);
    }
  }
  if (b->viommu != NULL && b->viommu->model == IC_VIOMMU_SMMUV3)
    g_string_append(m, ",iommu=smmuv3");
  if (b->virt)
    g_string_append(m, ",gic-version=3");
  g_string_append(m, ",dump-guest-core=off");
  ic_qemu_argv_add_text(b->argv, "-machine", m->str);
  g_string_free(m, TRUE);
  ic_qemu_argv_add_text(b->argv, "-accel", b->tcg ? "tcg" : "kvm");
  return TRUE;
}

static gboolean
build_cpu_memory(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  xmlNodePtr cpu = def->cpu;
  const char *model = NULL;
  if (cpu != NULL) {
    const char *mode = def->cpu_mode ? def->cpu_mode : "custom";
    if (strcmp(mode, "host-passthrough") == 0 || strcmp(mode, "host-model") == 0) {
      if (b->tcg)
        return qb_fail(b, cpu, IC_ERROR_UNSUPPORTED, "cpu mode '%s' needs KVM (domain type='kvm')", mode);
      model = "host";
    } else if (strcmp(mode, "maximum") == 0) {
      model = "max";
    } else if (strcmp(mode, "custom") == 0) {
      model = qb_text(b, qb_child(cpu, "model"));
      if (model == NULL || *model == '\0')
        return qb_fail(b, cpu, IC_ERROR_UNSUPPORTED, "cpu mode 'custom' without <model>");
      /* the model is -cpu's first word: a comma would add properties
       * (",pmu=on,..."); CPU model names are plain words */
      if (!qb_safe_word(model)) {
        g_autofree char *shown = g_strescape(model, NULL);
        return qb_fail(b, qb_child(cpu, "model"), IC_ERROR_INVALID_ARG,
                       "CPU model \"%s\" is not a CPU model name (letters, digits, '-', '_', '.')", shown);
      }
    } else {
      return qb_fail(b, cpu, IC_ERROR_UNSUPPORTED, "cpu mode '%s' is outside what iommuctl models", mode);
    }
    for (xmlNodePtr c = cpu->children; c; c = c->next)
      if (c->type == XML_ELEMENT_NODE && strcmp((const char *) c->name, "model") != 0)
        return qb_fail(b, c, IC_ERROR_UNSUPPORTED, "cpu element outside what iommuctl models (model)");
  } else {
    model = b->x86 ? "qemu64" : "max"; /* libvirt's default for x86 */
  }
  if (model != NULL)
    ic_qemu_argv_add_text(b->argv, "-cpu", model);

  guint64 kib = def->memory_kib;
  g_autofree char *mem = kib % 1024 == 0 ? g_strdup_printf("%" G_GUINT64_FORMAT, kib / 1024)
                                         : g_strdup_printf("size=%" G_GUINT64_FORMAT "k", kib);
  ic_qemu_argv_add_text(b->argv, "-m", mem);
  ic_qemu_argv_add_text(b->argv, "-overcommit", def->locked ? "mem-lock=on" : "mem-lock=off");
  guint max = def->vcpus_max ? def->vcpus_max : 1;
  guint cur = def->vcpus_current ? def->vcpus_current : max;
  g_autofree char *smp = cur == max ? g_strdup_printf("%u,sockets=%u,cores=1,threads=1", max, max)
                                    : g_strdup_printf("%u,maxcpus=%u,sockets=%u,cores=1,threads=1", cur, max, max);
  ic_qemu_argv_add_text(b->argv, "-smp", smp);
  if (def->uuid != NULL)
    ic_qemu_argv_add_text(b->argv, "-uuid", def->uuid);
  return TRUE;
}

static gboolean
build_boot(QemuBuild *b)
{
  const IcDomainDef *def = b->def;
  ic_qemu_argv_add_text(b->argv, "-rtc", "base=utc");
  for (guint i = 0; def->boot_devs && i < def->boot_devs->len; i++) {
    const char *dev = def->boot_devs->pdata[i];
    if (strcmp(dev, "hd") != 0)
      return qb_fail(b, def->os, IC_ERROR_UNSUPPORTED, "boot dev '%s' is outside what iommuctl models (hd)", dev);
    b->boot_hd = TRUE;
  }
  /* libvirt applies on_reboot over QMP after start; a bare QEMU needs the
   * option (a panicking guest must not reboot forever) */
  const char *on_reboot = qb_text(b, qb_child(def->root, "on_reboot"));
  if (on_reboot != NULL && strcmp(on_reboot, "destroy") == 0)
    ic_qemu_argv_add_flag(b->argv, "-no-reboot");
  ic_qemu_argv_add_text(b->argv, "-boot", "strict=on");
  if (def->kernel)
    ic_qemu_argv_add_text(b->argv, "-kernel", def->kernel);
  if (def->initrd)
    ic_qemu_argv_add_text(b->argv, "-initrd", def->initrd);
  if (def->cmdline)
    ic_qemu_argv_add_text(b->argv, "-append", def->cmdline);
  return TRUE;
}

static void
build_monitor(QemuBuild *b)
{
  ic_qemu_argv_add_text(b->argv, "-display", "none");
  ic_qemu_argv_add_flag(b->argv, "-no-user-config");
  ic_qemu_argv_add_flag(b->argv, "-nodefaults");
  if (b->opts->qmp_socket != NULL) {
    g_autofree char *path = ic_qemu_escape_comma(b->opts->qmp_socket);
    g_autofree char *chr = g_strdup_printf("socket,id=charmonitor,path=%s,server=on,wait=off", path);
    ic_qemu_argv_add_text(b->argv, "-chardev", chr);
    ic_qemu_argv_add_text(b->argv, "-mon", "chardev=charmonitor,id=monitor,mode=control");
  }
}

IcQemuBuild *
ic_qemu_build(IcContext *ctx, const IcDomainDoc *doc, const IcQemuBuildOptions *opts, GError **error)
{
  g_return_val_if_fail(opts != NULL && opts->caps != NULL, NULL);
  QemuBuild b = {0};
  b.ctx = ctx;
  b.doc = doc;
  b.def = ic_domain_doc_def(doc);
  b.opts = opts;
  b.caps = opts->caps;
  b.error = error;
  b.binary = opts->binary ? opts->binary : ic_qemu_caps_binary(opts->caps);
  b.strings = g_ptr_array_new_with_free_func(g_free);
  b.used_slots = g_hash_table_new(g_direct_hash, g_direct_equal);
  b.pci_controllers = g_hash_table_new(g_direct_hash, g_direct_equal);
  b.bypass_buses = g_hash_table_new(g_direct_hash, g_direct_equal);
  b.notes = g_ptr_array_new_with_free_func(note_free);
  b.argv = ic_qemu_argv_new(b.binary ? b.binary : "qemu-system-x86_64");
  b.default_bypass = -1;

  gboolean ok = build_machine_checks(&b) && check_subset(&b) && qb_collect(&b) &&
                qb_viommu_validate(&b) && qb_bypass_collect(&b);
  if (ok) {
    /* libvirt 9.0: "guest=NAME,debug-threads=on" with NAME's commas doubled;
     * unescaped, <name>vm,process=pwn</name> renames the process */
    g_autofree char *guest = ic_qemu_escape_comma(b.def->name ? b.def->name : "iommuctl");
    g_autofree char *name = g_strdup_printf("guest=%s,debug-threads=on", guest);
    ic_qemu_argv_add_text(b.argv, "-name", name);
    if (opts->paused)
      ic_qemu_argv_add_flag(b.argv, "-S");
    ok = build_machine(&b) && build_cpu_memory(&b);
  }
  if (ok) {
    build_monitor(&b);
    ok = build_boot(&b) && qb_build_viommu(&b) && qb_build_controllers(&b) && qb_build_disks(&b) &&
         qb_build_interfaces(&b) && qb_build_chardevs(&b) && qb_build_hostdevs(&b) &&
         qb_build_misc_devices(&b) && qb_apply_qemu_xml(&b) && qb_viommu_postcheck(&b) &&
         qb_bypass_notes(&b);
  }
  g_ptr_array_unref(b.strings);
  g_hash_table_unref(b.used_slots);
  g_hash_table_unref(b.pci_controllers);
  g_hash_table_unref(b.bypass_buses);
  if (b.vfio_nodes)
    g_ptr_array_unref(b.vfio_nodes);
  if (!ok) {
    ic_qemu_argv_free(b.argv);
    g_ptr_array_unref(b.notes);
    return NULL;
  }
  IcQemuBuild *out = g_new0(IcQemuBuild, 1);
  out->argv = b.argv;
  out->notes = b.notes;
  return out;
}
