#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`plan` on the host layer's declarative fixtures (tests/host/fixtures,
built by tests/host/mkfixture.py): every verdict and reason asserted."""
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
src = os.environ["IOMMUCTL_SRCDIR"]
tmp = tempfile.mkdtemp(prefix="ic-assign-plan-")


def fixture(name):
    out = os.path.join(tmp, name)
    subprocess.run([sys.executable, os.path.join(src, "tests/host/mkfixture.py"),
                    os.path.join(src, "tests/host/fixtures", name + ".txt"), out], check=True,
                   capture_output=True)
    return out


def plan(root, *addrs):
    p = subprocess.run([sk.IOMMUCTL, "plan", "--json", "--sysfs-root", root] + list(addrs),
                       capture_output=True, text=True)
    doc = json.loads(p.stdout) if p.stdout.strip() else None
    members = {m["address"]: m for g in (doc or {}).get("groups", []) for m in g["members"]}
    return p, doc, members


def expect(members, addr, action, reason_part, what):
    m = members.get(addr, {})
    c.ok(m.get("action") == action and reason_part in (m.get("reason") or ""),
         "%s: %s %s (%s)" % (what, addr, action, reason_part), json.dumps(m))


ws = fixture("workstation")
p, doc, m = plan(ws, "0b:00.0")
c.ok(p.returncode == 0 and doc["executable"] and doc["groups"][0]["vfio_node_will_appear"],
     "workstation: the pair already on vfio-pci is executable, node will appear", p.stdout + p.stderr)
expect(m, "0000:0b:00.0", "keep", "already on vfio-pci", "workstation")
expect(m, "0000:0b:00.1", "keep", "already on vfio-pci", "workstation")
p, doc, m = plan(ws, "0a:00.1")
c.ok(p.returncode == 1 and not doc["groups"][0]["vfio_node_will_appear"], "workstation: GPU group blocked (exit 1), no node")
expect(m, "0000:0a:00.0", "blocked", "boot VGA device carries the VGA text console", "workstation")
expect(m, "0000:0a:00.0", "blocked", "nvidia driver hangs on unbind", "workstation")
expect(m, "0000:0a:00.1", "detach", "endpoint on host driver snd_hda_intel", "workstation")
c.ok(m["0000:0a:00.0"]["reset_method"] == "pm", "workstation: the GPU's reset is pm (reset_method)")
p, doc, m = plan(ws, "0a:00.1", "--force")
c.ok(p.returncode == 0 and doc["forced"] and doc["executable"] and doc["groups"][0]["vfio_node_will_appear"],
     "workstation: plan --force previews detach --force of the GPU group (exit 0, node appears)", p.stdout + p.stderr)
expect(m, "0000:0a:00.0", "detach", "forced: the host uses it: boot VGA device", "workstation --force")
expect(m, "0000:0a:00.1", "detach", "endpoint on host driver snd_hda_intel", "workstation --force")
p, doc, m = plan(ws, "01:00.0")
expect(m, "0000:01:00.0", "blocked", "/ (ext4) is mounted from nvme0n1p2", "workstation")
c.ok(m["0000:01:00.0"]["holds_root"], "workstation: the root NVMe holds the root filesystem")
p, doc, m = plan(ws, "01:00.0", "--force")
c.ok(p.returncode == 1 and doc["forced"] and not doc["executable"], "workstation: plan --force still blocked by the root disk")
expect(m, "0000:01:00.0", "blocked", "/ (ext4) is mounted from nvme0n1p2", "workstation --force")
p, doc, m = plan(ws, "0c:00.0")
expect(m, "0000:0c:00.0", "blocked", "network interface enp12s0 is up with the default route", "workstation")

srv = fixture("server-switch")
p, doc, m = plan(srv, "04:00.0")
c.ok(p.returncode == 1, "server: switch group blocked by the /data NVMe")
for port in ("0000:01:00.0", "0000:02:08.0", "0000:02:09.0", "0000:02:0a.0"):
    expect(m, port, "bridge-ok", "bridge/port on pcieport", "server")
expect(m, "0000:03:00.0", "blocked", "/data (xfs) is mounted from nvme0n1", "server")
c.ok(not m["0000:03:00.0"]["holds_root"], "server: /data is not the root filesystem")
expect(m, "0000:04:00.0", "detach", "endpoint on host driver i40e", "server")
expect(m, "0000:05:00.0", "keep", "no driver bound", "server")
c.ok(any("lacks ACS" in w and w.startswith("group 2:") for w in doc["warnings"]), "server: ACS warning for the switch group",
     str(doc["warnings"]))
p, doc, m = plan(srv, "0b:01.0")
c.ok(p.returncode == 0, "server: serial card behind the PCIe-to-PCI bridge is executable")
expect(m, "0000:0a:00.0", "bridge-ok", "bridge/port", "server")
expect(m, "0000:0b:01.0", "detach", "endpoint on host driver serial", "server")
expect(m, "0000:0b:02.0", "keep", "no driver bound", "server")
c.ok(m["0000:0b:01.0"]["reset_method"] == "bus", "server: behind a bridge without FLR/PM the reset is a bus reset")
c.ok(any("share one requester ID" in w for w in doc["warnings"]), "server: requester-ID warning", str(doc["warnings"]))
p, doc, m = plan(srv, "0c:00.1")
expect(m, "0000:0c:00.0", "blocked", "network interface eno1 is up with the default route", "server")
expect(m, "0000:0c:00.1", "detach", "endpoint on host driver igb", "server")

noi = fixture("noiommu")
p = subprocess.run([sk.IOMMUCTL, "plan", "--sysfs-root", noi, "00:02.0"], capture_output=True, text=True)
c.ok(p.returncode == 3 and "no IOMMU" in p.stderr, "noiommu: plan says no IOMMU (exit 3)", p.stderr)

shutil.rmtree(tmp)
c.finish("assign-plan-fixtures")
