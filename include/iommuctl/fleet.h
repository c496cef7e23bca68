/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fleet: feed the engines operators already run (OpenStack Placement and
 * Nova's [pci] config, Node Feature Discovery, KubeVirt, Proxmox, Prometheus)
 * with this host's IOMMU truth, group-aware.  See docs/fleet.md.
 *
 * Depends on the host layer (inventory, groups) and the policy layer (the
 * traits a host offers, request terms); nothing below depends on it. */
#pragma once

#include <glib.h>
#include <iommuctl/context.h>
#include <iommuctl/host.h>
#include <iommuctl/policy.h>
#include <iommuctl/assign.h>

G_BEGIN_DECLS

/* ---- assignable groups ---------------------------------------------------- */

/* A group the fleet engines may hand out whole: verdict assignable or
 * needs-detach (nothing the host uses, isolated), with at least one
 * endpoint.  Bridges are never listed. */
typedef struct {
  const IcIommuGroup *group;   /* points into the inventory */
  GPtrArray *endpoints;        /* IcPciDevice* (not owned), by address */
  char *resource_class;        /* CUSTOM_IOMMU_GROUP_<V>_<P>[_<V>_<P>...] */
} IcFleetGroup;

/* Groups with endpoints that are not offered, and why. */
typedef struct {
  int number;
  char *reason;
} IcFleetRefusal;

/* The groups to offer, sorted by number (IcFleetGroup*), and, when refused
 * is not NULL, the groups with endpoints that are not (IcFleetRefusal*). */
GPtrArray *ic_fleet_assignable_groups(IcInventory *inv, GPtrArray *refused);
GPtrArray *ic_fleet_refusals_new(void);
/* Placement resource class of a group: one unit is one whole group, named
 * after the sorted, de-duplicated vendor:product pairs of its endpoints
 * (docs/fleet.md says why not Nova's per-function CUSTOM_PCI_<V>_<P>). */
char *ic_fleet_group_resource_class(const IcIommuGroup *group);

/* ---- OpenStack Placement --------------------------------------------------- */

/* A client of one Placement endpoint (libsoup, microversion 1.39). */
typedef struct IcPlacement IcPlacement;
IcPlacement *ic_placement_new(const char *url, const char *token, GError **error);
void ic_placement_free(IcPlacement *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPlacement, ic_placement_free)
/* Requests made so far (GET / everything else). */
guint ic_placement_reads(const IcPlacement *p);
guint ic_placement_writes(const IcPlacement *p);

typedef struct {
  const char *provider;   /* name or UUID; NULL = the host's name */
  gboolean create;        /* create the provider and the CUSTOM_* traits */
  gboolean dry_run;       /* read only; say what would change */
} IcPlacementSyncOptions;

typedef struct {
  char *name, *uuid;
  gboolean created;
  gint64 generation;      /* after the sync (or as read, on a dry run) */
} IcPlacementChild;

typedef struct {
  char *provider_name, *provider_uuid;
  gboolean provider_created;
  gint64 generation;
  GPtrArray *traits;       /* char*: the provider's traits after the sync */
  GPtrArray *added;        /* char*: owned traits added */
  GPtrArray *removed;      /* char*: owned traits removed */
  GPtrArray *foreign;      /* char*: traits of others, left as they were */
  GPtrArray *traits_created;  /* char*: CUSTOM_* traits created (--create) */
  GPtrArray *classes_created; /* char*: resource classes created */
  GPtrArray *children;     /* IcPlacementChild*: one per assignable group */
  GPtrArray *children_removed; /* char*: names of stale group providers deleted */
  gboolean changed;        /* anything written (or, dry run, would be) */
  guint retries;           /* 409 conflicts re-read and retried */
  guint reads, writes;
} IcPlacementSyncResult;

void ic_placement_sync_result_free(IcPlacementSyncResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPlacementSyncResult, ic_placement_sync_result_free)

/* Publish traits (IcPolicyTrait*, from ic_policy_host_traits) on the
 * provider, adding and removing only the ones iommuctl owns, and one child
 * provider per group (IcFleetGroup*, may be NULL) with one unit of the
 * group's resource class.  Generation-aware: a 409 re-reads and retries. */
IcPlacementSyncResult *ic_placement_sync(IcPlacement *p, const char *host_name, GPtrArray *traits,
                                         GPtrArray *groups, const IcPlacementSyncOptions *options,
                                         GError **error);
/* The traits iommuctl owns on a provider: the ones it computes, and any
 * COMPUTE_VIOMMU_MODEL_* / CUSTOM_IOMMU_ADDRESS_WIDTH_* one. */
gboolean ic_placement_trait_is_owned(const char *trait, GPtrArray *traits);

/* An allocation-candidates question. */
typedef struct {
  GPtrArray *required;     /* char* */
  GPtrArray *forbidden;    /* char* */
  GPtrArray *any_of;       /* GStrv: each one "in:A,B" group */
  const char *resources;   /* "VCPU:1" when NULL */
} IcPlacementQuery;

typedef struct {
  char *uuid, *name;
  gboolean candidate;
  GPtrArray *lacks;          /* char*: required traits it lacks */
  GPtrArray *has_forbidden;  /* char*: forbidden traits it has */
  GPtrArray *lacks_any_of;   /* char*: "A|B" groups it has none of */
  gboolean capacity;         /* every trait fits: not a candidate for its resources */
} IcPlacementVerdict;

typedef struct {
  GPtrArray *providers;      /* IcPlacementVerdict*, root providers by name */
  guint candidates;
  GPtrArray *unknown_traits; /* char*: traits Placement does not know */
  guint requests;            /* HTTP requests this answer took */
} IcPlacementAnswer;

void ic_placement_answer_free(IcPlacementAnswer *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPlacementAnswer, ic_placement_answer_free)

/* Ask GET /allocation_candidates, then explain every root provider that is
 * not a candidate from one provider listing per trait (never one request
 * per provider). */
IcPlacementAnswer *ic_placement_place(IcPlacement *p, const IcPlacementQuery *q, GError **error);

/* ---- Placement replies (pure; fuzzed by fuzz-fleet) ------------------------ */

/* Parse a reply body as a JSON object; a non-object is IC_ERROR_PARSE naming what. */
JsonNode *ic_placement_parse_object(const char *data, gsize len, const char *what, GError **error);
/* "detail" of the first entry of Placement's {"errors":[...]} (code in *code
 * when not NULL), or a short excerpt of the body. */
char *ic_placement_error_detail(const char *data, gsize len, char **code);
/* {"resource_providers":[{uuid,name,generation,parent_provider_uuid}...]}:
 * IcPlacementProvider*. */
typedef struct {
  char *uuid, *name, *parent_uuid, *root_uuid;  /* root_uuid NULL when absent */
  gint64 generation;
} IcPlacementProvider;
void ic_placement_provider_free(IcPlacementProvider *rp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcPlacementProvider, ic_placement_provider_free)
IcPlacementProvider *ic_placement_parse_provider(JsonNode *root, const char *what, GError **error);
GPtrArray *ic_placement_parse_providers(JsonNode *root, const char *what, GError **error);
/* The same from the reply's bytes, without a json-glib tree (SQLite's JSON
 * reader; placement-listing.c says why): what every listing goes through. */
GPtrArray *ic_placement_parse_provider_list(const char *data, gsize len, const char *what, GError **error);
/* {"traits":[...], "resource_provider_generation": N} (generation -1 when absent). */
GPtrArray *ic_placement_parse_traits(JsonNode *root, const char *what, gint64 *generation, GError **error);
/* The provider UUIDs named by allocation_requests[].allocations (a set). */
GHashTable *ic_placement_parse_candidates(JsonNode *root, const char *what, GError **error);
/* Add to that set the root_provider_uuid provider_summaries gives each of
 * its members (a candidate allocating from a child counts for its root). */
gboolean ic_placement_candidate_roots(JsonNode *root, GHashTable *candidates, const char *what, GError **error);
/* Both at once from the reply's bytes, without a json-glib tree (SQLite's
 * JSON reader, placement-listing.c): the candidate providers and their roots. */
GHashTable *ic_placement_parse_candidate_set(const char *data, gsize len, const char *what, GError **error);

/* ---- Nova [pci] ------------------------------------------------------------ */

typedef struct {
  GPtrArray *device_spec;   /* JsonNode* (objects): one per endpoint, by address */
  GPtrArray *alias;         /* JsonNode* (objects): one per vendor:product */
  GPtrArray *refused;       /* IcFleetRefusal* */
  guint groups;             /* groups emitted */
} IcNovaPciConfig;

void ic_nova_pci_config_free(IcNovaPciConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcNovaPciConfig, ic_nova_pci_config_free)
/* Entries for the groups of addrs (char*, may be NULL = every assignable
 * group).  Groups with more than one endpoint are refused (Nova would hand
 * out one function of them).  alias_name NULL names each alias
 * "pci_<vendor>_<product>".  An address that is not a device is an error. */
IcNovaPciConfig *ic_nova_pci_config(IcInventory *inv, GPtrArray *addrs, const char *alias_name,
                                    GError **error);
char *ic_nova_pci_config_to_ini(const IcNovaPciConfig *c);
char *ic_nova_pci_config_to_json(const IcNovaPciConfig *c);

/* ---- exports ---------------------------------------------------------------- */

/* NFD local feature file (features.d): one "name=value" per line, names under
 * NFD's own "feature.node.kubernetes.io/" prefix (never denied by
 * nfd-master); IC_ERROR_FAILED if over NFD's 65,536-byte limit. */
char *ic_export_nfd(IcInventory *inv, const IcPolicyHost *host, GError **error);
#define IC_NFD_MAX_FILE_SIZE 65536
/* Kubernetes label-name and label-value rules NFD applies (exported for tests). */
gboolean ic_nfd_valid_label_name(const char *key);
gboolean ic_nfd_valid_label_value(const char *value);
/* KubeVirt permittedHostDevices.pciHostDevices (YAML, or an iommuctl.kubevirt
 * JSON document when json): one selector per vendor:device whose every
 * device on this host is the only function of an offered group. */
char *ic_export_kubevirt(IcInventory *inv, gboolean json);
/* Proxmox /etc/pve/mapping/pci.cfg sections for node: one per offered group
 * whose functions are those of one slot (a whole multifunction device);
 * other groups become comments saying why. */
char *ic_export_proxmox(IcInventory *inv, const char *node, GError **error);
/* node_exporter textfile metrics (text format 0.0.4, no timestamps).
 * status may be NULL (journal unreadable: iommuctl_journal_readable 0). */
char *ic_export_prometheus(IcInventory *inv, const IcAssignStatus *status);

G_END_DECLS
