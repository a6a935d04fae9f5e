// Wires one VCH's engine: datastore → image store + backend → port layer → Docker API routes → server.
import { mkdirSync, rmSync, existsSync, chmodSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { cpus, totalmem } from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Backend } from '../portlayer/backend.ts';
import type { ManagedImageStore } from '../portlayer/images/types.ts';
import { ContainerService } from '../portlayer/containers/service.ts';
import { ContainerOutput } from '../portlayer/containers/output.ts';
import { writeJsonAtomic, readJson } from '../portlayer/atomic-file.ts';
import { Router } from './http/router.ts';
import { createApiServer } from './http/server.ts';
import type { MutualTls } from './http/server.ts';
import { systemRoutes } from './routes/system.ts';
import { containerRoutes } from './routes/containers.ts';
import { imageRoutes } from './routes/images.ts';
import { authRoutes } from './routes/auth.ts';
import { systemDfRoutes } from './routes/system-df.ts';
import { containerExportRoutes } from './routes/container-export.ts';
import { containerTopRoutes } from './routes/container-top.ts';
import { containerArchiveRoutes } from './routes/container-archive.ts';
import { ContainerFiles } from '../portlayer/containers/files.ts';
import { RegistryConfig, type RegistrySettings } from './registry-config.ts';
import { eventRoutes } from './routes/events.ts';
import { commitRoutes } from './routes/commit.ts';
import { execRoutes } from './routes/exec.ts';
import { ExecService } from '../portlayer/containers/exec.ts';
import { EventLog } from '../portlayer/events.ts';
import { VolumeService } from '../portlayer/volumes/service.ts';
import { volumeRoutes } from './routes/volumes.ts';
import { NetworkService } from '../portlayer/networks/service.ts';
import { networkRoutes } from './routes/networks.ts';
import { swarmRoutes } from './routes/swarm.ts';
import { hostUpstreams, parseUpstream } from '../portlayer/networks/dns-resolver.ts';
import { parseSubnet } from '../portlayer/networks/ipam.ts';
import { distributionRoutes } from './routes/distribution.ts';
import { containerPruneRoutes } from './routes/container-prune.ts';
import { buildRoutes } from './routes/build.ts';

export const ENGINE_VERSION = '0.1.0';

export interface EngineOptions {
  name: string;
  datastore: string;
  backend: Backend;
  images: ManagedImageStore;
  /** Registry settings given on the command line (the datastore's registries.json adds to them). */
  registries?: Partial<RegistrySettings>;
  /** Unix socket path to listen on. */
  socket: string;
  /** Also listen on TCP with mutual TLS: only clients with a certificate from the VCH's CA get in. */
  tcp?: { host: string; port: number; tls: MutualTls };
  defaultMemoryMiB?: number;
  defaultCpus?: number;
  /** Where the VCH's DNS resolver forwards outside names (vic-machine's --dns-server); default: the host's resolvers. */
  dnsServers?: string[];
  /** The version this engine reports (default ENGINE_VERSION). */
  version?: string;
  /** The VCH's resource pool (vic-machine's limits): the memory limit gates container starts; all are shown by `docker info`. */
  limits?: VchLimits;
  /** Named volume stores beside `default` (<datastore>/volumes unless named here): store name → directory. */
  volumeStores?: Record<string, string>;
  /** CIDR new bridge networks' subnets come from (vic-machine's --bridge-network-range). */
  bridgeNetworkRange?: string;
  /** Log every request with its status (the VCH's debug log level). */
  logRequests?: boolean;
  log?: (line: string) => void;
}

export interface VchLimits {
  memoryMiB?: number;
  cpus?: number;
  memoryReservationMiB?: number;
  cpuShares?: number;
}

export interface RunningEngine {
  server: Server;
  /** The TCP listener's address, when there is one. */
  tcpAddress?: { host: string; port: number };
  containers: ContainerService;
  /** The registry settings in force (flags and registries.json). */
  registries: RegistryConfig;
  close(): Promise<void>;
}

/** The VCH's id (made at its first start): names its host-side resources, such as network bridges. */
export function vchIdentity(datastore: string): string {
  const path = join(datastore, 'vch.json');
  if (existsSync(path)) return readJson<{ id: string }>(path).id;
  const id = randomUUID();
  writeJsonAtomic(path, { id, created: new Date().toISOString() });
  return id;
}

/**
 * The datastore holds containers' environments, disks, memory and logs: root only, whatever the umask
 * and whatever an older version left (chmod, not just mkdir's mode, which the umask may narrow).
 */
export function makePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

export async function startEngine(options: EngineOptions): Promise<RunningEngine> {
  const log = options.log ?? ((line: string) => console.error(line));
  makePrivateDirectory(options.datastore);
  const vchId = vchIdentity(options.datastore);
  const { backend, images } = options;
  const events = new EventLog();
  const volumes = new VolumeService({ root: join(options.datastore, 'volumes'), stores: options.volumeStores, backend, events });
  volumes.recover();
  const dnsUpstreams = options.dnsServers?.length ? options.dnsServers.map(parseUpstream) : hostUpstreams();
  const networks = new NetworkService({ root: join(options.datastore, 'networks'), plumbing: backend.networks, events, log, dnsUpstreams,
    subnetPool: options.bridgeNetworkRange ? parseSubnet(options.bridgeNetworkRange) : undefined });
  await networks.open();
  const containers = new ContainerService({
    root: join(options.datastore, 'containers'),
    backend,
    images,
    defaultMemoryMiB: options.defaultMemoryMiB ?? 256,
    defaultCpus: options.defaultCpus ?? 1,
    defaultStopTimeout: 10,
    events,
    volumes,
    networking: networks,
    memoryLimitMiB: options.limits?.memoryMiB,
  });
  networks.useContainers((id) => {
    const c = containers.list().find((v) => v.record.id === id);
    if (!c) return undefined;
    let vm;
    try { vm = containers.runningVm(id).vm; } catch { /* not running */ }
    return { name: c.record.spec.name, hostname: c.record.spec.hostname, vm, request: c.record.spec.network };
  });
  await containers.recover();
  await networks.reconcile();
  // In the background, as dockerd does: the API answers while those VMs boot.
  void containers.startPerPolicy().catch((err: unknown) => log(`restart policies at start-up: ${(err as Error).message}`));
  volumes.useUsage({ containersUsing: (name) => containers.containersUsingVolume(name) });
  // Deleting images never takes layers from containers: they keep their layer disk paths.
  images.useUsage({
    layerDisksInUse: () => new Set(containers.list().flatMap((c) => c.record.layerDisks)),
    containersUsing: (id) => containers.list().filter((c) => c.record.imageId === id)
      .map((c) => ({ id: c.record.id, running: c.state.status === 'running' || containers.isActive(c.record.id) })),
  });
  const registries = new RegistryConfig(options.datastore, options.registries);
  const output = new ContainerOutput(containers, backend);
  // A build's context and layers in the making; whatever an interrupted build left is swept here.
  const buildRoot = join(options.datastore, 'build');
  rmSync(buildRoot, { recursive: true, force: true });
  makePrivateDirectory(buildRoot);
  const files = new ContainerFiles({ containers, hostTool: backend.hostFileTool?.() });
  const router = new Router()
    .add(systemRoutes({
      vchName: options.name,
      vchId,
      version: options.version ?? ENGINE_VERSION,
      datastore: options.datastore,
      cpus: cpus().length,
      memoryBytes: totalmem(),
      backend: () => backend.info(),
      insecureRegistries: () => registries.access().insecure,
      resourcePool: () => ({
        ...options.limits,
        memoryInUseMiB: containers.memoryInUseMiB(),
        volumeStores: volumes.storeNames(),
        bridgeNetworkRange: options.bridgeNetworkRange,
      }),
      counts: () => {
        const all = containers.list();
        const up = all.filter((c) => c.state.status === 'running');
        const paused = up.filter((c) => c.state.paused).length;
        return { containers: all.length, running: up.length - paused, paused, stopped: all.length - up.length, images: images.list().length };
      },
    }))
    .add(containerRoutes({
      containers,
      output,
      images,
      runtime: backend.info().name,
      vmIdentity: (c) => {
        const info = backend.info();
        const shape = containers.vmShape(c.record.id);
        return { Backend: info.name, Accelerator: info.accelerator, Pid: c.state.pid, MemoryMiB: shape.memoryMiB, CPUs: shape.cpus, Kernel: info.kernelVersion };
      },
      networkView: (c) => ({
        endpoints: networks.endpointsOf(c.record.id),
        ports: networks.portsOf(c.record.id),
        resolves: (n) => networks.hasNameResolution(n),
      }),
    }))
    .add(containerExportRoutes({ containers, images }))
    .add(containerTopRoutes(files))
    .add(containerArchiveRoutes(files))
    .add(imageRoutes({ images, containers, registries }))
    .add(authRoutes({ registries }))
    .add(systemDfRoutes({ images, containers, volumes }))
    .add(volumeRoutes(volumes))
    .add(networkRoutes({
      networks,
      containerId: (ref) => containers.get(ref).record.id,
      containerName: (id) => containers.list().find((c) => c.record.id === id)?.record.spec.name,
    }))
    .add(eventRoutes(events))
    .add(commitRoutes({ containers, images }))
    .add(execRoutes(new ExecService(containers, events)))
    .add(containerPruneRoutes(containers))
    .add(buildRoutes({ containers, output, images, files, workRoot: buildRoot, registryAccess: () => registries.access() }))
    .add(distributionRoutes(registries))
    .add(swarmRoutes());
  const server = createApiServer(router, log);
  const servers = [server];
  mkdirSync(dirname(options.socket), { recursive: true });
  rmSync(options.socket, { force: true });
  await listen(server, options.socket);
  chmodSync(options.socket, 0o660);
  let tcpAddress: RunningEngine['tcpAddress'];
  if (options.tcp) {
    const tlsServer = createApiServer(router, log, options.tcp.tls);
    await listen(tlsServer, options.tcp.port, options.tcp.host);
    const address = tlsServer.address() as AddressInfo;
    tcpAddress = { host: address.address, port: address.port };
    servers.push(tlsServer);
  }
  if (options.logRequests) {
    for (const s of servers) {
      s.on('request', (req, res) => res.on('finish', () => log(`debug: ${req.method} ${req.url} → ${res.statusCode}`)));
    }
  }
  return {
    server,
    tcpAddress,
    containers,
    registries,
    close: () => {
      networks.close();
      return Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      }))).then(() => undefined);
    },
  };
}

function listen(server: Server, pathOrPort: string | number, host?: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => { server.off('error', reject); resolve(); };
    if (typeof pathOrPort === 'string') server.listen(pathOrPort, done);
    else server.listen(pathOrPort, host, done);
  });
}
