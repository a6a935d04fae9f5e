// Disks a guest wrote (a container's writable disk, volume disks) are never mounted by the host's kernel:
// a guest controls every byte of them, and the kernel's ext4 (its journal replay above all) is not
// hardened against hostile images. They are opened in user space instead: e2fsck replays a journal
// left by a guest that did not unmount, and fuse2fs serves the filesystem through FUSE, so the
// kernel only ever speaks the FUSE protocol. Every such mount is nodev,nosuid,noexec and visible to
// root alone (no allow_other), so a setuid binary or a device node on the disk is inert on the host.
// See docs/host-disk-access.md.
import { execFile, spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { CommandError, runCommand } from '../../../portlayer/images/command.ts';

const run = promisify(execFile);

/** The options every guest-disk mount gets, whatever else it asks for. */
export const GUEST_DISK_MOUNT_OPTIONS = 'nodev,nosuid,noexec';

/**
 * Replays the journal a guest left (it was killed, or did not unmount) in user space, as the guest's
 * next mount would; nothing else is checked or repaired. Exit 1 means "journal replayed".
 */
export async function replayJournal(disk: string): Promise<void> {
  try {
    await runCommand('e2fsck', ['-E', 'journal_only', '-p', disk]);
  } catch (err) {
    if (err instanceof CommandError && err.exitCode === 1) return;
    throw err;
  }
}

/** Whether the guest left a journal to replay (it did not unmount: killed, or still running). */
export async function needsRecovery(disk: string): Promise<boolean> {
  const { stdout } = await run('dumpe2fs', ['-h', disk], { maxBuffer: 4 * 1024 * 1024 });
  const features = /^Filesystem features:(.*)$/m.exec(stdout)?.[1] ?? '';
  return features.split(/\s+/).includes('needs_recovery');
}

export interface GuestDiskMountOptions {
  readOnly: boolean;
  /**
   * Where a read-only mount may copy the disk when its journal needs replaying: reading never writes
   * a guest disk (a VM may be about to start on it, or be running on it).
   */
  copyTo: string;
}

/**
 * Mounts `disk` at `target` (an existing empty directory) through fuse2fs; resolves with its unmount.
 * A read-write mount replays the journal in place first (the caller holds the disk: no VM runs on it).
 */
export async function mountGuestDisk(disk: string, target: string, options: GuestDiskMountOptions): Promise<() => Promise<void>> {
  if (!options.readOnly) await replayJournal(disk);
  else if (await needsRecovery(disk)) {
    await runCommand('cp', ['--sparse=always', disk, options.copyTo]);
    await replayJournal(options.copyTo);
    disk = options.copyTo;
  }
  // FUSE 2 writes 4 KiB at a time unless told otherwise: big writes make a copy in 3-4 times faster.
  const access = options.readOnly ? ['ro'] : ['rw', 'big_writes', 'max_write=1048576'];
  const opts = [...access, GUEST_DISK_MOUNT_OPTIONS, 'no_default_opts', 'fsname=bonneville-guest-disk'].join(',');
  // In the foreground: its exit is how we know every write reached the disk after the unmount. Should
  // the engine die, SIGTERM makes fuse2fs flush, unmount and exit rather than serve an orphan mount.
  const child = spawn('setpriv', ['--pdeathsig', 'TERM', '--', 'fuse2fs', disk, target, '-f', '-o', opts], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => { if (stderr.length < 64 * 1024) stderr += text; });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (err) => { stderr += String(err); resolve(-1); });
    child.on('close', (code) => resolve(code));
  });
  let gone: number | null | undefined;
  exited.then((code) => { gone = code; });
  const parentDev = (await stat(dirname(target))).dev;
  // fuse2fs gives no other sign that the mount is up than the mount itself.
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    if (gone !== undefined) throw new CommandError('fuse2fs', gone, stderr);
    if ((await stat(target)).dev !== parentDev) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return async () => {
    // A file tool just killed may still hold the mount for a moment: a few tries before a lazy unmount.
    for (let attempt = 0; ; attempt++) {
      try {
        await runCommand('umount', [target]);
        break;
      } catch {
        if (gone !== undefined) break;
        if (attempt === 20) {
          await runCommand('umount', ['-l', target]).catch(() => {});
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    // Bounded: a disk held forever would keep its container from ever starting again.
    const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
    const code = await exited;
    clearTimeout(timer);
    if (code !== 0 && !options.readOnly) throw new CommandError('fuse2fs', code, stderr);
  };
}
