# Shared by the guest scripts (busybox sh inside the guest): find the
# virtio-net and e1000e behind the pcie-pci-bridge, small checks.
IC=/opt/ic/iommuctl
dev_by_id() { # VENDOR DEVICE -> first BDF off bus 00 with these ids
  for d in /sys/bus/pci/devices/*; do
    b=${d##*/}
    [ "$(cat $d/vendor)" = "$1" ] && [ "$(cat $d/device)" = "$2" ] && [ "${b#0000:00:}" = "$b" ] && { echo "$b"; return; }
  done
}
VN=$(dev_by_id 0x1af4 0x1000)
E=$(dev_by_id 0x8086 0x10d3)
GRP=$(basename "$(readlink /sys/bus/pci/devices/$E/iommu_group)")
drv() { l=/sys/bus/pci/devices/$1/driver; if [ -e "$l" ]; then basename "$(readlink "$l")"; else echo none; fi; }
ovr() { cat /sys/bus/pci/devices/$1/driver_override; }
check() { # NAME GOT WANT
  if [ "$2" = "$3" ]; then echo "CHECK ok $1"; else echo "CHECK FAIL $1: got '$2', want '$3'"; fi
}
check_has() { # NAME FILE PATTERN
  if grep -q -- "$3" "$2"; then echo "CHECK ok $1"; else echo "CHECK FAIL $1: no '$3' in:"; sed 's/^/    /' "$2"; fi
}
wait_paused() { # FILE: until iommuctl says it paused (at most 60 s)
  i=0
  while ! grep -q "paused after step" "$1" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
  grep -q "paused after step" "$1"
}
echo "virtio-net=$VN e1000e=$E group=$GRP members: $(ls /sys/kernel/iommu_groups/$GRP/devices | tr '\n' ' ')"
