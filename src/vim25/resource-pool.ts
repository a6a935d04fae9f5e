// Resource pools: a VCH is one. CPU allocation is in MHz, memory in MB; limit -1 means unlimited.
import type { VimClient } from './session.ts';
import { retrieveOne } from './property-collector.ts';
import { runTask } from './tasks.ts';
import type { Allocation, ManagedObjectReference, ResourceConfig } from './types.ts';

function encodeAllocation(a: Allocation): Record<string, unknown> {
  const shares = a.shares ?? { level: 'normal' as const };
  return {
    reservation: a.reservation ?? 0,
    expandableReservation: a.expandableReservation ?? true,
    limit: a.limit ?? -1,
    // `shares` is required by the schema; for levels other than custom the number is ignored.
    shares: { shares: shares.shares ?? 0, level: shares.level },
  };
}

function encodeSpec(config: ResourceConfig): Record<string, unknown> {
  return { cpuAllocation: encodeAllocation(config.cpu), memoryAllocation: encodeAllocation(config.memory) };
}

export function createResourcePool(client: VimClient, parent: ManagedObjectReference, name: string, config: ResourceConfig): Promise<ManagedObjectReference> {
  return client.invokeRef('CreateResourcePool', parent, { name, spec: encodeSpec(config) });
}

/** Changes a pool's allocations (name unchanged). */
export async function updateResourcePool(client: VimClient, pool: ManagedObjectReference, config: ResourceConfig): Promise<void> {
  await client.invoke('UpdateConfig', pool, { config: encodeSpec(config) });
}

function decodeAllocation(v: unknown): Allocation {
  const a = (v ?? {}) as Record<string, unknown>;
  const s = (a.shares ?? {}) as Record<string, unknown>;
  return {
    reservation: a.reservation === undefined ? undefined : Number(a.reservation),
    expandableReservation: a.expandableReservation === undefined ? undefined : a.expandableReservation === 'true' || a.expandableReservation === true,
    limit: a.limit === undefined ? undefined : Number(a.limit),
    shares: s.level ? { level: s.level as NonNullable<Allocation['shares']>['level'], shares: Number(s.shares ?? 0) } : undefined,
  };
}

export async function resourcePoolConfig(client: VimClient, pool: ManagedObjectReference): Promise<ResourceConfig> {
  const props = await retrieveOne(client, pool, ['config.cpuAllocation', 'config.memoryAllocation']);
  return { cpu: decodeAllocation(props['config.cpuAllocation']), memory: decodeAllocation(props['config.memoryAllocation']) };
}

/** Destroys a pool; its VMs move to the parent pool, so empty it first. */
export async function destroyResourcePool(client: VimClient, pool: ManagedObjectReference): Promise<void> {
  await runTask(client, 'Destroy_Task', pool);
}
