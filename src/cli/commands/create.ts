// `bonneville create`: vic-machine create for a VCH on this host, or on vSphere with --target.
import { parseArgs } from 'node:util';
import { planVch, createVch } from '../../lifecycle/create.ts';
import { envLines } from '../../lifecycle/certificates.ts';
import { containerNetworkFlags, containerNetworkOptions, homeOption, limitOptions, lifecycleOf, say } from './lifecycle-common.ts';

export async function create(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      ...homeOption,
      name: { type: 'string' },
      ...limitOptions,
      'image-store': { type: 'string' },
      'volume-store': { type: 'string', multiple: true, default: [] },
      'bridge-network-range': { type: 'string' },
      'dns-server': { type: 'string', multiple: true, default: [] },
      'tls-cname': { type: 'string', multiple: true, default: [] },
      cert: { type: 'string' },
      key: { type: 'string' },
      'tls-ca': { type: 'string' },
      'no-tlsverify': { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      'insecure-registry': { type: 'string', multiple: true, default: [] },
      'registry-ca': { type: 'string', multiple: true, default: [] },
      'whitelist-registry': { type: 'string', multiple: true, default: [] },
      'no-instant-clone': { type: 'boolean', default: false },
      // A VCH on vSphere (vic-machine's flags); --image-store and --volume-store then name datastores.
      target: { type: 'string' },
      thumbprint: { type: 'string' },
      'compute-resource': { type: 'string' },
      'bridge-network': { type: 'string' },
      'public-network': { type: 'string' },
      ...containerNetworkOptions,
      'cpu-limit-mhz': { type: 'string' },
      'cpu-reservation-mhz': { type: 'string' },
    },
  });
  const { registry, manager } = lifecycleOf(v.home);
  if (!v.target && v['container-network']!.length) throw new Error('--container-network needs --target (existing port groups on vSphere); on this host: docker network create');
  const settings = await planVch(registry, {
    name: v.name,
    memoryLimit: v['memory-limit'],
    cpuLimit: v['cpu-limit'],
    memoryReservation: v['memory-reservation'],
    cpuShares: v['cpu-shares'],
    memoryShares: v['memory-shares'],
    containerMemory: v['container-memory'],
    containerCpus: v['container-cpus'],
    standbyClones: v['standby-clones'],
    imageStore: v['image-store'],
    volumeStores: v['volume-store']!,
    bridgeNetworkRange: v['bridge-network-range'],
    dnsServers: v['dns-server']!,
    tlsCnames: v['tls-cname']!,
    cert: v.cert,
    key: v.key,
    tlsCa: v['tls-ca'],
    noTlsVerify: v['no-tlsverify']!,
    endpoint: v.endpoint,
    insecureRegistries: v['insecure-registry']!,
    registryCas: v['registry-ca']!,
    whitelistRegistries: v['whitelist-registry']!,
    noInstantClone: v['no-instant-clone']!,
    vsphere: v.target ? {
      target: v.target,
      thumbprint: v.thumbprint,
      computeResource: v['compute-resource'],
      bridgeNetwork: v['bridge-network'],
      publicNetwork: v['public-network'],
      containerNetworks: containerNetworkFlags(v),
      cpuLimitMHz: v['cpu-limit-mhz'],
      cpuReservationMHz: v['cpu-reservation-mhz'],
    } : undefined,
  });
  const envFile = await createVch(registry, settings, v['tls-cname']!, manager, say, v.target);
  say(`VCH ${settings.name} is running. Point the docker CLI at it (also in ${envFile}):`);
  process.stdout.write(envLines(settings));
  say(`or over its unix socket: DOCKER_HOST=unix://${settings.socket}`);
}
