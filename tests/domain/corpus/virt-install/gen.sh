#!/bin/sh
# How these domains were made: Debian 12's virt-install 4.1.0 (package
# virtinst) --print-xml against libvirt 9.0 (tests/lib/libvirt-oracle), then
# image paths rewritten to /var/lib/libvirt/images/NAME-dN.img and the shared
# directory to /srv/share.  test-domain-protect-start.sh starts each one,
# before and after `iommuctl domain protect`, paused under TCG.
# The other domains here come from ../gen-virt-install.py (the matrix).
# Usage: gen.sh URI OUTDIR   (writes NAME.xml; needs virt-install)
set -eu
U=$1; out=$2; img=$out/img; mkdir -p "$img" "$out/share"
vi() { n=$1; shift
  virt-install --connect "$U" --print-xml --name "$n" --memory 512 --vcpus 1 --virt-type qemu --osinfo debian11 \
    --import --noautoconsole "$@" > "$out/$n.xml"; }
vi i440-srv --machine pc --disk path=$img/d1.img,size=1,format=raw --network user --graphics none \
  --rng /dev/urandom --channel unix,target.type=virtio,target.name=org.qemu.guest_agent.0
vi i440-desk --machine pc --disk path=$img/d2.img,size=1,format=raw --network user --graphics vnc --video virtio \
  --input type=tablet,bus=virtio --input type=keyboard,bus=virtio --sound ich6 \
  --channel unix,target.type=virtio,target.name=org.qemu.guest_agent.0
vi i440-9p --machine pc --disk path=$img/d3.img,size=1,format=raw --network user --graphics none \
  --filesystem $out/share,share0 --controller type=scsi,model=virtio-scsi \
  --disk path=$img/d4.img,size=1,format=raw,bus=scsi --serial pty
vi q35-desk --machine q35 --disk path=$img/d5.img,size=1,format=raw --network user --graphics vnc --video virtio \
  --input type=tablet,bus=virtio --input type=keyboard,bus=virtio --sound ich9 --rng /dev/urandom \
  --iommu model=intel --features ioapic.driver=qemu
vi q35-virtiofs --machine q35 --disk path=$img/d6.img,size=1,format=raw --network user --graphics none \
  --memorybacking source.type=memfd,access.mode=shared \
  --filesystem type=mount,source.dir=$out/share,target.dir=share0,driver.type=virtiofs
