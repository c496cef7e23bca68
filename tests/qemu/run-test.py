#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`iommuctl run` on the engine, with the simulated kernel.

The host is the assign module's fixture (tests/assign/simkernel.py +
mock-kernel.c); the engine is libvirt's test driver (IOMMUCTL_ENGINE_URI=
test:///default, the engine's test hook): a real libvirt driver that "runs"
domains without QEMU, so no vfio is needed.  The hostdev 0000:02:01.0 sits
in group 2 with two other endpoints (02:02.0, 02:03.0) and a bridge.

Checked on the simulated sysfs (driver links) and the journal (state.db):
- whole groups are detached, members outside the domain go to vfio-pci too
  and are said so; libvirt gets every hostdev as managed='no';
- the groups are back on their drivers after every kind of exit: clean guest
  shutdown (exit 0), libvirt refusing the start (3), SIGTERM (143, forwarded
  as a shutdown), an error after the detach (3), an error after the start (3);
- the dry run and every refusal (lint, seclabel, qemu:commandline -runas,
  a host-critical group member) change nothing."""
import json, os, signal, sqlite3, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "assign"))
import simkernel as sk  # noqa: E402

sk.require_env()
c = sk.Checks()
tmp = tempfile.mkdtemp(prefix="ic-qemu-run-")
HOSTDEV = "0000:02:01.0"                       # group 2, e1000
GROUP2 = ["0000:02:01.0", "0000:02:02.0", "0000:02:03.0"]
HOST_DRIVERS = {"0000:02:01.0": "e1000", "0000:02:02.0": "virtio-pci", "0000:02:03.0": "nic-alt"}


def domain(path, name="runtest", iommu="caching_mode='on' intremap='on'", managed="yes", extra=""):
    open(path, "w").write(f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/><ioapic driver='qemu'/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <iommu model='intel'><driver {iommu}/></iommu>
    <hostdev mode='subsystem' type='pci' managed='{managed}'>
      <driver name='vfio'/>
      <source><address domain='0x0000' bus='0x02' slot='0x01' function='0x0'/></source>
    </hostdev>
  </devices>
{extra}</domain>
""")
    return path


def cmd_env(root, debug=None):
    env = sk.env_for(root, extra={"IOMMUCTL_ENGINE_URI": "test:///default"})
    env.pop("IOMMUCTL_DEBUG_RUN", None)
    if debug:
        env["IOMMUCTL_DEBUG_RUN"] = debug
    return env


def command(root, xml, args):
    return sk.preload() + [sk.IOMMUCTL, "run", "-v", "--sysfs-root", root, "--state-dir",
                           os.path.join(root, "state"), xml] + list(args)


def run(root, xml, *args, debug=None):
    return subprocess.run(command(root, xml, args), env=cmd_env(root, debug), capture_output=True, text=True,
                          timeout=120)


def said(p):
    """A run's exit status and output, for a failed check's detail (a status
    below 0 is the signal that killed it)."""
    return "exit status %s\n--- stdout\n%s--- stderr\n%s" % (p.returncode, p.stdout, p.stderr)


def journal(root):
    """(kind, state) of every operation, and the devices iommuctl still holds."""
    db = os.path.join(root, "state", "state.db")
    if not os.path.exists(db):
        return [], []
    con = sqlite3.connect("file:" + db + "?mode=ro", uri=True)
    try:
        ops = con.execute("SELECT kind, state FROM ops ORDER BY id").fetchall()
        held = [r[0] for r in con.execute("SELECT dev FROM detached ORDER BY dev")]
    finally:
        con.close()
    return ops, held


def on_host(root):
    return {d: sk.driver(root, d) for d in GROUP2} == HOST_DRIVERS and not sk.split_groups(root)


def handed_xml(stdout):
    """The domain XML run -v printed as handed to libvirt."""
    mark = "the domain XML handed to libvirt:\n"
    if mark not in stdout:
        return ""
    return stdout.split(mark, 1)[1].split("</domain>", 1)[0]


def check_given_back(root, p, what, ops):
    c.ok(on_host(root), what + ": group 2 back on its host drivers, no group split",
         str({d: sk.driver(root, d) for d in GROUP2}) + "\n" + said(p))
    got_ops, held = journal(root)
    c.ok(got_ops == ops and held == [], what + ": the journal has %s and holds nothing" % ops,
         "ops %s, held %s" % (got_ops, held))


xml = domain(os.path.join(tmp, "dom.xml"))
DONE = [("detach", "done"), ("reattach", "done")]

# ---- dry run: the plan, nothing changes ----
root = sk.make_fixture(os.path.join(tmp, "dry"))
before = sk.state_of(root)
p = run(root, xml, "--dry-run")
c.ok(p.returncode == 0, "dry run exits 0", said(p))
for bdf in GROUP2:
    c.ok("would: group 2: %s" % bdf in p.stdout, "dry run shows group 2 member %s" % bdf, p.stdout)
c.ok("0000:02:02.0 (virtio-pci): detach, not in the domain: bound to vfio-pci so the group is not split, "
     "not given to the guest" in p.stdout, "dry run says a member outside the domain goes to vfio-pci, not to the guest",
     p.stdout)
c.ok("would run: " in p.stdout, "dry run says what libvirt would run (or why this driver cannot say)", p.stdout)
c.ok("memlock: libvirt sets 1207959552 bytes on QEMU" in p.stdout, "dry run reports libvirt's memlock limit", p.stdout)
c.ok(sk.state_of(root) == before and journal(root) == ([], []), "dry run: no device changed, nothing journaled")

# ---- --json: no document to emit, refused up front ----
p = run(root, xml, "--json")
c.ok(p.returncode == 2 and "--json is not supported by run" in p.stderr, "run --json is refused (exit 2)", p.stderr)

# ---- clean guest shutdown: exit 0, whole group detached, managed='no' ----
root = sk.make_fixture(os.path.join(tmp, "clean"))
p = run(root, xml, debug="guest-shutdown")
c.ok(p.returncode == 0, "clean guest shutdown: exit 0", said(p))
for bdf in GROUP2:
    c.ok("%s (group 2): %s -> vfio-pci" % (bdf, HOST_DRIVERS[bdf]) in p.stdout,
         "clean: %s (whole group) was moved to vfio-pci" % bdf, p.stdout)
handed = handed_xml(p.stdout)
# how libvirt gets it serialized (' or ") is the engine's business
handed_q = handed.replace("'", '"')
c.ok(handed_q.count("<hostdev ") == 1 and 'managed="no"' in handed_q and 'managed="yes"' not in handed_q,
     "clean: libvirt got the hostdev as managed='no'", handed or p.stdout)
c.ok("domain runtest started" in p.stdout and "domain runtest shut down" in p.stdout,
     "clean: the domain started on the engine and shut down", p.stdout)
check_given_back(root, p, "clean", DONE)

# ---- libvirt refuses the start ('test' exists in test:///default) ----
root = sk.make_fixture(os.path.join(tmp, "refused"))
p = run(root, domain(os.path.join(tmp, "dup.xml"), name="test"))
c.ok(p.returncode == 3 and "libvirt did not start the domain" in p.stderr and "already exists" in p.stderr,
     "start refused by libvirt: exit 3 with libvirt's reason", said(p))
check_given_back(root, p, "start refused", DONE)

# ---- error after the detach ----
root = sk.make_fixture(os.path.join(tmp, "after-detach"))
p = run(root, xml, debug="fail-after-detach")
c.ok(p.returncode == 3 and "failure injected after the detach" in p.stderr, "error after detach: exit 3",
     said(p))
c.ok("started" not in p.stdout, "error after detach: the domain was not started", p.stdout)
check_given_back(root, p, "error after detach", DONE)

# ---- error after the start: the domain is destroyed, then the groups go back ----
root = sk.make_fixture(os.path.join(tmp, "after-start"))
p = run(root, xml, debug="fail-after-start")
c.ok(p.returncode == 3 and "failure injected after the start" in p.stderr, "error after start: exit 3",
     said(p))
out_lines = p.stdout.splitlines()
i_start = next((i for i, l in enumerate(out_lines) if "started" in l), None)
i_back = next((i for i, l in enumerate(out_lines) if "vfio-pci -> e1000" in l), None)
c.ok(i_start is not None and i_back is not None and i_start < i_back, "error after start: reattached after the start",
     p.stdout)
check_given_back(root, p, "error after start", DONE)

# ---- SIGTERM to iommuctl: graceful shutdown, 128+15, groups back ----
root = sk.make_fixture(os.path.join(tmp, "sigterm"))
proc = subprocess.Popen(command(root, xml, []), env=cmd_env(root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True)
seen, running_state = [], None
t0 = time.time()
while time.time() - t0 < 60:
    line = proc.stdout.readline()
    if not line:
        break
    seen.append(line)
    if "waiting until it shuts down" in line:
        running_state = {d: sk.driver(root, d) for d in GROUP2}
        proc.send_signal(signal.SIGTERM)
        break
so, se = proc.communicate(timeout=60)
p = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(seen) + so, se)
c.ok(running_state == {d: "vfio-pci" for d in GROUP2}, "SIGTERM: the whole group is on vfio-pci while the domain runs",
     str(running_state) + "\n" + p.stdout + p.stderr)
c.ok(p.returncode == 128 + signal.SIGTERM, "SIGTERM: exit 143", said(p))
c.ok("asking the guest to shut down" in p.stdout, "SIGTERM: forwarded as a graceful shutdown", p.stdout)
check_given_back(root, p, "SIGTERM", DONE)

# ---- groups detached before run (iommuctl detach) stay on vfio-pci after it ----
root = sk.make_fixture(os.path.join(tmp, "predetached"))
sk.run(root, "detach", HOSTDEV, check=0)
p = run(root, xml, debug="guest-shutdown")
c.ok(p.returncode == 0 and "on vfio-pci already: run leaves them there" in p.stdout,
     "pre-detached: run starts and says it leaves the groups", said(p))
c.ok({d: sk.driver(root, d) for d in GROUP2} == {d: "vfio-pci" for d in GROUP2} and journal(root) == (
     [("detach", "done")], sorted(GROUP2)), "pre-detached: the group is still on vfio-pci, the journal still holds it",
     str(journal(root)))

# ---- refusals: nothing changes ----
def refused(name, path, args, want_rc, want_text):
    root = sk.make_fixture(os.path.join(tmp, "refuse-" + name))
    before = sk.state_of(root)
    p = run(root, path, *args)
    c.ok(p.returncode == want_rc and want_text in p.stdout + p.stderr, "%s: refused (exit %d)" % (name, want_rc),
         said(p))
    c.ok(sk.state_of(root) == before and journal(root) == ([], []), name + ": no device changed, nothing journaled")

refused("lint", domain(os.path.join(tmp, "lint.xml"), iommu="intremap='on' eim='on' aw_bits='40'"), [], 1,
        "lint error")
refused("seclabel", domain(os.path.join(tmp, "seclabel.xml"),
                           extra="  <seclabel type='static' model='dac' relabel='yes'><label>+0:+0</label></seclabel>\n"),
        [], 2, "<seclabel> with a <label>")
refused("runas", domain(os.path.join(tmp, "runas.xml"),
                        extra="  <qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
                              "    <qemu:arg value='-runas'/><qemu:arg value='root'/>\n  </qemu:commandline>\n"),
        [], 2, "qemu:commandline passes -runas")
refused("bad user", xml, ["--user", "no-such-user-here"], 2, "no such user")
refused("timeout", xml, ["--shutdown-timeout", "0"], 2, "--shutdown-timeout")

# a host-critical device (00:05.0, the up NIC with the default route) blocks the whole start
crit = os.path.join(tmp, "crit.xml")
open(crit, "w").write(open(xml).read().replace("bus='0x02' slot='0x01'", "bus='0x00' slot='0x05'"))
refused("host-critical", crit, [], 1, "cannot be detached (the host uses them)")

c.finish("qemu-run")
