#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""traits, --provider-yaml and place through the CLI, on fixture hosts built
in a temporary directory (a sysfs root with qemu-system-* binaries and, for
one host, an Intel IOMMU with iommufd and one assignable group).

Asserts exact trait sets, the provider-config schema of Nova (schema 1.0,
custom traits only in `additional`), and place's fit/rejected lists."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

IOMMUCTL = os.environ.get("IOMMUCTL")
failures = []


def check(cond, what):
    print(("ok" if cond else "FAIL") + " - " + what)
    if not cond:
        failures.append(what)


def run(*args, rc=0):
    p = subprocess.run([IOMMUCTL, *args], capture_output=True, text=True)
    if p.returncode != rc:
        failures.append(f"{' '.join(args)}: exit {p.returncode}, wanted {rc}: {p.stderr.strip()}")
        print(f"FAIL - {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    return p


def write(path, data="", mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(data)
    os.chmod(path, mode)


def make_host(root, emulators, iommu):
    write(f"{root}/proc/sys/kernel/arch", "x86_64\n")
    os.makedirs(f"{root}/sys/bus/pci/devices", exist_ok=True)
    for e in emulators:
        write(f"{root}/usr/bin/qemu-system-{e}", "#!/bin/false\n", 0o755)
    write(f"{root}/usr/bin/qemu-system-x86_64-microvm", "", 0o755)  # not an arch
    if not iommu:
        return
    # Intel VT-d unit: CAP.MGAW = 47 (48 bits), ECAP.IR set
    write(f"{root}/sys/class/iommu/dmar0/intel-iommu/cap", "%x\n" % (47 << 16))
    write(f"{root}/sys/class/iommu/dmar0/intel-iommu/ecap", "%x\n" % (1 << 3))
    write(f"{root}/dev/iommu")
    write(f"{root}/dev/vfio/vfio")
    dev = f"{root}/sys/devices/pci0000:00/0000:00:02.0"
    write(f"{dev}/vendor", "0x8086\n")
    write(f"{dev}/device", "0x10d3\n")
    write(f"{dev}/class", "0x020000\n")
    with open(f"{dev}/config", "wb") as f:
        f.write(bytes([0x86, 0x80, 0xd3, 0x10]) + bytes(60))
    os.makedirs(f"{root}/sys/kernel/iommu_groups/1/devices", exist_ok=True)
    os.symlink("../../../kernel/iommu_groups/1", f"{dev}/iommu_group")
    os.symlink("../../../../devices/pci0000:00/0000:00:02.0",
               f"{root}/sys/kernel/iommu_groups/1/devices/0000:00:02.0")
    os.symlink("../../../devices/pci0000:00/0000:00:02.0", f"{root}/sys/bus/pci/devices/0000:00:02.0")


def traits_of(root, *extra):
    p = run("traits", "--json", "--sysfs-root", root, *extra)
    doc = json.loads(p.stdout)
    return doc


NOVA_ALL = ["COMPUTE_VIOMMU_MODEL_INTEL", "COMPUTE_VIOMMU_MODEL_SMMUV3",
            "COMPUTE_VIOMMU_MODEL_VIRTIO", "COMPUTE_VIOMMU_MODEL_AUTO"]
CUSTOM_FULL = ["CUSTOM_IOMMUFD", "CUSTOM_IOMMU_INTERRUPT_REMAPPING", "CUSTOM_IOMMU_ADDRESS_WIDTH_48",
               "CUSTOM_QEMU_IOMMU_BYPASS", "CUSTOM_VFIO_ASSIGNABLE_GROUPS"]


def check_provider_yaml(text, want_custom, what):
    """Nova's provider config schema 1.0 (nova/compute/provider_config.py),
    checked by hand so no extra Python package is needed."""
    doc = yaml.safe_load(text)
    check(isinstance(doc, dict), f"{what}: a mapping")
    meta = doc.get("meta")
    check(isinstance(meta, dict) and isinstance(meta.get("schema_version"), str)
          and re.fullmatch(r"1\.([0-9]|[1-9][0-9]+)", meta["schema_version"]) is not None
          and meta["schema_version"] == "1.0", f"{what}: meta.schema_version is the string '1.0'")
    providers = doc.get("providers")
    check(isinstance(providers, list), f"{what}: providers is a list")
    got = []
    for p in providers or []:
        ident = p.get("identification")
        check(isinstance(ident, dict) and len(ident) == 1 and ident.get("uuid") == "$COMPUTE_NODE",
              f"{what}: identification is exactly uuid: $COMPUTE_NODE")
        extra = set(p) - {"identification", "inventories", "traits"}
        check(not extra, f"{what}: no unknown provider keys ({extra})")
        add = p.get("traits", {}).get("additional", [])
        check(isinstance(add, list) and all(isinstance(t, str) and re.fullmatch(r"[A-Z0-9_]{1,255}", t)
                                            for t in add), f"{what}: additional traits match ^[A-Z0-9_]{{1,255}}$")
        check(all(t.startswith("CUSTOM_") for t in add), f"{what}: only CUSTOM_ traits in additional")
        got += add
    check(got == want_custom, f"{what}: additional = {want_custom} (got {got})")


def main():
    if not IOMMUCTL:
        print("IOMMUCTL is not set", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="policy-cli-")
    try:
        return run_all(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(tmp):
    full = f"{tmp}/x86-arm-iommu"
    x86only = f"{tmp}/x86-only"
    make_host(full, ["x86_64", "aarch64", "i386"], iommu=True)
    make_host(x86only, ["x86_64"], iommu=False)

    # ---- exact trait sets -------------------------------------------------
    d = traits_of(full, "--libvirt-version", "9.0.0", "--qemu-version", "7.2.0", "--host-name", "full")
    check(d["schema"] == "iommuctl.traits" and d["version"] == 1, "traits --json schema/version")
    check(d["traits"] == NOVA_ALL + CUSTOM_FULL, f"x86+aarch64, libvirt 9.0, IOMMU: {d['traits']}")
    check(d["host"]["emulators"] == ["aarch64", "i686", "x86_64"], f"emulators {d['host']['emulators']}")
    check(d["host"]["iommu_address_width"] == 48 and d["host"]["interrupt_remapping"] is True
          and d["host"]["iommufd"] is True and d["host"]["assignable_groups"] == 1, "host IOMMU facts")
    d82 = traits_of(full, "--libvirt-version", "8.2.0", "--qemu-version", "7.2.0")
    check(d82["traits"] == ["COMPUTE_VIOMMU_MODEL_INTEL", "COMPUTE_VIOMMU_MODEL_SMMUV3",
                            "COMPUTE_VIOMMU_MODEL_AUTO"] + CUSTOM_FULL,
          f"x86+aarch64, libvirt 8.2: {d82['traits']}")
    b90 = traits_of(x86only, "--libvirt-version", "9.0.0", "--qemu-version", "6.0.0", "--host-name", "b90")
    check(b90["traits"] == ["COMPUTE_VIOMMU_MODEL_INTEL", "COMPUTE_VIOMMU_MODEL_VIRTIO",
                            "COMPUTE_VIOMMU_MODEL_AUTO"], f"x86 only, libvirt 9.0, QEMU 6.0: {b90['traits']}")
    b82 = traits_of(x86only, "--libvirt-version", "8.2.0", "--qemu-version", "6.1.0", "--host-name", "b82")
    check(b82["traits"] == ["COMPUTE_VIOMMU_MODEL_INTEL", "COMPUTE_VIOMMU_MODEL_AUTO",
                            "CUSTOM_QEMU_IOMMU_BYPASS"], f"x86 only, libvirt 8.2, QEMU 6.1: {b82['traits']}")
    details = {t["name"]: t for t in b82["details"]}
    check(details["COMPUTE_VIOMMU_MODEL_VIRTIO"]["present"] is False
          and details["COMPUTE_VIOMMU_MODEL_VIRTIO"]["reason"] == "libvirt 8.2.0 < 8.3.0", "VIRTIO reason")
    run("traits", "--libvirt-version", "eight", "--sysfs-root", x86only, rc=2)

    # ---- provider yaml ----------------------------------------------------
    y = run("traits", "--provider-yaml", "--sysfs-root", full, "--libvirt-version", "9.0.0",
            "--qemu-version", "7.2.0").stdout
    check_provider_yaml(y, CUSTOM_FULL, "provider yaml (full host)")
    y2 = run("traits", "--provider-yaml", "--sysfs-root", x86only, "--libvirt-version", "9.0.0",
             "--qemu-version", "6.0.0").stdout
    check_provider_yaml(y2, [], "provider yaml (no custom trait)")
    run("traits", "--provider-yaml", "--json", rc=2)

    # ---- --host-json round trip ---------------------------------------------
    fleet = f"{tmp}/fleet"
    os.makedirs(fleet)
    for name, doc in [("full", d), ("b90", b90), ("b82", b82)]:
        with open(f"{fleet}/{name}.json", "w") as f:
            json.dump(doc, f)
    again = json.loads(run("traits", "--json", "--host-json", f"{fleet}/full.json").stdout)
    check(again["traits"] == d["traits"] and again["host"] == d["host"], "traits --host-json reproduces the host")
    r = json.loads(run("policy", "resolve", "--json", "--host-json", f"{fleet}/b82.json",
                       "--flavor", "hw:viommu_model=auto", "--image", "hw_machine_type=q35").stdout)
    check(r["viommu"]["model"] == "intel", "resolve --host-json: auto on libvirt 8.2 q35 -> intel")
    # a member of the wrong type is refused by name, never read as absent
    # (json-glib's getters would raise a GLib critical; found by fuzzing)
    for key, value, want in [("arch", {"x": 1}, "host.arch must be a string"),
                             ("iommufd", "yes", "host.iommufd must be true, false or null"),
                             ("emulators", ["/usr/bin/qemu-system-x86_64", 7], "host.emulators[1] must be a string"),
                             ("iommu_address_width", "48", "host.iommu_address_width must be an integer")]:
        bad = json.loads(json.dumps(d))
        bad["host"][key] = value
        write(f"{tmp}/bad-host.json", json.dumps(bad))
        t = run("traits", "--host-json", f"{tmp}/bad-host.json", rc=2)
        check(want in t.stderr, f"--host-json with {key}={value!r}: {t.stderr.strip()}")
    bad = json.loads(json.dumps(d))
    bad["host"]["name"] = {"name": "x"}
    write(f"{tmp}/badfleet/h.json", json.dumps(bad))
    t = run("place", "--hosts", f"{tmp}/badfleet", "--request", "hw_viommu_model=intel", rc=2)
    check("host.name must be a string" in t.stderr, f"fleet host whose name is an object: {t.stderr.strip()}")

    # ---- place ---------------------------------------------------------------
    p = json.loads(run("place", "--json", "--hosts", fleet, "--request", "hw_viommu_model=virtio").stdout)
    req = p["requests"][0]
    check(p["schema"] == "iommuctl.place" and p["hosts"] == 3, "place schema and fleet size")
    check(req["required"] == ["COMPUTE_VIOMMU_MODEL_VIRTIO"], "virtio requires COMPUTE_VIOMMU_MODEL_VIRTIO")
    check(req["nova_prefilter"] == {"applied": False, "invalid_trait": "COMPUTE_VIOMMU_VIRTIO", "required": []},
          f"Nova's own prefilter result is shown: {req['nova_prefilter']}")
    check(req["fit"] == ["b90", "full"], f"virtio fits b90 and full: {req['fit']}")
    check(req["rejected"] == [{"host": "b82", "lacks": ["COMPUTE_VIOMMU_MODEL_VIRTIO"], "has_forbidden": []}],
          f"b82 lacks the virtio trait: {req['rejected']}")
    t = run("place", "--hosts", fleet, "--request", "hw_viommu_model=smmuv3",
            "--request", "trait:CUSTOM_IOMMUFD=required").stdout
    check("fit: 1 of 3 hosts\n  full\n" in t and "  b82: lacks CUSTOM_IOMMUFD, COMPUTE_VIOMMU_MODEL_SMMUV3\n" in t,
          "text output names the lacking traits")
    p = json.loads(run("place", "--json", "--hosts", fleet, "--request", "hw:viommu_model=intel",
                       "--request", "hw_viommu_model=virtio", "--request", "!trait:CUSTOM_QEMU_IOMMU_BYPASS").stdout)
    req = p["requests"][0]
    check(req["required"] == ["COMPUTE_VIOMMU_MODEL_INTEL"] and req["forbidden"] == ["CUSTOM_QEMU_IOMMU_BYPASS"]
          and req["fit"] == ["b90"], f"flavor model wins; forbidden trait: {req}")
    # nothing fits: exit 1
    run("place", "--hosts", fleet, "--request", "trait:CUSTOM_NOWHERE", rc=1)
    run("place", "--hosts", fleet, "--request", "hw_viommu_model=none", rc=2)
    run("place", "--hosts", fleet, "--request", "trait:lower", rc=2)
    # an empty or blank fleet file is an error naming it (json-glib reads it
    # as a document without a value; found by fuzz-policy)
    for blank in ("", "  \n"):
        write(f"{tmp}/blank.json", blank)
        t = run("place", "--hosts", f"{tmp}/blank.json", "--request", "hw_viommu_model=intel", rc=2)
        check("blank.json: no JSON value" in t.stderr, f"blank fleet file {blank!r}: {t.stderr.strip()}")
    # one JSON array file and NDJSON give the same answer as the directory
    with open(f"{tmp}/fleet.json", "w") as f:
        json.dump([d, b90, b82], f)
    with open(f"{tmp}/fleet.ndjson", "w") as f:
        for doc in (d, b90, b82):
            f.write(json.dumps(doc) + "\n")
    for path in (f"{tmp}/fleet.json", f"{tmp}/fleet.ndjson"):
        p = json.loads(run("place", "--json", "--hosts", path, "--request", "hw_viommu_model=virtio").stdout)
        check(sorted(p["requests"][0]["fit"]) == ["b90", "full"], f"{os.path.basename(path)}: same fit")
    # batch of requests against one load
    with open(f"{tmp}/reqs", "w") as f:
        f.write("hw_viommu_model=intel\n# comment\nhw_viommu_model=smmuv3  trait:CUSTOM_IOMMUFD\n")
    p = json.loads(run("place", "--json", "--summary", "--hosts", fleet, "--requests", f"{tmp}/reqs").stdout)
    check([q["fit_count"] for q in p["requests"]] == [3, 1], "batch: per-request counts")

    # ---- resolve CLI --------------------------------------------------------------
    p = run("policy", "resolve", "--host-json", f"{fleet}/full.json", "--flavor", "hw:viommu_model=auto", rc=2)
    check(p.stderr.strip() == "iommuctl policy resolve: InvalidVIOMMUMachineType: vIOMMU is not supported by "
          "Current machine type pc (Architecture: x86_64).", f"resolve error line: {p.stderr.strip()}")
    p = run("policy", "resolve", "--json", "--host-json", f"{fleet}/full.json",
            "--image", "hw_locked_memory=true", rc=2)
    j = json.loads(p.stdout)
    check(j["error"] == {"exception": "LockMemoryForbidden", "stage": "api", "http_status": 400,
                         "message": "locked_memory value in image or flavor is forbidden when mem_page_size is not set."},
          f"resolve --json error object: {j['error']}")
    p = run("policy", "resolve", "--host-json", f"{fleet}/full.json", "--default-machine-type", "x86_64=q35",
            "--flavor", "hw:viommu_model=intel")
    check("vIOMMU:        intel  [explicit intel]" in p.stdout
          and "machine type:  q35  [operator default [libvirt]hw_machine_type x86_64=q35]" in p.stdout,
          "resolve text output with the operator default")

    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
