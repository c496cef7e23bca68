#!/bin/sh
# Suite 'guest': iommuctl inside a real Linux guest (tests/lib/guest-run, intel-iommu,
# pxb-pcie + root ports, multifunction slots, a pcie-pci-bridge).  One boot:
#  - report/groups/check/show --xml on the live sysfs;
#  - snapshot, then report --sysfs-root on the snapshot equals the live report;
#  - bind 01:00.0 to vfio-pci (group 11 becomes assignable, /dev/vfio/11
#    appears) and only 03:00.0 of the 03:00.x pair (group 13 stays
#    needs-detach, as the kernel's viable=0 says).
# Then on the host: assertions, and the committed capture
# tests/fixtures/host-guest-intel-pxb gives the same groups and verdicts.
set -eu
src=${IOMMUCTL_SRCDIR:?}
. "$src/tests/lib/guest.sh"
ic_guest_require
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
IC_GUEST_TMP=$tmp/bundle
export IC_GUEST_TMP
cat > "$tmp/guest.sh" <<'GUEST'
. /etc/ic-guest/lib.sh
IC=/opt/ic/iommuctl
mark() { echo "@@$1@@"; }
mark REPORT; $IC report --json; mark END
mark CHECK; $IC check --json; echo "rc=$?"; mark END
mark XML21; $IC show 0000:21:00.0 --xml; mark END
mark XML03; $IC show 03:00.1 --xml; mark END
$IC snapshot /tmp/snap >/dev/null
mark SNAPREPORT; $IC report --json --sysfs-root /tmp/snap; mark END
mark TEXT; $IC report --no-color; mark END
ig_bind 0000:01:00.0 vfio-pci
ig_bind 0000:03:00.0 vfio-pci
mark AFTER; $IC groups --json; mark END
mark DEVVFIO; ls /dev/vfio; mark END
mark BADADDR; $IC show 0000:zz:00.0 2>&1; echo "rc=$?"; mark END
ig_bind 0000:01:00.0 ""
ig_bind 0000:03:00.0 ""
GUEST
# shellcheck disable=SC2046
ic_guest_run -s "$tmp/guest.sh" -- $(cat "$src/tests/host/guest-topology.args") > "$tmp/out" 2> "$tmp/err" || {
  cat "$tmp/err" >&2
  echo "FAIL: guest run failed" >&2
  exit 1
}
python3 - "$tmp/out" "$src/tests/fixtures/host-guest-intel-pxb" <<'PY'
import json, os, re, subprocess, sys, xml.etree.ElementTree as ET
out = open(sys.argv[1]).read()
fixture = sys.argv[2]
def section(name):
    m = re.search(r"@@%s@@\n(.*?)@@END@@" % name, out, re.S)
    if not m:
        sys.exit("FAIL: no %s section in the guest output" % name)
    return m.group(1)
fails = []
def check(name, cond, detail=""):
    print(("ok - " if cond else "not ok - ") + name)
    if not cond:
        fails.append(name)
        if detail:
            print("# " + str(detail)[:2000])
live = json.loads(section("REPORT"))
g = {x["number"]: x for x in live["groups"]}
members = lambda n: [m["address"] for m in g[n]["members"]]
check("guest: 19 groups", len(g) == 19, sorted(g))
check("guest: host IR on, MGAW 39, intel", live["host"]["iommu"]["interrupt_remapping"] is True
      and live["host"]["iommu"]["address_width"] == 39 and live["host"]["iommu"]["vendor"] == "intel",
      live["host"]["iommu"])
check("guest: vfio modules seen as loaded", live["host"]["vfio"]["vfio_pci_module"] is True)
check("guest: multifunction pair behind a root port shares group 13",
      members(13) == ["0000:03:00.0", "0000:03:00.1"])
check("guest: pcie-pci-bridge group is not isolated",
      g[14]["verdict"] == "not-isolated" and g[14]["reasons"][0]["device"] == "0000:04:00.0")
pxb = [n for n, x in g.items() if "0000:21:00.0" in members(n)]
check("guest: device behind the pxb root port has its own group", len(pxb) == 1 and len(members(pxb[0])) == 1)
chk = section("CHECK")
check("guest: check passes (rc=0)", chk.strip().endswith("rc=0"), chk[-500:])
x = ET.fromstring(section("XML21"))
check("guest: nodedev parent is the pxb root port", x.findtext("parent") == "pci_0000_20_00_0")
check("guest: nodedev iommuGroup of 21:00.0", x.find("capability/iommuGroup").get("number") == str(pxb[0]))
x = ET.fromstring(section("XML03"))
addrs = [a.get("function") for a in x.findall("capability/iommuGroup/address")]
check("guest: nodedev iommuGroup lists both functions", addrs == ["0x0", "0x1"], addrs)
snap = json.loads(section("SNAPREPORT"))
check("guest: snapshot reproduces the live report", json.dumps(snap, sort_keys=True).replace("/tmp/snap", "")
      == json.dumps(live, sort_keys=True), "differs")
text = section("TEXT")
check("guest: text report has no colour and lists group 14", "\033[" not in text and "group 14" in text)
after = {x["number"]: x for x in json.loads(section("AFTER"))["groups"]}
check("guest: group 11 assignable after binding 01:00.0 to vfio-pci", after[11]["verdict"] == "assignable"
      and after[11]["members"][0]["driver"] == "vfio-pci", after[11])
check("guest: group 13 still needs detach (03:00.1 on virtio-pci)", after[13]["verdict"] == "needs-detach"
      and [r["device"] for r in after[13]["reasons"]] == ["0000:03:00.1"], after[13]["reasons"])
check("guest: /dev/vfio/11 exists", "11" in section("DEVVFIO").split())
bad = section("BADADDR")
check("guest: invalid address exits 2", "rc=2" in bad and "invalid PCI address" in bad, bad)
# the committed capture tells the same story
iommuctl = os.environ["IOMMUCTL"]
cap = json.loads(subprocess.run([iommuctl, "report", "--json", "--sysfs-root", fixture], capture_output=True,
                                text=True, check=True).stdout)
shape = lambda doc: {x["number"]: (tuple(m["address"] for m in x["members"]), x["verdict"]) for x in doc["groups"]}
check("guest: committed capture has the same groups and verdicts", shape(cap) == shape(live),
      set(shape(cap).items()) ^ set(shape(live).items()))
sys.exit(1 if fails else 0)
PY
