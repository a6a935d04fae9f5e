// A container's volume mounts as VM disks and tether mounts. One disk per volume even when it is
// mounted at several targets: two guest mounts of one ext4 image through two devices would corrupt it.
// The disk is attached read-only only when every target mounts it read-only.
import type { VmVolume } from '../../portlayer/backend.ts';
import type { VolumeMount } from '../../tether/config.ts';
import type { VmDisk } from './cmdline.ts';

export function volumeDisks(volumes: VmVolume[]): { disks: VmDisk[]; mounts: VolumeMount[] } {
  const byPath = new Map<string, VmDisk>();
  const mounts: VolumeMount[] = [];
  for (const volume of volumes) {
    let disk = byPath.get(volume.disk);
    if (!disk) {
      disk = { serial: `v${byPath.size}`, path: volume.disk, readOnly: true };
      byPath.set(volume.disk, disk);
    }
    if (!volume.readOnly) disk.readOnly = false;
    mounts.push({ serial: disk.serial, target: volume.target, readOnly: volume.readOnly, copyUp: volume.copyUp });
  }
  return { disks: [...byPath.values()], mounts };
}
