#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 10, in-place edits and the error contract (items 5, 6, 12, 13, 14).

TAP.  $IOMMUCTL may point at any build, so the same tests show the old main
failing and the fix passing.  Runs as root (chown, xattrs, bind mounts); a
mechanism the machine lacks (unshare, setpriv, an xattr namespace) fails the
test unless IOMMUCTL_ALLOW_SKIP=1.
"""
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

IOMMUCTL = os.environ.get("IOMMUCTL", "iommuctl")
ALLOW_SKIP = os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1"
NOBODY = 65534

DOMAIN = """<domain type='kvm'>
  <name>edit-me</name>
  <memory unit='GiB'>2</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/edit-me.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
"""

PROTECTED = "<driver iommu='on'/>"   # what protect adds
VIOMMU = "<iommu model='intel'"        # what viommu --model intel adds


class Skip(Exception):
    pass


def ic(*args, env=None, preexec=None, timeout=120):
    return subprocess.run([IOMMUCTL, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, preexec_fn=preexec)


def protect(path, *extra):
    return ic("domain", "protect", "--in-place", *extra, path)


def viommu(path, *extra):
    return ic("domain", "viommu", "--model", "intel", "--host-aw-bits", "48", "--in-place", *extra, path)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def read(path):
    with open(path) as f:
        return f.read()


def mark(path, value):
    """an extended attribute an edit must carry over: user.* where the file
    system has it (tmpfs only since Linux 6.6), else trusted.* (root only)"""
    for name in ("user.origin", "trusted.origin"):
        try:
            os.setxattr(path, name, value)
            return name
        except OSError:
            continue
    raise Skip("no user.* or trusted.* extended attributes on " + os.path.dirname(path))


def xattrs(path):
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in os.listxattr(path, follow_symlinks=False)}


def posix_acl(uid):
    """system.posix_acl_access value: owner rw, user uid r, group r, mask r, other none"""
    undefined = 0xFFFFFFFF
    entries = [(0x01, 6, undefined), (0x02, 4, uid), (0x04, 4, undefined), (0x10, 4, undefined),
               (0x20, 0, undefined)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def describe(r):
    return f"exit {r.returncode}; stdout: {r.stdout.strip()[:400]!r}; stderr: {r.stderr.strip()[:400]!r}"


TESTS = []


def test(name):
    def add(fn):
        TESTS.append((name, fn))
        return fn
    return add


# ---- item 5: metadata, .bak, symlinks, hard links ---------------------------

@test("5 .bak of a 0600 file is 0600 and has the original's owner")
def bak_mode(d):
    f = os.path.join(d, "vm.xml")
    write(f, DOMAIN, 0o600)
    os.chown(f, NOBODY, NOBODY)
    r = protect(f)
    if r.returncode != 0:
        return False, describe(r)
    st = os.lstat(f + ".bak")
    ok = stat.S_IMODE(st.st_mode) == 0o600 and (st.st_uid, st.st_gid) == (NOBODY, NOBODY) and read(f + ".bak") == DOMAIN
    return ok, f".bak mode {oct(stat.S_IMODE(st.st_mode))} owner {st.st_uid}:{st.st_gid}"


@test("5 a planted .bak (other owner and mode, or a symlink) is replaced, never kept or written through")
def planted_bak(d):
    f = os.path.join(d, "vm.xml")
    write(f, DOMAIN, 0o640)
    write(f + ".bak", "planted\n", 0o666)
    os.chown(f + ".bak", NOBODY, NOBODY)
    r = protect(f)
    st = os.lstat(f + ".bak")
    if r.returncode != 0 or (st.st_uid, stat.S_IMODE(st.st_mode)) != (0, 0o640) or read(f + ".bak") != DOMAIN:
        return False, f"planted file: .bak owner {st.st_uid} mode {oct(stat.S_IMODE(st.st_mode))}; {describe(r)}"
    victim = os.path.join(d, "victim")
    write(victim, "victim\n", 0o600)
    g = os.path.join(d, "vm2.xml")
    write(g, DOMAIN, 0o600)
    os.symlink(victim, g + ".bak")
    r = protect(g)
    st = os.lstat(g + ".bak")
    ok = (r.returncode == 0 and read(victim) == "victim\n" and stat.S_ISREG(st.st_mode)
          and stat.S_IMODE(st.st_mode) == 0o600 and read(g + ".bak") == DOMAIN)
    return ok, f"symlink .bak: victim {read(victim)!r}, .bak regular {stat.S_ISREG(st.st_mode)}; {describe(r)}"


@test("5 the edited file keeps owner, mode, ACL, user.* xattrs and security.selinux")
def metadata_kept(d):
    f = os.path.join(d, "vm.xml")
    write(f, DOMAIN, 0o640)
    os.chown(f, NOBODY, NOBODY)
    mark(f, b"fleet-manager")
    try:
        os.setxattr(f, "system.posix_acl_access", posix_acl(NOBODY - 1))
    except OSError:
        pass  # a file system without ACLs: the others still count
    try:
        os.setxattr(f, "security.selinux", b"system_u:object_r:virt_etc_t:s0\0")
    except OSError:
        pass  # no LSM xattrs here: the others still count
    os.chmod(f, 0o640)  # the ACL mask follows the group bits
    before = os.lstat(f)
    want = xattrs(f)
    r = protect(f)
    after = os.lstat(f)
    got = xattrs(f)
    ok = (r.returncode == 0 and PROTECTED in read(f) and (after.st_uid, after.st_gid) == (NOBODY, NOBODY)
          and stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode) and got == want)
    return ok, (f"owner {after.st_uid}:{after.st_gid} mode {oct(stat.S_IMODE(after.st_mode))} "
                f"xattrs {sorted(got)} (want {sorted(want)}); {describe(r)}")


@test("5 a directory's default ACL does not leak onto an edited file that had no ACL")
def no_inherited_acl(d):
    undefined = 0xFFFFFFFF
    default = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in [
        (0x01, 7, undefined), (0x02, 7, NOBODY), (0x04, 5, undefined), (0x10, 7, undefined), (0x20, 5, undefined)])
    try:
        os.setxattr(d, "system.posix_acl_default", default)
    except OSError as e:
        raise Skip(f"no POSIX ACLs here: {e}")
    f = os.path.join(d, "vm.xml")
    write(f, DOMAIN, 0o644)
    try:
        os.removexattr(f, "system.posix_acl_access")  # created under the default ACL
    except OSError:
        pass
    os.chmod(f, 0o644)
    r = protect(f)
    leaked = {n for p in (f, f + ".bak") if os.path.exists(p) for n in xattrs(p) if n.startswith("system.posix_acl")}
    ok = r.returncode == 0 and PROTECTED in read(f) and not leaked and stat.S_IMODE(os.lstat(f).st_mode) == 0o644
    return ok, f"ACLs on the result: {sorted(leaked)}; mode {oct(stat.S_IMODE(os.lstat(f).st_mode))}; {describe(r)}"


@test("5 editing through a symlink edits its target and the link stays a link")
def symlink_kept(d):
    real = os.path.join(d, "real.xml")
    link = os.path.join(d, "link.xml")
    write(real, DOMAIN, 0o644)
    os.symlink("real.xml", link)
    r = protect(link)
    ok = (r.returncode == 0 and os.path.islink(link) and os.readlink(link) == "real.xml"
          and PROTECTED in read(real))
    return ok, f"link is a link: {os.path.islink(link)}; target edited: {PROTECTED in read(real)}; {describe(r)}"


def hardlinked(d):
    a = os.path.join(d, "a.xml")
    b = os.path.join(d, "b.xml")
    write(a, DOMAIN, 0o644)
    os.link(a, b)
    return a, b


@test("5 a hard-linked file is refused by default (exit 1, nothing written, the links kept)")
def hardlink_refused(d):
    a, b = hardlinked(d)
    r = protect(a)
    ok = (r.returncode == 1 and "hard link" in r.stderr and read(a) == DOMAIN and os.lstat(a).st_nlink == 2
          and " 1 changed" not in r.stdout)
    return ok, describe(r)


@test("5 --hard-links=share edits the inode all names share")
def hardlink_share(d):
    a, b = hardlinked(d)
    r = protect(a, "--hard-links=share")
    ok = (r.returncode == 0 and PROTECTED in read(b) and os.lstat(a).st_ino == os.lstat(b).st_ino
          and os.lstat(a).st_nlink == 2 and read(a + ".bak") == DOMAIN)
    return ok, describe(r)


@test("5 --hard-links=break replaces this name only")
def hardlink_break(d):
    a, b = hardlinked(d)
    r = protect(a, "--hard-links=break")
    ok = r.returncode == 0 and PROTECTED in read(a) and read(b) == DOMAIN and os.lstat(b).st_nlink == 1
    return ok, describe(r)


@test("5 every in-place writer (viommu, hostdev, bypass, policy resolve) keeps link, owner, mode and xattrs")
def every_writer(d):
    host = os.path.join(d, "host.json")
    with open(host, "w") as h:
        json.dump({"schema": "iommuctl.traits", "version": 1,
                   "host": {"name": "t", "arch": "x86_64", "libvirt_version": "9.0.0", "qemu_version": "7.2.0",
                            "emulators": ["x86_64"], "iommufd": None, "interrupt_remapping": None,
                            "iommu_address_width": 48, "assignable_groups": None}, "traits": []}, h)
    writers = {
        "viommu": ["domain", "viommu", "--model", "intel", "--host-aw-bits", "48", "--in-place"],
        "hostdev": ["domain", "hostdev", "--in-place", "{}", "0000:5e:00.0"],
        "bypass": ["domain", "bypass", "--default-bus", "on"],
        "policy": ["policy", "resolve", "--host-json", host, "--flavor", "hw:viommu_model=intel", "--in-place",
                   "--domain"],
    }
    bad = []
    for name, args in writers.items():
        real = os.path.join(d, f"{name}.xml")
        link = os.path.join(d, f"{name}-link.xml")
        write(real, DOMAIN, 0o640)
        os.chown(real, NOBODY, NOBODY)
        attr = mark(real, name.encode())
        os.symlink(os.path.basename(real), link)
        argv = [a.replace("{}", link) for a in args] + ([] if "{}" in args else [link])
        r = ic(*argv)
        st = os.lstat(real)
        if not (r.returncode == 0 and os.path.islink(link) and read(real) != DOMAIN
                and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOBODY, 0o640)
                and xattrs(real) == {attr: name.encode()}):
            bad.append(f"{name}: link kept {os.path.islink(link)}, owner {st.st_uid}, mode "
                       f"{oct(stat.S_IMODE(st.st_mode))}, xattrs {sorted(xattrs(real)) if os.path.exists(real) else None}"
                       f"; {describe(r)}")
    return not bad, "; ".join(bad)


# ---- item 6: concurrent editors ---------------------------------------------

@test("6 protect and viommu on one file at once, 10 times: no update lost silently")
def concurrent(d):
    problems = []
    for i in range(10):
        f = os.path.join(d, f"vm{i}.xml")
        write(f, DOMAIN)
        args_p = [IOMMUCTL, "domain", "protect", "--in-place", f]
        args_v = [IOMMUCTL, "domain", "viommu", "--model", "intel", "--host-aw-bits", "48", "--in-place", f]
        procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for a in (args_p, args_v)]
        (po, pe), (vo, ve) = (p.communicate(timeout=120) for p in procs)
        rp, rv = (p.returncode for p in procs)
        text = read(f)
        has_p, has_v = PROTECTED in text, VIOMMU in text
        # an update may fail, but then clearly: exit 3, an error, no change claimed
        ok_p = has_p if rp == 0 else (rp == 3 and "nothing was written" in pe and " 1 changed" not in po)
        ok_v = has_v if rv == 0 else (rv == 3 and "nothing was written" in ve)
        if not (ok_p and ok_v) or (rp != 0 and rv != 0):
            problems.append(f"round {i}: protect exit {rp} (in file: {has_p}), viommu exit {rv} (in file: {has_v}) "
                            f"{pe.strip()[:200]!r} {ve.strip()[:200]!r}")
    return not problems, "; ".join(problems) or "10 rounds, both updates kept"


@test("6 an editor holding the lock: iommuctl waits, then edits the text that editor left")
def waits_for_lock(d):
    import fcntl
    f = os.path.join(d, "vm.xml")
    write(f, DOMAIN)
    marked = DOMAIN.replace("<devices>", "<devices>\n    <!-- the other editor's change -->")
    with open(f) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        p = subprocess.Popen([IOMMUCTL, "domain", "protect", "--in-place", f], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        # the other editor replaces the file the way editors do, then lets go
        write(f + ".new", marked)
        os.rename(f + ".new", f)
    out, err = p.communicate(timeout=120)
    text = read(f)
    ok = p.returncode == 0 and "the other editor's change" in text and PROTECTED in text
    return ok, f"exit {p.returncode}; both changes: {PROTECTED in text} / {'other editor' in text}; {err.strip()}"


# ---- item 12: a failed write claims nothing ---------------------------------

def in_ro_mount(d, script):
    """run script (sh) with d bind-mounted read-only in a private mount namespace"""
    if shutil.which("unshare") is None:
        raise Skip("no unshare")
    full = f'mount --bind "$D" "$D" && mount -o remount,ro,bind "$D" || exit 99\n{script}'
    r = subprocess.run(["unshare", "-m", "sh", "-c", full], capture_output=True, text=True,
                       env={**os.environ, "D": d, "IC": IOMMUCTL}, timeout=120)
    if r.returncode == 99:
        raise Skip("cannot make a read-only bind mount: " + r.stderr.strip())
    return r


@test("12 read-only file system: exit 3, no 'changed' claim in text, the file unchanged")
def readonly_text(d):
    f = os.path.join(d, "vm.xml")
    write(f, DOMAIN)
    r = in_ro_mount(d, '"$IC" domain protect --in-place "$D/vm.xml"; echo "rc=$?"')
    ok = ("rc=3" in r.stdout and " 1 changed" not in r.stdout and "set iommu" not in r.stdout
          and "Read-only file system" in r.stderr and read(f) == DOMAIN)
    return ok, describe(r)


@test("12 read-only file system: JSON says changed false with the error (protect, viommu, bypass)")
def readonly_json(d):
    f = os.path.join(d, "vm.xml")
    write(f, DOMAIN)
    r = in_ro_mount(d, '"$IC" domain protect --json --in-place "$D/vm.xml"; echo "rc=$?"\n'
                       '"$IC" domain viommu --json --model intel --host-aw-bits 48 --in-place "$D/vm.xml"; echo "rc=$?"\n'
                       '"$IC" domain bypass --json --default-bus on "$D/vm.xml"; echo "rc=$?"')
    out = r.stdout
    rcs = [line for line in out.splitlines() if line.startswith("rc=")]
    docs = []
    dec = json.JSONDecoder()
    pos = 0
    while True:
        start = out.find("{", pos)
        if start < 0:
            break
        try:
            doc, pos = dec.raw_decode(out, start)
        except ValueError:
            break
        docs.append(doc)
    entries = [e for doc in docs for e in (doc.get("files") or [doc])]
    ok = (rcs == ["rc=3"] * 3 and len(entries) == 3 and all(e.get("changed") is False and e.get("error")
                                                            for e in entries) and read(f) == DOMAIN)
    return ok, f"{rcs}; {json.dumps(entries)[:600]}"


@test("12 EACCES (an unprivileged user, a root-owned directory): exit 3, no 'changed' claim")
def eacces(d):
    if shutil.which("setpriv") is None:
        raise Skip("no setpriv")
    os.chmod(d, 0o755)
    drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    if subprocess.run(drop + [IOMMUCTL, "--version"], capture_output=True).returncode != 0:
        raise Skip(f"user {NOBODY} cannot run {IOMMUCTL}")
    f = os.path.join(d, "vm.xml")
    write(f, DOMAIN)
    os.chown(f, NOBODY, NOBODY)
    r = subprocess.run(drop + [IOMMUCTL, "domain", "protect", "--in-place", f], capture_output=True, text=True,
                       timeout=120)
    ok = r.returncode == 3 and " 1 changed" not in r.stdout and "Permission denied" in r.stderr and read(f) == DOMAIN
    return ok, describe(r)


@test("12 ENOSPC: exit 3, no 'changed' claim, the file unchanged")
def enospc(d):
    if shutil.which("unshare") is None:
        raise Skip("no unshare")
    script = ('mount -t tmpfs -o size=64k tmpfs "$D" || exit 99\n'
              'printf %s "$X" > "$D/vm.xml"\n'
              'dd if=/dev/zero of="$D/fill" bs=1k count=128 2>/dev/null\n'
              '"$IC" domain protect --in-place "$D/vm.xml"; echo "rc=$?"\n'
              'cmp -s "$D/vm.xml" "$D/orig" 2>/dev/null; [ "$(cat "$D/vm.xml")" = "$X" ] && echo same')
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True,
                       env={**os.environ, "D": d, "IC": IOMMUCTL, "X": DOMAIN.rstrip("\n")}, timeout=120)
    if r.returncode == 99:
        raise Skip("cannot mount a tmpfs")
    ok = "rc=3" in r.stdout and " 1 changed" not in r.stdout and "No space left" in r.stderr and "same" in r.stdout
    return ok, describe(r)


# ---- item 13: exit statuses ---------------------------------------------------

def padded_domain(size):
    """DOMAIN grown to about size bytes with comments (no text node near libxml2's limits)"""
    head, tail = DOMAIN.split("<devices>", 1)
    comment = "  <!-- " + "x" * 60 + " -->\n"  # short: libxml2 2.9 has a 10 MB lookahead limit
    n = max(0, (size - len(DOMAIN)) // len(comment))
    text = head + comment * n + "<devices>" + tail
    return text + " " * max(0, size - len(text) - 1) + "\n"


@test("13 a file over the 16 MiB limit exits 2 (lint, protect, protect --in-place)")
def over_limit(d):
    f = os.path.join(d, "big.xml")
    write(f, padded_domain(17 * 1024 * 1024))
    rs = [ic("domain", "lint", "--host-aw-bits", "0", f), ic("domain", "protect", f), protect(f)]
    return all(r.returncode == 2 for r in rs), "; ".join(describe(r) for r in rs)


@test("13 an edit that grows a file past the limit is a clear error (exit 2), not an internal error")
def grows_past_limit(d):
    f = os.path.join(d, "edge.xml")
    text = padded_domain(16 * 1024 * 1024 - 8)
    write(f, text)
    rs = [ic("domain", "protect", f), protect(f)]
    ok = all(r.returncode == 2 and "limit" in r.stderr and "internal error" not in r.stderr for r in rs)
    return ok and read(f) == text, "; ".join(describe(r) for r in rs)


# ---- item 14: no raw libxml2 text, no fake option lines --------------------------

@test("14 libxml2's own messages never reach stderr raw: one iommuctl error with FILE:LINE")
def libxml2_captured(d):
    cases = {
        # a text node over libxml2's 10 MB limit, delivered in chunks (non-ASCII):
        # reported on libxml2's validity channel
        "huge.xml": ("<domain type='kvm'>\n<name>x</name>\n<description>" + "\u00e9" * 5_100_000 +
                     "</description>\n</domain>\n").encode(),
        # bytes the declared encoding cannot convert: reported on the generic channel
        "enc.xml": b"<?xml version='1.0' encoding='SHIFT_JIS'?>\n<domain type='kvm'><name>\x82\xff\xff\x80"
                   b"</name></domain>\n",
        # not UTF-8: a message with a newline of its own
        "utf.xml": b"<domain type='kvm'><name>\xff\xfe</name></domain>\n",
    }
    bad = []
    for name, data in cases.items():
        f = os.path.join(d, name)
        with open(f, "wb") as out:
            out.write(data)
        for r in (ic("domain", "lint", "--host-aw-bits", "0", f), ic("domain", "protect", f)):
            lines = r.stderr.splitlines()
            if r.returncode != 2 or len(lines) != 1 or not lines[0].startswith(f"iommuctl domain ") \
                    or f"{f}:" not in lines[0] or f"{f}:0:" in lines[0]:
                bad.append(f"{name}: {describe(r)}")
    return not bad, "; ".join(bad)


@test("14 a newline in <cmdline> does not make a fake option line in qemu-args' text output")
def no_fake_option(d):
    f = os.path.join(d, "nl.xml")
    write(f, "<domain type='qemu'>\n  <name>vm</name>\n  <memory unit='MiB'>512</memory>\n  <os>\n"
             "    <type arch='x86_64' machine='q35'>hvm</type>\n    <kernel>/boot/vmlinuz</kernel>\n"
             "    <cmdline>console=ttyS0\n-fake-option evil</cmdline>\n  </os>\n  <devices/>\n</domain>\n")
    engine_state = os.path.join(os.environ["IOMMUCTL_BUILDDIR"], "qemu-engine")
    os.makedirs(engine_state, mode=0o700, exist_ok=True)
    r = ic("domain", "qemu-args", "--state-dir", engine_state, "--qemu", "/usr/bin/qemu-system-x86_64", f)
    fake = [line for line in r.stdout.splitlines() if line.startswith("-fake-option")]
    ok = r.returncode == 0 and not fake and "-append console=ttyS0\\n-fake-option evil" in r.stdout
    return ok, describe(r)


def main():
    print(f"1..{len(TESTS)}")
    failed = 0
    for i, (name, fn) in enumerate(TESTS, 1):
        d = tempfile.mkdtemp(prefix="ic-sec-edit-")
        try:
            ok, diag = fn(d)
            print(f"{'ok' if ok else 'not ok'} {i} - {name}")
            if not ok:
                failed += 1
                for line in str(diag).splitlines():
                    print(f"# {line}")
        except Skip as s:
            if ALLOW_SKIP:
                print(f"ok {i} - {name} # SKIP {s}")
            else:
                failed += 1
                print(f"not ok {i} - {name}\n# cannot run: {s} (IOMMUCTL_ALLOW_SKIP=1 skips)")
        except Exception as e:  # a crash of the test itself is a failure, with its reason
            failed += 1
            print(f"not ok {i} - {name}\n# {type(e).__name__}: {e}")
        finally:
            shutil.rmtree(d, ignore_errors=True)
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
