// The port layer's one constructor: from a datastore and a backend, every part built and wired in
// dependency order, crash leftovers recovered, and the interfaces handed out. The engine builds its
// routes from what this returns and wires nothing itself.
import { join } from 'node:path';
import type { Backend } from './backend.ts';
import type { ManagedImageStore } from './images/types.ts';
import { DiskImageStore } from './images/store.ts';
import { ContainerService } from './containers/service.ts';
import { ContainerOutput } from './containers/output.ts';
import { ContainerFiles } from './containers/files.ts';
import { ExecService } from './containers/exec.ts';
import { EventLog } from './events.ts';
import { VolumeService } from './volumes/service.ts';
import { NetworkService } from './networks/service.ts';
import { hostUpstreams, parseUpstream } from './networks/dns-resolver.ts';
import { parseSubnet } from './networks/ipam.ts';
import type { PredefinedNetwork } from './networks/model.ts';

export interface PortLayerOptions {
  /** The VCH's datastore: containers/, images/, volumes/, networks/ below it. */
  datastore: string;
  backend: Backend;
  /** The image store; by default one over <datastore>/images with the backend's disk store. */
  images?: ManagedImageStore;
  defaultMemoryMiB?: number;
  defaultCpus?: number;
  /** Seconds between the stop signal and the kill when neither request nor container says; default 10. */
  defaultStopTimeout?: number;
  /** Where the VCH's DNS resolver forwards outside names (IP[:PORT]); default: the host's resolvers. */
  dnsServers?: string[];
  /** Named volume stores beside `default` (`docker volume create --opt VolumeStore=NAME`). */
  volumeStores?: Record<string, string>;
  /** CIDR new bridge networks' subnets are taken from (bonneville create --bridge-network-range). */
  bridgeNetworkRange?: string;
  /** The VCH's memory limit: a start whose VM does not fit beside the running ones is refused. */
  memoryLimitMiB?: number;
  /** Networks the VCH's configuration defines on existing segments (vic-machine's --container-network). */
  predefinedNetworks?: PredefinedNetwork[];
  log: (line: string) => void;
}

export interface PortLayer {
  readonly backend: Backend;
  readonly containers: ContainerService;
  readonly output: ContainerOutput;
  readonly files: ContainerFiles;
  readonly exec: ExecService;
  readonly images: ManagedImageStore;
  readonly volumes: VolumeService;
  readonly networks: NetworkService;
  readonly events: EventLog;
  /** Stops what the port layer runs itself (DNS resolvers, port proxies); container VMs keep running. */
  close(): void;
}

export async function openPortLayer(options: PortLayerOptions): Promise<PortLayer> {
  const { backend, datastore, log } = options;
  const events = new EventLog();
  const images = options.images ?? new DiskImageStore({ root: join(datastore, 'images'), disks: backend.disks });
  const volumes = new VolumeService({ root: join(datastore, 'volumes'), stores: options.volumeStores, disks: backend.disks, events });
  volumes.recover();
  const dnsUpstreams = options.dnsServers?.length ? options.dnsServers.map(parseUpstream) : hostUpstreams();
  const networks = new NetworkService({ root: join(datastore, 'networks'), plumbing: backend.networks, events, log, dnsUpstreams,
    subnetPool: options.bridgeNetworkRange ? parseSubnet(options.bridgeNetworkRange) : undefined, predefined: options.predefinedNetworks });
  await networks.open();
  const containers = new ContainerService({
    root: join(datastore, 'containers'),
    backend,
    images,
    defaultMemoryMiB: options.defaultMemoryMiB ?? 256,
    defaultCpus: options.defaultCpus ?? 1,
    defaultStopTimeout: options.defaultStopTimeout ?? 10,
    events,
    volumes,
    networking: networks,
    memoryLimitMiB: options.memoryLimitMiB,
    log,
  });
  // Asked once per container when listing them all: by id, not by scanning the list.
  networks.useContainers((id) => {
    const c = containers.withId(id);
    if (!c) return undefined;
    return { name: c.record.spec.name, hostname: c.record.spec.hostname, vm: containers.vmWithId(id), request: c.record.spec.network, env: c.record.spec.process.env };
  }, (ref) => {
    const all = containers.list();
    const exact = all.find((v) => v.record.id === ref || v.record.spec.name === ref.replace(/^\//, ''));
    if (exact) return exact.record.id;
    const byPrefix = /^[0-9a-f]+$/.test(ref) ? all.filter((v) => v.record.id.startsWith(ref)) : [];
    return byPrefix.length === 1 ? byPrefix[0].record.id : undefined;
  });
  await containers.recover();
  await networks.reconcile();
  // In the background, as dockerd does: the API answers while those VMs boot.
  void containers.startPerPolicy().catch((err: unknown) => log(`restart policies at start-up: ${(err as Error).message}`));
  volumes.useUsage({ containersUsing: (name) => containers.containersUsingVolume(name) });
  // Deleting images never takes layers from containers: they keep their layer disks.
  images.useUsage({
    layerDisksInUse: () => new Set(containers.list().flatMap((c) => c.record.layerDisks)),
    containersUsing: (id) => containers.list().filter((c) => c.record.imageId === id)
      .map((c) => ({ id: c.record.id, running: c.state.status === 'running' || containers.isActive(c.record.id) })),
  });
  return {
    backend,
    containers,
    output: new ContainerOutput(containers, backend),
    files: new ContainerFiles({ containers, stoppedFiles: backend.disks.files }),
    exec: new ExecService(containers, events),
    images,
    volumes,
    networks,
    events,
    close: () => networks.close(),
  };
}
