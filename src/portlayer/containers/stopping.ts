// `docker stop` and `docker kill`: the stop signal, then SIGKILL after the timeout; SIGKILL through the
// guest, then the VM itself if the guest does not answer. A signal meant to end the process is the user
// stopping it, which calls the restart policy off.
import type { VmHandle } from '../backend.ts';
import { conflict, notModified } from '../errors.ts';
import { parseSignal, SIGKILL } from '../signals.ts';
import type { ContainerSpec } from './model.ts';
import type { LiveContainer } from './live-container.ts';
import type { RestartScheduler } from './restart-scheduler.ts';
import { thawForSignal } from './pausing.ts';
import type { ContainerContext } from './context.ts';

const KILL_GRACE_MS = 5000;

export interface StoppingDeps extends ContainerContext {
  restarts: RestartScheduler;
  /** Seconds between the stop signal and the kill, when neither the request nor the container says. */
  defaultStopTimeout: number;
}

/** Sends the stop signal, then SIGKILL after the timeout (seconds; negative waits for ever). */
export async function stop(entry: LiveContainer, options: { timeout?: number; signal?: string }, deps: StoppingDeps): Promise<void> {
  const { announce, restarts } = deps;
  if (entry.starting) await entry.starting.catch(() => undefined);
  const vm = entry.vm;
  if (!vm) {
    // Stopping a container in its restart backoff means: no restart.
    if (!entry.state.restarting) throw notModified();
    restarts.userStopped(entry);
    announce(entry, 'stop');
    return;
  }
  restarts.userStopped(entry);
  const spec = entry.record.spec;
  const timeout = options.timeout ?? spec.stopTimeout ?? deps.defaultStopTimeout;
  const signo = parseSignal(options.signal || spec.stopSignal || 'SIGTERM');
  announce(entry, 'kill', { signal: String(signo) });
  vm.signal(signo);
  await thawForSignal(entry, vm, deps);
  if (timeout < 0) {
    await vm.exited;
  } else if (!(await settlesWithin(vm.exited, timeout * 1000))) {
    announce(entry, 'kill', { signal: String(SIGKILL) });
    await killVm(vm, entry, deps);
  }
  announce(entry, 'stop');
}

/** `ref` is what the user called the container, for the error. */
export async function kill(entry: LiveContainer, ref: string, signal: string, deps: StoppingDeps): Promise<void> {
  const signo = parseSignal(signal);
  if (entry.starting) await entry.starting.catch(() => undefined);
  const vm = entry.vm;
  const ending = signo === SIGKILL || signo === stopSignalOf(entry.record.spec);
  if (!vm) {
    if (!entry.state.restarting) throw conflict(`Cannot kill container: ${ref}: container ${entry.record.id} is not running`);
    // In its restart backoff: there is no process to signal, only the restart to call off.
    if (ending) deps.restarts.userStopped(entry);
    return;
  }
  // A signal meant to end the process is the user stopping it (not, say, a SIGHUP to reload).
  if (ending) deps.restarts.userStopped(entry);
  deps.announce(entry, 'kill', { signal: String(signo) });
  if (signo === SIGKILL) {
    await killVm(vm, entry, deps);
  } else {
    vm.signal(signo);
    await thawForSignal(entry, vm, deps);
  }
}

/** SIGKILL through the guest, then the VM itself if the guest does not answer in time. */
async function killVm(vm: VmHandle, entry: LiveContainer, deps: StoppingDeps): Promise<void> {
  vm.signal(SIGKILL);
  await thawForSignal(entry, vm, deps);
  if (await settlesWithin(vm.exited, KILL_GRACE_MS)) return;
  await vm.kill();
  await vm.exited;
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
