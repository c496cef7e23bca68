# Boot 1: detach/reattach of the group {virtio-net, e1000e}; a kill -9
# mid-detach then recover; then a power cut mid-detach with the journal on
# the virtio-blk disk (boot 2 recovers it).
. /opt/assign-guest/common.sh
ST=/tmp/st
check found-devices "$([ -n "$VN" ] && [ -n "$E" ] && echo yes)" yes
check same-group "$(basename "$(readlink /sys/bus/pci/devices/$VN/iommu_group)")" "$GRP"

$IC plan "$E" --state-dir $ST > /tmp/plan.txt; check plan-rc $? 0
cat /tmp/plan.txt
check_has plan-virtio-detach /tmp/plan.txt "$VN detach    virtio-pci -> vfio-pci"
check_has plan-e1000e-detach /tmp/plan.txt "$E detach    e1000e -> vfio-pci"
check_has plan-bridge-ok /tmp/plan.txt "bridge-ok"
check_has plan-node /tmp/plan.txt "/dev/vfio/$GRP will appear"

$IC detach "$E" --state-dir $ST; check detach-rc $? 0
check detach-virtio "$(drv $VN)" vfio-pci
check detach-e1000e "$(drv $E)" vfio-pci
check detach-vfio-node "$([ -c /dev/vfio/$GRP ] && echo char-device)" char-device
$IC status --state-dir $ST > /tmp/status.txt; check status-rc $? 0
check_has status-original /tmp/status.txt "$E  group $GRP  *vfio-pci (was e1000e)"
$IC reattach "$VN" --state-dir $ST; check reattach-rc $? 0
check reattach-virtio "$(drv $VN)" virtio-pci
check reattach-e1000e "$(drv $E)" e1000e
check reattach-override "$(ovr $E)" "(null)"
check reattach-node-gone "$([ -e /dev/vfio/$GRP ] && echo present || echo gone)" gone

echo "--- kill -9 after step 4 of the detach (virtio-net moved, e1000e's override written)"
IOMMUCTL_DEBUG_PAUSE_AFTER_STEP=4 $IC detach "$E" --state-dir $ST 2>/tmp/err &
pid=$!
wait_paused /tmp/err; check paused-4 $? 0
kill -9 $pid; wait $pid 2>/dev/null
check split-virtio "$(drv $VN)" vfio-pci
check split-e1000e "$(drv $E)" e1000e
$IC status --state-dir $ST; check status-unfinished-rc $? 1
$IC recover --state-dir $ST > /tmp/recover.txt; check recover-rc $? 0
cat /tmp/recover.txt
check_has recover-says /tmp/recover.txt "$VN (group $GRP): vfio-pci -> virtio-pci (restored)"
check recovered-virtio "$(drv $VN)" virtio-pci
check recovered-e1000e "$(drv $E)" e1000e
check recovered-override "$(ovr $E)" "(null)"

echo "--- power cut after step 5, journal on /dev/vda"
mkdir -p /mnt/state && mount -t ext4 /dev/vda /mnt/state; check mount-state $? 0
IOMMUCTL_DEBUG_PAUSE_AFTER_STEP=5 $IC detach "$E" --state-dir /mnt/state/ic 2>/tmp/err2 &
wait_paused /tmp/err2; check paused-5 $? 0
check cut-virtio "$(drv $VN)" vfio-pci
check cut-e1000e "$(drv $E)" none
echo "CUTTING POWER"
poweroff -f
