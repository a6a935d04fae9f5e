// The volumes' directories in the datastore: volumes/<name>/{disk.ext4,volume.json}. A volume is made
// in a `.creating-…` directory and renamed into place once its disk and record are written, so a
// half-created volume is never listed; removal renames to `.removing-…` first. load() deletes both
// kinds of leftovers, as the container store does.
import { mkdirSync, readdirSync, rmSync, existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeJsonAtomic, readJson } from '../atomic-file.ts';
import type { VolumeRecord } from './model.ts';

const RECORD = 'volume.json';
const DISK = 'disk.ext4';

export class VolumeDirectoryStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  diskOf(name: string): string {
    return join(this.root, name, DISK);
  }

  exists(name: string): boolean {
    return existsSync(join(this.root, name, RECORD));
  }

  /**
   * Creates the volume: `makeDisk` writes the disk at the path it is given (in the staging directory),
   * then the record is written and the directory renamed into place.
   */
  async create(record: VolumeRecord, makeDisk: (path: string) => Promise<void>): Promise<void> {
    const staging = join(this.root, `.creating-${randomBytes(8).toString('hex')}`);
    mkdirSync(staging, { mode: 0o700 });
    try {
      await makeDisk(join(staging, DISK));
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
    try {
      return statSync(this.diskOf(name)).blocks * 512;
    } catch {
      return 0;
    }
  }

  /** Every complete volume; leftovers of interrupted creates and removals are deleted. */
  load(): VolumeRecord[] {
    const out: VolumeRecord[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.root, entry.name);
      if (entry.name.startsWith('.') || !existsSync(join(dir, RECORD)) || !existsSync(join(dir, DISK))) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      out.push(readJson<VolumeRecord>(join(dir, RECORD)));
    }
    return out;
  }
}
