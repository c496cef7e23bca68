#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`nova pci-config` output read by real Nova's own parser (Debian's
python3-nova, Zed): nova.conf's [pci] device_spec through
nova.pci.whitelist, alias through nova.pci.request, run with
/usr/bin/python3 (Debian's modules are not on the pyenv python3).

Fails naming the package when Nova is missing, unless IOMMUCTL_ALLOW_SKIP=1
(then exit 77 = skipped)."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleetcheck import IOMMUCTL, SRC, FIXTURE, failures, check, run  # noqa: E402
PARSE = os.path.join(SRC, "tests", "fleet", "nova-parse.py")
PY = "/usr/bin/python3"


def devices():
    rc, out, err = run("groups", "--json", "--sysfs-root", FIXTURE)
    devs = []
    for g in json.loads(out)["groups"]:
        for m in g["members"]:
            devs.append({"address": m["address"], "vendor_id": m["vendor_id"][2:], "product_id": m["device_id"][2:],
                         "parent_addr": None, "group": g["number"]})
    return devs


def nova(conf_text, devs):
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(conf_text)
        f.flush()
        p = subprocess.run([PY, PARSE, f.name], input=json.dumps(devs), capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        return {"error": "parser crashed: " + p.stderr[-500:]}
    return json.loads(p.stdout)


def main():
    r = subprocess.run([PY, "-c", "import nova.pci.devspec, nova.pci.request"], capture_output=True)
    if r.returncode != 0:
        print("Nova's parser is missing: install Debian's python3-nova (.ci/packages.d/test-fleet.txt)",
              file=sys.stderr)
        return 77 if os.environ.get("IOMMUCTL_ALLOW_SKIP") == "1" else 1
    devs = devices()

    # the oracle is live: a spec Nova refuses is refused
    res = nova("[pci]\ndevice_spec = {\"address\":\"0000:8*:00.0\"}\n", devs)
    check(res["error"] and "PciConfigInvalidSpec" in res["error"], "control: Nova refuses a partial wildcard")

    # every assignable group, default aliases
    rc, ini, err = run("nova", "pci-config", "--sysfs-root", FIXTURE)
    check(rc == 0, "pci-config exits 0")
    res = nova(ini, devs)
    check(res["error"] is None, "Nova parses the pasted [pci] section (%s)" % res["error"])
    single = {"0000:00:02.0", "0000:00:03.0", "0000:00:06.0", "0000:00:06.1", "0000:01:00.0", "0000:02:00.0",
              "0000:21:00.0", "0000:22:00.0"}
    check(set(res.get("assignable", [])) == single,
          "Nova passes through exactly the functions alone in an assignable group: %s" % res.get("assignable"))
    check("0000:00:1f.2" not in res.get("assignable", []) and "0000:03:00.0" not in res.get("assignable", []),
          "no function of a multi-function group (10, 13) reaches Nova")
    check("0000:05:01.0" not in res.get("assignable", []), "not-isolated group 14 does not reach Nova")
    check(sorted(res.get("aliases", {})) == ["pci_1af4_1000", "pci_1af4_1041", "pci_1b36_0010", "pci_8086_10d3"],
          "one alias per vendor:product: %s" % sorted(res.get("aliases", {})))
    check("group 10 has 3 functions" in ini and "group 13 has 2 functions" in ini, "refusals are in the output")

    # one alias name over several ids (device_type avoids Zed's 'dev_type' KeyError)
    rc, ini, err = run("nova", "pci-config", "--sysfs-root", FIXTURE, "--alias", "nic", "0000:00:02.0", "0000:00:03.0")
    res = nova(ini, devs)
    check(rc == 0 and res["error"] is None and list(res["aliases"]) == ["nic"] and len(res["aliases"]["nic"]) == 2,
          "--alias nic over two ids parses as one alias of two specs (%s)" % res.get("error"))
    check(set(res["assignable"]) == {"0000:00:02.0", "0000:00:03.0"}, "only the addresses asked for")

    # a refused group asked for: exit 1, the reason on stderr, nothing for Nova
    rc, ini, err = run("nova", "pci-config", "--sysfs-root", FIXTURE, "0000:03:00.1")
    res = nova(ini, devs)
    check(rc == 1 and "group 13 has 2 functions" in err and res["error"] is None and res["assignable"] == [],
          "a multi-function group is refused with the reason; Nova gets nothing")

    # the --json document's entries are Nova's syntax too
    rc, out, err = run("nova", "pci-config", "--sysfs-root", FIXTURE, "--json")
    doc = json.loads(out)
    conf = "[pci]\n" + "".join("device_spec = %s\n" % json.dumps(s) for s in doc["device_spec"]) + \
        "".join("alias = %s\n" % json.dumps(a) for a in doc["alias"])
    res = nova(conf, devs)
    check(res["error"] is None and set(res["assignable"]) == single, "--json entries parse in Nova too")
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
