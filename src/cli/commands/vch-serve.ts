// `bonneville vch serve`: runs one VCH's engine in the foreground on the embedded defaults.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ENGINE_VERSION, makePrivateDirectory, startEngine, vchIdentity } from '../../engine/engine.ts';
import { DiskImageStore } from '../../portlayer/images/store.ts';
import { openQemu, openVsphere, type ServedBackend } from './vch-backends.ts';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { ensureCa, issueClientCertificate, issueServerCertificate, subjectAltNames } from '../../pki/certificates.ts';
import type { MutualTls } from '../../engine/http/server.ts';
import { prepareVchAdmin } from '../../vicadmin/index.ts';
import { installedVersion } from '../../lifecycle/version.ts';
import { parseContainerNetworks } from '../../lifecycle/container-networks.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export async function vchServe(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string', default: 'default' },
      // qemu (VMs on this host) or vsphere (container VMs on vCenter/ESXi: the flags below, as vic-machine's).
      backend: { type: 'string', default: 'qemu' },
      target: { type: 'string' },
      // The target URL (with its credentials) read from a root-only file instead: kept out of the process list.
      'target-file': { type: 'string' },
      thumbprint: { type: 'string' },
      'compute-resource': { type: 'string' },
      'image-store': { type: 'string' },
      'bridge-network': { type: 'string' },
      // An existing port group: containers that publish ports get a NIC on it.
      'public-network': { type: 'string' },
      // Existing port groups as Docker networks (vic-machine's flags; see src/lifecycle/container-networks.ts).
      'container-network': { type: 'string', multiple: true, default: [] },
      'container-network-gateway': { type: 'string', multiple: true, default: [] },
      'container-network-ip-range': { type: 'string', multiple: true, default: [] },
      'container-network-dns': { type: 'string', multiple: true, default: [] },
      // Where container VMs' serial ports connect (the tether's channel; not served yet).
      'tether-uri': { type: 'string' },
      datastore: { type: 'string' },
      socket: { type: 'string' },
      guest: { type: 'string', default: join(repoRoot, 'build/guest') },
      qemu: { type: 'string', default: 'qemu-system-x86_64' },
      accel: { type: 'string' },
      memory: { type: 'string', default: '256' },
      cpus: { type: 'string', default: '1' },
      'boot-timeout': { type: 'string', default: '60' },
      // Cold boots that run at once (twice as many clones), the rest queue (default: from the cores and the accelerator).
      'boot-slots': { type: 'string' },
      'tls-listen': { type: 'string' },
      // Start container VMs by restoring a pre-booted template (on unless this or BONNEVILLE_INSTANT_CLONE=0).
      'no-instant-clone': { type: 'boolean', default: false },
      // Standby clones per VM shape: restored and waiting, each handed to one container's start
      // (default 0, or BONNEVILLE_STANDBY_CLONES).
      'standby-clones': { type: 'string' },
      // Registry access (the datastore's registries.json and certs.d/ add to these).
      'insecure-registry': { type: 'string', multiple: true, default: [] },
      'registry-ca': { type: 'string', multiple: true, default: [] },
      'allowed-registry': { type: 'string', multiple: true, default: [] },
      // Where the VCH's DNS resolver sends questions about outside names (default: the host's resolvers).
      'dns-server': { type: 'string', multiple: true, default: [] },
      // The admin page (HTTPS, client certificate or password; see src/vicadmin) and its password file.
      'admin-listen': { type: 'string' },
      'admin-password-file': { type: 'string' },
      // TLS from given files instead of the generated mutual TLS; --no-tlsverify: no client certificates asked for.
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
      'no-tlsverify': { type: 'boolean', default: false },
      // The VCH's resource pool, as `bonneville create` set it (the cgroup itself is the supervisor's job).
      'memory-limit': { type: 'string' },
      'cpu-limit': { type: 'string' },
      'memory-reservation': { type: 'string' },
      'cpu-shares': { type: 'string' },
      // More volume stores beside `default`: NAME:DIR (a bare DIR replaces `default`'s directory).
      'volume-store': { type: 'string', multiple: true, default: [] },
      'bridge-network-range': { type: 'string' },
      // debug: every request is logged with its status.
      'log-level': { type: 'string', default: 'info' },
    },
  });
  const startedAt = new Date();
  const name = values.name!;
  const datastore = resolve(values.datastore ?? `/var/lib/bonneville/${name}`);
  const socket = resolve(values.socket ?? `/run/bonneville/${name}/docker.sock`);
  makePrivateDirectory(datastore);
  const admin = values['admin-listen']
    ? await prepareVchAdmin({
      listen: values['admin-listen'],
      passwordFile: values['admin-password-file'],
      datastore,
      tls: values['tls-cert'] && values['tls-key'] && values['tls-ca']
        ? { cert: resolve(values['tls-cert']), key: resolve(values['tls-key']), ca: resolve(values['tls-ca']) } : undefined,
    })
    : undefined;
  const log = (message: string) => console.error(`bonneville: ${message}`);
  const predefinedNetworks = parseContainerNetworks({
    networks: values['container-network']!, gateways: values['container-network-gateway']!,
    ipRanges: values['container-network-ip-range']!, dns: values['container-network-dns']!,
  });
  if (predefinedNetworks.length && values.backend !== 'vsphere') throw new Error('--container-network is for --backend vsphere (existing port groups)');
  let served: ServedBackend;
  if (values.backend === 'vsphere') {
    served = await openVsphere({
      name, datastore, log,
      target: values.target ?? (values['target-file'] ? readFileSync(values['target-file'], 'utf8').trim() : undefined), thumbprint: values.thumbprint, computeResource: values['compute-resource'], imageStore: values['image-store'],
      bridgeNetwork: values['bridge-network'], publicNetwork: values['public-network'], volumeStores: values['volume-store']!, tetherURI: values['tether-uri'] ?? process.env.BONNEVILLE_TETHER_URI, guestDir: values.guest,
    });
  } else if (values.backend === 'qemu') {
    served = await openQemu({
      datastore, log, guestDir: values.guest!, qemuBinary: values.qemu!, accel: values.accel, bootTimeout: Number(values['boot-timeout']),
      bootSlots: values['boot-slots'] ? Number(values['boot-slots']) : undefined, noInstantClone: values['no-instant-clone']!,
      volumeStores: parseVolumeStores(values['volume-store']!),
      standbyClones: standbyClones(values['standby-clones'] ?? process.env.BONNEVILLE_STANDBY_CLONES),
    });
  } else {
    throw new Error(`--backend wants qemu or vsphere, got ${values.backend}`);
  }
  const { backend } = served;
  const images = new DiskImageStore({ root: join(datastore, 'images'), disks: backend.disks });
  const tcp = values['tls-listen'] ? await tlsListener(datastore, values['tls-listen'], values) : undefined;
  const engine = await startEngine({
    name,
    datastore,
    backend,
    images,
    socket,
    tcp,
    defaultMemoryMiB: Number(values.memory),
    defaultCpus: Number(values.cpus),
    dnsServers: values['dns-server'],
    version: installedVersion(),
    limits: {
      memoryMiB: optionalNumber(values['memory-limit'], '--memory-limit'),
      cpus: optionalNumber(values['cpu-limit'], '--cpu-limit'),
      memoryReservationMiB: optionalNumber(values['memory-reservation'], '--memory-reservation'),
      cpuShares: optionalNumber(values['cpu-shares'], '--cpu-shares'),
    },
    volumeStores: served.volumeStores,
    bridgeNetworkRange: values['bridge-network-range'],
    predefinedNetworks,
    logRequests: values['log-level'] === 'debug',
    registries: {
      insecureRegistries: values['insecure-registry'],
      caCertificates: values['registry-ca']!.map((path) => resolve(path)),
      allowedRegistries: values['allowed-registry'],
    },
  });
  console.error(`bonneville: VCH '${name}' serving on unix://${socket} (${served.summary})`);
  const endpoints: Record<string, string> = { unix: `unix://${socket}` };
  if (engine.tcpAddress) {
    const { host, port } = engine.tcpAddress;
    endpoints.tcp = `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
    endpoints.certPath = join(datastore, 'certs/client');
    console.error(`bonneville: mutual TLS on ${endpoints.tcp}; clients: DOCKER_HOST=${endpoints.tcp} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${endpoints.certPath}`);
  }
  if (admin) {
    const page = await admin.start({
      name, datastore, version: ENGINE_VERSION, startedAt, qemuBinary: values.qemu!,
      backend: () => backend.info(),
      containers: () => engine.containers.list(),
      imageCount: () => images.list().length,
      registryAccess: () => engine.registries.access(),
      defaults: { memoryMiB: Number(values.memory), cpus: Number(values.cpus) },
    }, (line) => console.error(`bonneville: ${line}`));
    endpoints.admin = page.url;
    console.error(`bonneville: admin page on ${page.url}`);
  }
  writeJsonAtomic(join(datastore, 'endpoints.json'), endpoints);
  served.afterStart?.(Number(values.memory), Number(values.cpus));
  const shutdown = () => {
    // Container VMs keep running: a later engine adopts them. Standby clones go (the backend's close).
    void engine.close().then(() => served.close?.()).then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

function standbyClones(text: string | undefined): number {
  if (text === undefined || text === '') return 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 16) throw new Error(`--standby-clones wants 0 to 16, got ${text}`);
  return n;
}

function optionalNumber(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} wants a positive number, got ${text}`);
  return n;
}

/** --volume-store NAME:DIR or DIR (the `default` store). */
function parseVolumeStores(specs: string[]): Record<string, string> {
  const stores: Record<string, string> = {};
  for (const spec of specs) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(.+)$/.exec(spec);
    stores[m ? m[1] : 'default'] = resolve(m ? m[2] : spec);
  }
  return stores;
}

type TlsFlags = { 'tls-cert'?: string; 'tls-key'?: string; 'tls-ca'?: string; 'no-tlsverify'?: boolean };

/** The TCP listener's TLS: the given files, else the generated mutual TLS. */
async function tlsListener(datastore: string, listen: string, flags: TlsFlags): Promise<{ host: string; port: number; tls: MutualTls }> {
  if (!flags['tls-cert'] && !flags['tls-key']) return mutualTls(datastore, listen, flags['no-tlsverify'] === true);
  if (!flags['tls-cert'] || !flags['tls-key']) throw new Error('--tls-cert and --tls-key go together');
  if (!flags['tls-ca'] && !flags['no-tlsverify']) throw new Error('--tls-cert needs --tls-ca (clients are verified) or --no-tlsverify');
  const { host, port } = parseListen(listen);
  return {
    host,
    port,
    tls: {
      cert: readFileSync(flags['tls-cert']),
      key: readFileSync(flags['tls-key']),
      ca: flags['no-tlsverify'] ? undefined : readFileSync(flags['tls-ca']!),
    },
  };
}

function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!match) throw new Error(`--tls-listen wants HOST:PORT, got ${listen}`);
  return { host: match[1] ?? match[2], port: Number(match[3]) };
}

/** The VCH's CA, its server certificate and one client certificate (for DOCKER_CERT_PATH), made once. */
async function mutualTls(datastore: string, listen: string, noVerify = false): Promise<{ host: string; port: number; tls: MutualTls }> {
  const match = /^(?:\[(.+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!match) throw new Error(`--tls-listen wants HOST:PORT, got ${listen}`);
  const host = match[1] ?? match[2];
  const certs = join(datastore, 'certs');
  const ca = await ensureCa(certs, 'Bonneville VCH CA');
  const server = await issueServerCertificate(ca, certs, subjectAltNames([host]));
  await issueClientCertificate(ca, join(certs, 'client'), 'bonneville-client');
  return {
    host,
    port: Number(match[3]),
    tls: { cert: readFileSync(server.cert), key: readFileSync(server.key), ca: noVerify ? undefined : readFileSync(ca.cert) },
  };
}
