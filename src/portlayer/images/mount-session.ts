// Host mounts that live for one piece of work: a scratch directory, every mount made under it, and
// all of it undone (innermost first) when the work ends, however it ends.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './command.ts';

export interface MountSession {
  scratch: string;
  /** Mounts `source` at `target` (created) with mount(8) arguments such as ['-o', 'loop,ro']. */
  mount(source: string, target: string, args: string[]): Promise<void>;
}

export async function withMounts<T>(tmpDir: string, prefix: string, use: (session: MountSession) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(tmpDir, prefix));
  const mounted: string[] = [];
  const session: MountSession = {
    scratch,
    mount: async (source, target, args) => {
      await mkdir(target, { recursive: true });
      await runCommand('mount', [...args, source, target]);
      mounted.push(target);
    },
  };
  try {
    return await use(session);
  } finally {
    for (const target of mounted.reverse()) {
      await runCommand('umount', [target]).catch(() => runCommand('umount', ['-l', target]).catch(() => {}));
    }
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Mounts each layer disk read-only under the session; returns their directories, topmost first. */
export async function mountLayers(session: MountSession, layerDisks: string[]): Promise<string[]> {
  const lowers: string[] = [];
  for (const [index, disk] of layerDisks.entries()) {
    const target = join(session.scratch, `layer${index}`);
    await session.mount(disk, target, ['-o', 'loop,ro']);
    lowers.unshift(target);
  }
  return lowers;
}
