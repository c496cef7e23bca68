# shellcheck shell=sh
# For TAP tests that need the libvirt oracle (tests/lib/libvirt-oracle):
# source this file, then call ic_oracle_require.  $oracle names the tool.
oracle="$IOMMUCTL_SRCDIR/tests/lib/libvirt-oracle"

# Start the oracle (idempotent), or end the test: a TAP skip when
# IOMMUCTL_ALLOW_SKIP=1, else a failure that says why.
ic_oracle_require() {
  if ! why=$("$oracle" start 2>&1 >/dev/null); then
    echo "libvirt oracle not available: $why"
    [ "${IOMMUCTL_ALLOW_SKIP:-0}" = 1 ] && { echo "1..0 # SKIP no libvirt oracle"; exit 0; }
    exit 1
  fi
}
