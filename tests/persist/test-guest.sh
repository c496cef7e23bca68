#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# persist across three boots of one disk image, with the real boot-time
# machinery: Debian's systemd-udevd (--daemon), `udevadm trigger
# --action=add`, `udevadm settle`, host drivers loaded by modalias from
# /lib/modules after the rules ran (the harness loads nothing itself:
# --no-default-modules, only nvme + ext4 for the state disk).
#   boot 1  udev binds the e1000e + virtio-net group behind a pcie-pci-bridge
#           to their host drivers; driverctl on the e1000e splits the group;
#           iommuctl persist binds the whole group and writes the files
#           (config root on the disk: it is this guest's persistent /etc)
#   boot 2  both come up on vfio-pci, no host driver ever bound them (driver
#           links, /run/iommuctl/host-bound, dmesg), persist --verify ok
#   boot 2b e1000e loaded before udev (a built-in / initramfs driver): it binds
#           first; the rule takes the device back, verify says host driver first
#   boot 3  the e1000e is in another slot and an e1000 at its old address:
#           the new occupant is left alone, persist --verify reports the change;
#           diff against boot 2's snapshot: the card moved behind another port
#   boot 4  iommu.passthrough=1: diff says every group turned identity
#   boot 5  no IOMMU: diff says the IOMMU is off and the groups are gone
set -u
. "$IOMMUCTL_SRCDIR/tests/lib/guest.sh"
ic_guest_require
command -v mkfs.ext2 >/dev/null || ic_guest_fail_or_skip "mkfs.ext2 (e2fsprogs) is not installed"
[ -x /bin/udevadm ] || ic_guest_fail_or_skip "udevadm is not installed (apt-get install udev)"
[ -r /usr/sbin/driverctl ] || ic_guest_fail_or_skip "driverctl is not installed (apt-get install driverctl)"
command -v depmod >/dev/null || ic_guest_fail_or_skip "depmod is not installed (apt-get install kmod)"
IC_GUEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ic-persist-guest.XXXXXX")
trap 'rm -rf "$IC_GUEST_TMP"' EXIT
here=$IOMMUCTL_SRCDIR/tests/persist/guest

# the kernel the harness boots: the newest in /boot with its modules
rel=$(for k in /boot/vmlinuz-*; do r=${k#/boot/vmlinuz-}; [ -d /lib/modules/$r ] && echo "$r"; done | sort -V | tail -n 1)
[ -n "$rel" ] || ic_guest_fail_or_skip "no kernel in /boot with /lib/modules"

bundle_binary() { # SRC NAME DIR: a binary with its own libraries and loader, run by DIR/NAME
  mkdir -p "$3/bin" "$3/lib"
  cp -L "$1" "$3/bin/$2"
  ldd "$1" | awk '/=> \//{print $3}' | while read -r l; do cp -L "$l" "$3/lib/"; done
  cp -L "$(ldd "$1" | awk '/ld-linux/{for(i=1;i<=NF;i++) if ($i ~ /^\//) {print $i; exit}}')" "$3/lib/ld.so"
}

# udev: systemd-udevd is udevadm under another name; the distribution's
# 80-drivers.rules loads drivers by modalias (kmod builtin)
u=$IC_GUEST_TMP/udev
bundle_binary /bin/udevadm udevadm "$u"
cp -L /bin/udevadm "$u/bin/systemd-udevd"
# kmod's modprobe too: the guest's busybox modprobe does not load vfio-pci's stack
kmod_bin=$(command -v kmod || echo /bin/kmod)
cp -L "$kmod_bin" "$u/bin/kmod"
ldd "$kmod_bin" | awk '/=> \//{print $3}' | while read -r l; do cp -L "$l" "$u/lib/"; done
printf '#!/bin/sh\nexec /opt/udev/lib/ld.so --library-path /opt/udev/lib --argv0 modprobe /opt/udev/bin/kmod "$@"\n' > "$u/modprobe"
chmod +x "$u/modprobe"
mkdir -p "$u/rules"
for r in 80-drivers.rules; do
  f=$(ls /lib/udev/rules.d/$r /usr/lib/udev/rules.d/$r 2>/dev/null | head -n 1)
  [ -n "$f" ] || ic_guest_fail_or_skip "udev's $r is missing"
  cp "$f" "$u/rules/"
done
printf '#!/bin/sh\nexec /opt/udev/lib/ld.so --library-path /opt/udev/lib /opt/udev/bin/systemd-udevd "$@"\n' > "$u/systemd-udevd"
printf '#!/bin/sh\nexec /opt/udev/lib/ld.so --library-path /opt/udev/lib /opt/udev/bin/udevadm "$@"\n' > "$u/udevadm"
chmod +x "$u/systemd-udevd" "$u/udevadm"

# bash + driverctl (a bash script)
b=$IC_GUEST_TMP/bash
bundle_binary /bin/bash bash "$b"
cp /usr/sbin/driverctl "$b/driverctl"
printf '#!/bin/sh\nexec /opt/bash/lib/ld.so --library-path /opt/bash/lib /opt/bash/bin/bash "$@"\n' > "$b/bash"
chmod +x "$b/bash"

# /lib/modules/<rel> for the guest: the drivers udev will load by modalias
# and their dependencies, with the kernel's own depmod indexes
m=$IC_GUEST_TMP/modules
mkdir -p "$m/lib/modules/$rel"
for f in modules.builtin modules.builtin.modinfo modules.order; do
  [ -f /lib/modules/$rel/$f ] && cp /lib/modules/$rel/$f "$m/lib/modules/$rel/"
done
for mod in e1000e e1000 virtio_pci virtio_net vfio-pci vfio_iommu_type1; do
  modprobe -C /dev/null -S "$rel" --show-depends "$mod" 2>/dev/null | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
  dst=$m${ko}
  mkdir -p "$(dirname "$dst")"
  case $ko in
    *.xz) xz -dc "$ko" > "${dst%.xz}" ;;
    *.zst) zstd -qdc "$ko" > "${dst%.zst}" ;;
    *) cp "$ko" "$dst" ;;
  esac
done
depmod -b "$m" "$rel" || { echo "FAIL: depmod for the guest modules"; exit 1; }

img=$IC_GUEST_TMP/disk.img
truncate -s 32M "$img" && mkfs.ext2 -q -F "$img" || { echo "FAIL: cannot make the disk"; exit 1; }
disk="-drive file=$img,format=raw,if=none,id=st,cache=writeback -device nvme,drive=st,serial=icpersist"
topo12="-device pcie-root-port,id=rp1,chassis=1 -device pcie-pci-bridge,id=br1,bus=rp1
  -device virtio-net-pci,bus=br1,addr=1 -device e1000e,bus=br1,addr=2"
topo3="-device pcie-root-port,id=rp1,chassis=1 -device pcie-pci-bridge,id=br1,bus=rp1
  -device virtio-net-pci,bus=br1,addr=1 -device e1000,bus=br1,addr=2
  -device pcie-root-port,id=rp2,chassis=2 -device e1000e,bus=rp2"

fails=0
for boot in boot1 boot2 boot2b boot3 boot4 boot5; do
  echo "===== $boot"
  topo=$topo12; [ $boot = boot3 ] && topo=$topo3
  extra=""; iommu=intel
  [ $boot = boot4 ] && extra="-a iommu.passthrough=1"
  [ $boot = boot5 ] && iommu=none
  early=""; [ $boot = boot2b ] && early="-M e1000e"
  # shellcheck disable=SC2086
  out=$(ic_guest_run -s "$here/$boot.sh" -f "$here:/opt/persist-guest" -f "$u:/opt/udev" -f "$b:/opt/bash" \
        -f "$m/lib/modules:/lib/modules" -e REL="$rel" --no-default-modules -M nvme -M ext4 $early \
        -a no_timer_check $extra -i $iommu -t 400 -- $disk $topo 2>&1)
  echo "$out"
  ok=$(echo "$out" | grep -c '^CHECK ok')
  bad=$(echo "$out" | grep -c '^CHECK FAIL')
  case $boot in boot1) want=13 ;; boot2) want=14 ;; boot2b) want=6 ;; boot3) want=10 ;; boot4) want=5 ;; boot5) want=4 ;; esac
  echo "$boot: $ok checks ok, $bad failed"
  if [ "$bad" -ne 0 ] || [ "$ok" -lt "$want" ]; then
    echo "FAIL: $boot ($ok ok of $want expected, $bad failed)"; fails=$((fails + 1))
  fi
done
[ $fails -eq 0 ] && echo "ok: persisted group binding across boots with real udev; driverctl splits the group"
exit $fails
