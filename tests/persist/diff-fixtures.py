#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""diff OLD [NEW] on fixture trees (tests/host/mkfixture.py): a device moved
behind a bridge, iommu.passthrough=1 turning groups to identity, the IOMMU
turned off, a card replaced, groups split and merged; persisted bindings
(simulated kernel) and libvirt hostdevs (--domain) the changes touch;
summary first; exit 0 / 1 / 2 like diff(1)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "assign"))
import simkernel as sk  # noqa: E402

sk.require_env()
c = sk.Checks()
tmp = tempfile.mkdtemp(prefix="ic-diff-")
MKFIXTURE = os.path.join(HERE, "..", "host", "mkfixture.py")

BASE = """host kernel=6.1.0-test cmdline="intel_iommu=on" domain=DMA
iommu intel
firmware DMAR
vfio dev
dev 0000:00:00.0 class=060000 id=8086:29c0 group=0
dev 0000:00:1c.0 class=060400 id=1b36:000c group=1 driver=pcieport pcie=root acs=on
dev 0000:01:00.0 parent=0000:00:1c.0 class=020000 id=8086:10d3 sub=8086:0000 group=2 driver=e1000e pcie=endpoint
dev 0000:00:03.0 class=020000 id=1af4:1041 sub=1af4:1100 group=3 driver=virtio-pci
dev 0000:00:04.0 class=010802 id=1b36:0010 sub=1af4:1100 group=4 driver=nvme
dev 0000:00:05.0 class=020000 id=8086:100e sub=8086:0001 group=5 driver=e1000
"""


def fixture(name, text):
    src = os.path.join(tmp, name + ".txt")
    with open(src, "w") as f:
        f.write(text)
    out = os.path.join(tmp, name)
    subprocess.run([sys.executable, MKFIXTURE, src, out], check=True, capture_output=True)
    return out


def diff(*args, state=None):
    cmd = [sk.IOMMUCTL, "diff", "--state-dir", state or os.path.join(tmp, "no-state")] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    pj = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=60)
    doc = json.loads(pj.stdout) if pj.stdout.strip() else None
    return p, doc


def kinds(doc, section):
    return [(i["kind"], i["subject"]) for i in doc[section]]


old = fixture("old", BASE)

# nothing changed
p, doc = diff(old, fixture("same", BASE))
c.ok(p.returncode == 0 and p.stdout.startswith("no change") and doc["changed"] is False,
     "identical snapshots: exit 0, 'no change'", p.stdout + p.stderr)
c.ok(doc["schema"] == "iommuctl.diff" and doc["version"] == 1, "diff JSON schema header")

# a device moved behind a (new) bridge
moved = fixture("moved", BASE.replace(
    "dev 0000:00:03.0 class=020000 id=1af4:1041 sub=1af4:1100 group=3 driver=virtio-pci",
    "dev 0000:00:1d.0 class=060400 id=1b36:000c group=6 driver=pcieport pcie=root acs=on\n"
    "dev 0000:02:00.0 parent=0000:00:1d.0 class=020000 id=1af4:1041 sub=1af4:1100 group=7 driver=virtio-pci"))
p, doc = diff(old, moved)
c.ok(p.returncode == 1 and p.stdout.startswith("summary:"), "moved: exit 1, summary first", p.stdout)
mv = [i for i in doc["devices"] if i["kind"] == "moved"]
c.ok(len(mv) == 1 and mv[0]["addresses"] == ["0000:00:03.0", "0000:02:00.0"]
     and "behind 0000:00:1d.0" in mv[0]["text"] and "on root bus" in mv[0]["text"],
     "moved: the card is followed to its new address behind the bridge", json.dumps(doc["devices"]))
c.ok(("appeared", "0000:00:1d.0") in kinds(doc, "devices") and not any(k == "disappeared" for k, _ in kinds(doc, "devices")),
     "moved: the bridge appeared, nothing disappeared", str(kinds(doc, "devices")))
c.ok(("renumbered", "group 3") in kinds(doc, "groups"), "moved: its group is renumbered (3 -> 7)", str(kinds(doc, "groups")))

# iommu.passthrough=1: every group becomes identity
pt = fixture("pt", BASE.replace('domain=DMA', 'domain=identity').replace('cmdline="intel_iommu=on"',
                                                                          'cmdline="intel_iommu=on iommu.passthrough=1"'))
p, doc = diff(old, pt)
types = [i for i in doc["groups"] if i["kind"] == "type"]
c.ok(p.returncode == 1 and len(types) == 6 and all("DMA -> identity" in i["text"] for i in types),
     "passthrough: every group's type DMA -> identity", json.dumps(doc["groups"]))
c.ok(("default-domain", "default domain") in kinds(doc, "host") and ("cmdline", "kernel command line") in kinds(doc, "host"),
     "passthrough: host default domain and command line", str(kinds(doc, "host")))
c.ok(doc["devices"] == [], "passthrough: no device changed")

# the IOMMU turned off: no group at all
off_text = "\n".join(" ".join(w for w in l.split() if not w.startswith("group=")) for l in BASE.splitlines())
off = fixture("off", off_text.replace("iommu intel", "iommu none").replace("firmware DMAR\n", "") + "\n")
p, doc = diff(old, off)
c.ok(p.returncode == 1 and any(i["kind"] == "iommu" and "enabled -> disabled" in i["text"] for i in doc["host"]),
     "IOMMU off: said in the host section", p.stdout)
c.ok(all(i["kind"] in ("ungrouped", "gone") for i in doc["groups"]) and len(doc["groups"]) == 6,
     "IOMMU off: every group lost", json.dumps(doc["groups"]))
c.ok(p.stdout.index("summary:") == 0 and p.stdout.index("host:") < p.stdout.index("groups:"),
     "text: summary, then host, then groups", p.stdout)

# split, merge, replace, driver
sm = fixture("sm", BASE.replace("sub=1af4:1100 group=4 driver=nvme", "sub=1af4:1100 group=3 driver=nvme")
             .replace("id=8086:100e sub=8086:0001 group=5 driver=e1000", "id=15b3:1017 sub=15b3:0001 group=5 driver=mlx5_core")
             .replace("group=2 driver=e1000e", "group=2 driver=vfio-pci"))
p, doc = diff(old, sm)
g = kinds(doc, "groups")
c.ok(("merged", "group 3") in g and ("merged", "group 4") in g, "merge: groups 3 and 4 merged", str(g))
c.ok(("replaced", "0000:00:05.0") in kinds(doc, "devices"), "a different card in a slot: replaced", str(kinds(doc, "devices")))
c.ok(any(i["kind"] == "driver" and "e1000e -> vfio-pci" in i["text"] for i in doc["devices"]),
     "driver change named", json.dumps(doc["devices"]))
p, doc = diff(sm, old)
c.ok(("split", "group 3") in kinds(doc, "groups"), "split: group 3 split into 3 and 4", str(kinds(doc, "groups")))

# libvirt hostdevs the changes touch
dom = os.path.join(tmp, "vm.xml")
with open(dom, "w") as f:
    f.write("<domain type='kvm'><name>vm</name><devices>"
            "<hostdev mode='subsystem' type='pci' managed='yes'><source>"
            "<address domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></source></hostdev>"
            "<hostdev mode='subsystem' type='pci'><source>"
            "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"
            "</devices></domain>")
p, doc = diff(old, moved, "--domain", dom)
c.ok(len(doc["hostdevs"]) == 1 and doc["hostdevs"][0]["addresses"] == ["0000:00:03.0"]
     and "moved to 0000:02:00.0" in doc["hostdevs"][0]["text"], "--domain: the hostdev of the moved card is affected, the other not",
     json.dumps(doc["hostdevs"]))
bad = os.path.join(tmp, "bad.xml")
with open(bad, "w") as f:
    f.write("<notadomain/>")
p, doc = diff(old, moved, "--domain", bad)
c.ok(p.returncode == 2 and "bad.xml" in p.stderr, "--domain that is not a domain: exit 2 naming it", p.stderr)
p, doc = diff(os.path.join(tmp, "nothing-here"), moved)
c.ok(p.returncode == 2 and "not a snapshot directory" in p.stderr, "OLD not a snapshot: exit 2", p.stderr)
p, doc = diff()
c.ok(p.returncode == 2, "no argument: exit 2")

# persisted bindings the changes touch (records from the simulated kernel)
root = sk.make_fixture(os.path.join(tmp, "sim"))
snap = sk.fresh(root, os.path.join(tmp, "sim-old"))
sk.run(root, "persist", "00:04.0", "--config-root", os.path.join(tmp, "cfg"), check=0)
new = sk.fresh(snap, os.path.join(tmp, "sim-new"))
shutil.rmtree(os.path.join(new, "sys", "devices", "pci0000:00", "0000:00:04.0"))
os.unlink(os.path.join(new, "sys", "bus", "pci", "devices", "0000:00:04.0"))
os.unlink(os.path.join(new, "sys", "kernel", "iommu_groups", "6", "devices", "0000:00:04.0"))
p, doc = diff(snap, new, state=os.path.join(root, "state"))
c.ok(p.returncode == 1 and len(doc["persisted"]) == 1 and doc["persisted"][0]["subject"] == "0000:00:04.0"
     and "disappeared" in doc["persisted"][0]["text"], "a persisted binding whose card went is listed",
     p.stdout + p.stderr)
c.ok("1 persisted binding(s)" in p.stdout.split("\n")[0], "the summary counts it", p.stdout)

shutil.rmtree(tmp)
c.finish("diff-fixtures")
