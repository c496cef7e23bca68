#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Real guests on iommuctl's own command line (suite 'guest').

tests/lib/guest-run -n builds the kernel + initramfs (busybox /init that runs a
script between @@IC-GUEST-BEGIN@@ and @@IC-GUEST-END rc=N@@); a domain XML boots
them with <os><kernel>/<initrd>/<cmdline>, `iommuctl run` launches QEMU on
the argv iommuctl generates, and the serial log is read.  One boot per
scenario, several checks each:
  intel  (aw_bits 48): devices have groups, "DMAR: Host address width 48",
         a device binds to vfio-pci and /dev/vfio/N appears;
  virtio (a kernel with virtio_iommu: the newest Debian offers, downloaded
         once when the installed one lacks it): groups, vfio-pci bind;
  amd:   AMD-Vi up, groups, vfio-pci bind;
  mixed: one pxb-pcie bypassing + the default bus bypassing (written by
         `iommuctl domain bypass`), one pxb translated: translated devices
         have groups and bind to vfio-pci, bypassed ones have none, cannot
         bind, and lose MSI-X while interrupt remapping is on.
"""
import glob, json, os, re, shlex, shutil, signal, subprocess, sys, tempfile, time

IOMMUCTL = os.environ.get("IOMMUCTL", "iommuctl")
GUEST_RUN = os.path.join(os.environ["IOMMUCTL_SRCDIR"], "tests", "lib", "guest-run")
ALLOW_SKIP = os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1"
# qemu-args/run use libvirt's embedded QEMU driver, whose root lives in the
# state directory: tests/lib/engine_state.py says where (never the host's
# /var/lib/iommuctl)
# one per scenario: a running guest holds its engine's root, and meson runs
# the scenarios (and the oracle's qemu-args) side by side
sys.path.insert(0, os.path.join(os.environ.get("IOMMUCTL_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")), "tests", "lib"))
from engine_state import engine_state_dir  # noqa: E402
ENGINE_STATE = engine_state_dir(os.environ.get("IOMMUCTL_BUILDDIR", "."), "guest-" + sys.argv[1])
os.makedirs(ENGINE_STATE, mode=0o700, exist_ok=True)
os.environ.setdefault("IOMMUCTL_STATE_DIR", ENGINE_STATE)
tmp = tempfile.mkdtemp(prefix="ic-qemu-guest-")
failed = passed = 0
only = sys.argv[1:]

def ok(cond, what, detail=""):
    global failed, passed
    if cond:
        passed += 1
        print("ok: " + what)
    else:
        failed += 1
        print("FAIL: " + what + ("\n  " + detail.replace("\n", "\n  ") if detail else ""))
    sys.stdout.flush()

GUEST_SCRIPT = r""". /etc/ic-guest/lib.sh
ig_pci
echo "iommu-class: $(ls /sys/class/iommu 2>/dev/null | tr '\n' ' ')"
dmesg | grep -E 'DMAR: Host address width|AMD-Vi: (Found|Interrupt)|virtio_iommu|Failed to initialize MSI' | sed 's/^\[[^]]*\] //' | sed 's/^/dmesg: /'
for bdf in $BIND; do
  ig_bind "$bdf" vfio-pci 2>/dev/null
  g=$(ig_group "$bdf")
  v=no; [ "$g" != "-" ] && [ -e "/dev/vfio/$g" ] && v=yes
  echo "bind $bdf driver=$(ig_driver "$bdf") group=$g vfio-node=$v"
done
"""

def prepare(name, iommu, bind, kernel=None):
    """guest-run -n: kernel, initramfs (in a directory of this test), cmdline."""
    script = os.path.join(tmp, name + ".sh")
    open(script, "w").write(GUEST_SCRIPT)
    work = os.path.join(tmp, name + ".d")
    cmd = [GUEST_RUN, "-n", "-q", "-s", script, "-i", iommu, "-e", "BIND=" + " ".join(bind), "--workdir", work]
    if kernel:
        cmd += kernel
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    words = shlex.split(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else []
    if "-kernel" not in words:
        return None, r.stderr
    get = lambda opt: words[words.index(opt) + 1]
    return (get("-kernel"), get("-initrd"), get("-append")), ""

def has_module(name):
    """The newest installed kernel (the harness's default) has NAME."""
    rel = sorted((p.split("vmlinuz-", 1)[1] for p in glob.glob("/boot/vmlinuz-*")),
                 key=lambda r: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", r)])
    return bool(rel) and subprocess.run(["modprobe", "-C", "/dev/null", "-S", rel[-1], "--show-depends", name],
                                         capture_output=True).returncode == 0

def rp(index, slot, bus=0):
    return (f"    <controller type='pci' index='{index}' model='pcie-root-port'>\n"
            f"      <target chassis='{index}' port='{slot << 3:#x}'/>\n"
            f"      <address type='pci' domain='0x0000' bus='{bus:#04x}' slot='{slot:#04x}' function='0x0'/>\n"
            f"    </controller>\n")

def pxb(index, slot, busnr):
    return (f"    <controller type='pci' index='{index}' model='pcie-expander-bus'>\n"
            f"      <target busNr='{busnr}'/>\n"
            f"      <address type='pci' domain='0x0000' bus='0x00' slot='{slot:#04x}' function='0x0'/>\n"
            f"    </controller>\n")

def nic(bus, model="e1000e", driver=""):
    mac = "52:54:00:00:%02x:01" % bus
    return (f"    <interface type='user'>\n      <mac address='{mac}'/>\n      <model type='{model}'/>\n{driver}"
            f"      <address type='pci' domain='0x0000' bus='{bus:#04x}' slot='0x00' function='0x0'/>\n    </interface>\n")

def domain(name, boot, devices, log, features="<acpi/>\n    <ioapic driver='qemu'/>"):
    kernel, initrd, append = boot
    path = os.path.join(tmp, name + ".xml")
    open(path, "w").write(f"""<domain type='qemu'>
  <name>guest-{name}</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel>
    <initrd>{initrd}</initrd>
    <cmdline>{append}</cmdline>
  </os>
  <features>
    {features}
  </features>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='usb' model='none'/>
{devices}    <serial type='file'>
      <source path='{log}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
""")
    return path

def boot(xml, log, timeout=240):
    """iommuctl run, bounded; returns the lines between the markers."""
    p = subprocess.Popen([IOMMUCTL, "run", "--user", "root", xml], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)  # run forwards it to its QEMU
        out, _ = p.communicate(timeout=30)
        out += "\n(timeout)"
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    m = re.search(r"@@IC-GUEST-BEGIN@@[^\n]*\n(.*?)@@IC-GUEST-END rc=(\d+)@@", text, re.S)
    if not m:
        return None, out + "\n--- serial log tail ---\n" + "\n".join(text.splitlines()[-40:])
    return m.group(1).replace("\r", "").splitlines(), out

def pci_line(lines, bdf):
    for l in lines:
        if l.startswith(bdf + " "):
            return dict(kv.split("=", 1) for kv in l.split()[2:] if "=" in kv)
    return None

def group_of(lines, bdf):
    d = pci_line(lines, bdf)
    return d.get("iommu_group") if d else None

def bound(lines, bdf):
    for l in lines:
        if l.startswith("bind " + bdf + " "):
            return dict(kv.split("=", 1) for kv in l.split()[2:])
    return {}

def scenario(name):
    return not only or name in only

def run_intel():
    b, err = prepare("intel", "intel", ["0000:01:00.0"])
    if not b:
        return ok(False, "intel: guest-run -n built the guest", err)
    log = os.path.join(tmp, "intel.log")
    xml = domain("intel", b, rp(1, 2) + rp(2, 3) + "    <iommu model='intel'>\n      <driver intremap='on' caching_mode='on' aw_bits='48'/>\n    </iommu>\n"
                 + nic(1) + nic(2, "virtio", "      <driver iommu='on'/>\n"), log)
    lines, out = boot(xml, log)
    if lines is None:
        return ok(False, "intel: guest booted on iommuctl's argv", out)
    ok(True, "intel: guest booted on iommuctl's argv")
    ok(group_of(lines, "0000:01:00.0") not in (None, "-"), "intel: e1000e behind a root port has an IOMMU group", "\n".join(lines))
    ok(group_of(lines, "0000:02:00.0") not in (None, "-") and pci_line(lines, "0000:02:00.0")["driver"] == "virtio-pci",
       "intel: virtio-net with iommu_platform has a group and its driver", "\n".join(lines))
    ok(any("DMAR: Host address width 48" in l for l in lines), "intel: DMAR address width 48 = aw_bits", "\n".join(lines))
    bd = bound(lines, "0000:01:00.0")
    ok(bd.get("driver") == "vfio-pci" and bd.get("vfio-node") == "yes", "intel: 01:00.0 binds to vfio-pci, /dev/vfio/N appears", str(bd))

def run_virtio():
    # virtio-iommu needs CONFIG_VIRTIO_IOMMU: Debian 12's own 6.1 kernel lacks
    # it, so take the installed kernel when it has the module and otherwise the
    # newest kernel image Debian offers (6.12 from bookworm-security today)
    kernel = [] if has_module("virtio_iommu") else ["-k", "apt:newest"]
    b, err = prepare("virtio", "virtio", ["0000:01:00.0"], kernel=kernel + ["--need-module", "virtio_iommu"])
    if not b:
        return ok(False, "virtio: guest-run -n built a guest whose kernel has virtio_iommu", err)
    log = os.path.join(tmp, "virtio.log")
    xml = domain("virtio", b, "    <iommu model='virtio'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n    </iommu>\n"
                 + rp(1, 2) + nic(1), log, features="<acpi/>")
    lines, out = boot(xml, log)
    if lines is None:
        return ok(False, "virtio: guest booted on iommuctl's argv", out)
    ok(True, "virtio: guest booted on iommuctl's argv")
    ok("0000:00:01.0" in " ".join(l for l in lines if l.startswith("iommu-class:")), "virtio: the virtio-iommu is the guest's IOMMU",
       "\n".join(lines))
    ok(group_of(lines, "0000:01:00.0") not in (None, "-"), "virtio: e1000e has an IOMMU group", "\n".join(lines))
    bd = bound(lines, "0000:01:00.0")
    ok(bd.get("driver") == "vfio-pci" and bd.get("vfio-node") == "yes", "virtio: 01:00.0 binds to vfio-pci, /dev/vfio/N appears", str(bd))

def installed_libvirt(xml):
    """The libvirt whose rules lint applies by default: the installed one."""
    r = subprocess.run([IOMMUCTL, "domain", "lint", "--json", xml], capture_output=True, text=True)
    try:
        v = json.loads(r.stdout)["libvirt_version"]
        return tuple(int(x) for x in v.split(".")[:2])
    except (ValueError, KeyError, TypeError):
        return (0, 0)

def run_amd():
    b, err = prepare("amd", "amd", ["0000:01:00.0"])
    if not b:
        return ok(False, "amd: guest-run -n built the guest", err)
    log = os.path.join(tmp, "amd.log")
    xml = domain("amd", b, rp(1, 2) + "    <iommu model='amd'>\n      <driver intremap='on'/>\n    </iommu>\n" + nic(1), log)
    have = installed_libvirt(xml)
    if have < (11, 5):
        # libvirt knows model='amd' from 11.5: an older one must make run
        # refuse naming the version, never start the guest without it
        r = subprocess.run([IOMMUCTL, "run", "--dry-run", xml], capture_output=True, text=True, timeout=120)
        ok(r.returncode == 1 and "needs libvirt >= 11.5" in r.stdout + r.stderr,
           "amd: libvirt %d.%d cannot express model='amd': run refuses naming 11.5 (exit 1)" % have, r.stdout + r.stderr)
        print("skip: amd: the AMD-Vi guest boot needs libvirt >= 11.5 (installed: %d.%d)" % have)
        return
    lines, out = boot(xml, log)
    if lines is None:
        return ok(False, "amd: guest booted on iommuctl's argv", out)
    ok(True, "amd: guest booted on iommuctl's argv")
    ok(any("AMD-Vi: Found IOMMU" in l for l in lines), "amd: AMD-Vi found the IOMMU (QEMU's own AMDVI-PCI)", "\n".join(lines))
    ok(group_of(lines, "0000:01:00.0") not in (None, "-"), "amd: e1000e has an IOMMU group", "\n".join(lines))
    bd = bound(lines, "0000:01:00.0")
    ok(bd.get("driver") == "vfio-pci" and bd.get("vfio-node") == "yes", "amd: 01:00.0 binds to vfio-pci, /dev/vfio/N appears", str(bd))

def run_mixed():
    # pxb 1 (bus 0x20, bypassing) -> root port 20:00.0 -> e1000e 21:00.0
    # pxb 3 (bus 0x40, translated) -> root port 40:00.0 -> e1000e 41:00.0
    # default bus (bypassing)      -> root port 00:02.0 -> e1000e 01:00.0
    b, err = prepare("mixed", "intel", ["0000:41:00.0", "0000:21:00.0", "0000:01:00.0"])
    if not b:
        return ok(False, "mixed: guest-run -n built the guest", err)
    log = os.path.join(tmp, "mixed.log")
    devs = (pxb(1, 0x10, 32) + rp(2, 0, bus=1) + pxb(3, 0x11, 64) + rp(4, 0, bus=3) + rp(5, 2) +
            "    <iommu model='intel'>\n      <driver intremap='on' caching_mode='on'/>\n    </iommu>\n" +
            nic(2) + nic(4) + nic(5))
    xml = domain("mixed", b, devs, log)
    r = subprocess.run([IOMMUCTL, "domain", "bypass", xml, "--bus", "1=on", "--bus", "3=off", "--default-bus", "on"],
                       capture_output=True, text=True)
    ok(r.returncode == 0, "mixed: iommuctl domain bypass wrote the topology", r.stderr)
    lines, out = boot(xml, log)
    if lines is None:
        return ok(False, "mixed: guest booted on iommuctl's argv", out)
    ok(True, "mixed: guest booted on iommuctl's argv")
    text = "\n".join(lines)
    ok(group_of(lines, "0000:41:00.0") not in (None, "-") and group_of(lines, "0000:40:00.0") not in (None, "-"),
       "mixed: translated pxb (bus 0x40): root port and e1000e have groups", text)
    ok(group_of(lines, "0000:21:00.0") == "-" and group_of(lines, "0000:20:00.0") == "-",
       "mixed: bypassing pxb (bus 0x20): no IOMMU groups", text)
    ok(group_of(lines, "0000:01:00.0") == "-" and group_of(lines, "0000:00:02.0") == "-",
       "mixed: bypassing default bus: no IOMMU groups", text)
    bt, bb = bound(lines, "0000:41:00.0"), bound(lines, "0000:21:00.0")
    ok(bt.get("driver") == "vfio-pci" and bt.get("vfio-node") == "yes", "mixed: translated 41:00.0 binds to vfio-pci", str(bt))
    ok(bb.get("driver") != "vfio-pci" and bb.get("vfio-node") == "no", "mixed: bypassed 21:00.0 cannot bind to vfio-pci", str(bb))
    ok(any("0000:21:00.0" in l and "Failed to initialize MSI-X" in l for l in lines) and
       not any("0000:41:00.0" in l and "Failed to initialize MSI" in l for l in lines),
       "mixed: the bypassed NIC loses MSI-X under interrupt remapping, the translated one keeps it", text)

def run_amd_bypass():
    """Why iommuctl refuses bypass with amd: QEMU takes it, the guest dies."""
    devs = (pxb(1, 0x10, 32) + rp(2, 0, bus=1) + "    <iommu model='amd'>\n      <driver intremap='on'/>\n    </iommu>\n" + nic(2))
    xml = domain("amd-bypass", ("/boot/vmlinuz", "/boot/initrd", "console=ttyS0"), devs, os.path.join(tmp, "unused.log"))
    r = subprocess.run([IOMMUCTL, "domain", "bypass", xml, "--bus", "1=on"], capture_output=True, text=True)
    ok(r.returncode == 1 and "amd" in r.stderr, "amd-bypass: iommuctl domain bypass refuses it", r.stderr)
    script = os.path.join(tmp, "true.sh")
    open(script, "w").write("echo script-ran\n")
    g = subprocess.run([GUEST_RUN, "-q", "-t", "180", "-s", script, "-i", "amd", "--",
                        "-device", "pxb-pcie,bus_nr=0x20,id=pxb1,bus=pcie.0,addr=0x10,bypass_iommu=true",
                        "-device", "pcie-root-port,id=rp20,bus=pxb1,chassis=20",
                        "-device", "e1000e,bus=rp20",
                        # the translated side of guest-harness.md's topology: with it the crash is certain
                        "-device", "e1000e,bus=pcie.0,addr=0x2",
                        "-device", "pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x4",
                        "-device", "e1000e,bus=rp1"], capture_output=True, text=True, timeout=300)
    out = g.stdout + g.stderr
    ok(g.returncode == 125 and "script-ran" not in g.stdout and "Kernel panic" in out
       and ("check_device" in out or "amd_iommu" in out),
       "amd-bypass: QEMU accepts it and the guest kernel crashes at boot", out[-3000:])

def main():
    if shutil.which("qemu-system-x86_64") is None:
        print("FAIL: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
        return 77 if ALLOW_SKIP else 1
    for name, fn in (("intel", run_intel), ("mixed", run_mixed), ("amd", run_amd), ("virtio", run_virtio),
                     ("amd-bypass", run_amd_bypass)):
        if scenario(name):
            t0 = time.time()
            fn()
            print(f"# {name}: {time.time() - t0:.1f} s")
    print(f"qemu-guest: {passed} checks passed, {failed} failed")
    if not failed:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
