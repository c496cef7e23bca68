/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-host-bridge IOMMU bypass, which libvirt has no XML for.
 *
 * Design (docs/qemu.md): the intent is recorded in <metadata> under our own
 * namespace, and realised with what libvirt 9.0 already passes through:
 *   - a pxb-pcie's bypass_iommu: <qemu:override><qemu:device alias='pci.N'>
 *     <qemu:frontend><qemu:property name='bypass_iommu' type='bool'
 *     value='true'/>, which libvirt merges into that -device's JSON (per
 *     device, unlike -global pxb-pcie.bypass_iommu);
 *   - the machine's default-bus-bypass-iommu: <qemu:commandline> args
 *     "-machine" "default-bus-bypass-iommu=on"; QEMU merges repeated -machine
 *     options, and the q35 host bridge takes the machine property at init
 *     (a -global on q35-pcihost would be overwritten by it).
 * qemu-args hands the file to libvirt, which launches the realisation; it
 * warns when the metadata disagrees, and realises the metadata itself when
 * the file has none of the realisation (IC-Q007). */
#include "qemu-private.h"
#include <iommuctl/domain-edit.h>

typedef struct {
  int default_bus;          /* -1 unset, 0 off, 1 on */
  GHashTable *buses;        /* pxb index -> GINT_TO_POINTER(value + 1) */
  xmlNodePtr default_arg;   /* qemu:arg holding "default-bus-bypass-iommu=..." */
  GHashTable *bus_props;    /* pxb index -> xmlNodePtr qemu:property */
  xmlNodePtr commandline, override;
  gboolean meta_present;
  int meta_default;
  GHashTable *meta_buses;
  xmlNodePtr meta_node, metadata;
} BypassState;

static void
bypass_state_clear(BypassState *s)
{
  g_clear_pointer(&s->buses, g_hash_table_unref);
  g_clear_pointer(&s->bus_props, g_hash_table_unref);
  g_clear_pointer(&s->meta_buses, g_hash_table_unref);
}

static char *
xattr(xmlNodePtr n, const char *name)
{
  xmlChar *v = n ? xmlGetProp(n, (const xmlChar *) name) : NULL;
  char *s = v ? g_strdup((const char *) v) : NULL;
  xmlFree(v);
  return s;
}

static gboolean
is_el(xmlNodePtr n, const char *name, const char *ns)
{
  return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *) n->name, name) == 0 &&
         (ns == NULL || (n->ns != NULL && n->ns->href != NULL && strcmp((const char *) n->ns->href, ns) == 0));
}

static const IcDomainController *
pxb_by_alias(const IcDomainDef *def, const char *alias)
{
  for (guint i = 0; alias && i < def->controllers->len; i++) {
    const IcDomainController *c = def->controllers->pdata[i];
    if (g_strcmp0(c->base.model, "pcie-expander-bus") != 0)
      continue;
    g_autofree char *own = g_strdup_printf("pci.%d", c->index);
    if (strcmp(alias, own) == 0 || g_strcmp0(c->base.alias, alias) == 0)
      return c;
  }
  return NULL;
}

static const IcDomainController *
pxb_by_index(const IcDomainDef *def, int index)
{
  for (guint i = 0; i < def->controllers->len; i++) {
    const IcDomainController *c = def->controllers->pdata[i];
    if (g_strcmp0(c->type, "pci") == 0 && c->index == index)
      return c;
  }
  return NULL;
}

static int
machine_arg_bypass(const char *value)
{
  g_autoptr(JsonObject) kv = ic_qemu_keyval_parse(value, "type");
  const char *v = json_object_get_string_member_with_default(kv, "default-bus-bypass-iommu", NULL);
  if (v == NULL)
    v = json_object_get_string_member_with_default(kv, "default_bus_bypass_iommu", NULL);
  return v ? ic_parse_bool_word(v) : -1;
}

static void
read_realisation(const IcDomainDef *def, BypassState *s)
{
  for (guint i = 0; def->qemu_commandline && i < def->qemu_commandline->len; i++) {
    xmlNodePtr cl = def->qemu_commandline->pdata[i];
    s->commandline = s->commandline ? s->commandline : cl;
    gboolean after_machine = FALSE, after_global = FALSE;
    for (xmlNodePtr a = cl->children; a; a = a->next) {
      if (!is_el(a, "arg", NULL))
        continue;
      g_autofree char *v = xattr(a, "value");
      if (v == NULL)
        continue;
      if (after_machine && machine_arg_bypass(v) >= 0) {
        s->default_bus = machine_arg_bypass(v);
        s->default_arg = a;
      }
      if (after_global && g_str_has_prefix(v, "pxb-pcie.bypass_iommu=")) {
        int on = ic_parse_bool_word(v + strlen("pxb-pcie.bypass_iommu="));
        for (guint k = 0; on >= 0 && k < def->controllers->len; k++) {
          const IcDomainController *c = def->controllers->pdata[k];
          if (g_strcmp0(c->base.model, "pcie-expander-bus") == 0)
            g_hash_table_insert(s->buses, GINT_TO_POINTER(c->index), GINT_TO_POINTER(on + 1));
        }
      }
      after_machine = strcmp(v, "-machine") == 0 || strcmp(v, "-M") == 0;
      after_global = strcmp(v, "-global") == 0;
    }
  }
  for (guint i = 0; def->qemu_override && i < def->qemu_override->len; i++) {
    xmlNodePtr ov = def->qemu_override->pdata[i];
    s->override = s->override ? s->override : ov;
    for (xmlNodePtr d = ov->children; d; d = d->next) {
      if (!is_el(d, "device", NULL))
        continue;
      g_autofree char *alias = xattr(d, "alias");
      const IcDomainController *pxb = pxb_by_alias(def, alias);
      if (pxb == NULL)
        continue;
      for (xmlNodePtr f = d->children; f; f = f->next)
        for (xmlNodePtr p = is_el(f, "frontend", NULL) ? f->children : NULL; p; p = p->next) {
          g_autofree char *name = xattr(p, "name");
          g_autofree char *value = xattr(p, "value");
          if (!is_el(p, "property", NULL) || g_strcmp0(name, "bypass_iommu") != 0)
            continue;
          int on = value ? ic_parse_bool_word(value) : -1;
          if (on >= 0)
            g_hash_table_insert(s->buses, GINT_TO_POINTER(pxb->index), GINT_TO_POINTER(on + 1));
          g_hash_table_insert(s->bus_props, GINT_TO_POINTER(pxb->index), p);
        }
    }
  }
}

static void
read_metadata(const IcDomainDef *def, BypassState *s)
{
  s->metadata = def->metadata;
  for (xmlNodePtr m = def->metadata ? def->metadata->children : NULL; m; m = m->next) {
    if (!is_el(m, "bypass", IC_QEMU_BYPASS_NS))
      continue;
    s->meta_present = TRUE;
    s->meta_node = m;
    for (xmlNodePtr c = m->children; c; c = c->next) {
      g_autofree char *v = xattr(c, "bypass");
      int on = v ? ic_parse_bool_word(v) : -1;
      if (is_el(c, "default-bus", IC_QEMU_BYPASS_NS)) {
        s->meta_default = on;
      } else if (is_el(c, "bus", IC_QEMU_BYPASS_NS)) {
        g_autofree char *idx = xattr(c, "index");
        gint64 n;
        if (idx && ic_parse_int64(idx, 10, 0, 255, &n) && on >= 0)
          g_hash_table_insert(s->meta_buses, GINT_TO_POINTER((int) n), GINT_TO_POINTER(on + 1));
      }
    }
  }
}

static void
bypass_read(const IcDomainDef *def, BypassState *s)
{
  memset(s, 0, sizeof *s);
  s->default_bus = -1;
  s->meta_default = -1;
  s->buses = g_hash_table_new(g_direct_hash, g_direct_equal);
  s->bus_props = g_hash_table_new(g_direct_hash, g_direct_equal);
  s->meta_buses = g_hash_table_new(g_direct_hash, g_direct_equal);
  read_realisation(def, s);
  read_metadata(def, s);
}

static int
bus_value(GHashTable *t, int index)
{
  gpointer v = g_hash_table_lookup(t, GINT_TO_POINTER(index));
  return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

static gboolean
any_bypass_on(const BypassState *s)
{
  if (s->default_bus == 1)
    return TRUE;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, s->buses);
  while (g_hash_table_iter_next(&it, NULL, &v))
    if (GPOINTER_TO_INT(v) - 1 == 1)
      return TRUE;
  return FALSE;
}

static gboolean
metadata_agrees(const BypassState *s)
{
  if (MAX(s->meta_default, 0) != MAX(s->default_bus, 0))
    return FALSE;
  for (int i = 0; i < 256; i++)
    if (MAX(bus_value(s->meta_buses, i), 0) != MAX(bus_value(s->buses, i), 0))
      return FALSE;
  return TRUE;
}

static gboolean
any_realisation(const BypassState *s)
{
  return s->default_bus >= 0 || g_hash_table_size(s->buses) > 0;
}

gboolean
qb_bypass_collect(QemuBuild *b)
{
  BypassState s;
  bypass_read(b->def, &s);
  /* The metadata is iommuctl's record of the intent.  With no realisation
   * at all (the qemu:override/commandline were removed, or another tool
   * wrote only the metadata), qemu-args realises it exactly as
   * `domain bypass` would write it; the realisation wins otherwise, since
   * that is what libvirt launches. */
  if (s.meta_present && !any_realisation(&s) && !metadata_agrees(&s)) {
    b->realise_metadata = TRUE;
    b->meta_default = s.meta_default;
    b->meta_buses = g_array_new(FALSE, FALSE, sizeof(IcQemuBypassBus));
    for (int i = 0; i < 256; i++) {
      int v = bus_value(s.meta_buses, i);
      if (v >= 0) {
        IcQemuBypassBus e = {.index = i, .on = v == 1};
        g_array_append_val(b->meta_buses, e);
      }
    }
    s.default_bus = s.meta_default;
    g_hash_table_remove_all(s.buses);
    GHashTableIter mi;
    gpointer mk, mv;
    g_hash_table_iter_init(&mi, s.meta_buses);
    while (g_hash_table_iter_next(&mi, &mk, &mv))
      g_hash_table_insert(s.buses, mk, mv);
    qb_note(b, "IC-Q007", IC_QEMU_NOTE_INFO, s.meta_node,
            "the bypass that iommuctl's metadata records has no qemu:override/qemu:commandline in the file: "
            "qemu-args adds them as 'iommuctl domain bypass' writes them (libvirt alone would not bypass)");
  }
  b->default_bypass = s.default_bus;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, s.buses);
  while (g_hash_table_iter_next(&it, &k, &v))
    g_hash_table_insert(b->bypass_buses, k, v);
  gboolean on = any_bypass_on(&s);
  gboolean ok = TRUE;
  if (on && b->viommu && b->viommu->model == IC_VIOMMU_AMD)
    ok = qb_fail(b, b->viommu->base.node, IC_ERROR_BLOCKED,
                 "IOMMU bypass together with the amd vIOMMU: QEMU accepts it, but Debian's 6.1 and 6.12 guest "
                 "kernels crash at boot (NULL pointer dereference in the AMD-Vi driver for device IDs outside the IVRS)");
  if (ok && s.meta_present && !b->realise_metadata && !metadata_agrees(&s))
    qb_note(b, "IC-Q005", IC_QEMU_NOTE_WARNING, s.meta_node,
            "the iommuctl bypass metadata disagrees with the qemu:commandline/qemu:override that libvirt "
            "launches; the latter wins (rewrite both with 'iommuctl domain bypass')");
  if (ok && !s.meta_present && on)
    qb_note(b, "IC-Q006", IC_QEMU_NOTE_INFO, NULL,
            "IOMMU bypass is set through qemu:commandline/qemu:override without iommuctl's metadata");
  bypass_state_clear(&s);
  return ok;
}

gboolean
qb_device_bypassed(QemuBuild *b, const IcDevAddress *addr)
{
  guint bus = addr->type == IC_ADDR_PCI ? addr->pci.bus : 0;
  int root = qb_root_of_bus(b, bus);
  if (root < 0)
    return b->default_bypass == 1;
  return bus_value(b->bypass_buses, root) == 1;
}

gboolean
qb_bypass_notes(QemuBuild *b)
{
  gboolean any = b->default_bypass == 1;
  for (int i = 0; i < 256 && !any; i++)
    any = bus_value(b->bypass_buses, i) == 1;
  if (!any)
    return TRUE;
  if (b->viommu == NULL) {
    qb_note(b, "IC-Q004", IC_QEMU_NOTE_WARNING, NULL, "IOMMU bypass has no effect without a vIOMMU");
    return TRUE;
  }
  GString *buses = g_string_new(NULL);
  if (b->default_bypass == 1)
    g_string_append(buses, "the default root bus");
  for (int i = 0; i < 256; i++)
    if (bus_value(b->bypass_buses, i) == 1)
      g_string_append_printf(buses, "%spcie-expander-bus index %d", buses->len ? ", " : "", i);
  GString *devs = g_string_new(NULL);
  gboolean vfio_bypassed = FALSE;
  for (guint i = 0; i < b->def->devices->len; i++) {
    const IcDomainDevice *d = b->def->devices->pdata[i];
    if (d->kind == IC_DEV_CONTROLLER || d->kind == IC_DEV_IOMMU || d->kind == IC_DEV_EMULATOR ||
        d->kind == IC_DEV_SERIAL || d->kind == IC_DEV_CONSOLE || d->kind == IC_DEV_INPUT ||
        (d->kind == IC_DEV_MEMBALLOON && g_strcmp0(d->model, "none") == 0))
      continue;
    if (d->kind == IC_DEV_DISK && d->address.type != IC_ADDR_PCI && d->address.type != IC_ADDR_NONE)
      continue;
    if (!qb_device_bypassed(b, &d->address))
      continue;
    g_string_append_printf(devs, "%s<%s> line %d", devs->len ? ", " : "", ic_device_kind_to_string(d->kind),
                           qb_line(b, d->node));
    vfio_bypassed = vfio_bypassed || d->kind == IC_DEV_HOSTDEV;
  }
  qb_note(b, "IC-Q001", IC_QEMU_NOTE_WARNING, NULL,
          "%s bypass%s the vIOMMU: devices there (%s) get no DMA isolation and no IOMMU group in the guest; "
          "put only trusted devices there", buses->str, strchr(buses->str, ',') ? "" : "es",
          devs->len ? devs->str : "none yet");
  gboolean ir = (b->viommu->model == IC_VIOMMU_INTEL && b->viommu->intremap == IC_TRI_ON) ||
                (b->viommu->model == IC_VIOMMU_AMD && b->viommu->intremap == IC_TRI_ON);
  if (ir)
    qb_note(b, "IC-Q003", IC_QEMU_NOTE_WARNING, b->viommu->base.node,
            "devices on bypassed buses lose MSI/MSI-X while interrupt remapping is on (Linux falls back to INTx); "
            "set intremap='off' if they need MSI");
  if (vfio_bypassed && b->viommu->model == IC_VIOMMU_INTEL)
    qb_note(b, "IC-Q002", IC_QEMU_NOTE_WARNING, b->viommu->base.node,
            "QEMU 7.2 demands caching-mode=on for every vfio-pci device, even on a bypassed bus; and the guest "
            "cannot pass a bypassed device on with vfio-pci (no IOMMU group)");
  g_string_free(buses, TRUE);
  g_string_free(devs, TRUE);
  return TRUE;
}

/* ---- editing ------------------------------------------------------------- */

/* The prefix bound to libvirt's qemu namespace on the root, or a free one
 * to declare ("qemu" unless the document already uses it for something
 * else: rebinding it would change the meaning of its elements). */
static char *
qemu_prefix(xmlNodePtr root, gboolean *declare)
{
  xmlNsPtr ns = xmlSearchNsByHref(root->doc, root, (const xmlChar *) IC_QEMU_LIBVIRT_NS);
  *declare = ns == NULL || ns->prefix == NULL;
  if (!*declare)
    return g_strdup((const char *) ns->prefix);
  for (int i = 0; i < 100; i++) {
    char *cand = i == 0 ? g_strdup("qemu") : g_strdup_printf("qemu%d", i);
    if (xmlSearchNs(root->doc, root, (const xmlChar *) cand) == NULL)
      return cand;
    g_free(cand);
  }
  return g_strdup("iommuctl-qemu");
}

/* An element whose prefix is not declared keeps "prefix:name" as its name
 * in libxml2; adding a declaration for that prefix would silently change
 * what such elements mean, so refuse instead. */
static xmlNodePtr
find_unbound_prefix(xmlNodePtr n)
{
  for (; n != NULL; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    if (strchr((const char *) n->name, ':') != NULL)
      return n;
    xmlNodePtr inner = find_unbound_prefix(n->children);
    if (inner != NULL)
      return inner;
  }
  return NULL;
}

gboolean
ic_qemu_bypass_apply(IcDomainDoc *doc, const IcQemuBypassEdit *edit, GPtrArray *notes, GError **error)
{
  const IcDomainDef *def = ic_domain_doc_def(doc);
  const char *fname = ic_domain_doc_filename(doc) ? ic_domain_doc_filename(doc) : "<domain>";
  if (def->kind != IC_DOMAIN_DOC_DOMAIN) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: not a <domain> document", fname);
    return FALSE;
  }
  xmlNodePtr unbound = find_unbound_prefix(def->root);
  if (unbound != NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_PARSE, "%s:%d: <%s>: namespace prefix not declared", fname,
                ic_domain_doc_line(doc, unbound), (const char *) unbound->name);
    return FALSE;
  }
  BypassState s;
  bypass_read(def, &s);
  int new_default = edit->default_bus >= 0 ? edit->default_bus : s.default_bus;
  g_autoptr(GHashTable) new_buses = g_hash_table_new(g_direct_hash, g_direct_equal);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, s.buses);
  while (g_hash_table_iter_next(&it, &k, &v))
    g_hash_table_insert(new_buses, k, v);
  gboolean any_on = new_default == 1;
  for (guint i = 0; edit->buses && i < edit->buses->len; i++) {
    const IcQemuBypassBus *e = &g_array_index(edit->buses, IcQemuBypassBus, i);
    const IcDomainController *c = pxb_by_index(def, e->index);
    if (c == NULL || g_strcmp0(c->base.model, "pcie-expander-bus") != 0) {
      g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG,
                  "%s: no <controller type='pci' model='pcie-expander-bus' index='%d'>; bypass_iommu exists only on "
                  "expander buses (pxb-pcie) and, with --default-bus, on the machine's root bus", fname, e->index);
      bypass_state_clear(&s);
      return FALSE;
    }
    g_hash_table_insert(new_buses, GINT_TO_POINTER(e->index), GINT_TO_POINTER(e->on + 1));
  }
  g_hash_table_iter_init(&it, new_buses);
  while (g_hash_table_iter_next(&it, NULL, &v))
    any_on = any_on || GPOINTER_TO_INT(v) - 1 == 1;
  for (guint i = 0; i < def->iommus->len; i++) {
    const IcDomainIommu *io = def->iommus->pdata[i];
    if (io->model == IC_VIOMMU_AMD && any_on) {
      g_set_error(error, IC_ERROR, IC_ERROR_BLOCKED,
                  "%s:%d: refusing IOMMU bypass with the amd vIOMMU: Debian's 6.1 and 6.12 guest kernels crash at boot "
                  "with it (QEMU accepts it)", fname, ic_domain_doc_line(doc, io->base.node));
      bypass_state_clear(&s);
      return FALSE;
    }
  }
  if (def->iommus->len == 0 && any_on && notes)
    g_ptr_array_add(notes, g_strdup("warning: the domain has no <iommu>; bypass has no effect until it does"));
  if (any_on && notes)
    g_ptr_array_add(notes, g_strdup("warning: bypassed buses give no DMA isolation; put only trusted devices there"));

  g_autoptr(IcEditBatch) batch = ic_edit_batch_new(doc);
  xmlNodePtr root = def->root;
  gboolean declare = FALSE;
  g_autofree char *q = qemu_prefix(root, &declare);
  char quote = ic_domain_doc_quote(doc);
  if (declare && (new_default >= 0 || g_hash_table_size(new_buses) > 0)) {
    g_autofree char *attr = g_strconcat("xmlns:", q, NULL);
    ic_edit_set_attr(batch, root, attr, IC_QEMU_LIBVIRT_NS);
  }

  /* 1. metadata: the whole bypass element, rewritten */
  GString *meta = g_string_new(NULL);
  g_string_append_printf(meta, "<iommuctl:bypass xmlns:iommuctl=%c%s%c>", quote, IC_QEMU_BYPASS_NS, quote);
  if (new_default >= 0)
    g_string_append_printf(meta, "\n  <iommuctl:default-bus bypass=%c%s%c/>", quote, new_default ? "on" : "off", quote);
  for (int i = 0; i < 256; i++) {
    int val = bus_value(new_buses, i);
    if (val >= 0)
      g_string_append_printf(meta, "\n  <iommuctl:bus index=%c%d%c bypass=%c%s%c/>", quote, i, quote, quote,
                             val ? "on" : "off", quote);
  }
  g_string_append(meta, "\n</iommuctl:bypass>");
  if (s.meta_node != NULL) {
    ic_edit_replace(batch, s.meta_node, meta->str);
  } else if (s.metadata != NULL) {
    ic_edit_append_child(batch, s.metadata, meta->str);
  } else {
    GString *m = g_string_new("<metadata>");
    g_auto(GStrv) lines = g_strsplit(meta->str, "\n", -1);
    for (int i = 0; lines[i]; i++)
      g_string_append_printf(m, "\n  %s", lines[i]);
    g_string_append(m, "\n</metadata>");
    ic_edit_append_child(batch, root, m->str);
    g_string_free(m, TRUE);
  }
  g_string_free(meta, TRUE);

  /* 2. the machine's default bus: -machine default-bus-bypass-iommu=X */
  if (new_default >= 0) {
    g_autofree char *val = g_strdup_printf("default-bus-bypass-iommu=%s", new_default ? "on" : "off");
    if (s.default_arg != NULL) {
      ic_edit_set_attr(batch, s.default_arg, "value", val);
    } else {
      g_autofree char *args = g_strdup_printf("<%s:arg value=%c-machine%c/>\n<%s:arg value=%c%s%c/>", q, quote, quote,
                                              q, quote, val, quote);
      if (s.commandline != NULL) {
        ic_edit_append_child(batch, s.commandline, args);
      } else {
        g_autofree char *el = g_strdup_printf("<%s:commandline>\n  <%s:arg value=%c-machine%c/>\n  <%s:arg value=%c%s%c/>\n</%s:commandline>",
                                              q, q, quote, quote, q, quote, val, quote, q);
        ic_edit_append_child(batch, root, el);
      }
    }
  }

  /* 3. each expander bus: qemu:override property bypass_iommu */
  GString *new_devices = g_string_new(NULL);
  for (int i = 0; i < 256; i++) {
    int val = bus_value(new_buses, i);
    if (val < 0)
      continue;
    const char *tf = val ? "true" : "false";
    xmlNodePtr prop = g_hash_table_lookup(s.bus_props, GINT_TO_POINTER(i));
    if (prop != NULL) {
      ic_edit_set_attr(batch, prop, "type", "bool");
      ic_edit_set_attr(batch, prop, "value", tf);
      continue;
    }
    const IcDomainController *c = pxb_by_index(def, i);
    g_autofree char *alias = c->base.alias ? g_strdup(c->base.alias) : g_strdup_printf("pci.%d", i);
    g_string_append_printf(new_devices,
                           "%s<%s:device alias=%c%s%c>\n  <%s:frontend>\n    <%s:property name=%cbypass_iommu%c type=%cbool%c value=%c%s%c/>\n  </%s:frontend>\n</%s:device>",
                           new_devices->len ? "\n" : "", q, quote, alias, quote, q, q, quote, quote, quote, quote,
                           quote, tf, quote, q, q);
  }
  if (new_devices->len > 0) {
    if (s.override != NULL) {
      ic_edit_append_child(batch, s.override, new_devices->str);
    } else {
      GString *el = g_string_new(NULL);
      g_string_append_printf(el, "<%s:override>", q);
      g_auto(GStrv) lines = g_strsplit(new_devices->str, "\n", -1);
      for (int i = 0; lines[i]; i++)
        g_string_append_printf(el, "\n  %s", lines[i]);
      g_string_append_printf(el, "\n</%s:override>", q);
      ic_edit_append_child(batch, root, el->str);
      g_string_free(el, TRUE);
    }
  }
  g_string_free(new_devices, TRUE);
  bypass_state_clear(&s);
  return ic_edit_batch_commit(batch, error);
}
