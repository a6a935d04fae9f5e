// Three shapes kept apart: what was asked for (ContainerSpec), what is saved (ContainerRecord +
// ContainerState, one file each in the container's directory), and the live VM (VmHandle, in memory).
import type { ProcessSpec } from '../backend.ts';
import type { ContainerMount, MountRequest } from '../volumes/model.ts';
import type { HostBind } from './host-binds.ts';
import type { ContainerNetworkRequest } from '../networks/model.ts';
import type { RestartPolicy } from './restart-policy.ts';
import type { HealthcheckSpec, HealthState } from './health.ts';

export interface ContainerSpec {
  /** Without Docker's leading slash. */
  name: string;
  /** The reference the user gave ("busybox", "busybox:latest", an id). */
  imageReference: string;
  process: ProcessSpec;
  hostname: string;
  domainname: string;
  labels: Record<string, string>;
  stopSignal: string;
  /** Seconds to wait after the stop signal before killing; undefined: the engine's default. */
  stopTimeout?: number;
  autoRemove: boolean;
  memoryBytes: number;
  cpus: number;
  /** Volumes to mount; a later request for a target replaces one inherited through volumesFrom. */
  mounts?: MountRequest[];
  /** Containers whose volume mounts this one takes too; readOnly overrides theirs when set. */
  volumesFrom?: Array<{ container: string; readOnly?: boolean }>;
  /** Host directories to bind (Docker's bind mounts); needs the backend's `hostDirectories` capability. */
  binds?: HostBind[];
  /** Networks and published ports; absent in records made before networking (loopback only). */
  network?: ContainerNetworkRequest;
  /** What to do when the process exits by itself; absent: never restart (records made before policies). */
  restartPolicy?: RestartPolicy;
  /** A probe run inside the running container; absent: none. */
  healthcheck?: HealthcheckSpec;
  /** Opaque to the port layer: the API personality keeps the request it was created from. */
  personality: unknown;
}

export interface ContainerRecord {
  id: string;
  created: string;
  imageId: string;
  /** Layer disks bottom first, resolved at create: the container keeps working if the image is untagged. */
  layerDisks: string[];
  /** Volume mounts resolved at create (absent in records made before volumes existed). */
  mounts?: ContainerMount[];
  /** Host binds resolved at create, volumesFrom's included. */
  binds?: HostBind[];
  spec: ContainerSpec;
}

export type ContainerStatus = 'created' | 'running' | 'exited' | 'dead' | 'removing';

export interface ContainerState {
  status: ContainerStatus;
  /** Docker's State.Pid: what the backend reported for the running VM (VmHandle.reportedPid), 0 when none; never used as a host process. */
  pid: number;
  exitCode: number;
  error: string;
  startedAt: string;
  finishedAt: string;
  restartCount: number;
  /** The VM is frozen (status stays 'running': the process exists, it just gets no CPU). */
  paused?: boolean;
  /** Exited, and the restart policy will start it again after a backoff delay. */
  restarting?: boolean;
  /** The user stopped or killed it: no restart policy applies until it is started again. */
  manuallyStopped?: boolean;
  /** The healthcheck's verdict so far; absent when the container has no healthcheck. */
  health?: HealthState;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return { status: 'created', pid: 0, exitCode: 0, error: '', startedAt: ZERO_TIME, finishedAt: ZERO_TIME, restartCount: 0 };
}

/** A container as the port layer hands it out: saved record + current state. */
export interface ContainerView {
  record: ContainerRecord;
  state: ContainerState;
  dir: string;
}
