#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate the virt-install corpus: real `virt-install --print-xml` over a
matrix of its options (issue 13).

    gen-virt-install.py [--connect URI] [--out DIR] [--check] [--only SUBSTR]

Each *profile* below is one set of virt-install options (machine, disks of a
bus, interfaces, graphics, sound, USB, channels, serial, watchdog, TPM, rng,
balloon, filesystems, hostdevs, CPU model, NUMA, ...).  Each profile is made
in up to three *variants*:

    plain      as virt-install makes it
    viommu     plus a vIOMMU (--iommu; intel or virtio on q35, smmuv3 or
               virtio on aarch64 virt); i440fx has none: libvirt refuses every
               model there ("IOMMU device: '...' is only supported with Q35
               machines"), so i440fx has no such variant
    iommu-on   the viommu variant (i440fx: plain) with driver.iommu=on on every
               virtio device, through virt-install's own driver.iommu=on
               sub-option; the virtio-serial controller libvirt would add
               itself for a channel is named explicitly so it gets it too

What virt-install cannot express with iommu on, and why (measured on libvirt
9.0 + QEMU 7.2 under TCG; the same rule is lint's QM002/QM006):
  * i440fx (conventional PCI): libvirt picks the transitional virtio devices,
    and QEMU refuses iommu_platform on them ("VIRTIO_F_IOMMU_PLATFORM was
    supported by neither legacy nor transitional device"): the iommu-on
    variant uses model virtio-non-transitional wherever libvirt has it.
  * virtiofs: QEMU 7.2 refuses iommu_platform on vhost-user-fs-pci
    ("iommu_platform=true is not supported by the device"): the filesystem
    keeps iommu off in every variant.

Paths: disk images are written as /var/lib/libvirt/images/<name>-dN.img
(empty raw files are enough for a paused start) and shared directories as
/srv/share; a test that starts a domain rewrites both into a temporary
directory and creates the images (see test-domain-protect-start.sh).  UUIDs
and MAC addresses are derived from the domain name, so a re-run produces the
same files.

--check starts the libvirt oracle (tests/lib/libvirt-oracle) unless --connect
is given, and keeps a domain only when libvirt converts it (domxml-to-native)
AND starts it paused under TCG; the rest are reported and not written.  The
cells libvirt 9.0 refuses are listed in REFUSED below with libvirt's reason,
so that the matrix says why a combination is absent.

Needs virt-install (Debian's virtinst 4.1), swtpm for the TPM profiles, and
the aarch64 UEFI firmware (qemu-efi-aarch64): virt-install gives aarch64
guests ACPI, which libvirt 9.0 allows only with UEFI ("ACPI requires UEFI on
this architecture").

Hostdevs: a paused start needs the host device (a PCI one bound to
vfio-pci; a USB one needs /sys/bus/usb even with startupPolicy='optional'),
and a corpus domain must never name a device of the machine that starts it.
So the hostdev profiles (VFIO PCI behind intel, virtio and smmuv3 vIOMMUs and
on i440fx; an optional USB device) name addresses that do not exist, are
checked with domxml-to-native only, and go to virt-install-hostdev/ (--out-hostdev):
a test that starts domains must not take them.
Not run by CI: the generated XML is committed.
"""
import argparse
import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
ORACLE = os.path.join(SRCDIR, "tests", "lib", "libvirt-oracle")
IMAGES = "/var/lib/libvirt/images"
SHARE = "/srv/share"

QGA = "unix,target.type=virtio,target.name=org.qemu.guest_agent.0"


class P:
    """One profile: a name, a machine (q35, pc, virt), virt-install options.

    Options are given as a list; the tokens @DISK(n, extra)@ are not used:
    disks are given with disk(n, extra) so that their paths are ours, and
    virtio devices are marked with V(...) so that the iommu-on variant can
    add driver.iommu=on (or switch to the non-transitional model)."""

    def __init__(self, name, machine, opts, viommu=None, osinfo="debian11", vcpus=1, memory=512, start=True):
        self.name, self.machine, self.opts = name, machine, opts
        self.viommu, self.osinfo, self.vcpus, self.memory = viommu, osinfo, vcpus, memory
        self.start = start  # False: hostdevs; converted (domxml-to-native) only, written to --out-hostdev


class V:
    """A virtio device option: (option, value, transitional_model_key).
    key: 'model=' or 'bus=' sub-option that selects virtio, used to switch
    to virtio-non-transitional on i440fx; None when libvirt has no such
    model (the device is then modern-only or gets no iommu, see notes)."""

    def __init__(self, opt, value, nt=None, iommu=True):
        self.opt, self.value, self.nt, self.iommu = opt, value, nt, iommu


def disk(n, extra="", virtio=None):
    return ("DISK", n, extra, virtio)


# ---- the matrix -------------------------------------------------------------------------

def pci_hostdev(bus):
    """A VFIO PCI hostdev at 0000:BUS:1f.7, managed='no': libvirt must never
    detach a device of the machine that runs the tests (that address does not
    exist on it).  <driver name='vfio'/> is explicit: without it libvirt asks
    the host which backend to use ("invalid PCI passthrough type 'default'")."""
    x = "./devices/hostdev"
    return ["--xml", f"{x}/@mode=subsystem", "--xml", f"{x}/@type=pci", "--xml", f"{x}/@managed=no",
            "--xml", f"{x}/driver/@name=vfio", "--xml", f"{x}/source/address/@domain=0x0000",
            "--xml", f"{x}/source/address/@bus={bus}", "--xml", f"{x}/source/address/@slot=0x1f",
            "--xml", f"{x}/source/address/@function=0x7"]


SERVER = ["--graphics", "none", "--serial", "pty"]

PROFILES = [
    # -- x86_64 q35 ------------------------------------------------------------------------
    P("q35-server", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                            V("--rng", "/dev/urandom"), V("--controller", "type=virtio-serial"),
                            "--channel", QGA, V("--memballoon", "virtio"), *SERVER], viommu="intel"),
    P("q35-desktop-vnc", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                 "--graphics", "vnc", V("--video", "virtio"), "--sound", "ich9",
                                 V("--input", "type=tablet,bus=virtio"), V("--input", "type=keyboard,bus=virtio"),
                                 V("--controller", "type=virtio-serial"), "--channel", QGA,
                                 V("--memballoon", "virtio")], viommu="virtio"),
    P("q35-desktop-spice", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                   "--graphics", "spice", "--video", "qxl", "--sound", "ich9",
                                   "--channel", "spicevmc", "--redirdev", "usb,type=spicevmc",
                                   "--input", "type=tablet,bus=usb", V("--controller", "type=virtio-serial"),
                                   V("--memballoon", "virtio")], viommu="intel"),
    P("q35-sata", "q35", [disk(1, "bus=sata"), disk(2, "device=cdrom,bus=sata,empty"),
                          "--network", "user,model=e1000e", "--graphics", "vnc", "--video", "vga",
                          V("--memballoon", "virtio")], viommu="intel"),
    P("q35-scsi", "q35", [V("--controller", "type=scsi,model=virtio-scsi"), disk(1, "bus=scsi"),
                          disk(2, "device=cdrom,bus=scsi,empty"), V("--network", "user,model=virtio"),
                          V("--memballoon", "virtio"), *SERVER], viommu="virtio"),
    P("q35-usb", "q35", ["--controller", "type=usb,model=nec-xhci", disk(1, "bus=usb"),
                         "--network", "user,model=rtl8139", "--graphics", "vnc", "--video", "bochs",
                         "--input", "type=keyboard,bus=usb", "--input", "type=mouse,bus=usb",
                         V("--memballoon", "virtio")], viommu="intel"),
    P("q35-nets", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                          "--network", "user,model=e1000e", "--network", "user,model=e1000",
                          V("--network", "type=ethernet,model=virtio"),
                          "--network", "type=ethernet,model=e1000e",
                          V("--memballoon", "virtio"), *SERVER], viommu="intel"),
    P("q35-virtiofs", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                              "--memorybacking", "source.type=memfd,access.mode=shared",
                              V("--filesystem", f"type=mount,source.dir={SHARE},target.dir=share0,driver.type=virtiofs",
                                iommu=False),
                              V("--memballoon", "virtio"), *SERVER], viommu="virtio"),
    P("q35-9p", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                        V("--filesystem", f"{SHARE},share0"), V("--memballoon", "virtio"), *SERVER], viommu="intel"),
    P("q35-watchdog", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                              "--watchdog", "i6300esb,action=reset", V("--memballoon", "virtio"), *SERVER],
      viommu="intel"),
    P("q35-itco", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                          "--watchdog", "itco,action=poweroff", V("--memballoon", "virtio"), *SERVER], viommu="virtio"),
    P("q35-tpm-crb", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                             "--tpm", "emulator,model=tpm-crb,version=2.0", V("--memballoon", "virtio"), *SERVER],
      viommu="intel"),
    P("q35-tpm-tis", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                             "--tpm", "emulator,model=tpm-tis,version=2.0", V("--memballoon", "virtio"), *SERVER],
      viommu="virtio"),
    P("q35-numa", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                          "--cpu", "qemu64,cell0.id=0,cell0.cpus=0-1,cell0.memory=262144,"
                                   "cell1.id=1,cell1.cpus=2-3,cell1.memory=262144",
                          V("--memballoon", "virtio"), *SERVER], viommu="intel", vcpus=4),
    P("q35-cpu-host-model", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                    "--cpu", "host-model", V("--memballoon", "virtio"), *SERVER], viommu="virtio"),
    P("q35-cpu-named", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                               "--cpu", "Nehalem", V("--memballoon", "virtio"), *SERVER], viommu="intel"),
    P("q35-balloon-none", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                  "--memballoon", "none", *SERVER], viommu="intel"),
    P("q35-hostdev-usb", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                 "--xml", "./devices/hostdev/@mode=subsystem", "--xml", "./devices/hostdev/@type=usb",
                                 "--xml", "./devices/hostdev/source/@startupPolicy=optional",
                                 "--xml", "./devices/hostdev/source/vendor/@id=0x1d6b",
                                 "--xml", "./devices/hostdev/source/product/@id=0x0104",
                                 # libvirt builds -device usb-host from bus/device: without them it refuses
                                 # ("USB host device is missing bus/device information"); the device does
                                 # not exist, and startupPolicy='optional' makes libvirt start without it
                                 "--xml", "./devices/hostdev/source/address/@bus=1",
                                 "--xml", "./devices/hostdev/source/address/@device=99",
                                 V("--memballoon", "virtio"), *SERVER], viommu="intel", start=False),
    P("q35-hostdev-vfio", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                  *pci_hostdev("0x7f"), V("--memballoon", "virtio"), *SERVER],
      viommu="intel", start=False),
    P("q35-hostdev-vfio-virtio-iommu", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                               *pci_hostdev("0x7e"), V("--memballoon", "virtio"), *SERVER],
      viommu="virtio", start=False),
    P("pc-hostdev-vfio", "pc", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio", nt="model"),
                                *pci_hostdev("0x7d"), V("--memballoon", "virtio", nt="model"), *SERVER], start=False),
    P("aa-hostdev-vfio", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                  *pci_hostdev("0x7c"), V("--memballoon", "virtio"), *SERVER],
      viommu="smmuv3", start=False),
    P("q35-windows", "q35", [disk(1, "bus=sata"), "--network", "user,model=e1000e", "--graphics", "vnc",
                             "--video", "qxl", "--sound", "ich9", "--input", "type=tablet,bus=usb"],
      viommu="intel", osinfo="win10", memory=1024),
    P("q35-hugepages", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                               "--memorybacking", "hugepages=on", V("--memballoon", "virtio"), *SERVER],
      viommu="intel"),
    P("q35-cpu-host-passthrough", "q35", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                          "--cpu", "host-passthrough", V("--memballoon", "virtio"), *SERVER],
      viommu="intel"),
    # -- x86_64 i440fx ---------------------------------------------------------------------
    P("pc-server", "pc", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio", nt="model"),
                          V("--rng", "/dev/urandom", nt="model"), V("--controller", "type=virtio-serial", nt="model"),
                          "--channel", QGA, V("--memballoon", "virtio", nt="model"), *SERVER]),
    P("pc-desktop", "pc", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio", nt="model"),
                           "--graphics", "vnc", "--video", "cirrus", "--sound", "ich6",
                           "--controller", "type=usb,model=piix3-uhci", "--input", "type=tablet,bus=usb",
                           V("--memballoon", "virtio", nt="model")]),
    P("pc-ide", "pc", [disk(1, "bus=ide"), disk(2, "device=cdrom,bus=ide,empty"), disk(3, "device=floppy,bus=fdc"),
                       "--network", "user,model=rtl8139", "--graphics", "vnc", "--video", "vga", "--sound", "ac97",
                       V("--memballoon", "virtio", nt="model")]),
    P("pc-sata", "pc", [disk(1, "bus=sata"), disk(2, "device=cdrom,bus=sata,empty"),
                        "--network", "user,model=e1000", V("--memballoon", "virtio", nt="model"), *SERVER]),
    P("pc-scsi-9p", "pc", [V("--controller", "type=scsi,model=virtio-scsi", nt="model"), disk(1, "bus=scsi"),
                           V("--filesystem", f"{SHARE},share0", nt="model"),
                           V("--network", "user,model=virtio", nt="model"), V("--memballoon", "virtio", nt="model"),
                           *SERVER]),
    P("pc-usb", "pc", ["--controller", "usb2", disk(1, "bus=usb"), "--network", "user,model=e1000",
                       "--graphics", "vnc", "--video", "vga", "--input", "type=tablet,bus=usb",
                       V("--memballoon", "virtio", nt="model")]),
    P("pc-nets", "pc", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio", nt="model"),
                        "--network", "user,model=rtl8139", "--network", "user,model=e1000",
                        V("--network", "type=ethernet,model=virtio", nt="model"),
                        V("--memballoon", "virtio", nt="model"), *SERVER]),
    P("pc-watchdog-tpm", "pc", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio", nt="model"),
                                "--watchdog", "i6300esb,action=pause", "--tpm", "emulator,model=tpm-tis,version=2.0",
                                V("--memballoon", "virtio", nt="model"), *SERVER]),
    P("pc-numa", "pc", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio", nt="model"),
                        "--cpu", "Nehalem,cell0.id=0,cell0.cpus=0,cell0.memory=262144,"
                                 "cell1.id=1,cell1.cpus=1,cell1.memory=262144",
                        V("--memballoon", "virtio", nt="model"), *SERVER], vcpus=2),
    P("pc-win7", "pc", [disk(1, "bus=ide"), "--network", "user,model=rtl8139", "--graphics", "vnc",
                        "--video", "vga", "--sound", "ich6", "--input", "type=tablet,bus=usb"],
      osinfo="win7", memory=1024),
    P("pc-virtiofs", "pc", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio", nt="model"),
                            "--memorybacking", "source.type=memfd,access.mode=shared",
                            V("--filesystem", f"type=mount,source.dir={SHARE},target.dir=share0,driver.type=virtiofs",
                              iommu=False),
                            V("--memballoon", "virtio", nt="model"), *SERVER]),
    # -- aarch64 virt ----------------------------------------------------------------------
    P("aa-server", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                            V("--rng", "/dev/urandom"), V("--controller", "type=virtio-serial"), "--channel", QGA,
                            V("--memballoon", "virtio"), *SERVER], viommu="smmuv3"),
    P("aa-desktop", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                             "--graphics", "vnc", V("--video", "virtio"), "--input", "type=tablet,bus=usb",
                             "--input", "type=keyboard,bus=usb", V("--memballoon", "virtio")], viommu="virtio"),
    P("aa-scsi", "virt", [V("--controller", "type=scsi,model=virtio-scsi"), disk(1, "bus=scsi"),
                          disk(2, "device=cdrom,bus=scsi,empty"), V("--network", "user,model=virtio"),
                          V("--memballoon", "virtio"), *SERVER], viommu="smmuv3"),
    P("aa-usb", "virt", [disk(1, "bus=usb"), "--network", "user,model=e1000e", "--graphics", "vnc",
                         "--video", "ramfb", "--input", "type=keyboard,bus=usb", V("--memballoon", "virtio")],
      viommu="virtio"),
    P("aa-numa", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                          "--cpu", "cortex-a72,cell0.id=0,cell0.cpus=0,cell0.memory=262144,"
                                   "cell1.id=1,cell1.cpus=1,cell1.memory=262144",
                          V("--memballoon", "virtio"), *SERVER], viommu="smmuv3", vcpus=2),
    P("aa-cpu-max", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                             "--cpu", "max", V("--memballoon", "virtio"), *SERVER], viommu="virtio"),
    P("aa-9p", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                        V("--filesystem", f"{SHARE},share0"), V("--memballoon", "virtio"), *SERVER], viommu="smmuv3"),
    P("aa-virtiofs", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                              "--memorybacking", "source.type=memfd,access.mode=shared",
                              V("--filesystem", f"type=mount,source.dir={SHARE},target.dir=share0,driver.type=virtiofs",
                                iommu=False),
                              V("--memballoon", "virtio"), *SERVER], viommu="virtio"),
    P("aa-tpm-watchdog", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                                  "--tpm", "emulator,model=tpm-tis,version=2.0", "--watchdog", "i6300esb,action=reset",
                                  V("--memballoon", "virtio"), *SERVER], viommu="smmuv3"),
    P("aa-nets", "virt", [disk(1, "bus=virtio", virtio=True), V("--network", "user,model=virtio"),
                          "--network", "user,model=e1000e", V("--network", "type=ethernet,model=virtio"),
                          V("--memballoon", "virtio"), *SERVER], viommu="virtio"),
]

# Cells libvirt 9.0 / QEMU 7.2 refuse under TCG, with the reason measured by
# --check.  They are not generated (a domain libvirt refuses is no corpus
# domain); the reason says what a user on this stack would see.
REFUSED = {
    "q35-cpu-host-passthrough": "CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported "
                                "by hypervisor (TCG: host-passthrough needs KVM)",
    "q35-hugepages": "hugetlbfs filesystem is not mounted or disabled by administrator config (the test machines "
                     "have no hugetlbfs; with one mounted and pages reserved the cell converts)",
    "q35-itco": "unknown watchdog model 'itco' (libvirt 9.0 has no itco; virt-install 4.1 writes it)",
}


# ---- generation -------------------------------------------------------------------------

def stable_uuid(name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "iommuctl-corpus:" + name))


def stable_mac(name, i):
    h = hashlib.sha256(f"{name}/{i}".encode()).digest()
    return "52:54:00:%02x:%02x:%02x" % (h[0], h[1], h[2])


def variants(p):
    if p.machine == "pc":
        return ["plain", "iommu-on"]
    if p.viommu is None:
        return ["plain"]
    return ["plain", "viommu", "iommu-on"]


def arch_args(p):
    if p.machine == "virt":
        return ["--arch", "aarch64", "--machine", "virt"]
    return ["--arch", "x86_64", "--machine", p.machine]


def viommu_args(p):
    if p.viommu == "intel":
        # intremap needs the split irqchip; caching_mode is what VFIO needs
        return ["--iommu", "model=intel,driver.intremap=on,driver.caching_mode=on", "--features", "ioapic.driver=qemu"]
    return ["--iommu", "model=" + p.viommu]


def device_args(p, variant, imgdir, name):
    out, nic, ndisk = [], 0, 0
    iommu_on = variant == "iommu-on"
    for o in p.opts:
        if isinstance(o, tuple) and o[0] == "DISK":
            _, n, extra, virtio = o
            ndisk += 1
            path = os.path.join(imgdir, f"{name}-d{n}.img")
            if "empty" in extra.split(","):
                spec = ",".join(x for x in extra.split(",") if x != "empty")
            elif "device=floppy" in extra:
                spec = f"path={path},size=0.01,format=raw," + extra
            else:
                spec = f"path={path},size=1,format=raw," + extra
            if virtio and iommu_on:
                spec += ",driver.iommu=on"
            out += ["--disk", spec]
            if virtio and iommu_on and p.machine == "pc":
                # --disk has no model= sub-option: virt-install's own --xml edit
                out += ["--xml", f"./devices/disk[{ndisk}]/@model=virtio-non-transitional"]
        elif isinstance(o, V):
            value = o.value
            if o.opt == "--network":
                value += ",mac=" + stable_mac(name, nic)
                nic += 1
            if iommu_on and o.iommu:
                if o.nt == "model" and p.machine == "pc":
                    value = nt_model(o.opt, value)
                value += ",driver.iommu=on"
            out += [o.opt, value]
        else:
            if o.startswith("user,model=") or o.startswith("type=ethernet"):
                o += ",mac=" + stable_mac(name, nic)
                nic += 1
            out.append(o)
    return out


def nt_model(opt, value):
    """The virtio-non-transitional model of a virtio device option."""
    if opt == "--network":
        return value.replace("model=virtio", "model=virtio-non-transitional")
    if opt == "--memballoon":
        return "model=virtio-non-transitional"
    if opt == "--rng":
        return "model=virtio-non-transitional,backend.model=random,backend=" + value
    if opt == "--controller":
        return value + ",model=virtio-non-transitional" if "model=" not in value else \
            re.sub(r"model=virtio-scsi", "model=virtio-non-transitional", value)
    if opt == "--filesystem":
        return value + ",model=virtio-non-transitional"
    return value


def make(p, variant, conn, imgdir, sharedir):
    name = f"{p.name}-{variant}" if variant != "plain" else p.name
    args = ["virt-install", "--connect", conn, "--print-xml", "--name", name, "--uuid", stable_uuid(name),
            "--memory", str(p.memory), "--vcpus", str(p.vcpus), "--virt-type", "qemu",
            "--osinfo", p.osinfo, "--import", "--noautoconsole", *arch_args(p)]
    if variant in ("viommu", "iommu-on") and p.viommu:
        args += viommu_args(p)
    args += device_args(p, variant, imgdir, name)
    args = [a.replace(SHARE, sharedir) for a in args]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        return name, None, "virt-install: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    xml = r.stdout.replace(imgdir + "/", IMAGES + "/").replace(sharedir, SHARE)
    return name, xml, None


def check(xml, name, tmp, start=True):
    """libvirt converts it and (start) starts it paused: (ok, reason)."""
    work = os.path.join(tmp, "check")
    os.makedirs(os.path.join(work, "img"), exist_ok=True)
    os.makedirs(os.path.join(work, "share"), exist_ok=True)
    x = xml.replace(IMAGES + "/", work + "/img/").replace(SHARE, work + "/share")
    for img in re.findall(re.escape(work) + r"/img/[^\"']*", x):
        open(img, "w").close()
    f = os.path.join(work, name + ".xml")
    with open(f, "w") as fh:
        fh.write(x)
    for mode in ([], ["--start"]) if start else ([],):
        r = subprocess.run([ORACLE, "argv", *mode, f], capture_output=True, text=True)
        if r.returncode != 0:
            what = "start" if mode else "domxml-to-native"
            return False, f"{what}: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    return True, None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connect", help="libvirt URI (default: start the libvirt oracle)")
    ap.add_argument("--out", default=os.path.join(HERE, "virt-install"))
    ap.add_argument("--out-hostdev", default=os.path.join(HERE, "virt-install-hostdev"),
                    help="where the hostdev domains go (converted, never started)")
    ap.add_argument("--check", action="store_true", help="keep only what libvirt converts and starts paused")
    ap.add_argument("--only", help="profiles whose name contains one of these (comma-separated)")
    ap.add_argument("--jobs", type=int, default=3, help="virt-install and oracle calls at once (default 3)")
    a = ap.parse_args()
    if shutil.which("virt-install") is None:
        sys.exit("virt-install not installed (apt-get install --no-install-recommends virtinst)")
    conn = a.connect or subprocess.run([ORACLE, "start"], capture_output=True, text=True, check=True).stdout.strip()
    os.makedirs(a.out, exist_ok=True)
    kept, dropped = 0, []
    with tempfile.TemporaryDirectory(prefix="ic-corpus-") as tmp:
        os.chmod(tmp, 0o755)
        imgdir, sharedir = os.path.join(tmp, "img"), os.path.join(tmp, "share")
        os.makedirs(imgdir)
        os.makedirs(sharedir)
        only = a.only.split(",") if a.only else None
        for p in PROFILES:
            if p.name in REFUSED and (not only or any(o in p.name for o in only)):
                print(f"SKIP {p.name}: libvirt 9.0 refuses it: {REFUSED[p.name]}", file=sys.stderr)
        cells = [(p, v) for p in PROFILES if p.name not in REFUSED
                 if not only or any(o in p.name for o in only) for v in variants(p)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
            # virt-install defines a storage pool for the image directory on
            # first use: once, alone, or parallel calls race to define it
            made = [make(cells[0][0], cells[0][1], conn, imgdir, sharedir)] if cells else []
            made += list(pool.map(lambda c: make(c[0], c[1], conn, imgdir, sharedir), cells[1:]))
            if a.check:
                verdicts = list(pool.map(lambda mc: check(mc[0][1], mc[0][0], tmp, mc[1][0].start)
                                         if mc[0][1] is not None else (False, mc[0][2]), zip(made, cells)))
            else:
                verdicts = [(m[1] is not None, m[2]) for m in made]
        for (name, xml, _), (ok, why), (p, _v) in zip(made, verdicts, cells):
            if not ok:
                dropped.append((name, why))
                print(f"DROP {name}: {why}", file=sys.stderr)
                continue
            out = a.out if p.start else a.out_hostdev
            os.makedirs(out, exist_ok=True)
            with open(os.path.join(out, name + ".xml"), "w") as f:
                f.write(xml)
            kept += 1
    print(f"{kept} domain(s) written to {a.out} and {a.out_hostdev}, {len(dropped)} dropped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
