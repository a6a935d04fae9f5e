// `bonneville create`: checks everything first (name, values, directories, clashes with other VCHs),
// then makes the VCH — its registry entry and certificates, its cgroup, its engine under the
// supervisor — and undoes all of it if any step fails.
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VchRegistry, validateVchName } from './settings.ts';
import type { VchSettings } from './settings.ts';
import { installedVersion } from './version.ts';
import { dnsServers, bridgeRange, existingDirectory, existingFile, freePort, parseEndpoint, parseVolumeStore, portFree, positive, refuseClashes, standbyClones } from './checks.ts';
import { generateMutualTls, writeEnvFile } from './certificates.ts';
import { planResourcePool } from './resource-pool.ts';
import { ServiceManager } from './service-manager.ts';
import { waitForEngine } from './engine-client.ts';
import { destroyVch } from './delete.ts';
import { keepRelease, pruneReleases } from './releases.ts';
import { noContainerNetworks, parseContainerNetworks, type ContainerNetworkFlags } from './container-networks.ts';
import { makeVsphereVch, parseShares, planVsphere, targetFile, writeTarget } from './vsphere-vch.ts';

export interface CreateRequest {
  name?: string;
  memoryLimit?: string;
  cpuLimit?: string;
  memoryReservation?: string;
  cpuShares?: string;
  /** On vSphere: the pool's memory shares (low, normal, high or a number). */
  memoryShares?: string;
  containerMemory?: string;
  containerCpus?: string;
  imageStore?: string;
  volumeStores: string[];
  bridgeNetworkRange?: string;
  dnsServers: string[];
  tlsCnames: string[];
  cert?: string;
  key?: string;
  tlsCa?: string;
  noTlsVerify: boolean;
  endpoint?: string;
  insecureRegistries: string[];
  registryCas: string[];
  whitelistRegistries: string[];
  noInstantClone: boolean;
  standbyClones?: string;
  /** On vSphere: the target's flags; imageStore and volumeStores then name datastores (DATASTORE[/PATH], DATASTORE/PATH:NAME). */
  vsphere?: {
    target: string;
    thumbprint?: string;
    computeResource?: string;
    bridgeNetwork?: string;
    publicNetwork?: string;
    containerNetworks?: ContainerNetworkFlags;
    cpuLimitMHz?: string;
    cpuReservationMHz?: string;
  };
}

/** The settings a request describes, checked against the host and the other VCHs; nothing is made. */
export async function planVch(registry: VchRegistry, req: CreateRequest): Promise<VchSettings> {
  const name = validateVchName(req.name);
  if (registry.exists(name)) throw new Error(`a VCH named ${name} exists already`);
  const limits = {
    memoryMiB: positive(req.memoryLimit, '--memory-limit', true),
    cpus: positive(req.cpuLimit, '--cpu-limit'),
    memoryReservationMiB: positive(req.memoryReservation, '--memory-reservation', true),
    // On vSphere shares are the pool's (levels or a number), below.
    cpuShares: req.vsphere ? undefined : positive(req.cpuShares, '--cpu-shares', true),
  };
  const containerDefaults = {
    memoryMiB: positive(req.containerMemory, '--container-memory', true) ?? 256,
    cpus: positive(req.containerCpus, '--container-cpus', true) ?? 1,
  };
  if (limits.memoryMiB && containerDefaults.memoryMiB > limits.memoryMiB) {
    throw new Error(`--container-memory ${containerDefaults.memoryMiB} is more than --memory-limit ${limits.memoryMiB}: no container could start`);
  }
  if (limits.memoryReservationMiB && limits.memoryMiB && limits.memoryReservationMiB > limits.memoryMiB) {
    throw new Error('--memory-reservation is more than --memory-limit');
  }
  if (req.vsphere && Number(req.standbyClones ?? 0) > 0) throw new Error('--standby-clones is for VCHs on this host (QEMU), not on vSphere');
  if (req.vsphere && req.cpuLimit) {
    throw new Error('on vSphere the resource pool\'s CPU is in MHz: --cpu-limit-mhz and --cpu-reservation-mhz instead of --cpu-limit');
  }
  if (!req.vsphere && req.memoryShares !== undefined) throw new Error('--memory-shares is for VCHs on vSphere (the resource pool\'s memory shares)');
  const vsphere = req.vsphere ? await planVsphere(name, {
    target: req.vsphere.target,
    thumbprint: req.vsphere.thumbprint,
    computeResource: req.vsphere.computeResource,
    imageStore: req.imageStore,
    volumeStores: req.volumeStores,
    bridgeNetwork: req.vsphere.bridgeNetwork,
    publicNetwork: req.vsphere.publicNetwork,
    containerNetworks: parseContainerNetworks(req.vsphere.containerNetworks ?? noContainerNetworks()),
    pool: {
      memoryLimitMB: limits.memoryMiB,
      memoryReservationMB: limits.memoryReservationMiB,
      cpuLimitMHz: positive(req.vsphere.cpuLimitMHz, '--cpu-limit-mhz', true),
      cpuReservationMHz: positive(req.vsphere.cpuReservationMHz, '--cpu-reservation-mhz', true),
      cpuShares: parseShares(req.cpuShares, '--cpu-shares'),
      memoryShares: parseShares(req.memoryShares, '--memory-shares'),
    },
  }, targetFile(registry, name)) : undefined;
  // On vSphere the engine's records stay here (under the home); the disks are on the datastores.
  const imageStore = resolve(existingDirectory(vsphere ? registry.home : req.imageStore ?? registry.home, '--image-store'));
  const datastore = join(imageStore, name);
  const volumeStores: Record<string, string> = {};
  for (const spec of vsphere ? [] : req.volumeStores) {
    const { name: store, dir } = parseVolumeStore(spec);
    if (volumeStores[store]) throw new Error(`volume store ${store} is given twice`);
    volumeStores[store] = join(existingDirectory(resolve(dir), '--volume-store'), 'volumes');
  }
  volumeStores.default ??= join(datastore, 'volumes');
  const endpoint = parseEndpoint(req.endpoint ?? '127.0.0.1');
  const others = registry.list();
  // Other VCHs' ports are taken even while their engines are down; the admin page wants 2378 (vicadmin's), else the next free one.
  const taken = new Set(others.flatMap((o) => [o.endpoint.port, o.adminPort]));
  const port = endpoint.port ?? await freePort(endpoint.host, new Set([...taken, 2378]));
  if (!(await portFree(endpoint.host, port))) throw new Error(`--endpoint: ${endpoint.host}:${port} is in use`);
  const adminPort = await freePort(endpoint.host, new Set([...taken, port]), 2378);
  if (req.cert || req.key) {
    if (!req.cert || !req.key) throw new Error('--cert and --key go together');
    existingFile(req.cert, '--cert');
    existingFile(req.key, '--key');
    if (!req.tlsCa && !req.noTlsVerify) throw new Error('with --cert, give --tls-ca (clients are verified) or --no-tlsverify');
  }
  if (req.tlsCa) existingFile(req.tlsCa, '--tls-ca');
  for (const ca of req.registryCas) existingFile(ca, '--registry-ca');
  const vchDir = registry.dirOf(name);
  const settings: VchSettings = {
    name,
    version: installedVersion(),
    created: new Date().toISOString(),
    enabled: true,
    datastore,
    socket: registry.home === '/var/lib/bonneville' ? `/run/bonneville/${name}/docker.sock` : join(registry.home, 'run', name, 'docker.sock'),
    endpoint: { host: endpoint.host, port },
    limits,
    containerDefaults,
    volumeStores,
    bridgeNetworkRange: req.bridgeNetworkRange ? bridgeRange(req.bridgeNetworkRange) : undefined,
    dnsServers: dnsServers(req.dnsServers),
    tls: req.cert
      ? { cert: resolve(req.cert), key: resolve(req.key!), ca: req.tlsCa ? resolve(req.tlsCa) : undefined, generated: false, verify: !req.noTlsVerify }
      : { cert: join(vchDir, 'certs/server-cert.pem'), key: join(vchDir, 'certs/server-key.pem'), ca: join(vchDir, 'certs/ca.pem'), clientCertPath: join(vchDir, 'certs/client'), generated: true, verify: !req.noTlsVerify },
    registries: { insecure: req.insecureRegistries, ca: req.registryCas.map((c) => resolve(c)), whitelist: req.whitelistRegistries },
    instantClone: !req.noInstantClone,
    standbyClones: standbyClones(req.standbyClones, !req.noInstantClone),
    adminPort,
    logLevel: 'info',
    resourcePool: planResourcePool(name),
    vsphere,
  };
  refuseClashes(settings, others);
  return settings;
}

/** Makes the VCH `settings` describe and waits for its engine; on failure removes what it made. */
export async function createVch(registry: VchRegistry, settings: VchSettings, tlsCnames: string[], manager: ServiceManager, log: (line: string) => void,
  vsphereTarget?: string): Promise<string> {
  const datastoreExisted = existsSync(settings.datastore);
  try {
    mkdirSync(registry.dirOf(settings.name), { recursive: true, mode: 0o700 });
    if (settings.vsphere) {
      if (!vsphereTarget) throw new Error('a VCH on vSphere needs its --target');
      writeTarget(settings.vsphere, vsphereTarget);
      log(`Making VCH ${settings.name}'s resource pool and VM folder on ${settings.vsphere.host}`);
      await makeVsphereVch(settings.name, settings.vsphere, vsphereTarget);
    }
    if (settings.tls.generated) {
      const tls = await generateMutualTls(join(registry.dirOf(settings.name), 'certs'), [settings.endpoint.host, ...tlsCnames]);
      settings.tls = { ...tls, verify: settings.tls.verify };
    }
    settings.release = await keepRelease(registry.home, settings.version);
    registry.write(settings);
    const envFile = writeEnvFile(registry.dirOf(settings.name), settings);
    log(`Starting VCH ${settings.name} (engine log: ${join(settings.datastore, 'engine.log')})`);
    await manager.start(settings);
    await waitForFirstStart(settings, manager);
    return envFile;
  } catch (err) {
    await destroyVch(registry, settings, manager, { keepDatastore: datastoreExisted, removeVolumeStores: false }).catch(() => undefined);
    rmSync(registry.dirOf(settings.name), { recursive: true, force: true });
    pruneReleases(registry.home, registry.list());
    if (!datastoreExisted) rmSync(settings.datastore, { recursive: true, force: true });
    // A named store's volumes/ directory, if the engine got as far as making it (empty: nothing was stored).
    for (const dir of Object.values(settings.volumeStores)) {
      try { rmdirSync(dir); } catch { /* absent, or holds something */ }
    }
    throw err;
  }
}

/** Waits for the new engine; an engine that dies at its first start fails the create (with its log's end). */
async function waitForFirstStart(settings: VchSettings, manager: ServiceManager): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    try {
      await waitForEngine(settings.socket, { timeoutMs: 1000 });
      return;
    } catch {
      const status = (await manager.status()).find((e) => e.name === settings.name);
      if (status && (status.restarts > 0 || status.state === 'restarting')) {
        let tail = '';
        try { tail = readFileSync(join(settings.datastore, 'engine.log'), 'utf8').trim().split('\n').slice(-5).join('\n'); } catch { /* no log */ }
        throw new Error(`the engine of VCH ${settings.name} failed to start:\n${tail}`);
      }
    }
  }
  throw new Error(`the engine of VCH ${settings.name} did not answer on ${settings.socket}`);
}
