#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`iommuctl run` boots a domain of the virt-install corpus (suite 'guest', TAP).

tests/domain/corpus/virt-install/q35-desk.xml (q35, intel vIOMMU, virtio
disk/net/input/video/rng, USB, audio, VNC, a guest-agent channel) is given
the kernel + initramfs that `tests/lib/guest-run -n` builds (<os><kernel>/
<initrd>/<cmdline>), a serial console into a file, and a small raw image for
its disk; everything else stays as virt-install wrote it.  `iommuctl run`
starts it on libvirt's embedded QEMU driver under TCG (type='qemu'); the
harness's /init runs the guest script and powers off.

Checked: the dry run prints libvirt's command line; QEMU runs as
libvirt-qemu (the engine's qemu.conf); the guest script's output reaches the
serial log, the intel vIOMMU is live in the guest; iommuctl exits 0 after
the guest powered off; QEMU is gone and libvirt gave the files back to
their owner.  Then a guest that ignores the ACPI power button (busybox has no
acpid) under --shutdown-timeout 600: the first SIGTERM asks it to shut down and
it keeps running, the second destroys it at once (exit 143), nothing is left."""
import glob, os, pwd, re, shlex, shutil, signal, subprocess, sys, tempfile, time

IOMMUCTL = os.environ.get("IOMMUCTL", "iommuctl")
SRCDIR = os.environ.get("IOMMUCTL_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GUEST_RUN = os.path.join(SRCDIR, "tests", "lib", "guest-run")
CORPUS = os.path.join(SRCDIR, "tests", "domain", "corpus", "virt-install", "q35-desk.xml")
ALLOW_SKIP = os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1"
QEMU_USER = "libvirt-qemu"

results = []


def ok(cond, what, detail=""):
    results.append(bool(cond))
    print("%s %d - %s" % ("ok" if cond else "not ok", len(results), what))
    if not cond and detail:
        print("# " + detail.replace("\n", "\n# "))
    sys.stdout.flush()
    return cond


def bail(why):
    if ALLOW_SKIP:
        print("1..0 # SKIP " + why)
        sys.exit(0)
    print("1..1\nnot ok 1 - " + why)
    sys.exit(1)


GUEST_SCRIPT = """echo "run-guest: hello from $(uname -r)"
echo "run-guest: iommu: $(ls /sys/class/iommu 2>/dev/null | tr '\\n' ' ')"
"""
# a guest that never powers off by itself (busybox has no acpid: the ACPI
# power button that virDomainShutdown presses is ignored)
STUBBORN_SCRIPT = """echo "run-guest: stubborn"
sleep 600
"""


def build_guest(tmp, script_text=GUEST_SCRIPT, name="guest"):
    """guest-run -n: kernel, initramfs, kernel command line (intel: intel_iommu=on)."""
    script = os.path.join(tmp, name + ".sh")
    open(script, "w").write(script_text)
    r = subprocess.run([GUEST_RUN, "-n", "-q", "-s", script, "-i", "intel", "--workdir", os.path.join(tmp, name)],
                       capture_output=True, text=True, timeout=600)
    words = shlex.split(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else []
    if "-kernel" not in words:
        return None, r.stdout + r.stderr
    get = lambda opt: words[words.index(opt) + 1]
    return (get("-kernel"), get("-initrd"), get("-append")), ""


def edit(text, old, new):
    if old not in text:
        raise SystemExit("Bail out! %s no longer has %r" % (CORPUS, old))
    return text.replace(old, new, 1)


def make_domain(tmp, boot, name="pub"):
    """The corpus domain with the guest's boot files, a serial log and a disk.
    QEMU runs as libvirt-qemu: its files sit in a directory it can reach
    (libvirt chowns the files themselves, not the directories above)."""
    pub = os.path.join(tmp, name)
    os.makedirs(pub)
    os.chmod(tmp, 0o711)
    os.chmod(pub, 0o755)
    kernel, initrd = os.path.join(pub, "vmlinux"), os.path.join(pub, "initrd")
    shutil.copyfile(boot[0], kernel)
    shutil.copyfile(boot[1], initrd)
    disk, log = os.path.join(pub, "disk.img"), os.path.join(pub, "serial.log")
    with open(disk, "wb") as f:
        f.truncate(1 << 20)
    open(log, "w").close()
    for p in (kernel, initrd, disk, log):
        os.chmod(p, 0o644)
    text = open(CORPUS).read()
    text = edit(text, '<boot dev="hd"/>', "<kernel>%s</kernel>\n    <initrd>%s</initrd>\n    <cmdline>%s</cmdline>"
                % (kernel, initrd, boot[2]))
    text = edit(text, "/var/lib/libvirt/images/q35-desk-d5.img", disk)
    text = edit(text, '<console type="pty"/>', '<serial type="file">\n      <source path="%s"/>\n    </serial>' % log)
    path = os.path.join(tmp, name + "-q35-desk.xml")
    open(path, "w").write(text)
    return path, log, [kernel, initrd, disk, log]


def qemu_pid(state, name):
    try:
        return int(open(os.path.join(state, "qemu-embed", "run", "qemu", name + ".pid")).read().strip())
    except (OSError, ValueError):
        return None


def run_stubborn(tmp, state):
    """SIGTERM, then a second SIGTERM: the guest ignores the shutdown request,
    the second signal destroys it at once (the timeout is far away)."""
    boot, err = build_guest(tmp, STUBBORN_SCRIPT, "stubborn")
    if boot is None:
        return ok(False, "signals: guest-run -n built the stubborn guest", err)
    xml, log, _ = make_domain(tmp, boot, "stub")
    proc = subprocess.Popen([IOMMUCTL, "run", "--shutdown-timeout", "600", "--state-dir", state, xml],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    t0 = time.time()
    while time.time() - t0 < 300 and proc.poll() is None and "run-guest: stubborn" not in open(log, errors="replace").read():
        time.sleep(0.5)
    pid = qemu_pid(state, "q35-desk")
    proc.send_signal(signal.SIGTERM)
    time.sleep(2)
    still = proc.poll() is None and pid is not None and os.path.exists("/proc/%d" % pid)
    t1 = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    took = time.time() - t1
    ok(still and "asking the guest to shut down" in out,
       "signals: the first SIGTERM asks the guest to shut down; a guest that ignores it keeps running", out)
    ok(proc.returncode == 128 + signal.SIGTERM and "destroying the domain now" in out and took < 60,
       "signals: the second SIGTERM destroys it at once; exit 143 (%.1f s)" % took, "exit %s\n%s" % (proc.returncode, out))
    ok(pid is not None and not os.path.exists("/proc/%d" % pid) and qemu_pid(state, "q35-desk") is None,
       "signals: QEMU is gone, nothing left running", "pid %s" % pid)
    ok("run-guest: stubborn" in open(log, errors="replace").read(), "signals: the guest was up when signalled")


def main():
    for tool in ("qemu-system-x86_64",):
        if shutil.which(tool) is None:
            bail("%s is not installed (apt-get install qemu-system-x86)" % tool)
    if not glob.glob("/usr/lib/*/libvirt/connection-driver/libvirt_driver_qemu.so"):
        bail("libvirt's QEMU driver is not installed (apt-get install libvirt-daemon-driver-qemu)")
    # short: libvirt puts QEMU's unix sockets under the engine's root, and a
    # socket path has 107 bytes at most (the guest agent's channel is deep:
    # <root>/lib/qemu/channel/target/domain-1-q35-desk/org.qemu.guest_agent.0)
    tmp = tempfile.mkdtemp(prefix="icr-", dir="/tmp")
    state = os.path.join(tmp, "s")
    boot, err = build_guest(tmp)
    if boot is None:
        bail("guest-run -n did not build the guest: " + err[-2000:])
    xml, log, files = make_domain(tmp, boot)
    print("1..13")

    # dry run: libvirt's own command line, nothing started
    p = subprocess.run([IOMMUCTL, "run", "--dry-run", "--state-dir", state, xml], capture_output=True, text=True,
                       timeout=300)
    ok(p.returncode == 0 and "would run: " in p.stdout and "-kernel" in p.stdout and "intel-iommu" in p.stdout,
       "dry run prints libvirt's command line (with -kernel and the intel-iommu)", p.stdout + p.stderr)

    t0 = time.time()
    proc = subprocess.Popen([IOMMUCTL, "run", "--state-dir", state, xml], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    # while it runs: QEMU's user, from the pid file libvirt writes.  The
    # forked child is root until it drops to the user just before exec, so
    # the owner counts once the guest is up (its script printed)
    owner, pid = None, None
    while proc.poll() is None and time.time() - t0 < 300:
        pid = qemu_pid(state, "q35-desk") or pid
        if pid:
            try:
                owner = pwd.getpwuid(os.stat("/proc/%d" % pid).st_uid).pw_name
            except (OSError, KeyError):
                pass
        if "run-guest: hello" in open(log, errors="replace").read():
            break
        time.sleep(0.2)
    try:
        out, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # run turns it into a shutdown, then destroys
        out, _ = proc.communicate(timeout=120)
        out += "\n(timeout: SIGTERM sent)"
    took = time.time() - t0
    serial = open(log, errors="replace").read()
    m = re.search(r"@@IC-GUEST-BEGIN@@[^\n]*\n(.*?)@@IC-GUEST-END rc=(\d+)@@", serial, re.S)
    tail = "\n".join(serial.splitlines()[-30:])

    ok(owner == QEMU_USER, "QEMU runs as %s (the engine's qemu.conf)" % QEMU_USER, "owner %s, pid %s\n%s" % (owner, pid, out))
    ok(m is not None and m.group(2) == "0", "the guest script ran and exited 0", out + "\n--- serial ---\n" + tail)
    ok(m is not None and "run-guest: hello from " in m.group(1), "the guest script's output is in the serial log", tail)
    ok(m is not None and "dmar" in m.group(1), "the domain's intel vIOMMU is live in the guest (/sys/class/iommu/dmar*)",
       m.group(1) if m else tail)
    ok(proc.returncode == 0 and "domain q35-desk shut down" in out,
       "iommuctl exits 0 after the guest powered off (%.0f s)" % took, "exit %s\n%s" % (proc.returncode, out))
    gone = pid is not None and not os.path.exists("/proc/%d" % pid)
    ok(gone, "QEMU is gone after iommuctl returned", "pid %s" % pid)
    ok(qemu_pid(state, "q35-desk") is None, "libvirt removed the domain's pid file (nothing left running)")
    owners = {f: os.stat(f).st_uid for f in files}
    ok(all(uid == os.getuid() for uid in owners.values()), "libvirt gave the domain's files back to their owner",
       str(owners))
    run_stubborn(tmp, state)
    failed = results.count(False)
    if not failed:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("# kept " + tmp)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
