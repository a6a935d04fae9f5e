#!/usr/bin/env bash
# Builds what every container VM boots, into build/guest/:
#   tether           the guest agent, PID 1 (static Go binary)
#   vmlinux          the uncompressed kernel ELF, for PVH direct boot (extracted from the newest
#                    Debian cloud kernel in /boot, or BONNEVILLE_KERNEL_VERSION)
#   initramfs.cpio   newc archive: /init = tether, the virtio/overlay modules, modules.order
#   bootstrap.iso    the same for vSphere, as a bootable CD (guest/build-iso.sh)
# Rebuilds only when an input changed (build/guest/inputs.sha256). Needs scripts/packages/engine.list.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
src="$repo/guest/tether"
out="$repo/build/guest"
# Load order: every module after its dependencies (checked against modules.dep below). The console
# driver comes early so the ports exist as soon as possible; the disks are SCSI disks on virtio-scsi
# (sd_mod before virtio_scsi, so disks found by its scan bind at once) — the one bus a restored
# template VM can get disks hot-plugged on; virtio_net is there for networking.
modules=(virtio_ring virtio virtio_mmio virtio_console virtio_blk scsi_common scsi_mod sd_mod virtio_scsi overlay failover net_failover virtio_net)
# In the initramfs but not in modules.order: the tether loads them only for a container that needs
# them (virtio-fs for host directory binds), so other boots do not pay for them.
on_demand=(fuse virtiofs)

die() { echo "guest/build.sh: $*" >&2; exit 1; }
# The vSphere backend's boot medium from the same kernel and initramfs; the QEMU backend does not need
# it, so a host without isolinux/xorriso still gets its guest (and is told).
build_iso() { bash "$repo/guest/build-iso.sh" || echo "guest/build.sh: no bootstrap ISO: the vSphere backend cannot boot container VMs (install scripts/packages/vsphere.list)" >&2; }

pick_kernel() {
  if [[ -n ${BONNEVILLE_KERNEL_VERSION:-} ]]; then
    echo "$BONNEVILLE_KERNEL_VERSION"
    return
  fi
  local newest
  newest=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V | tail -n 1)
  [[ -n $newest ]] || die "no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)"
  echo "$newest"
}

kver=$(pick_kernel)
kernel="/boot/vmlinuz-$kver"
moddir="/lib/modules/$kver"
[[ -r $kernel ]] || die "cannot read $kernel"
[[ -r $moddir/modules.dep ]] || die "no $moddir/modules.dep"

# Path (relative to $moddir) of a module's file, and the names of the modules it needs.
module_path() { grep -E "^([^:]*/)?$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n 1 | cut -d: -f1; }
module_deps() {
  grep -E "^([^:]*/)?$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | head -n 1 | cut -d: -f2- |
    tr ' ' '\n' | sed -E 's|.*/||; s|\.ko(\.[a-z]+)?$||' | grep -v '^$' || true
}

module_files=()
declare -A loaded=()
for m in "${modules[@]}" "${on_demand[@]}"; do
  rel=$(module_path "$m")
  [[ -n $rel ]] || die "module $m not found in $moddir/modules.dep"
  for dep in $(module_deps "$m"); do
    [[ -n ${loaded[${dep//-/_}]:-} ]] || die "module $m needs $dep, which is not loaded before it"
  done
  loaded[$m]=1
  module_files+=("$moddir/$rel")
done

# Everything that determines the outputs goes into one hash.
inputs_hash=$(
  {
    echo "kernel $kver $(stat -c '%s %Y' "$kernel")"
    echo "modules ${modules[*]} on demand ${on_demand[*]}"
    for f in "${module_files[@]}"; do echo "$f $(stat -c '%s %Y' "$f")"; done
    go version
    sha256sum "$0" "$src"/go.mod $(ls "$src"/*.go | grep -v '_test\.go$')
  } | sha256sum | cut -d' ' -f1
)
stamp="$out/inputs.sha256"
if [[ -f $stamp && $(cat "$stamp") == "$inputs_hash" && -f $out/tether && -f $out/vmlinux && -f $out/initramfs.cpio && -f $out/kernel-version ]]; then
  echo "guest up to date (kernel $kver): $out/{vmlinux,initramfs.cpio,tether}"
  build_iso
  exit 0
fi

mkdir -p "$out"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. tether: standard library only, no module proxy.
[[ -n ${HOME:-} || -n ${GOCACHE:-} ]] || export GOCACHE="$out/.gocache"
(cd "$src" && GOFLAGS=-mod=mod GOPROXY=off GO111MODULE=on CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
  go build -trimpath -ldflags '-s -w' -o "$work/tether" .)

# 2. vmlinux: the bzImage holds the kernel as an LZ4 legacy frame (magic 02 21 4c 18). Try each
# occurrence of the magic until one decompresses to an ELF; lz4 complains about the bytes that follow
# the frame, so its status is not the test.
elf_magic=$'\x7fELF'
found=""
for offset in $(LC_ALL=C grep -obUaP '\x02\x21\x4c\x18' "$kernel" | cut -d: -f1); do
  tail -c +$((offset + 1)) "$kernel" | lz4 -dc >"$work/vmlinux" 2>/dev/null || true
  if [[ -s $work/vmlinux && $(head -c 4 "$work/vmlinux") == "$elf_magic" ]]; then
    found=$offset
    break
  fi
done
[[ -n $found ]] || die "no LZ4-compressed ELF kernel found in $kernel"

# 3. initramfs: /init plus the modules, flat in /lib/modules, loaded in modules.order's order.
stage="$work/stage"
mkdir -p "$stage"/{dev,proc,sys,mnt,tmp,lib/modules}
cp "$work/tether" "$stage/init"
for f in "${module_files[@]}"; do
  name=$(basename "$f")
  case $f in
    *.ko) cp "$f" "$stage/lib/modules/$name" ;;
    *.ko.xz) xz -dc "$f" >"$stage/lib/modules/${name%.xz}" ;;
    *.ko.zst) zstd -qdc "$f" >"$stage/lib/modules/${name%.zst}" ;;
    *) die "unsupported module file $f" ;;
  esac
done
printf '%s\n' "${modules[@]}" >"$stage/lib/modules/modules.order"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/initramfs.cpio"

mv -f "$work/tether" "$out/tether"
mv -f "$work/vmlinux" "$out/vmlinux"
mv -f "$work/initramfs.cpio" "$out/initramfs.cpio"
echo "$kver" >"$out/kernel-version"
echo "$inputs_hash" >"$stamp"
echo "guest built (kernel $kver): $out/vmlinux $out/initramfs.cpio $out/tether"
build_iso
