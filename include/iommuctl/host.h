/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host IOMMU inventory: every PCI function, every IOMMU group with an
 * assignability verdict, and the host facts (IOMMU, interrupt remapping,
 * vfio, address width).  Read from sysfs/proc under the IcContext roots,
 * never by running lspci.
 *
 * Lifetime: ic_inventory_load() returns a snapshot.  Devices and groups are
 * owned by the inventory and stay valid (and at fixed addresses) until it is
 * freed; the pointers between them (parent, physfn, group->members, ...)
 * point into the same inventory.  The inventory is not refreshed by itself:
 * after writing to sysfs, re-read a device's driver with
 * ic_pci_device_read_driver() or load a new inventory. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <iommuctl/error.h>
#include <iommuctl/context.h>
#include <iommuctl/pciaddr.h>

G_BEGIN_DECLS

/* ---- devices ----------------------------------------------------------- */

typedef enum {
  IC_HEADER_UNKNOWN = -1,  /* config space unreadable */
  IC_HEADER_ENDPOINT = 0,  /* type 0 */
  IC_HEADER_BRIDGE = 1,    /* type 1, PCI-to-PCI bridge / PCIe port */
  IC_HEADER_CARDBUS = 2,   /* type 2 */
} IcHeaderType;

/* PCIe capability "device/port type" (PCI_EXP_FLAGS_TYPE); NONE when the
 * function has no PCIe capability (conventional PCI) or config is unreadable. */
typedef enum {
  IC_PCIE_NONE = -1,
  IC_PCIE_ENDPOINT = 0x0,
  IC_PCIE_LEGACY_ENDPOINT = 0x1,
  IC_PCIE_ROOT_PORT = 0x4,
  IC_PCIE_UPSTREAM_PORT = 0x5,
  IC_PCIE_DOWNSTREAM_PORT = 0x6,
  IC_PCIE_PCIE_TO_PCI_BRIDGE = 0x7,
  IC_PCIE_PCI_TO_PCIE_BRIDGE = 0x8,
  IC_PCIE_RC_INTEGRATED_ENDPOINT = 0x9,
  IC_PCIE_RC_EVENT_COLLECTOR = 0xa,
} IcPcieType;

/* Why the host itself needs a device (any of these blocks assignment). */
typedef enum {
  IC_HOST_USE_MOUNT = 1 << 0,    /* a mounted filesystem's block device is below it */
  IC_HOST_USE_ROOT_FS = 1 << 1,  /* ... and that filesystem is "/"                 */
  IC_HOST_USE_NET = 1 << 2,      /* an up interface with an address / default route */
  IC_HOST_USE_CONSOLE = 1 << 3,  /* boot VGA with a bound console or framebuffer     */
} IcHostUseFlags;

typedef struct {
  IcHostUseFlags kind;  /* exactly one flag */
  char *detail;         /* human text: "/ (ext4) on nvme0n1p2", "eth0: default route" */
} IcHostUse;

/* Reset capabilities found in config space (independent of reset_method). */
typedef enum {
  IC_RESET_CAP_FLR = 1 << 0,     /* PCIe DEVCAP FLR                         */
  IC_RESET_CAP_AF_FLR = 1 << 1,  /* Advanced Features capability FLR        */
  IC_RESET_CAP_PM = 1 << 2,      /* PM cap with NO_SOFT_RESET clear (D3hot) */
} IcResetCaps;

typedef struct IcPciDevice IcPciDevice;
typedef struct IcIommuGroup IcIommuGroup;

struct IcPciDevice {
  IcPciAddr addr;
  char name[IC_PCI_ADDR_STRLEN];  /* canonical "dddd:bb:ss.f" */
  char *root_bus;                 /* "pci0000:00" (sysfs root-bus directory) */

  /* identity; ids are 0 when unreadable (a note says so) */
  guint32 class_code;             /* 0xCCSSPP */
  guint16 vendor_id, device_id;
  guint16 subsys_vendor_id, subsys_device_id;
  int revision;                   /* -1 unknown */
  const char *vendor_name;        /* pci.ids names, NULL when unknown; owned by */
  const char *device_name;        /* the inventory's name table                 */
  const char *subsys_name;
  const char *class_name;
  char *modalias;                 /* "pci:v...d...sv...sd...bc..sc..i.." or NULL */

  /* topology */
  IcHeaderType header_type;
  gboolean multifunction;
  IcPcieType pcie_type;
  IcPciDevice *parent;            /* upstream bridge/port; NULL on a root bus */
  int depth;                      /* 0 on a root bus */

  /* binding */
  char *driver;                   /* bound driver name, NULL when none */
  char *driver_override;          /* NULL when none ("(null)") or not loaded: read
                                   * with IC_INVENTORY_DETAILS, or re-read with
                                   * ic_pci_device_read_driver_override() */
  int iommu_group;                /* -1 when the device has no group */
  IcIommuGroup *group;            /* NULL when iommu_group == -1 */
  int numa_node;                  /* -1 unknown / none */
  gboolean boot_vga;

  /* config-space facts */
  gboolean config_readable;       /* at least the 64-byte header was read */
  gboolean config_extended;       /* 4096 bytes (extended caps visible) */
  gsize config_size;              /* bytes of `config` read (0 = unreadable) */
  gboolean has_cap_list;          /* status register advertises a capability list */
  IcResetCaps reset_caps;
  char **reset_methods;           /* `reset_method` words; NULL if not read/absent */
  gboolean has_acs;               /* ACS extended capability present */
  guint16 acs_cap, acs_ctrl;      /* its capability and control registers */
  /* PCIe link, for nodedev XML; 0 = unknown */
  guint8 link_port;
  guint8 link_cap_speed, link_cap_width, link_sta_speed, link_sta_width;

  /* SR-IOV */
  gboolean sriov_capable;         /* SR-IOV extended cap present */
  guint sriov_totalvfs, sriov_numvfs;
  guint16 sriov_vf_offset, sriov_vf_stride; /* routing-ID offset/stride of VF 0.. (config) */
  IcPciDevice *physfn;            /* for a VF: its PF (NULL otherwise) */
  GPtrArray *virtfns;             /* PF: its VFs (IcPciDevice*, not owned), may be empty */

  /* host use; holds_root_fs is a shortcut for IC_HOST_USE_ROOT_FS */
  GPtrArray *host_uses;           /* IcHostUse* (owned) */
  IcHostUseFlags host_use_flags;
  gboolean holds_root_fs;

  /* problems met while reading (truncated file, bad link...), char* */
  GPtrArray *notes;
};

/* True for header type 1/2 (or PCIe port types), i.e. not assignable itself. */
gboolean ic_pci_device_is_bridge(const IcPciDevice *dev);
/* Text of the port type: "endpoint", "root-port", "downstream-port",
 * "rc-integrated-endpoint", "pci" (no PCIe cap) ... */
const char *ic_pcie_type_to_string(IcPcieType type);
const char *ic_header_type_to_string(IcHeaderType type);

/* Re-read the `driver` link of one device (after a sysfs write): stores the
 * driver name (NULL when unbound) into dev->driver and returns it.  One
 * readlink(2); no other field changes. */
const char *ic_pci_device_read_driver(IcContext *ctx, IcPciDevice *dev);
/* Re-read `driver_override` into dev->driver_override (NULL when "(null)"). */
const char *ic_pci_device_read_driver_override(IcContext *ctx, IcPciDevice *dev);
/* Cheap stand-alone variant without an inventory: the driver name bound to
 * addr now (newly allocated), NULL when unbound or absent. */
char *ic_pci_read_driver(IcContext *ctx, const IcPciAddr *addr);
/* Read `reset_method` (if not loaded yet) and return it; NULL when absent. */
char **ic_pci_device_reset_methods(IcContext *ctx, IcPciDevice *dev);

/* ---- groups ------------------------------------------------------------ */

typedef enum {
  IC_GROUP_ASSIGNABLE = 0,   /* endpoints free or on vfio-pci; bridges on pcieport */
  IC_GROUP_NEEDS_DETACH = 1, /* endpoints bound to host drivers (reasons say which) */
  IC_GROUP_NOT_ISOLATED = 2, /* endpoints of several slots behind a port lacking ACS */
  IC_GROUP_HOST_IN_USE = 3,  /* a member is used by the host (reasons say why) */
} IcGroupVerdict;

typedef struct {
  IcGroupVerdict kind;   /* which verdict this reason supports */
  IcPciDevice *device;   /* the device concerned (may be NULL) */
  char *text;            /* "0000:01:00.0 is bound to nvidia" */
} IcGroupReason;

struct IcIommuGroup {
  int number;
  char *type;                 /* "DMA", "DMA-FQ", "identity", "blocked", NULL unknown */
  char **reserved_regions;    /* lines of reserved_regions; NULL when not read */
  GPtrArray *members;         /* IcPciDevice* (not owned), sorted by address */
  guint n_endpoints;          /* members that are neither bridges nor host bridges */
  IcGroupVerdict verdict;     /* the most severe of the reasons */
  GPtrArray *reasons;         /* IcGroupReason* (owned), most severe first */
};

const char *ic_group_verdict_to_string(IcGroupVerdict v); /* "assignable", "needs detach", ... */
/* Identifier form for JSON: "assignable", "needs-detach", "not-isolated", "host-in-use". */
const char *ic_group_verdict_to_id(IcGroupVerdict v);

/* ---- host -------------------------------------------------------------- */

typedef struct {
  char *kernel_release;           /* ic_context_kernel_release() */
  char *arch;                     /* "x86_64", "aarch64", ... (proc/sys/kernel/arch, else uname) */
  char *cmdline;                  /* /proc/cmdline, stripped */
  /* IOMMU */
  gboolean acpi_dmar, acpi_ivrs, acpi_iort;  /* firmware tables present */
  char *iommu_vendor;             /* "intel", "amd", "arm-smmu-v3", "virtio", ... or NULL */
  GPtrArray *iommu_units;         /* names in /sys/class/iommu (char*) */
  gboolean iommu_enabled;         /* the kernel made at least one group */
  guint n_groups, n_assignable_groups;
  char *default_domain_type;      /* most common group type, NULL when no group */
  int interrupt_remapping;        /* 1 on, 0 off, -1 unknown */
  guint address_width;            /* host IOMMU input address width in bits (Intel
                                   * MGAW, AMD HATS); 0 = unknown */
  const char *address_width_source; /* "intel cap MGAW", "amd features HATS", NULL */
  /* vfio */
  gboolean vfio_available, vfio_pci_available;  /* module in modules.dep or built in */
  gboolean vfio_builtin, vfio_pci_builtin;
  gboolean dev_vfio;              /* /dev/vfio/vfio */
  gboolean dev_iommu;             /* /dev/iommu (iommufd) */
  /* command line flags, NULL when absent */
  char *cmdline_intel_iommu, *cmdline_amd_iommu, *cmdline_iommu;
  char *cmdline_pcie_acs_override, *cmdline_allow_unsafe_interrupts;
  char *cmdline_intremap;
  /* memlock limit of this process (proc/self/limits); G_MAXUINT64 = unlimited */
  gboolean memlock_known;
  guint64 memlock_soft, memlock_hard;
  GPtrArray *notes;               /* char* */
} IcHostInfo;

/* ---- inventory --------------------------------------------------------- */

typedef enum {
  IC_INVENTORY_DEFAULT = 0,
  /* also read the per-device and per-group details the group listing does not
   * need: driver_override, reset_method, numa_node of every function (else
   * inherited from the root-bus function above it), reserved_regions.
   * The assignment layer wants this flag. */
  IC_INVENTORY_DETAILS = 1 << 0,
  /* skip pci.ids name lookups */
  IC_INVENTORY_NO_NAMES = 1 << 1,
  /* skip host-use detection (mounts, network, console) */
  IC_INVENTORY_NO_HOST_USE = 1 << 2,
} IcInventoryFlags;

typedef struct IcInventory IcInventory;

/* Scan the host (or the tree under ctx's roots).  Fails only when the PCI
 * device directory itself cannot be listed (IC_ERROR_NOT_FOUND/IO); bad
 * individual files become notes on the device. */
gboolean ic_inventory_load(IcContext *ctx, IcInventoryFlags flags, IcInventory **out,
                           GError **error);
/* The inventory cached on ctx->host_cache (loaded on first use with flags;
 * a later call asking for more flags reloads).  Owned by ctx. */
IcInventory *ic_inventory_get(IcContext *ctx, IcInventoryFlags flags, GError **error);
/* Drop the inventory cached on ctx (after sysfs writes); the next
 * ic_inventory_get() scans again.  Pointers into the old one become invalid. */
void ic_inventory_invalidate(IcContext *ctx);
void ic_inventory_free(IcInventory *inv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(IcInventory, ic_inventory_free)

guint ic_inventory_n_devices(const IcInventory *inv);
IcPciDevice *ic_inventory_device(const IcInventory *inv, guint index);   /* sorted by address */
IcPciDevice *ic_inventory_find_device(const IcInventory *inv, const IcPciAddr *addr);
guint ic_inventory_n_groups(const IcInventory *inv);
IcIommuGroup *ic_inventory_group(const IcInventory *inv, guint index);   /* sorted by number */
IcIommuGroup *ic_inventory_find_group(const IcInventory *inv, int number);
/* The group number an iommu_group link target names: only
 * ".../kernel/iommu_groups/N" (N decimal) counts; FALSE for anything else,
 * which is a damaged or forged tree, not a missing IOMMU. */
gboolean ic_host_parse_group_link(const char *target, gint64 *number);
IcHostInfo *ic_inventory_host(const IcInventory *inv);
IcContext *ic_inventory_context(const IcInventory *inv);

/* ---- outputs (used by the CLI; reusable) --------------------------------- */

/* libvirt `virsh nodedev-dumpxml pci_dddd_bb_ss_f` for one device. */
char *ic_pci_device_to_nodedev_xml(const IcInventory *inv, const IcPciDevice *dev);
/* Add JSON objects (documented in docs/json/). */
void ic_json_add_device(JsonBuilder *b, const IcPciDevice *dev, gboolean details);
void ic_json_add_group(JsonBuilder *b, const IcIommuGroup *group, gboolean details);
void ic_json_add_host(JsonBuilder *b, const IcHostInfo *host);
/* The "groups" and "ungrouped" members of the groups and report documents. */
void ic_json_add_group_lists(JsonBuilder *b, const IcInventory *inv, gboolean details);
/* The `groups --json` document (docs/json/groups.md) as text, streamed
 * without a JSON tree; and the same document into a builder (tests compare
 * the two byte for byte after generation). */
char *ic_inventory_groups_json(const IcInventory *inv);
void ic_inventory_groups_json_build(const IcInventory *inv, JsonBuilder *b);
/* Graphviz picture of root buses, bridges, groups and devices. */
char *ic_inventory_to_dot(const IcInventory *inv);

/* ---- readiness check (virt-host-validate manner) ------------------------- */

typedef enum { IC_CHECK_PASS, IC_CHECK_WARN, IC_CHECK_FAIL, IC_CHECK_INFO } IcCheckStatus;

typedef struct {
  char *id;       /* stable identifier, e.g. "iommu-enabled" */
  char *title;    /* "IOMMU enabled in the kernel" */
  IcCheckStatus status;
  char *detail;   /* what was found */
  char *fix;      /* for WARN/FAIL: the concrete fix (kernel parameter ...) */
} IcCheckItem;

const char *ic_check_status_to_string(IcCheckStatus s); /* "PASS", "WARN", "FAIL", "INFO" */
/* Items in display order (IcCheckItem*, owned by the array). */
GPtrArray *ic_host_check(const IcInventory *inv);

/* ---- snapshot ----------------------------------------------------------- */

/* Copy the subset of sysfs/proc iommuctl reads (under ctx's roots) into
 * dest, links as links, no resource files or device memory; /dev nodes
 * become empty marker files.  `--sysfs-root dest` then reproduces the
 * report.  Best effort per file; fails only if dest cannot be created. */
gboolean ic_host_snapshot(IcContext *ctx, const char *dest, guint *n_files_out, GError **error);

G_END_DECLS
