// `bonneville configure`, `upgrade`, `rollback`, `debug --log-level`: change a VCH's settings, then
// apply them. Limits are rewritten in the live cgroup at once; every change restarts the engine (the
// new one re-adopts the running container VMs), since the engine reads its settings at start.
import { join } from 'node:path';
import type { VchRegistry, VchSettings } from './settings.ts';
import { applyLimits, ensureResourcePool } from './resource-pool.ts';
import { dnsServers, bridgeRange, existingDirectory, existingFile, parseVolumeStore, positive, refuseClashes, standbyClones } from './checks.ts';
import { rotateMutualTls, writeEnvFile } from './certificates.ts';
import type { ServiceManager } from './service-manager.ts';
import { waitForEngine } from './engine-client.ts';
import { installedVersion } from './version.ts';
import { keepRelease, pruneReleases } from './releases.ts';
import { resolve } from 'node:path';

export interface ConfigureRequest {
  memoryLimit?: string;
  cpuLimit?: string;
  memoryReservation?: string;
  cpuShares?: string;
  containerMemory?: string;
  containerCpus?: string;
  standbyClones?: string;
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
  if (current.vsphere && (req.memoryLimit ?? req.cpuLimit ?? req.memoryReservation ?? req.cpuShares ?? req.volumeStores[0]) !== undefined) {
    // The pool's limits and the stores live in vSphere: changing them there is not built yet.
    throw new Error(`VCH ${current.name} is on vSphere: configure cannot change its resource pool's limits or volume stores yet`);
  }
  // "0" lifts a limit.
  const limit = (text: string | undefined, flag: string, integer: boolean, now: number | undefined) =>
    text === undefined ? now : text === '0' ? undefined : positive(text, flag, integer);
  next.limits = {
    memoryMiB: limit(req.memoryLimit, '--memory-limit', true, current.limits.memoryMiB),
    cpus: limit(req.cpuLimit, '--cpu-limit', false, current.limits.cpus),
    memoryReservationMiB: limit(req.memoryReservation, '--memory-reservation', true, current.limits.memoryReservationMiB),
    cpuShares: limit(req.cpuShares, '--cpu-shares', true, current.limits.cpuShares),
  };
  if (req.containerMemory) next.containerDefaults.memoryMiB = positive(req.containerMemory, '--container-memory', true)!;
  if (req.containerCpus) next.containerDefaults.cpus = positive(req.containerCpus, '--container-cpus', true)!;
  if (req.standbyClones !== undefined) next.standbyClones = standbyClones(req.standbyClones, next.instantClone) || undefined;
  for (const spec of req.volumeStores) {
    const { name, dir } = parseVolumeStore(spec);
    if (next.volumeStores[name]) throw new Error(`volume store ${name} exists already (${next.volumeStores[name]})`);
    next.volumeStores[name] = join(existingDirectory(resolve(dir), '--volume-store'), 'volumes');
  }
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

/** Writes the settings and applies them: the cgroup's limits live, then an engine restart. */
export async function applySettings(registry: VchRegistry, next: VchSettings, manager: ServiceManager, options: { rotateCertificates?: boolean; tlsCnames?: string[] } = {}): Promise<void> {
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
  try {
    await applySettings(registry, next, manager, { rotateCertificates: req.rotateCertificates, tlsCnames: req.tlsCnames });
  } catch (err) {
    // Back to the limits that held before.
    try { applyLimits(current.resourcePool, current.limits); } catch { /* the error below says what failed */ }
    throw err;
  }
  return next;
}

/** Moves the VCH to the installed version; the settings it ran with are kept for rollback. */
export async function upgradeVch(registry: VchRegistry, name: string, manager: ServiceManager, force: boolean): Promise<VchSettings> {
  const current = registry.read(name);
  const target = installedVersion();
  if (current.version === target && !force) throw new Error(`VCH ${name} already runs version ${target} (--force to restart it as an upgrade anyway)`);
  const { previous: _older, ...kept } = current;
  const release = await keepRelease(registry.home, target);
  const next: VchSettings = { ...structuredClone(kept), version: target, release, previous: kept, upgrade: { state: 'upgraded', from: current.version, to: target, at: new Date().toISOString() } };
  await applySettings(registry, next, manager);
  // The release of the version before the previous one is no VCH's rollback target any more.
  pruneReleases(registry.home, registry.list());
  return next;
}

/** Back to the settings and the code (its release) from before the last upgrade. */
export async function rollbackVch(registry: VchRegistry, name: string, manager: ServiceManager): Promise<VchSettings> {
  const current = registry.read(name);
  if (!current.previous) throw new Error(`VCH ${name} has no earlier version to roll back to`);
  const next: VchSettings = { ...structuredClone(current.previous), enabled: current.enabled, upgrade: { state: 'rolled-back', from: current.version, to: current.previous.version, at: new Date().toISOString() } };
  await applySettings(registry, next, manager);
  return next;
}
