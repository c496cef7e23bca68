/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* `domain qemu-args`: libvirt's own command line, through its embedded QEMU
 * driver (engine.c), and on top only what libvirt cannot do:
 *   - lint's checks first (errors refuse), under the libvirt version asked
 *     for, and again under the installed libvirt when that is older: a
 *     feature the engine here does not know is refused with the version it
 *     needs, never dropped;
 *   - the per-bus IOMMU bypass that `domain bypass` records (bypass.c);
 *   - whole-group handling of hostdevs (the assign layer's plan);
 *   - the memlock estimate (the domain layer's);
 *   - the emulator it executes passes the trusted-binary rule;
 *   - --qemu-version: the argv checked against iommuctl's version table. */
#include "qemu-private.h"
#include <iommuctl/assign.h>

#include <stdarg.h>

int
qb_line(QemuBuild *b, xmlNodePtr node)
{
  int line = node ? ic_domain_doc_line(b->doc, node) : 0;
  return line > 0 ? line : (node ? (int) xmlGetLineNo(node) : 0);
}

static const char *
doc_name(const IcDomainDoc *doc)
{
  const char *f = ic_domain_doc_filename(doc);
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
    g_set_error(b->error, IC_ERROR, code, "%s:%d: <%s>: %s", doc_name(b->doc), qb_line(b, node),
                (const char *) node->name, msg);
  else
    g_set_error(b->error, IC_ERROR, code, "%s: %s", doc_name(b->doc), msg);
  return FALSE;
}

static void
note_add(GPtrArray *notes, const char *code, IcQemuNoteLevel level, int line, char *message)
{
  IcQemuNote *n = g_new0(IcQemuNote, 1);
  n->code = code;
  n->level = level;
  n->line = line;
  n->message = message;
  g_ptr_array_add(notes, n);
}

void
qb_note(QemuBuild *b, const char *code, IcQemuNoteLevel level, xmlNodePtr node, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  note_add(b->notes, code, level, node ? qb_line(b, node) : 0, msg);
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
  g_strfreev(build->env);
  g_free(build->xml);
  if (build->notes)
    g_ptr_array_unref(build->notes);
  g_free(build);
}

/* ---- lint ----------------------------------------------------------------------- */

static char *
finding_text(const IcLintFinding *f)
{
  return f->hint ? g_strdup_printf("%s; fix: %s", f->message, f->hint) : g_strdup(f->message);
}

/* The installed libvirt: the engine's library, else the files on disk,
 * else 9.0. */
static guint
installed_libvirt(IcQemuEngine *engine)
{
  guint v = engine ? ic_qemu_engine_libvirt_code(engine) : 0;
  if (v == 0)
    v = ic_libvirt_version_installed(NULL);
  return v ? v : 9000000;
}

static gboolean
same_finding(const IcLintFinding *a, const IcLintFinding *b)
{
  return strcmp(a->code, b->code) == 0 && a->line == b->line;
}

static gboolean
lint_first(QemuBuild *b, guint asked, guint here)
{
  IcLintOptions lo = {.libvirt_version = asked};
  g_autoptr(GPtrArray) findings = ic_domain_lint(b->doc, &lo);
  for (guint i = 0; i < findings->len; i++) {
    const IcLintFinding *f = findings->pdata[i];
    g_autofree char *text = finding_text(f);
    if (f->severity >= IC_LINT_ERROR) {
      g_set_error(b->error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s:%d: lint error: %s [%s]", doc_name(b->doc),
                  f->line, text, f->code);
      return FALSE;
    }
    if (f->severity == IC_LINT_WARNING)
      note_add(b->notes, f->code, IC_QEMU_NOTE_WARNING, f->line, g_steal_pointer(&text));
  }
  /* The engine is the installed libvirt: what it does not know (a newer
   * version's feature, accepted by the rules of the version asked for) it
   * would refuse or, for a few attributes, parse and drop silently. */
  if (asked <= here)
    return TRUE;
  IcLintOptions lh = {.libvirt_version = here};
  g_autoptr(GPtrArray) at_here = ic_domain_lint(b->doc, &lh);
  for (guint i = 0; i < at_here->len; i++) {
    const IcLintFinding *f = at_here->pdata[i];
    if (f->severity < IC_LINT_ERROR)
      continue;
    gboolean also_asked = FALSE;
    for (guint k = 0; k < findings->len && !also_asked; k++)
      also_asked = same_finding(findings->pdata[k], f);
    if (also_asked)
      continue;
    g_autofree char *text = finding_text(f);
    g_set_error(b->error, IC_ERROR, IC_ERROR_UNSUPPORTED,
                "%s:%d: the installed libvirt %u.%u cannot launch this (--libvirt-version %u.%u accepts it): %s [%s]",
                doc_name(b->doc), f->line, here / 1000000, here / 1000 % 1000, asked / 1000000, asked / 1000 % 1000,
                text, f->code);
    return FALSE;
  }
  return TRUE;
}

/* ---- nothing dropped ------------------------------------------------------------------ */

/* Each <iommu><driver> attribute and the QEMU property libvirt turns it
 * into, with the libvirt that first knows it: an older libvirt parses the
 * XML and drops what it does not know, silently (measured on 9.0 with
 * dma_translation).  What the argv lacks is refused, naming the version. */
static const struct {
  const char *attr, *prop, *since;
} viommu_attrs[] = {
  {"intremap", "intremap", "3.4"},        {"caching_mode", "caching-mode", "3.4"},
  {"eim", "eim", "3.4"},                  {"iotlb", "device-iotlb", "3.5"},
  {"aw_bits", "aw-bits", "6.5"},          {"dma_translation", "dma-translation", "10.7"},
  {"passthrough", "pt", "11.5"},          {"xtsup", "xtsup", "11.5"},
};

static gboolean
check_viommu_expressed(QemuBuild *b, IcQemuArgv *argv)
{
  const IcDomainIommu *io = b->viommu;
  if (io == NULL || io->driver == NULL || (io->model != IC_VIOMMU_INTEL && io->model != IC_VIOMMU_AMD))
    return TRUE;
  JsonObject *dev = NULL;
  for (guint i = 0; i < argv->opts->len && dev == NULL; i++) {
    IcQemuOpt *o = argv->opts->pdata[i];
    if (strcmp(o->name, "-device") != 0 || o->text == NULL || strstr(o->text, "-iommu\"") == NULL)
      continue;
    JsonObject *j = ic_qemu_opt_json(o);
    const char *drv = j ? json_object_get_string_member_with_default(j, "driver", "") : "";
    if (strcmp(drv, "intel-iommu") == 0 || strcmp(drv, "amd-iommu") == 0)
      dev = j;
  }
  for (gsize i = 0; i < G_N_ELEMENTS(viommu_attrs); i++) {
    xmlChar *v = xmlGetProp(io->driver, BAD_CAST viommu_attrs[i].attr);
    gboolean given = v != NULL;
    xmlFree(v);
    if (!given || (dev != NULL && json_object_has_member(dev, viommu_attrs[i].prop)))
      continue;
    return qb_fail(b, io->driver, IC_ERROR_UNSUPPORTED,
                   "%s='…' is not in the command line libvirt made (libvirt knows it since %s; the installed "
                   "libvirt drops what it does not know): upgrade libvirt or remove the attribute",
                   viommu_attrs[i].attr, viommu_attrs[i].since);
  }
  return TRUE;
}

/* libvirt's domxml-to-native (not a real start) writes every <interface>
 * as a tap fd and leaves its virtio options out of the virtio-net device
 * (measured on 9.0: no iommu_platform); a real start has them.  Say so
 * rather than let the printed argv look complete. */
static void
note_interfaces(QemuBuild *b)
{
  for (guint i = 0; i < b->def->devices->len; i++) {
    const IcDomainDevice *d = b->def->devices->pdata[i];
    if (d->kind != IC_DEV_INTERFACE || !d->virtio)
      continue;
    if (d->opts.iommu != IC_TRI_ABSENT || d->opts.ats != IC_TRI_ABSENT || d->opts.packed != IC_TRI_ABSENT ||
        d->opts.page_per_vq != IC_TRI_ABSENT)
      qb_note(b, "IC-Q032", IC_QEMU_NOTE_WARNING, d->node,
              "libvirt's domxml-to-native leaves this interface's <driver> virtio options (iommu, ats, packed, "
              "page_per_vq) out of its virtio-net-pci and shows a tap netdev; a real start (run, --verify) has "
              "them: for interfaces this argv is not what runs");
  }
}

/* ---- hostdevs: whole IOMMU groups ---------------------------------------------------- */

static gboolean
in_domain(const IcDomainDef *def, const IcPciAddr *a)
{
  for (guint i = 0; i < def->hostdevs->len; i++) {
    const IcDomainHostdev *h = def->hostdevs->pdata[i];
    if (h->has_source_pci && ic_pci_addr_equal(&h->source_pci, a))
      return TRUE;
  }
  return FALSE;
}

/* vfio hands the guest a whole IOMMU group or nothing: `run` detaches the
 * group, so say here what else goes with each hostdev, and what blocks it. */
static void
note_groups(QemuBuild *b)
{
  g_autoptr(GArray) addrs = g_array_new(FALSE, FALSE, sizeof(IcPciAddr));
  for (guint i = 0; i < b->def->hostdevs->len; i++) {
    const IcDomainHostdev *h = b->def->hostdevs->pdata[i];
    if (h->has_source_pci && !h->source_pci_partial && g_strcmp0(h->type, "pci") == 0)
      g_array_append_val(addrs, h->source_pci);
  }
  if (addrs->len == 0)
    return;
  g_autoptr(GError) err = NULL;
  g_autoptr(IcAssignPlan) plan = ic_assign_plan_new(b->ctx, (const IcPciAddr *) addrs->data, addrs->len, NULL, &err);
  if (plan == NULL) {
    qb_note(b, "IC-Q040", IC_QEMU_NOTE_INFO, NULL,
            "the hostdevs' IOMMU groups cannot be checked on this host: %s", err->message);
    return;
  }
  for (guint g = 0; g < plan->groups->len; g++) {
    const IcAssignGroup *grp = plan->groups->pdata[g];
    for (guint m = 0; m < grp->members->len; m++) {
      const IcAssignMember *mem = grp->members->pdata[m];
      if (mem->action == IC_ASSIGN_BLOCKED)
        qb_note(b, "IC-Q041", IC_QEMU_NOTE_WARNING, NULL,
                "IOMMU group %u: %s cannot leave the host (%s); the group's hostdevs cannot be assigned", grp->number,
                mem->name, mem->reason ? mem->reason : "in use");
      else if (mem->action == IC_ASSIGN_DETACH && !in_domain(b->def, &mem->addr))
        qb_note(b, "IC-Q042", IC_QEMU_NOTE_WARNING, NULL,
                "IOMMU group %u: %s is not in the domain but shares the group: `iommuctl run` detaches it too "
                "(vfio assigns whole groups), and the host loses it meanwhile", grp->number, mem->name);
    }
  }
  for (guint i = 0; i < plan->warnings->len; i++)
    qb_note(b, "IC-Q043", IC_QEMU_NOTE_INFO, NULL, "%s", (const char *) plan->warnings->pdata[i]);
}

/* ---- memlock ------------------------------------------------------------------------- */

static void
note_memlock(QemuBuild *b, IcQemuBuild *out, guint64 host_ram)
{
  IcMemlockReport r = {0};
  g_autoptr(GError) err = NULL;
  if (!ic_domain_memlock(b->def, host_ram, &r, &err))
    return;
  out->memlock_bytes = r.estimate_unlimited ? G_MAXUINT64 : r.estimate_bytes;
  if (r.estimate_unlimited || r.estimate_bytes > 0 || r.libvirt_unlimited || r.libvirt_bytes > 0) {
    g_autofree char *est = r.estimate_unlimited ? g_strdup("unlimited") : g_format_size_full(r.estimate_bytes, G_FORMAT_SIZE_IEC_UNITS);
    g_autofree char *lv = r.libvirt_unlimited ? g_strdup("unlimited")
                          : r.libvirt_bytes ? g_format_size_full(r.libvirt_bytes, G_FORMAT_SIZE_IEC_UNITS)
                                            : g_strdup("no limit set");
    qb_note(b, "IC-Q050", r.exceeds_host_ram ? IC_QEMU_NOTE_WARNING : IC_QEMU_NOTE_INFO, NULL,
            "locked memory: iommuctl estimates %s (%s); libvirt sets %s%s", est, r.estimate_why ? r.estimate_why : "",
            lv, r.exceeds_host_ram ? "; more than this host's RAM" : "");
  }
  ic_memlock_report_clear(&r);
}

/* ---- the XML handed over --------------------------------------------------------------- */

/* A copy of doc with iommuctl's additions made (today: the bypass realised
 * from the metadata), or NULL when nothing is added. */
static IcDomainDoc *
with_additions(QemuBuild *b)
{
  if (!b->realise_metadata)
    return NULL;
  gsize len = 0;
  const char *bytes = ic_domain_doc_bytes(b->doc, &len);
  g_autoptr(IcDomainDoc) copy = ic_domain_doc_parse(bytes, len, ic_domain_doc_filename(b->doc), b->error);
  if (copy == NULL)
    return NULL;
  IcQemuBypassEdit edit = {.default_bus = b->meta_default, .buses = b->meta_buses};
  if (!ic_qemu_bypass_apply(copy, &edit, NULL, b->error))
    return NULL;
  return g_steal_pointer(&copy);
}

/* libvirt refuses type='kvm' where there is no /dev/kvm; say why, since
 * its text does not. */
static void
explain_kvm(QemuBuild *b, GError **error)
{
  if (*error == NULL || strstr((*error)->message, "virt type 'kvm'") == NULL)
    return;
  g_autofree char *kvm = ic_context_sys_path(b->ctx, "/dev/kvm");
  if (g_file_test(kvm, G_FILE_TEST_EXISTS))
    return;
  g_prefix_error(error, "%s", "");
  g_autofree char *msg = g_strdup_printf("%s (this host has no /dev/kvm: libvirt makes no command line for "
                                         "<domain type='kvm'> here; type='qemu' is TCG)", (*error)->message);
  g_free((*error)->message);
  (*error)->message = g_steal_pointer(&msg);
}

IcQemuBuild *
ic_qemu_build(IcQemuEngine *engine, IcContext *ctx, const IcDomainDoc *doc, const IcQemuBuildOptions *opts,
              GError **error)
{
  const IcDomainDef *def = ic_domain_doc_def(doc);
  if (def->kind != IC_DOMAIN_DOC_DOMAIN) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: not a <domain> document", doc_name(doc));
    return NULL;
  }
  g_autoptr(IcQemuBuild) out = g_new0(IcQemuBuild, 1);
  out->notes = g_ptr_array_new_with_free_func(note_free);
  QemuBuild b = {
    .ctx = ctx,
    .doc = doc,
    .def = def,
    .error = error,
    .notes = out->notes,
    .viommu = def->iommus->len > 0 ? def->iommus->pdata[0] : NULL,
    .pci_controllers = g_hash_table_new(g_direct_hash, g_direct_equal),
    .default_bypass = -1,
    .bypass_buses = g_hash_table_new(g_direct_hash, g_direct_equal),
  };
  for (guint i = 0; i < def->controllers->len; i++) {
    const IcDomainController *c = def->controllers->pdata[i];
    if (g_strcmp0(c->type, "pci") == 0 && c->index >= 0)
      g_hash_table_insert(b.pci_controllers, GUINT_TO_POINTER((guint) c->index), (gpointer) c);
  }
  guint here = installed_libvirt(engine);
  guint asked = opts->libvirt_version ? opts->libvirt_version : here;
  gboolean ok = lint_first(&b, asked, here) && qb_bypass_collect(&b) && qb_bypass_notes(&b);
  g_autoptr(IcDomainDoc) added = ok ? with_additions(&b) : NULL;
  ok = ok && (!b.realise_metadata || added != NULL);
  if (ok) {
    if (!opts->skip_groups)
      note_groups(&b);
    note_interfaces(&b);
    note_memlock(&b, out, opts->host_ram_bytes);
    if (engine != NULL) {
      out->xml = ic_qemu_engine_prepare_xml(engine, added ? added : doc, opts->emulator, error);
    } else {
      /* iommuctl's part alone (fuzz-qemu-args): the XML it would hand over */
      gsize len = 0;
      const char *bytes = ic_domain_doc_bytes(added ? added : doc, &len);
      out->xml = g_strndup(bytes, len);
    }
    ok = out->xml != NULL;
  }
  g_auto(GStrv) words = NULL;
  if (ok && engine != NULL) {
    words = ic_qemu_engine_xml_to_argv(engine, out->xml, doc_name(doc), &out->env, error);
    explain_kvm(&b, error);
    ok = words != NULL;
  }
  if (ok && words != NULL) {
    out->argv = ic_qemu_argv_from_strv((const char *const *) words);
    ok = check_viommu_expressed(&b, out->argv);
    if (ok && opts->qemu_version != NULL) {
      ic_qemu_argv_parse_json(out->argv);
      ok = ic_qemu_argv_check_version(out->argv, opts->qemu_version, doc_name(doc), error);
    }
  }
  g_hash_table_unref(b.pci_controllers);
  g_hash_table_unref(b.bypass_buses);
  if (b.meta_buses)
    g_array_unref(b.meta_buses);
  return ok ? g_steal_pointer(&out) : NULL;
}
