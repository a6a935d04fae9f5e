// Host mounts that live for one piece of work: a scratch directory, every mount made under it, and
// all of it undone (innermost first) when the work ends, however it ends.
//
// Two kinds of disk: the engine's own layer disks (built by mke2fs from image tarballs, attached to
// VMs read-only) are loop-mounted read-only; a disk a guest wrote is opened in user space only
// (guest-disk.ts). Either way nothing on them can be executed, opened as a device or gain setuid.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../../portlayer/images/command.ts';
import { GUEST_DISK_MOUNT_OPTIONS, mountGuestDisk } from './guest-disk.ts';

export interface MountSession {
  scratch: string;
  /** Mounts `source` at `target` (created) with mount(8) arguments such as ['-o', 'loop,ro']. */
  mount(source: string, target: string, args: string[]): Promise<void>;
  /** Mounts a disk a guest wrote at `target` (created), through fuse2fs. */
  mountGuestDisk(disk: string, target: string, options: { readOnly: boolean }): Promise<void>;
}

export async function withMounts<T>(tmpDir: string, prefix: string, use: (session: MountSession) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(tmpDir, prefix));
  const undo: Array<() => Promise<void>> = [];
  const session: MountSession = {
    scratch,
    mount: async (source, target, args) => {
      await mkdir(target, { recursive: true });
      await runCommand('mount', [...args, source, target]);
      undo.push(() => runCommand('umount', [target]).catch(() => runCommand('umount', ['-l', target])));
    },
    mountGuestDisk: async (disk, target, options) => {
      await mkdir(target, { recursive: true, mode: 0o700 });
      undo.push(await mountGuestDisk(disk, target, { ...options, copyTo: `${target}.ext4` }));
    },
  };
  let failure: unknown;
  try {
    return await use(session);
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    let undoFailure: unknown;
    for (const step of undo.reverse()) {
      await step().catch((err: unknown) => { undoFailure ??= err; });
    }
    // Never a recursive removal through a mount that would not go away: it would delete what it holds.
    if (undoFailure === undefined) await rm(scratch, { recursive: true, force: true });
    // A write that did not reach a guest disk must not pass for success.
    if (undoFailure !== undefined && failure === undefined) throw undoFailure;
  }
}

/** Mount options for an overlay (or anything else) stacked on the session's disks. */
export const STACKED_MOUNT_OPTIONS = GUEST_DISK_MOUNT_OPTIONS;

/** Mounts each layer disk read-only under the session; returns their directories, topmost first. */
export async function mountLayers(session: MountSession, layerDisks: string[]): Promise<string[]> {
  const lowers: string[] = [];
  for (const [index, disk] of layerDisks.entries()) {
    const target = join(session.scratch, `layer${index}`);
    await session.mount(disk, target, ['-o', `loop,ro,${STACKED_MOUNT_OPTIONS}`]);
    lowers.unshift(target);
  }
  return lowers;
}
