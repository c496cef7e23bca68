/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt's embedded QEMU driver as iommuctl's engine (see engine.h).
 *
 * libvirt is opened with GModule on first use, the way systemd's
 * dlopen_many_sym_or_warn() opens optional libraries: a table of typed
 * function pointers (types from libvirt's own headers, through __typeof__),
 * filled once per engine.  Linking libvirt would load ~20 shared objects
 * (gnutls, libnl, ...) at every iommuctl start, which issue 11's timing of
 * detach/reattach process starts would pay for. */
#include "qemu/engine.h"
#include "qemu/qemu-private.h"
#include "qemu/libvirt-syms.h"
#include "util/ic-util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmodule.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#define QEMU_USER "libvirt-qemu"
#define QEMU_GROUP "kvm"


struct IcQemuEngine {
  IcContext *ctx;
  GModule *lib, *qemu_lib;
  IcLibvirtSyms v;
  virConnectPtr conn;
  char *uri;
  char *root;                /* NULL: explicit URI */
  char *qemu_user;
  char *libvirt_version;
  guint libvirt_code;        /* X*1000000+Y*1000+Z, 0 unknown */
  GPtrArray *domains;        /* IcQemuDomain* started and not yet freed */
};

struct IcQemuDomain {
  IcQemuEngine *engine;
  virDomainPtr dom;
  char *name;
  char *file;
  int pid;
};

/* ---- loading libvirt -------------------------------------------------------- */

static gboolean
missing_libvirt(const char *what, GError **error)
{
  g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED,
              "libvirt's QEMU driver is iommuctl's engine for this verb, and %s; install the "
              "Debian packages %s", what, IC_QEMU_ENGINE_PACKAGES);
  return FALSE;
}

static gboolean
load_symbols(IcQemuEngine *e, GError **error)
{
  e->lib = g_module_open("libvirt.so.0", G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (e->lib == NULL) {
    g_autofree char *why = g_strdup_printf("libvirt.so.0 cannot be loaded (%s)", g_module_error());
    return missing_libvirt(why, error);
  }
  e->qemu_lib = g_module_open("libvirt-qemu.so.0", G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (e->qemu_lib == NULL) {
    g_autofree char *why = g_strdup_printf("libvirt-qemu.so.0 cannot be loaded (%s)", g_module_error());
    return missing_libvirt(why, error);
  }
  const struct {
    GModule *module;
    const char *name;
    gpointer *slot;
  } table[] = {
#define ENTRY(mod, name) { e->mod, #name, (gpointer *) &e->v.name }
    ENTRY(lib, virGetVersion),
    ENTRY(lib, virInitialize),
    ENTRY(lib, virSetErrorFunc),
    ENTRY(lib, virGetLastError),
    ENTRY(lib, virGetLastErrorMessage),
    ENTRY(lib, virResetLastError),
    ENTRY(lib, virConnectOpen),
    ENTRY(lib, virConnectClose),
    ENTRY(lib, virConnSetErrorFunc),
    ENTRY(lib, virConnectDomainXMLToNative),
    ENTRY(lib, virConnectDomainEventRegisterAny),
    ENTRY(lib, virConnectDomainEventDeregisterAny),
    ENTRY(lib, virDomainCreateXML),
    ENTRY(lib, virDomainResume),
    ENTRY(lib, virDomainShutdown),
    ENTRY(lib, virDomainDestroy),
    ENTRY(lib, virDomainFree),
    ENTRY(lib, virDomainIsActive),
    ENTRY(lib, virDomainGetName),
    ENTRY(lib, virDomainGetID),
    ENTRY(lib, virDomainGetState),
    ENTRY(lib, virEventRegisterDefaultImpl),
    ENTRY(lib, virEventRunDefaultImpl),
    ENTRY(qemu_lib, virDomainQemuMonitorCommand),
#undef ENTRY
  };
  for (gsize i = 0; i < G_N_ELEMENTS(table); i++) {
    if (!g_module_symbol(table[i].module, table[i].name, table[i].slot) || *table[i].slot == NULL) {
      g_autofree char *why = g_strdup_printf("the installed libvirt lacks %s", table[i].name);
      return missing_libvirt(why, error);
    }
  }
  return TRUE;
}

/* libvirt prints every error to stderr unless a handler takes it; iommuctl
 * reports them itself, as GErrors naming the file. */
static void
silent_error_handler(void *opaque G_GNUC_UNUSED, virErrorPtr err G_GNUC_UNUSED)
{
}

/* libvirt's message of the last failure, without its leading "error: ". */
static char *
last_error_text(IcQemuEngine *e, int *code_out)
{
  virErrorPtr err = e->v.virGetLastError();
  if (code_out != NULL)
    *code_out = err != NULL ? err->code : VIR_ERR_INTERNAL_ERROR;
  g_autofree char *msg = g_strdup(err != NULL && err->message != NULL ? err->message : "unknown error");
  /* QEMU's stderr as libvirt quotes it carries timestamps; keep the text */
  g_strstrip(msg);
  return g_steal_pointer(&msg);
}

/* Whether libvirt refused the XML (input, exit 2) rather than failed
 * (exit 3).  Turning XML into argv does nothing on the host but probe the
 * emulator, and libvirt reports many refusals of input as "internal error"
 * ("Unknown CPU model", "invalid PCI passthrough type"): there, everything
 * but a failure of the system or the connection is the input's. */
static gboolean
is_input_error(int code)
{
  switch (code) {
  case VIR_ERR_SYSTEM_ERROR:
  case VIR_ERR_NO_MEMORY:
  case VIR_ERR_OPERATION_FAILED:
  case VIR_ERR_OPERATION_TIMEOUT:
  case VIR_ERR_NO_CONNECT:
  case VIR_ERR_RPC:
  case VIR_ERR_AUTH_FAILED:
  case VIR_ERR_NO_SUPPORT:
  case VIR_ERR_AGENT_UNRESPONSIVE:
  case VIR_ERR_RESOURCE_BUSY:
    return FALSE;
  default:
    return TRUE;
  }
}

/* Starting runs QEMU: only what libvirt's parser and validation refuse
 * is the input's there. */
static gboolean
is_start_input_error(int code)
{
  return code == VIR_ERR_XML_ERROR || code == VIR_ERR_XML_DETAIL || code == VIR_ERR_XML_INVALID_SCHEMA ||
         code == VIR_ERR_CONFIG_UNSUPPORTED || code == VIR_ERR_INVALID_ARG;
}

enum { PHASE_RUN, PHASE_XML, PHASE_START };

static gboolean
engine_fail(IcQemuEngine *e, const char *file, int phase, const char *what, GError **error)
{
  int code;
  g_autofree char *msg = last_error_text(e, &code);
  gboolean input = (phase == PHASE_XML && is_input_error(code)) || (phase == PHASE_START && is_start_input_error(code));
  int ic = input ? IC_ERROR_INVALID_ARG : IC_ERROR_FAILED;
  if (file != NULL)
    g_set_error(error, IC_ERROR, ic, "%s: libvirt: %s%s", file, what ? what : "", msg);
  else
    g_set_error(error, IC_ERROR, ic, "libvirt: %s%s", what ? what : "", msg);
  e->v.virResetLastError();
  return FALSE;
}

/* ---- the embed root ------------------------------------------------------------ */

static gboolean
user_exists(const char *user, const char *group)
{
  return getpwnam(user) != NULL && getgrnam(group) != NULL;
}

/* <root>/etc/qemu.conf: libvirt's embedded driver reads its configuration
 * there (root/etc is its configBaseDir; verified with strace on 9.0:
 * access("<root>/etc/qemu.conf")).  Only who QEMU runs as: Debian's
 * libvirt-qemu:kvm, as libvirt-daemon-system configures the system driver.
 * Written only when different, atomically. */
static gboolean
write_qemu_conf(IcQemuEngine *e, GError **error)
{
  g_autofree char *etc = g_build_filename(e->root, "etc", NULL);
  if (!ic_mkdir_p(etc, 0700, error) || !ic_trusted_state_path(etc, TRUE, error))
    return FALSE;
  g_autofree char *path = g_build_filename(etc, "qemu.conf", NULL);
  g_autofree char *text = NULL;
  /* stdio_handler = "file": QEMU's stderr goes to a log file libvirt
   * opens itself, not to virtlogd, a daemon the engine must not need. */
  const char *common = "# Written by iommuctl (its QEMU engine); rewritten at every start.\n"
                       "stdio_handler = \"file\"\n";
  if (e->qemu_user != NULL)
    text = g_strdup_printf("%s# QEMU runs unprivileged, as under Debian's system driver.\n"
                           "user = \"%s\"\ngroup = \"%s\"\n", common, QEMU_USER, QEMU_GROUP);
  else
    text = g_strdup_printf("%s# There is no user %s here: libvirt's default user.\n", common, QEMU_USER);
  g_autofree char *old = NULL;
  if (g_file_get_contents(path, &old, NULL, NULL) && strcmp(old, text) == 0)
    return ic_trusted_state_path(path, FALSE, error);
  GError *local = NULL;
  if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local)) {
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot write %s: %s", path, local->message);
    g_error_free(local);
    return FALSE;
  }
  return TRUE;
}

/* QEMU (libvirt-qemu, group kvm) opens files in its private directory by
 * path, so every directory above the embed root must let group kvm pass:
 * the state directory gets group kvm and g+x (search only: its files stay
 * 0600 root, and only root may write it, which the state rule checks). */
static gboolean
let_qemu_traverse(const char *dir, gid_t gid, GError **error)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot open %s: %s", dir, g_strerror(errno));
    if (fd >= 0)
      close(fd);
    return FALSE;
  }
  gboolean passes = (st.st_mode & S_IXOTH) || (st.st_gid == gid && (st.st_mode & S_IXGRP));
  int err = 0;
  if (!passes && geteuid() == 0 &&
      (fchown(fd, (uid_t) -1, gid) != 0 || fchmod(fd, (st.st_mode & 07777 & ~(mode_t) S_IRWXG) | S_IXGRP) != 0))
    err = errno;
  close(fd);
  if (err != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot let QEMU's group pass %s: %s", dir, g_strerror(err));
    return FALSE;
  }
  return TRUE;
}

/* libvirt's embedded driver takes the root for itself (a pid file it does
 * not wait for: "Failed to acquire pid file"), and qemu.conf is rewritten
 * at each open: one iommuctl at a time, the others wait.  The driver lives
 * as long as the process, not the connection (it still held its pid file
 * while a closed engine's process was exiting), so the lock is held until
 * the process exits too: like libvirt's event loop, process-wide state
 * outside IcContext, released by the kernel at exit. */
static gboolean
hold_root_lock(IcQemuEngine *e, GError **error)
{
  static GMutex mutex;
  static int held_fd = -1;
  static char *held_path = NULL;
  g_autofree char *lock = g_build_filename(e->ctx->state_dir, "qemu-embed.lock", NULL);
  g_mutex_lock(&mutex);
  gboolean ok = TRUE;
  if (held_fd < 0) {
    held_fd = ic_state_lock(lock, e->ctx->lock_timeout_ms,
                            "the QEMU engine is in use by another iommuctl (run holds it while its guest runs)",
                            error);
    ok = held_fd >= 0;
    if (ok)
      held_path = g_strdup(lock);
  } else if (strcmp(held_path, lock) != 0) {
    g_set_error(error, IC_ERROR, IC_ERROR_BUSY,
                "this process already runs the QEMU engine of %s; one engine root per process (libvirt's "
                "embedded driver)", held_path);
    ok = FALSE;
  }
  g_mutex_unlock(&mutex);
  return ok;
}

static gboolean
prepare_root(IcQemuEngine *e, GError **error)
{
  if (!ic_mkdir_p(e->ctx->state_dir, 0700, error) || !ic_trusted_state_path(e->ctx->state_dir, TRUE, error))
    return FALSE;
  e->root = g_build_filename(e->ctx->state_dir, "qemu-embed", NULL);
  if (mkdir(e->root, 0700) != 0 && errno != EEXIST) {
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot create the engine's root %s: %s", e->root,
                g_strerror(errno));
    return FALSE;
  }
  /* private to root: QEMU's monitor sockets, capability caches and the
   * domains' private files live here */
  if (!ic_trusted_state_path(e->root, TRUE, error))
    return FALSE;
  /* 0700 root.  When QEMU runs as libvirt-qemu it must traverse the root
   * to its private directory (lib/qemu/domain-N-NAME, which libvirt makes
   * and chowns to it): then root:kvm 0710, traverse only, for QEMU's group
   * and nobody else; nothing here is writable but by root. */
  struct group *gr = NULL;
  if (user_exists(QEMU_USER, QEMU_GROUP)) {
    e->qemu_user = g_strdup(QEMU_USER);
    gr = getgrnam(QEMU_GROUP);
  }
  if (gr != NULL && !let_qemu_traverse(e->ctx->state_dir, gr->gr_gid, error))
    return FALSE;
  mode_t want = gr != NULL ? 0710 : 0700;
  gid_t want_gid = gr != NULL ? gr->gr_gid : 0;
  int fd = open(e->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 ||
      ((st.st_mode & 07777) != want && fchmod(fd, want) != 0) ||
      (geteuid() == 0 && st.st_gid != want_gid && fchown(fd, 0, want_gid) != 0)) {
    int err = errno;
    if (fd >= 0)
      close(fd);
    g_set_error(error, IC_ERROR, IC_ERROR_IO, "cannot make the engine's root %s private (%04o): %s", e->root,
                (guint) want, g_strerror(err));
    return FALSE;
  }
  close(fd);
  if (!hold_root_lock(e, error))
    return FALSE;
  if (!write_qemu_conf(e, error))
    return FALSE;
  /* the path the embedded driver is given must not be re-resolved through
   * a link: it is the one just checked */
  e->uri = g_strdup_printf("qemu:///embed?root=%s", e->root);
  return TRUE;
}

/* The embedded driver talks to QEMU's monitor from libvirt's event loop,
 * so one must run, as in virsh: libvirt's default implementation, turned by
 * a thread of its own.  libvirt's event loop is process-wide by design, so
 * this is the one piece of state outside IcContext: registered once, and
 * the thread lives as long as the process (libvirt stays loaded). */
static gpointer
event_loop_thread(gpointer data)
{
  __typeof__(virEventRunDefaultImpl) *run = data;
  for (;;)
    if (run() < 0)
      g_usleep(10 * 1000);
  return NULL;
}

static gboolean
start_event_loop(IcQemuEngine *e, GError **error)
{
  static gsize started = 0;
  static gboolean ok = FALSE;
  if (g_once_init_enter(&started)) {
    ok = e->v.virEventRegisterDefaultImpl() == 0;
    if (ok)
      g_thread_unref(g_thread_new("libvirt-events", event_loop_thread, (gpointer) e->v.virEventRunDefaultImpl));
    g_once_init_leave(&started, 1);
  }
  if (!ok)
    return engine_fail(e, NULL, PHASE_RUN, "cannot register libvirt's event loop: ", error);
  return TRUE;
}

IcQemuEngine *
ic_qemu_engine_open(IcContext *ctx, GError **error)
{
  g_autoptr(IcQemuEngine) e = g_new0(IcQemuEngine, 1);
  e->ctx = ctx;
  e->domains = g_ptr_array_new();
  if (!g_module_supported())
    return missing_libvirt("this build cannot load libraries at run time", error), NULL;
  if (!load_symbols(e, error))
    return NULL;
  const char *test_uri = g_getenv(IC_QEMU_ENGINE_URI_ENV);
  if (test_uri != NULL && *test_uri)
    e->uri = g_strdup(test_uri);
  else if (!prepare_root(e, error))
    return NULL;
  /* libvirt logs warnings (e.g. "tainted: custom-argv") to stderr; the
   * engine's go to a file in its root instead, unless the operator asked
   * for something with libvirt's own variable */
  if (e->root != NULL && g_getenv("LIBVIRT_LOG_OUTPUTS") == NULL) {
    g_autofree char *outputs = g_strdup_printf("3:file:%s/engine.log", e->root);
    g_setenv("LIBVIRT_LOG_OUTPUTS", outputs, FALSE);
  }
  e->v.virSetErrorFunc(NULL, silent_error_handler);
  if (e->v.virInitialize() < 0) {
    engine_fail(e, NULL, PHASE_RUN, "cannot initialise: ", error);
    return NULL;
  }
  if (!start_event_loop(e, error))
    return NULL;
  unsigned long lib_ver = 0;
  if (e->v.virGetVersion(&lib_ver, NULL, NULL) == 0)
    e->libvirt_code = (guint) lib_ver;
  if (e->libvirt_code != 0)
    e->libvirt_version = g_strdup_printf("%lu.%lu.%lu", lib_ver / 1000000, lib_ver / 1000 % 1000,
                                         lib_ver % 1000);
  e->conn = e->v.virConnectOpen(e->uri);
  if (e->conn == NULL) {
    int code;
    g_autofree char *msg = last_error_text(e, &code);
    if (e->root != NULL && geteuid() == 0 && getpwnam(QEMU_USER) == NULL)
      g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED,
                  "libvirt: cannot open %s: %s; as root, libvirt's QEMU driver needs the user %s "
                  "(Debian's libvirt-daemon-system creates it: adduser --system --group --home "
                  "/var/lib/libvirt --no-create-home %s; adduser %s kvm)",
                  e->uri, msg, QEMU_USER, QEMU_USER, QEMU_USER);
    else if (strstr(msg, "no connection driver") != NULL || strstr(msg, "not supported") != NULL)
      g_set_error(error, IC_ERROR, IC_ERROR_UNSUPPORTED, "libvirt: cannot open %s: %s; install the Debian "
                  "packages %s", e->uri, msg, IC_QEMU_ENGINE_PACKAGES);
    else
      g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "libvirt: cannot open %s: %s", e->uri, msg);
    return NULL;
  }
  e->v.virConnSetErrorFunc(e->conn, NULL, silent_error_handler);
  return g_steal_pointer(&e);
}

void
ic_qemu_engine_close(IcQemuEngine *e)
{
  if (e == NULL)
    return;
  /* nothing this engine started outlives it */
  while (e->domains != NULL && e->domains->len > 0)
    ic_qemu_domain_free(e->domains->pdata[e->domains->len - 1]);
  g_clear_pointer(&e->domains, g_ptr_array_unref);
  if (e->conn != NULL)
    e->v.virConnectClose(e->conn);
  /* libvirt keeps threads and atexit handlers: never unload it */
  if (e->lib != NULL)
    g_module_make_resident(e->lib);
  if (e->qemu_lib != NULL)
    g_module_make_resident(e->qemu_lib);
  g_clear_pointer(&e->lib, g_module_close);
  g_clear_pointer(&e->qemu_lib, g_module_close);
  g_free(e->uri);
  g_free(e->root);
  g_free(e->qemu_user);
  g_free(e->libvirt_version);
  g_free(e);
}

const IcLibvirtSyms *
ic_qemu_engine_libvirt(const IcQemuEngine *e)
{
  return &e->v;
}

const char *
ic_qemu_engine_uri(const IcQemuEngine *e)
{
  return e->uri;
}

const char *
ic_qemu_engine_root(const IcQemuEngine *e)
{
  return e->root;
}

const char *
ic_qemu_engine_qemu_user(const IcQemuEngine *e)
{
  return e->qemu_user;
}

guint
ic_qemu_engine_libvirt_code(const IcQemuEngine *e)
{
  return e->libvirt_code;
}

const char *
ic_qemu_engine_libvirt_version(const IcQemuEngine *e)
{
  return e->libvirt_version ? e->libvirt_version : "unknown";
}

/* ---- the XML handed over ---------------------------------------------------------- */

char *
ic_qemu_binary_for(const IcDomainDoc *doc, const char *override)
{
  if (override != NULL)
    return g_strdup(override);
  const IcDomainDef *def = ic_domain_doc_def(doc);
  if (def->emulator != NULL && *def->emulator)
    return g_strdup(def->emulator);
  const char *arch = def->arch ? def->arch : "x86_64";
  return g_strdup_printf("/usr/bin/qemu-system-%s", arch);
}

static xmlNodePtr
child_element(xmlNodePtr parent, const char *name)
{
  for (xmlNodePtr c = parent ? parent->children : NULL; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE && c->ns == NULL && xmlStrcmp(c->name, BAD_CAST name) == 0)
      return c;
  return NULL;
}

/* Set <devices><emulator> of a copy to path: what libvirt probes and
 * executes is then exactly the path iommuctl checked (or the operator
 * named), never a default libvirt would pick from its capabilities. */
static char *
xml_with_emulator(const IcDomainDoc *doc, const char *path)
{
  xmlDocPtr copy = xmlCopyDoc(ic_domain_doc_xml(doc), 1);
  xmlNodePtr root = xmlDocGetRootElement(copy);
  xmlNodePtr devices = child_element(root, "devices");
  if (devices == NULL)
    devices = xmlNewChild(root, NULL, BAD_CAST "devices", NULL);
  xmlNodePtr emu = child_element(devices, "emulator");
  if (emu == NULL) {
    emu = xmlNewNode(NULL, BAD_CAST "emulator");
    if (devices->children != NULL)
      xmlAddPrevSibling(devices->children, emu);
    else
      xmlAddChild(devices, emu);
  }
  xmlNodeSetContent(emu, NULL);
  xmlNodeAddContent(emu, BAD_CAST path);
  xmlChar *mem = NULL;
  int len = 0;
  xmlDocDumpMemoryEnc(copy, &mem, &len, "UTF-8");
  xmlFreeDoc(copy);
  char *out = g_strndup((const char *) mem, len);
  xmlFree(mem);
  return out;
}

char *
ic_qemu_engine_prepare_xml(IcQemuEngine *e G_GNUC_UNUSED, const IcDomainDoc *doc,
                           const char *emulator_override, GError **error)
{
  const char *file = ic_domain_doc_filename(doc);
  if (emulator_override != NULL)
    return xml_with_emulator(doc, emulator_override);
  g_autofree char *binary = ic_qemu_binary_for(doc, NULL);
  g_autofree char *resolved = NULL;
  g_autoptr(GError) why = NULL;
  if (!ic_qemu_emulator_trusted(binary, &resolved, &why)) {
    g_set_error(error, IC_ERROR, IC_ERROR_INVALID_ARG, "%s: %s", file, why->message);
    return NULL;
  }
  /* the XML already names the checked path: hand it over as it is */
  const char *named = ic_domain_doc_def(doc)->emulator;
  if (named != NULL && strcmp(named, resolved) == 0) {
    gsize len = 0;
    const char *bytes = ic_domain_doc_bytes(doc, &len);
    return g_strndup(bytes, len);
  }
  return xml_with_emulator(doc, resolved);
}

/* ---- argv ----------------------------------------------------------------------------- */

static gboolean
is_env_word(const char *w)
{
  if (!g_ascii_isalpha(w[0]) && w[0] != '_')
    return FALSE;
  const char *p = w;
  while (g_ascii_isalnum(*p) || *p == '_')
    p++;
  return *p == '=';
}

/* One word of the line libvirt's virCommandToString writes: bare, or in
 * '…' (virBufferEscapeShell; a quote inside is '\''), or with "…" and
 * backslashes as sh reads them.  g_shell_parse_argv() does the same and
 * more (comments, which libvirt never writes) at several times the cost,
 * which showed in iommuctl's share of qemu-args (bench/qemu-args). */
static const char *
next_word(const char *p, GString *word, gboolean *found, GError **error)
{
  while (*p == ' ' || *p == '\t' || *p == '\n')
    p++;
  *found = *p != '\0';
  g_string_truncate(word, 0);
  gboolean unmatched = FALSE;
  while (!unmatched && *p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') {
    if (*p == '\'') {
      const char *end = strchr(p + 1, '\'');
      if (end == NULL) {
        unmatched = TRUE;
        break;
      }
      g_string_append_len(word, p + 1, end - p - 1);
      p = end + 1;
    } else if (*p == '"') {
      for (p++; *p != '\0' && *p != '"'; p++) {
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`'))
          p++;
        g_string_append_c(word, *p);
      }
      if (*p != '"')
        unmatched = TRUE;
      else
        p++;
    } else if (*p == '\\' && p[1] != '\0') {
      g_string_append_c(word, p[1]);
      p += 2;
    } else {
      g_string_append_c(word, *p++);
    }
  }
  if (unmatched) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "cannot split libvirt's command line: unmatched quote");
    return NULL;
  }
  return p;
}

char **
ic_qemu_engine_split_native(const char *native, char ***env_out, GError **error)
{
  g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GString) word = g_string_new(NULL);
  const char *p = native;
  for (;;) {
    gboolean found;
    p = next_word(p, word, &found, error);
    if (p == NULL)
      return NULL;
    if (!found)
      break;
    g_ptr_array_add(words, g_strndup(word->str, word->len));
  }
  guint n_env = 0;
  while (n_env < words->len && is_env_word(words->pdata[n_env]))
    n_env++;
  if (n_env == words->len) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "libvirt's command line names no emulator");
    return NULL;
  }
  if (env_out != NULL) {
    GPtrArray *env = g_ptr_array_new();
    for (guint i = 0; i < n_env; i++)
      g_ptr_array_add(env, g_strdup(words->pdata[i]));
    g_ptr_array_add(env, NULL);
    *env_out = (char **) g_ptr_array_free(env, FALSE);
  }
  GPtrArray *rest = g_ptr_array_new();
  for (guint i = n_env; i < words->len; i++)
    g_ptr_array_add(rest, g_strdup(words->pdata[i]));
  g_ptr_array_add(rest, NULL);
  return (char **) g_ptr_array_free(rest, FALSE);
}

char **
ic_qemu_engine_xml_to_argv(IcQemuEngine *e, const char *xml, const char *file, char ***env_out,
                           GError **error)
{
  char *native = e->v.virConnectDomainXMLToNative(e->conn, "qemu-argv", xml, 0);
  if (native == NULL) {
    engine_fail(e, file, PHASE_XML, NULL, error);
    return NULL;
  }
  char **argv = ic_qemu_engine_split_native(native, env_out, error);
  free(native); /* libvirt's allocation */
  return argv;
}

IcQemuArgv *
ic_qemu_argv_from_strv(const char *const *argv)
{
  IcQemuArgv *a = ic_qemu_argv_new(argv[0]);
  for (guint i = 1; argv[i] != NULL; i++) {
    const char *name = argv[i];
    const char *value = argv[i + 1] != NULL && argv[i + 1][0] != '-' ? argv[i + 1] : NULL;
    if (value == NULL) {
      ic_qemu_argv_add_flag(a, name);
      continue;
    }
    i++;
    ic_qemu_argv_add_text(a, name, value);
  }
  return a;
}

JsonObject *
ic_qemu_opt_json(IcQemuOpt *o)
{
  if (o->json != NULL || o->text == NULL || o->text[0] != '{')
    return o->json;
  g_autoptr(JsonParser) p = json_parser_new_immutable();
  if (json_parser_load_from_data(p, o->text, -1, NULL) && JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
    o->json = json_object_ref(json_node_get_object(json_parser_get_root(p)));
  return o->json;
}

void
ic_qemu_argv_parse_json(IcQemuArgv *argv)
{
  for (guint i = 0; i < argv->opts->len; i++)
    ic_qemu_opt_json(argv->opts->pdata[i]);
}

/* ---- running domains ------------------------------------------------------------------- */

/* May QEMU's user pass DIR?  Other's x, or group x for its group, or the
 * owner's x when it owns DIR (ACLs aside: a refusal here names the mode). */
static gboolean
qemu_may_pass(const struct stat *st, uid_t uid, gid_t gid)
{
  return (st->st_mode & S_IXOTH) || (st->st_gid == gid && (st->st_mode & S_IXGRP)) ||
         (st->st_uid == uid && (st->st_mode & S_IXUSR));
}

gboolean
ic_qemu_engine_check_qemu_reaches_root(IcQemuEngine *e, GError **error)
{
  if (e->root == NULL || e->qemu_user == NULL)
    return TRUE; /* a test URI, or QEMU runs as root */
  struct passwd *pw = getpwnam(e->qemu_user);
  struct group *gr = getgrnam(QEMU_GROUP);
  if (pw == NULL || gr == NULL)
    return TRUE; /* the open already decided without them */
  /* QEMU opens files in its private directory under the root by path: a
   * private directory above (a 0700 mktemp -d, a home) makes it fail at
   * start with "Permission denied" on its master key; say why before. */
  g_autofree char *dir = g_strdup(e->root);
  while (strcmp(dir, "/") != 0) {
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && !qemu_may_pass(&st, pw->pw_uid, gr->gr_gid)) {
      g_set_error(error, IC_ERROR, IC_ERROR_PERMISSION,
                  "QEMU runs as %s (group %s) and cannot reach the engine's root %s: %s is %04o %u:%u; "
                  "use a state directory whose parents it may pass (--state-dir), e.g. the default "
                  "/var/lib/iommuctl",
                  e->qemu_user, QEMU_GROUP, e->root, dir, (guint) (st.st_mode & 07777), (guint) st.st_uid,
                  (guint) st.st_gid);
      return FALSE;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
  return TRUE;
}

IcQemuDomain *
ic_qemu_engine_start_paused(IcQemuEngine *e, const char *xml, const char *file, GError **error)
{
  /* START_AUTODESTROY: "not supported for embedded drivers yet" (9.0);
   * the engine destroys what it started itself (ic_qemu_domain_free, and
   * ic_qemu_engine_close for any still running). */
  if (!ic_qemu_engine_check_qemu_reaches_root(e, error))
    return NULL;
  virDomainPtr dom = e->v.virDomainCreateXML(e->conn, xml, VIR_DOMAIN_START_PAUSED);
  if (dom == NULL) {
    engine_fail(e, file, PHASE_START, "cannot start the domain paused: ", error);
    return NULL;
  }
  IcQemuDomain *d = g_new0(IcQemuDomain, 1);
  d->engine = e;
  d->dom = dom;
  d->file = g_strdup(file);
  const char *name = e->v.virDomainGetName(dom);
  d->name = g_strdup(name ? name : "");
  d->pid = -1;
  g_ptr_array_add(e->domains, d);
  return d;
}

JsonNode *
ic_qemu_domain_qmp(IcQemuDomain *d, const char *command, JsonObject *args, GError **error)
{
  IcQemuEngine *e = d->engine;
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  ic_json_add_string(b, "execute", command);
  if (args != NULL) {
    json_builder_set_member_name(b, "arguments");
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);
    json_node_set_object(n, args);
    json_builder_add_value(b, n);
  }
  json_builder_end_object(b);
  g_autoptr(JsonNode) req = json_builder_get_root(b);
  g_autofree char *text = ic_json_to_string(req, FALSE);
  char *reply = NULL;
  if (e->v.virDomainQemuMonitorCommand(d->dom, text, &reply, 0) < 0) {
    engine_fail(e, d->file, PHASE_RUN, "QMP pass-through: ", error);
    return NULL;
  }
  g_autoptr(JsonParser) p = json_parser_new();
  gboolean parsed = json_parser_load_from_data(p, reply, -1, NULL);
  g_autofree char *reply_copy = g_strdup(reply);
  free(reply);
  JsonNode *root = parsed ? json_parser_get_root(p) : NULL;
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QMP %s: unreadable reply: %s", command, reply_copy);
    return NULL;
  }
  JsonObject *o = json_node_get_object(root);
  if (json_object_has_member(o, "error")) {
    JsonNode *en = json_object_get_member(o, "error");
    const char *desc = NULL;
    if (JSON_NODE_HOLDS_OBJECT(en) && !ic_json_get_string(json_node_get_object(en), "desc", "QMP error", &desc, NULL))
      desc = NULL;
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QMP %s: %s", command, desc ? desc : reply_copy);
    return NULL;
  }
  JsonNode *ret = json_object_get_member(o, "return");
  if (ret == NULL) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QMP %s: reply without \"return\": %s", command, reply_copy);
    return NULL;
  }
  return json_node_copy(ret);
}

JsonNode *
ic_qemu_domain_qom_get(IcQemuDomain *d, const char *path, const char *property, GError **error)
{
  g_autoptr(JsonObject) args = json_object_new();
  json_object_set_string_member(args, "path", path);
  json_object_set_string_member(args, "property", property);
  return ic_qemu_domain_qmp(d, "qom-get", args, error);
}

char *
ic_qemu_domain_hmp(IcQemuDomain *d, const char *command_line, GError **error)
{
  g_autoptr(JsonObject) args = json_object_new();
  json_object_set_string_member(args, "command-line", command_line);
  g_autoptr(JsonNode) r = ic_qemu_domain_qmp(d, "human-monitor-command", args, error);
  if (r == NULL)
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE(r) || json_node_get_value_type(r) != G_TYPE_STRING) {
    g_set_error(error, IC_ERROR, IC_ERROR_FAILED, "QMP human-monitor-command: the reply is not text");
    return NULL;
  }
  return g_strdup(json_node_get_string(r));
}

gboolean
ic_qemu_domain_resume(IcQemuDomain *d, GError **error)
{
  if (d->engine->v.virDomainResume(d->dom) < 0)
    return engine_fail(d->engine, d->file, PHASE_RUN, "cannot resume: ", error);
  return TRUE;
}

gboolean
ic_qemu_domain_is_active(IcQemuDomain *d)
{
  return d->dom != NULL && d->engine->v.virDomainIsActive(d->dom) == 1;
}

gboolean
ic_qemu_domain_destroy(IcQemuDomain *d, GError **error)
{
  if (!ic_qemu_domain_is_active(d))
    return TRUE;
  if (d->engine->v.virDomainDestroy(d->dom) < 0) {
    if (!ic_qemu_domain_is_active(d)) {
      d->engine->v.virResetLastError();
      return TRUE;
    }
    return engine_fail(d->engine, d->file, PHASE_RUN, "cannot destroy: ", error);
  }
  return TRUE;
}

gboolean
ic_qemu_domain_shutdown(IcQemuDomain *d, guint timeout_ms, GError **error)
{
  if (!ic_qemu_domain_is_active(d))
    return TRUE;
  if (d->engine->v.virDomainShutdown(d->dom) < 0)
    d->engine->v.virResetLastError(); /* e.g. not running any more: checked below */
  gint64 deadline = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
  while (ic_qemu_domain_is_active(d) && g_get_monotonic_time() < deadline)
    g_usleep(50 * 1000);
  if (!ic_qemu_domain_is_active(d))
    return TRUE;
  ic_qemu_domain_destroy(d, error);
  return FALSE;
}

const char *
ic_qemu_domain_name(const IcQemuDomain *d)
{
  return d->name;
}

int
ic_qemu_domain_pid(IcQemuDomain *d)
{
  if (d->pid >= 0)
    return d->pid;
  d->pid = 0;
  if (d->engine->root == NULL)
    return 0;
  g_autofree char *pidfile = g_strdup_printf("%s/run/qemu/%s.pid", d->engine->root, d->name);
  g_autofree char *text = NULL;
  gint64 pid;
  if (g_file_get_contents(pidfile, &text, NULL, NULL) && ic_parse_int64(g_strstrip(text), 10, 1, G_MAXINT, &pid))
    d->pid = (int) pid;
  return d->pid;
}

char **
ic_qemu_domain_cmdline(IcQemuDomain *d)
{
  int pid = ic_qemu_domain_pid(d);
  if (pid <= 0)
    return NULL;
  g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", pid);
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &data, &len, NULL) || len == 0)
    return NULL;
  GPtrArray *v = g_ptr_array_new();
  for (gsize off = 0; off < len;) {
    const char *w = data + off;
    gsize l = strnlen(w, len - off);
    g_ptr_array_add(v, g_strndup(w, l));
    off += l + 1;
  }
  g_ptr_array_add(v, NULL);
  return (char **) g_ptr_array_free(v, FALSE);
}

void
ic_qemu_domain_free(IcQemuDomain *d)
{
  if (d == NULL)
    return;
  if (d->dom != NULL) {
    ic_qemu_domain_destroy(d, NULL);
    d->engine->v.virDomainFree(d->dom);
  }
  g_ptr_array_remove(d->engine->domains, d);
  g_free(d->name);
  g_free(d->file);
  g_free(d);
}
