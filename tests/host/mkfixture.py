#!/usr/bin/env python3
"""Build a fake sysfs/proc tree for iommuctl from a declarative fixture.

Usage: mkfixture.py FIXTURE.txt OUTDIR
       mkfixture.py --large N OUTDIR        (N functions: SR-IOV PFs + VFs)
       mkfixture.py --large-text N          (print the declarative text)

Fixture format: one statement per line, '#' comments, key=value words
(values may be "quoted").  Statements:

  host   kernel=REL arch=ARCH cmdline="..." domain=DMA memlock=SOFT:HARD
  iommu  intel|amd|smmuv3|none [unit=NAME] [cap=HEX ecap=HEX | features=HEX]
  firmware DMAR|IVRS|IORT ...
  vfio   [modules=vfio,vfio-pci] [builtin=...] [dev] [iommufd]
  dev    ADDR [parent=ADDR] class=CCSSPP id=VVVV:DDDD [sub=VVVV:DDDD] [rev=HEX]
         [group=N] [driver=NAME] [override=NAME] [pcie=root|downstream|upstream|
         endpoint|rciep|legacy|pcie2pci|none] [acs=on|off|none] [flr] [pm] [af]
         [mf] [bootvga] [numa=N] [reset="flr bus"] [sriov=TOTAL:NUM]
         [link=SPEED:WIDTH] [port=N] [broken=a,b,...]
  vfs    PFADDR count=N [group=FIRST] [driver=NAME] [id=VVVV:DDDD]
  mount  MOUNTPOINT FSTYPE dev=ADDR block=NAME majmin=M:m [via=dm-0]
  net    IFNAME dev=ADDR [default|route|v6|noaddr] [down]
  console fbcon|vgacon dev=ADDR
  junk   NAME                 (a non-address entry in sys/bus/pci/devices)

broken= takes: uevent-missing, uevent-garbage, config-truncated,
config-garbage, config-missing, group-dangling, numa-garbage, devlink-dangling.
Only the standard library is used, so the generator runs anywhere.
"""
import os
import shlex
import struct
import sys

PCIE_TYPES = {"endpoint": 0, "legacy": 1, "root": 4, "upstream": 5, "downstream": 6,
              "pcie2pci": 7, "rciep": 9}


def parse_words(words):
    pos, kv = [], {}
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            kv[k] = v
        else:
            pos.append(w)
    return pos, kv


def parse_addr(a):
    if a.count(":") == 1:
        a = "0000:" + a
    dom, bus, rest = a.split(":")
    slot, fn = rest.split(".")
    return "%04x:%02x:%02x.%x" % (int(dom, 16), int(bus, 16), int(slot, 16), int(fn, 16))


def addr_tuple(a):
    dom, bus, rest = a.split(":")
    slot, fn = rest.split(".")
    return int(dom, 16), int(bus, 16), int(slot, 16), int(fn, 16)


class Fixture:
    def __init__(self):
        self.host = {"kernel": "6.1.0-fixture", "arch": "x86_64", "cmdline": "BOOT_IMAGE=/vmlinuz root=/dev/sda1",
                     "domain": "DMA", "memlock": "8388608:8388608"}
        self.iommu = None
        self.firmware = []
        self.vfio = {"modules": "vfio,vfio_iommu_type1,vfio-pci,vfio-pci-core", "builtin": "", "dev": False,
                     "iommufd": False}
        self.devs = {}       # addr -> dict
        self.order = []
        self.mounts = []
        self.nets = []
        self.consoles = []
        self.junk = []

    def add_dev(self, addr, kv, flags):
        d = dict(kv)
        d["addr"] = addr
        d["flags"] = set(flags)
        self.devs[addr] = d
        self.order.append(addr)
        return d

    def load(self, text):
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip() if not raw.strip().startswith("#") else ""
            if not line:
                continue
            words = shlex.split(line)
            kind, rest = words[0], words[1:]
            pos, kv = parse_words(rest)
            try:
                self.statement(kind, pos, kv)
            except (KeyError, ValueError, IndexError) as e:
                sys.exit("fixture line %d: %s: %s" % (lineno, raw.strip(), e))

    def statement(self, kind, pos, kv):
        if kind == "host":
            self.host.update(kv)
        elif kind == "iommu":
            self.iommu = dict(kv)
            self.iommu["vendor"] = pos[0]
        elif kind == "firmware":
            self.firmware += pos
        elif kind == "vfio":
            self.vfio.update(kv)
            self.vfio["dev"] = "dev" in pos
            self.vfio["iommufd"] = "iommufd" in pos
        elif kind == "dev":
            self.add_dev(parse_addr(pos[0]), kv, pos[1:])
        elif kind == "vfs":
            pf = self.devs[parse_addr(pos[0])]
            self.add_vfs(pf, int(kv["count"]), kv)
        elif kind == "mount":
            self.mounts.append((pos[0], pos[1], kv))
        elif kind == "net":
            self.nets.append((pos[0], set(pos[1:]), kv))
        elif kind == "console":
            self.consoles.append((pos[0], kv))
        elif kind == "junk":
            self.junk.append(pos[0])
        else:
            raise ValueError("unknown statement " + kind)

    def add_vfs(self, pf, count, kv):
        dom, bus, slot, fn = addr_tuple(pf["addr"])
        rid = (bus << 8) | (slot << 3) | fn
        offset, stride = 1, 1
        pf["vf_offset"], pf["vf_stride"] = offset, stride
        total = max(count, int(pf.get("sriov", "%d:%d" % (count, count)).split(":")[0]))
        pf["sriov"] = "%d:%d" % (total, count)
        vid = kv.get("id", pf["id"].split(":")[0] + ":" + "%04x" % (int(pf["id"].split(":")[1], 16) + 1))
        first_group = int(kv["group"]) if "group" in kv else None
        vfs = []
        for i in range(count):
            r = rid + offset + i * stride
            a = "%04x:%02x:%02x.%x" % (dom, r >> 8, (r >> 3) & 0x1f, r & 7)
            d = {"class": pf["class"], "id": vid, "sub": pf.get("sub", "0000:0000"), "pcie": "endpoint",
                 "flr": "", "vf_of": pf["addr"]}
            if "parent" in pf:
                d["parent"] = pf["parent"]
            if first_group is not None:
                d["group"] = str(first_group + i)
            if "driver" in kv:
                d["driver"] = kv["driver"]
            self.add_dev(a, d, ["flr"])
            vfs.append(a)
        pf["vfs"] = vfs


# ---- config space -------------------------------------------------------------

def build_config(d):
    flags = d["flags"]
    broken = set(d.get("broken", "").split(",")) - {""}
    cls = int(d["class"], 16)
    pcie = d.get("pcie", "none")
    bridge = (cls >> 8) in (0x0604, 0x0609) or pcie in ("root", "downstream", "upstream", "pcie2pci")
    extended = pcie != "none"
    cfg = bytearray(4096 if extended else 256)
    vid, did = (int(x, 16) for x in d["id"].split(":"))
    if "vf_of" in d:
        vid = did = 0xffff  # VFs read all ones in vendor/device
    struct.pack_into("<HH", cfg, 0, vid, did)
    struct.pack_into("<H", cfg, 6, 0x0010)  # capability list
    cfg[8] = int(d.get("rev", "01"), 16)
    cfg[9], cfg[10], cfg[11] = cls & 0xff, (cls >> 8) & 0xff, (cls >> 16) & 0xff
    cfg[0x0e] = (1 if bridge else 0) | (0x80 if "mf" in flags else 0)
    if not bridge:
        sv, sd = (int(x, 16) for x in d.get("sub", "0000:0000").split(":"))
        struct.pack_into("<HH", cfg, 0x2c, sv, sd)
    cfg[0x34] = 0x40
    # PM capability at 0x40 -> PCIe at 0x50 -> AF at 0x90
    nxt = 0x50 if pcie != "none" else (0x90 if "af" in flags else 0)
    cfg[0x40], cfg[0x41] = 0x01, nxt
    struct.pack_into("<H", cfg, 0x44, 0x0000 if "pm" in flags else 0x0008)
    if pcie != "none":
        t = PCIE_TYPES[pcie]
        cfg[0x50], cfg[0x51] = 0x10, (0x90 if "af" in flags else 0)
        struct.pack_into("<H", cfg, 0x52, (t << 4) | 2)
        struct.pack_into("<I", cfg, 0x54, (1 << 28) if "flr" in flags else 0)
        speed, width = (int(x) for x in d.get("link", "3:4").split(":"))
        port = int(d.get("port", "0"))
        if t not in (9, 10):
            struct.pack_into("<I", cfg, 0x5c, (port << 24) | (width << 4) | speed)
            struct.pack_into("<H", cfg, 0x62, (width << 4) | speed)
    if "af" in flags:
        cfg[0x90], cfg[0x91], cfg[0x93] = 0x13, 0, 0x03
    if extended:
        acs = d.get("acs", "on" if pcie in ("root", "downstream") else "none")
        pos = 0x100
        caps = []
        if acs != "none":
            caps.append("acs")
        if "sriov" in d:
            caps.append("sriov")
        for i, c in enumerate(caps):
            nxt = pos + 0x40 if i + 1 < len(caps) else 0
            if c == "acs":
                struct.pack_into("<I", cfg, pos, 0x0d | (1 << 16) | (nxt << 20))
                struct.pack_into("<HH", cfg, pos + 4, 0x005f, 0x001d if acs == "on" else 0)
            else:
                total, num = (int(x) for x in d["sriov"].split(":"))
                struct.pack_into("<I", cfg, pos, 0x10 | (1 << 16) | (nxt << 20))
                struct.pack_into("<HH", cfg, pos + 0x0e, total, num)
                struct.pack_into("<HH", cfg, pos + 0x14, d.get("vf_offset", 1), d.get("vf_stride", 1))
            pos += 0x40
    if "config-truncated" in broken:
        return bytes(cfg[:20])
    if "config-garbage" in broken:
        g = bytearray(os.urandom(4096))
        g[0x06] = 0x10
        g[0x0e] = 0x00
        g[0x34] = 0x40
        g[0x40], g[0x41] = 0x10, 0x40        # a capability that points at itself
        struct.pack_into("<I", g, 0x100, 0x0d | (0x100 << 20))  # ext cap loop
        return bytes(g)
    return bytes(cfg)


# ---- tree writer ------------------------------------------------------------------

class Writer:
    def __init__(self, fx, root):
        self.fx, self.root = fx, os.path.abspath(root)

    def p(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def write(self, rel, data):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)

    def link(self, rel, target_rel):
        path = self.p(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        target = os.path.relpath(self.p(target_rel), os.path.dirname(path))
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)

    def devpath(self, addr, guard=0):
        d = self.fx.devs.get(addr)
        if d is None or guard > 32:
            dom, bus, _, _ = addr_tuple(addr)
            return "/sys/devices/pci%04x:%02x" % (dom, bus)
        if "parent" in d:
            return self.devpath(parse_addr(d["parent"]), guard + 1) + "/" + addr
        dom, bus, _, _ = addr_tuple(addr)
        return "/sys/devices/pci%04x:%02x/%s" % (dom, bus, addr)

    def run(self):
        fx = self.fx
        groups = {}
        for addr in fx.order:
            d = fx.devs[addr]
            self.device(addr, d)
            if "group" in d:
                groups.setdefault(int(d["group"]), []).append(addr)
        for junk in fx.junk:
            self.write("/sys/bus/pci/devices/" + junk, "not a device\n")
        os.makedirs(self.p("/sys/kernel/iommu_groups"), exist_ok=True)
        for n, members in groups.items():
            g = "/sys/kernel/iommu_groups/%d" % n
            self.write(g + "/type", fx.host["domain"] + "\n")
            self.write(g + "/reserved_regions", "0x00000000fee00000 0x00000000feefffff msi\n")
            for a in members:
                self.link(g + "/devices/" + a, self.devpath(a))
        self.host_files()

    def device(self, addr, d):
        fx = self.fx
        flags = d["flags"]
        broken = set(d.get("broken", "").split(",")) - {""}
        dp = self.devpath(addr)
        os.makedirs(self.p(dp), exist_ok=True)
        if "devlink-dangling" in broken:
            self.link("/sys/bus/pci/devices/" + addr, dp + "-gone")
            return
        self.link("/sys/bus/pci/devices/" + addr, dp)
        cls = int(d["class"], 16)
        vid, did = d["id"].split(":")
        sv, sd = d.get("sub", "0000:0000").split(":")
        drv = d.get("driver")
        modalias = "pci:v0000%sd0000%ssv0000%ssd0000%sbc%02Xsc%02Xi%02X" % (
            vid.upper(), did.upper(), sv.upper(), sd.upper(), cls >> 16, (cls >> 8) & 0xff, cls & 0xff)
        if "uevent-garbage" in broken:
            self.write(dp + "/uevent", "PCI_CLASS=zzz\nPCI_ID=nonsense\n\x00\x01garbage")
        elif "uevent-missing" not in broken:
            ue = ""
            if drv:
                ue += "DRIVER=%s\n" % drv
            ue += "PCI_CLASS=%X\nPCI_ID=%s:%s\nPCI_SUBSYS_ID=%s:%s\nPCI_SLOT_NAME=%s\nMODALIAS=%s\n" % (
                cls, vid.upper(), did.upper(), sv.upper(), sd.upper(), addr, modalias)
            self.write(dp + "/uevent", ue)
        self.write(dp + "/class", "0x%06x\n" % cls)
        self.write(dp + "/vendor", "0x%s\n" % vid.lower())
        self.write(dp + "/device", "0x%s\n" % did.lower())
        self.write(dp + "/subsystem_vendor", "0x%s\n" % sv.lower())
        self.write(dp + "/subsystem_device", "0x%s\n" % sd.lower())
        self.write(dp + "/modalias", modalias + "\n")
        self.write(dp + "/driver_override", (d.get("override") or "(null)") + "\n")
        self.write(dp + "/numa_node", "abc\n" if "numa-garbage" in broken else "%s\n" % d.get("numa", "-1"))
        self.write(dp + "/resource", "0x0000000000000000 0x0000000000000000 0x0000000000000000\n")
        if "reset" in d:
            self.write(dp + "/reset_method", d["reset"] + "\n")
        if (cls >> 8) == 0x0300:
            self.write(dp + "/boot_vga", "1\n" if "bootvga" in flags else "0\n")
        if "config-missing" not in broken:
            self.write(dp + "/config", build_config(d))
        if drv:
            os.makedirs(self.p("/sys/bus/pci/drivers/" + drv), exist_ok=True)
            self.link(dp + "/driver", "/sys/bus/pci/drivers/" + drv)
        if "group-dangling" in broken:
            self.link(dp + "/iommu_group", "/sys/kernel/iommu_groups/999")
        elif "group" in d:
            self.link(dp + "/iommu_group", "/sys/kernel/iommu_groups/" + d["group"])
        if "sriov" in d:
            total, num = d["sriov"].split(":")
            self.write(dp + "/sriov_totalvfs", total + "\n")
            self.write(dp + "/sriov_numvfs", num + "\n")
            for i, vf in enumerate(d.get("vfs", [])):
                self.link("%s/virtfn%d" % (dp, i), self.devpath(vf))
        if "vf_of" in d:
            self.link(dp + "/physfn", self.devpath(d["vf_of"]))

    def host_files(self):
        fx, h = self.fx, self.fx.host
        rel = h["kernel"]
        self.write("/proc/sys/kernel/osrelease", rel + "\n")
        self.write("/proc/sys/kernel/arch", h["arch"] + "\n")
        self.write("/proc/cmdline", h["cmdline"] + "\n")
        soft, hard = h["memlock"].split(":")
        self.write("/proc/self/limits",
                   "Limit                     Soft Limit           Hard Limit           Units     \n"
                   "Max open files            1024                 1048576              files     \n"
                   "Max locked memory         %-20s %-20s bytes     \n" % (soft, hard))
        for t in fx.firmware:
            self.write("/sys/firmware/acpi/tables/" + t, t.encode() + b"\x00" * 44)
        io = fx.iommu
        if io and io["vendor"] != "none":
            unit = io.get("unit", {"intel": "dmar0", "amd": "ivhd0", "smmuv3": "smmu3.0x0000000009050000"}
                          .get(io["vendor"], "iommu0"))
            target = "/sys/devices/virtual/iommu/" + unit
            self.link("/sys/class/iommu/" + unit, target)
            if io["vendor"] == "intel":
                self.write(target + "/intel-iommu/cap", io.get("cap", "d2008c40660462") + "\n")
                self.write(target + "/intel-iommu/ecap", io.get("ecap", "f050da") + "\n")
            elif io["vendor"] == "amd":
                self.write(target + "/amd-iommu/features", io.get("features", "246577efa2254afa") + "\n")
                self.write(target + "/amd-iommu/cap", io.get("cap", "190b0f") + "\n")
        else:
            os.makedirs(self.p("/sys/class/iommu"), exist_ok=True)
        mods = [m for m in fx.vfio["modules"].split(",") if m]
        dep = "".join("kernel/drivers/vfio/%s.ko: \n" % m for m in mods)
        dep += "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko:\n"
        self.write("/lib/modules/%s/modules.dep" % rel, dep)
        self.write("/lib/modules/%s/modules.builtin" % rel,
                   "".join("kernel/drivers/vfio/%s.ko\n" % m for m in fx.vfio["builtin"].split(",") if m))
        if fx.vfio["dev"]:
            self.write("/dev/vfio/vfio", "")
        if fx.vfio["iommufd"]:
            self.write("/dev/iommu", "")
        mi = ["22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw",
              "23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw"]
        os.makedirs(self.p("/sys/dev/block"), exist_ok=True)
        for i, (mnt, fstype, kv) in enumerate(fx.mounts):
            majmin = kv["majmin"]
            blk = kv["block"]
            if "via" in kv:
                virt = "/sys/devices/virtual/block/" + kv["via"]
                self.link("/sys/dev/block/" + majmin, virt)
                disk = self.devpath(parse_addr(kv["dev"])) + "/block/" + blk
                self.link(virt + "/slaves/" + blk, disk)
                os.makedirs(self.p(disk), exist_ok=True)
                src = "/dev/mapper/" + kv["via"]
            else:
                self.link("/sys/dev/block/" + majmin, self.devpath(parse_addr(kv["dev"])) + "/block/" + blk)
                src = "/dev/" + blk
            mi.append("%d 1 %s / %s rw,relatime shared:%d - %s %s rw" % (30 + i, majmin, mnt.replace(" ", "\\040"),
                                                                           i + 1, fstype, src))
        self.write("/proc/self/mountinfo", "\n".join(mi) + "\n")
        route = ["Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"]
        v6 = []
        os.makedirs(self.p("/sys/class/net"), exist_ok=True)
        for ifname, words, kv in fx.nets:
            target = self.devpath(parse_addr(kv["dev"])) + "/net/" + ifname
            self.link("/sys/class/net/" + ifname, target)
            self.write(target + "/operstate", ("down" if "down" in words else "up") + "\n")
            if "default" in words:
                route.append("%s\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0" % ifname)
            if "default" in words or "route" in words:
                route.append("%s\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0" % ifname)
            if "v6" in words:
                v6.append("20010db8000000000000000000000001 02 40 00 80 %8s" % ifname)
        self.write("/proc/net/route", "\n".join(route) + "\n")
        self.write("/proc/net/if_inet6", "\n".join(v6) + ("\n" if v6 else ""))
        for i, (kind, kv) in enumerate(fx.consoles):
            vt = "/sys/devices/virtual/vtconsole/vtcon%d" % i
            self.link("/sys/class/vtconsole/vtcon%d" % i, vt)
            self.write(vt + "/bind", "1\n")
            self.write(vt + "/name", "(M) frame buffer device\n" if kind == "fbcon" else "(S) VGA+\n")
            if kind == "fbcon":
                self.link("/sys/class/graphics/fb%d" % i, self.devpath(parse_addr(kv["dev"])) + "/graphics/fb%d" % i)


def large_text(n):
    """N functions: a host bridge, then root ports each holding an SR-IOV NIC
    (PF + up to 63 VFs, every function its own group), like a big NFV host."""
    lines = ["# generated: %d functions" % n,
             'host kernel=6.1.0-large cmdline="intel_iommu=on iommu=pt" domain=identity',
             "iommu intel", "firmware DMAR", "vfio dev iommufd",
             "dev 0000:00:00.0 class=060000 id=8086:09a2 group=0"]
    left, group, rp = n - 1, 1, 0
    while left > 0:
        slot, fn = 1 + rp // 8, rp % 8
        bus = rp + 1
        if bus > 0xff:
            raise SystemExit("too many functions for one domain")
        lines.append("dev 0000:00:%02x.%x class=060400 id=8086:347a group=%d driver=pcieport pcie=root mf port=%d"
                     % (slot, fn, group, rp))
        group += 1
        left -= 1
        if left <= 0:
            break
        vfs = min(63, left - 1)
        lines.append("dev 0000:%02x:00.0 parent=0000:00:%02x.%x class=020000 id=8086:1592 sub=8086:0002 group=%d "
                     "driver=ice pcie=endpoint flr pm acs=on sriov=64:%d" % (bus, slot, fn, group, vfs))
        group += 1
        left -= 1
        if vfs > 0:
            lines.append("vfs 0000:%02x:00.0 count=%d group=%d driver=iavf" % (bus, vfs, group))
            group += vfs
            left -= vfs
        rp += 1
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) == 3 and argv[1] == "--large-text":
        sys.stdout.write(large_text(int(argv[2])))
        return 0
    if len(argv) == 4 and argv[1] == "--large":
        text = large_text(int(argv[2]))
        out = argv[3]
    elif len(argv) == 3:
        with open(argv[1]) as f:
            text = f.read()
        out = argv[2]
    else:
        sys.stderr.write(__doc__)
        return 2
    fx = Fixture()
    fx.load(text)
    if os.path.exists(out):
        import shutil
        shutil.rmtree(out)
    Writer(fx, out).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
