# Boot 1: real udev binds the group to its host drivers; driverctl splits it;
# iommuctl persist binds the whole group and writes the boot files.
. /opt/persist-guest/common.sh
boot_machinery
VN=$(dev_by_id 0x1af4 0x1000); E=$(dev_by_id 0x8086 0x10d3)
GRP=$(basename "$(readlink /sys/bus/pci/devices/$E/iommu_group)")
echo "virtio-net=$VN e1000e=$E group=$GRP members: $(ls /sys/kernel/iommu_groups/$GRP/devices | tr '\n' ' ')"
check "udev loaded e1000e by modalias and it bound $E" "$(drv $E)" e1000e
check "udev loaded virtio-pci by modalias and it bound $VN" "$(drv $VN)" virtio-pci
check "one group holds both" "$(basename "$(readlink /sys/bus/pci/devices/$VN/iommu_group)")" "$GRP"

# driverctl works per device: the group is split, and it says nothing
modprobe vfio-pci
/opt/bash/bash /opt/bash/driverctl set-override $E vfio-pci > /tmp/dc.out 2>&1
check "driverctl: $E on vfio-pci" "$(drv $E)" vfio-pci
check "driverctl: $VN left on virtio-pci: the group is split" "$(drv $VN)" virtio-pci
check "driverctl said nothing about the group" "$(grep -ci group /tmp/dc.out)" 0
/opt/bash/bash /opt/bash/driverctl unset-override $E > /tmp/dc.out 2>&1
check "driverctl unset-override: $E back on e1000e" "$(drv $E)" e1000e

# iommuctl persist: the whole group, now and at every boot.  No --driver:
# this guest has the kernel's real modules.alias, whose generic
# "vfio_pci:v*d*..." line must not be taken for a variant driver
$IC persist $E --config-root $CFG > /tmp/p.out 2>&1; rc=$?
cat /tmp/p.out
check "persist exits 0" "$rc" 0
check "persist: $E on vfio-pci" "$(drv $E)" vfio-pci
check "persist: $VN on vfio-pci too (whole group)" "$(drv $VN)" vfio-pci
check_has "persist wrote the udev rule for $VN" $CFG/etc/udev/rules.d/41-iommuctl-vfio.rules "KERNEL==\"$VN\", ATTR{vendor}==\"0x1af4\""
check_has "persist wrote the softdep for e1000e" $CFG/etc/modprobe.d/iommuctl-vfio.conf "softdep e1000e pre: vfio-pci"
$IC persist --verify > /tmp/v.out 2>&1; rc=$?
cat /tmp/v.out
check "persist --verify: exit 0" "$rc" 0
sync
umount $STATE
