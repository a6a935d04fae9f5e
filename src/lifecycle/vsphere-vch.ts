// The vSphere side of a VCH's lifecycle (vic-machine's role): `create --target …` checks the target
// and makes the VCH's resource pool (with its limits) and VM folder, the image store's folders and the
// volume stores'; `delete` removes its container VMs (their disks detached first, so volume disks
// survive unless asked for), its port groups, the pool, the folder and the image store; `inspect`
// reads the pool back. The engine itself still runs on this host (`vch serve --backend vsphere`).
// The credentials live in <vch dir>/vsphere-target (root's alone), never in settings.json or argv.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VchRegistry, VchSettings } from './settings.ts';
import type { PredefinedNetwork } from '../portlayer/networks/model.ts';
import { openVsphere, type OpenedVsphere, parseImageStore, parseTargetUrl, parseVolumeStore, type VsphereFlags } from '../backends/vsphere/connect.ts';
import { DiskStore } from '../backends/vsphere/disk-store.ts';
import { findVch, destroyVch as destroyPoolAndFolder, configureVch as updatePool, vchLimits, type Shares, type VchLimits } from '../backends/vsphere/vch-pool.ts';
import { listContainers } from '../backends/vsphere/inventory-adoption.ts';
import { removeContainerVm } from '../backends/vsphere/container-vm.ts';
import { listNetworkPortgroups } from '../backends/vsphere/network-portgroups.ts';
import { listPortgroups, destroyPortgroup, noSuchPortgroup } from '../vim25/dvs.ts';
import { datastorePath, deleteDatastoreFile, makeDirectory } from '../vim25/datastore.ts';
import { addContainerNetworks } from './container-networks.ts';
import { changedLimit } from './checks.ts';
import { FileAlreadyExistsFault, FileNotFoundFault } from '../vim25/faults.ts';

export type VsphereSettings = NonNullable<VchSettings['vsphere']>;

export interface VsphereRequest {
  target: string;
  thumbprint?: string;
  computeResource?: string;
  imageStore?: string;
  volumeStores: string[];
  bridgeNetwork?: string;
  publicNetwork?: string;
  containerNetworks: PredefinedNetwork[];
  pool: VchLimits;
}

export function targetFile(registry: VchRegistry, name: string): string {
  return join(registry.dirOf(name), 'vsphere-target');
}

export function readTarget(v: VsphereSettings): string {
  return readFileSync(v.targetFile, 'utf8').trim();
}

export function writeTarget(v: VsphereSettings, target: string): void {
  writeFileSync(v.targetFile, target + '\n', { mode: 0o600 });
}

function flagsOf(v: VsphereSettings, target: string): VsphereFlags {
  return { target, thumbprint: v.thumbprint, computeResource: v.computeResource, imageStore: v.imageStore, volumeStores: v.volumeStores, bridgeNetwork: v.bridgeNetwork };
}

/** Checks the flags and the target: logs in, finds the compute resource, switch and port groups, and refuses a name taken there. */
export async function planVsphere(name: string, req: VsphereRequest, targetFilePath: string): Promise<VsphereSettings> {
  const login = parseTargetUrl(req.target);
  if (!req.thumbprint) throw new Error('--target needs --thumbprint (the certificate of vCenter or ESXi, pinned)');
  if (!req.computeResource) throw new Error('--target needs --compute-resource (/DATACENTER/host/CLUSTER)');
  if (!req.imageStore) throw new Error('--target needs --image-store DATASTORE[/PATH]');
  if (!req.bridgeNetwork) throw new Error('--target needs --bridge-network (a distributed port group: its switch takes the VCH\'s networks)');
  parseImageStore(req.imageStore);
  const names = new Set<string>();
  for (const spec of req.volumeStores) {
    const store = parseVolumeStore(spec).name;
    if (names.has(store)) throw new Error(`volume store ${store} is given twice`);
    names.add(store);
  }
  const settings: VsphereSettings = {
    host: new URL(login.url).host,
    targetFile: targetFilePath,
    thumbprint: req.thumbprint,
    computeResource: req.computeResource,
    imageStore: req.imageStore,
    volumeStores: req.volumeStores,
    bridgeNetwork: req.bridgeNetwork,
    publicNetwork: req.publicNetwork,
    ...(req.containerNetworks.length ? { containerNetworks: req.containerNetworks } : {}),
    pool: req.pool,
  };
  for (const n of req.containerNetworks) {
    if (n.external === req.bridgeNetwork) throw new Error(`--container-network ${n.external}: that is the bridge network; a container network is a port group of its own`);
  }
  const opened = await openVsphere(flagsOf(settings, req.target), name, { allowMissing: true });
  try {
    if (opened.vch) throw new Error(`a resource pool and VM folder named ${name} exist already on ${settings.host}`);
    await checkPortgroups(opened, settings.publicNetwork, req.containerNetworks);
  } finally {
    await opened.client.logout().catch(() => {});
  }
  return settings;
}

/** The public network and container networks must be existing distributed port groups. */
async function checkPortgroups(opened: OpenedVsphere, publicNetwork: string | undefined, containerNetworks: PredefinedNetwork[]): Promise<void> {
  const names = new Set((await listPortgroups(opened.client, opened.target.datacenter)).map((p) => p.name));
  const where = opened.target.config.datacenter;
  if (publicNetwork && !names.has(publicNetwork)) throw noSuchPortgroup('--public-network', publicNetwork, where);
  for (const n of containerNetworks) {
    if (!names.has(n.external)) throw noSuchPortgroup('--container-network', n.external, where);
  }
}

/** Makes the VCH's pool (limits), folder and store folders on vSphere; checks the public network. */
export async function makeVsphereVch(name: string, v: VsphereSettings, target: string): Promise<void> {
  const { client, target: t, vch, imageStore } = await openVsphere(flagsOf(v, target), name, { ensure: { limits: v.pool } });
  try {
    await new DiskStore(client, t, vch!.name, imageStore.path).ensure();
    for (const spec of v.volumeStores) {
      const s = parseVolumeStore(spec);
      await makeDirectory(client, t.datacenter, datastorePath(s.datastore, s.path));
    }
  } finally {
    await client.logout().catch(() => {});
  }
}

/** vic-machine's shares: low, normal, high, or a positive number of shares. */
export function parseShares(text: string | undefined, flag: string): Shares | undefined {
  if (text === undefined) return undefined;
  if (text === 'low' || text === 'normal' || text === 'high') return text;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} wants low, normal, high or a positive whole number of shares, got ${JSON.stringify(text)}`);
  return n;
}

/** What `configure` may change on a VCH on vSphere: the pool's limits and reservations, and more volume stores. */
export interface VsphereChange {
  memoryLimit?: string;
  memoryReservation?: string;
  cpuLimitMHz?: string;
  cpuReservationMHz?: string;
  cpuShares?: string;
  memoryShares?: string;
  volumeStores: string[];
  /** Container networks to add (parsed). */
  containerNetworks: PredefinedNetwork[];
}

/** The settings after `change`, checked; "0" lifts a limit or a reservation. Nothing is applied. */
export function reconfiguredVsphere(current: VsphereSettings, change: VsphereChange): VsphereSettings {
  const next = structuredClone(current);
  const value = (text: string | undefined, flag: string, now: number | undefined) => changedLimit(text, flag, true, now);
  next.pool = {
    ...current.pool,
    memoryLimitMB: value(change.memoryLimit, '--memory-limit', current.pool.memoryLimitMB),
    memoryReservationMB: value(change.memoryReservation, '--memory-reservation', current.pool.memoryReservationMB),
    cpuLimitMHz: value(change.cpuLimitMHz, '--cpu-limit-mhz', current.pool.cpuLimitMHz),
    cpuReservationMHz: value(change.cpuReservationMHz, '--cpu-reservation-mhz', current.pool.cpuReservationMHz),
    cpuShares: parseShares(change.cpuShares, '--cpu-shares') ?? current.pool.cpuShares,
    memoryShares: parseShares(change.memoryShares, '--memory-shares') ?? current.pool.memoryShares,
  };
  const { memoryLimitMB, memoryReservationMB, cpuLimitMHz, cpuReservationMHz } = next.pool;
  if (memoryLimitMB !== undefined && (memoryReservationMB ?? 0) > memoryLimitMB) throw new Error(`--memory-reservation ${memoryReservationMB} is more than --memory-limit ${memoryLimitMB}`);
  if (cpuLimitMHz !== undefined && (cpuReservationMHz ?? 0) > cpuLimitMHz) throw new Error(`--cpu-reservation-mhz ${cpuReservationMHz} is more than --cpu-limit-mhz ${cpuLimitMHz}`);
  const names = new Set(current.volumeStores.map((s) => parseVolumeStore(s).name));
  for (const spec of change.volumeStores) {
    const store = parseVolumeStore(spec);
    // Adding only: a store's volumes would be lost to the VCH (vic-machine refuses it too).
    if (names.has(store.name)) throw new Error(`volume store ${store.name} exists already (${current.volumeStores.find((s) => parseVolumeStore(s).name === store.name)}); volume stores can be added, not changed or removed`);
    names.add(store.name);
    next.volumeStores.push(spec);
  }
  for (const n of change.containerNetworks) {
    if (n.external === current.bridgeNetwork) throw new Error(`--container-network ${n.external}: that is the bridge network; a container network is a port group of its own`);
  }
  const networks = addContainerNetworks(current.containerNetworks ?? [], change.containerNetworks);
  if (networks.length) next.containerNetworks = networks;
  return next;
}

/**
 * Applies configure's changes on vSphere: the added volume stores' folders first (a missing
 * datastore fails here, before anything changed), then the pool's allocations (UpdateConfig).
 */
export async function reconfigureVsphereVch(name: string, current: VsphereSettings, next: VsphereSettings, target: string): Promise<void> {
  const opened = await openVsphere(flagsOf(next, target), name);
  const { client, target: t, vch } = opened;
  try {
    const known = new Set((current.containerNetworks ?? []).map((n) => n.external));
    await checkPortgroups(opened, undefined, (next.containerNetworks ?? []).filter((n) => !known.has(n.external)));
    const had = new Set(current.volumeStores);
    for (const spec of next.volumeStores.filter((s) => !had.has(s))) {
      const s = parseVolumeStore(spec);
      try {
        await makeDirectory(client, t.datacenter, datastorePath(s.datastore, s.path));
      } catch (err) {
        if (err instanceof FileAlreadyExistsFault) continue; // a folder of the admin's: the store's volumes go in it
        throw new Error(`--volume-store ${spec}: ${(err as Error).message}`);
      }
    }
    await updatePool(client, vch!, next.pool);
  } finally {
    await client.logout().catch(() => {});
  }
}

async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof FileNotFoundFault)) throw err;
  }
}

/** Removes everything the VCH has on vSphere; volume stores' folders only when asked. */
export async function destroyVsphereVch(name: string, v: VsphereSettings, target: string, removeVolumeStores: boolean): Promise<void> {
  const flags = flagsOf(v, target);
  // Opened without the pool: what is left of a half-made or half-deleted VCH goes too.
  const { client, target: t, imageStore } = await openVsphere(flags, name, { allowMissing: true });
  try {
    const vch = await findVch(client, t, name);
    if (vch) {
      for (const c of await listContainers(client, vch)) await removeContainerVm(client, c.ref, 'all-disks');
      await destroyPoolAndFolder(client, vch);
    }
    for (const pg of await listNetworkPortgroups(client, t, name)) await destroyPortgroup(client, pg.ref);
    await ignoreMissing(new DiskStore(client, t, name, imageStore.path).destroy());
    if (removeVolumeStores) {
      for (const spec of v.volumeStores) {
        const s = parseVolumeStore(spec);
        await ignoreMissing(deleteDatastoreFile(client, t.datacenter, datastorePath(s.datastore, s.path)));
      }
    }
  } finally {
    await client.logout().catch(() => {});
  }
}

/** Names of the VCH's powered-on container VMs (delete's check while the engine is down). */
export async function poweredOnContainers(name: string, v: VsphereSettings, target: string): Promise<string[]> {
  const { client, vch } = await openVsphere(flagsOf(v, target), name, { allowMissing: true });
  try {
    if (!vch) return [];
    return (await listContainers(client, vch)).filter((c) => c.powerState === 'poweredOn').map((c) => c.name);
  } finally {
    await client.logout().catch(() => {});
  }
}

/** The pool as vSphere has it now, for inspect; an error says why it could not be read. */
export async function vsphereState(name: string, v: VsphereSettings, target: string): Promise<{ pool?: VchLimits; containerVms?: number; error?: string }> {
  try {
    const { client, vch } = await openVsphere(flagsOf(v, target), name);
    try {
      return { pool: await vchLimits(client, vch!), containerVms: (await listContainers(client, vch!)).length };
    } finally {
      await client.logout().catch(() => {});
    }
  } catch (err) {
    return { error: (err as Error).message };
  }
}
