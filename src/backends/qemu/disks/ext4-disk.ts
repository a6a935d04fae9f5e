// Sparse ext4 disk images, formatted on the host so that the guest only mounts them: the container's
// writable disk, and volume disks. Lazy inode-table and journal init keep this fast whatever the size.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, chmod, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where a volume's content lives on its disk: lost+found stays outside what the container sees. */
export const VOLUME_DATA_DIR = 'data';

export async function formatExt4(path: string, sizeBytes: number, populateFrom?: string): Promise<void> {
  const args = ['-q', '-F', '-t', 'ext4', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-m', '0'];
  if (populateFrom) args.push('-d', populateFrom);
  // The disk holds the container's (or volume's) files: root only, made so before mke2fs writes a byte.
  await writeFile(path, '', { mode: 0o600 });
  await chmod(path, 0o600);
  await run('mke2fs', [...args, path, `${Math.floor(sizeBytes / 1024)}k`]);
}

/**
 * A volume disk: its root holds an empty `data/` (0755, root), which the tether mounts at the target.
 * Made here rather than by the guest so that even a volume first mounted read-only has it.
 */
export async function formatVolumeDisk(path: string, sizeBytes: number): Promise<void> {
  const root = await mkdtemp(join(dirname(path), '.mkfs-'));
  try {
    await mkdir(join(root, VOLUME_DATA_DIR));
    await chmod(join(root, VOLUME_DATA_DIR), 0o755);
    await formatExt4(path, sizeBytes, root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
