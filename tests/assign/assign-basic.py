#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""plan/detach/reattach/status/recover on fixture trees with the simulated
kernel: verdicts, exact restore, preconditions (not root, no IOMMU, no
vfio-pci, read-only sysfs), the lock, rollback reporting, pending ops."""
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simkernel as sk  # noqa: E402

sk.require_env()
c = sk.Checks()
tmp = tempfile.mkdtemp(prefix="ic-assign-basic-")
GROUP2 = ["0000:02:01.0", "0000:02:02.0", "0000:02:03.0"]


def unchanged(root, before, what):
    c.ok(sk.state_of(root) == before, what + ": no device changed")
    c.ok(not os.path.exists(os.path.join(root, "state", "state.db")), what + ": no journal written")


# ---- plan ------------------------------------------------------------------
root = sk.make_fixture(os.path.join(tmp, "plan"))
p, doc = sk.run_json(root, "plan", "02:02.0")
c.ok(p.returncode == 0, "plan of group 2 is executable (exit 0)", p.stderr)
c.ok(doc["schema"] == "iommuctl.assign-plan" and doc["version"] == 1, "plan JSON schema header")
g = doc["groups"][0]
c.ok(g["group"] == 2 and g["vfio_node"] == "/dev/vfio/2" and g["vfio_node_will_appear"], "plan: group 2, /dev/vfio/2 will appear")
acts = {m["address"]: m for m in g["members"]}
c.ok(acts["0000:01:00.0"]["action"] == "bridge-ok", "plan: the PCIe-to-PCI bridge is bridge-ok")
for bdf in GROUP2:
    c.ok(acts[bdf]["action"] == "detach" and acts[bdf]["target_driver"] == "vfio-pci",
         "plan: %s detach -> vfio-pci" % bdf, str(acts[bdf]))
c.ok(acts["0000:02:02.0"]["requested"] and not acts["0000:02:01.0"]["requested"], "plan marks the requested member")
c.ok(acts["0000:02:01.0"]["reset_method"] == "flr", "plan: reset method from the inventory")
c.ok(acts["0000:02:01.0"]["reason"] == "endpoint on host driver e1000", "plan: detach reason names the driver")
c.ok(sk.state_of(root) == sk.state_of(sk.make_fixture(os.path.join(tmp, "plan-ref"))), "plan changed nothing")

c.ok(any(w.startswith("group 2: endpoints of different slots share the group") for w in doc["warnings"])
     and len(doc["warnings"]) == 1, "plan: one isolation warning for group 2 (from the host inventory)", str(doc["warnings"]))

# host uses: an up NIC with the default route, the root filesystem's controller
p, doc = sk.run_json(root, "plan", "00:05.0")
m = doc["groups"][0]["members"][0]
c.ok(p.returncode == 1 and not doc["executable"], "plan of the up NIC is blocked (exit 1)", p.stdout + p.stderr)
c.ok(m["action"] == "blocked" and "eth0" in m["reason"] and "default route" in m["reason"] and not m["holds_root"],
     "plan: blocked reason names eth0 and the default route", str(m))
c.ok(not doc["groups"][0]["vfio_node_will_appear"], "plan: no /dev/vfio/N for a blocked group")
p, doc = sk.run_json(root, "plan", "00:1f.2", "02:02.0")
acts = {m["address"]: m for g in doc["groups"] for m in g["members"]}
c.ok(p.returncode == 1 and acts["0000:00:1f.2"]["action"] == "blocked" and acts["0000:00:1f.2"]["holds_root"]
     and "/ (ext4) is mounted from sda2" in acts["0000:00:1f.2"]["reason"],
     "plan: the root disk's controller is blocked, holds_root", str(acts.get("0000:00:1f.2")))
c.ok([g["group"] for g in doc["groups"]] == [2, 4], "plan of two devices covers both groups, sorted")
p = sk.run(root, "plan", "00:1f.2")
c.ok("BLOCKED" in p.stdout and "the host uses it" in p.stdout, "plan text says BLOCKED and why", p.stdout)
before = sk.state_of(root)
p = sk.run(root, "detach", "00:05.0")
c.ok(p.returncode == 1 and "blocked" in p.stderr and "eth0" in p.stderr, "detach of the up NIC is refused (exit 1)", p.stderr)
p = sk.run(root, "detach", "00:1f.2", "--force")
c.ok(p.returncode == 1 and "even with --force" in p.stderr, "detach --force of the root disk is refused", p.stderr)
c.ok(sk.state_of(root) == before, "refused detaches changed nothing")
p = sk.run(root, "plan", "--json", "--force", "00:05.0")
preview = [m["address"] for g in json.loads(p.stdout)["groups"] for m in g["members"] if m["action"] == "detach"]
c.ok(p.returncode == 0 and "0000:00:05.0" in preview, "plan --force previews taking the NIC", p.stdout)
p = sk.run(root, "detach", "00:05.0", "--force")
c.ok(p.returncode == 0 and sk.driver(root, "0000:00:05.0") == "vfio-pci", "detach --force takes the NIC", p.stderr)
moved = [a for a in sk.state_of(root) if sk.driver(root, a) == "vfio-pci" and before.get(a, (None,))[0] != "vfio-pci"]
c.ok(sorted(moved) == sorted(preview), "detach --force moved exactly what plan --force previewed", "%s vs %s" % (moved, preview))
sk.run(root, "reattach", "00:05.0", check=0)
c.ok(sk.state_of(root) == before, "and reattach gives it back to e1000e")

# variant driver from modules.alias: fewest wildcards wins
root = sk.make_fixture(os.path.join(tmp, "variant"), aliases=(
    "alias vfio_pci:v00008086d*sv*sd*bc*sc*i* intel_vfio_pci\n"
    "alias vfio_pci:v00008086d0000100Esv*sd*bc*sc*i* e1000_vfio_pci\n"
    "alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n"))
p, doc = sk.run_json(root, "plan", "00:04.0")
m = doc["groups"][0]["members"][0]
c.ok(m["target_driver"] == "e1000_vfio_pci", "variant: the alias with the fewest wildcards wins", str(m))
p, doc = sk.run_json(root, "plan", "00:03.0")
c.ok(doc["groups"][0]["members"][0]["target_driver"] == "vfio-pci", "variant: no vfio_pci alias -> vfio-pci")
p, doc = sk.run_json(root, "plan", "00:04.0", "--driver", "vfio-pci")
c.ok(doc["groups"][0]["members"][0]["target_driver"] == "vfio-pci", "variant: --driver wins")

# ---- detach / status / reattach ---------------------------------------------
root = sk.make_fixture(os.path.join(tmp, "cycle"))
orig = sk.state_of(root)
p = sk.run(root, "detach", "0000:02:01.0")
c.ok(p.returncode == 0, "detach 02:01.0 succeeds", p.stderr)
c.ok(all(sk.driver(root, b) == "vfio-pci" and sk.override(root, b) == "vfio-pci" for b in GROUP2),
     "detach moved the whole group 2 to vfio-pci (override set)", str(sk.state_of(root)))
c.ok(sk.driver(root, "0000:01:00.0") is None, "detach left the bridge alone")
c.ok(sk.vfio_node(root, 2), "/dev/vfio/2 exists after detach")
c.ok("/dev/vfio/2 ready" in p.stdout, "detach says the node is ready", p.stdout)
p, doc = sk.run_json(root, "status")
c.ok(p.returncode == 0 and doc["schema"] == "iommuctl.assign-status", "status JSON", p.stdout + p.stderr)
got = {d["address"]: d["original_driver"] for d in doc["detached"]}
c.ok(got == {"0000:02:01.0": "e1000", "0000:02:02.0": "virtio-pci", "0000:02:03.0": "nic-alt"},
     "status records each original driver", str(got))
c.ok(doc["unfinished"] == [], "status: no unfinished operation")
p = sk.run(root, "detach", "02:03.0")
c.ok(p.returncode == 0 and "nothing to detach" in p.stdout, "detaching a detached group is a no-op", p.stdout + p.stderr)
p = sk.run(root, "reattach", "02:02.0")
c.ok(p.returncode == 0, "reattach 02:02.0 succeeds", p.stderr)
c.ok(sk.state_of(root) == orig, "reattach returned the whole group to the exact drivers "
     "(nic-alt, not the kernel's first match e1000e) and cleared driver_override", str(sk.state_of(root)))
c.ok(not sk.vfio_node(root, 2), "/dev/vfio/2 is gone after reattach")
p, doc = sk.run_json(root, "status")
c.ok(doc["detached"] == [], "status: nothing detached after reattach")
p = sk.run(root, "reattach", "02:02.0")
c.ok(p.returncode == 2 and "not detached by iommuctl" in p.stderr, "reattach of a device not detached: exit 2", p.stderr)
p = sk.run(root, "reattach", "--all")
c.ok(p.returncode == 0 and "nothing to reattach" in p.stdout, "reattach --all with nothing detached", p.stdout)
p = sk.run(root, "detach", "02:01.0", "00:03.0")
p2 = sk.run(root, "reattach", "--all")
c.ok(p.returncode == 0 and p2.returncode == 0 and sk.state_of(root) == orig, "detach of two groups, reattach --all", p.stderr + p2.stderr)

# a device that had a driver_override of its own keeps it
root = sk.make_fixture(os.path.join(tmp, "override"))
with open(os.path.join(root, "sys/bus/pci/devices/0000:00:04.0/driver_override"), "w") as f:
    f.write("e1000\n")
orig = sk.state_of(root)
sk.run(root, "detach", "00:04.0", check=0)
sk.run(root, "reattach", "00:04.0", check=0)
c.ok(sk.state_of(root) == orig, "a pre-existing driver_override comes back too", str(sk.state_of(root)["0000:00:04.0"]))

# ---- preconditions: each a specific error and no change -----------------------
root = sk.make_fixture(os.path.join(tmp, "pre"))
os.chmod(tmp, 0o755)
os.chmod(root, 0o755)
before = sk.state_of(root)
setpriv = shutil.which("setpriv")
if c.ok(setpriv is not None, "setpriv is installed (util-linux)"):
    # the build tree may sit below a directory nobody cannot enter (a 0700
    # mktemp -d): run copies of the binary and the mock kernel from a
    # directory every user can read
    public = tempfile.mkdtemp(prefix="ic-assign-public-")
    os.chmod(public, 0o755)
    saved = sk.IOMMUCTL, sk.MOCK
    sk.IOMMUCTL, sk.MOCK = shutil.copy(sk.IOMMUCTL, public), shutil.copy(sk.MOCK, public)
    try:
        p = sk.run(root, "detach", "02:01.0", prefix=[setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"])
        c.ok(p.returncode == 3 and "must run as root" in p.stderr, "not root: exit 3, says so", p.stderr)
        unchanged(root, before, "not root")
        p = sk.run(root, "recover", prefix=[setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"])
        c.ok(p.returncode == 3 and "must run as root" in p.stderr, "recover as non-root: exit 3", p.stderr)
    finally:
        sk.IOMMUCTL, sk.MOCK = saved
        shutil.rmtree(public, ignore_errors=True)

root = sk.make_fixture(os.path.join(tmp, "noiommu"), iommu=False)
before = sk.state_of(root)
p = sk.run(root, "detach", "02:01.0")
c.ok(p.returncode == 3 and "no IOMMU" in p.stderr, "no IOMMU: exit 3, says so", p.stderr)
unchanged(root, before, "no IOMMU")

root = sk.make_fixture(os.path.join(tmp, "novfio"), vfio=False)
before = sk.state_of(root)
p = sk.run(root, "detach", "02:01.0")
c.ok(p.returncode == 3 and "driver vfio-pci is not available" in p.stderr, "no vfio-pci: exit 3, says so", p.stderr)
unchanged(root, before, "no vfio-pci")

root = sk.make_fixture(os.path.join(tmp, "ro"))
before = sk.state_of(root)
sysd = os.path.join(root, "sys")
script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
probe = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", sysd, "true"], capture_output=True, text=True)
if c.ok(probe.returncode == 0, "a private read-only bind mount can be made (unshare -m)", probe.stderr):
    p = sk.run(root, "detach", "02:01.0", prefix=["unshare", "-m", "sh", "-c", script, "sh", sysd])
    c.ok(p.returncode == 3 and "read-only" in p.stderr, "read-only sysfs: exit 3, says so", p.stderr)
    unchanged(root, before, "read-only sysfs")

# ---- the lock ----------------------------------------------------------------
root = sk.make_fixture(os.path.join(tmp, "lock"))
before = sk.state_of(root)
os.makedirs(os.path.join(root, "state"))
with open(os.path.join(root, "state", "lock"), "w") as lk:
    fcntl.flock(lk, fcntl.LOCK_EX)
    lk.write("424242\n")
    lk.flush()
    p = sk.run(root, "detach", "02:01.0", "--lock-timeout", "300")
    c.ok(p.returncode == 3 and "another iommuctl operation is running" in p.stderr and "424242" in p.stderr,
         "lock held: detach gives up after --lock-timeout, naming the holder", p.stderr)
c.ok(sk.state_of(root) == before, "lock held: no device changed")

# ---- rollback: original error and rollback error both reported ----------------
root = sk.make_fixture(os.path.join(tmp, "rollback"))
orig = sk.state_of(root)
p = sk.run(root, "detach", "02:01.0", fault="ebusy@5")
c.ok(p.returncode == 3 and "Device or resource busy" in p.stderr and "rolled back" in p.stderr,
     "EBUSY on unbind: detach fails, says it rolled back", p.stderr)
c.ok(sk.state_of(root) == orig and not sk.vfio_node(root, 2), "after the rollback every device is on its original driver", str(sk.state_of(root)))
p = sk.run(root, "detach", "02:01.0", fault="ebusy@5,ebusy@6")
c.ok(p.returncode == 3 and "virtio-pci/unbind" in p.stderr and "ALSO FAILED" in p.stderr
     and "e1000/unbind" not in p.stderr.split("ALSO FAILED")[0],
     "a failing rollback is reported next to the original error", p.stderr)
p, doc = sk.run_json(root, "status")
c.ok(p.returncode == 1 and doc["unfinished"] and doc["unfinished"][0]["state"] == "rollback-failed",
     "status shows the rollback-failed operation, exit 1", p.stdout)
p = sk.run(root, "detach", "00:03.0")
c.ok(p.returncode == 3 and "run 'iommuctl recover' first" in p.stderr, "a new detach is refused while one is unfinished", p.stderr)
p = sk.run(root, "recover")
c.ok(p.returncode == 0 and "restoring the state before it" in p.stdout and "(restored)" in p.stdout,
     "recover says what it did", p.stdout + p.stderr)
c.ok(sk.state_of(root) == orig and sk.split_groups(root) == [], "recover restored the original drivers", str(sk.state_of(root)))
p = sk.run(root, "recover")
c.ok(p.returncode == 0 and "nothing to recover" in p.stdout, "a second recover has nothing to do", p.stdout)

# ---- kill mid-detach, recover --forward -------------------------------------
root = sk.make_fixture(os.path.join(tmp, "forward"))
orig = sk.state_of(root)
p = sk.run(root, "detach", "02:01.0", fault="kill@4")
c.ok(p.returncode == -9, "kill@4 kills detach mid-way", str(p.returncode))
c.ok(sk.split_groups(root) == [2], "the killed detach left group 2 split (the case recover exists for)")
p = sk.run(root, "recover", "--forward")
c.ok(p.returncode == 0 and "finishing it" in p.stdout, "recover --forward finishes the detach", p.stdout + p.stderr)
c.ok(all(sk.driver(root, b) == "vfio-pci" for b in GROUP2) and sk.vfio_node(root, 2), "group 2 is on vfio-pci after --forward")
p, doc = sk.run_json(root, "status")
c.ok(len(doc["detached"]) == 3 and doc["unfinished"] == [], "--forward registered the devices as detached", p.stdout)
sk.run(root, "reattach", "--all", check=0)
c.ok(sk.state_of(root) == orig, "and they go back to their original drivers")

# ---- usage --------------------------------------------------------------------
p = sk.run(root, "detach")
c.ok(p.returncode == 2, "detach without an address: exit 2")
p = sk.run(root, "plan", "zz:99")
c.ok(p.returncode == 2, "plan of a malformed address: exit 2")
p = sk.run(root, "plan", "0000:09:00.0")
c.ok(p.returncode == 2 and "no PCI device" in p.stderr, "plan of an absent device: exit 2", p.stderr)

shutil.rmtree(tmp)
c.finish("assign-basic")
