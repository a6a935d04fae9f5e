// A VCH in vSphere (VIC's model): a resource pool under the compute resource's root pool, carrying
// the VCH's CPU/memory limits, plus a VM folder of the same name holding its container VMs. Creation
// is idempotent (an engine restarted mid-create finds what it made); destruction removes the
// container VMs first, so nothing is left behind in the parent pool.
import type { VimClient } from '../../vim25/session.ts';
import { createFolder, findChild } from '../../vim25/inventory.ts';
import { createResourcePool, destroyResourcePool, resourcePoolConfig, updateResourcePool } from '../../vim25/resource-pool.ts';
import { destroyVM, listVMs, powerOff } from '../../vim25/virtual-machine.ts';
import { runTask } from '../../vim25/tasks.ts';
import type { ManagedObjectReference, ResourceConfig } from '../../vim25/types.ts';
import type { Target } from './target.ts';

export interface VchLimits {
  /** MHz; undefined = unlimited. */
  cpuLimitMHz?: number;
  cpuReservationMHz?: number;
  /** MB; undefined = unlimited. */
  memoryLimitMB?: number;
  memoryReservationMB?: number;
  /** vSphere's share levels, or a custom number; undefined = normal. */
  cpuShares?: Shares;
  memoryShares?: Shares;
}

export type Shares = 'low' | 'normal' | 'high' | number;

function sharesInfo(s: Shares | undefined): { level: 'low' | 'normal' | 'high' | 'custom'; shares?: number } {
  return typeof s === 'number' ? { level: 'custom', shares: s } : { level: s ?? 'normal' };
}

export interface VchPlacement {
  name: string;
  pool: ManagedObjectReference;
  folder: ManagedObjectReference;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function resourceConfig(l: VchLimits): ResourceConfig {
  return {
    cpu: { limit: l.cpuLimitMHz ?? -1, reservation: l.cpuReservationMHz ?? 0, expandableReservation: true, shares: sharesInfo(l.cpuShares) },
    memory: { limit: l.memoryLimitMB ?? -1, reservation: l.memoryReservationMB ?? 0, expandableReservation: true, shares: sharesInfo(l.memoryShares) },
  };
}

/** Creates the VCH's pool and folder, or finds them (then applies the limits). */
export async function ensureVch(client: VimClient, target: Target, name: string, limits: VchLimits): Promise<VchPlacement> {
  if (!NAME.test(name)) throw new Error(`invalid VCH name ${JSON.stringify(name)}: letters, digits, '_', '.', '-', at most 63`);
  const config = resourceConfig(limits);
  let pool = await findChild(client, target.rootPool, name);
  if (pool && pool.type !== 'ResourcePool') throw new Error(`${name} under the root pool is a ${pool.type}, not a resource pool`);
  if (pool) await updateResourcePool(client, pool, config);
  else pool = await createResourcePool(client, target.rootPool, name, config);
  let folder = await findChild(client, target.vmFolder, name);
  if (folder && folder.type !== 'Folder') throw new Error(`${name} in the VM folder is a ${folder.type}, not a folder`);
  folder ??= await createFolder(client, target.vmFolder, name);
  return { name, pool, folder };
}

/** Finds an existing VCH's placement; undefined if its pool or folder is gone. */
export async function findVch(client: VimClient, target: Target, name: string): Promise<VchPlacement | undefined> {
  const pool = await findChild(client, target.rootPool, name);
  const folder = await findChild(client, target.vmFolder, name);
  if (pool?.type !== 'ResourcePool' || folder?.type !== 'Folder') return undefined;
  return { name, pool, folder };
}

export async function configureVch(client: VimClient, vch: VchPlacement, limits: VchLimits): Promise<void> {
  await updateResourcePool(client, vch.pool, resourceConfig(limits));
}

export async function vchLimits(client: VimClient, vch: VchPlacement): Promise<VchLimits> {
  const c = await resourcePoolConfig(client, vch.pool);
  const unlimited = (n: number | undefined) => (n === undefined || n < 0 ? undefined : n);
  return {
    cpuLimitMHz: unlimited(c.cpu.limit),
    cpuReservationMHz: c.cpu.reservation,
    memoryLimitMB: unlimited(c.memory.limit),
    memoryReservationMB: c.memory.reservation,
    cpuShares: sharesOf(c.cpu.shares),
    memoryShares: sharesOf(c.memory.shares),
  };
}

function sharesOf(s: { level: string; shares?: number } | undefined): Shares | undefined {
  if (!s) return undefined;
  return s.level === 'custom' ? s.shares : s.level as Shares;
}

/** Powers off and destroys every VM in the VCH's folder and pool, then the pool and the folder. */
export async function destroyVch(client: VimClient, vch: VchPlacement): Promise<void> {
  const seen = new Set<string>();
  for (const root of [vch.folder, vch.pool]) {
    for (const vm of await listVMs(client, root)) {
      if (seen.has(vm.ref.value)) continue;
      seen.add(vm.ref.value);
      if (vm.powerState !== 'poweredOff') await powerOff(client, vm.ref);
      await destroyVM(client, vm.ref);
    }
  }
  await destroyResourcePool(client, vch.pool);
  await runTask(client, 'Destroy_Task', vch.folder);
}
