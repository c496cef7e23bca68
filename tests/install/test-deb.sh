#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package: dpkg-buildpackage -us -uc -b of a copy of this source
# tree (tests skipped: the other suites run them), lintian on the result,
# dpkg -x of the three packages into a scratch root, and the unpacked binary
# and library used there.
. "$(dirname "$0")/lib.sh"
need dpkg-buildpackage dh lintian dpkg-deb
here=$(cd "$(dirname "$0")" && pwd)
work=$(workdir deb)
start=$(date +%s)

# ---- a copy of the source tree, without build directories -------------------
src=$work/iommuctl-$IC_VERSION
mkdir -p "$src"
excludes="--exclude=./.git --exclude=__pycache__"
for d in "$IOMMUCTL_SRCDIR"/* "$IOMMUCTL_SRCDIR"/.[!.]*; do
  [ -d "$d" ] || continue
  # a meson build directory, or debhelper's from an earlier build in the tree
  if [ -d "$d/meson-private" ] || [ -f "$d/build.ninja" ]; then
    excludes="$excludes --exclude=./${d##*/}"
  fi
done
# shellcheck disable=SC2086
(cd "$IOMMUCTL_SRCDIR" && tar -cf - $excludes --exclude=./debian/.debhelper --exclude='./obj-*' .) |
  (cd "$src" && tar -xf -)
ok "source tree copied to $src"

# ---- build -------------------------------------------------------------------
jobs=${IOMMUCTL_TEST_JOBS:-2}
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" \
    dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
  ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)"
else
  not_ok "dpkg-buildpackage -us -uc -b" "$(tail -40 "$work/build.log")"
  done_testing
  exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
version=$(cd "$src" && dpkg-parsechangelog -SVersion)
changes=$work/iommuctl_${version}_$arch.changes
for p in iommuctl libiommuctl0 libiommuctl-dev; do
  deb=$work/${p}_${version}_$arch.deb
  if [ -f "$deb" ]; then ok "$p package built"; else not_ok "$p package built" "no $deb"; fi
done

# ---- lintian ---------------------------------------------------------------------
t=$(date +%s)
if out=$(lintian --fail-on error,warning --display-info "$changes" 2>&1); then
  ok "lintian: no error, no warning ($(($(date +%s) - t)) s)"
else
  not_ok "lintian: no error, no warning" "$out"
fi
[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# lintian: /'

# ---- contents --------------------------------------------------------------------
contents() { dpkg-deb -c "$work/${1}_${version}_$arch.deb" | awk '{ print $6 }' | sed 's|^\./|/|'; }
expect_in() {
  pkg=$1
  shift
  list=$(contents "$pkg")
  missing=""
  for f in "$@"; do
    printf '%s\n' "$list" | grep -qx -- "$f" || missing="$missing $f"
  done
  if [ -z "$missing" ]; then ok "$pkg ships $*"; else not_ok "$pkg ships what it should" "missing:$missing" "$list"; fi
}
expect_in iommuctl /usr/bin/iommuctl /usr/share/man/man8/iommuctl.8.gz \
  /usr/share/bash-completion/completions/iommuctl /usr/share/zsh/vendor-completions/_iommuctl \
  /lib/systemd/system/iommuctl-recover.service /lib/systemd/system/iommuctl-persist-verify.service \
  /usr/lib/tmpfiles.d/iommuctl.conf
expect_in libiommuctl0 "/usr/lib/$multiarch/libiommuctl.so.0" "/usr/lib/$multiarch/libiommuctl.so.$IC_VERSION"
expect_in libiommuctl-dev "/usr/lib/$multiarch/libiommuctl.so" "/usr/lib/$multiarch/pkgconfig/libiommuctl.pc" \
  /usr/include/iommuctl/iommuctl.h

# the unit is enabled and the state dir created on installation
dpkg-deb -e "$work/iommuctl_${version}_$arch.deb" "$work/control-iommuctl"
check "iommuctl postinst enables iommuctl-recover.service" \
  grep -q "deb-systemd-helper.*enable.*iommuctl-recover.service" "$work/control-iommuctl/postinst"
check "iommuctl postinst creates the state dir (systemd-tmpfiles)" \
  grep -q "systemd-tmpfiles .*--create iommuctl.conf" "$work/control-iommuctl/postinst"

# ---- unpacked into a scratch root ------------------------------------------------
root=$work/root
for p in iommuctl libiommuctl0 libiommuctl-dev; do
  dpkg -x "$work/${p}_${version}_$arch.deb" "$root"
done
out=$("$root/usr/bin/iommuctl" --version 2>&1)
if [ "$out" = "iommuctl $IC_VERSION" ]; then ok "unpacked iommuctl --version: $out"
else not_ok "unpacked iommuctl --version" "$out"; fi
if out=$("$root/usr/bin/iommuctl" report --sysfs-root "$fixture" 2>&1); then
  ok "unpacked iommuctl report on $(basename "$fixture")"
  printf '%s\n' "$out" | head -3 | sed 's/^/#   /'
else
  not_ok "unpacked iommuctl report on a fixture tree" "$out"
fi
# the example program against the unpacked -dev and library packages
if out=$(IC_SANITIZE=none IC_CC=cc sh "$here/test-example.sh" "$root" "/usr/lib/$multiarch" 2>&1); then
  ok "example built against the unpacked libiommuctl-dev runs with libiommuctl0"
else
  not_ok "example built against the unpacked libiommuctl-dev runs with libiommuctl0" "$out"
fi
echo "# install-deb took $(($(date +%s) - start)) s"
done_testing
