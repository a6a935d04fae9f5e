// networks/<id>.json in the datastore, one file per network, each write atomic; and
// networks/ports/<container id>.json, the ports a running container has published (so that an engine
// restarted under running containers publishes the same host ports again).
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from '../atomic-file.ts';
import type { NetworkRecord, PortBinding } from './model.ts';

export class NetworkStore {
  readonly root: string;
  private readonly portsDir: string;

  constructor(root: string) {
    this.root = root;
    this.portsDir = join(root, 'ports');
    mkdirSync(this.portsDir, { recursive: true, mode: 0o700 });
  }

  load(): NetworkRecord[] {
    return readdirSync(this.root)
      .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
      .map((f) => readJson<NetworkRecord>(join(this.root, f)));
  }

  save(net: NetworkRecord): void {
    writeJsonAtomic(join(this.root, `${net.id}.json`), net);
  }

  remove(id: string): void {
    rmSync(join(this.root, `${id}.json`), { force: true });
  }

  loadPorts(containerId: string): PortBinding[] {
    const path = join(this.portsDir, `${containerId}.json`);
    return existsSync(path) ? readJson<PortBinding[]>(path) : [];
  }

  savePorts(containerId: string, bindings: PortBinding[]): void {
    writeJsonAtomic(join(this.portsDir, `${containerId}.json`), bindings);
  }

  removePorts(containerId: string): void {
    rmSync(join(this.portsDir, `${containerId}.json`), { force: true });
  }
}
