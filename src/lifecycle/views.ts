// What `ls` and `inspect` show: the settings, joined with what runs now (the supervisor's view of the
// engine, the engine's own /info, the cgroup's counters).
import type { VchSettings } from './settings.ts';
import type { ServiceManager } from './service-manager.ts';
import { engineGet } from './engine-client.ts';
import { poolStats } from './resource-pool.ts';
import type { PoolStats } from './resource-pool.ts';
import { dockerEnv } from './certificates.ts';
import { installedVersion } from './version.ts';
import { readTarget, vsphereState } from './vsphere-vch.ts';
import type { VchLimits } from '../backends/vsphere/vch-pool.ts';

export interface VchView {
  name: string;
  state: string;
  endpoint: string;
  version: string;
  /** The version the engine reports now (undefined while it is down). */
  engineVersion?: string;
  containers?: { total: number; running: number };
  limits: VchSettings['limits'];
  pid?: number;
  restarts?: number;
  upgrade: { installed: string; available: boolean; previous?: string; last?: VchSettings['upgrade'] };
  env: Record<string, string>;
  resourcePool: VchSettings['resourcePool'] & { stats: PoolStats };
  /** A VCH on vSphere: where, and its pool as vSphere has it now. */
  vsphere?: {
    host: string; computeResource: string; imageStore: string; volumeStores: string[]; bridgeNetwork: string; publicNetwork?: string;
    containerNetworks: NonNullable<NonNullable<VchSettings['vsphere']>['containerNetworks']>; pool?: VchLimits; containerVms?: number; error?: string;
  };
}

export async function viewOf(s: VchSettings, manager: ServiceManager): Promise<VchView> {
  const status = (await manager.status()).find((e) => e.name === s.name);
  const info = await engineGet<{ Containers: number; ContainersRunning: number; ServerVersion: string }>(s.socket, '/info', 5000);
  const state = !s.enabled ? 'disabled' : info ? 'running' : status?.state === 'restarting' ? 'restarting' : status ? 'starting' : 'stopped';
  const installed = installedVersion();
  return {
    name: s.name,
    state,
    endpoint: dockerEnv(s).DOCKER_HOST,
    version: s.version,
    engineVersion: info?.ServerVersion,
    containers: info ? { total: info.Containers, running: info.ContainersRunning } : undefined,
    limits: s.limits,
    pid: status?.pid,
    restarts: status?.restarts,
    upgrade: { installed, available: installed !== s.version, previous: s.previous?.version, last: s.upgrade },
    env: dockerEnv(s),
    resourcePool: { ...s.resourcePool, stats: poolStats(s.resourcePool) },
    vsphere: s.vsphere ? {
      host: s.vsphere.host,
      computeResource: s.vsphere.computeResource,
      imageStore: s.vsphere.imageStore,
      volumeStores: s.vsphere.volumeStores,
      bridgeNetwork: s.vsphere.bridgeNetwork,
      publicNetwork: s.vsphere.publicNetwork,
      containerNetworks: s.vsphere.containerNetworks ?? [],
      ...await (async () => vsphereState(s.name, s.vsphere!, readTarget(s.vsphere!)))().catch((err: unknown) => ({ error: (err as Error).message })),
    } : undefined,
  };
}

export function limitsText(l: VchSettings['limits']): string {
  const parts = [l.memoryMiB ? `mem ${l.memoryMiB}MiB` : '', l.cpus ? `cpu ${l.cpus}` : '',
    l.memoryReservationMiB ? `res ${l.memoryReservationMiB}MiB` : '', l.cpuShares ? `shares ${l.cpuShares}` : ''].filter(Boolean);
  return parts.join(',') || 'none';
}

/** A vSphere VCH's pool as its settings have it (memory in MB, CPU in MHz). */
export function poolText(p: NonNullable<VchSettings['vsphere']>['pool']): string {
  const parts = [p.memoryLimitMB ? `mem ${p.memoryLimitMB}MB` : '', p.memoryReservationMB ? `mem res ${p.memoryReservationMB}MB` : '',
    p.cpuLimitMHz ? `cpu ${p.cpuLimitMHz}MHz` : '', p.cpuReservationMHz ? `cpu res ${p.cpuReservationMHz}MHz` : '',
    p.cpuShares ? `cpu shares ${p.cpuShares}` : '', p.memoryShares ? `mem shares ${p.memoryShares}` : ''].filter(Boolean);
  return parts.join(',') || 'none';
}
