// Container lifecycle as the port layer sees it: create, start, stop, kill, remove, wait — each step a
// state change saved before it is acknowledged, so that an engine restart finds what the user last saw.
// Each public method is a short recipe; the concerns it draws on live in their own modules.
import { EventEmitter } from 'node:events';
import type { Backend, ExitStatus, VmHandle, VmUsage } from '../backend.ts';
import type { ImageStore } from '../images/types.ts';
import { conflict, notModified } from '../errors.ts';
import { validateName } from './names.ts';
import { ContainerDirectoryStore } from './store.ts';
import type { ContainerSpec, ContainerView } from './model.ts';
import type { PendingStdin } from './pending-stdin.ts';
import type { EventLog } from '../events.ts';
import type { VolumeAttacher } from '../volumes/model.ts';
import type { ContainerNetworking } from '../networks/attachment.ts';
import { isActive, view, writableDiskOf } from './live-container.ts';
import { LiveContainers } from './registry.ts';
import { announcer } from './announce.ts';
import type { HostContext } from './context.ts';
import { dueAtEngineStart, RestartScheduler } from './restart-scheduler.ts';
import { withFiles } from './files-lock.ts';
import type { FilesAccess } from './files-lock.ts';
import { waitFor } from './wait.ts';
import type { WaitCondition } from './wait.ts';
import { shapeOf } from './vm-boot.ts';
import type { VmShape } from './vm-boot.ts';
import { pause, pauseUnsupported, unpause } from './pausing.ts';
import { kill, stop } from './stopping.ts';
import type { StoppingDeps } from './stopping.ts';
import { ContainerVolumes } from './container-volumes.ts';
import { createContainer } from './creation.ts';
import { updateContainer } from './updating.ts';
import type { ContainerUpdate } from './updating.ts';
import { recoverContainers } from './recovery.ts';
import { ContainerRunner } from './runner.ts';
import { ContainerRemoval } from './removal.ts';
import { containerUsage } from './usage.ts';

export type { FilesAccess, WaitCondition };

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
  /** The VCH's memory limit in MiB: starts that would take the VMs' memory past it are refused. */
  memoryLimitMiB?: number;
  /** Diagnostics (the engine's log). */
  log?: (line: string) => void;
}

export class ContainerService {
  private readonly images: ImageStore;
  private readonly options: ContainerServiceOptions;
  private readonly live = new LiveContainers();
  /** The live containers, their store, the announcer, backend, network hooks and volumes: what every step works with. */
  private readonly host: HostContext;
  private readonly restarts: RestartScheduler;
  /** What pause, unpause, stop and kill work with. */
  private readonly signalling: StoppingDeps;
  private readonly removal: ContainerRemoval;
  private readonly runner: ContainerRunner;
  private readonly vmDefaults: VmShape;
  /** 'exit' (id, ExitStatus), 'removed' (id), 'start' (id): what waiters and event streams listen to. */
  readonly events = new EventEmitter();

  constructor(options: ContainerServiceOptions) {
    this.options = options;
    this.images = options.images;
    this.events.setMaxListeners(0);
    this.vmDefaults = { memoryMiB: options.defaultMemoryMiB, cpus: options.defaultCpus };
    const { live, events, vmDefaults } = this;
    const store = new ContainerDirectoryStore(options.root);
    const announce = announcer(options.events);
    const volumes = new ContainerVolumes(options.volumes, live);
    this.host = { live, store, announce, backend: options.backend, networking: options.networking, volumes, log: options.log };
    // Wired once, in dependency order; the restart scheduler reaches the runner, built after it, when a timer fires.
    const restarts = new RestartScheduler({ live, store, launch: (entry) => this.runner.launch(entry) });
    const removal = new ContainerRemoval({ ...this.host, events, restarts });
    this.restarts = restarts;
    this.removal = removal;
    this.runner = new ContainerRunner({ ...this.host, events, restarts, removal, vmDefaults, memoryLimitMiB: options.memoryLimitMiB });
    this.signalling = { live, store, announce, restarts, defaultStopTimeout: options.defaultStopTimeout };
  }

  /** Rebuilds the view from the datastore, re-adopting VMs that kept running while no engine did. */
  async recover(): Promise<void> {
    return recoverContainers({
      ...this.host,
      watch: (entry, vm) => this.runner.watch(entry, vm),
      recordExit: (entry, exit, removing) => this.runner.recordExit(entry, exit, removing),
      removeNow: (entry) => this.removal.removeNow(entry),
    });
  }

  list(): ContainerView[] {
    return this.live.all().map(view);
  }

  /** By full id only, undefined when there is none (no prefix or name matching; constant time). */
  withId(id: string): ContainerView | undefined {
    const entry = this.live.withId(id);
    return entry && view(entry);
  }

  /** By full id, unique id prefix, or name (with or without the leading slash). */
  get(ref: string): ContainerView {
    return view(this.live.find(ref));
  }

  create(spec: ContainerSpec): Promise<ContainerView> {
    return createContainer(spec, { ...this.host, images: this.images, vmDefaults: this.vmDefaults });
  }

  async start(ref: string): Promise<void> {
    const entry = this.live.find(ref);
    if (entry.starting) return entry.starting;
    if (entry.state.status === 'running') throw notModified();
    if (entry.state.status === 'removing') throw conflict(`container ${entry.record.id} is marked for removal and cannot be started`);
    this.restarts.userStarted(entry);
    return this.runner.launch(entry);
  }

  /** At engine start, as dockerd does: starts the stopped containers their restart policy wants running. */
  async startPerPolicy(): Promise<void> {
    const due = this.live.all().filter(dueAtEngineStart);
    // A start that fails is recorded as the container's exit, like any other.
    await Promise.all(due.map((e) => this.runner.launch(e).catch(() => undefined)));
  }

  /** `docker pause`: the VM's CPUs stop; its process, memory and connections stay. */
  async pause(ref: string): Promise<void> {
    this.refuseWithoutPause();
    return pause(this.live.find(ref), this.signalling);
  }

  async unpause(ref: string): Promise<void> {
    this.refuseWithoutPause();
    return unpause(this.live.find(ref), this.signalling);
  }

  private refuseWithoutPause(): void {
    const { backend } = this.options;
    if (!backend.capabilities.pause) throw pauseUnsupported(backend.info().name);
  }

  /** Sends the stop signal, then SIGKILL after the timeout (seconds; negative waits for ever). */
  async stop(ref: string, options: { timeout?: number; signal?: string } = {}): Promise<void> {
    return stop(this.live.find(ref), options, this.signalling);
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    return kill(this.live.find(ref), ref, signal, this.signalling);
  }

  /** `volumes`: also remove the container's anonymous volumes that nothing else uses (`docker rm -v`). */
  async remove(ref: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.removal.remove(this.live.find(ref), options);
  }

  /** Which containers (any state) mount volume `name`: what makes a volume "in use". */
  containersUsingVolume(name: string): string[] {
    return this.host.volumes.usersOf(name);
  }

  /** Resolves with the exit status per Docker's wait conditions. */
  wait(ref: string, condition: WaitCondition = 'not-running'): Promise<ExitStatus> {
    return waitFor(this.live.find(ref), condition, this.events);
  }

  /**
   * Resolves once the removals under way have torn down what their containers had: an --rm
   * container's waiters are answered before its files and disks are gone.
   */
  teardownsSettled(): Promise<void> {
    return this.removal.settled();
  }

  async rename(ref: string, newName: string): Promise<void> {
    const entry = this.live.find(ref);
    const name = validateName(newName);
    if (name === entry.record.spec.name) return;
    this.live.refuseTakenName(name);
    const oldName = entry.record.spec.name;
    entry.record = { ...entry.record, spec: { ...entry.record.spec, name } };
    this.host.store.saveRecord(entry.record);
    await this.options.networking?.renamed(entry.record.id);
    this.host.announce(entry, 'rename', { oldName: `/${oldName}` });
  }

  /** `docker update`: restart policy, and the VM's size while no VM runs (updating.ts). */
  update(ref: string, changes: ContainerUpdate): void {
    updateContainer(this.host, this.live.find(ref), changes, this.vmDefaults);
  }

  resize(ref: string, rows: number, cols: number): void {
    const entry = this.live.find(ref);
    if (!entry.vm) throw conflict(`Container ${entry.record.id} is not running`);
    entry.vm.resize(rows, cols);
  }

  /** The container's stdin: bytes written before the process starts are kept and delivered at start. */
  stdinOf(ref: string): PendingStdin {
    return this.live.find(ref).stdin;
  }

  /** The VM to run an exec in: a paused one would not answer, so Docker refuses. */
  vmForExec(ref: string): { id: string; vm: VmHandle } {
    const entry = this.live.find(ref);
    if (entry.vm && entry.state.paused) throw conflict(`Container ${entry.record.id} is paused, unpause the container before exec`);
    return this.runningVm(ref);
  }

  /** The running container's VM, for work inside it (exec). */
  /** The VM of the container with this full id while it runs; undefined otherwise (no error to build per container). */
  vmWithId(id: string): VmHandle | undefined {
    return this.live.withId(id)?.vm;
  }

  runningVm(ref: string): { id: string; vm: VmHandle } {
    const entry = this.live.find(ref);
    if (!entry.vm) throw conflict(`container ${entry.record.id} is not running`);
    return { id: entry.record.id, vm: entry.vm };
  }

  /** MiB of memory the running and booting container VMs take together (what the VCH's limit is checked against). */
  memoryInUseMiB(): number {
    return this.live.all().filter(isActive).reduce((sum, e) => sum + shapeOf(e.record.spec, this.vmDefaults).memoryMiB, 0);
  }

  /** The size of the container's VM: what it asked for, else the VCH's defaults. */
  vmShape(ref: string): VmShape {
    return shapeOf(this.live.find(ref).record.spec, this.vmDefaults);
  }

  /**
   * Work on the container's files (`docker cp`): through its VM while it runs; else on its disks from
   * the host, one such user at a time, and no start begins until `use` settles (it waits).
   */
  async withFiles<T>(ref: string, use: (access: FilesAccess) => Promise<T>): Promise<T> {
    const entry = this.live.find(ref);
    const sharers = () => {
      const volumes = new Set((entry.record.mounts ?? []).map((m) => m.volume));
      return this.live.all().filter((e) => e !== entry && (e.record.mounts ?? []).some((m) => volumes.has(m.volume)));
    };
    return withFiles(entry, ref, (id) => this.live.has(id), sharers, use);
  }

  /** The disks that make up the container's filesystem, and whether a VM may be writing them now. */
  filesystemOf(ref: string): { layerDisks: string[]; writableDisk: string; active: boolean } {
    const entry = this.live.find(ref);
    return { layerDisks: entry.record.layerDisks, writableDisk: writableDiskOf(entry), active: isActive(entry) };
  }

  /** What the container's VM costs now, and its memory limit; undefined when it is not running. */
  usage(ref: string): Promise<{ usage: VmUsage; limitBytes: number } | undefined> {
    return containerUsage(this.live.find(ref), this.vmDefaults);
  }

  /** Bytes the container's writable disk takes on its store (sparse: what its writes cost). */
  writableBytes(ref: string): number {
    return this.options.backend.disks.allocatedBytes(writableDiskOf(this.live.find(ref)));
  }

  /** Whether the container's process is running now (or its VM is booting). */
  isActive(ref: string): boolean {
    return isActive(this.live.find(ref));
  }
}
