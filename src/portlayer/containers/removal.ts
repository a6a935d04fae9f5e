// `docker rm`: the state saved as 'removing' first (an engine restart finishes the job), the VM killed,
// then what the backend keeps (teardown.ts), the directory, the network endpoints and — on request —
// the anonymous volumes go.
import type { EventEmitter } from 'node:events';
import { conflict } from '../errors.ts';
import type { LiveContainer } from './live-container.ts';
import type { ContainerContext, HostContext } from './context.ts';
import type { RestartScheduler } from './restart-scheduler.ts';
import { filesSettled } from './files-lock.ts';
import { tearDownContainer } from './teardown.ts';
import type { ExitTrace } from './exit-trace.ts';

export interface RemovalDeps extends ContainerContext, Pick<HostContext, 'networking' | 'volumes' | 'backend'> {
  /** The container service's emitter: 'removed' is emitted here. */
  events: EventEmitter;
  restarts: RestartScheduler;
}

export class ContainerRemoval {
  private readonly deps: RemovalDeps;
  /** Removals whose teardown is under way (an --rm's goes on after its waiters were answered). */
  private readonly pending = new Set<Promise<void>>();

  constructor(deps: RemovalDeps) {
    this.deps = deps;
  }

  /** `volumes`: also remove the container's anonymous volumes that nothing else uses (`docker rm -v`). */
  async remove(entry: LiveContainer, options: { force?: boolean; volumes?: boolean }): Promise<void> {
    if (entry.state.status === 'removing') throw conflict(`removal of container ${entry.record.id} is already in progress`);
    if ((entry.vm || entry.starting || entry.state.restarting) && !options.force) {
      const what = entry.state.restarting ? 'restarting' : entry.state.paused ? 'paused' : 'running';
      throw conflict(`cannot remove container "/${entry.record.spec.name}": container is ${what}: stop the container before removing or force remove`);
    }
    this.deps.restarts.cancel(entry);
    entry.state = { ...entry.state, status: 'removing' };
    this.deps.store.saveState(entry.record.id, entry.state);
    if (entry.starting) await entry.starting.catch(() => undefined);
    await filesSettled(entry);
    const vm = entry.vm;
    if (vm) {
      await vm.kill();
      await vm.exited;
    }
    await this.removeNow(entry, options.volumes === true);
  }

  /**
   * Forgets the container at once (its VM, if any, is gone or going) and tears down what it had; a
   * second call does nothing. Rejects when the teardown failed: the record stays, saved as 'removing',
   * and the next engine start finishes it. `early` (--rm): 'removed' (what wait?condition=removed
   * answers on) is emitted once the removal is durable — the record saved as 'removing', the
   * container out of the list and off its networks — and the VM's files, the writable disk and the
   * directory go after it; the promise settles when they are gone (settled() waits for all such).
   * `trace`: an exit's phase log is told each step. `vmGone`: the teardown waits for it (the VM's
   * exit was reported, its process may still be ending).
   */
  async removeNow(entry: LiveContainer, removeVolumes = false, options: { early?: boolean; trace?: ExitTrace; vmGone?: Promise<unknown> } = {}): Promise<void> {
    const { live, store, networking } = this.deps;
    const { trace } = options;
    this.deps.restarts.cancel(entry);
    entry.health?.stop();
    if (!live.delete(entry.record.id)) return;
    let announced = false;
    const announce = async () => {
      announced = true;
      await networking?.removed(entry.record.id);
      trace?.mark('network');
      this.deps.announce(entry, 'destroy');
      this.deps.events.emit('removed', entry.record.id);
      trace?.mark('removed');
    };
    const work = (async () => {
      try {
        if (entry.state.status !== 'removing') {
          entry.state = { ...entry.state, status: 'removing' };
          store.saveState(entry.record.id, entry.state);
          trace?.mark('removing-saved');
        }
        // Anonymous volumes go before the answer, as dockerd's do: their disks need the VM gone first.
        const volumesToGo = removeVolumes && (entry.record.mounts ?? []).some((m) => m.anonymous);
        if (options.early && !volumesToGo) await announce();
        if (options.vmGone) {
          await options.vmGone;
          trace?.mark('vm-gone');
        }
        await tearDownContainer(this.deps.backend, store, entry.record.id, entry.writableDisk, (step) => trace?.mark(step));
      } finally {
        // The container is out of the list (it no longer counts as a user), and the volumes go before
        // 'removed', which a `docker run --rm` waits for: after it, `docker volume ls` no longer shows them.
        if (removeVolumes) {
          // A disk the backend could not delete stays with its volume, listed, for a later `volume rm`.
          await this.deps.volumes.removeAnonymous(entry.record.mounts ?? []).catch(() => undefined);
        }
        if (!announced) await announce();
      }
    })();
    this.pending.add(work);
    try {
      await work;
    } finally {
      this.pending.delete(work);
    }
  }

  /** Resolves once every removal under way has finished (or failed) its teardown. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
