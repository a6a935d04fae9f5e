// What the VCH lifecycle verbs share: --home (BONNEVILLE_HOME, else /var/lib/bonneville), the registry
// of VCHs and the service manager for it.
import { VchRegistry, bonnevilleHome } from '../../lifecycle/settings.ts';
import { ServiceManager } from '../../lifecycle/service-manager.ts';
import { resolve } from 'node:path';
import type { ContainerNetworkFlags } from '../../lifecycle/container-networks.ts';

export const homeOption = { home: { type: 'string' as const } };

/** The resource pool, container VM size and standby clones: create sets them, configure changes them (same flags). */
export const limitOptions = {
  'memory-limit': { type: 'string' as const },
  'cpu-limit': { type: 'string' as const },
  'memory-reservation': { type: 'string' as const },
  'cpu-shares': { type: 'string' as const },
  // On vSphere (as --cpu-shares there): low, normal, high or a number of shares.
  'memory-shares': { type: 'string' as const },
  'container-memory': { type: 'string' as const },
  'container-cpus': { type: 'string' as const },
  'standby-clones': { type: 'string' as const },
};

/** vic-machine's container networks (existing port groups as Docker networks): create and configure. */
export const containerNetworkOptions = {
  'container-network': { type: 'string' as const, multiple: true as const, default: [] as string[] },
  'container-network-gateway': { type: 'string' as const, multiple: true as const, default: [] as string[] },
  'container-network-ip-range': { type: 'string' as const, multiple: true as const, default: [] as string[] },
  'container-network-dns': { type: 'string' as const, multiple: true as const, default: [] as string[] },
};

export function containerNetworkFlags(v: { 'container-network'?: string[]; 'container-network-gateway'?: string[]; 'container-network-ip-range'?: string[]; 'container-network-dns'?: string[] }): ContainerNetworkFlags {
  return { networks: v['container-network'] ?? [], gateways: v['container-network-gateway'] ?? [], ipRanges: v['container-network-ip-range'] ?? [], dns: v['container-network-dns'] ?? [] };
}

export function lifecycleOf(home: string | undefined): { registry: VchRegistry; manager: ServiceManager } {
  const dir = resolve(bonnevilleHome(home));
  return { registry: new VchRegistry(dir), manager: new ServiceManager(dir) };
}

export const say = (line: string) => process.stdout.write(line + '\n');
