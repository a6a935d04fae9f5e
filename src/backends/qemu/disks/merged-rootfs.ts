// A container's filesystem as one tarball (`docker export`): its image layers and its changes merged
// by the kernel's overlayfs, so whiteouts and opaque directories mean exactly what they meant inside
// the VM.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { CommandError } from '../../../portlayer/images/command.ts';
import { withContainerFilesystem } from './container-filesystem.ts';
import type { ContainerFilesystemRequest } from './container-filesystem.ts';

export async function exportMergedRootfs(request: ContainerFilesystemRequest, out: Writable): Promise<void> {
  await withContainerFilesystem(request, async (fs) => tarDirectory(await fs.merge(), out));
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
