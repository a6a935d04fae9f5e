// Where a layer is unpacked before the disk store makes the layer's disk of it.
//
// The unpacked tree lives for a second or two and is then deleted, yet on a journalled disk filesystem
// every file it creates costs a journalled inode (and under I/O from other work, hundreds of µs each:
// most of a pull's time went there). So layers are unpacked on tmpfs when one is at hand and the layer
// fits a memory budget; the disk image itself still goes to the store's tmp/ and is synced there.
// A layer that outgrows the budget fails with StagingFull, and is unpacked again on disk.
//
// tmpfs is outside the store, so the store's sweep of tmp/ does not reach it: staging directories are
// named after the store, and opening the store removes the ones a killed process left behind.

import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { freemem } from 'node:os';
import { join, resolve } from 'node:path';

const TMPFS_MAGIC = 0x01021994;
const DEFAULT_TMPFS = '/dev/shm';
/** Never stage more than this in memory for one layer, however much is free. */
const MAX_TMPFS_BYTES = 1024 * 1024 * 1024;
/** Not worth trying with less: the layer would most likely not fit. */
const MIN_TMPFS_BYTES = 32 * 1024 * 1024;

/** Thrown by the extractor when a layer does not fit the staging budget. */
export class StagingFull extends Error {
  constructor(limit: number) {
    super(`the layer does not fit the ${limit}-byte staging budget`);
    this.name = 'StagingFull';
  }
}

export interface StagingDir {
  dir: string;
  /** Bytes the unpacked layer may take here; undefined on disk, where it is not limited. */
  limitBytes?: number;
}

/** How a store's staging directories on tmpfs are named: after the store, so its next open finds them. */
export function stagingPrefix(storeRoot: string): string {
  return `bonneville-layer-${createHash('sha256').update(resolve(storeRoot)).digest('hex').slice(0, 12)}-`;
}

export class LayerStaging {
  private readonly tmpfs: string | undefined;
  private readonly prefix: string;
  private readonly maxBytes: number;

  /**
   * `tmpfsDir`: a tmpfs to stage on (default /dev/shm if it is one), or null for disk only;
   * `maxBytes`: the most one layer may stage there.
   */
  constructor(storeRoot: string, tmpfsDir?: string | null, maxBytes = MAX_TMPFS_BYTES) {
    const wanted = tmpfsDir === undefined ? DEFAULT_TMPFS : tmpfsDir;
    this.tmpfs = wanted !== null && isTmpfs(wanted) ? wanted : undefined;
    this.prefix = stagingPrefix(storeRoot);
    this.maxBytes = maxBytes;
    this.sweep();
  }

  /**
   * A fresh staging directory for one layer: on tmpfs when the budget allows (and the blob, at
   * `blobBytes`, is not already bigger than it), else `diskDir`, which the caller creates and owns.
   */
  async take(diskDir: string, blobBytes?: number): Promise<StagingDir | undefined> {
    if (!this.tmpfs) return undefined;
    const budget = this.budget();
    if (budget < Math.min(MIN_TMPFS_BYTES, this.maxBytes) || (blobBytes ?? 0) > budget) return undefined;
    // mkdtemp creates the directory itself, mode 0700, and never reuses a name planted by someone else.
    return { dir: await mkdtemp(join(this.tmpfs, this.prefix)), limitBytes: budget };
  }

  /** What one layer may use: a slice of free memory, as two layers can be unpacked at once. */
  private budget(): number {
    try {
      const fs = statfsSync(this.tmpfs!);
      return Math.min(this.maxBytes, Math.floor((fs.bavail * fs.bsize) / 4), Math.floor(freemem() / 8));
    } catch {
      return 0;
    }
  }

  /** Removes staging directories of this store left by a process that died mid-pull. */
  private sweep(): void {
    if (!this.tmpfs) return;
    let names: string[];
    try {
      names = readdirSync(this.tmpfs);
    } catch {
      return;
    }
    const uid = process.getuid?.();
    for (const name of names) {
      if (!name.startsWith(this.prefix)) continue;
      const path = join(this.tmpfs, name);
      const stats = lstatSync(path, { throwIfNoEntry: false });
      // Only real directories we own: in a world-writable directory, anyone can plant a name.
      if (stats?.isDirectory() && (uid === undefined || stats.uid === uid)) rmSync(path, { recursive: true, force: true });
    }
  }
}

function isTmpfs(dir: string): boolean {
  try {
    return statfsSync(dir).type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}
