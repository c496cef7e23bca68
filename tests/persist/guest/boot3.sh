# Boot 3: the e1000e moved to another slot, an e1000 sits at its old
# address.  The rule matches address AND identity: the e1000 is left alone;
# persist --verify says what changed.
. /opt/persist-guest/common.sh
OLD_E=$(sed -n 's/^# \([0-9a-f:.]*\): group .*, 8086:10d3 .*/\1/p' /etc/udev/rules.d/41-iommuctl-vfio.rules)
boot_machinery
VN=$(dev_by_id 0x1af4 0x1000)
NEW_E=$(for d in /sys/bus/pci/devices/*; do [ "$(cat $d/device)" = 0x10d3 ] && echo ${d##*/}; done)
echo "persisted e1000e at $OLD_E; e1000e now at $NEW_E; virtio-net=$VN"
check "the old address holds the e1000 now" "$(cat /sys/bus/pci/devices/$OLD_E/device)" 0x100e
check "the new occupant is left alone: no driver_override" "$(ovr $OLD_E)" "(null)"
check "the new occupant is left alone: on its own driver" "$(drv $OLD_E)" e1000
check "$VN (same card, same address) still on vfio-pci" "$(drv $VN)" vfio-pci
$IC persist --verify > /tmp/v.out 2>&1; rc=$?
cat /tmp/v.out
check "persist --verify: exit 1" "$rc" 1
check_has "verify: hardware changed at $OLD_E" /tmp/v.out "$OLD_E  HARDWARE CHANGED"
check_has "verify: a new card is in the slot" /tmp/v.out "a new card is in the slot: $OLD_E was 8086:10d3"
check_has "verify: the card moved to $NEW_E" /tmp/v.out "the card moved: 8086:10d3 .* is now at $NEW_E"
$IC diff $STATE/snap-before > /tmp/d.out 2>&1; rc=$?
cat /tmp/d.out
check "diff against boot 2's snapshot: exit 1" "$rc" 1
check_has "diff: the e1000e moved" /tmp/d.out "moved to $NEW_E"
sync
umount $STATE
