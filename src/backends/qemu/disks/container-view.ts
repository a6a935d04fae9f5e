// A stopped container's filesystem as its process would see it, on the host, for `docker cp`: the
// image layers, the container's changes and its volumes at their targets — read-only for reading,
// writable for writing — with nothing a guest wrote ever mounted by the host's kernel (guest-disk.ts).
//
// The view is a kernel overlay whose lowers are the layer disks and a local copy of the container's
// `upper/` (served by fuse2fs; overlayfs mishandles whiteouts on a FUSE lower) and whose upper is a
// scratch directory; volume disks (fuse2fs) and host binds are bound at their
// targets. After a write, the scratch upper — overlay's own account of the change, copy-ups,
// whiteouts and opaque directories included — is folded into the container's `upper/`
// (overlay-delta.ts), exactly what the write would have done to it in the guest.
//
// Only while no VM runs the container or any of the mounted volumes (the caller holds them).
import { existsSync } from 'node:fs';
import { lstat, mkdir, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PortLayerError } from '../../../portlayer/errors.ts';
import { STACKED_MOUNT_OPTIONS, mountLayers, withMounts } from './mount-session.ts';
import type { MountSession } from './mount-session.ts';
import { foldDelta, localUpperCopy } from './overlay-delta.ts';
import { VOLUME_DATA_DIR } from './ext4-disk.ts';

export interface ContainerViewRequest {
  /** Layer disks, bottom first. */
  layerDisks: string[];
  writableDisk: string;
  /** Volumes to show at their targets (absolute paths in the container). */
  volumes: Array<{ target: string; disk: string; readOnly: boolean }>;
  /** Host directories to show at their targets (bind mounts of the host's own directories). */
  binds?: Array<{ target: string; source: string; readOnly: boolean }>;
  writable: boolean;
  tmpDir: string;
}

export function withContainerView<T>(request: ContainerViewRequest, use: (root: string) => Promise<T>): Promise<T> {
  return withMounts(request.tmpDir, 'container-view-', async (disks) => {
    const lowers = await mountLayers(disks, request.layerDisks);
    const rw = join(disks.scratch, 'rw');
    let upper: string | undefined;
    if (existsSync(request.writableDisk)) {
      await disks.mountGuestDisk(request.writableDisk, rw, { readOnly: !request.writable });
      upper = join(rw, 'upper');
      // A container that never started has neither yet; the tether would make them the same way.
      if (request.writable) {
        await mkdir(upper, { recursive: true, mode: 0o755 });
        await mkdir(join(rw, 'work'), { recursive: true, mode: 0o755 });
      }
      // The overlay reads the changes from a local copy; writes are folded into the real upper/.
      if (existsSync(upper)) lowers.unshift(await localUpperCopy(upper, join(disks.scratch, 'upper-copy')));
    } else if (request.writable) {
      throw new PortLayerError('System', `the container's writable disk ${request.writableDisk} is missing`);
    }
    if (lowers.length === 0) {
      const empty = join(disks.scratch, 'empty');
      await mkdir(empty);
      lowers.push(empty);
    }
    const delta = join(disks.scratch, 'delta');
    const work = join(disks.scratch, 'delta-work');
    await mkdir(delta, { mode: 0o755 });
    await mkdir(work, { mode: 0o700 });
    const result = await withMounts(disks.scratch, 'overlay-', async (overlay) => {
      const root = join(overlay.scratch, 'merged');
      await overlay.mount('overlay', root, ['-t', 'overlay', '-o',
        `${STACKED_MOUNT_OPTIONS},lowerdir=${lowers.join(':')},upperdir=${delta},workdir=${work},index=off,metacopy=off,redirect_dir=off`]);
      const created: string[] = [];
      const value = await withMounts(overlay.scratch, 'volumes-', async (volumes) => {
        await mountVolumes(volumes, root, request, created);
        return use(root);
      });
      // Mount points made only for this view are not the container's change.
      for (const dir of created.reverse()) await rmdir(dir).catch(() => undefined);
      return value;
    });
    if (request.writable && upper) await foldDelta(delta, upper);
    return result;
  });
}

async function mountVolumes(session: MountSession, root: string, request: ContainerViewRequest, created: string[]): Promise<void> {
  // Outer targets first: a nested target is a directory inside the outer volume or bind.
  const mounts = [...request.volumes.map((v) => ({ ...v, source: undefined })), ...(request.binds ?? []).map((b) => ({ ...b, disk: undefined }))]
    .sort((a, b) => depth(a.target) - depth(b.target));
  for (const [index, mount] of mounts.entries()) {
    const readOnly = !request.writable || mount.readOnly;
    const at = await mountPoint(root, mount.target, created);
    if (!at) continue; // a nested target missing in a read-only outer volume: the guest would make it
    if (mount.disk !== undefined) {
      const disk = join(session.scratch, `volume${index}`);
      await session.mountGuestDisk(mount.disk, disk, { readOnly });
      await session.mount(join(disk, VOLUME_DATA_DIR), at, ['--bind']);
    } else {
      // The host's own directory: what `docker cp` writes there lands on the host, as with dockerd.
      await session.mount(mount.source!, at, ['--bind', ...(readOnly ? ['-o', 'ro'] : [])]);
    }
  }
}

function depth(target: string): number {
  return posix.normalize(target).split('/').filter(Boolean).length;
}

/**
 * The target's directory inside the view, made where missing (recorded in `created`). Components are
 * walked without following symlinks: a container's symlink must never lead a host mount out of the view.
 */
async function mountPoint(root: string, target: string, created: string[]): Promise<string | undefined> {
  let at = root;
  for (const part of posix.normalize(target).split('/').filter(Boolean)) {
    at = join(at, part);
    const stat = await lstat(at).catch(() => undefined);
    if (stat?.isDirectory()) continue;
    if (stat) throw new PortLayerError('Conflict', `cannot show volume at ${target}: ${part} is not a directory in the container`);
    try {
      await mkdir(at, { mode: 0o755 });
    } catch {
      return undefined;
    }
    created.push(at);
  }
  return at;
}
