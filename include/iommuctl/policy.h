/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cloud policy: OpenStack Nova's vIOMMU and locked-memory rules (Nova-exact
 * where Nova is right, corrected where the XML it would generate is refused
 * by libvirt), the placement traits a host offers, and the trait filter
 * over a fleet.  See docs/policy.md for every deviation from Nova. */
#pragma once

#include <glib.h>
#include <iommuctl/context.h>
#include <iommuctl/domain.h>

G_BEGIN_DECLS

/* ---- vIOMMU model ------------------------------------------------------ */

/* The model type is the domain layer's IcViommuModel; Nova's set is NONE,
 * INTEL, SMMUV3, VIRTIO and AUTO (never AMD or UNKNOWN here). */

/* "intel", "smmuv3", "virtio", "auto"; NULL for NONE. */
const char *ic_viommu_model_name(IcViommuModel model);
/* "COMPUTE_VIOMMU_MODEL_INTEL" ...; NULL for NONE. */
const char *ic_viommu_model_trait(IcViommuModel model);

/* Flavor extra spec hw:viommu_model: NULL or "" -> NONE; otherwise one of
 * the four, case-sensitive, else IC_ERROR_INVALID_ARG with Nova's text
 * "Validation failed; '<v>' is not one of: intel, smmuv3, virtio, auto." */
gboolean ic_viommu_model_parse_flavor(const char *value, IcViommuModel *out, GError **error);
/* Image property hw_viommu_model: same set, error text
 * "Invalid image metadata. Error: Field value <v> is invalid". */
gboolean ic_viommu_model_parse_image(const char *value, IcViommuModel *out, GError **error);

/* Nova's Architecture.canonicalize: lower-case, i386/i486/i586/x86_32 ->
 * i686, amd64 -> x86_64; NULL when the name is not one Nova knows. */
char *ic_policy_canonical_arch(const char *name);

/* ---- versions ------------------------------------------------------------ */

/* libvirt's encoding: major * 1000000 + minor * 1000 + micro; 0 = unknown. */
gboolean ic_policy_parse_version(const char *text, guint64 *out);
char *ic_policy_format_version(guint64 version);
#define IC_POLICY_VERSION(maj, min, mic) ((guint64) (maj) * 1000000u + (guint64) (min) * 1000u + (mic))

/* ---- the host ------------------------------------------------------------ */

/* What the policy needs to know about one compute host.  Tri-state facts
 * are -1 when unknown (not probed, or the host layer was not available). */
typedef struct {
  char *name;              /* hostname, or the name given in a fleet file  */
  char *arch;              /* canonical Nova arch: x86_64, aarch64, ...    */
  guint64 libvirt_version; /* 0 = unknown                                   */
  guint64 qemu_version;    /* 0 = unknown                                   */
  GPtrArray *emulators;    /* canonical arches with a qemu-system-* binary, sorted */
  int iommufd;             /* /dev/iommu present                            */
  int interrupt_remapping; /* host IOMMU does interrupt remapping           */
  guint iommu_address_width; /* host IOMMU address width in bits, 0 unknown */
  int assignable_groups;   /* number of assignable IOMMU groups, -1 unknown */
} IcPolicyHost;

IcPolicyHost *ic_policy_host_new(void);
void ic_policy_host_free(IcPolicyHost *host);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPolicyHost, ic_policy_host_free)

/* Overrides for probing; NULL/0 fields are probed. */
typedef struct {
  const char *arch;
  const char *libvirt_version;
  const char *qemu_version;
  const char *name;
} IcPolicyProbeOverrides;

/* Probe this machine (or the snapshot under ctx's sysfs root): arch from
 * /proc/sys/kernel/arch else uname, emulators from /usr/bin/qemu-system-*,
 * libvirt/QEMU versions by running `libvirtd --version` / `virsh --version`
 * and `qemu-system-<arch> --version` (only on the real host), host IOMMU
 * facts through the host layer when it is built in. */
IcPolicyHost *ic_policy_host_probe(IcContext *ctx, const IcPolicyProbeOverrides *ovr, GError **error);

/* Read the "host" object of an `iommuctl traits --json` document. */
IcPolicyHost *ic_policy_host_load_json(const char *path, GError **error);

/* ---- traits -------------------------------------------------------------- */

typedef struct {
  char *name;
  gboolean present;
  gboolean custom;  /* CUSTOM_*: may go into a provider config file */
  char *reason;     /* why present or absent */
} IcPolicyTrait;

/* Nova's four COMPUTE_VIOMMU_MODEL_* (present or not, in os-traits order)
 * followed by iommuctl's CUSTOM_* traits. */
GPtrArray *ic_policy_host_traits(const IcPolicyHost *host); /* of IcPolicyTrait* */

/* Documents: iommuctl.traits (docs/json/traits.md) and Nova's provider
 * config YAML (schema 1.0; only present CUSTOM_* traits, in `additional`). */
char *ic_policy_traits_to_json(const IcPolicyHost *host, GPtrArray *traits);
char *ic_policy_traits_to_provider_yaml(const IcPolicyHost *host, GPtrArray *traits);

/* ---- resolve: flavor + image + host -> decision --------------------------- */

typedef struct {
  GHashTable *flavor;         /* extra specs, "hw:viommu_model" -> value   */
  GHashTable *image;          /* properties, "hw_viommu_model" -> value    */
  GHashTable *default_machine_types; /* arch -> machine type ([libvirt]hw_machine_type) */
  const char *virt_type;      /* [libvirt]virt_type; NULL = "kvm"           */
  gboolean compute_only;      /* skip the API-stage checks (flavor extra-spec
                               * validation, the NUMA page-size constraint):
                               * a direct driver call, as in Nova's driver tests */
  int image_meta_minor;       /* ImageMetaProps 1.N the compute node speaks; <0 = current */
  /* From a domain XML the decision will be applied to (NULL otherwise):
   * <type arch machine> stand in when the image sets no arch or machine
   * type, <domain type> when no virt_type is given. */
  const char *domain_arch, *domain_machine, *domain_type;
} IcPolicyInput;

IcPolicyInput *ic_policy_input_new(void);
void ic_policy_input_free(IcPolicyInput *input);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPolicyInput, ic_policy_input_free)
/* "KEY=VALUE" into a table. */
gboolean ic_policy_input_add(GHashTable *table, const char *key_value, GError **error);

/* Drop image properties an older ImageMetaProps version does not carry
 * (hw_viommu_model < 1.34, hw_locked_memory < 1.33), as obj_make_compatible does. */
void ic_policy_image_props_for_version(GHashTable *image, int minor);

/* Nova's None/False/True for locked memory. */
typedef enum { IC_POLICY_UNSET = -1, IC_POLICY_FALSE = 0, IC_POLICY_TRUE = 1 } IcPolicyTri;

typedef struct {
  char *arch;          char *arch_rule;
  char *machine_type;  char *machine_type_rule;

  IcViommuModel requested;   char *requested_rule;  /* before auto */
  IcViommuModel model;       char *model_rule;      /* final; NONE = no vIOMMU */
  /* <driver> attributes for the <iommu> (intel only, see docs/policy.md) */
  gboolean has_driver;
  gboolean intremap, caching_mode, eim, iotlb;
  guint aw_bits;             /* 0 = not written */
  gboolean ioapic_qemu;      /* <features><ioapic driver='qemu'/> (x86 only) */

  IcPolicyTri locked;              char *locked_rule;     /* <memoryBacking><locked/> */
  gboolean nosharepages;     /* realtime also turns off page sharing */

  /* When resolution failed: Nova's exception, the HTTP status the API
   * answers (400-class per bug 2158972), where Nova raises it. */
  char *fault_exception;
  int fault_http;            /* 0 = raised on the compute node at spawn */
  char *fault_stage;         /* "api" or "compute" */
  char *fault_message;

  GPtrArray *notes;          /* char*: deviations from Nova that applied */
} IcPolicyDecision;

void ic_policy_decision_free(IcPolicyDecision *decision);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPolicyDecision, ic_policy_decision_free)

/* Always returns a decision; on a refusal also sets *error (IC_ERROR_INVALID_ARG
 * or IC_ERROR_CONFLICT, message = Nova's exact text) and the fault_* fields. */
IcPolicyDecision *ic_policy_resolve(const IcPolicyInput *input, const IcPolicyHost *host,
                                    GError **error);

/* The locked-memory part alone (Nova's get_locked_memory_constraint with the
 * fixed 400 semantics of bug 2158972).  Returns FALSE with the fault set. */
gboolean ic_policy_locked_memory(const IcPolicyInput *input, const char *machine_type,
                                 IcPolicyDecision *decision, GError **error);

/* <iommu> element (and ioapic feature) the decision means, as XML text; NULL
 * when no vIOMMU. */
char *ic_policy_decision_iommu_xml(const IcPolicyDecision *decision);

char *ic_policy_decision_to_json(const IcPolicyDecision *decision);
char *ic_policy_decision_to_text(const IcPolicyDecision *decision);

/* Apply the decision to a libvirt domain XML through the domain layer: the
 * <iommu> (replacing any other), the split ioapic on x86, <locked/>; no
 * vIOMMU removes an existing one.  Refuses (IC_ERROR_CONFLICT) a domain whose
 * arch or machine type contradicts the decision.  Returns the new text;
 * notes (may be NULL) receives char* explanations; *lint_errors the number
 * of error findings `iommuctl domain lint` reports on the result, *lint_text
 * (may be NULL) them as "FILE:LINE: CODE message" lines. */
char *ic_policy_apply_to_domain(const IcPolicyDecision *decision, const char *xml, gsize len,
                                const char *path, guint host_aw_bits, GPtrArray *notes,
                                guint *lint_errors, char **lint_text, GError **error);

/* ---- place: the request filter over a fleet -------------------------------- */

typedef struct IcPolicyFleet IcPolicyFleet;
typedef struct IcPolicyRequest IcPolicyRequest;

/* Load `traits --json` documents: a directory of *.json files, a JSON file
 * holding one document or an array of them, or NDJSON (one per line).
 * A fleet entry needs "host":{"name":...} (or "name") and "traits":[...]. */
IcPolicyFleet *ic_policy_fleet_load(const char *path, GError **error);
/* The same from memory (one document, an array or NDJSON); name is for messages. */
IcPolicyFleet *ic_policy_fleet_load_data(const char *data, gsize len, const char *name, GError **error);
/* Largest fleet file read (bytes); bigger is IC_ERROR_INVALID_ARG. */
#define IC_POLICY_FLEET_MAX_BYTES ((gsize) 1 << 30)
/* Entries of a fleet directory that were not read, as "PATH reason"
 * (symlinks are not followed, FIFOs and devices not read): for a message. */
const GPtrArray *ic_policy_fleet_skipped(const IcPolicyFleet *fleet);
void ic_policy_fleet_free(IcPolicyFleet *fleet);
guint ic_policy_fleet_size(const IcPolicyFleet *fleet);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPolicyFleet, ic_policy_fleet_free)

/* Request terms (docs/policy.md): image properties (hw_viommu_model=virtio,
 * hw_disk_bus=..., Nova's prefilter map with the _MODEL fix), flavor extra
 * specs (hw:viommu_model=intel, trait:NAME=required|forbidden), or
 * trait:NAME / !trait:NAME shorthands. */
IcPolicyRequest *ic_policy_request_new(void);
void ic_policy_request_free(IcPolicyRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPolicyRequest, ic_policy_request_free)
gboolean ic_policy_request_add(IcPolicyRequest *request, const char *term, GError **error);
/* Finish the request: resolve flavor-over-image for the model.  Call once
 * after the last _add. */
gboolean ic_policy_request_finish(IcPolicyRequest *request, GError **error);
const GPtrArray *ic_policy_request_required(const IcPolicyRequest *request);
const GPtrArray *ic_policy_request_forbidden(const IcPolicyRequest *request);

/* What Nova's own transform_image_metadata would put in root_required for
 * these image properties (it computes COMPUTE_VIOMMU_<MODEL>, which os-traits
 * does not define, and then drops every image trait).  Returns the trait
 * list Nova adds (possibly empty) and sets *nova_ok FALSE when Nova's filter
 * gave up; *invalid_trait names the trait it choked on. */
GPtrArray *ic_policy_nova_prefilter(GHashTable *image, gboolean *nova_ok, char **invalid_trait);
/* The same for the image-property terms of a request. */
GPtrArray *ic_policy_request_nova_prefilter(const IcPolicyRequest *request, gboolean *nova_ok,
                                            char **invalid_trait);

/* Filter the fleet.  Fits are reported by index in fit (guint array);
 * for rejected hosts, the first missing required trait (or the first
 * forbidden trait present) by ic_policy_fleet_explain(). */
GArray *ic_policy_place(const IcPolicyFleet *fleet, const IcPolicyRequest *request,
                        GArray **rejected);
const char *ic_policy_fleet_host_name(const IcPolicyFleet *fleet, guint index);
/* Every required trait the host lacks and every forbidden one it has. */
void ic_policy_fleet_explain(const IcPolicyFleet *fleet, const IcPolicyRequest *request,
                             guint index, GPtrArray *lacks, GPtrArray *has_forbidden);

G_END_DECLS
