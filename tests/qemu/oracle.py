#!/usr/bin/env python3
"""Oracle suite of the QEMU layer (TAP).

For every tests/qemu/domains/ok-*.xml:
  * the IOMMU-relevant parts of `iommuctl domain qemu-args` equal real
    libvirt 9.0's (tests/lib/libvirt-oracle argv, domxml-to-native; `--start` where the file
    says `oracle: start`), compared as parsed JSON: merged -machine
    properties (type, kernel_irqchip, iommu, default-bus-bypass-iommu), the
    vIOMMU device(s), iommu_platform/ats of every virtio device by id, every
    vfio-pci and pxb-pcie device, -overcommit mem-lock;
  * the vIOMMU comes before every PCI device;
  * `qemu-args --verify` starts Debian's QEMU paused and reads back every
    property the command line set (all must match).
own-*.xml: --verify only (libvirt 9.0 cannot express them); own-iommufd:
  refused on 7.2, generated with --qemu-version 9.0.
bad-*.xml: iommuctl refuses with the `expect:` text, and the `qemu:` command
  line makes QEMU itself refuse with the `qemu-error:` text (or, for
  ACCEPTED, keep running: the refusal is iommuctl's own, see the comment).
"""
import glob, json, os, re, shlex, subprocess, sys, time

SRC = os.environ.get("IOMMUCTL_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
IOMMUCTL = os.environ.get("IOMMUCTL", "iommuctl")
LIBVIRT_ARGV = [os.path.join(SRC, "tests", "lib", "libvirt-oracle"), "argv"]
ALLOW_SKIP = os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1"
DOMAINS = os.path.join(SRC, "tests", "qemu", "domains")
DISKS = "/tmp/iommuctl-oracle-disks"
VIOMMU_DRIVERS = {"intel-iommu", "virtio-iommu", "virtio-iommu-pci", "amd-iommu", "AMDVI-PCI"}
PCI_DRIVERS_PREFIX = ("virtio-", "vfio-pci", "pcie-root-port", "pxb-pcie", "e1000", "AMDVI-PCI")

n = 0
failures = 0

def tap(ok, name, diag=""):
    global n, failures
    n += 1
    if not ok:
        failures += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {name}")
    for line in diag.splitlines():
        print(f"# {line}")
    sys.stdout.flush()

def comments(path):
    text = open(path).read()
    out = {}
    for m in re.finditer(r"<!-- (\w[\w-]*): (.*?) -->", text):
        out[m.group(1)] = m.group(2)
    return out

def parse_lines(text):
    """The oracle's output: emulator, then 'OPT VALUE' per line."""
    lines = [l for l in text.splitlines() if l.strip()]
    opts = []
    for l in lines[1:]:
        name, _, value = l.partition(" ")
        if value.startswith("{"):
            opts.append((name, json.loads(value)))
        else:
            opts.append((name, value if value else None))
    return opts

def iommuctl_opts(path, *extra):
    r = subprocess.run([IOMMUCTL, "domain", "qemu-args", path, "--json", *extra], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr
    doc = json.loads(r.stdout)
    return [(o["name"], o["value"]) for o in doc["options"]], doc

def keyval(text):
    out = {}
    for i, part in enumerate(re.split(r"(?<!,),(?!,)", text)):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.replace("_", "-")] = v
        elif i == 0:
            out["type"] = part
    return out

def norm(v):
    if isinstance(v, str) and v in ("on", "yes", "true"):
        return True
    if isinstance(v, str) and v in ("off", "no", "false"):
        return False
    return v

def iommu_parts(opts):
    machine = {}
    for name, v in opts:
        if name in ("-machine", "-M") and isinstance(v, str):
            machine.update(keyval(v))
    parts = {"machine": {k: norm(machine.get(k)) for k in ("type", "kernel-irqchip", "iommu", "default-bus-bypass-iommu")}}
    devs = [v for name, v in opts if name == "-device" and isinstance(v, dict)]
    parts["viommu"] = [d for d in devs if d.get("driver") in VIOMMU_DRIVERS]
    parts["virtio"] = {d.get("id"): {"iommu_platform": d.get("iommu_platform"), "ats": d.get("ats")}
                       for d in devs if d.get("driver", "").startswith("virtio-") and d.get("driver") not in VIOMMU_DRIVERS}
    parts["vfio"] = [d for d in devs if d.get("driver") == "vfio-pci"]
    parts["pxb"] = [d for d in devs if d.get("driver") == "pxb-pcie"]
    parts["mem-lock"] = [v for name, v in opts if name == "-overcommit"]
    return parts

def viommu_first(opts):
    first_pci = None
    viommu = None
    for i, (name, v) in enumerate(opts):
        if name != "-device" or not isinstance(v, dict):
            continue
        drv = v.get("driver", "")
        if drv in VIOMMU_DRIVERS and drv != "AMDVI-PCI" and viommu is None:
            viommu = i
        elif drv.startswith(PCI_DRIVERS_PREFIX) and first_pci is None:
            first_pci = i
    return viommu is None or first_pci is None or viommu < first_pci

def link_installed_kernel():
    """ok-direct-kernel-boot boots whatever kernel is installed: the newest
    /boot/vmlinuz-* and its initrd, linked under a fixed name."""
    key = lambda r: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", r)]
    rels = sorted((p.split("vmlinuz-", 1)[1] for p in glob.glob("/boot/vmlinuz-*")), key=key)
    for name, path in (("vmlinuz", "/boot/vmlinuz-%s"), ("initrd.img", "/boot/initrd.img-%s")):
        dst = os.path.join(DISKS, name)
        if os.path.lexists(dst):
            os.unlink(dst)
        if rels and os.path.exists(path % rels[-1]):
            os.symlink(path % rels[-1], dst)

def no_kvm(what):
    """A check that needs KVM, on a machine without it.  A machine with no
    /dev/kvm at all cannot run it (hardware, not a package): a TAP skip that
    says so.  A /dev/kvm that exists but does not work is a failure."""
    if not os.path.exists("/dev/kvm") or ALLOW_SKIP:
        return True, what + " # SKIP this machine has no KVM (/dev/kvm absent)"
    return False, what + " (/dev/kvm exists but QEMU cannot use it)"

def kvm_usable():
    try:
        p = subprocess.Popen(["qemu-system-x86_64", "-accel", "kvm", "-machine", "none", "-S", "-display", "none",
                              "-nodefaults", "-monitor", "none"], stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        alive = p.poll() is None
        p.kill(); p.wait()
        return alive
    except OSError:
        return False

def verify(path, *extra):
    r = subprocess.run([IOMMUCTL, "domain", "qemu-args", path, "--verify", "--json", *extra], capture_output=True, text=True)
    if r.returncode not in (0, 1) or not r.stdout.startswith("{"):
        return False, f"--verify failed (rc {r.returncode}): {r.stderr.strip()}"
    checks = json.loads(r.stdout)["verify"]
    bad = [c for c in checks if not c["ok"]]
    done = [c for c in checks if not c["skipped"]]
    diag = "\n".join(f"{c['what']}: expected {c['expected']}, got {c['actual']}" for c in bad)
    skipped = [c["what"] for c in checks if c["skipped"]]
    if skipped:
        diag += ("\n" if diag else "") + "not started here (no host IOMMU group): " + ", ".join(skipped)
    return (not bad and len(done) > 0), f"{len(done)} properties read back" + ("\n" + diag if diag else "")

def run_ok(path, kvm):
    name = os.path.basename(path)
    c = comments(path)
    mine, doc = iommuctl_opts(path)
    if mine is None:
        tap(False, f"{name}: iommuctl generates", doc)
        return
    v = subprocess.run(["virt-xml-validate", path, "domain"], capture_output=True, text=True)
    tap(v.returncode == 0, f"{name}: libvirt's schema accepts it (virt-xml-validate)", (v.stdout + v.stderr).strip())
    mode = "start" if c.get("oracle", "").startswith("start") else "d2n"
    cmd = LIBVIRT_ARGV + (["--start"] if mode == "start" else []) + [path]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        tap(False, f"{name}: libvirt 9.0 ({mode}) produces an argv", r.stderr)
    else:
        theirs = parse_lines(r.stdout)
        a, b = iommu_parts(mine), iommu_parts(theirs)
        diffs = [f"{k}:\n  iommuctl {json.dumps(a[k], sort_keys=True)}\n  libvirt  {json.dumps(b[k], sort_keys=True)}"
                 for k in a if a[k] != b[k]]
        summary = (f"machine {json.dumps(a['machine'])}; viommu {json.dumps(a['viommu'])}; virtio {len(a['virtio'])}; "
                   f"vfio {len(a['vfio'])}; pxb {len(a['pxb'])}; {a['mem-lock']}")
        tap(not diffs, f"{name}: IOMMU parts equal libvirt 9.0 ({mode})", "\n".join(diffs) if diffs else summary)
    tap(viommu_first(mine), f"{name}: vIOMMU before every PCI device")
    is_kvm = "type='kvm'" in open(path).read()
    if is_kvm and not kvm:
        tap(*no_kvm(f"{name}: started in QEMU (needs KVM)"))
        return
    ok, diag = verify(path)
    tap(ok, f"{name}: QEMU paused, every property read back", diag)

def run_own(path):
    name = os.path.basename(path)
    if name == "own-iommufd.xml":
        r = subprocess.run([IOMMUCTL, "domain", "qemu-args", path], capture_output=True, text=True)
        tap(r.returncode != 0 and "needs iommufd (QEMU >= 9.0); this is QEMU 7.2" in r.stderr,
            f"{name}: refused on QEMU 7.2 with the version needed", r.stderr.strip())
        mine, doc = iommuctl_opts(path, "--qemu-version", "9.0")
        ok = mine is not None
        if ok:
            objs = [v for k, v in mine if k == "-object" and isinstance(v, dict)]
            vfio = [v for k, v in mine if k == "-device" and isinstance(v, dict) and v.get("driver") == "vfio-pci"]
            ok = {"qom-type": "iommufd", "id": "iommufd0"} in objs and vfio and vfio[0].get("iommufd") == "iommufd0" \
                 and doc["qemu_version"] == "9.0.0" and "pc-q35-9.0" in json.dumps(mine)
        tap(bool(ok), f"{name}: --qemu-version 9.0 gives -object iommufd and vfio-pci iommufd=",
            json.dumps(mine) if mine else str(doc))
        return
    ok, diag = verify(path)
    tap(ok, f"{name}: QEMU paused, every property read back", diag)

def version_matrix():
    """Capability decisions for QEMUs that are not installed (--qemu-version
    over the probed 7.2): refusals name the version needed, newer forms appear."""
    d = lambda f: os.path.join(DOMAINS, f)
    r = subprocess.run([IOMMUCTL, "domain", "qemu-args", d("ok-virtio-iommu.xml"), "--qemu-version", "6.1"],
                       capture_output=True, text=True)
    tap(r.returncode == 3 and "virtio-iommu on x86 (ACPI VIOT) needs virtio-iommu-pci (QEMU >= 6.2); this is QEMU 6.1.0" in r.stderr,
        "versions: virtio-iommu on x86 refused for QEMU 6.1 (needs 6.2)", r.stderr.strip())
    r = subprocess.run([IOMMUCTL, "domain", "qemu-args", d("ok-bypass-pxb.xml"), "--qemu-version", "6.0"],
                       capture_output=True, text=True)
    tap(r.returncode == 3 and "(QEMU >= 6.1)" in r.stderr, "versions: pxb bypass_iommu refused for QEMU 6.0 (needs 6.1)", r.stderr.strip())
    mine, doc = iommuctl_opts(d("own-amd.xml"), "--qemu-version", "10.0")
    devs = [v for k, v in (mine or []) if k == "-device" and isinstance(v, dict)]
    pci = [x for x in devs if x.get("driver") == "AMDVI-PCI"]
    amd = [x for x in devs if x.get("driver") == "amd-iommu"]
    tap(bool(pci) and bool(amd) and amd[0].get("pci-id") == pci[0].get("id") == "iommu0" and devs.index(pci[0]) == 0,
        "versions: QEMU 10.0 gets libvirt 11.5's AMDVI-PCI + amd-iommu pci-id pair, first", json.dumps(devs[:2]))
    amd_vfio = os.path.join(tempfile_dir(), "amd-vfio.xml")
    open(amd_vfio, "w").write(open(d("own-amd.xml")).read().replace("<memballoon model='none'/>",
        "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/><source>"
        "<address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/></source></hostdev>\n    <memballoon model='none'/>"))
    r = subprocess.run([IOMMUCTL, "domain", "qemu-args", amd_vfio], capture_output=True, text=True)
    tap(r.returncode == 3 and "needs amd-iommu property 'dma-remap' (QEMU >= 10.1)" in r.stderr,
        "versions: VFIO behind amd refused on 7.2 (dma-remap needs 10.1)", r.stderr.strip())
    mine, doc = iommuctl_opts(amd_vfio, "--qemu-version", "10.1")
    amd = [v for k, v in (mine or []) if k == "-device" and isinstance(v, dict) and v.get("driver") == "amd-iommu"]
    tap(bool(amd) and amd[0].get("dma-remap") is True, "versions: QEMU 10.1 gets amd-iommu dma-remap for VFIO", json.dumps(amd))

_tmpdir = None
def tempfile_dir():
    global _tmpdir
    if _tmpdir is None:
        import tempfile
        _tmpdir = tempfile.mkdtemp(prefix="ic-qemu-oracle-")
    return _tmpdir

def qemu_refuses(args, expected, kvm):
    argv = ["qemu-system-x86_64", "-S", "-display", "none", "-nodefaults", "-monitor", "none"]
    words = shlex.split(args)
    if "-accel" not in words:
        argv += ["-accel", "tcg"]
    elif not kvm:
        return no_kvm("")
    p = subprocess.Popen(argv + words, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        _, err = p.communicate(timeout=4)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return expected == "ACCEPTED", "QEMU accepted it (still running after 4 s)"
    return expected != "ACCEPTED" and p.returncode != 0 and expected in err, err.strip()

def run_bad(path, kvm):
    name = os.path.basename(path)
    c = comments(path)
    r = subprocess.run([IOMMUCTL, "domain", "qemu-args", path], capture_output=True, text=True)
    tap(r.returncode != 0 and c["expect"] in r.stderr, f"{name}: iommuctl refuses ({c['expect']})", r.stderr.strip())
    if c.get("qemu"):
        ok, diag = qemu_refuses(c["qemu"], c["qemu-error"], kvm)
        if diag.startswith(" # SKIP"):
            tap(ok, f"{name}: QEMU itself: {c['qemu-error']}{diag}")
        else:
            tap(ok, f"{name}: QEMU itself: {c['qemu-error']}", diag)

def main():
    os.makedirs(DISKS, exist_ok=True)
    for disk in ("vda.img", "sda.img"):
        with open(os.path.join(DISKS, disk), "ab") as f:
            f.truncate(1 << 20)
    link_installed_kernel()
    r = subprocess.run([LIBVIRT_ARGV[0], "start"], capture_output=True, text=True)
    if r.returncode != 0:
        print("1..1\nnot ok 1 - the libvirt oracle did not start: " + r.stderr.strip().replace("\n", " "))
        return 0 if ALLOW_SKIP else 1
    kvm = kvm_usable()
    files = sorted(glob.glob(os.path.join(DOMAINS, "*.xml")))
    only = sys.argv[1:]
    if only:
        files = [f for f in files if any(o in os.path.basename(f) for o in only)]
    oks = [f for f in files if os.path.basename(f).startswith("ok-")]
    for f in files:
        b = os.path.basename(f)
        if b.startswith("ok-"):
            run_ok(f, kvm)
        elif b.startswith("own-"):
            run_own(f)
        elif b.startswith("bad-"):
            run_bad(f, kvm)
    if not only:
        version_matrix()
        tap(len(oks) >= 25, f"at least 25 domain XMLs compared with libvirt ({len(oks)})")
    print(f"1..{n}")
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
