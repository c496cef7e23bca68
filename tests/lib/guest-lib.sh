# shellcheck shell=sh
# iommuctl guest helpers: sourced by guest scripts as /etc/ic-guest/lib.sh.
# busybox has no lspci, so these read sysfs and the config space directly.

ig_dev() { echo "/sys/bus/pci/devices/$1"; }

# config-space reads: ig_cfg8 BDF OFFSET (decimal or 0x..) -> decimal value
ig_cfg() { od -An -tu"$3" -j "$(($2))" -N "$3" "$(ig_dev "$1")/config" 2>/dev/null | tr -d ' '; }
ig_cfg8() { ig_cfg "$1" "$2" 1; }
ig_cfg16() { ig_cfg "$1" "$2" 2; }
ig_cfg32() { ig_cfg "$1" "$2" 4; }

# offset of capability ID $2 in the standard list (0 when absent)
ig_cap() {
  [ $(( $(ig_cfg16 "$1" 6) & 0x10 )) -ne 0 ] || { echo 0; return; }
  off=$(ig_cfg8 "$1" 0x34); n=0
  while [ -n "$off" ] && [ "$off" -ne 0 ] && [ $n -lt 48 ]; do
    [ "$(ig_cfg8 "$1" "$off")" = "$(($2))" ] && { echo "$off"; return; }
    off=$(ig_cfg8 "$1" $((off + 1))); n=$((n + 1))
  done
  echo 0
}

# offset of extended capability ID $2 (0 when absent or unreadable)
ig_ecap() {
  off=256; n=0
  while [ $n -lt 96 ]; do
    h=$(ig_cfg32 "$1" "$off"); [ -n "$h" ] && [ "$h" -ne 0 ] || { echo 0; return; }
    [ $((h & 0xffff)) -eq $(($2)) ] && { echo "$off"; return; }
    off=$(( (h >> 20) & 0xffc )); [ "$off" -ge 256 ] || { echo 0; return; }
    n=$((n + 1))
  done
  echo 0
}

# PCIe port type from the PCI Express capability, or "pci"
ig_pcie_type() {
  c=$(ig_cap "$1" 0x10)
  [ "$c" -ne 0 ] || { echo pci; return; }
  case $(( ($(ig_cfg16 "$1" $((c + 2))) >> 4) & 0xf )) in
    0) echo endpoint ;; 1) echo legacy-endpoint ;; 4) echo root-port ;;
    5) echo upstream-port ;; 6) echo downstream-port ;; 7) echo pcie-to-pci-bridge ;;
    8) echo pci-to-pcie-bridge ;; 9) echo rc-integrated-endpoint ;; 10) echo rc-event-collector ;;
    *) echo pcie ;;
  esac
}

ig_has_acs() { [ "$(ig_ecap "$1" 0x000d)" -ne 0 ] && echo acs || echo -; }

ig_driver() { l=$(ig_dev "$1")/driver; [ -e "$l" ] && basename "$(readlink "$l")" || echo -; }
ig_group() { l=$(ig_dev "$1")/iommu_group; [ -e "$l" ] && basename "$(readlink "$l")" || echo -; }

# one line per PCI function: BDF vendor:device class=.. type acs=.. driver=.. iommu_group=..
ig_pci() {
  echo "cmdline: $(cat /proc/cmdline)"
  echo "iommu_groups: $(ls /sys/kernel/iommu_groups 2>/dev/null | wc -l)"
  for d in /sys/bus/pci/devices/*; do
    b=${d##*/}
    v=$(cat "$d/vendor"); p=$(cat "$d/device"); c=$(cat "$d/class")
    echo "$b ${v#0x}:${p#0x} class=$(echo "${c#0x}" | cut -c1-4) $(ig_pcie_type "$b") acs=$(ig_has_acs "$b") driver=$(ig_driver "$b") iommu_group=$(ig_group "$b")"
  done
  echo "--- iommu class devices: $(ls /sys/class/iommu 2>/dev/null | tr '\n' ' ')"
}

ig_groups() {
  for g in /sys/kernel/iommu_groups/*; do
    [ -d "$g" ] || continue
    echo "group ${g##*/} ($(cat "$g/type" 2>/dev/null)): $(ls "$g/devices" | tr '\n' ' ')"
  done
}

# ig_bind BDF DRIVER: bind through driver_override; DRIVER "" gives the
# device back to its default driver.
ig_bind() {
  d=$(ig_dev "$1")
  echo "$2" > "$d/driver_override"
  [ -e "$d/driver" ] && echo "$1" > "$d/driver/unbind"
  echo "$1" > /sys/bus/pci/drivers_probe
  return 0
}
