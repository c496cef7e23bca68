#!/usr/bin/env python3
"""Oracle suite of the QEMU layer (TAP): qemu-args IS libvirt's command line.

For every tests/qemu/domains/ok-*.xml:
  * `iommuctl domain qemu-args` (libvirt's embedded QEMU driver inside
    iommuctl) equals real libvirt 9.0's argv (tests/lib/libvirt-oracle argv,
    the privileged daemon's domxml-to-native) line for line, once the embed
    root's private paths are written as the daemon's (ROOT/lib/qemu ->
    /var/lib/libvirt/qemu, ...) and passed descriptors are masked; both
    refusing alike (e.g. no hugetlbfs mounted) also agrees;
  * `qemu-args --verify` starts it paused on the engine and reads back every
    IOMMU property (all must match).
bad-*.xml: iommuctl refuses with the `expect:` text, and the `qemu:` command
  line makes QEMU itself refuse with the `qemu-error:` text (or, for
  ACCEPTED, keep running: the refusal is iommuctl's own, see the comment).
Versions: --qemu-version and --libvirt-version refuse with the version needed.

No /dev/kvm here: type='kvm' files are converted to type='qemu' for both
tools, as tests/lib/libvirt-oracle does (libvirt makes no argv for kvm then).
"""
import glob, json, os, re, shlex, subprocess, sys, tempfile, time

SRC = os.environ.get("IOMMUCTL_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("IOMMUCTL_BUILDDIR", os.path.join(SRC, "build"))
IOMMUCTL = os.environ.get("IOMMUCTL", "iommuctl")
LIBVIRT_ARGV = [os.path.join(SRC, "tests", "lib", "libvirt-oracle"), "argv"]
ALLOW_SKIP = os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1"
DOMAINS = os.path.join(SRC, "tests", "qemu", "domains")
DISKS = "/tmp/iommuctl-oracle-disks"
# the engine's state directory: tests/lib/engine_state.py says where and why
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from engine_state import engine_state_dir  # noqa: E402
ENGINE_STATE = engine_state_dir(BUILD)
os.makedirs(ENGINE_STATE, mode=0o700, exist_ok=True)
os.environ["IOMMUCTL_STATE_DIR"] = ENGINE_STATE
EMBED = os.path.join(ENGINE_STATE, "qemu-embed")
SYSTEM_PATHS = [(EMBED + "/lib/qemu", "/var/lib/libvirt/qemu"), (EMBED + "/run/qemu", "/run/libvirt/qemu"),
                (EMBED + "/cache/qemu", "/var/cache/libvirt/qemu"), (EMBED + "/log/qemu", "/var/log/libvirt/qemu")]
TMP = tempfile.mkdtemp(prefix="ic-qemu-oracle-")

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
    out = {}
    for m in re.finditer(r"<!-- (\w[\w-]*): (.*?) -->", open(path).read()):
        out[m.group(1)] = m.group(2)
    return out


def tcg(path):
    """A type='qemu' copy of a type='kvm' file where there is no KVM."""
    text = open(path).read()
    if os.path.exists("/dev/kvm") or not re.search(r"<domain[^>]*type='kvm'", text):
        return path
    out = os.path.join(TMP, os.path.basename(path))
    with open(out, "w") as f:
        f.write(re.sub(r"(<domain[^>]*type=)'kvm'", r"\1'qemu'", text, count=1))
    return out


def mask(line):
    """The oracle's masking (tests/lib/libvirt-oracle mask()), applied to ours."""
    for ours, system in SYSTEM_PATHS:
        line = line.replace(ours, system)
    line = re.sub(r"domain-(-1|\d+)-", "domain-<ID>-", line)
    line = re.sub(r"\bfd=\d+", "fd=<FD>", line)
    return re.sub(r'"fd":"?\d+"?', '"fd":"<FD>"', line)


def qemu_args(path, *extra):
    return subprocess.run([IOMMUCTL, "domain", "qemu-args", "--no-groups", path, *extra], capture_output=True, text=True)


def run_ok(path):
    name = os.path.basename(path)
    use = tcg(path)
    mine = qemu_args(use)
    theirs = subprocess.run(LIBVIRT_ARGV + [use], capture_output=True, text=True)
    if use != path and mine.returncode == 2 and "accel=kvm" in mine.stderr:
        tap(True, f"{name}: # SKIP this machine has no KVM (/dev/kvm absent): the file needs accel=kvm",
            mine.stderr.strip())
        return
    if mine.returncode != 0 or theirs.returncode != 0:
        both = mine.returncode != 0 and theirs.returncode != 0
        err_mine = mine.stderr.strip().split("libvirt: ", 1)[-1]
        tap(both and err_mine.split(": ", 1)[-1] in theirs.stderr,
            f"{name}: refused alike by iommuctl and libvirt 9.0" if both else f"{name}: both make an argv",
            f"iommuctl (rc {mine.returncode}): {mine.stderr.strip()}\nlibvirt (rc {theirs.returncode}): {theirs.stderr.strip()}")
        return
    a = [mask(l) for l in mine.stdout.splitlines()]
    b = theirs.stdout.splitlines()
    diffs = [f"iommuctl: {x}\nlibvirt:  {y}" for x, y in zip(a, b) if x != y]
    if len(a) != len(b):
        diffs.append(f"{len(a)} lines vs {len(b)}: " + "; ".join(sorted(set(a) ^ set(b))))
    tap(not diffs, f"{name}: qemu-args is libvirt 9.0's own argv ({len(a)} lines)", "\n".join(diffs[:6]))
    ok, diag = verify(use)
    if not ok and "cannot limit locked memory" in diag and not has_cap_sys_resource():
        tap(True, f"{name}: started paused on the engine # SKIP no CAP_SYS_RESOURCE here: libvirt cannot "
            "raise QEMU's locked-memory limit", diag)
        return
    tap(ok, f"{name}: started paused on the engine, every IOMMU property read back", diag)


def has_cap_sys_resource():
    """libvirt raises RLIMIT_MEMLOCK for <locked/> and VFIO: that needs
    CAP_SYS_RESOURCE (bit 24), which some containers drop."""
    for line in open("/proc/self/status"):
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << 24))
    return False


def verify(path, *extra):
    r = qemu_args(path, "--verify", "--json", *extra)
    if r.returncode not in (0, 1) or not r.stdout.startswith("{"):
        return False, f"--verify failed (rc {r.returncode}): {r.stderr.strip()}"
    checks = json.loads(r.stdout)["verify"]
    bad = [c for c in checks if not c["ok"]]
    done = [c for c in checks if not c["skipped"]]
    diag = "\n".join(f"{c['what']}: expected {c['expected']}, got {c['actual']}" for c in bad)
    skipped = [c["what"] for c in checks if c["skipped"]]
    if skipped:
        diag += ("\n" if diag else "") + "not started: " + ", ".join(skipped)
    return (not bad and r.returncode == 0), f"{len(done)} properties read back" + ("\n" + diag if diag else "")


def qemu_refuses(args, expected):
    argv = ["qemu-system-x86_64", "-S", "-display", "none", "-nodefaults", "-monitor", "none"]
    words = shlex.split(args)
    if "-accel" not in words:
        argv += ["-accel", "tcg"]
    elif not os.path.exists("/dev/kvm"):
        return True, " # SKIP this machine has no KVM (/dev/kvm absent)"
    p = subprocess.Popen(argv + words, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        _, err = p.communicate(timeout=4)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return expected == "ACCEPTED", "QEMU accepted it (still running after 4 s)"
    return expected != "ACCEPTED" and p.returncode != 0 and expected in err, err.strip()


def run_bad(path):
    name = os.path.basename(path)
    c = comments(path)
    r = qemu_args(tcg(path))
    tap(r.returncode != 0 and c["expect"] in r.stderr and r.stdout == "", f"{name}: iommuctl refuses ({c['expect']})",
        r.stderr.strip())
    if c.get("qemu"):
        ok, diag = qemu_refuses(c["qemu"], c["qemu-error"])
        if diag.startswith(" # SKIP"):
            tap(ok, f"{name}: QEMU itself: {c['qemu-error']}{diag}")
        else:
            tap(ok, f"{name}: QEMU itself: {c['qemu-error']}", diag)


def versions():
    d = lambda f: os.path.join(DOMAINS, f)
    r = qemu_args(d("ok-virtio-iommu.xml"), "--qemu-version", "6.1")
    tap(r.returncode == 3 and "virtio-iommu-pci needs QEMU >= 6.2; --qemu-version is 6.1" in r.stderr,
        "versions: virtio-iommu refused for QEMU 6.1 (needs 6.2)", r.stderr.strip())
    r = qemu_args(d("ok-bypass-pxb.xml"), "--qemu-version", "6.0")
    tap(r.returncode == 3 and "'bypass_iommu' needs QEMU >= 6.1" in r.stderr,
        "versions: pxb bypass_iommu refused for QEMU 6.0 (needs 6.1)", r.stderr.strip())
    r = qemu_args(d("bad-amd-libvirt-9.0.xml"), "--libvirt-version", "11.5")
    tap(r.returncode == 3 and "the installed libvirt 9.0 cannot launch this (--libvirt-version 11.5 accepts it)" in r.stderr,
        "versions: amd with --libvirt-version 11.5 is refused by the installed 9.0, naming both", r.stderr.strip())
    r = qemu_args(d("bad-smmuv3-pcibus.xml"), "--libvirt-version", "11.10")
    tap(r.returncode == 3 and "needs libvirt >= 11.10" in r.stderr,
        "versions: smmuv3 pciBus with --libvirt-version 11.10: never dropped by 9.0", r.stderr.strip())
    # the bypass libvirt cannot express: realised from iommuctl's metadata
    text = open(d("ok-bypass-pxb.xml")).read()
    bare = re.sub(r"\s*<qemu:override>.*?</qemu:override>", "", text, flags=re.S)
    path = os.path.join(TMP, "metadata-only.xml")
    open(path, "w").write(bare)
    r = qemu_args(path)
    tap(r.returncode == 0 and '"bypass_iommu":true' in r.stdout and "IC-Q007" in r.stderr,
        "additions: bypass recorded only in iommuctl's metadata is realised (qemu:override), IC-Q007", r.stderr.strip())


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
    files = sorted(glob.glob(os.path.join(DOMAINS, "*.xml")))
    only = sys.argv[1:]
    if only:
        files = [f for f in files if any(o in os.path.basename(f) for o in only)]
    oks = [f for f in files if os.path.basename(f).startswith("ok-")]
    for f in files:
        b = os.path.basename(f)
        if b.startswith("ok-"):
            run_ok(f)
        elif b.startswith("bad-"):
            run_bad(f)
    if not only:
        versions()
        tap(len(oks) >= 25, f"at least 25 domain XMLs compared with libvirt ({len(oks)})")
    print(f"1..{n}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
