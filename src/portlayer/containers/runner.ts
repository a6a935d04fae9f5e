// Running a container's process: launch (the checks before a boot), boot (the VM from the record, the
// state saved once it runs), watch (until the process ends), and the exit recorded, after which --rm or
// the restart policy applies.
import type { EventEmitter } from 'node:events';
import type { ExitStatus, VmHandle } from '../backend.ts';
import { refuseSharedWriters } from './mounts.ts';
import { unavailable } from '../errors.ts';
import { isActive } from './live-container.ts';
import type { LiveContainer } from './live-container.ts';
import type { HostContext } from './context.ts';
import type { RestartScheduler } from './restart-scheduler.ts';
import type { ContainerRemoval } from './removal.ts';
import { stopHealth, watchHealth } from './health-watch.ts';
import { filesSettled } from './files-lock.ts';
import { shapeOf, startFailure, vmSpecOf } from './vm-boot.ts';
import type { VmShape } from './vm-boot.ts';
import { exitedState, runningState } from './state-transitions.ts';
import { ExitTrace } from './exit-trace.ts';

export interface RunnerDeps extends HostContext {
  /** The container service's emitter: 'start' and 'exit' are emitted here. */
  events: EventEmitter;
  restarts: RestartScheduler;
  removal: Pick<ContainerRemoval, 'removeNow'>;
  /** The VM's size when the container does not ask for one. */
  vmDefaults: VmShape;
  /** The VCH's memory limit (its resource pool): the container VMs' memory together stays within it. */
  memoryLimitMiB?: number;
}

export class ContainerRunner {
  private readonly deps: RunnerDeps;

  constructor(deps: RunnerDeps) {
    this.deps = deps;
  }

  async launch(entry: LiveContainer): Promise<void> {
    // The host may be writing the disks (docker cp into a stopped container): boot once it is done.
    await filesSettled(entry);
    if (entry.starting) return entry.starting;
    const active = this.deps.live.all().filter((e) => e !== entry && isActive(e));
    try {
      refuseSharedWriters(entry.record.spec.name, entry.record.mounts ?? [], active.map((e) => ({ name: e.record.spec.name, mounts: e.record.mounts ?? [] })));
      this.admit(entry, active);
    } catch (err) {
      // As for any failed start: a container meant to go away when it ends does not linger.
      if (entry.record.spec.autoRemove) this.autoRemove(entry);
      throw err;
    }
    entry.starting = this.boot(entry).finally(() => { entry.starting = undefined; });
    return entry.starting;
  }

  /**
   * Admission against the VCH's memory limit, before anything boots: the running (and booting) VMs'
   * memory plus this one's must fit. 503, as for any capacity the VCH lacks now: it may fit once
   * other containers stop (dockerd has no such pool; its cgroup failures surface as 500s).
   */
  private admit(entry: LiveContainer, active: LiveContainer[]): void {
    const limit = this.deps.memoryLimitMiB;
    if (!limit) return;
    const used = active.reduce((sum, e) => sum + shapeOf(e.record.spec, this.deps.vmDefaults).memoryMiB, 0);
    const wanted = shapeOf(entry.record.spec, this.deps.vmDefaults).memoryMiB;
    if (used + wanted > limit) {
      throw unavailable(`cannot start container ${entry.record.spec.name}: its VM needs ${wanted} MiB and the VCH's memory limit is ${limit} MiB, of which running containers use ${used} MiB`);
    }
  }

  private async boot(entry: LiveContainer): Promise<void> {
    const { networking, backend, store } = this.deps;
    const { record } = entry;
    let vm: VmHandle;
    try {
      const net = await networking?.beforeStart(record);
      vm = await backend.boot(vmSpecOf(entry, shapeOf(record.spec, this.deps.vmDefaults), this.deps.volumes.disksOf(record), net));
    } catch (err) {
      networking?.stopped(record.id);
      const failure = startFailure(err);
      this.recordExit(entry, failure.exit, record.spec.autoRemove);
      if (record.spec.autoRemove) this.autoRemove(entry);
      throw failure.error;
    }
    entry.state = runningState(entry.state, vm, record.spec.healthcheck !== undefined);
    store.saveState(record.id, entry.state);
    this.watch(entry, vm);
    await networking?.started(record.id);
    this.deps.announce(entry, 'start');
    this.deps.events.emit('start', record.id);
  }

  /** Follows the running VM (booted or re-adopted) until its process ends. */
  watch(entry: LiveContainer, vm: VmHandle): void {
    entry.vm = vm;
    entry.stdin.attach(vm);
    watchHealth(entry, this.deps);
    const runningSince = performance.now();
    // An --rm container goes as soon as its exit is reported (its disks are destroyed, not reused);
    // the teardown still waits for the VM to be gone (removeNow's `vmGone`).
    const autoRemove = entry.record.spec.autoRemove;
    const ended = autoRemove ? vm.exitReported ?? vm.exited : vm.exited;
    ended.then((exit) => {
      const trace = new ExitTrace(runningSince, vm.exitMarks?.(), vm.exitGuestSteps?.());
      entry.vm = undefined;
      entry.stdin.detach();
      this.deps.networking?.stopped(entry.record.id);
      this.recordExit(entry, exit, autoRemove);
      trace.mark('exit-recorded');
      if (autoRemove) this.autoRemove(entry, trace, vm.exited);
      else {
        this.deps.restarts.afterExit(entry);
        this.logExit(entry, trace);
      }
    });
  }

  /**
   * --rm: the container goes when its process ends (or fails to start). Its waiters are answered once
   * the removal is durable (the record saved as 'removing', out of the list, off its networks); its
   * files and disks go after that (ContainerRemoval.removeNow, `early`).
   */
  private autoRemove(entry: LiveContainer, trace?: ExitTrace, vmGone?: Promise<unknown>): void {
    // A teardown that fails leaves the record saved as 'removing': the next engine start finishes it.
    this.deps.removal.removeNow(entry, true, { early: true, trace, vmGone }).then(() => { if (trace) this.logExit(entry, trace); }, () => undefined);
  }

  private logExit(entry: LiveContainer, trace: ExitTrace): void {
    this.deps.log?.(`container ${entry.record.id.slice(0, 12)} ended${entry.record.spec.autoRemove ? ' (--rm)' : ''}; exit phases: ${trace.describe()}`);
  }

  /**
   * `removing`: the container goes next (--rm), so the exit is saved with the state 'removing' in one
   * write — a crash after it leaves a removal for the next engine start to finish, never an exited
   * --rm container that stays.
   */
  recordExit(entry: LiveContainer, exit: ExitStatus, removing = false): void {
    stopHealth(entry);
    entry.state = exitedState(removing ? { ...entry.state, status: 'removing' } : entry.state, exit);
    if (this.deps.live.has(entry.record.id)) this.deps.store.saveState(entry.record.id, entry.state);
    this.deps.announce(entry, 'die', { exitCode: String(exit.code) });
    this.deps.events.emit('exit', entry.record.id, exit);
  }
}
