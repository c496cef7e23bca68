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
 * The emulator and the QEMU versions iommuctl knows
 * ====================================================================== */

/* Whether iommuctl may let an emulator a domain XML names be executed (by
 * libvirt's engine, which probes and runs it): it and every directory above
 * it are owned by root and not writable by group or other
 * (ic_trusted_executable).  Otherwise IC_ERROR_INVALID_ARG naming the
 * failing path and the way out (--qemu PATH).  *resolved_out (may be NULL)
 * gets the checked path: hand that one over, not binary, so a symlink on
 * the way cannot be swapped after the check. */
gboolean ic_qemu_emulator_trusted(const char *binary, char **resolved_out, GError **error);
/* The first QEMU version that has type[.prop] per iommuctl's table, or NULL
 * when the table does not know it (type "machine" for machine properties,
 * "object:TYPE" is not used: objects are types). */
const char *ic_qemu_feature_since(const char *type, const char *prop);

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
 * Domain XML -> QEMU command line: libvirt's own, through its embedded QEMU
 * driver (src/qemu/engine.h, internal), plus what libvirt cannot express.
 * ====================================================================== */

typedef struct IcDomainDoc IcDomainDoc; /* include/iommuctl/domain.h */

/* The emulator a domain runs on: override, else <emulator>, else
 * /usr/bin/qemu-system-<arch>. */
char *ic_qemu_binary_for(const IcDomainDoc *doc, const char *override);

typedef enum {
  IC_QEMU_NOTE_INFO,
  IC_QEMU_NOTE_WARNING,
} IcQemuNoteLevel;

/* A lint-style finding of the QEMU layer (refusals are GErrors instead). */
typedef struct {
  const char *code;         /* stable, "IC-Q…" or a lint code (static) */
  IcQemuNoteLevel level;
  int line;                 /* 0: the document */
  char *message;
} IcQemuNote;

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

G_END_DECLS
