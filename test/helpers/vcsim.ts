// Starts the govmomi simulator (build/vcsim/vcsim, from scripts/build-vcsim.sh) on a free loopback
// port with TLS and stops it. Its inventory: datacenter DC0, cluster DC0_C0 of 3 hosts, standalone
// host DC0_H0, datastores LocalDS_0/1, DVS DVS0 with port groups DC0_DVPG0/1, one VM per pool.
// Its datastores are directories it makes under $TMPDIR: each simulator gets a temporary directory of
// its own as TMPDIR, removed when it stops, so what tests wrote to datastores goes with it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';

const root = path.resolve(import.meta.dirname, '..', '..');
export const vcsimBinary = path.join(root, 'build', 'vcsim', 'vcsim');
export const inventoryBinary = path.join(root, 'build', 'vcsim', 'vsphere-inventory');

export interface VcsimInfo {
  url: string;
  thumbprintSha1: string;
  thumbprintSha256: string;
  username: string;
  password: string;
}

export class Vcsim {
  readonly info: VcsimInfo;
  readonly proc: ChildProcess;
  /** The simulator's TMPDIR: its datastores' directories are in it. */
  readonly tmp: string;

  private constructor(info: VcsimInfo, proc: ChildProcess, tmp: string) {
    this.info = info;
    this.proc = proc;
    this.tmp = tmp;
  }

  static async start(args: string[] = []): Promise<Vcsim> {
    if (!existsSync(vcsimBinary)) throw new Error(`${vcsimBinary} is missing: run bash scripts/build-vcsim.sh`);
    const tmp = mkdtempSync(path.join(tmpdir(), 'bv-vcsim-'));
    const proc = spawn(vcsimBinary, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    let stderr = '';
    proc.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
    });
    const lines = createInterface({ input: proc.stdout! });
    const info = await new Promise<VcsimInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`vcsim did not start in 60 s: ${stderr}`)), 60_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as VcsimInfo);
        } catch (err) {
          reject(err);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`vcsim exited (${code}) before serving: ${stderr}`));
      });
    }).catch((err) => {
      proc.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    });
    lines.close();
    proc.stdout!.resume();
    return new Vcsim(info, proc, tmp);
  }

  /** The SDK URL with the credentials in it, as govmomi tools take it. */
  get urlWithCredentials(): string {
    const u = new URL(this.info.url);
    u.username = this.info.username;
    u.password = this.info.password;
    return u.toString();
  }

  /** The inventory as govmomi's own client reads it (tools/vsphere-inventory). */
  async inventory(): Promise<Inventory> {
    const { stdout } = await promisify(execFile)(inventoryBinary, ['-u', this.urlWithCredentials], { maxBuffer: 64 << 20 });
    return JSON.parse(stdout) as Inventory;
  }

  /** Stops the simulator and removes its datastores' directories. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((resolve) => this.proc.once('exit', resolve));
      this.proc.stdin!.end();
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

export interface InventoryDevice {
  key: number;
  type: string;
  label?: string;
  backing?: string;
  file?: string;
  parent?: string;
  uri?: string;
  direction?: string;
  portgroupKey?: string;
  capacityInKB?: number;
}

export interface Inventory {
  vms: { ref: string; name: string; powerState: string; resourcePool?: string; folder?: string; numCPU: number; memoryMB: number; devices: InventoryDevice[]; extraConfig: Record<string, string> }[];
  pools: { ref: string; name: string; parent?: string; cpu: { limit: number; reservation: number; shares: number; level: string }; memory: { limit: number; reservation: number; shares: number; level: string } }[];
  portgroups: { ref: string; name: string; parent?: string; key?: string }[];
  folders: { ref: string; name: string; parent?: string }[];
}
