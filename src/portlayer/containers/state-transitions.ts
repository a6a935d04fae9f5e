// The container's saved state after a boot and after an exit: pure functions of the state before.
import type { ExitStatus, VmHandle } from '../backend.ts';
import type { ContainerState } from './model.ts';
import { startingHealth } from './health.ts';

export function runningState(state: ContainerState, vm: VmHandle, hasHealthcheck: boolean): ContainerState {
  return {
    ...state,
    status: 'running',
    pid: vm.reportedPid,
    exitCode: 0,
    error: '',
    startedAt: new Date().toISOString(),
    finishedAt: state.finishedAt,
    paused: false,
    restarting: false,
    // Every start is judged afresh, as in dockerd.
    health: hasHealthcheck ? startingHealth() : undefined,
  };
}

/** A container being removed stays 'removing' when its process ends. */
export function exitedState(state: ContainerState, exit: ExitStatus): ContainerState {
  return {
    ...state,
    paused: false,
    restarting: false,
    status: state.status === 'removing' ? 'removing' : 'exited',
    pid: 0,
    exitCode: exit.code,
    error: exit.error ?? '',
    finishedAt: new Date().toISOString(),
  };
}
