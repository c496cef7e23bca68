#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 10, the state and execution cases: what iommuctl executes (1), the
state directory and its journal (4), QEMU option injection (7), bad group
links (15), a damaged state.db (16) and whom QEMU runs as (17).

TAP.  IOMMUCTL may point at any build (e.g. an older one, to show the cases
failing there); IC_MOCK_KERNEL is the assign module's simulated kernel.
Fixture trees come from tests/assign/simkernel.py."""
import grp
import os
import pwd
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "assign"))
import simkernel as sk  # noqa: E402

sk.require_env()
IOMMUCTL = sk.IOMMUCTL
# qemu-args runs libvirt's embedded QEMU driver; its root lives in the state
# directory, kept in the build directory between runs (capability cache)
ENGINE_STATE = os.path.join(os.environ["IOMMUCTL_BUILDDIR"], "qemu-engine")
os.makedirs(ENGINE_STATE, mode=0o700, exist_ok=True)
os.environ["IOMMUCTL_STATE_DIR"] = ENGINE_STATE
tmp = tempfile.mkdtemp(prefix="ic-sec-state-")
os.chmod(tmp, 0o755)
results = []


def t(cond, what, detail=""):
    results.append((bool(cond), what, "" if cond else detail))
    return cond


def plain(*args, env=None):
    return subprocess.run([IOMMUCTL] + list(args), capture_output=True, text=True, timeout=120,
                          env=env or dict(os.environ, NO_COLOR="1"))


def out(p):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr)


CAPS_72 = os.path.join(tmp, "caps-7.2.json")
CAPS_91 = os.path.join(tmp, "caps-9.1.json")
for path, ver, machine in ((CAPS_72, "7.2.0", "pc-q35-7.2"), (CAPS_91, "9.1.0", "pc-q35-9.1")):
    with open(path, "w") as f:
        f.write('{"schema": "iommuctl.qemu-caps", "version": 1, "qemu_version": "%s", "arch": "x86_64",'
                ' "machine-aliases": {"q35": "%s", "%s": "%s"}, "machine-props": {"%s": []},'
                ' "devices": {"vfio-pci": ["host"]}, "types": []}' % (ver, machine, machine, machine, machine))


def tcg(path):
    """libvirt makes no argv for type='kvm' where there is no /dev/kvm: the
    qemu-args checks use a type='qemu' copy (the rules do not depend on it)."""
    out_path = path.replace(".xml", "-tcg.xml")
    with open(path) as f, open(out_path, "w") as o:
        o.write(f.read().replace("<domain type='kvm'>", "<domain type='qemu'>", 1))
    return out_path


def domain(path, name="sec", emulator=None, cpu=""):
    emu = "<emulator>%s</emulator>" % emulator if emulator else ""
    with open(path, "w") as f:
        f.write("""<domain type='kvm'>
  <name>%s</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  %s
  <devices>
    %s
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
""" % (name, cpu, emu))
    return path


# ---- 1: an emulator the XML names is executed only when trusted ----------
ww = os.path.join(tmp, "world-writable")
os.makedirs(ww)
os.chmod(ww, 0o777)
marker = os.path.join(tmp, "marker-emulator-ran")
evil = os.path.join(ww, "qemu-system-x86_64")
with open(evil, "w") as f:
    f.write("#!/bin/sh\ntouch '%s'\nexit 1\n" % marker)
os.chmod(evil, 0o755)
xml_evil = domain(os.path.join(tmp, "evil-emulator.xml"), emulator=evil)

def no_marker():
    if os.path.exists(marker):
        os.unlink(marker)


p = plain("domain", "qemu-args", xml_evil)
t(p.returncode == 2 and not os.path.exists(marker),
  "1: qemu-args refuses (exit 2) to probe an <emulator> in a world-writable directory, and does not run it",
  out(p) + "\nmarker exists: %s" % os.path.exists(marker))
t("--qemu PATH" in p.stderr and ww in p.stderr,
  "1: the refusal names the directory and the way out (--qemu PATH)", out(p))
no_marker()
root = sk.make_fixture(os.path.join(tmp, "emu-run"))
p = sk.run(root, "run", "--dry-run", xml_evil)
t(p.returncode == 2 and not os.path.exists(marker),
  "1: run --dry-run refuses (exit 2) to probe the untrusted <emulator>", out(p))
no_marker()
tcg_evil = tcg(xml_evil)
p = plain("domain", "qemu-args", "--qemu", "/usr/bin/qemu-system-x86_64", tcg_evil)
t(p.returncode == 0 and not os.path.exists(marker) and "-name" in p.stdout
  and p.stdout.startswith("/usr/bin/qemu-system-x86_64\n"),
  "1: with --qemu the untrusted emulator is never executed and the argv names the operator's", out(p))
no_marker()

# ---- 4: the state directory is trusted only when root's and not writable --
def fixture_with_state(name, mode=0o700, owner=None):
    root = sk.make_fixture(os.path.join(tmp, name))
    state = os.path.join(root, "state")
    os.makedirs(state)
    os.chmod(state, mode)
    if owner is not None:
        os.chown(state, owner, -1)
    return root, state


root, state = fixture_with_state("state-0777", 0o777)
os.chmod(state, 0o777)
p = sk.run(root, "detach", "00:04.0")
t(p.returncode != 0 and sk.driver(root, "0000:00:04.0") == "e1000" and state in p.stderr
  and "chmod go-w" in p.stderr,
  "4: a state directory of mode 0777 is refused, naming it and the chmod that fixes it", out(p))
p = sk.run(root, "status")
t(p.returncode != 0 and state in p.stderr, "4: status refuses the 0777 state directory too", out(p))

if os.geteuid() == 0:
    root, state = fixture_with_state("state-nobody", 0o700, owner=65534)
    p = sk.run(root, "detach", "00:04.0")
    t(p.returncode != 0 and sk.driver(root, "0000:00:04.0") == "e1000" and "chown" in p.stderr
      and state in p.stderr,
      "4: a state directory owned by another user is refused, with the chown that fixes it", out(p))
else:
    t(True, "4: (not root: the other-owner case needs chown; skipped)")

root, state = fixture_with_state("state-lock-link")
precious = os.path.join(tmp, "precious-file")
with open(precious, "w") as f:
    f.write("precious contents\n")
os.symlink(precious, os.path.join(state, "lock"))
p = sk.run(root, "detach", "00:04.0")
t(open(precious).read() == "precious contents\n" and p.returncode != 0,
  "4: a planted lock symlink is refused and its target is not truncated", out(p) + "\ntarget now: %r" % open(precious).read())


def plant_op(root, state, rows):
    """A journal made by iommuctl itself, plus a forged unfinished op."""
    sk.run(root, "detach", "00:04.0", check=0)
    sk.run(root, "reattach", "00:04.0", check=0)
    db = sqlite3.connect(os.path.join(state, "state.db"))
    cur = db.execute("INSERT INTO ops(kind,args,state,pid,started) VALUES('detach','x','running',1,"
                     "'2026-01-01T00:00:00Z')")
    op = cur.lastrowid
    for seq, (dev, grp_, fd, fo, td, to) in enumerate(rows):
        db.execute("INSERT INTO op_devices VALUES(?,?,?,?,?,?,?,?)", (op, seq, dev, grp_, fd, fo, td, to))
    db.commit()
    db.close()


root, state = fixture_with_state("state-root-disk")
# recovering "backward" would put the root filesystem's controller on vfio-pci
plant_op(root, state, [("0000:00:1f.2", 4, "vfio-pci", "vfio-pci", "ahci", None)])
p = sk.run(root, "recover")
t(p.returncode != 0 and sk.driver(root, "0000:00:1f.2") == "ahci" and sk.override(root, "0000:00:1f.2") is None,
  "4: recover refuses a planted row that would bind the root filesystem's disk controller", out(p))
t("0000:00:1f.2" in p.stderr and "root" in p.stderr, "4: the refusal names the device and why", out(p))

root, state = fixture_with_state("state-dotdot")
outside = os.path.join(root, "outside")
os.makedirs(outside)
with open(os.path.join(outside, "driver_override"), "w") as f:
    f.write("untouched\n")
plant_op(root, state, [("../../../../outside", 6, None, None, "vfio-pci", "vfio-pci"),
                       ("../../x", 6, None, None, "vfio-pci", "vfio-pci")])
# without the simulated kernel (which would abort on a write it does not
# model): the fixture's files answer like plain files, so a write that
# leaves sysfs shows in the planted file
p = subprocess.run([IOMMUCTL, "recover", "--sysfs-root", root, "--state-dir", state], capture_output=True,
                   text=True, timeout=120, env=sk.env_for(root))
t(p.returncode > 0 and open(os.path.join(outside, "driver_override")).read() == "untouched\n",
  "4: a journal address ../../x is refused: nothing is written outside sysfs", out(p))
t("state.db" in p.stderr and "../../../../outside" in p.stderr, "4: the error names the journal and the bad row", out(p))

# ---- 7: values in comma-separated QEMU options are escaped or refused ----
xml = domain(os.path.join(tmp, "name-inject.xml"), name="vm,process=pwn,guest=other")
p = plain("domain", "qemu-args", tcg(xml))
lines = p.stdout.splitlines()
t(p.returncode == 0 and "-name guest=vm,,process=pwn,,guest=other,debug-threads=on" in lines,
  "7: <name>vm,process=pwn,guest=other</name> becomes -name guest=vm,,process=pwn,,guest=other (libvirt's own escaping)",
  out(p))
xml = domain(os.path.join(tmp, "cpu-inject.xml"), cpu="<cpu mode='custom'><model>qemu64,pmu=on,hv-passthrough=on</model></cpu>")
p = plain("domain", "qemu-args", tcg(xml))
t(p.returncode == 2 and "pmu=on" not in p.stdout and "CPU model" in p.stderr,
  "7: a <cpu><model> with a comma is refused (exit 2, libvirt's 'Unknown CPU model'), never passed into -cpu", out(p))
xml = domain(os.path.join(tmp, "cpu-ok.xml"), cpu="<cpu mode='custom'><model>Skylake-Client-IBRS</model></cpu>")
p = plain("domain", "qemu-args", tcg(xml))
t(p.returncode == 0 and "-cpu Skylake-Client-IBRS" in p.stdout.splitlines(), "7: a real CPU model name still passes", out(p))

# ---- 15: bad iommu_group links ----------------------------------------------
root = sk.make_fixture(os.path.join(tmp, "garbage-link"))
link = os.path.join(root, "sys", "bus", "pci", "devices", "0000:00:04.0", "iommu_group")
real = os.path.realpath(os.path.join(root, "sys", "bus", "pci", "devices", "0000:00:04.0"))
os.unlink(os.path.join(real, "iommu_group"))
os.symlink("garbage", os.path.join(real, "iommu_group"))
p = sk.run(root, "plan", "00:04.0")
t(p.returncode != 0 and "IOMMU is off" not in p.stderr and "does not name an IOMMU group" in p.stderr,
  "15: a garbage iommu_group link is reported as a damaged tree, not blamed on the IOMMU", out(p))
root = sk.make_fixture(os.path.join(tmp, "missing-group"))
real = os.path.realpath(os.path.join(root, "sys", "bus", "pci", "devices", "0000:00:04.0"))
os.unlink(os.path.join(real, "iommu_group"))
os.symlink(os.path.relpath(os.path.join(root, "sys", "kernel", "iommu_groups", "99"), real),
           os.path.join(real, "iommu_group"))
p = sk.run(root, "plan", "--json", "00:04.0")
t(p.returncode != 0 and '"executable" : true' not in p.stdout and "/dev/vfio/99" not in p.stdout and "99" in p.stderr,
  "15: a link to a group the kernel does not have is not planned (no /dev/vfio/99)", out(p))
p = sk.run(root, "detach", "00:04.0")
t(p.returncode != 0 and sk.driver(root, "0000:00:04.0") == "e1000", "15: detach of it changes nothing", out(p))

# ---- 16: a damaged state.db has a salvage path -------------------------------
def damage_journal(dbpath, size):
    """Cut state.db short and empty its WAL, which stays between runs and
    holds the pages written since the last checkpoint."""
    for path, keep in ((dbpath, size), (dbpath + "-wal", 0)):
        if os.path.exists(path):
            with open(path, "r+b") as f:
                f.truncate(keep)


root = sk.make_fixture(os.path.join(tmp, "salvage"))
state = os.path.join(root, "state")
sk.run(root, "detach", "00:02.0", check=0)
dbpath = os.path.join(state, "state.db")
good = t(sk.driver(root, "0000:00:02.0") == "vfio-pci", "16: (setup) 00:02.0 detached to vfio-pci")
damage_journal(dbpath, 1536)
p = sk.run(root, "status")
t(p.returncode != 0 and dbpath in p.stderr and "recover --from-sysfs" in p.stderr,
  "16: a verb that meets the truncated state.db names it and suggests 'recover --from-sysfs'", out(p))
p = sk.run(root, "recover", "--from-sysfs")
t(p.returncode == 0 and sk.driver(root, "0000:00:02.0") == "e1000e" and sk.override(root, "0000:00:02.0") is None,
  "16: recover --from-sysfs returns the group to its default driver", out(p) + "\n" + str(sk.state_of(root)))
t(os.path.exists(dbpath),
  "16: the damaged state.db is left in place unless told", str(os.listdir(state)))
p = sk.run(root, "recover", "--from-sysfs", "--move-journal-aside")
t(p.returncode == 0 and not os.path.exists(dbpath)
  and any(n.startswith("state.db.damaged-") for n in os.listdir(state)),
  "16: --move-journal-aside moves it aside", out(p) + str(os.listdir(state)))
p = sk.run(root, "status")
t(p.returncode == 0, "16: afterwards status works again", out(p))
# the root filesystem's controller is never released or taken, even if marked
root = sk.make_fixture(os.path.join(tmp, "salvage-split"))
sk.run(root, "detach", "00:02.0", check=0)
damage_journal(os.path.join(root, "state", "state.db"), 100)
p = sk.run(root, "recover", "--from-sysfs")
t(p.returncode == 0 and sk.driver(root, "0000:00:1f.2") == "ahci" and sk.driver(root, "0000:00:05.0") == "e1000e",
  "16: salvage touches nothing but iommuctl's marked devices", out(p))

# ---- 17: run does not leave QEMU root ----------------------------------------
# run starts QEMU through libvirt's engine (here its test driver, the engine's
# test hook): QEMU's user is the engine's qemu.conf (libvirt-qemu) or the
# operator's --user, as libvirt's DAC label in the XML handed over (-v shows it)
root = sk.make_fixture(os.path.join(tmp, "runas"))
xml = domain(os.path.join(tmp, "runas.xml"))
engine_env = {"IOMMUCTL_ENGINE_URI": "test:///default"}
nobody = pwd.getpwnam("nobody")
p = sk.run(root, "run", "-v", "--dry-run", "--user", "nobody", xml, extra_env=engine_env)
t(p.returncode == 0 and "<label>+%d:+%d</label>" % (nobody.pw_uid, nobody.pw_gid) in p.stdout,
  "17: run --user nobody hands libvirt a DAC label with nobody's uid:gid", out(p))
p = sk.run(root, "run", "-v", "--dry-run", xml, extra_env=engine_env)
t(p.returncode == 0 and "<seclabel" not in p.stdout, "17: without --user the XML names no user (qemu.conf decides)",
  out(p))
p = sk.run(root, "run", "--dry-run", "--user", "no,such", xml, extra_env=engine_env)
t(p.returncode == 2, "17: a --user that is not a user name is refused", out(p))
open(os.path.join(tmp, "runas-root.xml"), "w").write(
    open(xml).read().replace("</domain>", "  <seclabel type='static' model='dac'><label>+0:+0</label></seclabel>\n</domain>"))
p = sk.run(root, "run", "--dry-run", os.path.join(tmp, "runas-root.xml"), extra_env=engine_env)
t(p.returncode == 2 and "<seclabel> with a <label>" in p.stderr, "17: a domain that names QEMU's user is refused", out(p))

print("1..%d" % len(results))
for i, (ok, what, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", i, what))
    if detail:
        for line in detail.splitlines()[:40]:
            print("#   " + line)
shutil.rmtree(tmp, ignore_errors=True)
sys.exit(0 if all(r[0] for r in results) else 1)
