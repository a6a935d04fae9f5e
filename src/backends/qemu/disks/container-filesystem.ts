// A container's filesystem, mounted read-only on the host for reading (export, commit): its image
// layer disks and the writable disk that holds overlayfs `upper/` and `work/`.
//
// Why mounts rather than `debugfs rdump`: rdump drops device nodes and xattrs, i.e. the overlay
// whiteouts and opaque markers. The layer disks (the engine's own) are loop-mounted read-only; the
// writable disk, which a guest wrote, only through fuse2fs in user space (guest-disk.ts). A writable
// disk still in use by a running VM is copied first and the copy read (its journal replayed on the
// copy), so nothing ever touches a disk a guest writes.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../../portlayer/images/command.ts';
import { STACKED_MOUNT_OPTIONS, mountLayers, withMounts } from './mount-session.ts';
import { replayJournal } from './guest-disk.ts';
import { localUpperCopy } from './overlay-delta.ts';

export interface ContainerFilesystemRequest {
  /** Layer disks, bottom first. */
  layerDisks: string[];
  /** The container's writable ext4 disk, if it has one yet. */
  writableDisk?: string;
  /** Whether a VM may be writing the writable disk right now (then a copy is read). */
  active: boolean;
  tmpDir: string;
}

export interface MountedContainerFilesystem {
  /** Overlay lowers, topmost first: the container's changes (upper/), then its image layers. */
  lowers: string[];
  /** The container's changes, when it has any. */
  upper?: string;
  /** A scratch directory that lives as long as the mounts. */
  scratch: string;
  /** Mounts read-only overlay of `lowers` at a new directory and returns it. */
  merge(): Promise<string>;
}

export function withContainerFilesystem<T>(request: ContainerFilesystemRequest, use: (fs: MountedContainerFilesystem) => Promise<T>): Promise<T> {
  return withMounts(request.tmpDir, 'container-fs-', async (session) => {
    const { scratch } = session;
    const lowers = await mountLayers(session, request.layerDisks);
    let upper: string | undefined;
    if (request.writableDisk && existsSync(request.writableDisk)) {
      let disk = request.writableDisk;
      if (request.active) {
        disk = join(scratch, 'rw-copy.ext4');
        await runCommand('cp', ['--sparse=always', request.writableDisk, disk]);
      }
      const target = join(scratch, 'rw');
      await replayJournalIfActive(disk, request.active);
      await session.mountGuestDisk(disk, target, { readOnly: true });
      if (existsSync(join(target, 'upper'))) {
        upper = await localUpperCopy(join(target, 'upper'), join(scratch, 'upper-copy'));
        lowers.unshift(upper);
      }
    }
    const merge = async () => {
      const root = join(scratch, 'merged');
      if (lowers.length === 0) await mkdir(root);
      else if (lowers.length === 1) return lowers[0];
      else await session.mount('overlay', root, ['-t', 'overlay', '-o', `ro,${STACKED_MOUNT_OPTIONS},lowerdir=${lowers.join(':')}`]);
      return root;
    };
    return use({ lowers, upper, scratch, merge });
  });
}

/** The copy of a running VM's disk is ours: its journal (always live) is replayed on it. */
async function replayJournalIfActive(copy: string, active: boolean): Promise<void> {
  if (active) await replayJournal(copy);
}
