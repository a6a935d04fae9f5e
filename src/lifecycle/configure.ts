// `bonneville configure`, `upgrade`, `rollback`, `debug --log-level`: change a VCH's settings, then
// apply them. Limits are rewritten in the live cgroup at once; every change restarts the engine (the
// new one re-adopts the running container VMs), since the engine reads its settings at start.
import { join } from 'node:path';
import type { VchRegistry, VchSettings } from './settings.ts';
import { applyLimits, ensureResourcePool } from './resource-pool.ts';
import { changedLimit, dnsServers, bridgeRange, existingDirectory, existingFile, parseVolumeStore, positive, refuseClashes, standbyClones } from './checks.ts';
import { rotateMutualTls, writeEnvFile } from './certificates.ts';
import type { ServiceManager } from './service-manager.ts';
import { engineGet, waitForEngine } from './engine-client.ts';
import { installedVersion } from './version.ts';
import { keepRelease, pruneReleases } from './releases.ts';
import { readTarget, reconfiguredVsphere, reconfigureVsphereVch } from './vsphere-vch.ts';
import { noContainerNetworks, parseContainerNetworks, type ContainerNetworkFlags } from './container-networks.ts';
import { resolve } from 'node:path';

export interface ConfigureRequest {
  memoryLimit?: string;
  cpuLimit?: string;
  memoryReservation?: string;
  cpuShares?: string;
  /** On vSphere: the pool's memory shares. */
  memoryShares?: string;
  containerMemory?: string;
  containerCpus?: string;
  standbyClones?: string;
  /** On vSphere: the pool's CPU, in MHz. */
  cpuLimitMHz?: string;
  cpuReservationMHz?: string;
  /** Refused: a VCH keeps its image store. */
  imageStore?: string;
  /** On vSphere: existing port groups to add as container networks. */
  containerNetworks?: ContainerNetworkFlags;
  volumeStores: string[];
  dnsServers: string[];
  insecureRegistries: string[];
  registryCas: string[];
  whitelistRegistries: string[];
  rotateCertificates: boolean;
  tlsCnames: string[];
}

/** The settings after the request, checked; nothing applied yet. */
export function reconfigured(registry: VchRegistry, current: VchSettings, req: ConfigureRequest): VchSettings {
  const next: VchSettings = structuredClone(current);
  if (req.imageStore !== undefined) {
    // Its images, layers and container disks are there (vic-machine refuses it too).
    throw new Error(`--image-store: the image store of VCH ${current.name} cannot be changed (it holds its images and containers' disks); create another VCH on the new image store instead`);
  }
  if (current.vsphere) return reconfiguredOnVsphere(registry, current, next, req);
  if (req.memoryShares !== undefined) throw new Error(`--memory-shares is for VCHs on vSphere (the resource pool's memory shares); VCH ${current.name} runs on this host`);
  if (req.containerNetworks?.networks.length) throw new Error(`--container-network is for VCHs on vSphere (existing port groups); VCH ${current.name} runs on this host: docker network create`);
  if (req.cpuLimitMHz !== undefined || req.cpuReservationMHz !== undefined) {
    throw new Error(`--cpu-limit-mhz and --cpu-reservation-mhz are for VCHs on vSphere; VCH ${current.name} runs on this host: --cpu-limit CPUS, --cpu-shares N`);
  }
  // "0" lifts a limit.
  next.limits = {
    memoryMiB: changedLimit(req.memoryLimit, '--memory-limit', true, current.limits.memoryMiB),
    cpus: changedLimit(req.cpuLimit, '--cpu-limit', false, current.limits.cpus),
    memoryReservationMiB: changedLimit(req.memoryReservation, '--memory-reservation', true, current.limits.memoryReservationMiB),
    cpuShares: changedLimit(req.cpuShares, '--cpu-shares', true, current.limits.cpuShares),
  };
  if (req.containerMemory) next.containerDefaults.memoryMiB = positive(req.containerMemory, '--container-memory', true)!;
  if (req.containerCpus) next.containerDefaults.cpus = positive(req.containerCpus, '--container-cpus', true)!;
  if (req.standbyClones !== undefined) next.standbyClones = standbyClones(req.standbyClones, next.instantClone) || undefined;
  for (const spec of req.volumeStores) {
    const { name, dir } = parseVolumeStore(spec);
    if (next.volumeStores[name]) throw new Error(`volume store ${name} exists already (${next.volumeStores[name]})`);
    next.volumeStores[name] = join(existingDirectory(resolve(dir), '--volume-store'), 'volumes');
  }
  return commonChanges(registry, next, req);
}

/** DNS servers, registries, certificates: the same on this host and on vSphere. */
function commonChanges(registry: VchRegistry, next: VchSettings, req: ConfigureRequest): VchSettings {
  for (const ca of req.registryCas) existingFile(ca, '--registry-ca');
  const add = (list: string[], more: string[]) => [...new Set([...list, ...more])];
  next.dnsServers = add(next.dnsServers, dnsServers(req.dnsServers));
  next.registries = {
    insecure: add(next.registries.insecure, req.insecureRegistries),
    ca: add(next.registries.ca, req.registryCas.map((c) => resolve(c))),
    whitelist: add(next.registries.whitelist, req.whitelistRegistries),
  };
  if (next.bridgeNetworkRange) next.bridgeNetworkRange = bridgeRange(next.bridgeNetworkRange);
  if (req.rotateCertificates && !next.tls.generated) throw new Error('--rotate-certificates: this VCH uses the admin\'s own certificates; give new ones instead');
  refuseClashes(next, registry.list());
  return next;
}

/** configure on vSphere: the pool (memory in MB, CPU in MHz), more volume stores, and what the engine reads. */
function reconfiguredOnVsphere(registry: VchRegistry, current: VchSettings, next: VchSettings, req: ConfigureRequest): VchSettings {
  if (req.cpuLimit !== undefined) {
    throw new Error('on vSphere the resource pool\'s CPU is in MHz: --cpu-limit-mhz and --cpu-reservation-mhz instead of --cpu-limit');
  }
  if (req.standbyClones !== undefined && req.standbyClones !== '0') throw new Error('--standby-clones is for VCHs on this host (QEMU), not on vSphere');
  next.vsphere = reconfiguredVsphere(current.vsphere!, {
    memoryLimit: req.memoryLimit,
    memoryReservation: req.memoryReservation,
    cpuLimitMHz: req.cpuLimitMHz,
    cpuReservationMHz: req.cpuReservationMHz,
    cpuShares: req.cpuShares,
    memoryShares: req.memoryShares,
    volumeStores: req.volumeStores,
    containerNetworks: parseContainerNetworks(req.containerNetworks ?? noContainerNetworks()),
  });
  // The engine's own gate on container starts follows the pool's memory limit.
  next.limits = { ...next.limits, memoryMiB: next.vsphere.pool.memoryLimitMB, memoryReservationMiB: next.vsphere.pool.memoryReservationMB };
  if (req.containerMemory) next.containerDefaults.memoryMiB = positive(req.containerMemory, '--container-memory', true)!;
  if (req.containerCpus) next.containerDefaults.cpus = positive(req.containerCpus, '--container-cpus', true)!;
  if (next.limits.memoryMiB && next.containerDefaults.memoryMiB > next.limits.memoryMiB) {
    throw new Error(`--container-memory ${next.containerDefaults.memoryMiB} is more than the memory limit ${next.limits.memoryMiB}: no container could start`);
  }
  return commonChanges(registry, next, req);
}

/** Writes the settings and applies them: the cgroup's limits live, then an engine restart. */
export async function applySettings(registry: VchRegistry, next: VchSettings, manager: ServiceManager, options: { rotateCertificates?: boolean; tlsCnames?: string[]; before?: VchSettings } = {}): Promise<void> {
  // vSphere first (new stores' folders, then the pool): a refusal there changes nothing here.
  if (next.vsphere && options.before?.vsphere) await reconfigureVsphereVch(next.name, options.before.vsphere, next.vsphere, readTarget(next.vsphere));
  // The cgroup first: a limit the kernel refuses (memory below what is used now) changes nothing.
  ensureResourcePool(next.resourcePool, next.limits);
  if (options.rotateCertificates) {
    next.tls = { ...(await rotateMutualTls(join(registry.dirOf(next.name), 'certs'), [next.endpoint.host, ...(options.tlsCnames ?? [])])), verify: next.tls.verify };
  }
  registry.write(next);
  writeEnvFile(registry.dirOf(next.name), next);
  await manager.restart(next);
  // An engine from a release reports that release's version; one from the installed tree (a VCH made
  // before releases were kept) reports whatever is installed.
  await waitForEngine(next.socket, { version: next.release ? next.version : installedVersion() });
}

export async function configureVch(registry: VchRegistry, name: string, req: ConfigureRequest, manager: ServiceManager): Promise<VchSettings> {
  const current = registry.read(name);
  const next = reconfigured(registry, current, req);
  await refuseTakenNetworkNames(current, next);
  try {
    await applySettings(registry, next, manager, { rotateCertificates: req.rotateCertificates, tlsCnames: req.tlsCnames, before: current });
  } catch (err) {
    // Back to the limits that held before (a folder made for a new volume store stays, empty).
    try { applyLimits(current.resourcePool, current.limits); } catch { /* the error below says what failed */ }
    if (current.vsphere && next.vsphere && JSON.stringify(current.vsphere.pool) !== JSON.stringify(next.vsphere.pool)) {
      await reconfigureVsphereVch(current.name, current.vsphere, current.vsphere, readTarget(current.vsphere)).catch(() => undefined);
    }
    throw err;
  }
  return next;
}

/** A new container network's name must not be a network the engine has already (a user's `docker network create`). */
async function refuseTakenNetworkNames(current: VchSettings, next: VchSettings): Promise<void> {
  const known = new Set((current.vsphere?.containerNetworks ?? []).map((n) => n.name));
  const added = (next.vsphere?.containerNetworks ?? []).filter((n) => !known.has(n.name));
  if (added.length === 0) return;
  const networks = await engineGet<Array<{ Name: string }>>(current.socket, '/networks', 5000);
  if (!networks) throw new Error(`VCH ${current.name}'s engine does not answer: its networks' names cannot be checked against the new container networks; start it first`);
  for (const n of added) {
    if (networks.some((e) => e.Name === n.name)) throw new Error(`--container-network ${n.external}:${n.name}: VCH ${current.name} has a network named ${n.name} already; choose another alias`);
  }
}

/** Moves the VCH to the installed version; the settings it ran with are kept for rollback. */
export async function upgradeVch(registry: VchRegistry, name: string, manager: ServiceManager, force: boolean): Promise<VchSettings> {
  const current = registry.read(name);
  const target = installedVersion();
  if (current.version === target && !force) throw new Error(`VCH ${name} already runs version ${target} (--force to restart it as an upgrade anyway)`);
  const { previous: _older, ...kept } = current;
  const release = await keepRelease(registry.home, target);
  const next: VchSettings = { ...structuredClone(kept), version: target, release, previous: kept, upgrade: { state: 'upgraded', from: current.version, to: target, at: new Date().toISOString() } };
  await applySettings(registry, next, manager, { before: current });
  // The release of the version before the previous one is no VCH's rollback target any more.
  pruneReleases(registry.home, registry.list());
  return next;
}

/** Back to the settings and the code (its release) from before the last upgrade. */
export async function rollbackVch(registry: VchRegistry, name: string, manager: ServiceManager): Promise<VchSettings> {
  const current = registry.read(name);
  if (!current.previous) throw new Error(`VCH ${name} has no earlier version to roll back to`);
  const next: VchSettings = { ...structuredClone(current.previous), enabled: current.enabled, upgrade: { state: 'rolled-back', from: current.version, to: current.previous.version, at: new Date().toISOString() } };
  // On vSphere the pool gets the allocations it had then (a volume store added since stays on the datastore).
  await applySettings(registry, next, manager, { before: current });
  return next;
}
