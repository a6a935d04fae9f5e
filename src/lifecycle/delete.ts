// `bonneville delete`: refuses while containers run (unless forced); then stops the engine for good,
// kills the VCH's container VMs, removes its networks' bridges, taps and NAT rules, its cgroup, its
// datastore and its registry entry; on vSphere, its VMs, port groups, pool, folder and image store
// there. Volume stores stay unless asked for.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { VchRegistry, VchSettings } from './settings.ts';
import type { ServiceManager } from './service-manager.ts';
import { poolPids, removeResourcePool } from './resource-pool.ts';
import { runningContainers } from './engine-client.ts';
import { processAlive } from './supervisor.ts';
import { removeVchNetworking } from '../backends/qemu/network/teardown.ts';
import { pruneReleases } from './releases.ts';
import { destroyVsphereVch, poweredOnContainers, readTarget } from './vsphere-vch.ts';

/** QEMU processes of the VCH's containers, found by their datastore paths (also outside the cgroup). */
export function containerVmPids(datastore: string): number[] {
  const marker = join(datastore, 'containers');
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) pids.push(Number(entry));
    } catch {
      // went away while we looked
    }
  }
  return pids;
}

export async function deleteVch(registry: VchRegistry, name: string, manager: ServiceManager, options: { force: boolean; removeVolumeStores: boolean }): Promise<void> {
  const settings = registry.read(name);
  if (!options.force) {
    const running = await runningContainers(settings.socket);
    const names = running ? running.map((c) => c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12)) : [];
    if (!running && containerVmPids(settings.datastore).length > 0) names.push('(container VMs found while the engine is down)');
    if (!running && settings.vsphere) names.push(...await poweredOnContainers(settings.name, settings.vsphere, readTarget(settings.vsphere)));
    if (names.length > 0) throw new Error(`VCH ${name} has running containers: ${names.join(', ')} (stop them, or delete with --force)`);
  }
  await destroyVch(registry, settings, manager, { keepDatastore: false, removeVolumeStores: options.removeVolumeStores });
  pruneReleases(registry.home, registry.list());
}

export async function destroyVch(registry: VchRegistry, settings: VchSettings, manager: ServiceManager,
  options: { keepDatastore: boolean; removeVolumeStores: boolean }): Promise<void> {
  // Disabled first, so that no supervisor (re)starts the engine while it goes.
  if (registry.exists(settings.name)) registry.write({ ...settings, enabled: false });
  await manager.stop(settings.name);
  // An engine no supervisor runs (its supervisor was killed) goes too: its pid file says which.
  try {
    const pid = Number(readFileSync(join(registry.dirOf(settings.name), 'engine.pid'), 'utf8'));
    if (processAlive(pid, `--datastore ${settings.datastore}`)) process.kill(pid, 'SIGKILL');
  } catch {
    // no pid file, or gone
  }
  const vms = new Set([...containerVmPids(settings.datastore), ...poolPids(settings.resourcePool)]);
  for (const pid of vms) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  await waitUntil(() => containerVmPids(settings.datastore).length === 0 && poolPids(settings.resourcePool).length === 0, 30_000);
  // On vSphere: the container VMs, port groups, pool, folder and image store there (the target file goes last, with the registry entry).
  if (settings.vsphere && existsSync(settings.vsphere.targetFile)) {
    await destroyVsphereVch(settings.name, settings.vsphere, readTarget(settings.vsphere), options.removeVolumeStores);
  }
  const id = vchId(settings.datastore);
  if (id) await removeVchNetworking(id);
  removeResourcePool(settings.resourcePool);
  const defaultStore = join(settings.datastore, 'volumes');
  if (options.removeVolumeStores) {
    for (const dir of Object.values(settings.volumeStores)) rmSync(dir, { recursive: true, force: true });
  }
  if (!options.keepDatastore && existsSync(settings.datastore)) {
    // The default volume store lives in the datastore: kept (with nothing else) unless asked for.
    for (const entry of readdirSync(settings.datastore)) {
      if (join(settings.datastore, entry) === defaultStore && !options.removeVolumeStores) continue;
      rmSync(join(settings.datastore, entry), { recursive: true, force: true });
    }
    if (readdirSync(settings.datastore).length === 0) rmSync(settings.datastore, { recursive: true, force: true });
  }
  rmSync(registry.dirOf(settings.name), { recursive: true, force: true });
  rmSync(join(registry.home, 'run', settings.name), { recursive: true, force: true });
}

function vchId(datastore: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(datastore, 'vch.json'), 'utf8')) as { id: string }).id;
  } catch {
    return undefined;
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}
