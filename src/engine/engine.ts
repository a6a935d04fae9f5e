// One VCH's engine: the port layer opened on the datastore and backend, Docker API routes built from
// the interfaces it hands out, and the servers.
import { mkdirSync, rmSync, existsSync, chmodSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { cpus, totalmem } from 'node:os';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Backend } from '../portlayer/backend.ts';
import type { ManagedImageStore } from '../portlayer/images/types.ts';
import { openPortLayer, type PortLayer } from '../portlayer/port-layer.ts';
import type { PredefinedNetwork } from '../portlayer/networks/model.ts';
import type { ContainerService } from '../portlayer/containers/service.ts';
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
import { RegistryConfig, type RegistrySettings } from './registry-config.ts';
import { eventRoutes } from './routes/events.ts';
import { commitRoutes } from './routes/commit.ts';
import { execRoutes } from './routes/exec.ts';
import { volumeRoutes } from './routes/volumes.ts';
import { networkRoutes } from './routes/networks.ts';
import { swarmRoutes } from './routes/swarm.ts';
import { distributionRoutes } from './routes/distribution.ts';
import { containerPruneRoutes } from './routes/container-prune.ts';
import { buildRoutes } from './routes/build.ts';

export const ENGINE_VERSION = '0.1.0';

export interface EngineOptions {
  name: string;
  datastore: string;
  backend: Backend;
  /** The image store; default: the port layer's own over <datastore>/images, on the backend's disk store. */
  images?: ManagedImageStore;
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
  /** Networks on existing segments the VCH's configuration defines (vic-machine's --container-network). */
  predefinedNetworks?: PredefinedNetwork[];
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
  /** Everything the port layer hands out (containers, images, volumes, networks, events, files, exec). */
  portLayer: PortLayer;
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
  const portLayer = await openPortLayer({
    datastore: options.datastore,
    backend: options.backend,
    images: options.images,
    defaultMemoryMiB: options.defaultMemoryMiB,
    defaultCpus: options.defaultCpus,
    dnsServers: options.dnsServers,
    volumeStores: options.volumeStores,
    bridgeNetworkRange: options.bridgeNetworkRange,
    predefinedNetworks: options.predefinedNetworks,
    memoryLimitMiB: options.limits?.memoryMiB,
    log,
  });
  const { backend, containers, output, files, exec, images, volumes, networks, events } = portLayer;
  const registries = new RegistryConfig(options.datastore, options.registries);
  // A build's context and layers in the making; whatever an interrupted build left is swept here.
  const buildRoot = join(options.datastore, 'build');
  rmSync(buildRoot, { recursive: true, force: true });
  makePrivateDirectory(buildRoot);
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
      containerName: (id) => containers.withId(id)?.record.spec.name,
    }))
    .add(eventRoutes(events))
    .add(commitRoutes({ containers, images }))
    .add(execRoutes(exec))
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
    portLayer,
    close: () => {
      portLayer.close();
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
