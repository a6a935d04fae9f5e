// `bonneville vch serve`: runs one VCH's engine in the foreground on the embedded defaults.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makePrivateDirectory, startEngine, vchIdentity } from '../../engine/engine.ts';
import { QemuBackend } from '../../backends/qemu/backend.ts';
import { findGuestArtifacts } from '../../backends/qemu/guest-artifacts.ts';
import { chooseAccelerator } from '../../backends/qemu/accel-probe.ts';
import { readTscKhz } from '../../backends/qemu/host.ts';
import { DiskImageStore } from '../../portlayer/images/store.ts';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { ensureCa, issueClientCertificate, issueServerCertificate, subjectAltNames } from '../../pki/certificates.ts';
import type { MutualTls } from '../../engine/http/server.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export async function vchServe(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string', default: 'default' },
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
      // Registry access (the datastore's registries.json and certs.d/ add to these).
      'insecure-registry': { type: 'string', multiple: true, default: [] },
      'registry-ca': { type: 'string', multiple: true, default: [] },
      'allowed-registry': { type: 'string', multiple: true, default: [] },
      // Where the VCH's DNS resolver sends questions about outside names (default: the host's resolvers).
      'dns-server': { type: 'string', multiple: true, default: [] },
    },
  });
  const name = values.name!;
  const datastore = resolve(values.datastore ?? `/var/lib/bonneville/${name}`);
  const socket = resolve(values.socket ?? `/run/bonneville/${name}/docker.sock`);
  makePrivateDirectory(datastore);
  const guest = findGuestArtifacts(values.guest!);
  const tscKhz = readTscKhz();
  const accel = await chooseAccelerator({
    qemuBinary: values.qemu!,
    guest,
    tscKhz,
    // /run is per host boot, like the answer: every VCH on this host shares one probe.
    cacheFile: '/run/bonneville/accelerator.json',
    forced: values.accel ?? process.env.BONNEVILLE_ACCEL,
  });
  const instantCloneOff = values['no-instant-clone'] ? '--no-instant-clone'
    : process.env.BONNEVILLE_INSTANT_CLONE === '0' ? 'BONNEVILLE_INSTANT_CLONE=0' : undefined;
  const backend = new QemuBackend({
    qemuBinary: values.qemu!,
    kernel: guest.kernel,
    initrd: guest.initrd,
    kernelVersion: guest.kernelVersion,
    accel: accel.accel,
    accelReason: accel.reason,
    tscKhz,
    bootTimeoutSeconds: Number(values['boot-timeout']),
    bootSlots: values['boot-slots'] ? Number(values['boot-slots']) : undefined,
    templatesDir: instantCloneOff ? undefined : join(datastore, 'templates'),
    instantCloneOffReason: instantCloneOff ? `disabled by ${instantCloneOff}` : undefined,
    log: (message) => console.error(`bonneville: ${message}`),
    // Names this VCH's bridges and taps; BONNEVILLE_NETWORKS=0 leaves containers with loopback only.
    vchId: process.env.BONNEVILLE_NETWORKS === '0' ? undefined : vchIdentity(datastore),
  });
  const images = new DiskImageStore({ root: join(datastore, 'images'), disks: backend.disks });
  const tcp = values['tls-listen'] ? await mutualTls(datastore, values['tls-listen']) : undefined;
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
    registries: {
      insecureRegistries: values['insecure-registry'],
      caCertificates: values['registry-ca']!.map((path) => resolve(path)),
      allowedRegistries: values['allowed-registry'],
    },
  });
  console.error(`bonneville: VCH '${name}' serving on unix://${socket} (qemu, ${accel.accel}: ${accel.reason})`);
  const endpoints: Record<string, string> = { unix: `unix://${socket}` };
  if (engine.tcpAddress) {
    const { host, port } = engine.tcpAddress;
    endpoints.tcp = `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
    endpoints.certPath = join(datastore, 'certs/client');
    console.error(`bonneville: mutual TLS on ${endpoints.tcp}; clients: DOCKER_HOST=${endpoints.tcp} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${endpoints.certPath}`);
  }
  writeJsonAtomic(join(datastore, 'endpoints.json'), endpoints);
  // The default VM shape's template is made now, in the background; other shapes at first use.
  void backend.prepareTemplate(Number(values.memory), Number(values.cpus));
  const shutdown = () => {
    // Container VMs keep running: a later engine adopts them.
    void engine.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** The VCH's CA, its server certificate and one client certificate (for DOCKER_CERT_PATH), made once. */
async function mutualTls(datastore: string, listen: string): Promise<{ host: string; port: number; tls: MutualTls }> {
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
    tls: { cert: readFileSync(server.cert), key: readFileSync(server.key), ca: readFileSync(ca.cert) },
  };
}
