// The volumes' directories in the datastore: volumes/<name>/{volume.json, the disk store's disk (qemu:
// disk.ext4)}. A volume is made
// in a `.creating-…` directory and renamed into place once its disk and record are written, so a
// half-created volume is never listed; removal renames to `.removing-…` first. load() deletes both
// kinds of leftovers, as the container store does.
import { mkdirSync, readdirSync, rmSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeJsonAtomic, readJson } from '../atomic-file.ts';
import type { VolumeRecord } from './model.ts';
import type { DiskRef, DiskStore } from '../disks.ts';

const RECORD = 'volume.json';

/** What the volumes need of the backend's disk store. */
export type VolumeDisks = Pick<DiskStore, 'createVolumeDisk' | 'volumeDisk' | 'exists' | 'allocatedBytes' | 'destroyDisk'>;

export class VolumeDirectoryStore {
  readonly root: string;
  private readonly disks: VolumeDisks;

  constructor(root: string, disks: VolumeDisks) {
    this.root = root;
    this.disks = disks;
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  diskOf(name: string): DiskRef {
    return this.disks.volumeDisk(join(this.root, name));
  }

  exists(name: string): boolean {
    return existsSync(join(this.root, name, RECORD));
  }

  /**
   * Creates the volume: the disk store makes its disk in the staging directory, then the record is
   * written and the directory renamed into place.
   */
  async create(record: VolumeRecord): Promise<void> {
    const staging = join(this.root, `.creating-${randomBytes(8).toString('hex')}`);
    mkdirSync(staging, { mode: 0o700 });
    try {
      await this.disks.createVolumeDisk(staging, record.sizeBytes);
      writeJsonAtomic(join(staging, RECORD), record);
      renameSync(staging, join(this.root, record.name));
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      throw err;
    }
  }

  remove(name: string): void {
    const dir = join(this.root, name);
    if (!existsSync(dir)) return;
    const doomed = join(this.root, `.removing-${name}`);
    renameSync(dir, doomed);
    rmSync(doomed, { recursive: true, force: true });
  }

  /** Bytes the disk really takes (it is sparse). */
  allocatedBytes(name: string): number {
    return this.disks.allocatedBytes(this.diskOf(name));
  }

  /** Every complete volume; leftovers of interrupted creates and removals are deleted. */
  load(): VolumeRecord[] {
    const out: VolumeRecord[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.root, entry.name);
      if (entry.name.startsWith('.') || !existsSync(join(dir, RECORD)) || !this.disks.exists(this.disks.volumeDisk(dir))) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      out.push(readJson<VolumeRecord>(join(dir, RECORD)));
    }
    return out;
  }
}
