#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every domain XML `policy resolve --domain` produces must pass
`iommuctl domain lint`, libvirt's RNG schema (virt-xml-validate) and real
libvirt 9.0 (tests/lib/libvirt-oracle argv, domxml-to-native), and
the QEMU argv must carry the device the decision means.  Domains are
type='qemu' (TCG); aarch64 without <acpi/> (it would need UEFI).

Fails when the libvirt oracle or virt-xml-validate is missing, unless
IOMMUCTL_ALLOW_SKIP=1 (then exit 77 = skipped)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

IOMMUCTL = os.environ.get("IOMMUCTL")
ORACLE = os.path.join(os.environ.get("IOMMUCTL_SRCDIR", ""), "tests", "lib", "libvirt-oracle")
failures = []

X86 = """<domain type='qemu'>
  <name>policy-{name}</name>
  <uuid>6f1f6b1e-3c1a-4f7e-9d0a-{n:012d}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='{machine}'>hvm</type>
  </os>
  <features>
    <acpi/>
  </features>
{extra}  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
{devices}  </devices>
</domain>
"""

ARM = """<domain type='qemu'>
  <name>policy-{name}</name>
  <uuid>6f1f6b1e-3c1a-4f7e-9d0a-{n:012d}</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='aarch64' machine='{machine}'>hvm</type>
  </os>
  <cpu mode='custom'><model>cortex-a57</model></cpu>
{extra}  <devices>
    <emulator>/usr/bin/qemu-system-aarch64</emulator>
{devices}  </devices>
</domain>
"""

# (name, template, machine, extra, devices, resolve args, host libvirt, host aw bits,
#  strings the result must contain, strings it must not, strings the argv must contain)
CASES = [
    ("intel", X86, "q35", "", "", ["--flavor", "hw:viommu_model=intel"], "9.0.0", None,
     ["<iommu model='intel'>", "intremap='on'", "caching_mode='on'", "eim='off'", "iotlb='on'", "aw_bits='48'",
      "<ioapic driver='qemu'/>"], [],
     ['"driver":"intel-iommu"', '"intremap":"on"', '"aw-bits":48', "kernel_irqchip=split"]),
    ("auto-virtio", X86, "pc-q35-7.2", "", "", ["--flavor", "hw:viommu_model=auto"], "9.0.0", None,
     ["<iommu model='virtio'/>", "<ioapic driver='qemu'/>"], ["<driver intremap"],
     ['"driver":"virtio-iommu"']),
    ("auto-intel", X86, "q35", "", "", ["--image", "hw_viommu_model=auto"], "8.2.0", None,
     ["<iommu model='intel'>"], [], ['"driver":"intel-iommu"']),
    ("flavor-wins", X86, "q35", "", "",
     ["--flavor", "hw:viommu_model=intel", "--image", "hw_viommu_model=smmuv3"], "9.0.0", None,
     ["<iommu model='intel'>"], ["smmuv3"], ['"driver":"intel-iommu"']),
    ("host-aw39", X86, "q35", "", "", ["--flavor", "hw:viommu_model=intel"], "9.0.0", 39,
     ["aw_bits='39'"], ["aw_bits='48'"], ['"aw-bits":39']),
    ("locked", X86, "q35", "", "",
     ["--flavor", "hw:viommu_model=virtio", "--flavor", "hw:locked_memory=True",
      "--flavor", "hw:mem_page_size=small"], "9.0.0", None,
     ["<iommu model='virtio'/>", "<locked/>"], [], ["mem-lock=on", '"driver":"virtio-iommu"']),
    ("locked-only", X86, "pc-i440fx-7.2", "", "",
     ["--image", "hw_locked_memory=true", "--flavor", "hw:mem_page_size=any"], "9.0.0", None,
     ["<locked/>"], ["<iommu"], ["mem-lock=on"]),
    ("realtime", X86, "q35", "", "",
     ["--flavor", "hw:cpu_realtime=yes", "--flavor", "hw:cpu_policy=dedicated"], "9.0.0", None,
     ["<locked/>"], [], ["mem-lock=on"]),
    ("none-removes", X86, "q35", "", "    <iommu model='intel'/>\n", [], "9.0.0", None,
     [], ["<iommu"], []),
    ("arm-auto-smmuv3", ARM, "virt", "", "", ["--flavor", "hw:viommu_model=auto"], "8.2.0", None,
     ["<iommu model='smmuv3'/>"], ["ioapic", "<driver intremap"], ["iommu=smmuv3"]),
    ("arm-smmuv3-locked", ARM, "virt", "", "",
     ["--image", "hw_viommu_model=smmuv3", "--image", "hw_locked_memory=yes", "--flavor", "hw:mem_page_size=2048"],
     "9.0.0", None, ["<iommu model='smmuv3'/>", "<locked/>"], ["ioapic"], ["iommu=smmuv3", "mem-lock=on"]),
]


def check(cond, what):
    print(("ok" if cond else "FAIL") + " - " + what)
    if not cond:
        failures.append(what)


def host_json(path, libvirt, aw):
    doc = {"schema": "iommuctl.traits", "version": 1,
           "host": {"name": "oracle", "arch": "x86_64", "libvirt_version": libvirt, "qemu_version": "7.2.0",
                    "emulators": ["aarch64", "x86_64"], "iommufd": None, "interrupt_remapping": None,
                    "iommu_address_width": aw, "assignable_groups": None},
           "traits": []}
    with open(path, "w") as f:
        json.dump(doc, f)


def main():
    missing = [] if shutil.which("virt-xml-validate") else ["virt-xml-validate (apt-get install libvirt-clients)"]
    started = subprocess.run([ORACLE, "start"], capture_output=True, text=True)
    if started.returncode != 0:
        missing.append("the libvirt oracle: " + started.stderr.strip())
    if not IOMMUCTL or missing:
        print(f"cannot run: IOMMUCTL={IOMMUCTL!r}, missing {missing}", file=sys.stderr)
        return 77 if os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1" else 1
    tmp = tempfile.mkdtemp(prefix="policy-oracle-")
    try:
        for n, (name, tmpl, machine, extra, devices, args, libvirt, aw, want, unwanted, argv_want) in enumerate(CASES):
            src = f"{tmp}/{name}.xml"
            out = f"{tmp}/{name}-resolved.xml"
            hj = f"{tmp}/{name}-host.json"
            with open(src, "w") as f:
                f.write(tmpl.format(name=name, n=n + 1, machine=machine, extra=extra, devices=devices))
            host_json(hj, libvirt, aw)
            p = subprocess.run([IOMMUCTL, "policy", "resolve", "--host-json", hj, "--domain", src, *args],
                               capture_output=True, text=True)
            check(p.returncode == 0, f"{name}: resolve --domain exit 0" + ("" if p.returncode == 0 else f" ({p.stderr.strip()[-300:]})"))
            if p.returncode != 0:
                continue
            with open(out, "w") as f:
                f.write(p.stdout)
            for s in want:
                check(s in p.stdout, f"{name}: result has {s}")
            for s in unwanted:
                check(s not in p.stdout, f"{name}: result lacks {s}")
            lint = subprocess.run([IOMMUCTL, "domain", "lint", out], capture_output=True, text=True)
            check(lint.returncode == 0, f"{name}: iommuctl domain lint passes" + ("" if lint.returncode == 0 else f" ({lint.stdout.strip()[-300:]})"))
            v = subprocess.run(["virt-xml-validate", out, "domain"], capture_output=True, text=True)
            check(v.returncode == 0, f"{name}: virt-xml-validate" + ("" if v.returncode == 0 else f" ({v.stderr.strip()[-300:]})"))
            a = subprocess.run([ORACLE, "argv", out], capture_output=True, text=True)
            check(a.returncode == 0, f"{name}: real libvirt accepts it" + ("" if a.returncode == 0 else f" ({a.stderr.strip()[-300:]})"))
            for s in argv_want:
                check(s in a.stdout, f"{name}: argv has {s}")
        # aarch64 + virtio: libvirt wants ACPI for it, and ACPI on aarch64 needs
        # UEFI; without them the result is reported (exit 1), not hidden
        src = f"{tmp}/arm-virtio.xml"
        with open(src, "w") as f:
            f.write(ARM.format(name="arm-virtio", n=97, machine="virt", extra="", devices=""))
        host_json(f"{tmp}/h.json", "9.0.0", None)
        p = subprocess.run([IOMMUCTL, "policy", "resolve", "--host-json", f"{tmp}/h.json", "--domain", src,
                            "--flavor", "hw:viommu_model=auto"], capture_output=True, text=True)
        check(p.returncode == 1 and "LV004 IOMMU device: 'virtio' requires ACPI" in p.stderr
              and "<iommu model='virtio'/>" in p.stdout, "aarch64 auto -> virtio without ACPI: lint error reported")
        # --in-place rewrites the file and a second run changes nothing
        src = f"{tmp}/inplace.xml"
        with open(src, "w") as f:
            f.write(X86.format(name="inplace", n=99, machine="q35", extra="", devices=""))
        host_json(f"{tmp}/h.json", "9.0.0", None)
        cmd = [IOMMUCTL, "policy", "resolve", "--host-json", f"{tmp}/h.json", "--domain", src, "--in-place",
               "--flavor", "hw:viommu_model=intel"]
        p = subprocess.run(cmd, capture_output=True, text=True)
        first = open(src).read()
        p2 = subprocess.run(cmd, capture_output=True, text=True)
        check(p.returncode == 0 and p2.returncode == 0 and "<iommu model='intel'>" in first
              and open(src).read() == first, "--in-place is idempotent")
        # a domain whose machine contradicts the decision is refused, file untouched
        src = f"{tmp}/mismatch.xml"
        text = X86.format(name="mismatch", n=98, machine="pc-i440fx-7.2", extra="", devices="")
        with open(src, "w") as f:
            f.write(text)
        p = subprocess.run([IOMMUCTL, "policy", "resolve", "--host-json", f"{tmp}/h.json", "--domain", src,
                            "--in-place", "--flavor", "hw:viommu_model=auto"], capture_output=True, text=True)
        check(p.returncode == 2 and "InvalidVIOMMUMachineType" in p.stderr and open(src).read() == text,
              "i440fx domain: Nova's machine-type error, file unchanged")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
