# Shared by the guest scripts (busybox sh): the boot-time machinery and checks.
IC=/opt/ic/iommuctl
STATE=/mnt/state
export IOMMUCTL_STATE_DIR=$STATE/iommuctl
CFG=$STATE/root            # this guest's persistent /etc lives on the disk
drv() { l=/sys/bus/pci/devices/$1/driver; if [ -e "$l" ]; then basename "$(readlink "$l")"; else echo none; fi; }
ovr() { cat /sys/bus/pci/devices/$1/driver_override; }
check() { # NAME GOT WANT
  if [ "$2" = "$3" ]; then echo "CHECK ok $1"; else echo "CHECK FAIL $1: got '$2', want '$3'"; fi
}
check_has() { # NAME FILE PATTERN
  if grep -q -- "$3" "$2"; then echo "CHECK ok $1"; else echo "CHECK FAIL $1: no '$3' in:"; sed 's/^/    /' "$2"; fi
}
check_not() { # NAME FILE PATTERN
  if grep -q -- "$3" "$2"; then echo "CHECK FAIL $1: '$3' in:"; grep -- "$3" "$2" | sed 's/^/    /'; else echo "CHECK ok $1"; fi
}
dev_by_id() { # VENDOR DEVICE -> first BDF off bus 00 with these ids
  for d in /sys/bus/pci/devices/*; do
    b=${d##*/}
    [ "$(cat $d/vendor)" = "$1" ] && [ "$(cat $d/device)" = "$2" ] && [ "${b#0000:00:}" = "$b" ] && { echo "$b"; return; }
  done
}

[ -d /lib/modules/$(uname -r) ] || echo "CHECK FAIL guest kernel $(uname -r) has no /lib/modules (bundled: $REL)"
mkdir -p $STATE && mount -t ext4 /dev/nvme0n1 $STATE || echo "CHECK FAIL mount the state disk"
mkdir -p /etc/udev/rules.d /etc/modprobe.d /etc/modules-load.d /usr/sbin
ln -sf /opt/udev/udevadm /bin/udevadm
rm -f /bin/modprobe /sbin/modprobe
ln -s /opt/udev/modprobe /bin/modprobe
ln -s /opt/udev/modprobe /sbin/modprobe
cp /opt/udev/rules/*.rules /etc/udev/rules.d/
# what the persistent root holds: the files a previous boot's persist wrote
for f in etc/udev/rules.d/41-iommuctl-vfio.rules etc/modprobe.d/iommuctl-vfio.conf etc/modules-load.d/iommuctl-vfio.conf; do
  [ -f $CFG/$f ] && cp $CFG/$f /$f
done

# the boot-time machinery, in systemd's order: modules-load.d, then udevd,
# coldplug (trigger --action=add) and settle
boot_machinery() {
  for f in /etc/modules-load.d/*.conf; do
    [ -f "$f" ] || continue
    grep -v '^#' "$f" | while read -r mod; do [ -n "$mod" ] && modprobe "$mod"; done
  done
  /opt/udev/systemd-udevd --daemon || echo "CHECK FAIL systemd-udevd --daemon"
  udevadm trigger --type=subsystems --action=add
  udevadm trigger --type=devices --action=add
  udevadm settle --timeout=120 || echo "CHECK FAIL udevadm settle"
}
