// Standby clones: a few VMs per shape restored from the shape's template ahead of time, resumed until
// their tether answered (waiting for a CONFIG), then paused — so a start takes one, plugs in the
// container's disks, resumes it and hands it the container's config, skipping QEMU's start, the
// restore and the guest's first answer (bench: the spawn, monitor, restore, resume and hello phases).
// Before it pauses, its tether runs a start's kernel paths once on scratch mounts (WARM): under TCG a
// VM's first run of a code path is translated first, and that is most of a container start's cost.
//
// A standby VM may have an image's read-only layer disks plugged in already (those of the shape's
// latest start; they are immutable and content-addressed), so that the guest's handling of their
// hot-plug is done before a start; it is then handed only to a container of exactly those layers.
//
// One VM per container still: a standby VM is handed to exactly one container and never comes back
// (a container's VM is never returned to the pool), and it has no writable disk, no files and no
// network of any container before the hand-over. It is a plain clone otherwise: own QEMU, own guest kernel,
// the template's RAM mapped copy-on-write.
//
// Standby VMs live under <datastore>/standby/<id>/ (standby.json says which process is one). They
// are not containers: nothing lists them. They are killed when the engine stops (close), and what
// a crashed engine left is killed by the next one (sweep) before it makes new ones.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { TetherClient } from '../../tether/client.ts';
import { connectUnixSocket } from '../../tether/connect.ts';
import { restoreClone } from './clone.ts';
import { QmpClient } from './qmp.ts';
import { cloneFamilyArgs } from './template-maker.ts';
import { shapeKey } from './template-store.ts';
import type { ReadyTemplate, TemplateShape } from './template-store.ts';
import { vmFiles, socketNames } from './vm-files.ts';
import type { VmFiles } from './vm-files.ts';
import { isOurVm, killQuietly } from './process-identity.ts';
import { withPrivateUmask } from './private-files.ts';
import { CLONE_WEIGHT, loadFactor } from './boot-admission.ts';
import type { BootAdmission } from './boot-admission.ts';

export interface StandbyVm {
  readonly id: string;
  readonly templateId: string;
  readonly pid: number;
  readonly vmName: string;
  readonly controlSocket: string;
  readonly qmpSocket: string;
  /** Its own directory: the files QEMU writes (log and console ports, its output, pid). */
  readonly files: VmFiles;
  readonly dir: string;
  /** Its NIC's tap, on no bridge until the hand-over; absent without container networks. */
  readonly tap?: string;
  readonly socket: Socket;
  readonly tether: TetherClient;
  /** Fires when QEMU exits. */
  readonly gone: AbortSignal;
  /** Layer disks plugged in already as SCSI targets 0.. (serials l0..), with the file each was. */
  readonly layers: PluggedLayer[];
}

export interface PluggedLayer {
  path: string;
  /** The file's identity when plugged: a layer removed and made again is another file. */
  dev: number;
  ino: number;
}

/** What the pool needs of the host's networking: a tap on no bridge, deleted with its VM. */
export interface StandbyTaps {
  createStandbyTap(vmId: string): Promise<string>;
  releaseTaps(taps: string[]): Promise<void>;
}

export interface StandbyPoolOptions {
  /** <datastore>/standby */
  dir: string;
  /** Standby VMs kept per shape; 0 turns the pool off. */
  size: number;
  qemuBinary: string;
  kernel: string;
  initrd: string;
  accel: 'kvm' | 'tcg';
  tscKhz: number;
  /** Restoring a standby VM takes a boot slot like a clone start, behind the starts already waiting. */
  admission: BootAdmission;
  /** Longest each step (restore, first answer) may take on an idle host; scaled by load. */
  stepTimeoutMs: number;
  taps?: StandbyTaps;
  log?: (message: string) => void;
}

interface StandbyRecord {
  pid: number;
  vmName: string;
  taps: string[];
}

const RECORD = 'standby.json';
/** After three standby clones of a shape failed in a row, its refills wait this long (starts restore their own clones meanwhile). */
const FAILURE_PAUSE_MS = 60_000;

export class StandbyPool {
  private readonly options: StandbyPoolOptions;
  /** Ready VMs per shape key, oldest first. */
  private readonly ready = new Map<string, StandbyVm[]>();
  /** VMs being made per shape key. */
  private readonly making = new Map<string, number>();
  /** Consecutive failures per shape and when the last was: after a few, refills pause for a while. */
  private readonly failures = new Map<string, { count: number; at: number }>();
  private closed = false;
  /** Per shape key, the layer disks of its latest start: what new standby VMs get plugged in. */
  private readonly layerHints = new Map<string, string[]>();
  /** VMs spawned but not ready yet: their process, directory and tap, for close(). */
  private readonly starting = new Map<number, { dir: string; tap?: string }>();

  constructor(options: StandbyPoolOptions) {
    this.options = options;
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  }

  get size(): number {
    return this.options.size;
  }

  /**
   * Kills what an earlier engine left here (it never handed these VMs to a container: a hand-over
   * removes the VM's standby record after the container's own record is written) and removes it.
   */
  async sweep(): Promise<void> {
    for (const id of readdirSync(this.options.dir)) {
      const dir = join(this.options.dir, id);
      const record = readRecord(dir);
      if (record && isOurVm(record.pid, record.vmName)) killQuietly(record.pid);
      if (record) await this.options.taps?.releaseTaps(record.taps);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * A ready standby VM restored from this template for a container with these layer disks, now no
   * longer the pool's; undefined if none. Its plugged layers (`layers`) are exactly the container's
   * first ones, or none. When every ready VM has another image's layers, the oldest is discarded so
   * that the refill makes one for this image. The caller refills (fill) once its start is done, so
   * that refills do not compete with it.
   */
  take(shape: TemplateShape, template: ReadyTemplate, layerDisks: string[]): StandbyVm | undefined {
    const key = shapeKey(shape);
    const list = this.ready.get(key) ?? [];
    for (const vm of [...list]) {
      if (vm.templateId === template.id && !vm.gone.aborted) continue;
      list.splice(list.indexOf(vm), 1);
      void this.discard(vm); // of a template since replaced, or died while waiting
    }
    let at = list.findIndex((vm) => vm.layers.length > 0 && sameLayers(vm.layers, layerDisks));
    if (at < 0) at = list.findIndex((vm) => vm.layers.length === 0);
    if (at >= 0) return list.splice(at, 1)[0];
    const other = list.shift();
    if (other) void this.discard(other);
    return undefined;
  }

  /**
   * Makes VMs in the background until the shape has `size` ready or being made; with `layerDisks`
   * (the layers of the start that took one), new ones get those plugged in.
   */
  fill(shape: TemplateShape, template: ReadyTemplate, layerDisks?: string[]): void {
    const key = shapeKey(shape);
    if (layerDisks) this.layerHints.set(key, layerDisks);
    const failed = this.failures.get(key);
    if (this.closed || this.options.size <= 0 || (failed && failed.count >= 3 && Date.now() - failed.at < FAILURE_PAUSE_MS)) return;
    while ((this.ready.get(key)?.length ?? 0) + (this.making.get(key) ?? 0) < this.options.size) {
      this.making.set(key, (this.making.get(key) ?? 0) + 1);
      const layers = this.layerHints.get(key) ?? [];
      void this.options.admission.run(() => this.make(shape, template, layers), { weight: CLONE_WEIGHT })
        .then((vm) => {
          this.failures.delete(key);
          if (this.closed || vm.gone.aborted) return this.discard(vm);
          const list = this.ready.get(key) ?? [];
          list.push(vm);
          this.ready.set(key, list);
          vm.gone.addEventListener('abort', () => {
            const at = list.indexOf(vm);
            if (at >= 0) list.splice(at, 1);
            void this.discard(vm);
          }, { once: true });
        }, (err: Error) => {
          this.failures.set(key, { count: (this.failures.get(key)?.count ?? 0) + 1, at: Date.now() });
          this.options.log?.(`standby clone of ${key} not made: ${err.message}`);
        })
        .finally(() => this.making.set(key, (this.making.get(key) ?? 1) - 1));
    }
  }

  /** Ready VMs of the shape now (not counting those being made). */
  readyCount(shape: TemplateShape): number {
    return (this.ready.get(shapeKey(shape)) ?? []).filter((vm) => !vm.gone.aborted).length;
  }

  /** For `docker info`: "2 per shape (256m-1c: 2 ready)". */
  describe(): string {
    if (this.options.size <= 0) return 'off';
    const shapes = [...this.ready].map(([key, list]) => `${key}: ${list.length} ready`);
    return `${this.options.size} per shape${shapes.length ? ` (${shapes.join(', ')})` : ''}`;
  }

  /** Kills every standby VM (the engine stops); none is made after this. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.ready.values()].flat();
    this.ready.clear();
    await Promise.all(all.map((vm) => this.discard(vm)));
    // Ones still being made: killed here too (their make() then fails and cleans up, if the engine is still there).
    for (const [pid, { dir, tap }] of this.starting) {
      killQuietly(pid);
      await this.options.taps?.releaseTaps(tap ? [tap] : []);
      rmSync(dir, { recursive: true, force: true });
    }
    this.starting.clear();
  }

  /** Kills a standby VM that was not handed over, and removes its directory and tap. */
  async discard(vm: StandbyVm): Promise<void> {
    vm.socket.destroy();
    killQuietly(vm.pid);
    await this.options.taps?.releaseTaps(vm.tap ? [vm.tap] : []);
    rmSync(vm.dir, { recursive: true, force: true });
  }

  /** The hand-over is done (the container's record names the VM): the pool forgets it for good. */
  handedOver(vm: StandbyVm): void {
    rmSync(vm.dir, { recursive: true, force: true });
  }

  private async make(shape: TemplateShape, template: ReadyTemplate, layerDisks: string[]): Promise<StandbyVm> {
    const id = randomBytes(32).toString('hex');
    const dir = join(this.options.dir, id);
    mkdirSync(dir, { mode: 0o700 });
    const files = vmFiles(dir);
    const sockets = socketNames(id);
    const vmName = `bonneville-standby-${id}`;
    let tap: string | undefined;
    let pid: number | undefined;
    try {
      tap = await this.options.taps?.createStandbyTap(id);
      const args = cloneFamilyArgs({
        name: vmName, kernel: this.options.kernel, initrd: this.options.initrd, accel: this.options.accel, tscKhz: this.options.tscKhz,
        shape, memory: template.memory, shared: false, incoming: true,
        controlSocket: sockets.control, qmpSocket: sockets.qmp, logFile: files.log, consoleFile: files.console, pidFile: files.pid, taps: tap ? [tap] : [],
      });
      const out = openSync(files.qemuOutput, 'a', 0o600);
      let child;
      try {
        const [command, commandArgs] = withPrivateUmask(this.options.qemuBinary, args);
        // Detached like a container's VM: once handed over it must outlive the engine.
        child = spawn(command, commandArgs, { detached: true, stdio: ['ignore', out, out], cwd: dir });
      } finally {
        closeSync(out);
      }
      child.unref();
      pid = child.pid;
      if (!pid) throw new Error(`could not start ${this.options.qemuBinary}`);
      const gone = new AbortController();
      child.once('exit', () => gone.abort());
      writeJsonAtomic(join(dir, RECORD), { pid, vmName, taps: tap ? [tap] : [] } satisfies StandbyRecord);
      this.starting.set(pid, { dir, tap });
      if (this.closed) throw new Error('the engine is stopping');
      const stepMs = Math.round(this.options.stepTimeoutMs * loadFactor());
      // A layer that went away since the hint (its image removed) is no reason to fail: none then.
      const layers = pluggable(layerDisks);
      const disks = layers.map((layer, i) => ({ serial: `l${i}`, path: layer.path, readOnly: true }));
      await restoreClone({ qmpSocket: sockets.qmp, template, disks, timeoutMs: stepMs, signal: gone.signal });
      const socket = await connectUnixSocket(sockets.control, { abstract: true, timeoutMs: stepMs, signal: gone.signal });
      const tether = new TetherClient(socket);
      try {
        const hello = await tether.hello(stepMs);
        if (hello.state !== 'waiting') throw new Error(`standby guest is ${hello.state}, not waiting`);
        // Its kernel paths of a start run once now, while no one waits (tether warm.go).
        const warmed = await tether.warm(stepMs);
        if (warmed.state !== 'waiting') throw new Error(`standby guest is ${warmed.state} after its warm-up, not waiting`);
        // Paused while it waits: no CPU for an idle guest; the hand-over resumes it.
        const qmp = await QmpClient.connect(sockets.qmp, stepMs, gone.signal);
        try {
          await qmp.execute('stop');
        } finally {
          qmp.close();
        }
      } catch (err) {
        socket.destroy();
        throw err;
      }
      this.starting.delete(pid);
      return { id, templateId: template.id, pid, vmName, controlSocket: sockets.control, qmpSocket: sockets.qmp, files, dir, tap, socket, tether, gone: gone.signal, layers };
    } catch (err) {
      if (pid) {
        killQuietly(pid);
        this.starting.delete(pid);
      }
      await this.options.taps?.releaseTaps(tap ? [tap] : []);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

function readRecord(dir: string): StandbyRecord | undefined {
  const path = join(dir, RECORD);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StandbyRecord;
  } catch {
    return undefined;
  }
}

/** The layer files with their identities; none if any of them is missing. */
function pluggable(paths: string[]): PluggedLayer[] {
  try {
    return paths.map((path) => {
      const st = statSync(path);
      return { path, dev: st.dev, ino: st.ino };
    });
  } catch {
    return [];
  }
}

/** Whether the plugged layers are the first of the container's, and still the same files. */
function sameLayers(plugged: PluggedLayer[], layerDisks: string[]): boolean {
  if (plugged.length > layerDisks.length) return false;
  return plugged.every((layer, i) => {
    if (layer.path !== layerDisks[i]) return false;
    try {
      const st = statSync(layer.path);
      return st.dev === layer.dev && st.ino === layer.ino;
    } catch {
      return false;
    }
  });
}
