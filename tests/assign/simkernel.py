# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixture trees and the simulated kernel for the assign tests.

A fixture is a directory shaped like the parts of a host iommuctl reads
(sys/devices, sys/bus/pci, sys/kernel/iommu_groups, dev/vfio, lib/modules,
proc).  `run()` starts the real iommuctl binary on it with the mock kernel
(tests/assign/mock-kernel.c) preloaded, so every sysfs write goes through the
library's own code path and the tree answers like the kernel would."""
import json
import os
import shutil
import subprocess
import sys

IOMMUCTL = os.environ.get("IOMMUCTL")
MOCK = os.environ.get("IC_MOCK_KERNEL")

ID_TABLES = [
    ("e1000", ["8086:100e"]),
    ("e1000e", ["8086:10d3"]),
    ("nic-alt", ["8086:10d3"]),      # a second driver for the same IDs
    ("virtio-pci", ["1af4:*"]),
    ("ahci", ["8086:2922"]),
    ("pcieport", ["1b36:000c"]),
    ("vfio-pci", []),                 # binds only through driver_override
]

# (bdf, parent bdf or None, vendor, device, class, group, driver)
DEVICES = [
    ("0000:00:00.0", None, "0x8086", "0x29c0", "0x060000", 0, None),
    ("0000:00:1c.0", None, "0x1b36", "0x000c", "0x060400", 1, "pcieport"),
    ("0000:01:00.0", "0000:00:1c.0", "0x1b36", "0x000e", "0x060400", 2, None),
    ("0000:02:01.0", "0000:01:00.0", "0x8086", "0x100e", "0x020000", 2, "e1000"),
    ("0000:02:02.0", "0000:01:00.0", "0x1af4", "0x1000", "0x020000", 2, "virtio-pci"),
    ("0000:02:03.0", "0000:01:00.0", "0x8086", "0x10d3", "0x020000", 2, "nic-alt"),
    ("0000:00:02.0", None, "0x8086", "0x10d3", "0x020000", 3, "e1000e"),
    ("0000:00:1f.2", None, "0x8086", "0x2922", "0x010601", 4, "ahci"),
    ("0000:00:03.0", None, "0x1af4", "0x1041", "0x020000", 5, "virtio-pci"),
    ("0000:00:04.0", None, "0x8086", "0x100e", "0x020000", 6, "e1000"),
    ("0000:00:05.0", None, "0x8086", "0x10d3", "0x020000", 7, "e1000e"),
]

GROUP_OF = {d[0]: d[5] for d in DEVICES}
BRIDGES = {d[0] for d in DEVICES if d[4].startswith("0x0604") or d[4].startswith("0x0600")}


def relink(target, link):
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(os.path.relpath(target, os.path.dirname(link)), link)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_fixture(root, iommu=True, vfio=True, devices=DEVICES, aliases=None):
    """Build a fixture tree at root."""
    sysd = os.path.join(root, "sys")
    paths = {}
    for bdf, parent, ven, dev, cls, grp, drv in devices:
        base = paths[parent] if parent else os.path.join(sysd, "devices", "pci0000:00")
        d = os.path.join(base, bdf)
        paths[bdf] = d
        os.makedirs(d)
        write(os.path.join(d, "vendor"), ven + "\n")
        write(os.path.join(d, "device"), dev + "\n")
        write(os.path.join(d, "class"), cls + "\n")
        write(os.path.join(d, "subsystem_vendor"), ven + "\n")
        write(os.path.join(d, "subsystem_device"), "0x0001\n")
        cls_i = int(cls, 16)
        write(os.path.join(d, "modalias"),
              "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X\n"
              % (int(ven, 16), int(dev, 16), int(ven, 16), 1, cls_i >> 16, (cls_i >> 8) & 0xff, cls_i & 0xff))
        write(os.path.join(d, "driver_override"), "(null)\n")
        write(os.path.join(d, "uevent"), "%sPCI_CLASS=%X\nPCI_ID=%s:%s\nPCI_SUBSYS_ID=%s:0001\n"
              "PCI_SLOT_NAME=%s\nMODALIAS=%s\n"
              % ("DRIVER=%s\n" % drv if drv else "", cls_i, ven[2:].upper(), dev[2:].upper(),
                 ven[2:].upper(), bdf, open(os.path.join(d, "modalias")).read().strip()))
        if not cls.startswith("0x06"):
            write(os.path.join(d, "reset_method"), "flr bus\n")
        relink(d, os.path.join(sysd, "bus", "pci", "devices", bdf))
        if iommu:
            g = os.path.join(sysd, "kernel", "iommu_groups", str(grp))
            relink(d, os.path.join(g, "devices", bdf))
            relink(g, os.path.join(d, "iommu_group"))
    os.makedirs(os.path.join(sysd, "kernel", "iommu_groups"), exist_ok=True)
    drivers = [t for t in ID_TABLES if vfio or t[0] != "vfio-pci"]
    for name, _ in drivers:
        dd = os.path.join(sysd, "bus", "pci", "drivers", name)
        for attr in ("bind", "unbind", "new_id", "remove_id"):
            write(os.path.join(dd, attr), "")
    write(os.path.join(sysd, "bus", "pci", "drivers_probe"), "")
    for bdf, parent, ven, dev, cls, grp, drv in devices:
        if drv:
            dd = os.path.join(sysd, "bus", "pci", "drivers", drv)
            relink(dd, os.path.join(paths[bdf], "driver"))
            relink(paths[bdf], os.path.join(dd, bdf))
    write(os.path.join(root, "mock", "drivers"),
          "".join("%s %s\n" % (n, " ".join(ids)) for n, ids in ID_TABLES))
    os.makedirs(os.path.join(root, "dev", "vfio"), exist_ok=True)
    write(os.path.join(root, "dev", "vfio", "vfio"), "")
    write(os.path.join(root, "proc", "sys", "kernel", "osrelease"), "6.1.0-sim\n")
    # the root filesystem lives on a disk behind the SATA controller 00:1f.2,
    # and eth0 (00:05.0) is up with the default route
    if "0000:00:1f.2" in paths:
        blk = os.path.join(paths["0000:00:1f.2"], "ata1", "host0", "target0:0:0", "0:0:0:0", "block", "sda")
        write(os.path.join(blk, "dev"), "8:0\n")
        write(os.path.join(blk, "sda2", "dev"), "8:2\n")
        relink(os.path.join(blk, "sda2"), os.path.join(sysd, "dev", "block", "8:2"))
        relink(os.path.join(blk, "sda2"), os.path.join(sysd, "class", "block", "sda2"))
    if "0000:00:05.0" in paths:
        net = os.path.join(paths["0000:00:05.0"], "net", "eth0")
        write(os.path.join(net, "operstate"), "up\n")
        relink(net, os.path.join(sysd, "class", "net", "eth0"))
    write(os.path.join(root, "proc", "self", "mountinfo"),
          "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n"
          "23 22 0:21 / /proc rw,nosuid - proc proc rw\n")
    write(os.path.join(root, "proc", "net", "route"),
          "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
          "eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n")
    write(os.path.join(root, "proc", "cmdline"), "root=/dev/sda2 intel_iommu=on\n")
    write(os.path.join(root, "lib", "modules", "6.1.0-sim", "modules.alias"), aliases or
          "alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n"
          # vfio-pci's own catch-all line, as every Debian kernel has it
          "alias vfio_pci:v*d*sv*sd*bc*sc*i* vfio_pci\n")
    return root


def env_for(root, fault=None, log=None, extra=None):
    # LD_PRELOAD is given to iommuctl alone (see preload()), never to the
    # wrappers around it (sh, setpriv, unshare), which are not ASan builds
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env["IC_MOCK_ROOT"] = root
    # the ASan runtime must come first unless told this preload is fine
    asan = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "verify_asan_link_order=0"
    env.pop("IC_MOCK_FAULT", None)
    if fault:
        env["IC_MOCK_FAULT"] = fault
    if log:
        env["IC_MOCK_LOG"] = log
    if extra:
        env.update(extra)
    return env


def preload():
    """Command prefix that starts the next program with the mock kernel."""
    return ["env", "LD_PRELOAD=" + MOCK]


def run(root, *args, fault=None, log=None, state=None, prefix=(), extra_env=None, check=None):
    """Run iommuctl on the fixture; returns CompletedProcess (returncode < 0
    when killed by a signal)."""
    state = state or os.path.join(root, "state")
    cmd = list(prefix) + preload() + [IOMMUCTL, args[0], "--sysfs-root", root, "--state-dir", state] + list(args[1:])
    p = subprocess.run(cmd, env=env_for(root, fault, log, extra_env), capture_output=True, text=True,
                       timeout=120)
    if check is not None and p.returncode != check:
        raise AssertionError("%s -> %d (wanted %d)\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(cmd), p.returncode, check, p.stdout, p.stderr))
    return p


def run_json(root, *args, **kw):
    p = run(root, *args, "--json", **kw)
    return p, json.loads(p.stdout) if p.stdout.strip() else None


def driver(root, bdf):
    link = os.path.join(root, "sys", "bus", "pci", "devices", bdf, "driver")
    return os.path.basename(os.readlink(link)) if os.path.islink(link) else None


def override(root, bdf):
    with open(os.path.join(root, "sys", "bus", "pci", "devices", bdf, "driver_override")) as f:
        v = f.read().strip()
    return None if v == "(null)" else v


def state_of(root, devices=DEVICES):
    return {d[0]: (driver(root, d[0]), override(root, d[0])) for d in devices}


def vfio_node(root, group):
    return os.path.exists(os.path.join(root, "dev", "vfio", str(group)))


def split_groups(root, devices=DEVICES):
    """Groups with endpoints on a vfio driver and others on a host driver."""
    kinds = {}
    for bdf, _, _, _, cls, grp, _ in devices:
        if bdf in BRIDGES:
            continue
        drv = driver(root, bdf)
        if drv is None:
            continue
        kinds.setdefault(grp, set()).add("vfio" if "vfio" in drv else "host")
    return sorted(g for g, k in kinds.items() if len(k) > 1)


class Checks:
    def __init__(self):
        self.failed = 0
        self.passed = 0

    def ok(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL: %s%s" % (what, ("\n  " + detail.replace("\n", "\n  ")) if detail else ""))
        return cond

    def finish(self, name):
        print("%s: %d checks passed, %d failed" % (name, self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


def require_env():
    if not IOMMUCTL or not MOCK or not os.path.exists(MOCK):
        print("FAIL: IOMMUCTL and IC_MOCK_KERNEL must be set (run through meson test)")
        sys.exit(1)


def fresh(template, dest):
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(template, dest, symlinks=True)
    return dest
