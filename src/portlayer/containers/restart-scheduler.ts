// The restart policy's timers and backoff state (restart-policy.ts makes the decisions): after an exit the
// user did not ask for, the container starts again after the backoff; the user's start, stop or kill
// calls a pending restart off.
import { ZERO_TIME } from './model.ts';
import type { ContainerDirectoryStore } from './store.ts';
import type { LiveContainer } from './live-container.ts';
import type { LiveContainers } from './registry.ts';
import { nextDelayMs, shouldRestart, startsWithEngine } from './restart-policy.ts';

export interface RestartSchedulerDeps {
  live: LiveContainers;
  store: ContainerDirectoryStore;
  /** Starts the container (a failed boot is recorded as its exit, and rejects). */
  launch(entry: LiveContainer): Promise<void>;
}

export class RestartScheduler {
  private readonly deps: RestartSchedulerDeps;

  constructor(deps: RestartSchedulerDeps) {
    this.deps = deps;
  }

  /** After an exit the user did not ask for: start again after the backoff, if the policy says so. */
  afterExit(entry: LiveContainer): void {
    const { live, store } = this.deps;
    const { state } = entry;
    if (state.status !== 'exited' || !live.has(entry.record.id)) return;
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
    store.saveState(entry.record.id, entry.state);
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      if (!entry.state.restarting || !live.has(entry.record.id)) return;
      // A restart that fails ends the loop (a failed boot is recorded as an exit), as in dockerd.
      this.deps.launch(entry).catch(() => {
        if (!entry.state.restarting || !live.has(entry.record.id)) return;
        this.cancel(entry);
        store.saveState(entry.record.id, entry.state);
      });
    }, delay);
  }

  /** Drops a pending policy restart (the caller saves the state). */
  cancel(entry: LiveContainer): void {
    clearTimeout(entry.restartTimer);
    entry.restartTimer = undefined;
    if (entry.state.restarting) entry.state = { ...entry.state, restarting: false };
  }

  /** The user's start: a pending policy restart is replaced, and the policy counts from zero again. */
  userStarted(entry: LiveContainer): void {
    this.cancel(entry);
    entry.state = { ...entry.state, manuallyStopped: false, restartCount: 0 };
    entry.restartDelayMs = 0;
  }

  /** The user ended the container: restart policies hold off until the user starts it again. */
  userStopped(entry: LiveContainer): void {
    this.cancel(entry);
    entry.state = { ...entry.state, manuallyStopped: true };
    if (this.deps.live.has(entry.record.id)) this.deps.store.saveState(entry.record.id, entry.state);
  }
}

/** At engine start, as dockerd does: whether this stopped container's restart policy wants it running. */
export function dueAtEngineStart(e: LiveContainer): boolean {
  return !e.vm && !e.starting && e.state.status !== 'removing' && startsWithEngine(e.record.spec.restartPolicy, {
    everStarted: e.state.startedAt !== ZERO_TIME,
    exitCode: e.state.exitCode,
    restartCount: e.state.restartCount,
    manuallyStopped: e.state.manuallyStopped === true,
  });
}
