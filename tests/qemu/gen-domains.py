#!/usr/bin/env python3
"""Write the oracle domain XMLs (tests/qemu/domains/*.xml).  Run by hand when
the set changes; the XMLs are committed so a reader can see each case.

ok-*   : iommuctl's argv (libvirt's engine) equals real libvirt 9.0's, line
         for line, and is started paused with every IOMMU property read back.
bad-*  : iommuctl refuses (lint, libvirt's engine, or what libvirt 9.0 would
         drop); the comment says with what, and which QEMU command line
         proves QEMU refuses too (QEMU's own text).
"""
import os, textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "domains")
DISK = "/tmp/iommuctl-oracle-disks"
n = 0

def rp(index, slot, bus=0, chassis=None, port=None):
    chassis = index if chassis is None else chassis
    port = (slot << 3) if port is None else port
    return (f"    <controller type='pci' index='{index}' model='pcie-root-port'>\n"
            f"      <target chassis='{chassis}' port='{port:#x}'/>\n"
            f"      <address type='pci' domain='0x0000' bus='{bus:#04x}' slot='{slot:#04x}' function='0x0'/>\n"
            f"    </controller>\n")

def pxb(index, slot, busnr):
    return (f"    <controller type='pci' index='{index}' model='pcie-expander-bus'>\n"
            f"      <target busNr='{busnr}'/>\n"
            f"      <address type='pci' domain='0x0000' bus='0x00' slot='{slot:#04x}' function='0x0'/>\n"
            f"    </controller>\n")

def addr(bus, slot=0):
    return f"      <address type='pci' domain='0x0000' bus='{bus:#04x}' slot='{slot:#04x}' function='0x0'/>\n"

def balloon(bus, drv=""):
    return f"    <memballoon model='virtio'>\n{drv}{addr(bus)}    </memballoon>\n"

def domain(name, devices, *, type_="qemu", machine="q35", arch="x86_64", features="<acpi/>",
           extra_top="", comments=(), ns=False, os_extra="", cpu=""):
    global n
    n += 1
    uuid = f"0b7d7f4e-1a2b-4c3d-8e9f-{n:012d}"
    head = "".join(f"<!-- {c} -->\n" for c in comments)
    nsattr = " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" if ns else ""
    emulator = "/usr/bin/qemu-system-aarch64" if arch == "aarch64" else "/usr/bin/qemu-system-x86_64"
    root = "    <controller type='pci' index='0' model='pcie-root'/>\n" if machine in ("q35", "virt") else ""
    usb = "    <controller type='usb' model='none'/>\n"
    text = (f"{head}<domain type='{type_}'{nsattr}>\n  <name>{name}</name>\n  <uuid>{uuid}</uuid>\n"
            f"  <memory unit='MiB'>256</memory>\n  <vcpu>1</vcpu>\n"
            f"  <os>\n    <type arch='{arch}' machine='{machine}'>hvm</type>\n{os_extra}  </os>\n"
            f"{cpu}"
            f"  <features>\n    {features}\n  </features>\n"
            f"  <devices>\n    <emulator>{emulator}</emulator>\n{root}{usb}{devices}  </devices>\n{extra_top}</domain>\n")
    with open(os.path.join(OUT, name + ".xml"), "w") as f:
        f.write(text)

START = "oracle: start  (real libvirt start: the bypass must reach a running QEMU)"
SPLIT = "<acpi/>\n    <ioapic driver='qemu'/>"
NOBAL = "    <memballoon model='none'/>\n"
def intel(attrs=""):
    return f"    <iommu model='intel'>\n      <driver {attrs}/>\n    </iommu>\n" if attrs else "    <iommu model='intel'/>\n"

def override(alias, value="true"):
    return (f"    <qemu:device alias='{alias}'>\n      <qemu:frontend>\n"
            f"        <qemu:property name='bypass_iommu' type='bool' value='{value}'/>\n"
            f"      </qemu:frontend>\n    </qemu:device>\n")

def meta(default=None, buses=()):
    inner = ""
    if default is not None:
        inner += f"      <iommuctl:default-bus bypass='{default}'/>\n"
    for i, v in buses:
        inner += f"      <iommuctl:bus index='{i}' bypass='{v}'/>\n"
    return ("  <metadata>\n    <iommuctl:bypass xmlns:iommuctl='https://iommuctl.dev/xmlns/bypass/1'>\n"
            f"{inner}    </iommuctl:bypass>\n  </metadata>\n")

def cmdline_default(v):
    return ("  <qemu:commandline>\n    <qemu:arg value='-machine'/>\n"
            f"    <qemu:arg value='default-bus-bypass-iommu={v}'/>\n  </qemu:commandline>\n")

def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        if f.endswith(".xml"):
            os.unlink(os.path.join(OUT, f))
    # ---- intel-iommu, every attribute ----
    domain("ok-intel-plain", intel() + NOBAL)
    domain("ok-intel-intremap-cm", intel("intremap='on' caching_mode='on'") + NOBAL, features=SPLIT)
    domain("ok-intel-all-kvm", rp(1, 2) + intel("intremap='on' caching_mode='on' eim='on' iotlb='on' aw_bits='48'") +
           balloon(1, "      <driver iommu='on' ats='on'/>\n"), type_="kvm", features=SPLIT,
           comments=["eim='on' needs KVM: QEMU 7.2 under TCG refuses it"])
    domain("ok-intel-aw39", intel("aw_bits='39'") + NOBAL)
    domain("ok-intel-aw48-cm", intel("caching_mode='on' aw_bits='48'") + NOBAL)
    domain("own-intel-dma-translation-off", intel("intremap='on' dma_translation='off'") + NOBAL, features=SPLIT)
    domain("ok-intel-intremap-off", intel("intremap='off' caching_mode='off' iotlb='off'") + NOBAL)
    domain("ok-intel-eim-off", intel("intremap='on' eim='off'") + NOBAL, features=SPLIT)
    domain("ok-intel-iotlb-ats", rp(1, 2) + rp(2, 3) + intel("intremap='on' caching_mode='on' iotlb='on'") +
           f"    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw' iommu='on' ats='on'/>\n"
           f"      <source file='{DISK}/vda.img'/>\n      <target dev='vda' bus='virtio'/>\n{addr(1)}    </disk>\n" +
           balloon(2, "      <driver iommu='on' ats='on'/>\n"), features=SPLIT)
    # ---- virtio devices with iommu/ats/packed/page_per_vq ----
    domain("ok-virtio-devices-iommu-on", rp(1, 2) + rp(2, 3) + rp(3, 4) + rp(4, 5) + rp(5, 6) +
           intel("intremap='on' caching_mode='on'") +
           f"    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw' iommu='on'/>\n"
           f"      <source file='{DISK}/vda.img'/>\n      <target dev='vda' bus='virtio'/>\n{addr(1)}    </disk>\n"
           f"    <controller type='scsi' index='0' model='virtio-scsi'>\n      <driver iommu='on'/>\n{addr(2)}    </controller>\n"
           f"    <controller type='virtio-serial' index='0'>\n      <driver iommu='on'/>\n{addr(3)}    </controller>\n"
           + balloon(4, "      <driver iommu='on'/>\n") +
           f"    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n      <driver iommu='on'/>\n{addr(5)}    </rng>\n",
           features=SPLIT)
    domain("ok-virtio-packed-page-per-vq", rp(1, 2) + rp(2, 3) + intel() +
           f"    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw' iommu='on' packed='on' page_per_vq='on'/>\n"
           f"      <source file='{DISK}/vda.img'/>\n      <target dev='vda' bus='virtio'/>\n{addr(1)}    </disk>\n" +
           balloon(2, "      <driver iommu='off' packed='off'/>\n"))
    domain("ok-virtio-iommu-off-explicit", rp(1, 2) + intel() + balloon(1, "      <driver iommu='off' ats='off'/>\n"))
    domain("ok-interface-iommu-start", rp(1, 2) + rp(2, 3) + intel("intremap='on' caching_mode='on'") +
           "    <interface type='user'>\n      <mac address='52:54:00:12:34:56'/>\n      <model type='virtio'/>\n"
           f"      <driver iommu='on' ats='on'/>\n{addr(1)}    </interface>\n" + balloon(2, "      <driver iommu='on'/>\n"),
           features=SPLIT, comments=["oracle: start  (domxml-to-native drops an interface's iommu option)"])
    domain("ok-disk-sata-and-virtio", rp(1, 2) + intel() +
           f"    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw' iommu='on'/>\n"
           f"      <source file='{DISK}/vda.img'/>\n      <target dev='vda' bus='virtio'/>\n{addr(1)}    </disk>\n"
           f"    <disk type='file' device='disk'>\n      <driver name='qemu' type='raw'/>\n"
           f"      <source file='{DISK}/sda.img'/>\n      <target dev='sda' bus='sata'/>\n"
           "      <address type='drive' controller='0' bus='0' target='0' unit='0'/>\n    </disk>\n"
           "    <controller type='sata' index='0'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>\n    </controller>\n"
           + NOBAL)
    # ---- virtio-iommu ----
    domain("ok-virtio-iommu", "    <iommu model='virtio'>\n" + addr(0, 2) + "    </iommu>\n" + NOBAL)
    domain("ok-virtio-iommu-devices", rp(1, 3) + "    <iommu model='virtio'>\n" + addr(0, 2) + "    </iommu>\n" +
           balloon(1, "      <driver iommu='on'/>\n"))
    domain("own-aarch64-virtio-iommu", rp(1, 2) + "    <iommu model='virtio'>\n" + addr(0, 1) + "    </iommu>\n" +
           balloon(1, "      <driver iommu='on'/>\n"), arch="aarch64", machine="virt", features="<gic version='3'/>".replace("<gic version='3'/>", ""),
           cpu="  <cpu mode='custom'>\n    <model>cortex-a57</model>\n  </cpu>\n")
    # ---- smmuv3 ----
    domain("ok-aarch64-smmuv3", rp(1, 2) + "    <iommu model='smmuv3'/>\n" + balloon(1, "      <driver iommu='on'/>\n"),
           arch="aarch64", machine="virt", features="", cpu="  <cpu mode='custom'>\n    <model>cortex-a57</model>\n  </cpu>\n")
    # ---- locked memory, ioapic ----
    domain("ok-locked-memory", intel("intremap='on' caching_mode='on'") + NOBAL, features=SPLIT,
           extra_top="  <memoryBacking>\n    <locked/>\n  </memoryBacking>\n")
    domain("ok-ioapic-kvm", NOBAL, type_="kvm", features="<acpi/>\n    <ioapic driver='kvm'/>")
    domain("ok-no-iommu-q35", rp(1, 2) + balloon(1, "      <driver iommu='on'/>\n"))
    domain("ok-pc-machine", NOBAL, machine="pc")
    domain("ok-direct-kernel-boot", intel("intremap='on' caching_mode='on' aw_bits='48'") + NOBAL, features=SPLIT,
           os_extra="    <kernel>/tmp/iommuctl-oracle-disks/vmlinuz</kernel>\n    <initrd>/tmp/iommuctl-oracle-disks/initrd.img</initrd>\n"
                    "    <cmdline>console=ttyS0 intel_iommu=on</cmdline>\n")
    # ---- VFIO hostdevs (d2n needs <driver name='vfio'/>) ----
    hd = lambda bus, slot, target_bus: (
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <driver name='vfio'/>\n"
        f"      <source>\n        <address domain='0x0000' bus='{bus:#04x}' slot='{slot:#04x}' function='0x0'/>\n      </source>\n"
        f"{addr(target_bus)}    </hostdev>\n")
    domain("ok-hostdev-intel", rp(1, 2) + intel("intremap='on' caching_mode='on'") + hd(0x3b, 0, 1) + NOBAL, features=SPLIT)
    domain("ok-hostdev-two", rp(1, 2) + rp(2, 3) + intel("intremap='on' caching_mode='on' aw_bits='48'") +
           hd(0x3b, 0, 1) + hd(0x3c, 0, 2) + NOBAL, features=SPLIT)
    domain("ok-hostdev-no-viommu", rp(1, 2) + hd(0x3b, 0, 1) + NOBAL,
           extra_top="  <memoryBacking>\n    <locked/>\n  </memoryBacking>\n")
    domain("ok-hostdev-virtio-iommu", rp(1, 3) + "    <iommu model='virtio'>\n" + addr(0, 2) + "    </iommu>\n" + hd(0x3b, 0, 1) + NOBAL)
    # ---- bypass (libvirt: qemu:override / qemu:commandline) ----
    pxbs = pxb(1, 0x10, 32) + rp(2, 0, bus=1) + pxb(3, 0x11, 64) + rp(4, 0, bus=3)
    domain("ok-bypass-pxb", pxbs + intel("intremap='off' caching_mode='on'") + balloon(2, "      <driver iommu='on'/>\n"), ns=True,
           extra_top=meta(buses=[(1, "on")]) + "  <qemu:override>\n" + override("pci.1") + "  </qemu:override>\n",
           comments=[START])
    domain("ok-bypass-default-bus", rp(1, 2) + intel("intremap='on' caching_mode='on'") + balloon(1), ns=True, features=SPLIT,
           extra_top=meta(default="on") + cmdline_default("on"), comments=[START])
    domain("ok-bypass-mixed", pxbs + rp(5, 2) + intel("intremap='on' caching_mode='on'") + balloon(2), ns=True, features=SPLIT,
           extra_top=meta(default="on", buses=[(1, "on"), (3, "off")]) + cmdline_default("on") +
           "  <qemu:override>\n" + override("pci.1") + override("pci.3", "false") + "  </qemu:override>\n",
           comments=[START])
    domain("ok-bypass-virtio-iommu", pxbs + "    <iommu model='virtio'>\n" + addr(0, 2) + "    </iommu>\n" + NOBAL, ns=True,
           extra_top=meta(buses=[(1, "on")]) + "  <qemu:override>\n" + override("pci.1") + "  </qemu:override>\n",
           comments=[START])
    domain("ok-bypass-smmuv3-default", rp(1, 2) + "    <iommu model='smmuv3'/>\n" + NOBAL, ns=True, arch="aarch64", machine="virt",
           features="", cpu="  <cpu mode='custom'>\n    <model>cortex-a57</model>\n  </cpu>\n",
           extra_top=meta(default="on") + cmdline_default("on"), comments=[START])
    # ---- refusals (iommuctl) with QEMU's own text ----
    bad = lambda name, devs, expect, qemu, qerr, **kw: domain(name, devs, comments=[f"expect: {expect}", f"qemu: {qemu}", f"qemu-error: {qerr}"] + list(kw.pop("more", [])), **kw)
    # ---- what libvirt 9.0 cannot express: refused, with the version needed ----
    bad("bad-amd-libvirt-9.0", intel().replace("intel", "amd").replace("<iommu model='amd'/>",
        "<iommu model='amd'>\n      <driver intremap='on' iotlb='on' passthrough='on'/>\n    </iommu>") + NOBAL,
        "iommu model 'amd' needs libvirt >= 11.5", "", "", features=SPLIT)
    bad("bad-iommufd-libvirt-9.0", rp(1, 2) + intel("intremap='on' caching_mode='on'") +
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <driver name='vfio' iommufd='yes'/>\n"
        "      <source>\n        <address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>\n      </source>\n"
        f"{addr(1)}    </hostdev>\n" + NOBAL, "on a hostdev needs libvirt >= 12.1", "", "", features=SPLIT)
    bad("bad-dma-translation-libvirt-9.0", intel("intremap='on' dma_translation='off'") + NOBAL,
        "dma_translation='…' is not in the command line libvirt made (libvirt knows it since 10.7", "", "", features=SPLIT)
    bad("bad-aarch64-virtio-iommu-no-acpi", rp(1, 2) + "    <iommu model='virtio'>\n" + addr(0, 1) + "    </iommu>\n" +
        NOBAL, "IOMMU device: 'virtio' requires ACPI", "", "", arch="aarch64", machine="virt", features="",
        cpu="  <cpu mode='custom'>\n    <model>cortex-a57</model>\n  </cpu>\n")
    bad("bad-intel-on-pc", intel() + NOBAL, "IOMMU device: 'intel' is only supported with Q35 machines",
        "-machine pc -device intel-iommu", "Parameter 'driver' expects a dynamic sysbus device type for the machine", machine="pc")
    bad("bad-aw-bits-40", intel("aw_bits='40'") + NOBAL, "Supported values for aw-bits are: 39, 48",
        "-machine q35 -device intel-iommu,aw-bits=40", "Supported values for aw-bits are: 39, 48")
    bad("bad-eim-under-tcg", intel("intremap='on' eim='on'") + NOBAL, "eim=on requires accel=kvm,kernel-irqchip=split",
        "-machine q35,kernel_irqchip=split -device intel-iommu,intremap=on,eim=on", "eim=on requires accel=kvm,kernel-irqchip=split",
        features=SPLIT)
    bad("bad-eim-intremap-off", intel("intremap='off' eim='on'") + NOBAL, "IOMMU eim requires interrupt remapping to be enabled",
        "-machine q35,kernel_irqchip=split -device intel-iommu,intremap=off,eim=on", "eim=on cannot be selected without intremap=on",
        features=SPLIT)
    bad("bad-two-iommus", intel() + intel() + NOBAL, "only a single IOMMU device is supported",
        "-machine q35 -device intel-iommu -device intel-iommu", "QEMU does not support multiple vIOMMUs for x86 yet.")
    bad("bad-intremap-without-split", intel("intremap='on'") + NOBAL, "IOMMU interrupt remapping requires split I/O APIC",
        "-accel kvm -machine q35 -device intel-iommu,intremap=on",
        "Interrupt Remapping cannot work with kernel-irqchip=on, please use 'split|off'.", type_="kvm")
    bad("bad-virtio-iommu-on-root-port", rp(1, 2) + "    <iommu model='virtio'>\n" + addr(1, 0) + "    </iommu>\n" + NOBAL,
        "needs to be an integrated device (bus=0)",
        "-machine q35 -device pcie-root-port,id=rp1,chassis=1 -device virtio-iommu-pci,bus=rp1",
        "virtio-iommu-pci must be plugged on the root bus")
    bad("bad-smmuv3-on-q35", "    <iommu model='smmuv3'/>\n" + NOBAL, "IOMMU device: 'smmuv3' is only supported with ARM Virt machines",
        "-machine q35,iommu=smmuv3", "Property 'pc-q35-7.2-machine.iommu' not found")
    bad("bad-iommu-platform-root-bus", intel() + "    <memballoon model='virtio'>\n      <driver iommu='on'/>\n" + addr(0, 5) + "    </memballoon>\n",
        "VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device",
        "-machine q35 -device virtio-balloon-pci,iommu_platform=on,bus=pcie.0,addr=0x5",
        "VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device")
    bad("bad-iommu-platform-transitional", rp(1, 2) + intel() +
        f"    <memballoon model='virtio-transitional'>\n      <driver iommu='on'/>\n{addr(1)}    </memballoon>\n",
        "VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device",
        "-machine q35 -device pcie-root-port,id=rp1,chassis=1 -device virtio-balloon-pci-transitional,iommu_platform=on,bus=rp1",
        "VIRTIO_F_IOMMU_PLATFORM was supported by neither legacy nor transitional device")
    bad("bad-amd-xtsup", "    <iommu model='amd'>\n      <driver xtsup='on'/>\n    </iommu>\n" + NOBAL,
        "iommu model 'amd' needs libvirt >= 11.5",
        "-machine q35 -device amd-iommu,xtsup=on", "Property 'amd-iommu.xtsup' not found")
    bad("bad-iommufd-on-7.2", rp(1, 2) +
        "    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <driver name='vfio' iommufd='yes'/>\n"
        "      <source>\n        <address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>\n      </source>\n"
        f"{addr(1)}    </hostdev>\n" + NOBAL, "on a hostdev needs libvirt >= 12.1",
        "-machine q35 -object iommufd,id=iommufd0", "Parameter 'qom-type' does not accept value 'iommufd'")
    bad("bad-pxb-on-pc", pxb(1, 0x10, 32).replace("pcie-expander-bus", "pcie-expander-bus") + NOBAL,
        "pcie-expander-bus controllers are not supported with this machine type", "-machine pc -device pxb-pcie,bus_nr=0x20,id=pxb1",
        "pxb-pcie devices cannot reside on a PCI bus", machine="pc")
    bad("bad-amd-with-bypass", pxb(1, 0x10, 32) + rp(2, 0, bus=1) +
        "    <iommu model='amd'>\n      <driver intremap='on'/>\n    </iommu>\n" + NOBAL,
        "iommu model 'amd' needs libvirt >= 11.5",
        "-machine q35,kernel_irqchip=split -device amd-iommu,intremap=on -device pxb-pcie,bus_nr=0x20,id=pxb1,bus=pcie.0,bypass_iommu=true",
        "ACCEPTED", features=SPLIT, ns=True,
        extra_top="  <qemu:override>\n" + override("pci.1") + "  </qemu:override>\n",
        more=["QEMU accepts it; the guest kernel crashes (guest-harness.md 3f), proven by the guest suite"])
    # once refused by the builtin generator; libvirt's engine models them
    domain("ok-graphics", intel() + NOBAL + "    <graphics type='vnc'/>\n")
    domain("ok-hugepages", intel() + NOBAL, extra_top="  <memoryBacking>\n    <hugepages/>\n  </memoryBacking>\n",
           comments=["libvirt needs a mounted hugetlbfs: where there is none, both iommuctl and libvirt refuse alike"])
    # libvirt >= 11.10 makes one arm-smmuv3 per host bridge; 9.0 would drop
    # pciBus silently: lint refuses it with the version needed
    bad("bad-smmuv3-pcibus", rp(1, 2) + "    <iommu model='smmuv3'>\n      <driver pciBus='0'/>\n    </iommu>\n" + NOBAL,
        "needs libvirt >= 11.10", "", "", arch="aarch64", machine="virt", features="")

if __name__ == "__main__":
    main()
