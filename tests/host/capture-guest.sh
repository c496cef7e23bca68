#!/bin/sh
# Capture a real sysfs tree with `iommuctl snapshot` inside a guest booted by
# tests/lib/guest-run (intel-iommu, pxb-pcie + root ports, multifunction slots, a
# pcie-pci-bridge) and unpack it into DEST (default: the committed fixture
# tests/fixtures/host-guest-intel-pxb).
# Usage: IOMMUCTL=build/src/cli/iommuctl tests/host/capture-guest.sh [DEST]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
dest=${1:-$src/tests/fixtures/host-guest-intel-pxb}
. "$src/tests/lib/guest.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/capture.sh" <<'GUEST'
/opt/ic/iommuctl snapshot /tmp/snap >/dev/null
echo @@SNAP-BEGIN@@
tar cf - -C /tmp/snap . | gzip | base64
echo @@SNAP-END@@
GUEST
# shellcheck disable=SC2046
ic_guest_run -s "$tmp/capture.sh" -- $(cat "$here/guest-topology.args") > "$tmp/out"
sed -n '/@@SNAP-BEGIN@@/,/@@SNAP-END@@/p' "$tmp/out" | sed '1d;$d' | base64 -d > "$tmp/snap.tgz"
rm -rf "$dest"
mkdir -p "$dest"
tar xzf "$tmp/snap.tgz" -C "$dest"
echo "captured $(find "$dest" | wc -l) entries into $dest"
