// A container's filesystem as one tarball (`docker export`): its image layer disks and the `upper/`
// directory of its writable disk, merged by the kernel's overlayfs (all read-only lowers, topmost
// first), so whiteouts and opaque directories mean exactly what they meant inside the VM.
//
// Why mounts rather than `debugfs rdump`: rdump drops device nodes and xattrs, i.e. the overlay
// whiteouts and opaque markers the merge depends on. The disks are loop-mounted read-only (the
// engine runs as root). A writable disk still in use by a running VM is copied first and the copy
// mounted (`noload`: its journal is not replayed), so the export never touches a disk a guest writes.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { CommandError, runCommand } from './command.ts';

export interface MergedRootfsRequest {
  /** Layer disks, bottom first. */
  layerDisks: string[];
  /** The container's writable ext4 disk (holding upper/ and work/), if it has one yet. */
  writableDisk?: string;
  /** Whether a VM may be writing the writable disk right now (then a copy is read). */
  active: boolean;
  tmpDir: string;
}

export async function exportMergedRootfs(request: MergedRootfsRequest, out: Writable): Promise<void> {
  const work = await mkdtemp(join(request.tmpDir, 'export-'));
  const mounted: string[] = [];
  const mount = async (source: string, target: string, args: string[]) => {
    await mkdir(target);
    await runCommand('mount', [...args, source, target]);
    mounted.push(target);
  };
  try {
    const lowers: string[] = [];
    for (const [index, disk] of request.layerDisks.entries()) {
      const target = join(work, `layer${index}`);
      await mount(disk, target, ['-o', 'loop,ro']);
      lowers.unshift(target);
    }
    if (request.writableDisk && existsSync(request.writableDisk)) {
      let disk = request.writableDisk;
      if (request.active) {
        disk = join(work, 'rw-copy.ext4');
        await runCommand('cp', ['--sparse=always', request.writableDisk, disk]);
      }
      const target = join(work, 'rw');
      await mount(disk, target, ['-o', 'loop,ro,noload']);
      if (existsSync(join(target, 'upper'))) lowers.unshift(join(target, 'upper'));
    }
    let root: string;
    if (lowers.length === 0) {
      root = join(work, 'empty');
      await mkdir(root);
    } else if (lowers.length === 1) {
      root = lowers[0];
    } else {
      root = join(work, 'merged');
      await mount('overlay', root, ['-t', 'overlay', '-o', `ro,lowerdir=${lowers.join(':')}`]);
    }
    await tarDirectory(root, out);
  } finally {
    for (const target of mounted.reverse()) {
      await runCommand('umount', [target]).catch(() => runCommand('umount', ['-l', target]).catch(() => {}));
    }
    await rm(work, { recursive: true, force: true });
  }
}

function tarDirectory(dir: string, out: Writable): Promise<void> {
  const names = readdirSync(dir).filter((name) => name !== 'lost+found');
  const args = ['-C', dir, '-cf', '-', '--numeric-owner', '--xattrs', '--xattrs-include=user.*', '--xattrs-include=security.capability'];
  if (names.length === 0) args.push('--files-from=/dev/null');
  else args.push('--', ...names);
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.pipe(out, { end: false });
    out.on('close', () => child.kill());
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new CommandError('tar', code, stderr))));
  });
}
