// `docker update`'s body (container.UpdateConfig: Resources + RestartPolicy) into the port layer's
// ContainerUpdate. Zero means "unchanged", as in dockerd. The knobs of a cgroup (shares, quotas,
// cpusets, block-I/O weights, pids) have nothing to act on in a VM of its own and are refused by
// name rather than silently ignored.
import type { ContainerView } from '../../portlayer/containers/model.ts';
import type { ContainerUpdate } from '../../portlayer/containers/updating.ts';
import { invalid } from '../../portlayer/errors.ts';
import { dockerRestartPolicy } from './lifecycle-request.ts';
import type { DockerPersonality } from './create-request.ts';

export interface DockerUpdateRequest {
  Memory?: number;
  NanoCpus?: number;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null;
  [key: string]: unknown;
}

/** Fields a VM has no use for, whatever their value: swap and soft limits (a VM's memory is its size). */
const MEANINGLESS = new Set(['MemorySwap', 'MemoryReservation', 'MemorySwappiness', 'KernelMemory', 'OomKillDisable']);
const SUPPORTED = new Set(['Memory', 'NanoCpus', 'RestartPolicy']);

function isZero(value: unknown): boolean {
  return value === undefined || value === null || value === 0 || value === '' || value === false
    || (Array.isArray(value) && value.length === 0);
}

export function toContainerUpdate(request: DockerUpdateRequest, c: ContainerView): ContainerUpdate {
  if (!request || typeof request !== 'object' || Array.isArray(request)) throw invalid('update body must be a JSON object');
  const refused = Object.entries(request).filter(([key, value]) => !SUPPORTED.has(key) && !MEANINGLESS.has(key) && !isZero(value)).map(([key]) => key);
  if (refused.length) throw invalid(`cannot update ${refused.join(', ')}: a container is a VM of its own here, sized by Memory and NanoCpus`);
  for (const key of ['Memory', 'NanoCpus'] as const) {
    const value = request[key];
    if (value !== undefined && value !== null && (!Number.isSafeInteger(value) || value < 0)) throw invalid(`invalid ${key}: ${String(value)}`);
  }
  if (request.Memory && request.Memory < 6 * 1024 * 1024) throw invalid('Minimum memory limit allowed is 6MB');
  const update: ContainerUpdate = {};
  const hostConfig = { ...(c.record.spec.personality as DockerPersonality).hostConfig };
  if (request.Memory) { update.memoryBytes = request.Memory; hostConfig.Memory = request.Memory; }
  if (request.NanoCpus) { update.cpus = request.NanoCpus / 1e9; hostConfig.NanoCpus = request.NanoCpus; }
  if (request.RestartPolicy && request.RestartPolicy.Name !== undefined && request.RestartPolicy.Name !== '') {
    update.restartPolicy = dockerRestartPolicy(request.RestartPolicy, false) ?? null;
    hostConfig.RestartPolicy = { Name: request.RestartPolicy.Name, MaximumRetryCount: request.RestartPolicy.MaximumRetryCount ?? 0 };
  }
  const personality = c.record.spec.personality as DockerPersonality;
  update.personality = { ...personality, hostConfig } satisfies DockerPersonality;
  return update;
}
