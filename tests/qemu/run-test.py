#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`iommuctl run` on a fixture host with the simulated kernel (the assign
module's tests/assign/simkernel.py + mock-kernel.c) and a stand-in QEMU
script: dry run changes nothing; a managed hostdev's whole group is on
vfio-pci while "QEMU" runs and back on its driver afterwards, after a clean
exit, a failing exit, a forwarded SIGTERM and a refused memlock raise; lint
errors stop everything before any change."""
import json, os, signal, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "assign"))
import simkernel as sk  # noqa: E402

sk.require_env()
c = sk.Checks()
tmp = tempfile.mkdtemp(prefix="ic-qemu-run-")
BDF = "0000:00:02.0"   # group 3, e1000e

CAPS = {"schema": "iommuctl.qemu-caps", "version": 1, "qemu_version": "7.2.0", "arch": "x86_64",
        "machine-aliases": {"q35": "pc-q35-7.2", "pc-q35-7.2": "pc-q35-7.2"},
        "machine-props": {"pc-q35-7.2": ["default-bus-bypass-iommu"]},
        "devices": {"intel-iommu": ["intremap", "caching-mode", "eim", "device-iotlb", "aw-bits"],
                    "vfio-pci": ["host"], "pcie-root-port": ["port", "chassis"]},
        "types": []}
caps = os.path.join(tmp, "caps.json")
json.dump(CAPS, open(caps, "w"))

FAKE = os.path.join(tmp, "fake-qemu")
open(FAKE, "w").write("""#!/bin/sh
# Stand-in for QEMU: records its argv and what the hostdev is bound to now.
out=${FAKE_OUT:?}
printf '%s\\n' "$@" > "$out.args"
readlink "$FIXTURE/sys/bus/pci/devices/0000:00:02.0/driver" | sed 's|.*/||' > "$out.driver"
case "${FAKE_MODE:-exit0}" in
  exit0) exit 0 ;;
  exit3) exit 3 ;;
  wait)  trap 'echo TERM > "$out.signal"; exit 143' TERM; touch "$out.ready"; while :; do sleep 0.1; done ;;
esac
""")
os.chmod(FAKE, 0o755)

def domain(path, extra_iommu="caching_mode='on' intremap='on'", managed="yes"):
    open(path, "w").write(f"""<domain type='kvm'>
  <name>runtest</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/><ioapic driver='qemu'/></features>
  <devices>
    <emulator>{FAKE}</emulator>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'>
      <target chassis='1' port='0x10'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </controller>
    <controller type='usb' model='none'/>
    <iommu model='intel'><driver {extra_iommu}/></iommu>
    <hostdev mode='subsystem' type='pci' managed='{managed}'>
      <driver name='vfio'/>
      <source><address domain='0x0000' bus='0x00' slot='0x02' function='0x0'/></source>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </hostdev>
    <memballoon model='none'/>
  </devices>
</domain>
""")

def run(root, xml, *args, mode="exit0", wait_signal=False):
    out = os.path.join(root, "qemu-" + mode)
    env = {"FAKE_OUT": out, "FAKE_MODE": mode, "FIXTURE": root}
    cmd = sk.preload() + [sk.IOMMUCTL, "run", "--sysfs-root", root, "--state-dir", os.path.join(root, "state"),
                          "--qemu-caps", caps, "--qemu", FAKE, "--user", "root", xml] + list(args)
    environ = sk.env_for(root, extra=env)
    if not wait_signal:
        return subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=60), out
    p = subprocess.Popen(cmd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(200):
        if os.path.exists(out + ".ready"):
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    so, se = p.communicate(timeout=30)
    return subprocess.CompletedProcess(cmd, p.returncode, so, se), out

def read(path):
    return open(path).read().strip() if os.path.exists(path) else None

# ---- dry run: the plan, nothing changes ----
root = sk.make_fixture(os.path.join(tmp, "dry"))
xml = os.path.join(tmp, "dom.xml")
domain(xml)
before = sk.state_of(root)
p, out = run(root, xml, "--dry-run")
c.ok(p.returncode == 0, "run --dry-run exits 0", p.stderr)
c.ok("would detach group 3 member 0000:00:02.0" in p.stdout, "dry run shows the group's detach", p.stdout)
c.ok("would run: " + FAKE in p.stdout and '"driver":"intel-iommu"' in p.stdout, "dry run shows the QEMU command line", p.stdout)
c.ok("setrlimit RLIMIT_MEMLOCK" in p.stdout, "dry run shows the memlock limit", p.stdout)
c.ok(sk.state_of(root) == before and not os.path.exists(out + ".args"), "dry run: no device changed, QEMU not started")

# ---- --json: no document to emit, so refused up front, nothing touched ----
p, out = run(root, xml, "--json")
c.ok(p.returncode == 2 and "--json is not supported by run" in p.stderr, "run --json is refused (exit 2)", p.stderr)
c.ok(sk.state_of(root) == before and not os.path.exists(out + ".args"), "run --json: no device changed, QEMU not started")

# ---- clean exit: vfio-pci while running, e1000e after ----
root = sk.make_fixture(os.path.join(tmp, "clean"))
p, out = run(root, xml, "--keep-memlock")
c.ok(p.returncode == 0, "run: QEMU's exit status 0 is iommuctl's", p.stdout + p.stderr)
c.ok(read(out + ".driver") == "vfio-pci", "run: the hostdev is on vfio-pci while QEMU runs", str(read(out + ".driver")))
c.ok(sk.driver(root, BDF) == "e1000e", "run: the hostdev is back on e1000e after QEMU exits", str(sk.driver(root, BDF)))
args = (read(out + ".args") or "").splitlines()
c.ok('{"driver":"vfio-pci","host":"0000:00:02.0","id":"hostdev0","bus":"pci.1","addr":"0x0"}' in args,
     "run: QEMU got the generated vfio-pci device", "\n".join(args))
c.ok("-S" not in args, "run: QEMU is not started paused")

# ---- failing exit ----
root = sk.make_fixture(os.path.join(tmp, "fail"))
p, out = run(root, xml, "--keep-memlock", mode="exit3")
c.ok(p.returncode == 3, "run: QEMU's failure status 3 is passed on", str(p.returncode))
c.ok(sk.driver(root, BDF) == "e1000e", "run: reattached after a failing QEMU")

# ---- SIGTERM forwarded ----
root = sk.make_fixture(os.path.join(tmp, "sig"))
p, out = run(root, xml, "--keep-memlock", mode="wait", wait_signal=True)
c.ok(read(out + ".signal") == "TERM", "run: SIGTERM forwarded to QEMU", p.stdout + p.stderr)
c.ok(p.returncode == 143, "run: exit status of the signalled QEMU", str(p.returncode))
c.ok(sk.driver(root, BDF) == "e1000e", "run: reattached after the signal")

# ---- memlock cannot be raised (no CAP_SYS_RESOURCE): refused, reattached ----
root = sk.make_fixture(os.path.join(tmp, "memlock"))
p, out = run(root, xml)
import resource
soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
if hard != resource.RLIM_INFINITY:
    c.ok(p.returncode == 3 and "cannot raise RLIMIT_MEMLOCK" in p.stderr, "run: memlock refusal is an error", p.stderr)
    c.ok(not os.path.exists(out + ".args"), "run: QEMU not started without its memlock")
else:
    c.ok(p.returncode == 0, "run: memlock raised (unlimited hard limit here)", p.stderr)
c.ok(sk.driver(root, BDF) == "e1000e", "run: reattached after the memlock step")

# ---- lint error: nothing happens ----
root = sk.make_fixture(os.path.join(tmp, "lint"))
bad = os.path.join(tmp, "bad.xml")
domain(bad, extra_iommu="intremap='on' eim='on' aw_bits='40'")
before = sk.state_of(root)
p, out = run(root, bad, "--keep-memlock", mode="exit0")
c.ok(p.returncode != 0 and "lint" in (p.stdout + p.stderr), "run: lint errors refuse the start", p.stdout + p.stderr)
c.ok(sk.state_of(root) == before, "run: lint refusal changed no device")

c.finish("qemu-run")
