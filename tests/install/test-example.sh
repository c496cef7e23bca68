#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A program outside the tree, compiled against the INSTALLED headers and
# pkg-config file and linked against the installed shared library, lists the
# IOMMU groups of a captured host tree; it must agree with the CLI.
# Usage (also used by test-deb.sh on the unpacked packages):
#   test-example.sh [ROOT PREFIX-LIBDIR]   default: a fresh 'meson install'
. "$(dirname "$0")/lib.sh"
need pkg-config readelf
here=$(cd "$(dirname "$0")" && pwd)
work=$(workdir "example${1:+-deb}")
if [ $# -ge 2 ]; then
  dest=$1
  libdir=$2
  bin=$dest/usr/bin/iommuctl
else
  dest=$work/dest
  libdir=$IC_LIBDIR
  bin=$dest$IC_BINDIR/iommuctl
  stage "$dest"
fi

use_installed_pc "$dest" "$libdir" "$work"
if flags=$(pkg-config --cflags --libs libiommuctl 2>&1); then
  ok "pkg-config --cflags --libs libiommuctl: $flags"
else
  not_ok "pkg-config finds libiommuctl.pc in $dest$libdir/pkgconfig" "$flags"
  done_testing
  exit 1
fi
case " $flags " in
  *" -I$dest"*) ok "include path points into the installed tree" ;;
  *) not_ok "include path points into the installed tree" "$flags" ;;
esac

san=""
[ "${IC_SANITIZE:-none}" != none ] && san="-fsanitize=$IC_SANITIZE"
exe=$work/example-inventory
# -I. nor the source include/ are on the command line: only the installed headers
if out=$(cd "$work" && $IC_CC -std=c17 -Wall -Wextra -Werror $san -o "$exe" \
    "$here/example-inventory.c" $flags 2>&1); then
  ok "example compiles and links against the installed library"
else
  not_ok "example compiles and links against the installed library" "$out"
  done_testing
  exit 1
fi
needed=$(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(libiommuctl[^]]*\)\]/\1/p')
if [ "$needed" = "libiommuctl.so.$IC_SOVERSION" ]; then ok "example needs $needed (dynamic)"
else not_ok "example links libiommuctl.so.$IC_SOVERSION dynamically" "NEEDED: '$needed'"; fi

export LD_LIBRARY_PATH="$dest$libdir"
resolved=$(ldd "$exe" | awk '$1 ~ /^libiommuctl/ { print $3 }')
case $resolved in
  "$dest$libdir"/*) ok "the installed library is the one loaded ($resolved)" ;;
  *) not_ok "the installed library is the one loaded" "ldd: '$resolved'" ;;
esac

if ! "$exe" "$fixture" >"$work/example.out" 2>"$work/example.err"; then
  not_ok "example lists the groups of $fixture" "$(cat "$work/example.err")"
  done_testing
  exit 1
fi
ok "example lists the groups of the fixture ($(tail -1 "$work/example.out"))"
"$bin" groups --json --sysfs-root "$fixture" >"$work/groups.json" 2>"$work/groups.err" ||
  not_ok "iommuctl groups --json on the fixture" "$(cat "$work/groups.err")"
python3 - "$work/groups.json" >"$work/cli.out" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
n = 0
for g in doc["groups"]:
    print(f"group {g['number']} {g['verdict']}")
    for m in g["members"]:
        print(f"  {m['address']} {m['driver'] or '-'}")
        n += 1
print(f"{n} devices")
PY
if d=$(diff -u "$work/cli.out" "$work/example.out"); then
  ok "the library's groups, verdicts, members and drivers match 'iommuctl groups --json'"
else
  not_ok "the library agrees with 'iommuctl groups --json'" "$d"
fi
done_testing
