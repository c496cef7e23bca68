#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Real guests on iommuctl's own command line (suite 'guest').

guest-run -n builds the kernel + initramfs (busybox /init that runs a script
between @@GUEST-RUN-BEGIN@@ and @@GUEST-RUN-END rc=N@@); a domain XML boots
them with <os><kernel>/<initrd>/<cmdline>, `iommuctl run` launches QEMU on
the argv iommuctl generates, and the serial log is read.  One boot per
scenario, several checks each:
  intel  (aw_bits 48): devices have groups, "DMAR: Host address width 48",
         a device binds to vfio-pci and /dev/vfio/N appears;
  virtio (Debian 6.12 kernel, downloaded if absent): groups, vfio-pci bind;
  amd:   AMD-Vi up, groups, vfio-pci bind;
  mixed: one pxb-pcie bypassing + the default bus bypassing (written by
         `iommuctl domain bypass`), one pxb translated: translated devices
         have groups and bind to vfio-pci, bypassed ones have none, cannot
         bind, and lose MSI-X while interrupt remapping is on.
"""
import glob, os, re, shlex, shutil, signal, subprocess, sys, tempfile, time

IOMMUCTL = os.environ.get("IOMMUCTL", "iommuctl")
SHARED = os.environ.get("IOMMUCTL_SHARED_DIR", "/work/shared")
GUEST_RUN = os.path.join(SHARED, "tools", "guest-run")
ALLOW_SKIP = os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1"
CACHE = os.environ.get("IOMMUCTL_GUEST_CACHE", os.path.expanduser("~/.cache/iommuctl/guest"))
KERNEL_612 = "linux-image-6.12.*+deb12-amd64-unsigned"
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

GUEST_SCRIPT = r""". /etc/guest-run/lib.sh
gr_pci
echo "iommu-class: $(ls /sys/class/iommu 2>/dev/null | tr '\n' ' ')"
dmesg | grep -E 'DMAR: Host address width|AMD-Vi: (Found|Interrupt)|virtio_iommu|Failed to initialize MSI' | sed 's/^\[[^]]*\] //' | sed 's/^/dmesg: /'
for bdf in $BIND; do
  gr_bind "$bdf" vfio-pci 2>/dev/null
  g=$(gr_group "$bdf")
  v=no; [ "$g" != "-" ] && [ -e "/dev/vfio/$g" ] && v=yes
  echo "bind $bdf driver=$(gr_driver "$bdf") group=$g vfio-node=$v"
done
"""

def kernel_612():
    debs = sorted(glob.glob(os.path.join(CACHE, "linux-image-6.12.*+deb12-amd64-unsigned_*.deb")))
    if debs:
        return debs[-1]
    os.makedirs(CACHE, exist_ok=True)
    # the newest 6.12 image of bookworm-security; download only (installing it
    # would make it guest-run's default kernel for everybody)
    names = subprocess.run(["apt-cache", "search", "--names-only", r"^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$"],
                           capture_output=True, text=True).stdout.split()
    pkgs = sorted({n for n in names if n.startswith("linux-image-6.12.")},
                  key=lambda n: int(re.search(r"6\.12\.(\d+)", n).group(1)))
    if not pkgs:
        return None
    r = subprocess.run(["apt-get", "download", pkgs[-1]], cwd=CACHE, capture_output=True, text=True)
    debs = sorted(glob.glob(os.path.join(CACHE, "linux-image-6.12.*+deb12-amd64-unsigned_*.deb")))
    return debs[-1] if debs else None

def prepare(name, iommu, bind, kernel=None):
    """guest-run -n: kernel, a private copy of the initramfs, the cmdline."""
    script = os.path.join(tmp, name + ".sh")
    open(script, "w").write(GUEST_SCRIPT)
    cmd = [GUEST_RUN, "-n", "-q", "-s", script, "-i", iommu, "-e", "BIND=" + " ".join(bind)]
    if kernel:
        cmd += ["-k", kernel]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    words = shlex.split(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else []
    if "-kernel" not in words:
        return None, r.stderr
    get = lambda opt: words[words.index(opt) + 1]
    initrd = os.path.join(tmp, name + ".cpio")
    shutil.copy(get("-initrd"), initrd)  # guest-run reuses its "last" file
    return (get("-kernel"), initrd, get("-append")), ""

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
    m = re.search(r"@@GUEST-RUN-BEGIN@@[^\n]*\n(.*?)@@GUEST-RUN-END rc=(\d+)@@", text, re.S)
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
    deb = kernel_612()
    if deb is None:
        return ok(ALLOW_SKIP, "virtio: Debian 6.12 kernel available (apt-get download " + KERNEL_612 + ")")
    b, err = prepare("virtio", "virtio", ["0000:01:00.0"], kernel=deb)
    if not b:
        return ok(False, "virtio: guest-run -n built the 6.12 guest", err)
    log = os.path.join(tmp, "virtio.log")
    xml = domain("virtio", b, "    <iommu model='virtio'>\n      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>\n    </iommu>\n"
                 + rp(1, 2) + nic(1), log, features="<acpi/>")
    lines, out = boot(xml, log)
    if lines is None:
        return ok(False, "virtio: 6.12 guest booted on iommuctl's argv", out)
    ok(True, "virtio: 6.12 guest booted on iommuctl's argv")
    ok("0000:00:01.0" in " ".join(l for l in lines if l.startswith("iommu-class:")), "virtio: the virtio-iommu is the guest's IOMMU",
       "\n".join(lines))
    ok(group_of(lines, "0000:01:00.0") not in (None, "-"), "virtio: e1000e has an IOMMU group", "\n".join(lines))
    bd = bound(lines, "0000:01:00.0")
    ok(bd.get("driver") == "vfio-pci" and bd.get("vfio-node") == "yes", "virtio: 01:00.0 binds to vfio-pci, /dev/vfio/N appears", str(bd))

def run_amd():
    b, err = prepare("amd", "amd", ["0000:01:00.0"])
    if not b:
        return ok(False, "amd: guest-run -n built the guest", err)
    log = os.path.join(tmp, "amd.log")
    xml = domain("amd", b, rp(1, 2) + "    <iommu model='amd'>\n      <driver intremap='on'/>\n    </iommu>\n" + nic(1), log)
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
    if not os.access(GUEST_RUN, os.X_OK):
        print("FAIL: guest-run not found at " + GUEST_RUN)
        return 0 if ALLOW_SKIP else 1
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
