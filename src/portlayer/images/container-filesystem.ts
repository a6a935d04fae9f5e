// A container's filesystem, mounted read-only on the host for reading (export, commit): its image
// layer disks and the writable disk that holds overlayfs `upper/` and `work/`.
//
// Why mounts rather than `debugfs rdump`: rdump drops device nodes and xattrs, i.e. the overlay
// whiteouts and opaque markers. The disks are loop-mounted read-only (the engine runs as root). A
// writable disk still in use by a running VM is copied first and the copy mounted (`noload`: its
// journal is not replayed), so nothing ever touches a disk a guest writes.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.ts';

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

export async function withContainerFilesystem<T>(request: ContainerFilesystemRequest, use: (fs: MountedContainerFilesystem) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(request.tmpDir, 'container-fs-'));
  const mounted: string[] = [];
  const mount = async (source: string, target: string, args: string[]) => {
    await mkdir(target);
    await runCommand('mount', [...args, source, target]);
    mounted.push(target);
  };
  try {
    const lowers: string[] = [];
    for (const [index, disk] of request.layerDisks.entries()) {
      const target = join(scratch, `layer${index}`);
      await mount(disk, target, ['-o', 'loop,ro']);
      lowers.unshift(target);
    }
    let upper: string | undefined;
    if (request.writableDisk && existsSync(request.writableDisk)) {
      let disk = request.writableDisk;
      if (request.active) {
        disk = join(scratch, 'rw-copy.ext4');
        await runCommand('cp', ['--sparse=always', request.writableDisk, disk]);
      }
      const target = join(scratch, 'rw');
      await mount(disk, target, ['-o', 'loop,ro,noload']);
      if (existsSync(join(target, 'upper'))) {
        upper = join(target, 'upper');
        lowers.unshift(upper);
      }
    }
    const merge = async () => {
      const root = join(scratch, 'merged');
      if (lowers.length === 0) await mkdir(root);
      else if (lowers.length === 1) return lowers[0];
      else await mount('overlay', root, ['-t', 'overlay', '-o', `ro,lowerdir=${lowers.join(':')}`]);
      return root;
    };
    return await use({ lowers, upper, scratch, merge });
  } finally {
    for (const target of mounted.reverse()) {
      await runCommand('umount', [target]).catch(() => runCommand('umount', ['-l', target]).catch(() => {}));
    }
    await rm(scratch, { recursive: true, force: true });
  }
}
