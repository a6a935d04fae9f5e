// Folds one overlayfs upper directory (`delta`, what a host-side write through a scratch overlay
// changed) into another (`upper`, the container's changes on its writable disk), as if the write had
// gone to `upper` directly. Needed because a disk a guest wrote is opened through fuse2fs, which
// overlayfs cannot use as an upper layer (no RENAME_WHITEOUT, no tmpfile).
//
// What counts in `delta`: a whiteout (char 0:0) or any non-directory replaces the entry; an opaque
// directory (trusted.overlay.opaque=y) replaces the whole subtree; a plain directory is merged into
// the one below it, taking its owner, mode and times.
import { chown, chmod, lstat, mkdir, readdir, rm, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { CommandError } from '../../../portlayer/images/command.ts';
import { findOpaqueDirs } from './container-changes.ts';

export async function foldDelta(delta: string, upper: string): Promise<void> {
  const opaque = new Set((await findOpaqueDirs(delta)).map((dir) => join(delta, dir)));
  await fold(delta, upper, opaque);
}

async function fold(from: string, to: string, opaque: Set<string>): Promise<void> {
  for (const name of await readdir(from)) {
    const source = join(from, name);
    const target = join(to, name);
    const stat = await lstat(source);
    const below = await lstat(target).catch(() => undefined);
    if (stat.isDirectory() && !opaque.has(source) && below?.isDirectory()) {
      await fold(source, target, opaque);
      await chown(target, stat.uid, stat.gid);
      await chmod(target, stat.mode & 0o7777);
      await utimes(target, stat.atime, stat.mtime);
      continue;
    }
    if (below) await rm(target, { recursive: true, force: true });
    await copyEntry(from, name, to);
  }
}

const TAR_OPTIONS = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--no-acls'];

/**
 * A local copy of the container's `upper/` (served by fuse2fs) to stack under a kernel overlay:
 * overlayfs does not hide whiteouts that a FUSE lower lists (readdir shows them, lookups then fail:
 * "File removed before we read it"), so the overlay gets the changes from a host directory instead.
 * Returns the copy's path (`<into>/upper`).
 */
export async function localUpperCopy(fuseUpper: string, into: string): Promise<string> {
  await mkdir(into, { recursive: true, mode: 0o700 });
  await copyEntry(dirname(fuseUpper), basename(fuseUpper), into);
  return join(into, basename(fuseUpper));
}

/**
 * tar to tar keeps what an overlay layer is made of: owners, modes, times, xattrs (trusted.overlay.*
 * included), device numbers (whiteouts). Not `cp -a`: it sets a minimal POSIX ACL on every file, which
 * fuse2fs turns into a wrong mode.
 */
function copyEntry(from: string, name: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const reader = spawn('tar', ['-C', from, '-cf', '-', ...TAR_OPTIONS, '--', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    const writer = spawn('tar', ['-C', to, '-xpf', '-', ...TAR_OPTIONS], { stdio: ['pipe', 'ignore', 'pipe'] });
    reader.stdout.pipe(writer.stdin);
    let stderr = '';
    for (const child of [reader, writer]) child.stderr.on('data', (d: Buffer) => { if (stderr.length < 64 * 1024) stderr += d.toString(); });
    let pending = 2;
    let failed: Error | undefined;
    const settle = (code: number | null) => {
      if (code !== 0) failed ??= new CommandError('tar', code, stderr);
      if (--pending === 0) (failed ? reject(failed) : resolve());
    };
    reader.on('error', reject);
    writer.on('error', reject);
    reader.on('close', settle);
    writer.on('close', settle);
  });
}
