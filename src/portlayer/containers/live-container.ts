// The live object of the three shapes (model.ts has the other two): one container as this engine holds it
// in memory — its saved record and state, plus the VM, the pending work and the timers that die with the engine.
import type { ExitStatus, VmHandle } from '../backend.ts';
import type { DiskRef } from '../disks.ts';
import type { ContainerRecord, ContainerState, ContainerView } from './model.ts';
import { PendingStdin } from './pending-stdin.ts';
import type { HealthMonitor } from './health.ts';

export interface LiveContainer {
  record: ContainerRecord;
  state: ContainerState;
  dir: string;
  /** The container's writable disk, as the backend's disk store names it. */
  writableDisk: DiskRef;
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

export function liveContainer(record: ContainerRecord, state: ContainerState, dir: string, writableDisk: DiskRef): LiveContainer {
  return { record, state, dir, writableDisk, stdin: new PendingStdin(), restartDelayMs: 0 };
}

export function view(entry: LiveContainer): ContainerView {
  return { record: entry.record, state: entry.state, dir: entry.dir };
}

/** The last exit as waiters see it. */
export function statusOf(entry: LiveContainer): ExitStatus {
  return entry.state.error ? { code: entry.state.exitCode, error: entry.state.error } : { code: entry.state.exitCode };
}

/** Whether the container's process is running now (or its VM is booting). */
export function isActive(entry: LiveContainer): boolean {
  return entry.vm !== undefined || entry.starting !== undefined;
}

export function writableDiskOf(entry: LiveContainer): DiskRef {
  return entry.writableDisk;
}
