# Boot 5: the same machine without an IOMMU: diff against boot 2's
# snapshot says the IOMMU is off and every group is gone.
. /opt/persist-guest/common.sh
$IC diff $STATE/snap-before > /tmp/d.out 2>&1; rc=$?
cat /tmp/d.out
check "diff (no IOMMU): exit 1" "$rc" 1
check_has "diff: IOMMU enabled -> disabled" /tmp/d.out "IOMMU enabled -> disabled"
check_has "diff: the persisted group lost its IOMMU group" /tmp/d.out "group 4 (0000:01:00.0 0000:02:01.0 0000:02:02.0): its devices have no IOMMU group now"
check_has "diff: the persisted bindings are affected" /tmp/d.out "persisted binding 0000:02:01.0"
umount $STATE
