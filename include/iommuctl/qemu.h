/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QEMU layer: a QMP client, the capability probe of a QEMU binary, the
 * argv model, and (see the second half) the command line a domain XML means,
 * per-host-bridge IOMMU bypass and `iommuctl run`. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <iommuctl/context.h>
#include <iommuctl/error.h>

G_BEGIN_DECLS

/* ======================================================================
 * QMP client
 * ====================================================================== */

/* One QEMU process started by us with a private QMP socket.  Freeing it
 * kills the process (SIGKILL if it did not quit) and removes its private
 * directory. */
typedef struct IcQmp IcQmp;

/* Start argv[0] with argv[1..] plus "-qmp unix:<private>,server=on,wait=off",
 * connect, negotiate capabilities.  If QEMU exits before the socket answers,
 * the error (IC_ERROR_FAILED) carries QEMU's own stderr text.  timeout_ms
 * bounds the wait for the socket and every later reply. */
IcQmp *ic_qmp_spawn(const char *const *argv, guint timeout_ms, GError **error);
/* Run one command; returns the "return" member (new ref).  A QMP error
 * becomes IC_ERROR_FAILED with QEMU's "desc". args may be NULL. */
JsonNode *ic_qmp_execute(IcQmp *qmp, const char *command, JsonObject *args, GError **error);
/* qom-get path property. */
JsonNode *ic_qmp_qom_get(IcQmp *qmp, const char *path, const char *property, GError **error);
/* human-monitor-command; returns the text. */
char *ic_qmp_hmp(IcQmp *qmp, const char *command_line, GError **error);
/* Ask QEMU to quit and wait for it (bounded); kill on timeout. */
void ic_qmp_quit(IcQmp *qmp);
/* QEMU's stderr so far (for diagnostics). */
char *ic_qmp_stderr(IcQmp *qmp);
void ic_qmp_free(IcQmp *qmp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcQmp, ic_qmp_free)

/* ======================================================================
 * Capabilities of one QEMU binary
 * ====================================================================== */

typedef struct IcQemuCaps IcQemuCaps;

/* Probe binary over QMP (device-list-properties, qom-list-properties of
 * the machine types, query-version, query-machines, qom-list-types) or
 * reuse the cache in ctx->cache_dir keyed by the binary's path, size and
 * mtime. */
IcQemuCaps *ic_qemu_caps_probe(IcContext *ctx, const char *binary, GError **error);
/* A capability file (the JSON ic_qemu_caps_to_json writes), e.g. a fake
 * one for a QEMU that is not installed. */
IcQemuCaps *ic_qemu_caps_load_file(const char *path, GError **error);
/* What a QEMU of this version has, from iommuctl's table of when each
 * IOMMU-relevant property appeared, layered over base (may be NULL).  Used
 * by --qemu-version to show the argv for a QEMU that is not installed. */
IcQemuCaps *ic_qemu_caps_for_version(const IcQemuCaps *base, const char *version,
                                     GError **error);
/* Whether iommuctl may execute an emulator a domain XML names: it and
 * every directory above it are owned by root and not writable by group or
 * other (ic_trusted_executable).  Otherwise IC_ERROR_INVALID_ARG naming the
 * failing path and the way out (--qemu, --qemu-caps, --qemu-version).
 * *resolved_out (may be NULL) gets the checked path: execute that one, not
 * binary, so a symlink on the way cannot be swapped after the check. */
gboolean ic_qemu_emulator_trusted(const char *binary, char **resolved_out, GError **error);
/* What the CLI uses: caps_file if given; else probe binary (when it is
 * missing, or untrusted, and version is given, the version table alone);
 * then, with version, what that version would have.  operator_named: the
 * binary came from the command line (--qemu), not from the XML, so it is
 * executed without the trust rule. */
IcQemuCaps *ic_qemu_caps_select(IcContext *ctx, const char *binary, gboolean operator_named,
                                const char *version, const char *caps_file, GError **error);
void ic_qemu_caps_free(IcQemuCaps *caps);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcQemuCaps, ic_qemu_caps_free)

const char *ic_qemu_caps_version(const IcQemuCaps *caps);   /* "7.2.22" */
/* major*1000000 + minor*1000 + micro */
guint ic_qemu_caps_version_code(const IcQemuCaps *caps);
const char *ic_qemu_caps_binary(const IcQemuCaps *caps);
gboolean ic_qemu_caps_has_device(const IcQemuCaps *caps, const char *type);
gboolean ic_qemu_caps_has_device_prop(const IcQemuCaps *caps, const char *type, const char *prop);
gboolean ic_qemu_caps_has_object(const IcQemuCaps *caps, const char *type);
/* machine may be an alias ("q35"); resolved through query-machines. */
gboolean ic_qemu_caps_has_machine(const IcQemuCaps *caps, const char *machine);
gboolean ic_qemu_caps_has_machine_prop(const IcQemuCaps *caps, const char *machine, const char *prop);
/* "q35" -> "pc-q35-7.2"; unknown -> NULL; a full name returns itself. */
const char *ic_qemu_caps_resolve_machine(const IcQemuCaps *caps, const char *machine);
/* The first QEMU version that has type[.prop] per iommuctl's table, or NULL
 * when the table does not know it. */
const char *ic_qemu_feature_since(const char *type, const char *prop);
JsonNode *ic_qemu_caps_to_json(const IcQemuCaps *caps);

/* ======================================================================
 * Argv model: an ordered list of options.  -device/-object/-blockdev/
 * -netdev values are JSON objects in libvirt's style, so two argvs compare
 * as parsed JSON.
 * ====================================================================== */

typedef struct {
  char *name;        /* "-device", "-machine", "-S" */
  char *text;        /* keyval/plain value, or NULL */
  JsonObject *json;  /* JSON value, or NULL */
} IcQemuOpt;

typedef struct {
  char *binary;
  GPtrArray *opts;   /* IcQemuOpt* */
} IcQemuArgv;

IcQemuArgv *ic_qemu_argv_new(const char *binary);
void ic_qemu_argv_free(IcQemuArgv *argv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcQemuArgv, ic_qemu_argv_free)
void ic_qemu_argv_add_flag(IcQemuArgv *argv, const char *name);
void ic_qemu_argv_add_text(IcQemuArgv *argv, const char *name, const char *value);
/* Takes ownership of value. */
void ic_qemu_argv_add_json(IcQemuArgv *argv, const char *name, JsonObject *value);
/* The first -device (or other option) whose JSON "id" is id, or NULL. */
IcQemuOpt *ic_qemu_argv_find_id(IcQemuArgv *argv, const char *name, const char *id);
/* NULL-terminated, binary first, JSON values compact in insertion order. */
char **ic_qemu_argv_to_strv(const IcQemuArgv *argv);
/* One option per line (the format of tests/lib/libvirt-oracle argv), or one shell-quoted line. */
char *ic_qemu_argv_to_lines(const IcQemuArgv *argv);
char *ic_qemu_argv_to_shell(const IcQemuArgv *argv);
/* {"binary":..., "options":[{"name":"-device","value":{...}|"text"|null}]} */
JsonNode *ic_qemu_argv_to_json(const IcQemuArgv *argv);

/* Parse "a=b,c=d" keyval (QEMU's ",," escape) into an object of strings;
 * a leading bare word goes under implied_key (e.g. "type" for -machine). */
JsonObject *ic_qemu_keyval_parse(const char *text, const char *implied_key);

/* ======================================================================
 * Domain XML -> QEMU command line
 * ====================================================================== */

typedef struct IcDomainDoc IcDomainDoc; /* include/iommuctl/domain.h */

/* The emulator a domain runs on: override, else <emulator>, else
 * /usr/bin/qemu-system-<arch>. */
char *ic_qemu_binary_for(const IcDomainDoc *doc, const char *override);

typedef struct {
  const IcQemuCaps *caps;   /* required: what the binary offers */
  const char *binary;       /* the emulator (ic_qemu_binary_for) */
  gboolean paused;          /* add -S */
  const char *qmp_socket;   /* add a QMP monitor on this unix socket; NULL: none */
} IcQemuBuildOptions;

typedef enum {
  IC_QEMU_NOTE_INFO,
  IC_QEMU_NOTE_WARNING,
} IcQemuNoteLevel;

/* A lint-style finding of the QEMU layer (refusals are GErrors instead). */
typedef struct {
  const char *code;         /* stable, "IC-Q…" (static) */
  IcQemuNoteLevel level;
  int line;                 /* 0: the document */
  char *message;
} IcQemuNote;

typedef struct {
  IcQemuArgv *argv;
  GPtrArray *notes;         /* IcQemuNote* */
} IcQemuBuild;

void ic_qemu_build_free(IcQemuBuild *build);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcQemuBuild, ic_qemu_build_free)

/* The complete command line.  Refuses (IC_ERROR_UNSUPPORTED naming the
 * element and line) anything outside the modelled subset, anything the
 * binary lacks (with its version and the version needed), and combinations
 * QEMU would refuse (with QEMU's own text). */
IcQemuBuild *ic_qemu_build(IcContext *ctx, const IcDomainDoc *doc,
                           const IcQemuBuildOptions *opts, GError **error);

/* ---- per-host-bridge bypass (bypass_iommu / default-bus-bypass-iommu) ---- */

#define IC_QEMU_BYPASS_NS "https://iommuctl.dev/xmlns/bypass/1"

/* --bus INDEX=on|off edits and --default-bus on|off: write metadata and the
 * libvirt realisation; everything else in the file is kept byte for byte. */
typedef struct {
  int default_bus;          /* -1 leave, 0 off, 1 on */
  GArray *buses;            /* of IcQemuBypassBus */
} IcQemuBypassEdit;

typedef struct {
  int index;                /* pcie-expander-bus controller index */
  gboolean on;
} IcQemuBypassBus;

gboolean ic_qemu_bypass_apply(IcDomainDoc *doc, const IcQemuBypassEdit *edit,
                              GPtrArray *notes, GError **error);

/* ---- iommuctl run ------------------------------------------------------
 * On the engine (libvirt's embedded QEMU driver, src/qemu/engine.h). */

typedef struct {
  const char *emulator;     /* --qemu: executed as the operator names it (no
                             * trust rule); NULL: the XML's, which must pass it */
  const char *user;         /* --user: QEMU runs as this user (a DAC seclabel for
                             * the domain); NULL: the engine's qemu.conf user */
  gboolean dry_run;         /* print the plan and libvirt's argv, change nothing */
  guint shutdown_timeout_s; /* after a signal: graceful shutdown, destroy after
                             * this many seconds (0: 30) */
  guint64 host_ram_bytes;   /* for the memlock report; 0 unknown */
} IcQemuRunOptions;

/* Lint (refuse on errors), detach the managed='yes' PCI hostdevs' whole
 * groups (journaled), start the domain on the engine with those hostdevs
 * as managed='no', stay in the foreground until it ends (SIGINT/SIGTERM/
 * SIGHUP: virDomainShutdown, then virDomainDestroy after the timeout or a
 * second signal), reattach the groups on every exit.  The plan and progress
 * go to out (one line each; NULL: stdout as they happen).  TRUE with
 * *exit_status 0 after the guest shut down, 128+signal when a signal ended
 * it; FALSE with error when libvirt or QEMU failed (the guest crashed, QEMU
 * died, libvirt refused the start). */
gboolean ic_qemu_run(IcContext *ctx, IcDomainDoc *doc, const IcQemuRunOptions *opts,
                     GPtrArray *out, int *exit_status, GError **error);

/* ---- property read-back over QMP ---------------------------------------- */

typedef struct {
  char *what;               /* "/machine/peripheral/iommu0 caching-mode" */
  char *expected;
  char *actual;             /* NULL when unreadable */
  gboolean ok;
  gboolean skipped;         /* not started: e.g. vfio-pci without a host IOMMU group */
} IcQemuCheck;

/* Start argv paused (with a private QMP socket), read back every property
 * the command line set (qom-get on /machine/peripheral/<id>, /objects/<id>,
 * /machine; info qtree for id-less host bridges' bypass-iommu), quit.
 * Returns the checks (IcQemuCheck*); QEMU refusing to start is an error
 * carrying QEMU's text. */
/* vfio-pci devices whose host device has no IOMMU group here (and then the
 * iommufd object) are left out of the started QEMU and reported skipped. */
GPtrArray *ic_qemu_verify(IcContext *ctx, const IcQemuArgv *argv, GError **error);

G_END_DECLS
