#!/usr/bin/env bash
# Builds build/guest/bootstrap.iso, the vSphere backend's boot medium (ESXi cannot boot a bare kernel;
# VIC likewise boots its container VMs from a bootstrap ISO): isolinux, the compressed kernel
# (/boot/vmlinuz-<kver>, isolinux needs the bzImage) and build/guest/initramfs.cpio followed by a
# second cpio archive (the kernel unpacks both) with what only vSphere VMs need — the vmw_pvscsi and
# vmxnet3 drivers and busybox (Debian's busybox-static) for its mke2fs, the tether formatting blank
# disks — so the QEMU backend's initramfs stays as it is. Booted with bonneville.transport=serial so
# the tether talks over the COM port (docs/tether-protocol.md).
# Run by guest/build.sh; rebuilds only when an input changed. Needs isolinux, syslinux-common, xorriso.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out="$repo/build/guest"
die() { echo "guest/build-iso.sh: $*" >&2; exit 1; }

kver=$(cat "$out/kernel-version" 2>/dev/null) || die "no $out/kernel-version: run guest/build.sh"
kernel="/boot/vmlinuz-$kver"
initramfs="$out/initramfs.cpio"
isolinux=/usr/lib/ISOLINUX/isolinux.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
busybox=/bin/busybox
moddir="/lib/modules/$kver"
vsphere_modules=(vmw_pvscsi vmxnet3)
module_files=()
for m in "${vsphere_modules[@]}"; do
  rel=$(grep -E "^([^:]*/)?$m\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n 1 | cut -d: -f1)
  [[ -n $rel ]] || die "module $m not found in $moddir/modules.dep"
  module_files+=("$moddir/$rel")
done
for f in "$kernel" "$initramfs" "$isolinux" "$ldlinux" "$busybox" "${module_files[@]}"; do [[ -r $f ]] || die "cannot read $f (install isolinux syslinux-common)"; done
command -v xorriso >/dev/null || die "no xorriso"

# ttyS0 is the tether's line; the kernel's console goes to the second COM port (the test host agent
# logs it; on ESXi a VM without one just drops it). PCI stays on (the devices are PCI: pvscsi,
# vmxnet3); the other options are the QEMU backend's, for a quick boot.
cmdline="console=ttyS1 panic=-1 reboot=t loglevel=4 mitigations=off tsc=reliable cryptomgr.notests init_on_alloc=0 audit=0 apparmor=0 ima_appraise=off random.trust_cpu=on i8042.noaux i8042.nokbd scsi_mod.scan=manual bonneville.transport=serial"

inputs_hash=$({ echo "$cmdline"; sha256sum "$0" "$kernel" "$initramfs" "$isolinux" "$ldlinux" "$busybox" "${module_files[@]}"; } | sha256sum | cut -d' ' -f1)
stamp="$out/bootstrap.iso.sha256"
if [[ -f $stamp && $(cat "$stamp") == "$inputs_hash" && -f $out/bootstrap.iso ]]; then
  echo "bootstrap ISO up to date: $out/bootstrap.iso"
  exit 0
fi

work=$(mktemp -d "$out/.iso.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/iso/isolinux"
cp "$isolinux" "$ldlinux" "$work/iso/isolinux/"
cp "$kernel" "$work/iso/vmlinuz"
extra="$work/extra"
mkdir -p "$extra/bin" "$extra/lib/modules"
cp "$busybox" "$extra/bin/busybox"
for f in "${module_files[@]}"; do
  name=$(basename "$f")
  case $f in
    *.ko) cp "$f" "$extra/lib/modules/$name" ;;
    *.ko.xz) xz -dc "$f" >"$extra/lib/modules/${name%.xz}" ;;
    *.ko.zst) zstd -qdc "$f" >"$extra/lib/modules/${name%.zst}" ;;
    *) die "unsupported module file $f" ;;
  esac
done
(cd "$extra" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/extra.cpio"
cat "$initramfs" "$work/extra.cpio" >"$work/iso/initrd.img"
cat >"$work/iso/isolinux/isolinux.cfg" <<CFG
DEFAULT bonneville
PROMPT 0
TIMEOUT 0
LABEL bonneville
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img $cmdline
CFG
# Fixed volume id and dates: the same inputs give the same bytes (the backend uploads by content hash).
SOURCE_DATE_EPOCH=0 xorriso -as mkisofs -quiet -o "$work/bootstrap.iso" -V BONNEVILLE -R -J \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  "$work/iso" 2>"$work/xorriso.log" || { cat "$work/xorriso.log" >&2; die "xorriso failed"; }
mv -f "$work/bootstrap.iso" "$out/bootstrap.iso"
echo "$inputs_hash" >"$stamp"
echo "bootstrap ISO built: $out/bootstrap.iso"
