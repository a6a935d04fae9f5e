// `docker update`: a container's restart policy, memory and CPUs changed after create. The policy
// applies from the next exit on. Memory and CPUs are the size of the container's VM, fixed while it
// runs (the microVM has no memory balloon or CPU hot-plug), so they change only while no VM exists and
// apply at the next start; asking for a different size of a running container is refused clearly.
import { conflict, invalid } from '../errors.ts';
import type { HostContext } from './context.ts';
import { isActive } from './live-container.ts';
import type { LiveContainer } from './live-container.ts';
import type { RestartPolicy } from './restart-policy.ts';
import { checkVmMemory, shapeOf } from './vm-boot.ts';
import type { VmShape } from './vm-boot.ts';

export interface ContainerUpdate {
  /** null: back to "no"; undefined: unchanged. */
  restartPolicy?: RestartPolicy | null;
  memoryBytes?: number;
  cpus?: number;
  /** The personality's own record of the request, kept beside the spec. */
  personality?: unknown;
}

export function updateContainer(host: HostContext, entry: LiveContainer, update: ContainerUpdate, vmDefaults: VmShape): void {
  const spec = entry.record.spec;
  if (update.restartPolicy && spec.autoRemove) {
    throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
  }
  const next = {
    ...spec,
    ...(update.restartPolicy !== undefined ? { restartPolicy: update.restartPolicy ?? undefined } : {}),
    ...(update.memoryBytes !== undefined ? { memoryBytes: update.memoryBytes } : {}),
    ...(update.cpus !== undefined ? { cpus: update.cpus } : {}),
    ...(update.personality !== undefined ? { personality: update.personality } : {}),
  };
  const before = shapeOf(spec, vmDefaults);
  const after = shapeOf(next, vmDefaults);
  const resized = before.memoryMiB !== after.memoryMiB || before.cpus !== after.cpus;
  if (before.memoryMiB !== after.memoryMiB) checkVmMemory(after, host.backend.capabilities);
  if (resized && (isActive(entry) || entry.vm)) {
    throw conflict(`Cannot update container ${entry.record.id}: its VM runs with ${before.memoryMiB} MiB and ${before.cpus} CPU(s), `
      + 'sizes fixed while it runs (no memory balloon or CPU hot-plug); stop it, update, and start it again');
  }
  entry.record = { ...entry.record, spec: next };
  host.store.saveRecord(entry.record);
  host.announce(entry, 'update');
}
