#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every fault at every step of a 3-member group detach and of its reattach.

For each fault kind (unbind/any write fails with EBUSY; a write silently
does nothing; another driver grabs the device; SIGKILL right after the
write) at each intercepted sysfs write N (the forward steps and the
rollback's), run the operation, then `recover`, then assert the invariant:
  - no IOMMU group is split between vfio and host drivers;
  - no operation is left unfinished in the journal;
  - every device iommuctl holds on vfio is in its registry, and
    `reattach --all` returns every device to its original driver and
    driver_override."""
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simkernel as sk  # noqa: E402

sk.require_env()
# A killed process loses nothing SQLite has committed, whatever the sync
# level: fsyncs only matter on power loss, which a process test cannot
# show.  Skipping them keeps 200 runs fast on a loaded machine.
os.environ["IOMMUCTL_JOURNAL_SYNC"] = "off"
c = sk.Checks()
tmp = tempfile.mkdtemp(prefix="ic-assign-faults-")
template = sk.make_fixture(os.path.join(tmp, "template"))
ORIG = sk.state_of(template)
KINDS = ["ebusy", "nobind", "grab", "kill"]
FAST = ["--poll-timeout", "150"]


def writes_in(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [line.split() for line in f if line.strip()]


def fired(log, kind):
    return any(len(w) >= 5 and w[-1] == kind for w in writes_in(log))


def check_invariant(root, label):
    ok = True
    split = sk.split_groups(root)
    ok &= c.ok(split == [], label + ": no split group after recover", "split: %s; %s" % (split, sk.state_of(root)))
    # the journal itself (what `status` shows), read directly to save a process per case
    db = sqlite3.connect(os.path.join(root, "state", "state.db"))
    unfinished = db.execute("SELECT id, kind, state FROM ops WHERE state IN ('running','rollback-failed')").fetchall()
    held = {r[0] for r in db.execute("SELECT dev FROM detached")}
    db.close()
    ok &= c.ok(unfinished == [], label + ": nothing unfinished after recover", str(unfinished))
    on_vfio = {b for b, (drv, _) in sk.state_of(root).items() if drv and "vfio" in drv}
    ok &= c.ok(held == on_vfio, label + ": the registry lists exactly the devices on vfio",
               "registry %s, on vfio %s" % (sorted(held), sorted(on_vfio)))
    p = sk.run(root, "reattach", "--all")
    ok &= c.ok(p.returncode == 0 and sk.state_of(root) == ORIG, label + ": reattach --all restores every original driver",
               p.stderr + str(sk.state_of(root)))
    ok &= c.ok(not os.path.exists(os.path.join(root, "dev", "vfio", "2")), label + ": /dev/vfio/2 gone at the end")
    return ok


def clean_write_count(args, setup=None):
    root = sk.fresh(template, os.path.join(tmp, "count"))
    if setup:
        setup(root)
    log = os.path.join(tmp, "count.log")
    if os.path.exists(log):
        os.unlink(log)
    sk.run(root, *args, *FAST, log=log, check=0)
    return len(writes_in(log))


def detached_setup(root):
    sk.run(root, "detach", "02:01.0", check=0)


SCENARIOS = [
    ("detach", ["detach", "02:01.0"], None),
    ("reattach", ["reattach", "02:02.0"], detached_setup),
]

cases = 0
for name, args, setup in SCENARIOS:
    steps = clean_write_count(args, setup)
    c.ok(steps == (9 if name == "detach" else 12), "%s of the 3-member group takes %d sysfs writes" % (name, steps))
    # forward steps, plus as many again so faults also land in the rollback
    for kind in KINDS:
        for n in range(1, 2 * steps + 1):
            label = "%s %s@%d" % (name, kind, n)
            root = sk.fresh(template, os.path.join(tmp, "case"))
            if setup:
                setup(root)
            log = os.path.join(tmp, "case.log")
            if os.path.exists(log):
                os.unlink(log)
            p = sk.run(root, *args, *FAST, fault="%s@%d" % (kind, n), log=log)
            if not fired(log, kind):
                break  # the operation had fewer writes than n: so will it for n+1
            cases += 1
            if kind == "kill":
                c.ok(p.returncode == -9, label + ": killed", str(p.returncode))
            elif p.returncode != 0:
                c.ok(p.returncode == 3 and p.stderr.strip() != "", label + ": failure reported (exit 3)", p.stderr)
            r = sk.run(root, "recover", *FAST)
            if not c.ok(r.returncode == 0, label + ": recover succeeds", r.stdout + r.stderr + "\n" + p.stderr):
                continue
            check_invariant(root, label)

print("fault cases exercised: %d (kinds %s, at every write of detach and reattach incl. rollback)"
      % (cases, ",".join(KINDS)))
c.ok(cases >= 60, "at least 60 fault cases were exercised", str(cases))
shutil.rmtree(tmp)
c.finish("assign-faults")
