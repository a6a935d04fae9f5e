// Engine start: rebuilds the live containers from the datastore, re-adopting VMs that kept running while
// no engine did, and finishing or writing off what the last engine left half done.
import type { ExitStatus, VmHandle } from '../backend.ts';
import { liveContainer } from './live-container.ts';
import type { LiveContainer } from './live-container.ts';
import type { HostContext } from './context.ts';

export interface RecoveryDeps extends Pick<HostContext, 'store' | 'live' | 'backend' | 'networking'> {
  watch(entry: LiveContainer, vm: VmHandle): void;
  /** `removing`: saved as 'removing' with the exit (an --rm container, removed next). */
  recordExit(entry: LiveContainer, exit: ExitStatus, removing?: boolean): void;
  removeNow(entry: LiveContainer): Promise<void>;
}

export async function recoverContainers(deps: RecoveryDeps): Promise<void> {
  const { store, live, backend, networking } = deps;
  for (const { record, state } of store.load()) {
    // A backoff the last engine was in is over: startPerPolicy decides afresh.
    const entry = liveContainer(record, { ...state, restarting: false }, store.dirOf(record.id), backend.disks.containerDisk(store.dirOf(record.id)));
    live.add(entry);
    const vm = await backend.adopt(record.id, entry.dir);
    if (state.status === 'removing') {
      // A removal the last engine did not finish: finish it.
      if (vm) await vm.kill();
      // Should the teardown fail again, the record stays 'removing' for the next start to retry.
      await deps.removeNow(entry).catch(() => undefined);
    } else if (state.status !== 'running') {
      // A VM whose start the last engine never recorded (it died mid-boot): nobody asked for it.
      if (vm) await vm.kill();
      networking?.stopped(record.id);
    } else if (vm) {
      // A pause outlives the engine: the hypervisor's word counts, not what was saved.
      const paused = backend.capabilities.pause && vm.isPaused ? await vm.isPaused().catch(() => false) : false;
      if (paused !== (state.paused === true)) {
        entry.state = { ...entry.state, paused };
        store.saveState(record.id, entry.state);
      }
      deps.watch(entry, vm);
      await networking?.resumed(record);
    } else {
      const exit = (await backend.lastRecordedExit(entry.dir)) ?? { code: 255, error: 'container VM ended while the engine was down' };
      // An --rm container goes with its process, as dockerd's restore removes them: the last engine
      // died before it saw the end (or before it could save the removal).
      const autoRemove = record.spec.autoRemove;
      deps.recordExit(entry, exit, autoRemove);
      if (autoRemove) await deps.removeNow(entry).catch(() => undefined);
    }
  }
}
