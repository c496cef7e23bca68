# Boot 2b: e1000e is loaded before udev runs (as a built-in or initramfs
# driver would be): it binds the e1000e first.  The coldplug "add" event
# then sets the override, and the second rule records the host driver,
# unbinds it and probes again: vfio-pci gets it, persist --verify says a
# host driver was first.
. /opt/persist-guest/common.sh
E=$(dev_by_id 0x8086 0x10d3); VN=$(dev_by_id 0x1af4 0x1000)
check "before udev: e1000e (loaded early) bound $E" "$(drv $E)" e1000e
boot_machinery
check "after coldplug: $E on vfio-pci" "$(drv $E)" vfio-pci
check "after coldplug: $VN on vfio-pci" "$(drv $VN)" vfio-pci
check "the rule recorded the host driver" "$(cat /run/iommuctl/host-bound 2>/dev/null)" "$E e1000e"
$IC persist --verify > /tmp/v.out 2>&1; rc=$?
cat /tmp/v.out
check "persist --verify: exit 1" "$rc" 1
check_has "verify: bound, but a host driver bound it first" /tmp/v.out "$E  bound, but a host driver bound it first.*host driver first: e1000e"
sync
umount $STATE
