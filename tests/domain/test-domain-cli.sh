#!/bin/sh
# CLI behaviour of the domain verbs, and libvirt schema validity of every XML
# that protect, viommu and hostdev write (virt-xml-validate, libvirt's RNG).
set -u
: "${IOMMUCTL:?}" "${IOMMUCTL_SRCDIR:?}"
corpus="$IOMMUCTL_SRCDIR/tests/domain/corpus"
cases="$IOMMUCTL_SRCDIR/tests/domain/lint-cases"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; n=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
bad() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $1"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else bad "$desc"; fi; }

if ! command -v virt-xml-validate >/dev/null; then
  echo "virt-xml-validate (libvirt-clients) is missing"
  [ "${IOMMUCTL_ALLOW_SKIP:-0}" = 1 ] && { echo "1..0 # SKIP no virt-xml-validate"; exit 0; }
  exit 1
fi
validates() { virt-xml-validate "$1" domain >/dev/null 2>&1 || { virt-xml-validate "$1" domain; false; }; }

# --- protect: --check, --in-place with backup, idempotence, validity
mkdir -p "$tmp/tree/sub"
cp "$corpus"/*.xml "$tmp/tree/"; cp "$corpus/s390x-ccw.xml" "$tmp/tree/sub/nested.xml"
echo "not xml" > "$tmp/tree/sub/README"
cp -r "$tmp/tree" "$tmp/orig"
"$IOMMUCTL" domain protect --check "$tmp/tree" >/dev/null; rc=$?
check "protect --check exits 1 when changes are due" [ $rc = 1 ]
check "protect --check changed nothing" diff -r "$tmp/orig" "$tmp/tree"
"$IOMMUCTL" domain protect --in-place "$tmp/tree" > "$tmp/out"; rc=$?
# s390x-ccw.xml's virtiofs cannot take iommu on (QM006): protect writes the
# rest and exits 1, naming the file, the line and the fix
check "protect --in-place over a directory writes, exits 1 for the refused virtiofs" \
  sh -c "[ $rc = 1 ] && grep -q 's390x-ccw.xml:34: filesystem: not given iommu=.on.: QEMU refuses it' '$tmp/out'"
check "protect --in-place changed every file it could" grep -q "^5 file(s), 5 changed" "$tmp/out"
check "protect reports ccw devices" grep -q "ccw devices: fe.0.0000" "$tmp/out"
check "protect kept a backup" cmp -s "$tmp/tree/sub/nested.xml.bak" "$tmp/orig/sub/nested.xml"
for f in "$tmp"/tree/*.xml "$tmp"/tree/sub/*.xml; do
  check "protect output validates: ${f#$tmp/}" validates "$f"
done
"$IOMMUCTL" domain protect --check --json "$tmp/tree" > "$tmp/again.json"
check "protect is idempotent (second --check: nothing would change)" grep -q '"files_changed" : 0' "$tmp/again.json"
cp "$corpus/x86-q35-gpu.xml" "$tmp/nb.xml"
"$IOMMUCTL" domain protect --in-place --no-backup "$tmp/nb.xml" >/dev/null
check "--no-backup leaves no .bak" [ ! -e "$tmp/nb.xml.bak" ]
check "comments survive protect" grep -q "<!-- the GPU and its audio function -->" "$tmp/nb.xml"
check "qemu:commandline survives protect" grep -q "<qemu:arg value='ICH9-LPC.disable_s3=1'/>" "$tmp/nb.xml"
"$IOMMUCTL" domain protect "$corpus/x86-q35-gpu.xml" > "$tmp/stdout.xml" 2>/dev/null
check "one file without --in-place goes to stdout" cmp -s "$tmp/stdout.xml" "$tmp/nb.xml"
"$IOMMUCTL" domain protect "$corpus/x86-q35-gpu.xml" "$corpus/s390x-ccw.xml" >/dev/null 2>&1; rc=$?
check "several files need --in-place or --check (exit 2)" [ $rc = 2 ]
"$IOMMUCTL" domain protect --json --check "$corpus/s390x-ccw.xml" > "$tmp/p.json"
check "protect --json has the schema header" grep -q '"schema" : "iommuctl.domain-protect"' "$tmp/p.json"

sed "s|<memballoon model='none'/>|<memballoon model='virtio'/>|" "$corpus/s390x-ccw.xml" > "$tmp/balloon.xml"
"$IOMMUCTL" domain protect --check "$tmp/balloon.xml" > "$tmp/balloon.out"
check "protect on s390x advises <memballoon model='none'/>" grep -q "balloon.xml:45: Secure Execution fences ballooning" "$tmp/balloon.out"

# --- viommu: every model the machine allows, results validate and lint clean
for spec in "x86-q35-gpu.xml intel" "x86-q35-gpu.xml virtio" "x86-q35-gpu.xml auto" "aarch64-virt.xml smmuv3" \
            "aarch64-virt.xml auto" "big-200-devices.xml intel"; do
  set -- $spec
  out="$tmp/viommu-$2-$1"
  "$IOMMUCTL" domain viommu --model "$2" --host-aw-bits 48 "$corpus/$1" > "$out" 2>"$out.err"; rc=$?
  check "viommu --model $2 on $1 lints clean" [ $rc = 0 ]
  check "viommu --model $2 on $1 validates" validates "$out"
  "$IOMMUCTL" domain lint --host-aw-bits 48 "$out" >/dev/null
  check "lint agrees the $2 result on $1 is clean" [ $? = 0 ]
done
"$IOMMUCTL" domain viommu --model intel "$tmp/viommu-intel-x86-q35-gpu.xml" > "$tmp/again.xml" 2>/dev/null
check "viommu is idempotent" cmp -s "$tmp/again.xml" "$tmp/viommu-intel-x86-q35-gpu.xml"
"$IOMMUCTL" domain viommu --remove "$tmp/viommu-virtio-x86-q35-gpu.xml" > "$tmp/removed.xml" 2>/dev/null
check "viommu --remove validates" validates "$tmp/removed.xml"
check "viommu --remove leaves no <iommu>" sh -c "! grep -q '<iommu' '$tmp/removed.xml'"
"$IOMMUCTL" domain viommu --model auto --libvirt-version 9.0.0 "$cases/LV001-fail.xml" >/dev/null 2>"$tmp/err"; rc=$?
check "viommu auto on i440fx fails with Nova's text (exit 2)" [ $rc = 2 ]
check "Nova's machine-type text" grep -q "vIOMMU is not supported by Current machine type pc (Architecture: x86_64)." "$tmp/err"
cp "$cases/LV013-fail.xml" "$tmp/many.xml"
"$IOMMUCTL" domain viommu --model intel --in-place "$tmp/many.xml" >/dev/null 2>&1
check "viommu on 256 vCPUs adds eim" grep -q "eim='on'" "$tmp/many.xml"
check "viommu on 256 vCPUs validates" validates "$tmp/many.xml"

# --- hostdev
"$IOMMUCTL" domain hostdev "$corpus/x86-q35-gpu.xml" 0000:5e:00.0 3b:00.0 --managed no > "$tmp/hd.xml" 2>/dev/null
check "hostdev output validates" validates "$tmp/hd.xml"
check "hostdev added the new device once" [ "$(grep -c "bus='0x5e'" "$tmp/hd.xml")" = 1 ]
check "hostdev kept the existing one" [ "$(grep -c "bus='0x3b' slot='0x00' function='0x0'" "$tmp/hd.xml")" = 1 ]
"$IOMMUCTL" domain hostdev "$corpus/x86-q35-gpu.xml" nonsense >/dev/null 2>&1; rc=$?
check "hostdev refuses a bad address (exit 2)" [ $rc = 2 ]
# the result is linted by the libvirt asked for: iommufd is 12.1's
"$IOMMUCTL" domain hostdev --iommufd yes --libvirt-version 9.0 "$corpus/x86-q35-gpu.xml" 0000:5e:00.0 \
  > /dev/null 2>"$tmp/hd.err"; rc=$?
check "hostdev --iommufd linted as libvirt 9.0: LV022, exit 1" sh -c "[ $rc = 1 ] && grep -q LV022 '$tmp/hd.err'"
"$IOMMUCTL" domain hostdev --iommufd yes --libvirt-version 12.1 "$corpus/x86-q35-gpu.xml" 0000:5e:00.0 \
  > /dev/null 2>"$tmp/hd.err"; rc=$?
check "hostdev --iommufd linted as libvirt 12.1: clean, exit 0" sh -c "[ $rc = 0 ] && ! grep -q LV022 '$tmp/hd.err'"
"$IOMMUCTL" domain hostdev --libvirt-version 9.x "$corpus/x86-q35-gpu.xml" 0000:5e:00.0 >/dev/null 2>&1; rc=$?
check "hostdev --libvirt-version 9.x is bad input (exit 2)" [ $rc = 2 ]
"$IOMMUCTL" domain viommu --model amd --libvirt-version 9.0 "$cases/LV019-pass-amd-11.5.xml" >/dev/null 2>"$tmp/v.err"; rc=$?
check "viommu --model amd linted as libvirt 9.0: LV019, exit 1" sh -c "[ $rc = 1 ] && grep -q LV019 '$tmp/v.err'"
"$IOMMUCTL" domain viommu --model amd --libvirt-version 11.5 "$cases/LV019-pass-amd-11.5.xml" >/dev/null 2>"$tmp/v.err"; rc=$?
check "viommu --model amd linted as libvirt 11.5: exit 0" [ $rc = 0 ]
"$IOMMUCTL" domain viommu --model virtio --libvirt-version 9.0abc "$corpus/x86-q35-gpu.xml" >/dev/null 2>&1; rc=$?
check "viommu --libvirt-version 9.0abc is bad input (exit 2; sscanf took it before)" [ $rc = 2 ]

# --- an ordinary virt-install domain lints clean (issue 13): the whole
# generated corpus (corpus/gen-virt-install.py), as libvirt 9.0: no error
# (warnings, e.g. IC001 for iommu='on' without a vIOMMU on the i440fx
# iommu-on variants, are what a user should see)
"$IOMMUCTL" domain lint --libvirt-version 9.0 --json "$corpus/virt-install" "$corpus/virt-install-hostdev" \
  > "$tmp/vi.json"; rc=$?
check "lint: every virt-install domain lints without error (exit 0)" sh -c "[ $rc = 0 ] && python3 -c '
import json,sys; d=json.load(open(sys.argv[1]))
bad=[(f[\"file\"], x[\"code\"]) for f in d[\"files\"] for x in f[\"findings\"] if x[\"severity\"]==\"error\"]
sys.exit(bool(bad) or d[\"unreadable\"] > 0 or len(d[\"files\"]) < 100)' '$tmp/vi.json'"

# --- lint CLI
"$IOMMUCTL" domain lint "$cases/LV007-fail.xml" > "$tmp/l.txt"; rc=$?
check "lint exits 1 on errors" [ $rc = 1 ]
check "lint prints file:line: severity code" grep -q "LV007-fail.xml:14: error LV007 \[libvirt\]: IOMMU interrupt remapping requires split I/O APIC (ioapic driver='qemu')" "$tmp/l.txt"
"$IOMMUCTL" domain lint --json "$cases/LV007-fail.xml" > "$tmp/l.json"
check "lint --json has the schema header" grep -q '"schema" : "iommuctl.domain-lint"' "$tmp/l.json"
printf '<domain><name>x</name>' > "$tmp/broken.xml"
"$IOMMUCTL" domain lint "$tmp/broken.xml" >/dev/null 2>&1; rc=$?
check "lint exits 2 on unparsable XML" [ $rc = 2 ]

# --- memlock
"$IOMMUCTL" domain memlock "$corpus/x86-q35-gpu.xml" > "$tmp/m.txt"
check "memlock shows libvirt's 1 x RAM + 1 GiB" grep -q "libvirt: .*(18253611008 bytes)" "$tmp/m.txt"

# --- host facts from a fixture tree (--sysfs-root): Intel IOMMU with a 39-bit
# MGAW, group 7 = GPU 3b:00.0 + its audio 3b:00.1 behind bridge 3a:00.0, 8 GB RAM
R="$tmp/host"
mkdir -p "$R/sys/bus/pci/devices" "$R/sys/class/iommu/dmar0/intel-iommu" "$R/proc"
printf '000000000026008f\n' > "$R/sys/class/iommu/dmar0/intel-iommu/cap"
printf 'MemTotal:        8000000 kB\n' > "$R/proc/meminfo"
mkdev() { # path-under-root-bus group class header-type
  d="$R/sys/devices/pci0000:3a/$1"; a=$(basename "$1"); mkdir -p "$d" "$R/sys/kernel/iommu_groups/$2/devices"
  ln -s "../../../devices/pci0000:3a/$1" "$R/sys/bus/pci/devices/$a"
  ln -s "$R/sys/kernel/iommu_groups/$2" "$d/iommu_group"
  ln -s "$d" "$R/sys/kernel/iommu_groups/$2/devices/$a"
  printf 'PCI_CLASS=%s\nPCI_ID=10DE:1234\nPCI_SLOT_NAME=%s\n' "$3" "$a" > "$d/uevent"
  python3 -c "
import sys
b = bytearray(64); b[0:4] = bytes([0xde, 0x10, 0x34, 0x12]); c = int(sys.argv[2], 16)
b[9:12] = bytes([c & 255, (c >> 8) & 255, c >> 16]); b[14] = int(sys.argv[3])
open(sys.argv[1], 'wb').write(b)" "$d/config" "$3" "$4"
}
mkdev 0000:3a:00.0 6 60400 1
mkdev 0000:3a:00.0/0000:3b:00.0 7 30000 128
mkdev 0000:3a:00.0/0000:3b:00.1 7 40300 128
"$IOMMUCTL" domain hostdev --group --sysfs-root "$R" "$cases/LV003-pass.xml" 3b:00.0 > "$tmp/grp.xml" 2>"$tmp/grp.err"; rc=$?
check "hostdev --group exits 0 (result lints clean)" [ $rc = 0 ]
check "hostdev --group added both functions of the group" [ "$(grep -c "bus='0x3b'" "$tmp/grp.xml")" = 2 ]
check "hostdev --group did not add the bridge" sh -c "! grep -q \"bus='0x3a'\" '$tmp/grp.xml'"
check "hostdev --group output validates" validates "$tmp/grp.xml"
"$IOMMUCTL" domain lint --sysfs-root "$R" "$cases/IC002-fail.xml" > "$tmp/ic2.txt"; rc=$?
check "lint takes the host width from --sysfs-root (IC002)" grep -q "IC002.*39-bit" "$tmp/ic2.txt"
"$IOMMUCTL" domain viommu --model intel --sysfs-root "$R" "$corpus/x86-q35-gpu.xml" > "$tmp/aw.xml" 2>/dev/null
check "viommu picks aw_bits from the host width" grep -q "aw_bits='39'" "$tmp/aw.xml"
"$IOMMUCTL" domain memlock --sysfs-root "$R" "$corpus/x86-q35-gpu.xml" > "$tmp/ml.txt"; rc=$?
check "memlock above host RAM exits 1" [ $rc = 1 ]
check "memlock warns above host RAM" grep -q "warning: the limit exceeds the host's RAM" "$tmp/ml.txt"

# --- protect leaves domains that start (issue 13): transitional -> non-transitional, virtiofs refused
vi="$corpus/virt-install"
"$IOMMUCTL" domain protect "$vi/i440-srv.xml" > "$tmp/i440.xml" 2>"$tmp/i440.rep"; rc=$?
check "protect i440fx exits 0" [ $rc = 0 ]
check "protect i440fx switches the 4 virtio devices to virtio-non-transitional" \
  [ "$(grep -c 'virtio-non-transitional' "$tmp/i440.xml")" = 4 ]
check "protect i440fx says why it switched the model" grep -q "i440-srv.xml:46: memballoon (virtio): model='virtio-non-transitional'" "$tmp/i440.rep"
check "protect i440fx output validates" validates "$tmp/i440.xml"
"$IOMMUCTL" domain protect --check "$tmp/i440.xml" >/dev/null; rc=$?
check "protect i440fx is idempotent" [ $rc = 0 ]
"$IOMMUCTL" domain lint --libvirt-version 9.0 "$tmp/i440.xml" > "$tmp/i440.lint"
check "lint agrees with protect's result (no QM002)" sh -c "! grep -q QM002 '$tmp/i440.lint'"
"$IOMMUCTL" domain protect "$vi/q35-virtiofs.xml" > "$tmp/vfs.xml" 2>"$tmp/vfs.rep"; rc=$?
check "protect exits 1 when it refuses a device (the domain is not fully protected)" [ $rc = 1 ]
check "protect still writes what it could protect" grep -q "iommu=\"on\"" "$tmp/vfs.xml"
"$IOMMUCTL" domain protect --json "$vi/q35-virtiofs.xml" > "$tmp/vfs.json"; rc=$?
check "protect --json lists the refused device under refused (exit 1)" sh -c "[ $rc = 1 ] && python3 -c '
import json,sys; f=json.load(open(sys.argv[1]))[\"files\"][0]
sys.exit(not (len(f[\"refused\"]) == 1 and \"QM006\" in f[\"refused\"][0] and not any(\"QM006\" in n for n in f[\"notes\"])))' '$tmp/vfs.json'"
"$IOMMUCTL" domain protect --check "$vi/q35-virtiofs.xml" >/dev/null; rc=$?
check "protect --check exits 1 on a refusal too" [ $rc = 1 ]
check "protect refuses iommu on virtiofs with the reason and the fix" \
  grep -q "q35-virtiofs.xml:56: filesystem: not given iommu='on': QEMU refuses it (\"iommu_platform=true is not supported by the device\", QM006); fix: " "$tmp/vfs.rep"
check "protect left the virtiofs filesystem without iommu" sh -c "! sed -n '/<filesystem/,/<\/filesystem>/p' '$tmp/vfs.xml' | grep -q iommu"

# --- lint --libvirt-version
"$IOMMUCTL" domain lint --libvirt-version 9.0 "$cases/LV019-pass-amd-11.5.xml" > "$tmp/lv.txt"; rc=$?
check "lint --libvirt-version 9.0: amd is an error (exit 1)" [ $rc = 1 ]
check "lint --libvirt-version 9.0: amd names the version needed" grep -q "LV019 \[libvirt\]: iommu model 'amd' needs libvirt >= 11.5; libvirt 9.0: Invalid value" "$tmp/lv.txt"
"$IOMMUCTL" domain lint --libvirt-version 11.5 "$cases/LV019-pass-amd-11.5.xml" > "$tmp/lv.txt"; rc=$?
check "lint --libvirt-version 11.5: amd passes" [ $rc = 0 ]
"$IOMMUCTL" domain lint --libvirt-version 9.0 "$cases/LV022-fail.xml" > "$tmp/lv.txt"; rc=$?
check "lint --libvirt-version 9.0: pciBus is not accepted silently" grep -q "LV022 \[libvirt-schema\]: <driver pciBus=''/> (one SMMUv3 per PCI host bridge) needs libvirt >= 11.10" "$tmp/lv.txt"
"$IOMMUCTL" domain lint --libvirt-version 11.10 --json "$cases/LV022-pass.xml" > "$tmp/lv.json"; rc=$?
check "lint --libvirt-version 11.10: pciBus passes, JSON names the version" sh -c "[ $rc = 0 ] && grep -q '\"libvirt_version\" : \"11.10.0\"' '$tmp/lv.json'"
"$IOMMUCTL" domain lint --libvirt-version eleven "$cases/LV022-pass.xml" >/dev/null 2>&1; rc=$?
check "lint --libvirt-version with a bad version exits 2" [ $rc = 2 ]

echo "1..$n"
[ $fails = 0 ]
