#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The project's guest harness (tests/lib/guest-run) itself: what every guest
# test stands on.  TAP.
#  - the script's exit status and output come back; -e variables arrive;
#  - a disk image given with --disk keeps what one boot wrote for the next;
#  - a guest that never ends is stopped at the timeout (124) and its QEMU is gone;
#  - a missing component is an error naming the Debian package (126);
#  - aarch64 virt with SMMUv3 (Debian's newest arm64 kernel and busybox, fetched
#    once through a private apt configuration): an IOMMU group, vfio-pci binding.
set -u
run=$IOMMUCTL_SRCDIR/tests/lib/guest-run
. "$IOMMUCTL_SRCDIR/tests/lib/guest.sh"
ic_guest_require
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ic-harness.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0; fails=0
check() { # NAME CONDITION-EXIT-STATUS [DETAIL]
  n=$((n + 1))
  if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails + 1)); [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'; fi
}

printf 'echo "value=$VALUE"\nexit 7\n' > "$tmp/rc.sh"
out=$("$run" -q -t 240 -s "$tmp/rc.sh" -e VALUE='two words' -i none 2>"$tmp/err"); rc=$?
[ $rc -eq 7 ] && [ "$out" = "value=two words" ]; check "exit status 7 and the -e variable come back" $? "rc=$rc out=$out $(tail -5 "$tmp/err")"

truncate -s 1M "$tmp/disk.img"
printf 'printf persisted-%%s "$BOOT" | dd of=/dev/vda bs=512 conv=sync 2>/dev/null\n' > "$tmp/w.sh"
printf 'head -c 17 /dev/vda; echo\n' > "$tmp/r.sh"
"$run" -q -t 240 -s "$tmp/w.sh" -e BOOT=one -i none --disk "$tmp/disk.img" >/dev/null 2>"$tmp/err"; rc=$?
out=$("$run" -q -t 240 -s "$tmp/r.sh" -i none --disk "$tmp/disk.img" 2>>"$tmp/err")
[ $rc -eq 0 ] && [ "$out" = "persisted-one" ]; check "a --disk image keeps what boot 1 wrote for boot 2" $? "rc=$rc out=$out $(tail -5 "$tmp/err")"

printf 'sleep 1000\n' > "$tmp/hang.sh"
"$run" -q -t 20 -s "$tmp/hang.sh" -i none --workdir "$tmp/hang" >/dev/null 2>"$tmp/err"; rc=$?
left=$(pgrep -f "qemu-system.*$tmp/hang" | wc -l)
[ $rc -eq 124 ] && [ "$left" -eq 0 ]; check "timeout: exit 124 and no QEMU left behind" $? "rc=$rc left=$left"

out=$(PATH=/nonexistent /usr/bin/python3 "$run" -q -s "$tmp/rc.sh" 2>&1); rc=$?
[ $rc -eq 126 ] && echo "$out" | grep -q 'apt-get install'; check "a missing component names its package (126)" $? "rc=$rc $out"

printf '. /etc/ic-guest/lib.sh\nig_pci\nig_bind 0000:01:00.0 vfio-pci\necho "bound $(ig_driver 0000:01:00.0) group=$(ig_group 0000:01:00.0)"\nls /dev/vfio\n' > "$tmp/arm.sh"
out=$("$run" -q -A aarch64 -t 400 -s "$tmp/arm.sh" -- -device pcie-root-port,id=rp1,chassis=1 -device e1000e,bus=rp1 2>"$tmp/err"); rc=$?
echo "$out" | grep -q 'iommu class devices: smmu3' && echo "$out" | grep -Eq '^bound vfio-pci group=[0-9]+$'
check "aarch64 virt + SMMUv3: the guest has an SMMUv3 and binds a device to vfio-pci" $? "rc=$rc $out $(tail -5 "$tmp/err")"

echo "1..$n"
exit $fails
