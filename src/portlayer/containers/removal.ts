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
   * and the next engine start finishes it. `trace`: an exit's phase log (--rm) is told each step.
   */
  async removeNow(entry: LiveContainer, removeVolumes = false, trace?: ExitTrace): Promise<void> {
    const { live, store, networking } = this.deps;
    this.deps.restarts.cancel(entry);
    entry.health?.stop();
    if (!live.delete(entry.record.id)) return;
    try {
      if (entry.state.status !== 'removing') {
        entry.state = { ...entry.state, status: 'removing' };
        store.saveState(entry.record.id, entry.state);
        trace?.mark('removing-saved');
      }
      await tearDownContainer(this.deps.backend, store, entry.record.id, entry.writableDisk, (step) => trace?.mark(step));
    } finally {
      await networking?.removed(entry.record.id);
      trace?.mark('network');
      this.deps.announce(entry, 'destroy');
      this.deps.events.emit('removed', entry.record.id);
      trace?.mark('removed');
      // After the container is gone, so that it no longer counts as a user.
      if (removeVolumes) {
        // A disk the backend could not delete stays with its volume, listed, for a later `volume rm`.
        await this.deps.volumes.removeAnonymous(entry.record.mounts ?? []).catch(() => undefined);
      }
    }
  }
}
