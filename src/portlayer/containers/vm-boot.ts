// What the VM is booted from: the container's record turned into a ContainerVmSpec (disks, process, size,
// volumes, NICs), and what a failed boot means for the container and for the caller.
import type { BackendCapabilities, ContainerVmSpec, ExitStatus, VmNic, VmVolume } from '../backend.ts';
import { ProcessStartError } from '../backend.ts';
import { errorKind, invalid, PortLayerError } from '../errors.ts';
import type { ContainerSpec } from './model.ts';
import { writableDiskOf } from './live-container.ts';
import { hostDirectoriesOf } from './host-binds.ts';
import type { LiveContainer } from './live-container.ts';
import type { StartNetworking } from '../networks/attachment.ts';

export interface VmShape {
  memoryMiB: number;
  cpus: number;
}

/** The size of the container's VM: what it asked for, else the VCH's defaults. */
export function shapeOf(spec: ContainerSpec, defaults: VmShape): VmShape {
  return {
    memoryMiB: spec.memoryBytes > 0 ? Math.ceil(spec.memoryBytes / 1024 ** 2) : defaults.memoryMiB,
    cpus: spec.cpus > 0 ? Math.ceil(spec.cpus) : defaults.cpus,
  };
}

/**
 * Refuses a VM smaller than the backend can boot, as Docker refuses a limit below its 6 MB minimum:
 * the limit is the VM's whole memory, its kernel's included.
 */
export function checkVmMemory(shape: VmShape, capabilities: BackendCapabilities): void {
  const floor = capabilities.minimumMemoryMiB ?? 0;
  if (shape.memoryMiB < floor) {
    throw invalid(`Minimum memory limit allowed is ${floor}MB on this VCH: each container is its own VM, and its guest kernel needs that much (asked for ${shape.memoryMiB}MB)`);
  }
}

export function vmSpecOf(entry: LiveContainer, shape: VmShape, volumes: VmVolume[], net?: StartNetworking): ContainerVmSpec {
  const { record } = entry;
  const spec = record.spec;
  return {
    id: record.id,
    name: spec.name,
    dir: entry.dir,
    hostname: spec.hostname,
    domainname: spec.domainname,
    layerDisks: record.layerDisks,
    writableDisk: writableDiskOf(entry),
    process: net?.env?.length ? { ...spec.process, env: withDefaults(spec.process.env, net.env) } : spec.process,
    ...shape,
    volumes,
    ...(record.binds?.length ? { hostDirectories: hostDirectoriesOf(record.binds) } : {}),
    // Written through to the host directories must reach them: those containers flush before they go.
    discardDisksOnExit: spec.autoRemove && volumes.length === 0 && !record.binds?.length,
    nics: net?.nics,
    hosts: net?.hosts,
    dns: net?.dns,
    ...(net?.ports?.length ? { ports: net.ports } : {}),
  };
}

/** The process's environment with variables from elsewhere (links) it does not set itself. */
function withDefaults(own: string[], extra: string[]): string[] {
  const named = new Set(own.map((e) => e.split('=')[0]));
  return [...own, ...extra.filter((e) => !named.has(e.split('=')[0]))];
}

/**
 * A boot that failed: the exit to record (the process's own code when it could not start, else 128), and
 * the error for the caller (the user's mistake when the process could not start, else the system's).
 */
export function startFailure(err: unknown): { exit: ExitStatus; error: PortLayerError } {
  const startError = err instanceof ProcessStartError;
  const message = err instanceof Error ? err.message : String(err);
  // The port layer's own refusals (a bind source gone since create) keep their kind.
  if (err instanceof PortLayerError) return { exit: { code: 128, error: message }, error: err };
  return {
    exit: { code: startError ? err.code : 128, error: message },
    // A backend's classified refusal (e.g. the hypervisor's manager says Conflict) keeps its class.
    error: new PortLayerError(startError ? (err.code !== 125 ? 'InvalidParameter' : 'System') : errorKind(err), message, { cause: err }),
  };
}
