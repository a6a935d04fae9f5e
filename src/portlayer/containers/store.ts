// The containers' directories in the datastore: containers/<id>/{config.json,state.json,…}. Every
// write is atomic; a directory without a config.json is an unfinished create and is removed at load.
import { mkdirSync, readdirSync, rmSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic, readJson } from '../atomic-file.ts';
import type { ContainerRecord, ContainerState } from './model.ts';

const CONFIG = 'config.json';
const STATE = 'state.json';

export class ContainerDirectoryStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  dirOf(id: string): string {
    return join(this.root, id);
  }

  createDir(id: string): string {
    const dir = this.dirOf(id);
    mkdirSync(dir, { recursive: false, mode: 0o700 });
    return dir;
  }

  saveRecord(record: ContainerRecord): void {
    writeJsonAtomic(join(this.dirOf(record.id), CONFIG), record);
  }

  saveState(id: string, state: ContainerState): void {
    writeJsonAtomic(join(this.dirOf(id), STATE), state);
  }

  /** Removing starts with a rename, so a crash halfway leaves a directory load() recognises as garbage. */
  remove(id: string): void {
    const dir = this.dirOf(id);
    if (!existsSync(dir)) return;
    const doomed = join(this.root, `.removing-${id}`);
    renameSync(dir, doomed);
    rmSync(doomed, { recursive: true, force: true });
  }

  /** Every complete container; leftovers of interrupted creates and removals are deleted. */
  load(): Array<{ record: ContainerRecord; state: ContainerState }> {
    const out: Array<{ record: ContainerRecord; state: ContainerState }> = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.root, entry.name);
      if (entry.name.startsWith('.removing-') || !existsSync(join(dir, CONFIG)) || !existsSync(join(dir, STATE))) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      out.push({ record: readJson<ContainerRecord>(join(dir, CONFIG)), state: readJson<ContainerState>(join(dir, STATE)) });
    }
    return out;
  }
}
