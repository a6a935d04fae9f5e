// The guest's layer disk format, shared by every backend whose VMs run the tether.
// Builds a read-only ext4 image from a directory with `mke2fs -d` (no mount needed), sized from the
// content rather than guessed: data blocks, directory blocks and one 256-byte inode per entry, plus
// a margin. If the estimate still falls short, mke2fs fails cleanly and we retry with double the room.

import { chmod, rm, writeFile } from 'node:fs/promises';
import { CommandError, runCommand } from '../../portlayer/images/command.ts';
import type { LayerContent } from '../../portlayer/disks.ts';

const BLOCK_SIZE = 4096;
const INODE_SIZE = 256;
const ATTEMPTS = 4;

/** Bytes to give mke2fs for `content`; exported so the sizing rule can be tested on its own. */
export function estimateImageBytes(content: LayerContent): number {
  const inodes = inodeCount(content);
  const directoryBlocks = content.directories + Math.ceil(content.directoryEntryBytes / (BLOCK_SIZE * 0.75));
  // Extent-tree blocks for large or fragmented files: generous at one per 32 MiB of data.
  const extentBlocks = Math.ceil(content.dataBlocks / 8192);
  const blocks = content.dataBlocks + directoryBlocks + content.longSymlinks + extentBlocks + 4 /* lost+found */;
  const metadata = inodes * INODE_SIZE + 1024 * 1024; // superblock, descriptors, bitmaps
  const bytes = Math.ceil((blocks * BLOCK_SIZE * 1.05 + metadata) / BLOCK_SIZE) * BLOCK_SIZE;
  return Math.max(bytes, 2 * 1024 * 1024);
}

/** Reserved inodes (1–10), lost+found and the root, then 10 % slack. */
export function inodeCount(content: LayerContent): number {
  return Math.ceil((content.inodes + 16) * 1.1);
}

/** `record` is told how long mke2fs and debugfs took. */
export async function makeExt4Image(sourceDir: string, imagePath: string, content: LayerContent, record: (phase: 'mke2fs' | 'debugfs', ms: number) => void = () => {}): Promise<void> {
  let bytes = estimateImageBytes(content);
  let inodes = inodeCount(content);
  for (let attempt = 1; ; attempt++) {
    try {
      let start = performance.now();
      // Like everything in the datastore: root only, so before mke2fs writes a byte.
      await writeFile(imagePath, '', { mode: 0o600 });
      await chmod(imagePath, 0o600);
      await runCommand('mke2fs', [
        '-t', 'ext4', '-q', '-F',
        '-b', String(BLOCK_SIZE), '-I', String(INODE_SIZE), '-N', String(inodes),
        '-m', '0', // no blocks reserved for root: nobody writes to a layer
        '-O', '^has_journal,^resize_inode', // read-only forever: no journal, never resized
        '-E', 'root_owner=0:0',
        '-d', sourceDir,
        imagePath, `${bytes / 1024}k`,
      ]);
      record('mke2fs', performance.now() - start);
      start = performance.now();
      // mke2fs always adds lost+found; in an overlay lower it would show up in every container's /.
      await runCommand('debugfs', ['-w', '-R', 'rmdir /lost+found', imagePath]);
      record('debugfs', performance.now() - start);
      return;
    } catch (error) {
      await rm(imagePath, { force: true });
      if (!(error instanceof CommandError) || attempt >= ATTEMPTS) throw error;
      bytes *= 2;
      inodes *= 2;
    }
  }
}
