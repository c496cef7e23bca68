#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 10, reading: the attacks of the security review on what iommuctl
reads and walks, one TAP test per review item (2, 3, 8, 9, 10, 11).

Each test builds its hostile input in a temporary directory and runs
$IOMMUCTL (any build: run it against an older one to see the tests fail).
Every run has a timeout, so a hang (a FIFO, a link loop) is a failed test,
not a stuck suite."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

IOMMUCTL = os.environ.get("IOMMUCTL")
HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("IOMMUCTL_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
MKFIXTURE = os.path.join(SRCDIR, "tests", "host", "mkfixture.py")
FIXTURE = os.path.join(SRCDIR, "tests", "host", "fixtures", "workstation.txt")
DOMAIN = os.path.join(SRCDIR, "tests", "domain", "corpus", "x86-q35-gpu.xml")
TIMEOUT = 10

VIRTIO_DOMAIN = """<domain type='kvm'>
  <name>victim</name>
  <memory unit='KiB'>1048576</memory>
  <vcpu>2</vcpu>
  <os><type arch='s390x' machine='s390-ccw-virtio'>hvm</type></os>
  <launchSecurity type='s390-pv'/>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/a.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""


class Result:
    def __init__(self, rc, out, err, maxrss_kib, elapsed, timed_out):
        self.rc, self.out, self.err = rc, out, err
        self.maxrss_kib, self.elapsed, self.timed_out = maxrss_kib, elapsed, timed_out

    def __repr__(self):
        what = "timed out after %ds" % TIMEOUT if self.timed_out else "exit %s" % self.rc
        return "%s, %.1f s, %d MiB; stderr: %s" % (what, self.elapsed, self.maxrss_kib // 1024,
                                                    self.err.strip()[-300:])


def run(*args, timeout=TIMEOUT, stdin=subprocess.DEVNULL):
    """Run iommuctl; a timeout kills its process group and is reported, as is
    the peak RSS (wait4) and a death by signal (rc < 0)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([IOMMUCTL, *args], stdout=out, stderr=err, stdin=stdin,
                             start_new_session=True)
        timed_out = False
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid != 0:
                break
            if time.monotonic() > deadline:
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Result(p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                      ru.ru_maxrss, time.monotonic() - t0, timed_out)


def write(path, data="", mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(data)
    os.chmod(path, mode)


def mkfifo(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    os.mkfifo(path)


def make_tree(root):
    subprocess.run([sys.executable, MKFIXTURE, FIXTURE, root], check=True, stdout=subprocess.DEVNULL)


def listing(top):
    out = []
    for d, dirs, files in os.walk(top):
        for n in dirs + files:
            out.append(os.path.relpath(os.path.join(d, n), top))
    return sorted(out)


class Test:
    def __init__(self):
        self.problems = []

    def check(self, cond, what, res=None):
        if not cond:
            self.problems.append(what + ("" if res is None else " (%r)" % res))
        return cond


TESTS = []


def test(name):
    def deco(fn):
        TESTS.append((name, fn))
        return fn
    return deco


# ---- item 2 ------------------------------------------------------------------------------

@test("2: snapshot refuses a kernel release that would leave its output directory")
def t_snapshot_osrelease(t, tmp):
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "sys", "bus", "pci", "devices"))
    write(os.path.join(root, "proc", "sys", "kernel", "osrelease"), "../../../x\n")
    # the source the old code copied: root/lib/modules/../../../x = tmp/x
    write(os.path.join(tmp, "x", "modules.dep"), "kernel/evil.ko:\n")
    out = os.path.join(tmp, "out", "snap")
    os.makedirs(os.path.dirname(out))
    r = run("snapshot", out, "--sysfs-root", root)
    escaped = os.path.join(tmp, "out", "x")
    t.check(not os.path.exists(escaped), "snapshot wrote %s, outside its output directory" % escaped, r)
    t.check(r.rc == 2, "a release of ../../../x is invalid input (exit 2)", r)
    t.check("osrelease" in r.err, "the error names the osrelease file", r)


# ---- item 3 ------------------------------------------------------------------------------

@test("3: snapshot never writes through a planted symlink nor into an old snapshot")
def t_snapshot_nonempty(t, tmp):
    root = os.path.join(tmp, "root")
    make_tree(root)
    elsewhere = os.path.join(tmp, "elsewhere")
    os.makedirs(elsewhere)
    out = os.path.join(tmp, "out")
    os.makedirs(out)
    os.symlink(elsewhere, os.path.join(out, "proc"))
    r = run("snapshot", out, "--sysfs-root", root)
    t.check(os.listdir(elsewhere) == [], "snapshot wrote through out/proc -> elsewhere: %s" %
            os.listdir(elsewhere), r)
    t.check(r.rc == 2, "a non-empty output directory is refused (exit 2)", r)

    # a symlink planted inside a fresh output directory cannot be followed
    # either: a new directory works, and its copy reads back the same
    fresh = os.path.join(tmp, "fresh")
    r = run("snapshot", fresh, "--sysfs-root", root)
    t.check(r.rc == 0, "snapshot into a new directory works", r)
    a = run("groups", "--json", "--sysfs-root", root)
    b = run("groups", "--json", "--sysfs-root", fresh)
    t.check(a.rc == 0 and b.rc == 0 and json.loads(a.out)["groups"] == json.loads(b.out)["groups"],
            "the snapshot reproduces the groups of its source")

    # an old snapshot with a device the new tree lacks: never mixed in
    other = os.path.join(tmp, "other")
    make_tree(other)
    gone = os.path.join(other, "sys", "bus", "pci", "devices", "0000:0c:00.0")
    os.unlink(gone)
    before = listing(fresh)
    r = run("snapshot", fresh, "--sysfs-root", other)
    t.check(r.rc == 2, "snapshot into an old snapshot is refused (exit 2)", r)
    t.check(listing(fresh) == before, "the old snapshot was modified")
    g = run("show", "0000:0c:00.0", "--sysfs-root", fresh)
    t.check(g.rc == 0, "the old snapshot still holds its own devices", g)


# ---- item 8 ------------------------------------------------------------------------------

@test("8: a FIFO never hangs a reader (lint, protect, qemu-args, report, groups, show, check, plan, snapshot, place)")
def t_fifo(t, tmp):
    d = os.path.join(tmp, "domains")
    os.makedirs(d)
    shutil.copy(DOMAIN, os.path.join(d, "good.xml"))
    mkfifo(os.path.join(d, "fifo.xml"))
    fifo = os.path.join(tmp, "fifo.xml")
    mkfifo(fifo)
    r = run("domain", "lint", d)
    t.check(not r.timed_out and r.rc in (0, 1) and "fifo.xml" in r.err, "lint DIR with a FIFO", r)
    r = run("domain", "lint", fifo)
    t.check(not r.timed_out and r.rc == 2 and "FIFO" in r.err, "lint FIFO", r)
    r = run("domain", "protect", "--check", d)
    t.check(not r.timed_out and r.rc in (0, 1), "protect --check DIR with a FIFO", r)
    r = run("domain", "protect", fifo)
    t.check(not r.timed_out and r.rc == 2, "protect FIFO", r)
    r = run("domain", "qemu-args", fifo)
    t.check(not r.timed_out and r.rc == 2, "qemu-args FIFO", r)

    # a captured sysfs/proc tree with FIFOs for proc/cmdline and attributes
    root = os.path.join(tmp, "root")
    make_tree(root)
    mkfifo(os.path.join(root, "proc", "cmdline"))
    dev = os.path.realpath(os.path.join(root, "sys", "bus", "pci", "devices", "0000:0c:00.0"))
    mkfifo(os.path.join(dev, "uevent"))
    mkfifo(os.path.join(dev, "config"))
    for argv in (["report"], ["groups"], ["show", "0000:0c:00.0"], ["check"], ["plan", "0000:0c:00.0"]):
        r = run(*argv, "--sysfs-root", root)
        t.check(not r.timed_out and r.rc >= 0, "%s on a tree with FIFOs" % argv[0], r)
    r = run("snapshot", os.path.join(tmp, "snap"), "--sysfs-root", root)
    t.check(not r.timed_out and r.rc == 0, "snapshot of a tree with FIFOs", r)
    snap_cmdline = os.path.join(tmp, "snap", "proc", "cmdline")
    t.check(not os.path.exists(snap_cmdline) or os.path.isfile(snap_cmdline), "snapshot copied a FIFO as such")

    hosts = os.path.join(tmp, "hosts")
    os.makedirs(hosts)
    write(os.path.join(hosts, "a.json"), json.dumps({"host": {"name": "a"}, "traits": ["COMPUTE_VIOMMU_MODEL_VIRTIO"]}))
    mkfifo(os.path.join(hosts, "b.json"))
    r = run("place", "--hosts", hosts, "-r", "hw_viommu_model=virtio")
    t.check(not r.timed_out and r.rc == 0 and "b.json" in r.err, "place --hosts DIR with a FIFO", r)
    hfifo = os.path.join(tmp, "fleet.json")
    mkfifo(hfifo)
    r = run("place", "--hosts", hfifo, "-r", "hw_viommu_model=virtio")
    t.check(not r.timed_out and r.rc == 2, "place --hosts FIFO", r)


# ---- item 9 ------------------------------------------------------------------------------

@test("9: directory arguments never follow symlinks (loops, links out of the tree, --in-place)")
def t_dir_links(t, tmp):
    d = os.path.join(tmp, "domains")
    os.makedirs(d)
    shutil.copy(DOMAIN, os.path.join(d, "good.xml"))
    os.symlink(".", os.path.join(d, "self1"))
    os.symlink(".", os.path.join(d, "self2"))
    r = run("domain", "lint", d)
    t.check(not r.timed_out and r.maxrss_kib < 200 * 1024, "lint DIR with two self-links terminates", r)
    t.check(r.out.count("good.xml") <= 1 or "good.xml" not in r.out, "good.xml linted once")

    outside = os.path.join(tmp, "outside")
    write(os.path.join(outside, "victim.xml"), VIRTIO_DOMAIN)
    write(os.path.join(outside, "sub", "victim2.xml"), VIRTIO_DOMAIN)
    e = os.path.join(tmp, "edit")
    write(os.path.join(e, "mine.xml"), VIRTIO_DOMAIN)
    os.symlink(os.path.join(outside, "victim.xml"), os.path.join(e, "link.xml"))
    os.symlink(os.path.join(outside, "sub"), os.path.join(e, "dirlink"))
    r = run("domain", "protect", "--in-place", e)
    t.check(not r.timed_out, "protect --in-place DIR terminates", r)
    t.check(open(os.path.join(outside, "victim.xml")).read() == VIRTIO_DOMAIN,
            "protect --in-place rewrote a file outside DIR through a link", r)
    t.check(open(os.path.join(outside, "sub", "victim2.xml")).read() == VIRTIO_DOMAIN,
            "protect --in-place rewrote a file outside DIR through a directory link", r)
    t.check(os.path.islink(os.path.join(e, "link.xml")), "the link in DIR was replaced")
    t.check("iommu='on'" in open(os.path.join(e, "mine.xml")).read(), "the regular file in DIR was protected", r)
    t.check("link.xml" in r.err, "the skipped link is named on stderr", r)
    r = run("domain", "lint", e)
    t.check("victim" not in r.out + r.err.replace("skipped", ""), "lint DIR read files outside DIR", r)

    hosts = os.path.join(tmp, "hosts")
    write(os.path.join(hosts, "a.json"), json.dumps({"host": {"name": "a"}, "traits": ["COMPUTE_VIOMMU_MODEL_VIRTIO"]}))
    write(os.path.join(outside, "b.json"), json.dumps({"host": {"name": "outsider"}, "traits": ["COMPUTE_VIOMMU_MODEL_VIRTIO"]}))
    os.symlink(os.path.join(outside, "b.json"), os.path.join(hosts, "b.json"))
    r = run("place", "--hosts", hosts, "-r", "hw_viommu_model=virtio", "--json")
    t.check(r.rc == 0 and "outsider" not in r.out, "place --hosts DIR followed a link out of DIR", r)


# ---- item 10 -----------------------------------------------------------------------------

@test("10: deep JSON nesting is refused, never a crash (fleet, --host-json)")
def t_json_depth(t, tmp):
    deep = os.path.join(tmp, "deep.json")
    write(deep, "[" * 100000)
    deep_obj = os.path.join(tmp, "deep-obj.json")
    write(deep_obj, '{"host": ' + '{"a": ' * 100000 + "1" + "}" * 100001)
    # NDJSON: the first line alone is parsed to tell the formats apart
    deep_nd = os.path.join(tmp, "deep.ndjson")
    write(deep_nd, "[" * 100000 + "\n{}\n")
    for argv in (["place", "--hosts", deep, "-r", "hw_viommu_model=virtio"],
                 ["place", "--hosts", deep_nd, "-r", "hw_viommu_model=virtio"],
                 ["place", "--hosts", deep_obj, "-r", "hw_viommu_model=virtio"],
                 ["traits", "--host-json", deep],
                 ["traits", "--host-json", deep_obj]):
        r = run(*argv)
        t.check(r.rc == 2 and "deep" in r.err, "%s: refused with exit 2 naming the file" % " ".join(argv[:2]), r)
    ndjson = os.path.join(tmp, "fleet.ndjson")
    write(ndjson, json.dumps({"host": {"name": "a"}, "traits": []}) + "\n" + "[" * 100000 + "\n")
    r = run("place", "--hosts", ndjson, "-r", "hw_viommu_model=virtio")
    t.check(r.rc == 2, "NDJSON with a deep line: exit 2", r)
    # nesting below the limit still loads
    ok = os.path.join(tmp, "ok.json")
    write(ok, json.dumps({"host": {"name": "a", "x": [[[[[[[[1]]]]]]]]}, "traits": ["COMPUTE_VIOMMU_MODEL_VIRTIO"]}))
    r = run("place", "--hosts", ok, "-r", "hw_viommu_model=virtio")
    t.check(r.rc == 0, "a fleet file nested 10 deep loads", r)


# ---- item 11 -----------------------------------------------------------------------------

@test("11: memory and time stay bounded (a million attributes, a 16 MiB file)")
def t_limits(t, tmp):
    head = ("<domain type='kvm'><name>vm</name><memory unit='KiB'>1048576</memory><vcpu>2</vcpu>"
            "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>")
    tail = "</devices></domain>\n"
    attrs = os.path.join(tmp, "attrs.xml")
    with open(attrs, "w") as f:
        f.write(head + "<x")
        f.write("".join(" a%d='1'" % i for i in range(1000000)))
        f.write("/>" + tail)
    r = run("domain", "lint", attrs)
    t.check(not r.timed_out and r.rc == 2 and "attrs.xml" in r.err,
            "lint of an element with a million attributes: exit 2 naming the file, in time", r)
    big = os.path.join(tmp, "big.xml")
    n = (16 * 1024 * 1024 - len(head) - len(tail) - 64) // 4
    with open(big, "w") as f:
        f.write(head + "<a/>" * n + tail)
    r = run("domain", "viommu", "--model", "intel", "--host-aw-bits", "48", big)
    t.check(not r.timed_out and r.rc == 2 and "big.xml" in r.err, "viommu of a 16 MiB file: exit 2 naming the file", r)
    t.check(r.maxrss_kib < 400 * 1024, "viommu of a 16 MiB file stays under 400 MiB", r)
    over = os.path.join(tmp, "over.xml")
    with open(over, "w") as f:
        f.write(head + " " * (16 * 1024 * 1024) + tail)
    r = run("domain", "lint", over)
    t.check(r.rc == 2 and "over.xml" in r.err, "lint of a file over the size limit: exit 2 naming the file", r)


def main():
    if not IOMMUCTL or not os.access(IOMMUCTL, os.X_OK):
        print("1..0 # SKIP IOMMUCTL is not set to a binary")
        return 0 if os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1" else 1
    print("1..%d" % len(TESTS))
    failed = 0
    for i, (name, fn) in enumerate(TESTS, 1):
        t = Test()
        tmp = tempfile.mkdtemp(prefix="ic-sec-read.")
        try:
            fn(t, tmp)
        except Exception as e:  # a broken test is a failed test
            t.problems.append("exception: %r" % e)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if t.problems:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for p in t.problems:
                print("#   " + p)
        else:
            print("ok %d - %s" % (i, name))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
