# Boot 2: the journal survived the power cut; recover; the host is usable.
. /opt/assign-guest/common.sh
mkdir -p /mnt/state && mount -t ext4 /dev/vda /mnt/state; check mount-state $? 0
ST=/mnt/state/ic
$IC status --state-dir $ST --json > /tmp/status.json; check status-unfinished-rc $? 1
cat /tmp/status.json
check_has journal-kept-op /tmp/status.json '"kind" : "detach"'
check_has journal-kept-steps /tmp/status.json '"steps_done" : 5'
# the reboot reset sysfs: the kernel probed the default drivers again
check reboot-virtio "$(drv $VN)" virtio-pci
check reboot-e1000e "$(drv $E)" e1000e
$IC detach "$E" --state-dir $ST 2>/tmp/err; check detach-refused-rc $? 3
check_has detach-refused /tmp/err "run 'iommuctl recover' first"
$IC recover --state-dir $ST > /tmp/recover.txt; check recover-rc $? 0
cat /tmp/recover.txt
check_has recover-says /tmp/recover.txt "restoring the state before it"
$IC status --state-dir $ST; check status-clean-rc $? 0
check after-virtio "$(drv $VN)" virtio-pci
check after-e1000e "$(drv $E)" e1000e
$IC detach "$E" --state-dir $ST; check detach-after-recover-rc $? 0
check detach2-e1000e "$(drv $E)" vfio-pci
$IC reattach --all --state-dir $ST; check reattach-all-rc $? 0
check final-virtio "$(drv $VN)" virtio-pci
check final-e1000e "$(drv $E)" e1000e
umount /mnt/state
