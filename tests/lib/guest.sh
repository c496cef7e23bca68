# shellcheck shell=sh
# Helpers for tests that run iommuctl inside a real Linux guest booted by the
# project's harness (tests/lib/guest-run).  Source this file from a test script.
#
#   ic_guest_require            fail (exit 1) when QEMU, a kernel or busybox is
#                               missing, naming the package; exit 77 instead
#                               when IOMMUCTL_ALLOW_SKIP=1
#   ic_guest_bundle DIR         copy $IOMMUCTL, every shared library it needs,
#                               the dynamic loader and pci.ids into DIR; the
#                               guest then runs /opt/ic/iommuctl (a wrapper)
#   ic_guest_run ARGS...        tests/lib/guest-run with the bundle added at /opt/ic
#                               (builds it once per test in $IC_GUEST_TMP)
#
# The guest is busybox only: the bundle is what makes a dynamically linked
# iommuctl (GLib, libxml2, libpci, SQLite, json-glib, GIO) run there unchanged.

: "${IOMMUCTL:?IOMMUCTL must point at the iommuctl binary}"
: "${IOMMUCTL_SRCDIR:?IOMMUCTL_SRCDIR must point at the source tree}"
IC_GUEST_RUN=$IOMMUCTL_SRCDIR/tests/lib/guest-run
# sonames iommuctl opens on first use rather than at start (see the
# *-loader.c / names.c files): the bundle carries them too
: "${IC_GUEST_LAZY_LIBS:=libxml2.so.2 libpci.so.3 libsoup-3.0.so.0 libjson-glib-1.0.so.0}"

ic_guest_fail_or_skip() {
  if [ "${IOMMUCTL_ALLOW_SKIP:-0}" = 1 ]; then
    echo "SKIP: $*" >&2
    exit 77
  fi
  echo "FAIL: $* (set IOMMUCTL_ALLOW_SKIP=1 to skip outside CI)" >&2
  exit 1
}

ic_guest_require() {
  command -v python3 >/dev/null 2>&1 || ic_guest_fail_or_skip "python3 is not installed (apt-get install python3)"
  command -v qemu-system-x86_64 >/dev/null 2>&1 || ic_guest_fail_or_skip "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
  ls /boot/vmlinuz-* >/dev/null 2>&1 || ic_guest_fail_or_skip "no guest kernel in /boot (apt-get install linux-image-amd64)"
  [ -e /bin/busybox ] || ic_guest_fail_or_skip "no static busybox (apt-get install busybox-static)"
  command -v modprobe >/dev/null 2>&1 || ic_guest_fail_or_skip "modprobe is not installed (apt-get install kmod)"
}

ic_guest_bundle() {
  dir=$1
  mkdir -p "$dir/bin" "$dir/lib"
  cp -L "$IOMMUCTL" "$dir/bin/iommuctl"
  # every library ldd resolves, plus the loader itself
  # and the libraries it loads on first use (g_module_open: libxml2, libpci,
  # libsoup, json-glib) with theirs, found where the dynamic loader would find them
  lazy=$(for so in $IC_GUEST_LAZY_LIBS; do
    PATH=$PATH:/sbin:/usr/sbin ldconfig -p 2>/dev/null | awk -v so="$so" '$1 == so && /x86-64|x86_64|64bit/ {print $NF; exit}'; done)
  { ldd "$IOMMUCTL"; for l in $lazy; do echo " $l => $l"; ldd "$l"; done; } |
    awk '/=> \//{print $3} /^[[:space:]]*\/.*ld-linux/{print $1}' | sort -u |
    while read -r lib; do cp -L "$lib" "$dir/lib/"; done
  loader=$(ldd "$IOMMUCTL" | awk '/ld-linux/{for(i=1;i<=NF;i++) if ($i ~ /^\//) {print $i; exit}}')
  [ -n "$loader" ] || { echo "ic_guest_bundle: no dynamic loader found for $IOMMUCTL" >&2; return 1; }
  cp -L "$loader" "$dir/lib/ld.so"
  pci_ids=${IOMMUCTL_PCI_IDS:-/usr/share/misc/pci.ids}
  [ -r "$pci_ids" ] && cp -L "$pci_ids" "$dir/pci.ids"
  cat > "$dir/iommuctl" <<'WRAP'
#!/bin/sh
# iommuctl with its own libraries (the guest has none of them)
export IOMMUCTL_PCI_IDS=/opt/ic/pci.ids
exec /opt/ic/lib/ld.so --library-path /opt/ic/lib /opt/ic/bin/iommuctl "$@"
WRAP
  chmod +x "$dir/iommuctl"
}

ic_guest_run() {
  ic_guest_require
  : "${IC_GUEST_TMP:=$(mktemp -d "${TMPDIR:-/tmp}/ic-guest.XXXXXX")}"
  if [ ! -x "$IC_GUEST_TMP/ic/iommuctl" ]; then
    ic_guest_bundle "$IC_GUEST_TMP/ic" || return 1
  fi
  "$IC_GUEST_RUN" -q -f "$IC_GUEST_TMP/ic:/opt/ic" "$@"
}
