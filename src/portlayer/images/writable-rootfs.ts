// A stopped container's filesystem mounted READ-WRITE on the host, for `docker cp` into it: the layer
// disks read-only, the writable disk read-write, and over them the same overlay the tether builds in
// the guest (upper/ and work/ on the writable disk). Writing through the overlay lets the kernel apply
// overlay semantics — copy-up, whiteouts, opaque directories when a file replaces a lower directory
// or the reverse — exactly as the guest would, instead of our imitating them in upper/.
//
// Only while no VM runs the container (the caller holds the container's files lock). The features
// that would leave the guest something it may not understand (index, metacopy, redirect_dir) are off
// explicitly, whatever the host kernel's defaults.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mountLayers, withMounts } from './mount-session.ts';

export interface WritableRootfsRequest {
  /** Layer disks, bottom first. */
  layerDisks: string[];
  writableDisk: string;
  tmpDir: string;
}

export function withWritableRootfs<T>(request: WritableRootfsRequest, use: (root: string) => Promise<T>): Promise<T> {
  return withMounts(request.tmpDir, 'container-rw-', async (session) => {
    const lowers = await mountLayers(session, request.layerDisks);
    if (lowers.length === 0) {
      // As in the guest: an image without layers still needs one lower directory.
      const empty = join(session.scratch, 'empty');
      await mkdir(empty);
      lowers.push(empty);
    }
    const rw = join(session.scratch, 'rw');
    await session.mount(request.writableDisk, rw, ['-o', 'loop']);
    // A container that never started has neither yet; the tether would make them the same way.
    const upper = join(rw, 'upper');
    const work = join(rw, 'work');
    await mkdir(upper, { recursive: true, mode: 0o755 });
    await mkdir(work, { recursive: true, mode: 0o755 });
    const root = join(session.scratch, 'merged');
    await session.mount('overlay', root, ['-t', 'overlay', '-o',
      `lowerdir=${lowers.join(':')},upperdir=${upper},workdir=${work},index=off,metacopy=off,redirect_dir=off`]);
    return use(root);
  });
}
