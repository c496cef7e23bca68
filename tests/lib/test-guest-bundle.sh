#!/bin/sh
# Canary for the guest infrastructure every `guest` test stands on: boot a
# real kernel with an emulated Intel IOMMU and run the bundled iommuctl there.
set -eu
. "$IOMMUCTL_SRCDIR/tests/lib/guest.sh"
script=$(mktemp); trap 'rm -f "$script"; rm -rf "${IC_GUEST_TMP:-}"' EXIT
cat > "$script" <<'G'
/opt/ic/iommuctl --version
echo "groups=$(ls /sys/kernel/iommu_groups | wc -l)"
echo "dmar=$(ls /sys/class/iommu)"
G
out=$(ic_guest_run -s "$script" -t 120)
echo "$out"
echo "$out" | grep -q '^iommuctl [0-9]' || { echo "FAIL: bundled iommuctl did not run in the guest"; exit 1; }
echo "$out" | grep -q '^dmar=dmar0' || { echo "FAIL: guest has no DMAR unit"; exit 1; }
echo "$out" | grep -Eq '^groups=[1-9]' || { echo "FAIL: guest shows no IOMMU groups"; exit 1; }
echo "ok: bundle runs in a real guest with intel-iommu"
