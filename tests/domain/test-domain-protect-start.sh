#!/bin/sh
# protect must leave only domains that start (issue 13): every virt-install
# domain of corpus/virt-install is started paused under TCG by real libvirt
# 9.0 + QEMU 7.2 (tests/lib/libvirt-oracle argv --start), as made and after
# `iommuctl domain protect`; the protected one must carry iommu_platform on
# as many devices as protect reported, and lint must find no QEMU error in it.
set -u
: "${IOMMUCTL:?}" "${IOMMUCTL_SRCDIR:?}"
corpus="$IOMMUCTL_SRCDIR/tests/domain/corpus/virt-install"
. "$IOMMUCTL_SRCDIR/tests/lib/oracle.sh"
ic_oracle_require
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/img" "$tmp/share"
chmod 755 "$tmp"
n=0; fails=0
ok() { n=$((n+1)); echo "ok $n - $*"; }
notok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $*"; }
for src in "$corpus"/*.xml; do
  base=$(basename "$src" .xml)
  # the disk images the XML names must exist: empty ones in the temp dir
  sed -e "s#/var/lib/libvirt/images/#$tmp/img/#g" -e "s#/srv/share#$tmp/share#g" "$src" > "$tmp/$base.xml"
  for img in $(grep -o "$tmp/img/[^\"']*" "$tmp/$base.xml"); do : > "$img"; done
  if "$oracle" argv --start "$tmp/$base.xml" > "$tmp/$base.argv" 2>"$tmp/err"; then
    ok "$base: starts as virt-install made it"
  else
    notok "$base: does not start even before protect: $(tail -1 "$tmp/err")"; continue
  fi
  "$IOMMUCTL" domain protect "$tmp/$base.xml" > "$tmp/$base-p.xml" 2>"$tmp/$base.report"
  want=$(sed -n "s/.*set iommu='on' on \([0-9]*\) device.*/\1/p" "$tmp/$base.report"); want=${want:-0}
  if "$oracle" argv --start "$tmp/$base-p.xml" > "$tmp/$base-p.argv" 2>"$tmp/err"; then
    got=$(grep -c '"iommu_platform":true' "$tmp/$base-p.argv")
    if [ "$got" -ge "$want" ] && [ "$want" -gt 0 ]; then
      ok "$base: starts after protect, iommu_platform on $got device(s) (protect set $want)"
    else
      notok "$base: starts after protect but iommu_platform on $got device(s), protect reported $want"
    fi
  else
    notok "$base: protect broke it: $(tail -1 "$tmp/err")"
  fi
  # lint and protect share the rule: nothing of QEMU's left in the result
  if "$IOMMUCTL" domain lint --libvirt-version 9.0 --json "$tmp/$base-p.xml" | \
       python3 -c 'import json,sys; d=json.load(sys.stdin)["files"][0]["findings"]; sys.exit(any(x["origin"]=="qemu" for x in d))'; then
    ok "$base: lint finds no QEMU error after protect"
  else
    notok "$base: lint still finds a QEMU error after protect"
  fi
done
# the refused device is named with its reason and fix
if grep -q "QM006); fix: leave iommu off on this virtiofs" "$tmp/q35-virtiofs.report"; then
  ok "virtiofs: protect names the refused device, the reason and the fix"
else
  notok "virtiofs: no refusal in the report: $(cat "$tmp/q35-virtiofs.report")"
fi
echo "1..$n"
[ $fails = 0 ]
