# Boot 4: the same machine booted with iommu.passthrough=1: diff against
# boot 2's snapshot says every group turned identity.
. /opt/persist-guest/common.sh
$IC diff $STATE/snap-before > /tmp/d.out 2>&1; rc=$?
cat /tmp/d.out
check "diff (passthrough): exit 1" "$rc" 1
check_has "diff: the default domain turned identity" /tmp/d.out "default domain type DMA -> identity"
check_has "diff: the persisted group's type changed" /tmp/d.out "group 4: type DMA -> identity"
check_has "diff: the kernel command line changed" /tmp/d.out "iommu.passthrough=1"
check_has "diff: the persisted bindings are affected" /tmp/d.out "persisted binding 0000:02:02.0 (group 4):.*type DMA -> identity"
umount $STATE
