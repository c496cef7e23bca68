# Boot 2: the rules persist wrote are in /etc; the group comes up on
# vfio-pci and no host driver ever bound it.
. /opt/persist-guest/common.sh
check "the persisted rule is in /etc" "$(ls /etc/udev/rules.d/41-iommuctl-vfio.rules)" /etc/udev/rules.d/41-iommuctl-vfio.rules
boot_machinery
VN=$(dev_by_id 0x1af4 0x1000); E=$(dev_by_id 0x8086 0x10d3)
echo "virtio-net=$VN e1000e=$E"
check "$E came up on vfio-pci" "$(drv $E)" vfio-pci
check "$VN came up on vfio-pci" "$(drv $VN)" vfio-pci
check "$E driver_override set by the rule" "$(ovr $E)" vfio-pci
check "e1000e was loaded by modalias (the rules ran before it)" "$([ -d /sys/module/e1000e ] && echo yes)" yes
check "virtio_pci was loaded by modalias" "$([ -d /sys/module/virtio_pci ] && echo yes)" yes
check "no host driver bound them first (udev's record)" "$([ -e /run/iommuctl/host-bound ] && cat /run/iommuctl/host-bound)" ""
dmesg > /tmp/dmesg
check_not "udevd found no error in the persisted rules" /tmp/dmesg "41-iommuctl-vfio.rules"
check_not "dmesg: e1000e never probed $E" /tmp/dmesg "e1000e $E"
check_not "dmesg: virtio-pci never probed $VN" /tmp/dmesg "virtio-pci $VN"
check "no virtio device was made from $VN" "$(ls -d /sys/bus/pci/devices/$VN/virtio* 2>/dev/null)" ""
$IC persist --verify > /tmp/v.out 2>&1; rc=$?
cat /tmp/v.out
check "persist --verify: exit 0" "$rc" 0
check "persist --verify: both bound" "$(grep -c '  bound (now on vfio-pci' /tmp/v.out)" 2
$IC check > /tmp/c.out 2>&1
check_has "check carries the persisted bindings" /tmp/c.out "Persisted vfio bindings in place.*PASS"
$IC snapshot $STATE/snap-before > /dev/null 2>&1 || echo "CHECK FAIL snapshot"
sync
umount $STATE
