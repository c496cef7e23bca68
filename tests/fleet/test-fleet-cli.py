#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Offline checks of the fleet verbs on the fixture tree, each against its
engine's documented format where the engine does not run here: NFD's
features.d lines and label-name rules, KubeVirt's pciHostDevices, Proxmox's
pci.cfg SectionConfig syntax.  Also the verb tree and the error paths."""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleetcheck import IOMMUCTL, FIXTURE, failures, check, run  # noqa: E402


# Kubernetes' rules as NFD applies them (IsQualifiedName / IsValidLabelValue)
NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def valid_key(key):
    prefix, _, name = key.rpartition("/")
    if "/" in prefix:
        return False
    if prefix and (len(prefix) > 253 or not all(DNS_LABEL.fullmatch(p) and len(p) <= 63 for p in prefix.split("."))):
        return False
    return len(name) <= 63 and NAME.fullmatch(name) is not None


def valid_value(v):
    return v == "" or (len(v) <= 63 and NAME.fullmatch(v) is not None)


def denied_namespace(key):
    ns = key.rpartition("/")[0]
    allowed = ("feature.node.kubernetes.io", "profile.node.kubernetes.io")
    if any(ns == a or ns.endswith("." + a) for a in allowed):
        return False
    return ns == "kubernetes.io" or ns.endswith(".kubernetes.io")


def test_nfd():
    rc, out, err = run("export", "nfd", "--sysfs-root", FIXTURE, "--libvirt-version", "9.0.0")
    check(rc == 0, "export nfd exits 0")
    check(len(out.encode()) <= 65536, "within nfd-worker's 65,536-byte limit")
    keys = {}
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            check(not line.startswith("# +"), "no accidental NFD directive: %r" % line)
            continue
        key, _, value = line.partition("=")
        keys[key] = value
        check(valid_key(key) and valid_value(value) and not denied_namespace(key),
              "label %s=%s follows NFD's rules" % (key, value))
    p = "feature.node.kubernetes.io/"
    check(keys.get(p + "iommu-enabled") == "true" and keys.get(p + "iommu-vendor") == "intel",
          "IOMMU present and its vendor")
    check(keys.get(p + "iommu-interrupt-remapping") == "true", "interrupt remapping")
    check(keys.get(p + "iommu-vfio-pci") == "true" and p + "iommu-iommufd" in keys, "vfio and iommufd")
    check(keys.get(p + "iommu-viommu-virtio") == "true", "vIOMMU models the host offers")
    check(keys.get(p + "iommu-assignable-groups-8086-10d3") == "5", "assignable groups per vendor:device")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "iommuctl")
        rc, _, err = run("export", "nfd", "--sysfs-root", FIXTURE, "--libvirt-version", "9.0.0", "--output", path)
        check(rc == 0 and os.listdir(d) == ["iommuctl"], "--output writes the file and no temp file stays")
        with open(path) as f:
            check(f.read() == out, "--output holds what stdout shows")
        rc, _, err = run("export", "nfd", "--sysfs-root", FIXTURE, "--output", os.path.join(d, ".hidden"))
        check(rc == 2 and "ignores" in err, "a dot-file --output is refused (nfd-worker would ignore it)")


def test_kubevirt():
    rc, out, err = run("export", "kubevirt", "--sysfs-root", FIXTURE)
    check(rc == 0, "export kubevirt exits 0")
    entries = re.findall(r'^  - pciVendorSelector: "([0-9A-F]{4}:[0-9A-F]{4})"\n    resourceName: "([^"]+)"$', out, re.M)
    check(entries == [("1AF4:1000", "iommuctl.io/pci-1af4-1000"), ("1B36:0010", "iommuctl.io/pci-1b36-0010")],
          "only ids whose every device is alone in an assignable group: %s" % entries)
    check("8086:10D3" in out and "not offered: 8086:10D3: 0000:03:00.0 shares group 13" in out,
          "an id also found in a multi-function group is not offered, with the reason")
    try:
        import yaml
        doc = yaml.safe_load(out)
        check(doc["permittedHostDevices"]["pciHostDevices"][0]["pciVendorSelector"] == "1AF4:1000", "valid YAML")
    except ImportError:
        pass
    rc, out, err = run("export", "kubevirt", "--sysfs-root", FIXTURE, "--json")
    doc = json.loads(out)
    check(doc["schema"] == "iommuctl.kubevirt" and len(doc["pciHostDevices"]) == 2, "--json document")
    for e in doc["pciHostDevices"]:
        # resourceName is an extended resource name: DNS prefix / name
        check(valid_key(e["resourceName"]) and "/" in e["resourceName"], "resourceName %s" % e["resourceName"])


def test_proxmox():
    rc, out, err = run("export", "proxmox", "--sysfs-root", FIXTURE, "--node", "pve1")
    check(rc == 0, "export proxmox exits 0")
    sections = {}
    current = None
    for line in out.split("\n"):
        if line.startswith("#") or (current is None and line == ""):
            continue
        if line == "":
            current = None  # a blank line ends the section
            continue
        if not line[0].isspace():
            check(re.fullmatch(r"[a-z][a-z0-9_-]+", line) is not None, "mapping id %s" % line)
            current = line
            sections[current] = []
            continue
        check(current is not None, "property line inside a section: %r" % line)
        key, _, value = line.strip().partition(" ")
        sections[current].append((key, value))
    for sid, props in sections.items():
        maps = [v for k, v in props if k == "map"]
        check(len(maps) == 1 and props[0][0] == "map", "%s: map line first" % sid)
        kv = dict(p.split("=", 1) for p in maps[0].split(","))
        check(set(kv) <= {"node", "path", "id", "subsystem-id", "iommugroup", "description"} and
              {"node", "path", "id", "iommugroup"} <= set(kv), "%s: map keys %s" % (sid, sorted(kv)))
        check(re.fullmatch(r"[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(\.[a-f0-9])?", kv["path"]) is not None,
              "%s: path %s lowercase" % (sid, kv["path"]))
        check(re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{4}", kv["id"]) is not None, "%s: id lowercase (VM start compares it)" % sid)
        check(kv.get("subsystem-id") is None or re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{4}", kv["subsystem-id"]),
              "%s: subsystem-id" % sid)
        check(kv["iommugroup"].isdigit() and kv["node"] == "pve1", "%s: iommugroup and node" % sid)
    g13 = dict(p.split("=", 1) for p in dict(sections["iommu-pve1-group13"])["map"].split(","))
    check(g13["path"] == "0000:03:00", "group 13 (two functions of one slot) maps as the whole device")
    check("iommu-pve1-group14" not in sections and "group 14 is not isolated" in out, "group 14 refused with the reason")
    rc, out, err = run("export", "proxmox", "--sysfs-root", FIXTURE, "--node", "a,b")
    check(rc == 2, "a node name that would break the property string is invalid input")


def test_verbs():
    rc, out, err = run("--help")
    fleet = out.split("Fleet commands")[1].split("\n\n")[0]
    for verb in ("policy", "traits", "place", "placement", "nova", "export"):
        check(re.search(r"^  %s\s" % verb, fleet, re.M) is not None, "--help lists %s in the fleet group" % verb)
    rc, out, err = run("export", "--help")
    check(rc == 0 and all(v in out for v in ("nfd", "kubevirt", "proxmox", "prometheus")), "export lists its verbs")
    rc, out, err = run("place", "--help")
    check(rc == 0 and "--placement" in out and "offline what-if" in out, "place --help names both modes")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc, out, err = run("place", "--placement", "http://127.0.0.1:%d" % port, "-r", "hw_viommu_model=intel")
    check(rc == 3 and "127.0.0.1:%d" % port in err, "Placement not answering: exit 3 naming the URL")
    rc, out, err = run("placement", "sync", "--url", "http://127.0.0.1:%d" % port, "--sysfs-root", FIXTURE,
                       "--libvirt-version", "9.0.0", "--qemu-version", "7.2.0")
    check(rc == 3, "sync to a closed port: exit 3")
    rc, out, err = run("nova", "pci-config", "--sysfs-root", FIXTURE, "0000:99:00.0")
    check(rc == 2 and "0000:99:00.0" in err, "an unknown address is invalid input naming it")
    rc, out, err = run("nova", "pci-config", "--sysfs-root", FIXTURE, "--alias", "a b")
    check(rc == 2, "an alias name the flavor syntax cannot carry is refused")


def main():
    test_nfd()
    test_kubevirt()
    test_proxmox()
    test_verbs()
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
