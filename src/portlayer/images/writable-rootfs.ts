// A stopped container's filesystem mounted READ-WRITE on the host, for `docker cp` into it: the layer
// disks read-only, the writable disk read-write, and over them the same overlay the tether builds in
// the guest (upper/ and work/ on the writable disk). Writing through the overlay lets the kernel apply
// overlay semantics — copy-up, whiteouts, opaque directories when a file replaces a lower directory
// or the reverse — exactly as the guest would, instead of our imitating them in upper/.
//
// Only while no VM runs the container (the caller holds the container's files lock). The features
// that would leave the guest something it may not understand (index, metacopy, redirect_dir) are off
// explicitly, whatever the host kernel's defaults.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.ts';

export interface WritableRootfsRequest {
  /** Layer disks, bottom first. */
  layerDisks: string[];
  writableDisk: string;
  tmpDir: string;
}

export async function withWritableRootfs<T>(request: WritableRootfsRequest, use: (root: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(request.tmpDir, 'container-rw-'));
  const mounted: string[] = [];
  const mount = async (source: string, target: string, args: string[]) => {
    await mkdir(target, { recursive: true });
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
    if (lowers.length === 0) {
      // As in the guest: an image without layers still needs one lower directory.
      const empty = join(scratch, 'empty');
      await mkdir(empty);
      lowers.push(empty);
    }
    const rw = join(scratch, 'rw');
    await mount(request.writableDisk, rw, ['-o', 'loop']);
    // A container that never started has neither yet; the tether would make them the same way.
    const upper = join(rw, 'upper');
    const work = join(rw, 'work');
    await mkdir(upper, { recursive: true, mode: 0o755 });
    await mkdir(work, { recursive: true, mode: 0o755 });
    const root = join(scratch, 'merged');
    await mount('overlay', root, ['-t', 'overlay', '-o',
      `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},index=off,metacopy=off,redirect_dir=off`]);
    return await use(root);
  } finally {
    for (const target of mounted.reverse()) {
      await runCommand('umount', [target]).catch(() => runCommand('umount', ['-l', target]).catch(() => {}));
    }
    await rm(scratch, { recursive: true, force: true });
  }
}
