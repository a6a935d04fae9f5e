// `bonneville configure --name N`: limits (live), volume stores, DNS servers, registries, certificates.
import { parseArgs } from 'node:util';
import { configureVch } from '../../lifecycle/configure.ts';
import { limitsText } from '../../lifecycle/views.ts';
import { homeOption, limitOptions, lifecycleOf, say } from './lifecycle-common.ts';

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
    },
  });
  if (!v.name) throw new Error('--name is required');
  const { registry, manager } = lifecycleOf(v.home);
  const next = await configureVch(registry, v.name, {
    memoryLimit: v['memory-limit'],
    cpuLimit: v['cpu-limit'],
    memoryReservation: v['memory-reservation'],
    cpuShares: v['cpu-shares'],
    containerMemory: v['container-memory'],
    containerCpus: v['container-cpus'],
    standbyClones: v['standby-clones'],
    volumeStores: v['volume-store']!,
    dnsServers: v['dns-server']!,
    insecureRegistries: v['insecure-registry']!,
    registryCas: v['registry-ca']!,
    whitelistRegistries: v['whitelist-registry']!,
    rotateCertificates: v['rotate-certificates']!,
    tlsCnames: v['tls-cname']!,
  }, manager);
  say(`VCH ${next.name} reconfigured (limits: ${limitsText(next.limits)}); its engine restarted, running containers kept running.`);
}
