/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libvirt domain XML: safe parsing, a typed read-only view, lint, and
 * minimal byte-preserving edits (protect, vIOMMU, hostdev, locked memory).
 *
 * Model: an IcDomainDoc owns the original bytes, the libxml2 tree parsed
 * from them and the typed view (IcDomainDef) built from that tree.  Edits are
 * spliced into the original text at element byte offsets, then the document
 * is re-parsed, so after every successful edit call the tree, the view and
 * ic_domain_doc_bytes() agree.  An untouched document serializes to exactly
 * the bytes it was parsed from.
 *
 * Every typed item carries the libxml2 node it came from (`node`), so callers
 * can read attributes this view does not model.  Nodes and strings belong to
 * the document and stay valid until the next edit call or the free.  The
 * node's `_private` field is used by this module: do not touch it. */
#pragma once

#include <glib.h>
#include <libxml/tree.h>
#include <iommuctl/pciaddr.h>

G_BEGIN_DECLS

/* ---- tristates ------------------------------------------------------------ */

/* libvirt's virTristateSwitch/virTristateBool: absent is not "off".  on/yes
 * map to ON, off/no to OFF; any other text is INVALID (lint reports it). */
typedef enum {
  IC_TRI_ABSENT = 0,
  IC_TRI_ON,
  IC_TRI_OFF,
  IC_TRI_INVALID,
} IcTristate;

const char *ic_tristate_to_string(IcTristate t); /* "absent","on","off","invalid" */

/* ---- typed view ------------------------------------------------------------ */

typedef enum {
  IC_DOMAIN_DOC_DOMAIN,  /* <domain> */
  IC_DOMAIN_DOC_DEVICE,  /* one standalone device (virsh attach-device file) */
  IC_DOMAIN_DOC_DEVICES, /* a bare <devices> list of devices */
} IcDomainDocKind;

typedef enum {
  IC_ADDR_NONE = 0,   /* no <address> */
  IC_ADDR_PCI,
  IC_ADDR_CCW,
  IC_ADDR_DRIVE,
  IC_ADDR_VIRTIO_MMIO,
  IC_ADDR_OTHER,      /* see type_name */
} IcAddrType;

typedef struct {
  IcAddrType type;
  const char *type_name;    /* raw type='' (NULL when no address) */
  IcPciAddr pci;            /* IC_ADDR_PCI: fields default to 0 when absent */
  gboolean pci_multifunction;
  guint cssid, ssid, devno; /* IC_ADDR_CCW */
  xmlNodePtr zpci;          /* IC_ADDR_PCI: <zpci uid fid/> child (s390x zPCI identity), or NULL */
  xmlNodePtr node;          /* the <address> element or NULL */
} IcDevAddress;

/* libvirt's virtioOptions on a device's <driver>. */
typedef struct {
  IcTristate iommu, ats, packed, page_per_vq;
  xmlNodePtr driver;        /* the device's <driver> element or NULL */
} IcVirtioOptions;

typedef enum {
  IC_DEV_DISK, IC_DEV_INTERFACE, IC_DEV_CONTROLLER, IC_DEV_FILESYSTEM,
  IC_DEV_RNG, IC_DEV_MEMBALLOON, IC_DEV_VSOCK, IC_DEV_VIDEO, IC_DEV_INPUT,
  IC_DEV_SOUND, IC_DEV_CRYPTO, IC_DEV_MEMORY, IC_DEV_HOSTDEV, IC_DEV_IOMMU,
  IC_DEV_SERIAL, IC_DEV_CONSOLE, IC_DEV_CHANNEL, IC_DEV_GRAPHICS,
  IC_DEV_WATCHDOG, IC_DEV_TPM, IC_DEV_SHMEM, IC_DEV_REDIRDEV, IC_DEV_PANIC,
  IC_DEV_EMULATOR, IC_DEV_OTHER,
} IcDeviceKind;

const char *ic_device_kind_to_string(IcDeviceKind kind); /* the element name */

/* Common part of every child of <devices> (and of a standalone device). */
typedef struct {
  IcDeviceKind kind;
  xmlNodePtr node;
  int line;                 /* 1-based line of the start tag */
  const char *model;        /* the device's model as libvirt names it: model=''
                               attribute, or <model type=''/> for interface and
                               video; NULL when none */
  gboolean virtio;          /* a virtio device (takes virtio options) */
  gboolean transitional;    /* model is *-transitional: legacy-capable PCI,
                               cannot take iommu_platform */
  gboolean takes_virtio_options; /* libvirt's schema has virtioOptions on this
                               kind's <driver> (whether or not it is virtio) */
  IcVirtioOptions opts;
  IcDevAddress address;
  const char *alias;        /* <alias name=''> */
} IcDomainDevice;

typedef struct {
  IcDomainDevice base;
  const char *type;         /* file, block, network, volume, nvme, vhostuser, ... */
  const char *device;       /* disk (default), cdrom, floppy, lun */
  const char *bus;          /* <target bus=''> */
  const char *target_dev;   /* <target dev=''> */
  const char *source;       /* <source file|dev|name|dir=''> */
  const char *driver_name;  /* <driver name=''> ("qemu") */
  const char *driver_type;  /* <driver type=''> ("raw","qcow2") */
} IcDomainDisk;

typedef struct {
  IcDomainDevice base;
  const char *type;         /* network, bridge, user, direct, hostdev, vdpa, ... */
  const char *mac;          /* <mac address=''> */
  const char *source;       /* <source network|bridge|dev=''> */
  const char *driver_name;  /* <driver name=''> (vhost, qemu, vfio) */
} IcDomainInterface;

typedef struct {
  IcDomainDevice base;
  const char *type;         /* pci, scsi, virtio-serial, usb, sata, ide, ccid ... */
  int index;                /* -1 when absent */
  int target_chassis, target_port, target_bus_nr; /* <target>; -1 when absent */
  int target_index;         /* <target index=''> of pci-root/pcie-root-port; -1 */
  const char *model_name;   /* <model name=''> (e.g. "pcie-root-port") */
} IcDomainController;

typedef struct {
  IcDomainDevice base;
  const char *mode;         /* subsystem, capabilities */
  const char *type;         /* pci, usb, scsi, mdev, ... */
  IcTristate managed;       /* absent means unmanaged to libvirt */
  const char *driver_name;  /* <driver name=''> vfio/kvm/xen */
  const char *driver_model; /* <driver model=''> variant driver */
  IcTristate iommufd;       /* <driver iommufd=''>: absent != no */
  gboolean has_source_pci;
  IcPciAddr source_pci;     /* <source><address domain bus slot function/> */
  gboolean source_pci_partial; /* some of domain/bus/slot/function missing */
} IcDomainHostdev;

typedef enum {
  IC_VIOMMU_NONE = 0,
  IC_VIOMMU_INTEL,
  IC_VIOMMU_SMMUV3,
  IC_VIOMMU_VIRTIO,
  IC_VIOMMU_AMD,
  IC_VIOMMU_AUTO,           /* requests only: choose by nova.md §1.4 */
  IC_VIOMMU_UNKNOWN,        /* parsed: model text not one of the above */
} IcViommuModel;

const char *ic_viommu_model_to_string(IcViommuModel m); /* "intel",...; NULL for NONE */
/* "intel"/"smmuv3"/"virtio"/"amd"/"auto" -> model; IC_VIOMMU_UNKNOWN otherwise. */
IcViommuModel ic_viommu_model_from_string(const char *text);

typedef struct {
  IcDomainDevice base;      /* base.model is the raw model text */
  IcViommuModel model;
  IcTristate intremap, caching_mode, eim, iotlb, dma_translation,
             passthrough, xtsup;
  guint aw_bits;            /* 0 when absent */
  gboolean aw_bits_invalid; /* present but not a number */
  int pci_bus;              /* -1 when absent */
  xmlNodePtr driver;        /* <driver> or NULL */
  xmlNodePtr granule;       /* <driver><granule .../> (libvirt >= 12.1), or NULL */
} IcDomainIommu;

typedef struct {
  IcDomainDevice base;
  const char *type;         /* pty, file, tcp, unix, ... */
  const char *target_type;  /* <target type=''> (isa-serial, sclp-serial, virtio...) */
  int target_port;          /* -1 when absent */
} IcDomainChardev;          /* serial, console, channel */

typedef struct {
  /* generic */
  IcDomainDocKind kind;
  xmlNodePtr root;
  const char *type;         /* <domain type=''>: qemu, kvm */
  const char *name, *uuid, *title;
  /* <os> */
  const char *os_type;      /* hvm */
  const char *arch;         /* <type arch=''>; NULL when absent */
  const char *machine;      /* <type machine=''>; NULL when absent */
  const char *firmware;     /* <os firmware=''> */
  const char *loader, *nvram, *kernel, *initrd, *cmdline;
  GPtrArray *boot_devs;     /* of const char*, <boot dev=''> in order */
  xmlNodePtr os;
  /* cpu and memory */
  guint vcpus_max;          /* <vcpu> text (1 when absent) */
  guint vcpus_current;      /* <vcpu current=''> or vcpus_max */
  guint64 memory_kib;       /* <memory> in KiB (units converted) */
  guint64 current_memory_kib; /* <currentMemory> or memory_kib */
  guint64 max_memory_kib;   /* <maxMemory>, 0 when absent */
  guint max_memory_slots;
  gboolean has_hard_limit;
  guint64 hard_limit_kib;   /* <memtune><hard_limit> */
  gboolean hugepages, locked; /* <memoryBacking> children */
  xmlNodePtr memory_backing;
  const char *cpu_mode;     /* <cpu mode=''> */
  xmlNodePtr cpu;
  /* <features> */
  xmlNodePtr features;
  gboolean acpi, apic;
  const char *ioapic_driver; /* <ioapic driver=''> or NULL */
  /* other top-level elements */
  const char *launch_security; /* <launchSecurity type=''> or NULL */
  xmlNodePtr launch_security_node;
  xmlNodePtr metadata;
  GPtrArray *qemu_commandline; /* xmlNodePtr of qemu:commandline elements */
  GPtrArray *qemu_override;    /* xmlNodePtr of qemu:override elements */
  const char *emulator;
  xmlNodePtr devices_node;  /* <devices> or NULL */
  /* devices; every array holds pointers owned by the view */
  GPtrArray *devices;       /* IcDomainDevice*, every device in document order */
  GPtrArray *virtio_devices;/* IcDomainDevice*, the ones with virtio == TRUE */
  GPtrArray *disks;         /* IcDomainDisk* */
  GPtrArray *interfaces;    /* IcDomainInterface* */
  GPtrArray *controllers;   /* IcDomainController* */
  GPtrArray *hostdevs;      /* IcDomainHostdev* (all types) */
  GPtrArray *iommus;        /* IcDomainIommu* */
  GPtrArray *chardevs;      /* IcDomainChardev* (serial, console, channel) */
} IcDomainDef;

/* Architecture helpers on a view (arch absent counts as x86_64 only when the
 * machine says pc/q35). */
gboolean ic_domain_def_is_x86(const IcDomainDef *def);
gboolean ic_domain_def_is_q35(const IcDomainDef *def);
gboolean ic_domain_def_is_arm_virt(const IcDomainDef *def);
gboolean ic_domain_def_is_s390(const IcDomainDef *def);
/* launchSecurity present (sev, sev-snp, s390-pv, tdx...): virtio devices need
 * bounce buffers. */
gboolean ic_domain_def_needs_bounce_buffers(const IcDomainDef *def);

/* ---- documents -------------------------------------------------------------- */

typedef struct IcDomainDoc IcDomainDoc;

/* Largest document accepted (bytes).  Bigger is IC_ERROR_PARSE. */
#define IC_DOMAIN_MAX_BYTES (16u * 1024u * 1024u)

/* Parse data (need not be NUL-terminated).  filename is used in messages
 * ("FILE:LINE: ...") and may be NULL.  Hostile input (DOCTYPE/entities,
 * external references, nesting deeper than libxml2's default 256, > the
 * size limit) is IC_ERROR_PARSE with a message saying why. */
IcDomainDoc *ic_domain_doc_parse(const char *data, gsize len, const char *filename,
                                 GError **error);
IcDomainDoc *ic_domain_doc_load(const char *path, GError **error);
void ic_domain_doc_free(IcDomainDoc *doc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcDomainDoc, ic_domain_doc_free)

const IcDomainDef *ic_domain_doc_def(const IcDomainDoc *doc);
xmlDocPtr ic_domain_doc_xml(const IcDomainDoc *doc);
const char *ic_domain_doc_filename(const IcDomainDoc *doc);
/* The current text: the original bytes plus every edit (NUL-terminated). */
const char *ic_domain_doc_bytes(const IcDomainDoc *doc, gsize *len);
/* TRUE once an edit changed the text. */
gboolean ic_domain_doc_changed(const IcDomainDoc *doc);
/* 1-based line of node's start tag in the current text (0 if unknown). */
int ic_domain_doc_line(const IcDomainDoc *doc, xmlNodePtr node);
/* Write the current text to path atomically, as an in-place edit: a temporary
 * file with the original's owner, mode, ACLs and extended attributes renamed
 * over it; through a symlink the link's target is written; a file with
 * several hard links is refused (IC_ERROR_BLOCKED).  With backup, first
 * path + ".bak" the same way (a planted .bak is replaced, not written
 * through).  Any failure leaves path as it was. */
gboolean ic_domain_doc_write(const IcDomainDoc *doc, const char *path, gboolean backup,
                             GError **error);

/* ---- lint ------------------------------------------------------------------ */

typedef enum {
  IC_LINT_INFO,
  IC_LINT_WARNING,
  IC_LINT_ERROR,
} IcLintSeverity;

const char *ic_lint_severity_to_string(IcLintSeverity s); /* info/warning/error */

typedef struct {
  const char *code;         /* stable, e.g. "IC-L001" (static string) */
  IcLintSeverity severity;
  const char *origin;       /* "libvirt", "qemu" or "iommuctl": who rejects it */
  int line;                 /* 1-based, 0 when the document as a whole */
  char *message;
  char *hint;               /* how to fix; may be NULL */
} IcLintFinding;

void ic_lint_finding_free(IcLintFinding *f);

typedef struct {
  /* Host IOMMU address width in bits (VT-d MGAW / AMD / SMMU OAS); 0 = unknown,
   * the aw_bits-vs-host rule is then not applied. */
  guint host_aw_bits;
  /* libvirt whose rules and texts apply, e.g. 11005000 for 11.5.0; 0 = 9.0.0
   * (Debian 12, the baseline of the rules).  Features newer than it are
   * reported with the version they need, never accepted silently. */
  guint libvirt_version;
} IcLintOptions;

/* Version of the installed libvirt library, read without running anything:
 * the soname version of libvirt.so.0.MAJORMINOR.MICRO under root's library
 * directories (root NULL = "/"), else libvirt.pc's Version:, else 0. */
guint ic_libvirt_version_installed(const char *root);
/* "X.Y" or "X.Y.Z" -> X*1000000+Y*1000+Z (X <= 4294); FALSE when not a version.
 * The same parser as every other version iommuctl reads. */
gboolean ic_libvirt_version_parse(const char *text, guint *out);

/* All findings for doc, in line order.  Never fails. */
GPtrArray *ic_domain_lint(const IcDomainDoc *doc, const IcLintOptions *opts);
/* Number of findings at severity >= IC_LINT_ERROR. */
guint ic_lint_count_errors(const GPtrArray *findings);

/* Static catalogue of every rule, for docs and --list. */
typedef struct {
  const char *code;
  IcLintSeverity severity;
  const char *origin;
  const char *summary;
} IcLintRule;
const IcLintRule *ic_lint_rules(guint *n_rules);

/* ---- edits ------------------------------------------------------------------ */
/* Every edit returns FALSE with error set only for operational problems (not a
 * domain, unsupported arch...).  "Nothing to do" is TRUE with no change; check
 * ic_domain_doc_changed() or the report. */

typedef struct {
  guint devices_changed;    /* devices given iommu='on' */
  guint already_on;         /* devices that already had it */
  GPtrArray *explicit_off;  /* char* "LINE: kind (model)" left alone (no --force) */
  GPtrArray *forced_off;    /* char* same, overridden with force */
  GPtrArray *ccw_addresses; /* char* "cssid.ssid.devno" seen */
  GPtrArray *notes;         /* char* anything else worth saying */
  GPtrArray *refused;       /* char* "LINE: kind (model): ... QEMU refuses it (...); fix: ..." devices left
                             * without iommu='on' because QEMU would not start them with it (lint's QM002/QM006):
                             * the domain is not fully protected, so the CLI exits 1 */
} IcProtectReport;

void ic_protect_report_init(IcProtectReport *r);
void ic_protect_report_clear(IcProtectReport *r);

/* <driver iommu='on'/> on every virtio device (SCSI disks are covered by their
 * virtio-scsi controller), in full domains and standalone device files.
 * Explicit iommu='off' is left unless force. Idempotent. */
gboolean ic_domain_protect(IcDomainDoc *doc, gboolean force, IcProtectReport *report,
                           GError **error);
/* The report protect would give, without editing (devices_changed > 0 means
 * a change is due).  Cheaper: no re-parse. */
void ic_domain_protect_dry_run(const IcDomainDoc *doc, gboolean force, IcProtectReport *report);

typedef struct {
  IcViommuModel model;      /* AUTO resolves by nova.md §1.4 */
  guint aw_bits;            /* 0: choose (host width when known, else leave) */
  guint host_aw_bits;       /* 0 unknown */
  guint libvirt_version;    /* for AUTO, e.g. 9000000 for 9.0.0; 0 = assume >= 8.3 */
  /* Explicit driver attributes.  ABSENT = let complete decide (or leave out). */
  IcTristate intremap, caching_mode, eim, iotlb, dma_translation, passthrough, xtsup;
  /* TRUE: add what the model needs to be valid and useful (split ioapic for
   * intremap on x86, caching_mode with VFIO hostdevs, eim > 255 vCPUs, aw_bits
   * from host width). FALSE: write exactly the attributes given. */
  gboolean complete;
} IcViommuRequest;

void ic_viommu_request_init(IcViommuRequest *req); /* AUTO, complete */

/* Resolve AUTO for this domain (nova.md §1.4).  Errors (IC_ERROR_CONFLICT) use
 * Nova's texts for a wrong machine type or architecture. */
gboolean ic_domain_viommu_resolve_auto(const IcDomainDef *def, guint libvirt_version,
                                       IcViommuModel *out, GError **error);

/* Add or replace every <iommu> with one of req->model.  notes (may be NULL)
 * receives char* explanations of each choice made. */
gboolean ic_domain_viommu_set(IcDomainDoc *doc, const IcViommuRequest *req,
                              GPtrArray *notes, GError **error);
/* Remove every <iommu>. (The split ioapic is kept: it is harmless.) */
gboolean ic_domain_viommu_remove(IcDomainDoc *doc, GError **error);

/* <features><ioapic driver='qemu'/></features>; IC_ERROR_UNSUPPORTED on a
 * non-x86 guest (libvirt rejects the feature there). */
gboolean ic_domain_ensure_split_ioapic(IcDomainDoc *doc, GError **error);
/* <memoryBacking><locked/></memoryBacking> */
gboolean ic_domain_set_locked_memory(IcDomainDoc *doc, GError **error);
/* <memoryBacking><nosharepages/></memoryBacking> (Nova: realtime guests) */
gboolean ic_domain_set_nosharepages(IcDomainDoc *doc, GError **error);

typedef struct {
  IcPciAddr addr;
  IcTristate managed;       /* ABSENT: write managed='yes' */
  IcTristate iommufd;       /* ABSENT: leave the attribute out */
  const char *driver_model; /* NULL: none */
} IcHostdevSpec;

/* Add a PCI hostdev with <driver name='vfio'/>; an existing hostdev for the
 * same address is left as is (TRUE, no change). */
gboolean ic_domain_hostdev_add(IcDomainDoc *doc, const IcHostdevSpec *spec, GError **error);

/* ---- memlock ---------------------------------------------------------------- */

typedef struct {
  gboolean libvirt_unlimited;
  guint64 libvirt_bytes;    /* 0 = libvirt sets no limit */
  char *libvirt_why;
  gboolean estimate_unlimited;
  guint64 estimate_bytes;
  char *estimate_why;
  guint64 host_ram_bytes;   /* 0 unknown */
  gboolean exceeds_host_ram;/* either figure > host RAM */
} IcMemlockReport;

void ic_memlock_report_clear(IcMemlockReport *r);
/* host_ram_bytes: 0 when unknown. */
gboolean ic_domain_memlock(const IcDomainDef *def, guint64 host_ram_bytes,
                           IcMemlockReport *out, GError **error);

G_END_DECLS
