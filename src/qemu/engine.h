/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt's QEMU driver as iommuctl's engine (internal to src/qemu and the
 * CLI's qemu verbs).
 *
 * `qemu:///embed?root=DIR` runs libvirt's QEMU driver inside this process:
 * no daemon, all of its state under DIR (`<state dir>/qemu-embed`, 0700,
 * checked like the journal: ic_trusted_state_path).  libvirt is loaded
 * lazily with GModule the first time an engine is opened, so iommuctl's
 * other verbs (detach/reattach, timed by issue 11) do not pay for its ~20
 * shared objects at every process start.
 *
 * Tests only: IOMMUCTL_ENGINE_URI names another libvirt URI (e.g.
 * `test:///default`, libvirt's test driver) instead of the embedded QEMU
 * driver; no embed root is made then.  The embed root follows the state
 * directory (IOMMUCTL_STATE_DIR / --state-dir), which is how tests keep it
 * under the build directory.
 *
 * Every XML handed to the engine has had its emulator checked with
 * ic_qemu_emulator_trusted() (ic_qemu_engine_prepare_xml): libvirt probes
 * and executes the `<emulator>` the XML names. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <iommuctl/context.h>
#include <iommuctl/qemu.h>
#include <iommuctl/domain.h>

G_BEGIN_DECLS

#define IC_QEMU_ENGINE_URI_ENV "IOMMUCTL_ENGINE_URI"
/* The Debian packages the engine needs at run time. */
#define IC_QEMU_ENGINE_PACKAGES "libvirt0 libvirt-daemon-driver-qemu"

typedef struct IcQemuEngine IcQemuEngine;
typedef struct IcQemuDomain IcQemuDomain;
typedef struct IcLibvirtSyms IcLibvirtSyms; /* qemu/libvirt-syms.h */

/* Load libvirt, make/check the embed root, write its etc/qemu.conf, connect.
 * A missing libvirt: IC_ERROR_UNSUPPORTED naming the packages. */
IcQemuEngine *ic_qemu_engine_open(IcContext *ctx, GError **error);
/* Closing destroys every domain this engine started and still runs. */
void ic_qemu_engine_close(IcQemuEngine *engine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcQemuEngine, ic_qemu_engine_close)

const char *ic_qemu_engine_uri(const IcQemuEngine *engine);
/* The engine's libvirt functions (loaded with it). */
const IcLibvirtSyms *ic_qemu_engine_libvirt(const IcQemuEngine *engine);
/* The embed root, or NULL for an explicit (test) URI. */
const char *ic_qemu_engine_root(const IcQemuEngine *engine);
/* The user QEMU runs as (qemu.conf), or NULL when it stays root because
 * libvirt-qemu does not exist here. */
const char *ic_qemu_engine_qemu_user(const IcQemuEngine *engine);
/* The libvirt library's version as X*1000000+Y*1000+Z (0 unknown). */
guint ic_qemu_engine_libvirt_code(const IcQemuEngine *engine);
/* The libvirt library's version, "9.0.0". */
const char *ic_qemu_engine_libvirt_version(const IcQemuEngine *engine);

/* The XML that may be handed to the engine: the emulator it would execute
 * is checked with the trusted-binary rule (<emulator> as named, else the
 * default /usr/bin/qemu-system-<arch>); with emulator_override (--qemu,
 * named by the operator, not checked) <emulator> is rewritten to it.
 * Returns the XML text to use. file names the input in errors. */
char *ic_qemu_engine_prepare_xml(IcQemuEngine *engine, const IcDomainDoc *doc,
                                 const char *emulator_override, GError **error);

/* libvirt's own command line for xml (virConnectDomainXMLToNative
 * "qemu-argv").  The environment assignments libvirt puts in front go to
 * *env_out (may be NULL), the rest (emulator first) is returned.  A refusal
 * of the XML is IC_ERROR_INVALID_ARG "FILE: libvirt: <libvirt's text>". */
char **ic_qemu_engine_xml_to_argv(IcQemuEngine *engine, const char *xml, const char *file,
                                  char ***env_out, GError **error);

/* Start xml paused (VIR_DOMAIN_START_PAUSED).  libvirt 9.0's embedded
 * driver has no AUTODESTROY, so the domain is destroyed by
 * ic_qemu_domain_free() or, at the latest, ic_qemu_engine_close(); a
 * caller that may be killed must handle its signals (run does). */
/* Before QEMU starts as the engine's unprivileged user: every directory
 * above the root must let it pass, else IC_ERROR_PERMISSION naming the
 * first one that does not (TRUE when QEMU runs as root or on a test URI). */
gboolean ic_qemu_engine_check_qemu_reaches_root(IcQemuEngine *engine, GError **error);
IcQemuDomain *ic_qemu_engine_start_paused(IcQemuEngine *engine, const char *xml,
                                          const char *file, GError **error);
/* QMP pass-through: {"execute":command,"arguments":args}; returns the
 * "return" member (new ref).  A QMP error is IC_ERROR_FAILED with QEMU's
 * "desc". args may be NULL. */
JsonNode *ic_qemu_domain_qmp(IcQemuDomain *dom, const char *command, JsonObject *args,
                             GError **error);
/* qom-get path property. */
JsonNode *ic_qemu_domain_qom_get(IcQemuDomain *dom, const char *path, const char *property,
                                 GError **error);
/* human-monitor-command through QMP; returns the text. */
char *ic_qemu_domain_hmp(IcQemuDomain *dom, const char *command_line, GError **error);
gboolean ic_qemu_domain_resume(IcQemuDomain *dom, GError **error);
/* ACPI power button, then wait up to timeout_ms for the domain to end;
 * destroy it when it did not.  TRUE when it shut down by itself. */
gboolean ic_qemu_domain_shutdown(IcQemuDomain *dom, guint timeout_ms, GError **error);
gboolean ic_qemu_domain_destroy(IcQemuDomain *dom, GError **error);
/* Still running (or paused)? */
gboolean ic_qemu_domain_is_active(IcQemuDomain *dom);
/* libvirt's name of the domain and QEMU's pid (from the embed root's
 * run/qemu/NAME.pid; 0 when unknown, e.g. the test driver). */
const char *ic_qemu_domain_name(const IcQemuDomain *dom);
int ic_qemu_domain_pid(IcQemuDomain *dom);
/* The argv of the running QEMU (/proc/PID/cmdline), NULL when unknown. */
char **ic_qemu_domain_cmdline(IcQemuDomain *dom);
/* Destroys the domain when it still runs, then frees. */
void ic_qemu_domain_free(IcQemuDomain *dom);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcQemuDomain, ic_qemu_domain_free)

/* Split the one line virConnectDomainXMLToNative prints: leading NAME=VALUE
 * words to *env_out (may be NULL), the rest returned (exported for tests). */
char **ic_qemu_engine_split_native(const char *native, char ***env_out, GError **error);

/* libvirt's argv (emulator first) as the argv model: an option followed by
 * a word that does not start with '-' is its value, kept as libvirt wrote
 * it.  JSON values are parsed only when asked for (the parse cost more
 * than the rest of iommuctl's work on a domain): */
IcQemuArgv *ic_qemu_argv_from_strv(const char *const *argv);
/* o->json, parsed from o->text on first use (NULL when not a JSON object). */
JsonObject *ic_qemu_opt_json(IcQemuOpt *o);
/* Parse every JSON value (for lookups by id, --json, --verify). */
void ic_qemu_argv_parse_json(IcQemuArgv *argv);

/* ---- domain qemu-args on the engine (src/qemu/args.c) ------------------------ */

typedef struct {
  const char *emulator;      /* --qemu: the operator's binary (not trust-checked); NULL: the XML's */
  guint libvirt_version;     /* lint's rules and texts (X*1000000+Y*1000+Z); 0: the installed
                              * libvirt, else 9.0 */
  const char *qemu_version;  /* --qemu-version X.Y: also check the argv against iommuctl's table
                              * of when each IOMMU-relevant option appeared; NULL: no such check */
  guint64 host_ram_bytes;    /* for the memlock note; 0 unknown */
  gboolean skip_groups;      /* no whole-group check of hostdevs on this host (tests, benches) */
} IcQemuBuildOptions;

typedef struct {
  IcQemuArgv *argv;          /* libvirt's command line, emulator first */
  char **env;                /* the environment libvirt sets for it (NAME=VALUE) */
  char *xml;                 /* the XML given to libvirt: the input plus iommuctl's additions */
  GPtrArray *notes;          /* IcQemuNote*: lint warnings, bypass, groups, memlock */
  guint64 memlock_bytes;     /* iommuctl's estimate; 0 none, G_MAXUINT64 unlimited */
} IcQemuBuild;

void ic_qemu_build_free(IcQemuBuild *build);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcQemuBuild, ic_qemu_build_free)

/* Lint first (errors refuse, IC_ERROR_INVALID_ARG naming FILE:LINE and the
 * rule), then iommuctl's additions to the XML (bypass realised from its
 * metadata when the file lacks the qemu:override/commandline), the trusted
 * emulator, then libvirt's argv.  Whole-group and memlock findings are
 * notes.  engine NULL: iommuctl's part alone, no argv (build->argv NULL,
 * build->xml what would be handed over; for fuzzing). */
IcQemuBuild *ic_qemu_build(IcQemuEngine *engine, IcContext *ctx, const IcDomainDoc *doc,
                           const IcQemuBuildOptions *opts, GError **error);

/* ---- --verify (src/qemu/verify.c) ---------------------------------------------- */

typedef struct {
  char *what;               /* "/machine/peripheral/iommu0 caching-mode" */
  char *expected;
  char *actual;             /* NULL when unreadable */
  gboolean ok;
  gboolean skipped;         /* not started: e.g. vfio-pci without a host IOMMU group */
} IcQemuCheck;

/* Start build->xml paused on the engine, read back every IOMMU-relevant
 * property the argv sets (qom-get on /machine/peripheral/<id> and /machine,
 * info qtree for the host bridges' bypass-iommu), destroy the domain on
 * every path.  Returns the checks; libvirt or QEMU refusing to start is an
 * error (IC_ERROR_FAILED) with their text. */
GPtrArray *ic_qemu_verify(IcQemuEngine *engine, const IcQemuBuild *build, const char *file, GError **error);

G_END_DECLS
