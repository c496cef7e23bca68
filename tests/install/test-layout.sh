#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# 'meson install' into a DESTDIR lays down exactly the expected files, at the
# configured prefix and directories, and what it installs works there.
. "$(dirname "$0")/lib.sh"
need readelf
work=$(workdir layout)
dest=$work/dest
stage "$dest"

# ---- the exact list of installed files --------------------------------------
expected=$work/expected
actual=$work/actual
{
  echo "$IC_BINDIR/iommuctl"
  echo "$IC_LIBDIR/libiommuctl.so"
  echo "$IC_LIBDIR/libiommuctl.so.$IC_SOVERSION"
  echo "$IC_LIBDIR/libiommuctl.so.$IC_VERSION"
  echo "$IC_LIBDIR/pkgconfig/libiommuctl.pc"
  for h in "$IOMMUCTL_SRCDIR"/include/iommuctl/*.h; do
    echo "$IC_INCLUDEDIR/iommuctl/${h##*/}"
  done
  for p in $IC_MAN_PAGES; do
    echo "$IC_MANDIR/man${p##*.}/$p"
  done
  echo "$IC_BASHCOMPDIR/iommuctl"
  echo "$IC_ZSHCOMPDIR/_iommuctl"
  echo "$IC_UNITDIR/iommuctl-recover.service"
  echo "$IC_UNITDIR/iommuctl-persist-verify.service"
  echo "$IC_TMPFILESDIR/iommuctl.conf"
} | sort >"$expected"
(cd "$dest" && find . \( -type f -o -type l \) | sed 's/^\.//' | sort) >"$actual"
missing=$(comm -23 "$expected" "$actual")
extra=$(comm -13 "$expected" "$actual")
if [ -z "$missing" ] && [ -z "$extra" ]; then
  ok "installs exactly the $(wc -l <"$expected") expected files under $IC_PREFIX"
else
  not_ok "installs exactly the expected files" \
    "${missing:+not installed:
$missing}" "${extra:+installed but not expected (add them to tests/install/test-layout.sh if meant):
$extra}"
  [ "$IC_MAN_BUILT" = 1 ] || echo "# the man pages were not built: scdoc is missing (.ci/packages.d/test-install.txt)"
fi

# ---- the binary --------------------------------------------------------------
out=$("$dest$IC_BINDIR/iommuctl" --version 2>&1)
if [ "$out" = "iommuctl $IC_VERSION" ]; then ok "installed iommuctl --version"; else not_ok "installed iommuctl --version" "$out"; fi
check "installed iommuctl reports on a fixture tree" "$dest$IC_BINDIR/iommuctl" report --sysfs-root "$fixture"

# ---- the shared library --------------------------------------------------------
lib=$dest$IC_LIBDIR/libiommuctl.so.$IC_VERSION
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = "libiommuctl.so.$IC_SOVERSION" ]; then ok "soname is $soname"; else not_ok "soname is libiommuctl.so.$IC_SOVERSION" "got '$soname'"; fi
for link in libiommuctl.so libiommuctl.so.$IC_SOVERSION; do
  target=$(readlink "$dest$IC_LIBDIR/$link")
  case $link:$target in
    libiommuctl.so:libiommuctl.so.$IC_SOVERSION | libiommuctl.so.$IC_SOVERSION:libiommuctl.so.$IC_VERSION)
      ok "$link -> $target" ;;
    *) not_ok "$link is the right symlink" "-> '$target'" ;;
  esac
done
rpath=$(readelf -d "$lib" "$dest$IC_BINDIR/iommuctl" | grep -E 'RPATH|RUNPATH')
if [ -z "$rpath" ]; then ok "no RPATH/RUNPATH in installed objects"; else not_ok "no RPATH/RUNPATH in installed objects" "$rpath"; fi
versioned=$(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 !~ /@@LIBIOMMUCTL_0$/ { print $3 }' | grep '^ic_' || true)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T"' | grep -c ' ic_')
if [ -z "$versioned" ] && [ "$exported" -gt 0 ]; then
  ok "$exported functions exported, all in version node LIBIOMMUCTL_0"
else
  not_ok "exported functions carry version node LIBIOMMUCTL_0" "$versioned"
fi

# ---- pkg-config ------------------------------------------------------------------
pc=$dest$IC_LIBDIR/pkgconfig/libiommuctl.pc
check "libiommuctl.pc: prefix=$IC_PREFIX" grep -qx "prefix=$IC_PREFIX" "$pc"
check "libiommuctl.pc: version $IC_VERSION" grep -qx "Version: $IC_VERSION" "$pc"
for r in glib-2.0 json-glib-1.0 libxml-2.0; do
  # the public headers include these
  check "libiommuctl.pc requires $r" grep -Eq "^Requires:.*\\b$r\\b" "$pc"
done

# ---- each installed header compiles on its own ----------------------------------
use_installed_pc "$dest" "$IC_LIBDIR" "$work"
cflags=$(pkg-config --cflags libiommuctl 2>&1) || not_ok "pkg-config --cflags libiommuctl" "$cflags"
bad=""
for h in "$dest$IC_INCLUDEDIR"/iommuctl/*.h; do
  name=iommuctl/${h##*/}
  if ! err=$(printf '#include <%s>\nint main(void) { return 0; }\n' "$name" |
      $IC_CC -std=c17 -Wall -Wextra -Werror $cflags -x c -fsyntax-only - 2>&1); then
    bad="$bad
<$name>: $err"
  fi
done
if [ -z "$bad" ]; then ok "every installed header compiles alone"; else not_ok "every installed header compiles alone" "$bad"; fi

# ---- systemd -----------------------------------------------------------------------
unit=$dest$IC_UNITDIR/iommuctl-recover.service
check "unit runs the installed binary's recover" grep -qx "ExecStart=$IC_BINDIR/iommuctl recover" "$unit"
check "unit is a oneshot" grep -qx "Type=oneshot" "$unit"
check "unit runs before libvirtd and virtqemud" grep -Eqx "Before=libvirtd.service virtqemud.service" "$unit"
# no unit may call a verb the binary lacks (e.g. the persist --verify check)
for u in "$dest$IC_UNITDIR"/*.service; do
  for verb in $(sed -n "s|^Exec[A-Za-z]*=$IC_BINDIR/iommuctl \([a-z-]*\).*|\1|p" "$u"); do
    check "${u##*/} calls an existing verb: $verb" "$dest$IC_BINDIR/iommuctl" "$verb" --help
  done
done
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify a copy that runs the staged binary (the unit names the installed
  # path, which does not exist before installation); man pages are staged too
  sed "s|=$IC_BINDIR/iommuctl |=$dest$IC_BINDIR/iommuctl |" "$unit" >"$work/iommuctl-recover.service"
  check "systemd-analyze verify iommuctl-recover.service" \
    systemd-analyze verify --man=no "$work/iommuctl-recover.service"
fi
conf=$dest$IC_TMPFILESDIR/iommuctl.conf
check "tmpfiles.d: state dir root 0700" grep -Eqx "d $IC_STATE_DIR 0700 root root -" "$conf"
if command -v systemd-tmpfiles >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  root=$work/tmpfiles-root
  mkdir -p "$root"
  if out=$(systemd-tmpfiles --create --root="$root" "$conf" 2>&1); then
    mode=$(stat -c '%a %U %G' "$root$IC_STATE_DIR")
    if [ "$mode" = "700 root root" ]; then ok "systemd-tmpfiles creates $IC_STATE_DIR as root 0700"
    else not_ok "systemd-tmpfiles creates $IC_STATE_DIR as root 0700" "got $mode"; fi
  else
    not_ok "systemd-tmpfiles --create" "$out"
  fi
fi

done_testing
