// `bonneville configure --name N`: limits (live), volume stores, DNS servers, registries, certificates.
import { parseArgs } from 'node:util';
import { configureVch } from '../../lifecycle/configure.ts';
import { limitsText, poolText } from '../../lifecycle/views.ts';
import { containerNetworkFlags, containerNetworkOptions, homeOption, limitOptions, lifecycleOf, say } from './lifecycle-common.ts';

export async function configure(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      ...homeOption,
      name: { type: 'string' },
      ...limitOptions,
      'volume-store': { type: 'string', multiple: true, default: [] },
      'dns-server': { type: 'string', multiple: true, default: [] },
      'insecure-registry': { type: 'string', multiple: true, default: [] },
      'registry-ca': { type: 'string', multiple: true, default: [] },
      'whitelist-registry': { type: 'string', multiple: true, default: [] },
      'rotate-certificates': { type: 'boolean', default: false },
      'tls-cname': { type: 'string', multiple: true, default: [] },
      // On vSphere: the resource pool's CPU in MHz (--memory-limit and --memory-reservation are its MB).
      'cpu-limit-mhz': { type: 'string' },
      'cpu-reservation-mhz': { type: 'string' },
      // Refused with the reason: a VCH keeps its image store.
      'image-store': { type: 'string' },
      ...containerNetworkOptions,
    },
  });
  if (!v.name) throw new Error('--name is required');
  const { registry, manager } = lifecycleOf(v.home);
  const next = await configureVch(registry, v.name, {
    memoryLimit: v['memory-limit'],
    cpuLimit: v['cpu-limit'],
    memoryReservation: v['memory-reservation'],
    cpuShares: v['cpu-shares'],
    memoryShares: v['memory-shares'],
    containerMemory: v['container-memory'],
    containerCpus: v['container-cpus'],
    standbyClones: v['standby-clones'],
    cpuLimitMHz: v['cpu-limit-mhz'],
    cpuReservationMHz: v['cpu-reservation-mhz'],
    imageStore: v['image-store'],
    containerNetworks: containerNetworkFlags(v),
    volumeStores: v['volume-store']!,
    dnsServers: v['dns-server']!,
    insecureRegistries: v['insecure-registry']!,
    registryCas: v['registry-ca']!,
    whitelistRegistries: v['whitelist-registry']!,
    rotateCertificates: v['rotate-certificates']!,
    tlsCnames: v['tls-cname']!,
  }, manager);
  const limits = next.vsphere ? poolText(next.vsphere.pool) : limitsText(next.limits);
  say(`VCH ${next.name} reconfigured (limits: ${limits}); its engine restarted, running containers kept running.`);
}
