#!/usr/bin/env python3
"""Integration tests of the host verbs on generated fixture trees (TAP).

Each fixture in tests/host/fixtures/*.txt is built with mkfixture.py into
$IOMMUCTL_BUILDDIR/host-fixtures/<name>, then `iommuctl` runs with
--sysfs-root on it and the test asserts verdicts, JSON, XML, DOT, check
results, exit codes and the snapshot round trip.  Standard library only.
"""
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

IOMMUCTL = os.environ["IOMMUCTL"]
SRC = os.environ["IOMMUCTL_SRCDIR"]
BUILD = os.environ["IOMMUCTL_BUILDDIR"]
HERE = os.path.join(SRC, "tests", "host")
OUT = os.path.join(BUILD, "host-fixtures")

results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond), detail))


def build(name):
    dest = os.path.join(OUT, name)
    subprocess.run([sys.executable, os.path.join(HERE, "mkfixture.py"),
                    os.path.join(HERE, "fixtures", name + ".txt"), dest], check=True)
    return dest


def run(root, *args, expect=None):
    p = subprocess.run([IOMMUCTL, *args, "--sysfs-root", root], capture_output=True, text=True)
    if expect is not None and p.returncode != expect:
        check("exit %s of %s on %s" % (expect, " ".join(args), os.path.basename(root)), False,
              "rc=%d stderr=%s" % (p.returncode, p.stderr[-400:]))
    return p


def js(root, *args, expect=0):
    p = run(root, *args, "--json", expect=expect)
    return json.loads(p.stdout)


def groups_by_number(doc):
    return {g["number"]: g for g in doc["groups"]}


def reason_texts(g):
    return " | ".join(r["text"] for r in g["reasons"])


def test_laptop():
    r = build("laptop")
    doc = js(r, "report")
    check("laptop: report schema", doc["schema"] == "iommuctl.report" and doc["version"] == 1)
    g = groups_by_number(doc)
    check("laptop: iGPU group is host-in-use (fbcon)", g[1]["verdict"] == "host-in-use" and "fbcon" in reason_texts(g[1]),
          reason_texts(g[1]))
    check("laptop: NVMe group is host-in-use (/)", g[9]["verdict"] == "host-in-use" and "/ (ext4)" in reason_texts(g[9]))
    nvme = g[9]["members"][0]
    check("laptop: NVMe holds_root_fs", nvme["holds_root_fs"] is True)
    check("laptop: NVMe reset methods and FLR", nvme["reset"]["methods"] == ["flr", "bus"] and nvme["reset"]["flr"])
    check("laptop: NVMe parent chain", nvme["parent_chain"] == ["0000:00:1c.0"] and nvme["root_bus"] == "pci0000:00")
    check("laptop: Wi-Fi host-in-use (default route)", "default route" in reason_texts(g[6]))
    check("laptop: PCH group needs detach with 4 members",
          g[8]["verdict"] == "needs-detach" and len(g[8]["members"]) == 4, reason_texts(g[8]))
    check("laptop: root port group assignable but nothing to assign", g[3]["verdict"] == "assignable")
    h = doc["host"]
    check("laptop: intel, IR on, MGAW 39", h["iommu"]["vendor"] == "intel" and h["iommu"]["interrupt_remapping"] is True
          and h["iommu"]["address_width"] == 39, json.dumps(h["iommu"]))
    check("laptop: cmdline flag intel_iommu=on", h["cmdline_flags"]["intel_iommu"] == "on")
    check("laptop: default domain DMA-FQ", h["iommu"]["default_domain_type"] == "DMA-FQ")
    check("laptop: no assignable groups", h["iommu"]["assignable_groups"] == 0)
    check("laptop: ready (no FAIL)", doc["ready"] is True)
    # XML of the NVMe in libvirt's element order
    p = run(r, "show", "0000:02:00.0", "--xml", expect=0)
    x = ET.fromstring(p.stdout)
    cap = x.find("capability")
    order = [c.tag for c in cap]
    check("laptop: nodedev XML element order",
          order == ["class", "domain", "bus", "slot", "function", "product", "vendor", "iommuGroup", "numa",
                    "pci-express"], str(order))
    check("laptop: nodedev name/parent/driver", x.findtext("name") == "pci_0000_02_00_0"
          and x.findtext("parent") == "pci_0000_00_1c_0" and x.findtext("driver/name") == "nvme")
    check("laptop: nodedev path", x.findtext("path") == "/sys/devices/pci0000:00/0000:00:1c.0/0000:02:00.0")
    ig = cap.find("iommuGroup")
    a = ig.find("address")
    check("laptop: iommuGroup number and address", ig.get("number") == "9" and a.attrib ==
          {"domain": "0x0000", "bus": "0x02", "slot": "0x00", "function": "0x0"}, str(a.attrib))
    link = cap.find("pci-express/link[@validity='cap']")
    check("laptop: pci-express link cap", link is not None and link.get("speed") == "16" and link.get("width") == "4")
    check("laptop: product/vendor names", cap.find("vendor").get("id") == "0x144d" and cap.findtext("vendor"))
    # show a group, text
    p = run(r, "show", "8", expect=0)
    check("laptop: show group text lists members", "0000:00:1f.3" in p.stdout and "needs detach" in p.stdout)
    p = run(r, "groups", expect=0)
    check("laptop: no colour when piped", "\033[" not in p.stdout)


def test_workstation():
    r = build("workstation")
    doc = js(r, "groups")
    g = groups_by_number(doc)
    check("workstation: groups schema", doc["schema"] == "iommuctl.groups")
    check("workstation: GPU+HDA pair in one group",
          [m["address"] for m in g[7]["members"]] == ["0000:0a:00.0", "0000:0a:00.1"])
    check("workstation: boot GPU with vgacon is host-in-use", g[7]["verdict"] == "host-in-use", reason_texts(g[7]))
    check("workstation: pair is not 'not isolated' (same slot)",
          all(r_["kind"] != "not-isolated" for r_ in g[7]["reasons"]))
    check("workstation: vfio-pci pair assignable", g[8]["verdict"] == "assignable" and g[8]["reasons"] == [])
    check("workstation: host bridges are not counted assignable", doc["assignable_groups"] == 1, doc["assignable_groups"])
    rep = js(r, "report")
    h = rep["host"]
    check("workstation: amd, iommufd, identity", h["iommu"]["vendor"] == "amd" and h["vfio"]["dev_iommu"] is True
          and h["iommu"]["default_domain_type"] == "identity")
    check("workstation: memlock unlimited", h["memlock"] == {"soft": "unlimited", "hard": "unlimited"})
    dev = js(r, "show", "0a:00.1")
    check("workstation: show device JSON", dev["schema"] == "iommuctl.device" and dev["device"]["address"] == "0000:0a:00.1"
          and dev["group"]["number"] == 7)
    check("workstation: driver_override read with details",
          js(r, "show", "0b:00.0")["device"]["driver_override"] == "vfio-pci")


def test_server():
    r = build("server-switch")
    doc = js(r, "report")
    g = groups_by_number(doc)
    kinds = {x["kind"] for x in g[2]["reasons"]}
    check("server: switch group has host-in-use and not-isolated", g[2]["verdict"] == "host-in-use"
          and "not-isolated" in kinds, reason_texts(g[2]))
    ports = {x["device"] for x in g[2]["reasons"] if x["kind"] == "not-isolated"}
    check("server: names the ports lacking ACS", ports == {"0000:02:08.0", "0000:02:09.0", "0000:02:0a.0"}, str(ports))
    check("server: PCIe-to-PCI bridge group not isolated", g[10]["verdict"] == "not-isolated"
          and g[10]["reasons"][0]["device"] == "0000:0a:00.0", reason_texts(g[10]))
    check("server: ACS switch isolates: A100 unbound assignable", g[8]["verdict"] == "assignable")
    check("server: root on LVM traced through dm-0 slaves", g[14]["verdict"] == "host-in-use"
          and g[14]["members"][0]["holds_root_fs"] is True, reason_texts(g[14]))
    check("server: NIC pair host-in-use via eno1", g[12]["verdict"] == "host-in-use" and "eno1" in reason_texts(g[12]))
    check("server: eno2 without address is not host use",
          "eno2" not in reason_texts(g[12]))
    sw = [m for m in g[2]["members"] if m["address"] == "0000:02:0a.0"][0]
    check("server: ACS control 0 reported", sw["acs"] == {"cap": "0x005f", "ctrl": "0x0000"}, str(sw["acs"]))
    check("server: MGAW 48", doc["host"]["iommu"]["address_width"] == 48)
    # dot
    p = run(r, "groups", "--dot", expect=0)
    check("server: dot has clusters and marks", "subgraph cluster_group2" in p.stdout and "color=red" in p.stdout
          and "\"pci0000:00\"" in p.stdout)
    if shutil.which("dot"):
        d = subprocess.run(["dot", "-Tsvg"], input=p.stdout, capture_output=True, text=True)
        check("server: dot renders", d.returncode == 0 and "<svg" in d.stdout, d.stderr[-300:])
    # snapshot round trip: the snapshot of a tree reproduces its report
    snap = os.path.join(OUT, "server-switch.snapshot")
    shutil.rmtree(snap, ignore_errors=True)
    p = run(r, "snapshot", snap, expect=0)
    check("server: snapshot written", os.path.isdir(os.path.join(snap, "sys/bus/pci/devices")))
    check("server: snapshot has no resource files",
          not any("resource" in f for _, _, fs in os.walk(snap) for f in fs))
    check("server: snapshot keeps links as links",
          os.path.islink(os.path.join(snap, "sys/bus/pci/devices/0000:03:00.0")))
    a = js(r, "report")
    b = js(snap, "report")
    strip = lambda d: json.loads(json.dumps(d).replace(r, "ROOT").replace(snap, "ROOT"))
    check("server: snapshot reproduces the report", strip(a) == strip(b))


def test_sriov():
    r = build("nic-sriov")
    pf = js(r, "show", "3b:00.0")["device"]
    check("sriov: PF 128/128 VFs", pf["sriov"]["totalvfs"] == 128 and pf["sriov"]["numvfs"] == 128
          and len(pf["sriov"]["vfs"]) == 128, str(pf["sriov"]["totalvfs"]))
    vf = js(r, "show", "3b:10.0")["device"]
    check("sriov: last VF links back to PF", vf["physfn"] == "0000:3b:00.0")
    x = ET.fromstring(run(r, "show", "3b:00.0", "--xml", expect=0).stdout)
    vfc = x.find("capability/capability[@type='virt_functions']")
    check("sriov: XML virt_functions maxCount 128 with 128 addresses", vfc is not None and vfc.get("maxCount") == "128"
          and len(vfc.findall("address")) == 128)
    x = ET.fromstring(run(r, "show", "3b:00.1", "--xml", expect=0).stdout)
    pfa = x.find("capability/capability[@type='phys_function']/address")
    check("sriov: VF XML phys_function", pfa is not None and pfa.get("bus") == "0x3b" and pfa.get("function") == "0x0")
    doc = js(r, "groups")
    check("sriov: 133 groups", len(doc["groups"]) == 133, len(doc["groups"]))
    ice = js(r, "show", "5e:00.0")["device"]
    check("sriov: PF with 0 VFs enabled", ice["sriov"]["totalvfs"] == 256 and ice["sriov"]["vfs"] == [])
    x = ET.fromstring(run(r, "show", "5e:00.0", "--xml", expect=0).stdout)
    vfc = x.find("capability/capability[@type='virt_functions']")
    check("sriov: XML virt_functions with no VF", vfc is not None and vfc.get("maxCount") == "256"
          and not vfc.findall("address"))


def test_noiommu():
    r = build("noiommu")
    p = run(r, "check", expect=1)
    check("noiommu: check FAILs iommu-enabled with the fix", "FAIL" in p.stdout and "intel_iommu=on" in p.stdout
          and "remove intel_iommu=off" in p.stdout, p.stdout)
    doc = js(r, "check", expect=1)
    st = {c["id"]: c["status"] for c in doc["checks"]}
    check("noiommu: check JSON", doc["ready"] is False and st["iommu-enabled"] == "FAIL" and st["firmware-iommu"] == "PASS")
    for c in doc["checks"]:
        if c["status"] in ("WARN", "FAIL"):
            check("noiommu: %s has a fix" % c["id"], c["fix"])
    g = js(r, "groups")
    check("noiommu: no groups, 4 ungrouped", g["groups"] == [] and len(g["ungrouped"]) == 4 and not g["iommu_enabled"])
    x = ET.fromstring(run(r, "show", "00:1f.6", "--xml", expect=0).stdout)
    check("noiommu: XML has no iommuGroup", x.find("capability/iommuGroup") is None)
    p = run(r, "report", expect=0)
    check("noiommu: report says NOT READY", "NOT READY" in p.stdout)


def test_broken():
    r = build("broken")
    p = run(r, "report", expect=0)
    check("broken: report survives", "0000:00:07.0" in p.stdout and "truncated" in p.stdout, p.stderr[-300:])
    doc = js(r, "report")
    devs = {m["address"]: m for g in doc["groups"] for m in g["members"]}
    devs.update({m["address"]: m for m in doc["ungrouped"]})
    check("broken: all 8 devices reported", len(devs) == 8, sorted(devs))
    check("broken: truncated config noted", any("truncated" in n for n in devs["0000:01:00.0"]["notes"]))
    check("broken: looping capabilities noted", any("loops" in n for n in devs["0000:00:03.0"]["notes"]))
    check("broken: missing uevent falls back to id files", devs["0000:00:04.0"]["vendor_id"] == "0x8086")
    check("broken: garbage uevent noted", any("PCI_CLASS=zzz" in n for n in devs["0000:00:05.0"]["notes"]))
    check("broken: dangling group noted", any("999" in n for n in devs["0000:00:06.0"]["notes"]))
    check("broken: garbage numa noted", any("numa_node" in n for n in devs["0000:00:06.0"]["notes"]))
    check("broken: dangling device link noted", devs["0000:00:07.0"]["notes"] != [])
    check("broken: junk entry is a host note", any("not-a-device" in n for n in doc["host"]["notes"]))
    check("broken: unparsable cap register noted", any("intel-iommu/cap" in n for n in doc["host"]["notes"]))
    for a in devs:
        run(r, "show", a, "--xml", expect=0)
        run(r, "show", a, expect=0)
    run(r, "groups", "--dot", expect=0)


def test_errors():
    r = os.path.join(OUT, "laptop")
    p = run(r, "show", "zz:zz.z")
    check("errors: invalid address exits 2", p.returncode == 2 and "invalid PCI address" in p.stderr, p.stderr)
    p = run(r, "show", "0000:77:00.0")
    check("errors: unknown device exits 2", p.returncode == 2 and "no PCI device 0000:77:00.0" in p.stderr, p.stderr)
    p = run(r, "show", "4242")
    check("errors: unknown group exits 2", p.returncode == 2 and "no IOMMU group 4242" in p.stderr, p.stderr)
    p = run(r, "show")
    check("errors: missing argument exits 2", p.returncode == 2)
    p = run(os.path.join(OUT, "does-not-exist"), "groups")
    check("errors: missing sysfs root names the path", p.returncode == 2 and "does-not-exist" in p.stderr, p.stderr)
    p = run(r, "show", "pci_0000_02_00_0", expect=0)
    check("errors: libvirt nodedev name accepted", "0000:02:00.0" in p.stdout)


def test_guest_capture():
    # a real tree: captured with `iommuctl snapshot` in a guest-run guest
    # (intel-iommu, pxb-pcie + root ports, pcie-pci-bridge); committed
    r = os.path.join(SRC, "tests", "fixtures", "host-guest-intel-pxb")
    doc = js(r, "report")
    g = groups_by_number(doc)
    check("capture: 19 groups from a real kernel", len(g) == 19, sorted(g))
    check("capture: real intel cap/ecap: MGAW 39, IR on", doc["host"]["iommu"]["address_width"] == 39
          and doc["host"]["iommu"]["interrupt_remapping"] is True)
    check("capture: kernel release from the snapshot", doc["host"]["kernel_release"].startswith("6.1."))
    members = lambda n: [m["address"] for m in g[n]["members"]]
    check("capture: ICH9 functions share a group", members(10) == ["0000:00:1f.0", "0000:00:1f.2", "0000:00:1f.3"])
    check("capture: pcie-pci-bridge group not isolated", g[14]["verdict"] == "not-isolated")
    check("capture: RCiEP e1000e and virtio on 00:06 split", members(5) == ["0000:00:06.0"]
          and members(6) == ["0000:00:06.1"])
    dev = js(r, "show", "0000:21:00.0")["device"]
    check("capture: pxb root port chain", dev["parent_chain"] == ["0000:20:00.0"] and dev["root_bus"] == "pci0000:20",
          dev["parent_chain"])
    check("capture: real config space parsed", dev["pcie_type"] == "endpoint" and dev["header_type"] == "endpoint")
    rp = js(r, "show", "0000:20:00.0")["device"]
    check("capture: QEMU root port ACS enabled", rp["pcie_type"] == "root-port" and rp["acs"] is not None
          and int(rp["acs"]["ctrl"], 16) & 0x1d == 0x1d, rp["acs"])
    x = ET.fromstring(run(r, "show", "0000:21:00.0", "--xml", expect=0).stdout)
    check("capture: nodedev parent and link", x.findtext("parent") == "pci_0000_20_00_0"
          and x.find("capability/pci-express/link[@validity='cap']") is not None)


def test_real_host_snapshot():
    # whatever this machine is: a snapshot of it reproduces its report
    snap = os.path.join(OUT, "this-host.snapshot")
    shutil.rmtree(snap, ignore_errors=True)
    p = subprocess.run([IOMMUCTL, "snapshot", snap], capture_output=True, text=True)
    check("this host: snapshot succeeds", p.returncode == 0, p.stderr)
    live = subprocess.run([IOMMUCTL, "report", "--json"], capture_output=True, text=True)
    again = subprocess.run([IOMMUCTL, "report", "--json", "--sysfs-root", snap], capture_output=True, text=True)
    check("this host: snapshot reproduces the report",
          live.stdout and json.loads(live.stdout) == json.loads(again.stdout.replace(snap, ""))
          if again.returncode == 0 and live.returncode == 0 else False, live.stderr + again.stderr)


def test_large():
    # 1024 functions keep the test quick on a loaded machine; bench/inventory
    # runs the 4096-function tree of the issue
    dest = os.path.join(OUT, "large")
    subprocess.run([sys.executable, os.path.join(HERE, "mkfixture.py"), "--large", "1024", dest], check=True)
    doc = js(dest, "groups")
    n = sum(len(g["members"]) for g in doc["groups"])
    check("large: 1024 functions in groups", n == 1024, n)
    check("large: VFs need detach from iavf", groups_by_number(doc)[3]["verdict"] == "needs-detach")


def main():
    os.makedirs(OUT, exist_ok=True)
    tests = [test_laptop, test_workstation, test_server, test_sriov, test_noiommu, test_broken, test_errors,
             test_guest_capture, test_real_host_snapshot]
    if "--large" in sys.argv:
        tests = [test_large]
    for t in tests:
        try:
            t()
        except Exception as e:  # a crash of one group must not hide the others
            check(t.__name__ + " raised", False, repr(e))
    print("1..%d" % len(results))
    failed = 0
    for i, (name, ok, detail) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok:
            failed += 1
            for line in str(detail).splitlines()[:20]:
                print("# " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
