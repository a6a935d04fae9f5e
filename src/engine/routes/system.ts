// /_ping, /version, /info: who this engine is and what it runs on.
import type { Route } from '../http/router.ts';
import { API_VERSION, MIN_API_VERSION } from '../http/router.ts';
import { sendJson } from '../http/io.ts';
import type { BackendInfo } from '../../portlayer/backend.ts';
import { LOOPBACK_INSECURE_CIDRS } from '../../portlayer/images/registry/access.ts';

export interface SystemFacts {
  vchName: string;
  vchId: string;
  version: string;
  datastore: string;
  cpus: number;
  memoryBytes: number;
  backend(): BackendInfo;
  counts(): { containers: number; running: number; paused: number; stopped: number; images: number };
  /** The registries the admin listed as insecure (loopback ones are insecure anyway). */
  insecureRegistries?(): string[];
  /** The VCH's resource pool and stores, as vic-machine set them up. */
  resourcePool?(): ResourcePoolFacts;
}

export interface ResourcePoolFacts {
  memoryMiB?: number;
  cpus?: number;
  memoryReservationMiB?: number;
  cpuShares?: number;
  memoryInUseMiB: number;
  volumeStores: string[];
  bridgeNetworkRange?: string;
}

// `docker info` prints DriverStatus under the storage driver: the VCH's limits and stores go there, as VIC's did.
function resourcePoolStatus(facts: SystemFacts): string[][] {
  const pool = facts.resourcePool?.();
  if (!pool) return [];
  const rows = [
    ['VCH memory limit', pool.memoryMiB ? `${pool.memoryMiB} MiB` : 'none'],
    ['VCH memory in use by container VMs', `${pool.memoryInUseMiB} MiB`],
    ['VCH CPU limit', pool.cpus ? `${pool.cpus} CPUs` : 'none'],
  ];
  if (pool.memoryReservationMiB) rows.push(['VCH memory reservation', `${pool.memoryReservationMiB} MiB`]);
  if (pool.cpuShares) rows.push(['VCH CPU shares', String(pool.cpuShares)]);
  rows.push(['VolumeStores', pool.volumeStores.join(' ')]);
  if (pool.bridgeNetworkRange) rows.push(['Bridge network range', pool.bridgeNetworkRange]);
  return rows;
}

// `docker info`'s "Insecure Registries": the admin's list, then the CIDRs that are insecure by default.
function registryConfig(facts: SystemFacts): Record<string, unknown> {
  const indexConfigs: Record<string, unknown> = { 'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true } };
  for (const name of facts.insecureRegistries?.() ?? []) indexConfigs[name] = { Name: name, Mirrors: [], Secure: false, Official: false };
  return { IndexConfigs: indexConfigs, InsecureRegistryCIDRs: LOOPBACK_INSECURE_CIDRS, Mirrors: [] };
}

export function systemRoutes(facts: SystemFacts): Route[] {
  const ping: Route['handler'] = ({ res }) => {
    // "1": the classic builder is the one POST /build speaks (BuildKit's would be "2").
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '1' });
    res.end('OK');
  };
  return [
    { method: 'GET', path: '/_ping', handler: ping },
    { method: 'HEAD', path: '/_ping', handler: ping },
    { method: 'GET', path: '/version', handler: ({ res }) => sendJson(res, 200, version(facts)) },
    { method: 'GET', path: '/info', handler: ({ res }) => sendJson(res, 200, info(facts)) },
  ];
}

function version(facts: SystemFacts): Record<string, unknown> {
  const backend = facts.backend();
  return {
    Platform: { Name: 'Bonneville' },
    Components: [
      {
        Name: 'Engine',
        Version: facts.version,
        Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: 'amd64', Backend: backend.name, Accelerator: backend.accelerator, Node: process.version },
      },
    ],
    Version: facts.version,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: 'amd64',
    KernelVersion: backend.kernelVersion,
    BuildTime: '',
  };
}

function info(facts: SystemFacts): Record<string, unknown> {
  const backend = facts.backend();
  const counts = facts.counts();
  return {
    ID: facts.vchId,
    Containers: counts.containers,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: counts.images,
    Driver: 'vm-disk',
    DriverStatus: [['Backend', backend.name], ['Accelerator', backend.accelerator], ...backend.details, ['Datastore', facts.datastore], ...resourcePoolStatus(facts)],
    Plugins: { Volume: [], Network: [], Authorization: null, Log: ['json-file'] },
    MemoryLimit: true,
    // The VCH's own limits (bytes / nano-CPUs, as Docker counts them); 0: none.
    VchMemoryLimit: (facts.resourcePool?.().memoryMiB ?? 0) * 1024 ** 2,
    VchNanoCpus: Math.round((facts.resourcePool?.().cpus ?? 0) * 1e9),
    SwapLimit: false,
    CpuCfsPeriod: false,
    CpuCfsQuota: false,
    CPUShares: false,
    CPUSet: false,
    PidsLimit: false,
    IPv4Forwarding: false,
    Debug: false,
    NFd: 0,
    OomKillDisable: false,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'none',
    CgroupVersion: '2',
    NEventsListener: 0,
    KernelVersion: backend.kernelVersion,
    OperatingSystem: `Bonneville (containers as ${backend.name} VMs, ${backend.accelerator})`,
    OSVersion: '',
    OSType: 'linux',
    Architecture: 'x86_64',
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: registryConfig(facts),
    NCPU: facts.cpus,
    MemTotal: facts.memoryBytes,
    GenericResources: null,
    DockerRootDir: facts.datastore,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: facts.vchName,
    Labels: [`com.bonneville.backend=${backend.name}`, `com.bonneville.accelerator=${backend.accelerator}`],
    ExperimentalBuild: false,
    ServerVersion: facts.version,
    Runtimes: { [backend.name]: { path: backend.name } },
    DefaultRuntime: backend.name,
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: '' },
    InitCommit: { ID: '' },
    SecurityOptions: [],
    Warnings: backend.accelerator === 'tcg' ? ['WARNING: hardware virtualisation (KVM) is not usable on this host: container VMs run under TCG emulation'] : [],
  };
}
