// Container lifecycle as the port layer sees it: create, start, stop, kill, remove, wait — each step a
// state change saved before it is acknowledged, so that an engine restart finds what the user last saw.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Backend, ExitStatus, VmHandle, VmUsage, VmVolume } from '../backend.ts';
import { ProcessStartError } from '../backend.ts';
import type { ImageStore } from '../images/types.ts';
import { PortLayerError, conflict, invalid, notFound, notModified } from '../errors.ts';
import { parseSignal, SIGKILL } from '../signals.ts';
import { generateName, validateName } from './names.ts';
import { ContainerDirectoryStore } from './store.ts';
import { initialState, ZERO_TIME } from './model.ts';
import type { ContainerRecord, ContainerSpec, ContainerState, ContainerView } from './model.ts';
import { PendingStdin } from './pending-stdin.ts';
import type { EventLog } from '../events.ts';
import type { ContainerMount, VolumeAttacher } from '../volumes/model.ts';
import { mountRequests, refuseSharedWriters } from './mounts.ts';
import type { ContainerNetworking } from '../networks/attachment.ts';
import { nextDelayMs, shouldRestart, startsWithEngine } from './restart-policy.ts';
import { HealthMonitor, startingHealth } from './health.ts';

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

const WRITABLE_DISK_BYTES = 8 * 1024 ** 3;
const KILL_GRACE_MS = 5000;

interface LiveContainer {
  record: ContainerRecord;
  state: ContainerState;
  dir: string;
  vm?: VmHandle;
  /** Set while a start is booting the VM: a second start or a remove must wait for it. */
  starting?: Promise<void>;
  stdin: PendingStdin;
  /** Pending start by the restart policy (state.restarting is set meanwhile). */
  restartTimer?: NodeJS.Timeout;
  /** The backoff before the last policy restart; 0 after a user's start. In memory only, as in dockerd. */
  restartDelayMs: number;
  /** The healthcheck's probe loop while the process runs. */
  health?: HealthMonitor;
  /** Set while `docker cp` works on the stopped container's disks from the host: a start waits for it. */
  filesBusy?: Promise<void>;
}

/** How to reach a container's files (withFiles): its running VM, or its disks while it is stopped. */
export type FilesAccess =
  | { vm: VmHandle; record: ContainerRecord }
  | { vm?: undefined; record: ContainerRecord; layerDisks: string[]; writableDisk: string };

export interface ContainerServiceOptions {
  root: string;
  backend: Backend;
  images: ImageStore;
  defaultMemoryMiB: number;
  defaultCpus: number;
  /** Seconds between the stop signal and the kill, when neither the request nor the container says. */
  defaultStopTimeout: number;
  events: EventLog;
  /** Absent: containers cannot have volumes. */
  volumes?: VolumeAttacher;
  /** Absent: containers have loopback only. */
  networking?: ContainerNetworking;
}

export class ContainerService {
  private readonly store: ContainerDirectoryStore;
  private readonly backend: Backend;
  private readonly images: ImageStore;
  private readonly options: ContainerServiceOptions;
  private readonly live = new Map<string, LiveContainer>();
  /** 'exit' (id, ExitStatus), 'removed' (id), 'start' (id): what waiters and event streams listen to. */
  readonly events = new EventEmitter();

  constructor(options: ContainerServiceOptions) {
    this.options = options;
    this.store = new ContainerDirectoryStore(options.root);
    this.backend = options.backend;
    this.images = options.images;
    this.events.setMaxListeners(0);
  }

  /** Rebuilds the view from the datastore, re-adopting VMs that kept running while no engine did. */
  async recover(): Promise<void> {
    for (const { record, state } of this.store.load()) {
      // A backoff the last engine was in is over: startPerPolicy decides afresh.
      const entry: LiveContainer = { record, state: { ...state, restarting: false }, dir: this.store.dirOf(record.id), stdin: new PendingStdin(), restartDelayMs: 0 };
      this.live.set(record.id, entry);
      const vm = await this.backend.adopt(record.id, entry.dir);
      if (state.status === 'removing') {
        // A removal the last engine did not finish: finish it.
        if (vm) await vm.kill();
        this.removeNow(entry);
      } else if (state.status !== 'running') {
        // A VM whose start the last engine never recorded (it died mid-boot): nobody asked for it.
        if (vm) await vm.kill();
        this.options.networking?.stopped(record.id);
      } else if (vm) {
        // A pause outlives the engine: the hypervisor's word counts, not what was saved.
        const paused = await vm.isPaused().catch(() => false);
        if (paused !== (state.paused === true)) {
          entry.state = { ...entry.state, paused };
          this.store.saveState(record.id, entry.state);
        }
        this.watch(entry, vm);
        await this.options.networking?.resumed(record);
      } else {
        const exit = (await this.backend.lastRecordedExit(entry.dir)) ?? { code: 255, error: 'container VM ended while the engine was down' };
        this.recordExit(entry, exit);
      }
    }
  }

  list(): ContainerView[] {
    return [...this.live.values()].map(view);
  }

  /** By full id, unique id prefix, or name (with or without the leading slash). */
  get(ref: string): ContainerView {
    return view(this.find(ref));
  }

  async create(spec: ContainerSpec): Promise<ContainerView> {
    const image = this.images.resolve(spec.imageReference);
    if (!image) throw notFound(`No such image: ${spec.imageReference}`);
    const name = spec.name ? validateName(spec.name) : generateName((n) => this.byName(n) !== undefined);
    this.refuseTakenName(name);
    if (spec.process.argv.length === 0) throw invalid('no command specified');
    const id = randomBytes(32).toString('hex');
    // Volumes first (they may be created now); held until the record naming them is saved.
    const attached = await this.attachVolumes(spec);
    const record: ContainerRecord = {
      id,
      created: new Date().toISOString(),
      imageId: image.id,
      layerDisks: image.layers.map((l) => l.diskPath),
      ...(attached.mounts.length > 0 ? { mounts: attached.mounts } : {}),
      spec: { ...spec, name, hostname: spec.hostname || id.slice(0, 12) },
    };
    let dir: string | undefined;
    let entry: LiveContainer;
    try {
      this.refuseTakenName(name);
      dir = this.store.createDir(id);
      entry = { record, state: initialState(), dir, stdin: new PendingStdin(), restartDelayMs: 0 };
      await this.backend.createWritableDisk(this.writableDisk(entry), WRITABLE_DISK_BYTES);
      this.store.saveState(id, entry.state);
      this.store.saveRecord(record);
      // After the record, and visible: the networks' endpoints name a container that exists, and
      // peers' /etc/hosts list it by name (recovery drops endpoints of containers that do not).
      if (this.options.networking) {
        this.live.set(id, entry);
        await this.options.networking.created(record);
      }
    } catch (err) {
      this.live.delete(id);
      if (dir) this.store.remove(id);
      attached.release();
      this.options.volumes?.removeAnonymousIfUnused(attached.mounts.filter((m) => m.anonymous).map((m) => m.volume));
      throw err;
    }
    attached.release();
    this.live.set(id, entry);
    this.announce(entry, 'create');
    return view(entry);
  }

  /** Records a lifecycle event with the attributes docker events shows (image, name, labels …). */
  private announce(entry: LiveContainer, action: string, extra: Record<string, string> = {}): void {
    const spec = entry.record.spec;
    this.options.events.record('container', action, entry.record.id, { ...spec.labels, image: spec.imageReference, name: spec.name, ...extra });
  }

  async start(ref: string): Promise<void> {
    const entry = this.find(ref);
    if (entry.starting) return entry.starting;
    if (entry.state.status === 'running') throw notModified();
    if (entry.state.status === 'removing') throw conflict(`container ${entry.record.id} is marked for removal and cannot be started`);
    // The user's start: a pending policy restart is replaced, and the policy counts from zero again.
    this.cancelRestart(entry);
    entry.state = { ...entry.state, manuallyStopped: false, restartCount: 0 };
    entry.restartDelayMs = 0;
    return this.launch(entry);
  }

  /** At engine start, as dockerd does: starts the stopped containers their restart policy wants running. */
  async startPerPolicy(): Promise<void> {
    const due = [...this.live.values()].filter((e) => !e.vm && !e.starting && e.state.status !== 'removing' && startsWithEngine(e.record.spec.restartPolicy, {
      everStarted: e.state.startedAt !== ZERO_TIME,
      exitCode: e.state.exitCode,
      restartCount: e.state.restartCount,
      manuallyStopped: e.state.manuallyStopped === true,
    }));
    // A start that fails is recorded as the container's exit, like any other.
    await Promise.all(due.map((e) => this.launch(e).catch(() => undefined)));
  }

  private async launch(entry: LiveContainer): Promise<void> {
    // The host may be writing the disks (docker cp into a stopped container): boot once it is done.
    while (entry.filesBusy) await entry.filesBusy;
    if (entry.starting) return entry.starting;
    const active = [...this.live.values()].filter((e) => e !== entry && (e.vm || e.starting));
    try {
      refuseSharedWriters(entry.record.spec.name, entry.record.mounts ?? [], active.map((e) => ({ name: e.record.spec.name, mounts: e.record.mounts ?? [] })));
    } catch (err) {
      // As for any failed start: a container meant to go away when it ends does not linger.
      if (entry.record.spec.autoRemove) this.removeNow(entry, true);
      throw err;
    }
    entry.starting = this.boot(entry).finally(() => { entry.starting = undefined; });
    return entry.starting;
  }

  private async boot(entry: LiveContainer): Promise<void> {
    const { record } = entry;
    const spec = record.spec;
    let vm: VmHandle;
    try {
      const net = await this.options.networking?.beforeStart(record);
      vm = await this.backend.boot({
        id: record.id,
        dir: entry.dir,
        hostname: spec.hostname,
        domainname: spec.domainname,
        layerDisks: record.layerDisks,
        writableDisk: this.writableDisk(entry),
        process: spec.process,
        ...this.shapeOf(spec),
        volumes: this.volumeDisks(record),
        nics: net?.nics,
        hosts: net?.hosts,
      });
    } catch (err) {
      this.options.networking?.stopped(record.id);
      const startError = err instanceof ProcessStartError;
      const message = err instanceof Error ? err.message : String(err);
      this.recordExit(entry, { code: startError ? err.code : 128, error: message });
      if (spec.autoRemove) this.removeNow(entry, true);
      throw new PortLayerError(startError && err.code !== 125 ? 'InvalidParameter' : 'System', message, { cause: err });
    }
    entry.state = {
      ...entry.state,
      status: 'running',
      pid: vm.pid,
      exitCode: 0,
      error: '',
      startedAt: new Date().toISOString(),
      finishedAt: entry.state.finishedAt,
      paused: false,
      restarting: false,
      // Every start is judged afresh, as in dockerd.
      health: spec.healthcheck ? startingHealth() : undefined,
    };
    this.store.saveState(record.id, entry.state);
    this.watch(entry, vm);
    this.options.networking?.started(record.id);
    this.announce(entry, 'start');
    this.events.emit('start', record.id);
  }

  private watch(entry: LiveContainer, vm: VmHandle): void {
    entry.vm = vm;
    entry.stdin.attach(vm);
    this.watchHealth(entry);
    vm.exited.then((exit) => {
      entry.vm = undefined;
      entry.stdin.detach();
      this.options.networking?.stopped(entry.record.id);
      this.recordExit(entry, exit);
      if (entry.record.spec.autoRemove) this.removeNow(entry, true);
      else this.restartPerPolicy(entry);
    });
  }

  /** Runs the container's healthcheck while its VM does; each verdict is saved, each change announced. */
  private watchHealth(entry: LiveContainer): void {
    const spec = entry.record.spec.healthcheck;
    if (!spec) return;
    entry.health?.stop();
    entry.health = new HealthMonitor({
      spec,
      startedAtMs: Date.parse(entry.state.startedAt),
      // A frozen guest cannot answer; the probe waits for the thaw rather than counting as a failure.
      probeVm: () => (entry.state.paused ? undefined : entry.vm),
      current: () => entry.state.health ?? startingHealth(),
      update: (health, changed) => {
        if (!entry.vm || !this.live.has(entry.record.id)) return;
        entry.state = { ...entry.state, health };
        this.store.saveState(entry.record.id, entry.state);
        if (changed) this.announce(entry, `health_status: ${health.status}`);
      },
    });
  }

  /** After an exit the user did not ask for: start again after the backoff, if the policy says so. */
  private restartPerPolicy(entry: LiveContainer): void {
    const { state } = entry;
    if (state.status !== 'exited' || !this.live.has(entry.record.id)) return;
    const wanted = shouldRestart(entry.record.spec.restartPolicy, {
      exitCode: state.exitCode,
      restartCount: state.restartCount,
      manuallyStopped: state.manuallyStopped === true,
    });
    if (!wanted) return;
    const delay = nextDelayMs({ ranMs: Date.parse(state.finishedAt) - Date.parse(state.startedAt), previousDelayMs: entry.restartDelayMs });
    entry.restartDelayMs = delay;
    // Counted when decided, as dockerd does: inspect during the backoff shows the restart coming.
    entry.state = { ...state, restarting: true, restartCount: state.restartCount + 1 };
    this.store.saveState(entry.record.id, entry.state);
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      if (!entry.state.restarting || !this.live.has(entry.record.id)) return;
      // A restart that fails ends the loop (a failed boot is recorded as an exit), as in dockerd.
      this.launch(entry).catch(() => {
        if (!entry.state.restarting || !this.live.has(entry.record.id)) return;
        this.cancelRestart(entry);
        this.store.saveState(entry.record.id, entry.state);
      });
    }, delay);
  }

  /** Drops a pending policy restart (the caller saves the state). */
  private cancelRestart(entry: LiveContainer): void {
    clearTimeout(entry.restartTimer);
    entry.restartTimer = undefined;
    if (entry.state.restarting) entry.state = { ...entry.state, restarting: false };
  }

  /** `docker pause`: the VM's CPUs stop; its process, memory and connections stay. */
  async pause(ref: string): Promise<void> {
    const entry = this.find(ref);
    if (entry.starting) await entry.starting.catch(() => undefined);
    const vm = entry.vm;
    if (!vm) throw conflict(`Container ${entry.record.id} is not running`);
    if (entry.state.paused) throw conflict(`Container ${entry.record.id} is already paused`);
    await vm.pause();
    entry.state = { ...entry.state, paused: true };
    this.store.saveState(entry.record.id, entry.state);
    this.announce(entry, 'pause');
  }

  async unpause(ref: string): Promise<void> {
    const entry = this.find(ref);
    const vm = entry.vm;
    if (!vm || !entry.state.paused) throw conflict(`Container ${entry.record.id} is not paused`);
    await vm.resume();
    entry.state = { ...entry.state, paused: false };
    this.store.saveState(entry.record.id, entry.state);
    this.announce(entry, 'unpause');
  }

  /** A signal sent to a paused container waits in the channel; thawing the VM lets it arrive (as dockerd does). */
  private async thawForSignal(entry: LiveContainer, vm: VmHandle): Promise<void> {
    if (!entry.state.paused) return;
    await vm.resume().catch(() => undefined);
    entry.state = { ...entry.state, paused: false };
    if (this.live.has(entry.record.id)) this.store.saveState(entry.record.id, entry.state);
  }

  /** The user ended the container: restart policies hold off until the user starts it again. */
  private markStoppedByUser(entry: LiveContainer): void {
    this.cancelRestart(entry);
    entry.state = { ...entry.state, manuallyStopped: true };
    if (this.live.has(entry.record.id)) this.store.saveState(entry.record.id, entry.state);
  }

  private recordExit(entry: LiveContainer, exit: ExitStatus): void {
    entry.health?.stop();
    entry.health = undefined;
    entry.state = {
      ...entry.state,
      paused: false,
      restarting: false,
      status: entry.state.status === 'removing' ? 'removing' : 'exited',
      pid: 0,
      exitCode: exit.code,
      error: exit.error ?? '',
      finishedAt: new Date().toISOString(),
    };
    if (this.live.has(entry.record.id)) this.store.saveState(entry.record.id, entry.state);
    this.announce(entry, 'die', { exitCode: String(exit.code) });
    this.events.emit('exit', entry.record.id, exit);
  }

  /** Sends the stop signal, then SIGKILL after the timeout (seconds; negative waits for ever). */
  async stop(ref: string, options: { timeout?: number; signal?: string } = {}): Promise<void> {
    const entry = this.find(ref);
    if (entry.starting) await entry.starting.catch(() => undefined);
    const vm = entry.vm;
    if (!vm) {
      // Stopping a container in its restart backoff means: no restart.
      if (!entry.state.restarting) throw notModified();
      this.markStoppedByUser(entry);
      this.announce(entry, 'stop');
      return;
    }
    this.markStoppedByUser(entry);
    const spec = entry.record.spec;
    const timeout = options.timeout ?? spec.stopTimeout ?? this.options.defaultStopTimeout;
    const signo = parseSignal(options.signal || spec.stopSignal || 'SIGTERM');
    this.announce(entry, 'kill', { signal: String(signo) });
    vm.signal(signo);
    await this.thawForSignal(entry, vm);
    if (timeout < 0) {
      await vm.exited;
    } else if (!(await settlesWithin(vm.exited, timeout * 1000))) {
      this.announce(entry, 'kill', { signal: String(SIGKILL) });
      await this.killVm(vm, entry);
    }
    this.announce(entry, 'stop');
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const entry = this.find(ref);
    const signo = parseSignal(signal);
    if (entry.starting) await entry.starting.catch(() => undefined);
    const vm = entry.vm;
    const ending = signo === SIGKILL || signo === stopSignalOf(entry.record.spec);
    if (!vm) {
      if (!entry.state.restarting) throw conflict(`Cannot kill container: ${ref}: container ${entry.record.id} is not running`);
      // In its restart backoff: there is no process to signal, only the restart to call off.
      if (ending) this.markStoppedByUser(entry);
      return;
    }
    // A signal meant to end the process is the user stopping it (not, say, a SIGHUP to reload).
    if (ending) this.markStoppedByUser(entry);
    this.announce(entry, 'kill', { signal: String(signo) });
    if (signo === SIGKILL) {
      await this.killVm(vm, entry);
    } else {
      vm.signal(signo);
      await this.thawForSignal(entry, vm);
    }
  }

  /** SIGKILL through the guest, then the VM itself if the guest does not answer in time. */
  private async killVm(vm: VmHandle, entry: LiveContainer): Promise<void> {
    vm.signal(SIGKILL);
    await this.thawForSignal(entry, vm);
    if (await settlesWithin(vm.exited, KILL_GRACE_MS)) return;
    await vm.kill();
    await vm.exited;
  }

  /** `volumes`: also remove the container's anonymous volumes that nothing else uses (`docker rm -v`). */
  async remove(ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const entry = this.find(ref);
    if (entry.state.status === 'removing') throw conflict(`removal of container ${entry.record.id} is already in progress`);
    if ((entry.vm || entry.starting || entry.state.restarting) && !options.force) {
      const what = entry.state.restarting ? 'restarting' : entry.state.paused ? 'paused' : 'running';
      throw conflict(`cannot remove container "/${entry.record.spec.name}": container is ${what}: stop the container before removing or force remove`);
    }
    this.cancelRestart(entry);
    entry.state = { ...entry.state, status: 'removing' };
    this.store.saveState(entry.record.id, entry.state);
    if (entry.starting) await entry.starting.catch(() => undefined);
    while (entry.filesBusy) await entry.filesBusy;
    const vm = entry.vm;
    if (vm) {
      await vm.kill();
      await vm.exited;
    }
    this.removeNow(entry, options.volumes === true);
  }

  private removeNow(entry: LiveContainer, removeVolumes = false): void {
    this.cancelRestart(entry);
    entry.health?.stop();
    if (!this.live.delete(entry.record.id)) return;
    this.store.remove(entry.record.id);
    this.options.networking?.removed(entry.record.id);
    this.announce(entry, 'destroy');
    this.events.emit('removed', entry.record.id);
    // After the container is gone, so that it no longer counts as a user.
    if (removeVolumes) this.options.volumes?.removeAnonymousIfUnused((entry.record.mounts ?? []).filter((m) => m.anonymous).map((m) => m.volume));
  }

  /** Which containers (any state) mount volume `name`: what makes a volume "in use". */
  containersUsingVolume(name: string): string[] {
    return [...this.live.values()].filter((e) => e.record.mounts?.some((m) => m.volume === name)).map((e) => e.record.id);
  }

  private async attachVolumes(spec: ContainerSpec): Promise<{ mounts: ContainerMount[]; release(): void }> {
    const inherited = (spec.volumesFrom ?? []).map((v) => ({ source: this.find(v.container).record, readOnly: v.readOnly }));
    const requests = mountRequests(spec.mounts ?? [], inherited);
    if (requests.length === 0) return { mounts: [], release: () => undefined };
    if (!this.options.volumes) throw invalid('this VCH has no volume store');
    return this.options.volumes.attach(requests);
  }

  private volumeDisks(record: ContainerRecord): VmVolume[] {
    return (record.mounts ?? []).map((m) => ({ disk: this.options.volumes!.diskOf(m.volume), target: m.target, readOnly: m.readOnly, copyUp: m.copyUp }));
  }

  /** Resolves with the exit status per Docker's wait conditions. */
  wait(ref: string, condition: WaitCondition = 'not-running'): Promise<ExitStatus> {
    const entry = this.find(ref);
    const id = entry.record.id;
    const running = () => entry.vm !== undefined || entry.starting !== undefined;
    if (condition === 'not-running' && !running()) return Promise.resolve(statusOf(entry));
    return new Promise((resolve) => {
      let last: ExitStatus = statusOf(entry);
      const onExit = (exitedId: string, exit: ExitStatus) => {
        if (exitedId !== id) return;
        last = exit;
        if (condition !== 'removed') finish();
      };
      const onRemoved = (removedId: string) => {
        if (removedId === id) finish();
      };
      const finish = () => {
        this.events.off('exit', onExit);
        this.events.off('removed', onRemoved);
        resolve(last);
      };
      this.events.on('exit', onExit);
      this.events.on('removed', onRemoved);
    });
  }

  rename(ref: string, newName: string): void {
    const entry = this.find(ref);
    const name = validateName(newName);
    if (name === entry.record.spec.name) return;
    this.refuseTakenName(name);
    const oldName = entry.record.spec.name;
    entry.record = { ...entry.record, spec: { ...entry.record.spec, name } };
    this.store.saveRecord(entry.record);
    this.options.networking?.renamed(entry.record.id);
    this.announce(entry, 'rename', { oldName: `/${oldName}` });
  }

  resize(ref: string, rows: number, cols: number): void {
    const entry = this.find(ref);
    if (!entry.vm) throw conflict(`Container ${entry.record.id} is not running`);
    entry.vm.resize(rows, cols);
  }

  /** The container's stdin: bytes written before the process starts are kept and delivered at start. */
  stdinOf(ref: string): PendingStdin {
    return this.find(ref).stdin;
  }

  /** The VM to run an exec in: a paused one would not answer, so Docker refuses. */
  vmForExec(ref: string): { id: string; vm: VmHandle } {
    const entry = this.find(ref);
    if (entry.vm && entry.state.paused) throw conflict(`Container ${entry.record.id} is paused, unpause the container before exec`);
    return this.runningVm(ref);
  }

  /** The running container's VM, for work inside it (exec). */
  runningVm(ref: string): { id: string; vm: VmHandle } {
    const entry = this.find(ref);
    if (!entry.vm) throw conflict(`container ${entry.record.id} is not running`);
    return { id: entry.record.id, vm: entry.vm };
  }

  /** The size of the container's VM: what it asked for, else the VCH's defaults. */
  vmShape(ref: string): { memoryMiB: number; cpus: number } {
    return this.shapeOf(this.find(ref).record.spec);
  }

  private shapeOf(spec: ContainerSpec): { memoryMiB: number; cpus: number } {
    return {
      memoryMiB: spec.memoryBytes > 0 ? Math.ceil(spec.memoryBytes / 1024 ** 2) : this.options.defaultMemoryMiB,
      cpus: spec.cpus > 0 ? Math.ceil(spec.cpus) : this.options.defaultCpus,
    };
  }

  /**
   * Work on the container's files (`docker cp`): through its VM while it runs; else on its disks from
   * the host, one such user at a time, and no start begins until `use` settles (it waits).
   */
  async withFiles<T>(ref: string, use: (access: FilesAccess) => Promise<T>): Promise<T> {
    const entry = this.find(ref);
    if (entry.starting) await entry.starting.catch(() => undefined);
    if (entry.vm) {
      // A frozen guest cannot answer.
      if (entry.state.paused) throw conflict(`Container ${entry.record.id} is paused, unpause the container before copying files`);
      return use({ vm: entry.vm, record: entry.record });
    }
    const previous = entry.filesBusy;
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    const held = (previous ?? Promise.resolve()).then(() => mine);
    entry.filesBusy = held;
    try {
      await previous;
      if (entry.state.status === 'removing' || !this.live.has(entry.record.id)) throw notFound(`No such container: ${ref}`);
      return await use({ record: entry.record, layerDisks: entry.record.layerDisks, writableDisk: this.writableDisk(entry) });
    } finally {
      release();
      if (entry.filesBusy === held) entry.filesBusy = undefined;
    }
  }

  /** The disks that make up the container's filesystem, and whether a VM may be writing them now. */
  filesystemOf(ref: string): { layerDisks: string[]; writableDisk: string; active: boolean } {
    const entry = this.find(ref);
    return { layerDisks: entry.record.layerDisks, writableDisk: this.writableDisk(entry), active: entry.vm !== undefined || entry.starting !== undefined };
  }

  /** What the container's VM costs now, and its memory limit; undefined when it is not running. */
  usage(ref: string): { usage: VmUsage; limitBytes: number } | undefined {
    const entry = this.find(ref);
    if (!entry.vm) return undefined;
    const spec = entry.record.spec;
    return { usage: entry.vm.usage(), limitBytes: this.shapeOf(spec).memoryMiB * 1024 ** 2 };
  }

  /** Whether the container's process is running now (or its VM is booting). */
  isActive(ref: string): boolean {
    const entry = this.find(ref);
    return entry.vm !== undefined || entry.starting !== undefined;
  }

  private writableDisk(entry: LiveContainer): string {
    return join(entry.dir, 'rw.ext4');
  }

  private refuseTakenName(name: string): void {
    const holder = this.byName(name);
    if (holder) {
      throw conflict(`Conflict. The container name "/${name}" is already in use by container "${holder.record.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
  }

  private byName(name: string): LiveContainer | undefined {
    for (const entry of this.live.values()) if (entry.record.spec.name === name) return entry;
    return undefined;
  }

  private find(ref: string): LiveContainer {
    const exact = this.live.get(ref) ?? this.byName(ref.startsWith('/') ? ref.slice(1) : ref);
    if (exact) return exact;
    const matches = ref.length > 0 && /^[0-9a-f]+$/.test(ref) ? [...this.live.values()].filter((e) => e.record.id.startsWith(ref)) : [];
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw invalid(`multiple IDs found with provided prefix: ${ref}`);
    throw notFound(`No such container: ${ref}`);
  }
}

function view(entry: LiveContainer): ContainerView {
  return { record: entry.record, state: entry.state, dir: entry.dir };
}

function statusOf(entry: LiveContainer): ExitStatus {
  return entry.state.error ? { code: entry.state.exitCode, error: entry.state.error } : { code: entry.state.exitCode };
}

/** The container's stop signal as a number; SIGTERM when it names none this host knows. */
function stopSignalOf(spec: ContainerSpec): number {
  try {
    return parseSignal(spec.stopSignal || 'SIGTERM');
  } catch {
    return parseSignal('SIGTERM');
  }
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(() => { clearTimeout(timer); resolve(true); }, () => { clearTimeout(timer); resolve(true); });
  });
}
