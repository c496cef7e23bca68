#!/bin/sh
# Suite 'oracle': `iommuctl show ADDR --xml` against real libvirt's
# `virsh nodedev-dumpxml pci_...` for every PCI device of this machine,
# compared element by element and attribute by attribute (quoting style
# aside).  Needs root and the private libvirtd of tests/lib/libvirt-oracle.
set -eu
: "${IOMMUCTL:?}" "${IOMMUCTL_SRCDIR:?}"
fail_or_skip() {
  if [ "${IOMMUCTL_ALLOW_SKIP:-0}" = 1 ]; then echo "SKIP: $*" >&2; exit 77; fi
  echo "FAIL: $* (set IOMMUCTL_ALLOW_SKIP=1 to skip outside CI)" >&2
  exit 1
}
command -v virsh >/dev/null 2>&1 || fail_or_skip "virsh is not installed (apt-get install libvirt-clients)"
LIBVIRT_DEFAULT_URI=$("$IOMMUCTL_SRCDIR/tests/lib/libvirt-oracle" start) || fail_or_skip "the libvirt oracle did not start"
export LIBVIRT_DEFAULT_URI
exec python3 - <<'PY'
import os, subprocess, sys, xml.etree.ElementTree as ET
iommuctl = os.environ["IOMMUCTL"]
names = subprocess.run(["virsh", "nodedev-list", "--cap", "pci"], capture_output=True, text=True, check=True).stdout.split()
if not names:
    sys.exit("FAIL: libvirt lists no PCI devices")
def flat(e, path=""):
    here = path + "/" + e.tag + "".join("[@%s=%s]" % kv for kv in sorted(e.attrib.items()))
    yield here + "=" + (e.text or "").strip()
    for c in e:
        yield from flat(c, here)
failed = 0
for i, name in enumerate(names, 1):
    want = subprocess.run(["virsh", "nodedev-dumpxml", name], capture_output=True, text=True, check=True).stdout
    got = subprocess.run([iommuctl, "show", name, "--xml"], capture_output=True, text=True)
    if got.returncode != 0:
        print("not ok %d - %s: iommuctl failed: %s" % (i, name, got.stderr.strip()))
        failed += 1
        continue
    a, b = list(flat(ET.fromstring(want))), list(flat(ET.fromstring(got.stdout)))
    if a == b:
        print("ok %d - %s matches virsh nodedev-dumpxml (%d fields)" % (i, name, len(a)))
    else:
        failed += 1
        print("not ok %d - %s differs from virsh nodedev-dumpxml" % (i, name))
        for line in sorted(set(a) - set(b)):
            print("#   libvirt only: " + line)
        for line in sorted(set(b) - set(a)):
            print("#   iommuctl only: " + line)
        if set(a) == set(b):
            print("#   same fields, different order")
print("1..%d" % len(names))
sys.exit(1 if failed else 0)
PY
