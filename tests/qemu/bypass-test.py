#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`iommuctl domain bypass`: writes iommuctl's metadata plus the
qemu:override / qemu:commandline realisation, keeps every other byte, is
idempotent, updates in place, refuses non-pxb buses and the amd vIOMMU; and
qemu-args honours the result.  With --oracle: real libvirt 9.0 accepts the
edited file (schema) and a real start carries the bypass to QEMU, and a
paused QEMU on iommuctl's argv reads it back."""
import difflib, json, os, subprocess, sys, tempfile

IOMMUCTL = os.environ.get("IOMMUCTL", "iommuctl")
ORACLE_TOOL = os.path.join(os.environ.get("IOMMUCTL_SRCDIR", ""), "tests", "lib", "libvirt-oracle")
ORACLE = "--oracle" in sys.argv
failed = passed = 0
# qemu-args/run use libvirt's embedded QEMU driver, whose root lives in the
# state directory: tests/lib/engine_state.py says where (never the host's
# /var/lib/iommuctl)
sys.path.insert(0, os.path.join(os.environ.get("IOMMUCTL_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")), "tests", "lib"))
from engine_state import engine_state_dir  # noqa: E402
ENGINE_STATE = engine_state_dir(os.environ.get("IOMMUCTL_BUILDDIR", "."))
os.makedirs(ENGINE_STATE, mode=0o700, exist_ok=True)
os.environ.setdefault("IOMMUCTL_STATE_DIR", ENGINE_STATE)

def ok(cond, what, detail=""):
    global failed, passed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what + ("\n  " + detail.replace("\n", "\n  ") if detail else ""))

def ic(*args):
    return subprocess.run([IOMMUCTL, *args], capture_output=True, text=True)

BASE = """<?xml version="1.0"?>
<!-- a hand-written domain: comments, odd spacing and "double quotes" must survive -->
<domain type="qemu">
  <name>bypass-edit</name>
  <uuid>0b7d7f4e-1a2b-4c3d-8e9f-00000000beef</uuid>
  <memory unit="MiB">256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch="x86_64" machine="q35">hvm</type>
  </os>
  <features>
    <acpi/>
    <ioapic driver="qemu"/>
  </features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type="pci" index="0" model="pcie-root"/>
    <controller type="pci" index="1" model="pcie-expander-bus">
      <target busNr="32"/>
      <address type="pci" domain="0x0000" bus="0x00" slot="0x10" function="0x0"/>
    </controller>
    <controller type="pci" index="2" model="pcie-root-port">
      <target chassis="2" port="0x0"/>
      <address type="pci" domain="0x0000" bus="0x01" slot="0x00" function="0x0"/>
    </controller>
    <controller type="pci" index="3" model="pcie-expander-bus">
      <target busNr="64"/>
      <address type="pci" domain="0x0000" bus="0x00" slot="0x11" function="0x0"/>
    </controller>
    <controller type="usb" model="none"/>
    <iommu model="intel">
      <driver intremap="on" caching_mode="on"/>
    </iommu>
    <memballoon model="virtio">
      <address type="pci" domain="0x0000" bus="0x02" slot="0x00" function="0x0"/>
    </memballoon>
  </devices>
</domain>
"""

tmp = tempfile.mkdtemp(prefix="ic-bypass-")
src = os.path.join(tmp, "dom.xml")
open(src, "w").write(BASE)
out = os.path.join(tmp, "out.xml")

p = ic("domain", "bypass", src, "--bus", "1=on", "--default-bus", "on", "-o", out)
ok(p.returncode == 0, "bypass --bus 1=on --default-bus on", p.stderr)
ok(open(src).read() == BASE, "-o leaves FILE alone")
new = open(out).read()
ops = difflib.SequenceMatcher(None, BASE, new, autojunk=False).get_opcodes()
ok(all(op in ("equal", "insert") for op, *_ in ops), "every original byte kept (only insertions)",
   "\n".join(f"{op} {BASE[a:b]!r} -> {new[c:d]!r}" for op, a, b, c, d in ops if op != "equal"))
ok("xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\"" in new, "libvirt's qemu namespace declared")
ok("<iommuctl:bypass xmlns:iommuctl=\"https://iommuctl.dev/xmlns/bypass/1\">" in new and
   "<iommuctl:bus index=\"1\" bypass=\"on\"/>" in new and "<iommuctl:default-bus bypass=\"on\"/>" in new,
   "intent recorded in <metadata>", new)
ok("<qemu:property name=\"bypass_iommu\" type=\"bool\" value=\"true\"/>" in new and "alias=\"pci.1\"" in new,
   "pxb realised with qemu:override on alias pci.1", new)
ok("<qemu:arg value=\"default-bus-bypass-iommu=on\"/>" in new, "default bus realised with -machine in qemu:commandline")
ok("warning: bypassed buses give no DMA isolation" in p.stderr, "bypass warns about isolation", p.stderr)

q = ic("domain", "qemu-args", out, "--json")
ok(q.returncode == 0, "qemu-args accepts the edited file", q.stderr)
if q.returncode == 0:
    doc = json.loads(q.stdout)
    pxb = [o["value"] for o in doc["options"] if o["name"] == "-device" and isinstance(o["value"], dict)
           and o["value"].get("driver") == "pxb-pcie"]
    ok(pxb[0].get("bypass_iommu") is True and "bypass_iommu" not in pxb[1], "qemu-args: pxb pci.1 bypasses, pci.3 untouched",
       json.dumps(pxb))
    ok({"name": "-machine", "value": "default-bus-bypass-iommu=on"} in doc["options"], "qemu-args: -machine default-bus-bypass-iommu=on")
    codes = {n["code"] for n in doc["notes"]}
    ok({"IC-Q001", "IC-Q003"} <= codes, "qemu-args warns: no isolation (IC-Q001), MSI lost with intremap (IC-Q003)", str(codes))
    ok("IC-Q005" not in codes, "metadata agrees with the realisation")

# idempotent
p = ic("domain", "bypass", out, "--bus", "1=on", "--default-bus", "on")
ok(p.returncode == 0 and open(out).read() == new and "unchanged" in p.stderr, "second identical run changes nothing", p.stderr)
# update in place
p = ic("domain", "bypass", out, "--bus", "1=off", "--bus", "3=on")
upd = open(out).read()
ok(p.returncode == 0 and "alias=\"pci.1\"" in upd and upd.count("bypass_iommu") == 2, "update: pci.1 rewritten, pci.3 added", upd)
ok("<iommuctl:bus index=\"1\" bypass=\"off\"/>" in upd and "<iommuctl:bus index=\"3\" bypass=\"on\"/>" in upd, "metadata updated")
q = ic("domain", "qemu-args", out, "--json")
if q.returncode == 0:
    pxb = [o["value"] for o in json.loads(q.stdout)["options"] if o["name"] == "-device" and
           isinstance(o["value"], dict) and o["value"].get("driver") == "pxb-pcie"]
    ok(pxb[0].get("bypass_iommu") is False and pxb[1].get("bypass_iommu") is True, "qemu-args follows the update", json.dumps(pxb))
# a hand-edited disagreement is reported
bad = upd.replace("<iommuctl:bus index=\"3\" bypass=\"on\"/>", "<iommuctl:bus index=\"3\" bypass=\"off\"/>")
open(os.path.join(tmp, "disagree.xml"), "w").write(bad)
q = ic("domain", "qemu-args", os.path.join(tmp, "disagree.xml"))
ok(q.returncode == 0 and "IC-Q005" in q.stderr, "metadata/realisation disagreement warned (IC-Q005)", q.stderr)
# not an expander bus
p = ic("domain", "bypass", out, "--bus", "2=on")
ok(p.returncode == 2 and "pcie-expander-bus" in p.stderr, "refuses a root port index", p.stderr)
# amd
amd = os.path.join(tmp, "amd.xml")
amd_text = BASE.replace('<iommu model="intel">\n      <driver intremap="on" caching_mode="on"/>',
                                  '<iommu model="amd">\n      <driver intremap="on"/>')
open(amd, "w").write(amd_text)
p = ic("domain", "bypass", amd, "--bus", "1=on")
ok(p.returncode == 1 and "amd" in p.stderr and "crash" in p.stderr and open(amd).read() == amd_text,
   "refuses bypass with the amd vIOMMU, file untouched", p.stderr)
# an existing qemu namespace prefix and commandline are reused
other = os.path.join(tmp, "prefix.xml")
open(other, "w").write(BASE.replace('<domain type="qemu">', '<domain type="qemu" xmlns:q="http://libvirt.org/schemas/domain/qemu/1.0">')
                       .replace("</devices>\n", "</devices>\n  <q:commandline>\n    <q:arg value=\"-msg\"/>\n    <q:arg value=\"timestamp=on\"/>\n  </q:commandline>\n"))
p = ic("domain", "bypass", other, "--default-bus", "on")
t = open(other).read()
ok(p.returncode == 0 and t.count("commandline>") == 2 and "<q:arg value=\"default-bus-bypass-iommu=on\"/>" in t
   and "xmlns:qemu" not in t, "reuses the document's prefix and its qemu:commandline", t)

if ORACLE:
    v = subprocess.run(["virt-xml-validate", out, "domain"], capture_output=True, text=True)
    ok(v.returncode == 0, "libvirt's schema accepts the edited file", v.stdout + v.stderr)
    r = subprocess.run([ORACLE_TOOL, "argv", "--start", out], capture_output=True, text=True)
    ok(r.returncode == 0, "real libvirt 9.0 starts the edited domain", r.stderr)
    ok('"bypass_iommu":true' in r.stdout and '"bypass_iommu":false' in r.stdout,
       "the started QEMU got bypass_iommu per pxb (false on pci.1, true on pci.3)", r.stdout)
    ok("-machine default-bus-bypass-iommu=on" in r.stdout, "the started QEMU got default-bus-bypass-iommu=on", r.stdout)
    q = ic("domain", "qemu-args", out, "--verify", "--json")
    checks = json.loads(q.stdout)["verify"] if q.stdout.startswith("{") else []
    qt = [c for c in checks if "info qtree" in c["what"]]
    ok(q.returncode == 0 and len(qt) == 3 and all(c["ok"] for c in checks),
       "a paused QEMU shows each host bridge's bypass-iommu (info qtree)", json.dumps(qt))

print(f"qemu-bypass: {passed} checks passed, {failed} failed")
sys.exit(1 if failed else 0)
