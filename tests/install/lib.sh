# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the install suite's shell tests: TAP output and staging.
set -u
: "${IOMMUCTL_BUILDDIR:?run through meson test}" "${IOMMUCTL_SRCDIR:?run through meson test}"

tap_n=0
tap_failed=0

ok() {
  tap_n=$((tap_n + 1))
  echo "ok $tap_n - $*"
}

# not_ok DESCRIPTION [DETAIL...]: each detail line becomes a TAP comment.
not_ok() {
  tap_n=$((tap_n + 1))
  tap_failed=$((tap_failed + 1))
  echo "not ok $tap_n - $1"
  shift
  for d in "$@"; do
    printf '%s\n' "$d" | sed 's/^/#   /'
  done
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds; its output is the detail.
check() {
  desc=$1
  shift
  if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$* failed:" "$out"; fi
}

done_testing() {
  echo "1..$tap_n"
  [ "$tap_failed" -eq 0 ]
}

# A scratch directory of this test in the build tree, emptied.
workdir() {
  d="$IOMMUCTL_BUILDDIR/install-tests/$1"
  rm -rf "$d"
  mkdir -p "$d"
  echo "$d"
}

# stage DESTDIR: 'meson install' of this build into DESTDIR (what a packager
# does); the install log is kept beside it.
stage() {
  if ! meson install -C "$IOMMUCTL_BUILDDIR" --no-rebuild --destdir "$1" >"$1.log" 2>&1; then
    not_ok "meson install --destdir $1" "$(tail -20 "$1.log")"
    done_testing
    exit 1
  fi
}

# A component the test needs: missing fails, unless IOMMUCTL_ALLOW_SKIP=1.
need() {
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 && continue
    if [ "${IOMMUCTL_ALLOW_SKIP:-0}" = 1 ]; then
      echo "1..0 # SKIP $c is not installed (.ci/packages.d/test-install.txt)"
      exit 0
    fi
    echo "Bail out! $c is not installed; install .ci/packages.d/test-install.txt"
    exit 1
  done
}

# use_installed_pc DESTDIR LIBDIR WORKDIR: point pkg-config at the staged
# libiommuctl.pc, relocated into DESTDIR.  The file says prefix=/usr...;
# PKG_CONFIG_SYSROOT_DIR would move GLib's paths too, so only ours moves.
use_installed_pc() {
  mkdir -p "$3/pkgconfig"
  sed "s|^prefix=|prefix=$1|" "$1$2/pkgconfig/libiommuctl.pc" >"$3/pkgconfig/libiommuctl.pc"
  PKG_CONFIG_PATH="$3/pkgconfig"
  export PKG_CONFIG_PATH
}

fixture="$IOMMUCTL_SRCDIR/tests/fixtures/host-guest-intel-pxb"
