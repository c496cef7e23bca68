#!/usr/bin/env python3
"""Writes tests/domain/lint-cases/CODE-{fail,pass}-N.xml: for every lint rule
one domain that must trigger it and one that must not.  The files are
committed; this script documents how they were made (re-run to regenerate)."""
import os, sys, uuid

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lint-cases")
EMU = {"x86_64": "/usr/bin/qemu-system-x86_64", "aarch64": "/usr/bin/qemu-system-aarch64",
       "s390x": "/usr/bin/qemu-system-s390x"}

def domain(name, machine="q35", arch="x86_64", features="<acpi/>", devices="", vcpus=2, dtype="qemu", extra=""):
    feats = f"  <features>\n    {features}\n  </features>\n" if features else ""
    return f"""<domain type='{dtype}'>
  <name>{name}</name>
  <uuid>{uuid.uuid5(uuid.NAMESPACE_URL, name)}</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu>{vcpus}</vcpu>
  <os>
    <type arch='{arch}' machine='{machine}'>hvm</type>
  </os>
{feats}{extra}  <devices>
    <emulator>{EMU[arch]}</emulator>
{devices}  </devices>
</domain>
"""

def ind(s):
    return "".join("    " + l + "\n" for l in s.strip("\n").split("\n"))

VDISK = "<disk type='file' device='disk'>\n  <source file='/var/lib/libvirt/images/t.img'/>\n  <target dev='vda' bus='virtio'/>\n{drv}</disk>"
def vdisk(drv="", model=""):
    d = VDISK.replace("{drv}", f"  {drv}\n" if drv else "")
    return d.replace("device='disk'>", f"device='disk'{model}>") if model else d
HOSTDEV = ("<hostdev mode='subsystem' type='pci' managed='yes'>\n  <driver name='vfio'/>\n  <source>\n"
           "    <address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/>\n  </source>\n</hostdev>")
IOAPIC = "<acpi/>\n    <ioapic driver='qemu'/>"
def iommu(model, drv="", addr=""):
    inner = (f"  <driver {drv}/>\n" if drv else "") + (f"  {addr}\n" if addr else "")
    return f"<iommu model='{model}'>\n{inner}</iommu>" if inner else f"<iommu model='{model}'/>"
INTEL_IR = iommu("intel", "intremap='on'")
RP1 = "<controller type='pci' index='0' model='pcie-root'/>\n<controller type='pci' index='1' model='pcie-root-port'/>"

cases = {
 "LV001": [domain("lv001f", machine="pc", devices=ind(iommu("intel"))), domain("lv001p", devices=ind(iommu("intel")))],
 "LV002": [domain("lv002f", devices=ind(iommu("smmuv3"))),
           domain("lv002p", arch="aarch64", machine="virt", features="", devices=ind(iommu("smmuv3")))],
 "LV003": [domain("lv003f", machine="pc", devices=ind(iommu("virtio"))), domain("lv003p", devices=ind(iommu("virtio")))],
 "LV004": [domain("lv004f", features="<apic/>", devices=ind(iommu("virtio"))), domain("lv004p", devices=ind(iommu("virtio")))],
 "LV005": [domain("lv005f", devices=ind(iommu("virtio", addr="<address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>"))),
           domain("lv005p", devices=ind(iommu("virtio", addr="<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>")))],
 "LV006": [domain("lv006f", devices=ind(RP1 + "\n" + iommu("virtio", addr="<address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>"))),
           domain("lv006p", devices=ind(RP1 + "\n" + iommu("virtio", addr="<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>")))],
 "LV007": [domain("lv007f", devices=ind(INTEL_IR)), domain("lv007p", features=IOAPIC, devices=ind(INTEL_IR))],
 "LV008": [domain("lv008f", features=IOAPIC, devices=ind(iommu("intel", "eim='on'"))),
           domain("lv008p", features=IOAPIC, dtype="kvm", devices=ind(iommu("intel", "intremap='on' eim='on'")))],
 "LV009": [domain("lv009f", devices=ind(iommu("virtio", "intremap='on' caching_mode='on'"))), domain("lv009p", devices=ind(iommu("virtio")))],
 "LV010": [domain("lv010f", devices=ind(iommu("amd", "caching_mode='on'"))), domain("lv010p", features=IOAPIC, devices=ind(iommu("amd", "intremap='on'")))],
 "LV011": [domain("lv011f", devices=ind(iommu("intel", addr="<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>"))),
           domain("lv011p", devices=ind(iommu("intel")))],
 "LV012": [domain("lv012f", machine="pc", vcpus=256), domain("lv012p", vcpus=256, features=IOAPIC, dtype="kvm", devices=ind(iommu("intel", "intremap='on' eim='on'")))],
 "LV013": [domain("lv013f", vcpus=256), domain("lv013p", vcpus=256, features=IOAPIC, dtype="kvm", devices=ind(iommu("intel", "intremap='on' eim='on'")))],
 "LV014": [domain("lv014f", devices=ind("<interface type='user'>\n  <mac address='52:54:00:00:00:14'/>\n  <model type='e1000e'/>\n  <driver iommu='on'/>\n</interface>")),
           domain("lv014p", devices=ind(iommu("intel") + "\n" + "<interface type='user'>\n  <mac address='52:54:00:00:00:14'/>\n  <model type='virtio'/>\n  <driver iommu='on'/>\n</interface>"))],
 "LV015": [domain("lv015f", devices=ind(iommu("intel") + "\n" + iommu("intel"))), domain("lv015p", devices=ind(iommu("intel")))],
 "LV016": [domain("lv016f", arch="aarch64", machine="virt", features="<ioapic driver='qemu'/>"), domain("lv016p", features=IOAPIC)],
 "LV017": [domain("lv017f", devices=ind(iommu("bogus"))), domain("lv017p", devices=ind(iommu("intel")))],
 "LV018": [domain("lv018f", features=IOAPIC, devices=ind(iommu("intel", "intremap='maybe'"))), domain("lv018p", features=IOAPIC, devices=ind(INTEL_IR))],
 "LV019": [domain("lv019f", devices=ind(iommu("amd"))), domain("lv019p", devices=ind(iommu("intel")))],
 "LV020": [domain("lv020f", devices=ind("<sound model='ich9'>\n  <driver iommu='on'/>\n</sound>")), domain("lv020p", devices=ind("<sound model='ich9'/>"))],
 "QM001": [domain("qm001f", devices=ind(iommu("intel", "aw_bits='40'"))), domain("qm001p", devices=ind(iommu("intel", "aw_bits='48'")))],
 "QM002": [domain("qm002f", devices=ind(iommu("intel") + "\n" + vdisk("<driver name='qemu' type='raw' iommu='on'/>", " model='virtio-transitional'"))),
           domain("qm002p", devices=ind(iommu("intel") + "\n" + vdisk("<driver name='qemu' type='raw' iommu='on'/>", " model='virtio-non-transitional'")))],
 "QM003": [domain("qm003f", devices=ind(iommu("intel") + "\n" + HOSTDEV)), domain("qm003p", devices=ind(iommu("intel", "caching_mode='on'") + "\n" + HOSTDEV))],
 "QM004": [domain("qm004f", features=IOAPIC, devices=ind(iommu("intel", "intremap='on' eim='on'"))),
           domain("qm004p", features=IOAPIC, dtype="kvm", devices=ind(iommu("intel", "intremap='on' eim='on'")))],
 "QM005": [domain("qm005f", devices=ind(iommu("amd") + "\n" + HOSTDEV)), domain("qm005p", devices=ind(iommu("amd")))],
 "IC001": [domain("ic001f", devices=ind(vdisk("<driver name='qemu' type='raw' iommu='on'/>"))),
           domain("ic001p", devices=ind(iommu("intel") + "\n" + vdisk("<driver name='qemu' type='raw' iommu='on'/>")))],
 "IC002": [domain("ic002f", devices=ind(iommu("intel", "caching_mode='on' aw_bits='48'") + "\n" + HOSTDEV)),
           domain("ic002p", devices=ind(iommu("intel", "caching_mode='on' aw_bits='39'") + "\n" + HOSTDEV))],
 "IC003": [domain("ic003f", arch="s390x", machine="s390-ccw-virtio", features="",
                  devices=ind(vdisk("<driver name='qemu' type='raw' iommu='on'/>") + "\n<rng model='virtio'>\n  <backend model='random'>/dev/urandom</backend>\n  <driver iommu='off'/>\n</rng>")),
           domain("ic003p", arch="s390x", machine="s390-ccw-virtio", features="",
                  devices=ind(vdisk("<driver name='qemu' type='raw' iommu='on'/>") + "\n<rng model='virtio'>\n  <backend model='random'>/dev/urandom</backend>\n  <driver iommu='on'/>\n</rng>"))],
 "IC004": [domain("ic004f", arch="s390x", machine="s390-ccw-virtio", features="", extra="  <launchSecurity type='s390-pv'/>\n", devices=ind(HOSTDEV)),
           domain("ic004p", arch="s390x", machine="s390-ccw-virtio", features="", extra="  <launchSecurity type='s390-pv'/>\n")],
}

def hostdev(bus):
    return HOSTDEV.replace("bus='0x3b'", f"bus='{bus}'")
def with_libvirt(version, xml):
    """The first line tells test-domain-lint which --libvirt-version the case is linted for."""
    return f"<!-- iommuctl-lint: libvirt-version={version} -->\n" + xml
SMMU_PCI_BUS = ("<controller type='pci' index='0' model='pcie-root'/>\n"
                "<controller type='pci' index='1' model='pcie-expander-bus'>\n  <target busNr='252'/>\n</controller>\n"
                "<controller type='pci' index='2' model='pcie-expander-bus'>\n  <target busNr='248'/>\n</controller>\n")
def smmu(bus):
    return iommu("smmuv3", f"pciBus='{bus}'")
VIRTIOFS = ("<filesystem type='mount' accessmode='passthrough'>\n  <driver type='virtiofs' iommu='on'/>\n"
            "  <source dir='/srv/share'/>\n  <target dir='share0'/>\n</filesystem>")
NINEP = ("<filesystem type='mount' accessmode='mapped'>\n  <driver type='path' iommu='on'/>\n"
         "  <source dir='/srv/share'/>\n  <target dir='share0'/>\n</filesystem>")
SHARED_MEM = "  <memoryBacking>\n    <source type='memfd'/>\n    <access mode='shared'/>\n  </memoryBacking>\n"
MODERN_ONLY = ("<input type='tablet' bus='virtio'>\n  <driver iommu='on'/>\n</input>\n"
               "<video>\n  <model type='virtio' heads='1' primary='yes'/>\n  <driver iommu='on'/>\n</video>")
BALLOON_ON = "<memballoon model='virtio'>\n  <driver iommu='on'/>\n</memballoon>"
GRANULE = "<iommu model='virtio'>\n  <driver>\n    <granule mode='4k'/>\n  </driver>\n</iommu>"
IOMMUFD_HOSTDEV = HOSTDEV.replace("<driver name='vfio'/>", "<driver name='vfio' iommufd='yes'/>")

cases.update({
 "LV021": [domain("lv021f", devices=ind(HOSTDEV + "\n" + HOSTDEV)), domain("lv021p", devices=ind(HOSTDEV + "\n" + hostdev("0x3c")))],
 "LV022": [domain("lv022f", arch="aarch64", machine="virt", features="", devices=ind(SMMU_PCI_BUS + smmu(1))),
           with_libvirt("11.10", domain("lv022p", arch="aarch64", machine="virt", features="", devices=ind(SMMU_PCI_BUS + smmu(1))))],
 "QM006": [domain("qm006f", extra=SHARED_MEM, devices=ind(iommu("intel") + "\n" + VIRTIOFS)),
           domain("qm006p", devices=ind(iommu("intel") + "\n" + NINEP))],
 "IC005": [domain("ic005f", features="<apic/>", devices=ind(iommu("intel"))), domain("ic005p", devices=ind(iommu("intel")))],
})
# more cases of a rule: CODE-{fail,pass}-WHAT.xml
extra = {
 "LV022-fail-granule": domain("lv022fg", devices=ind(GRANULE)),
 "LV022-pass-granule-12.1": with_libvirt("12.1", domain("lv022pg", devices=ind(GRANULE))),
 "LV022-fail-iommufd": domain("lv022fi", devices=ind(iommu("intel", "caching_mode='on'") + "\n" + IOMMUFD_HOSTDEV)),
 "LV022-pass-iommufd-12.1": with_libvirt("12.1", domain("lv022pi", devices=ind(iommu("intel", "caching_mode='on'") + "\n" + IOMMUFD_HOSTDEV))),
 "LV019-pass-amd-11.5": with_libvirt("11.5", domain("lv019pa", features=IOAPIC, devices=ind(iommu("amd", "intremap='on'")))),
 "LV015-pass-smmuv3-pcibus-11.10": with_libvirt("11.10", domain("lv015ps", arch="aarch64", machine="virt", features="",
                                                              devices=ind(SMMU_PCI_BUS + smmu(1) + "\n" + smmu(2)))),
 "LV015-fail-smmuv3-pcibus-9.0": domain("lv015fs", arch="aarch64", machine="virt", features="", devices=ind(SMMU_PCI_BUS + smmu(1) + "\n" + smmu(2))),
 "LV013-pass-auto-viommu-10.10": with_libvirt("10.10", domain("lv013pa", vcpus=256)),
 "LV009-fail-virtio-aw-bits": domain("lv009fa", devices=ind(iommu("virtio", "aw_bits='48'"))),
 "LV009-pass-virtio-aw-bits-12.1": with_libvirt("12.1", domain("lv009pa", devices=ind(iommu("virtio", "aw_bits='48'")))),
 "QM002-pass-i440fx-modern-only": domain("qm002pm", machine="pc", devices=ind(iommu("intel") + "\n" + MODERN_ONLY).replace(ind(iommu("intel")), "")),
 "QM002-fail-i440fx-balloon": domain("qm002fb", machine="pc", devices=ind(BALLOON_ON)),
 "QM002-pass-i440fx-non-transitional": domain("qm002pn", machine="pc", devices=ind(BALLOON_ON.replace("model='virtio'", "model='virtio-non-transitional'"))),
}

os.makedirs(OUT, exist_ok=True)
for code, (fail, ok) in cases.items():
    open(os.path.join(OUT, f"{code}-fail.xml"), "w").write(fail)
    open(os.path.join(OUT, f"{code}-pass.xml"), "w").write(ok)
for name, xml in extra.items():
    open(os.path.join(OUT, f"{name}.xml"), "w").write(xml)
print(len(cases) * 2 + len(extra), "cases")
