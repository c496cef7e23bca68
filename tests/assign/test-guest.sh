#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Real kernel: a group of a virtio-net and an e1000e behind a pcie-pci-bridge
# (tests/lib/guest-run, intel IOMMU).  Boot 1: plan, detach (drivers, /dev/vfio/N),
# reattach (original drivers), kill -9 mid-detach + recover, then a power
# cut mid-detach with the journal on a virtio-blk ext2 image.  Boot 2: the
# journal kept the unfinished operation; recover; detach/reattach work.
set -u
. "$IOMMUCTL_SRCDIR/tests/lib/guest.sh"
ic_guest_require
command -v mkfs.ext2 >/dev/null || ic_guest_fail_or_skip "mkfs.ext2 (e2fsprogs) is not installed"
IC_GUEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ic-assign-guest.XXXXXX")
trap 'rm -rf "$IC_GUEST_TMP"' EXIT
here=$IOMMUCTL_SRCDIR/tests/assign/guest
img=$IC_GUEST_TMP/state.img
truncate -s 16M "$img" && mkfs.ext2 -q -F "$img" || { echo "FAIL: cannot make the state disk"; exit 1; }
set -- -device pcie-root-port,id=rp1,chassis=1 -device pcie-pci-bridge,id=br1,bus=rp1 \
  -device virtio-net-pci,bus=br1,addr=1 -device e1000e,bus=br1,addr=2 \
  -drive file="$img",format=raw,if=none,id=st,cache=writeback -device virtio-blk-pci,drive=st

fails=0
for boot in boot1 boot2; do
  echo "===== $boot"
  out=$(ic_guest_run -s "$here/$boot.sh" -f "$here:/opt/assign-guest" -M ext4 -a no_timer_check -t 300 -- "$@" 2>&1)
  echo "$out"
  ok=$(echo "$out" | grep -c '^CHECK ok')
  bad=$(echo "$out" | grep -c '^CHECK FAIL')
  echo "$boot: $ok checks ok, $bad failed"
  want=$( [ $boot = boot1 ] && echo 31 || echo 18 )
  if [ "$bad" -ne 0 ] || [ "$ok" -lt "$want" ]; then
    echo "FAIL: $boot ($ok ok of $want expected, $bad failed)"; fails=$((fails + 1))
  fi
  if [ $boot = boot1 ] && ! echo "$out" | grep -q '^CUTTING POWER'; then
    echo "FAIL: boot 1 did not reach the power cut"; fails=$((fails + 1))
  fi
done
[ $fails -eq 0 ] && echo "ok: real-kernel detach/reattach, kill -9 recovery and power-cut recovery"
exit $fails
