#!/bin/sh
# lint's verdicts against real libvirt 9.0 (tests/lib/libvirt-oracle argv:
# exit 0 accepted, 1 rejected).  Two checks per case:
#  1. our libvirt-origin errors (LVnnn) <=> libvirt rejects — no exceptions;
#  2. any error of ours <=> libvirt rejects, except the cases listed in
#     oracle-disagreements.txt (rules libvirt lacks; see docs/domain.md).
set -u
: "${IOMMUCTL:?}" "${IOMMUCTL_SRCDIR:?}"
here="$IOMMUCTL_SRCDIR/tests/domain"
. "$IOMMUCTL_SRCDIR/tests/lib/oracle.sh"
ic_oracle_require
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# a few edited documents too: what viommu and protect write must be accepted
"$IOMMUCTL" domain viommu --model intel --host-aw-bits 39 "$here/corpus/x86-q35-gpu.xml" > "$tmp/edit-viommu-intel.xml" 2>/dev/null
"$IOMMUCTL" domain viommu --model virtio "$here/corpus/x86-q35-gpu.xml" > "$tmp/edit-viommu-virtio.xml" 2>/dev/null
"$IOMMUCTL" domain viommu --model smmuv3 "$here/corpus/aarch64-virt.xml" > "$tmp/edit-viommu-smmuv3.xml" 2>/dev/null
"$IOMMUCTL" domain protect "$tmp/edit-viommu-virtio.xml" > "$tmp/edit-protect-virtio.xml" 2>/dev/null
# 256 vCPUs need eim, which QEMU refuses under TCG (QM004): type='kvm' here
sed "s/type='qemu'/type='kvm'/" "$here/lint-cases/LV013-fail.xml" > "$tmp/src-256.xml"
"$IOMMUCTL" domain viommu --model intel "$tmp/src-256.xml" > "$tmp/edit-viommu-256.xml" 2>/dev/null

n=0; fails=0; agree=0
for f in "$here"/lint-cases/LV*.xml "$here"/lint-cases/QM*.xml "$here"/lint-cases/IC00[125]-*.xml \
         "$here/corpus/x86-q35-gpu.xml" "$here/corpus/aarch64-virt.xml" "$here/corpus/big-200-devices.xml" "$tmp"/edit-*.xml; do
  base=$(basename "$f")
  "$oracle" argv "$f" >/dev/null 2>"$tmp/err"; lv=$?
  if [ $lv -gt 1 ]; then
    n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $base: the libvirt oracle failed to run (exit $lv): $(tail -1 "$tmp/err")"; continue
  fi
  # the oracle is libvirt 9.0: lint by its rules whatever libvirt is installed
  "$IOMMUCTL" domain lint --libvirt-version 9.0 --host-aw-bits 39 --json "$f" > "$tmp/lint.json"
  verdicts=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["files"][0]["findings"]
lv = any(x["origin"] == "libvirt" and x["severity"] == "error" for x in d)
anyerr = any(x["severity"] == "error" for x in d)
print(int(lv), int(anyerr))' "$tmp/lint.json")
  set -- $verdicts; ours_lv=$1; ours_any=$2
  n=$((n+1))
  if [ "$ours_lv" = "$lv" ]; then
    agree=$((agree+1)); echo "ok $n - $base: libvirt $( [ $lv = 1 ] && echo rejects || echo accepts ), lint agrees"
  else
    fails=$((fails+1)); echo "not ok $n - $base: libvirt exit $lv, lint libvirt-rule verdict $ours_lv: $(tail -1 "$tmp/err")"
  fi
  n=$((n+1))
  listed=0; grep -qx "$base" "$here/oracle-disagreements.txt" && listed=1
  if [ "$ours_any" = "$lv" ] && [ $listed = 0 ]; then
    echo "ok $n - $base: overall verdict agrees"
  elif [ "$ours_any" != "$lv" ] && [ $listed = 1 ]; then
    echo "ok $n - $base: deliberate disagreement (listed)"
  else
    fails=$((fails+1)); echo "not ok $n - $base: overall verdict $ours_any vs libvirt $lv, listed=$listed"
  fi
done
echo "# $agree cases agree with libvirt on libvirt's own rules"
echo "1..$n"
[ $fails = 0 ] && [ $agree -ge 30 ]
