// vic-machine's container networks: existing port groups a VCH offers as Docker networks under an
// alias. `--container-network PG[:ALIAS]` (repeatable), `--container-network-gateway PG:GW/PREFIX`,
// `--container-network-ip-range PG:CIDR|FIRST-LAST`, `--container-network-dns PG:IP` (repeatable). Parsed and
// checked here for create, configure and `vch serve` alike; the port layer keeps them as predefined
// networks (NetworkRecord.external names the port group).
import { formatSubnet, isHostAddress, numberToIp, parseRange, parseSubnet, rangeWithin } from '../portlayer/networks/ipam.ts';
import type { PredefinedNetwork } from '../portlayer/networks/model.ts';

export interface ContainerNetworkFlags {
  networks: string[];
  gateways: string[];
  ipRanges: string[];
  dns: string[];
}

export const noContainerNetworks = (): ContainerNetworkFlags => ({ networks: [], gateways: [], ipRanges: [], dns: [] });

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const RESERVED = new Set(['bridge', 'none', 'host']);
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

/** `PG:VALUE` split at the last colon (port group names may hold one, the values do not). */
function pgAndValue(spec: string, flag: string, what: string): [string, string] {
  const at = spec.lastIndexOf(':');
  if (at <= 0 || at === spec.length - 1) throw new Error(`${flag} wants PORTGROUP:${what}, got ${JSON.stringify(spec)}`);
  return [spec.slice(0, at), spec.slice(at + 1)];
}

/** The flags as predefined networks, checked; an empty list when none are given. */
export function parseContainerNetworks(flags: ContainerNetworkFlags): PredefinedNetwork[] {
  const byPg = new Map<string, PredefinedNetwork>();
  const aliases = new Set<string>();
  for (const spec of flags.networks) {
    const at = spec.lastIndexOf(':');
    const pg = at > 0 ? spec.slice(0, at) : spec;
    const alias = at > 0 ? spec.slice(at + 1) : spec;
    if (!pg) throw new Error(`--container-network wants PORTGROUP[:ALIAS], got ${JSON.stringify(spec)}`);
    if (!NETWORK_NAME.test(alias)) throw new Error(`--container-network ${spec}: ${JSON.stringify(alias)} is not a valid network name (give one: PORTGROUP:ALIAS)`);
    if (RESERVED.has(alias)) throw new Error(`--container-network ${spec}: ${alias} is a pre-defined network's name`);
    if (byPg.has(pg)) throw new Error(`--container-network: port group ${pg} is given twice`);
    if (aliases.has(alias)) throw new Error(`--container-network: the name ${alias} is given twice`);
    aliases.add(alias);
    byPg.set(pg, { name: alias, external: pg });
  }
  const networkOf = (pg: string, flag: string) => {
    const net = byPg.get(pg);
    if (!net) throw new Error(`${flag}: ${pg} is not a --container-network`);
    return net;
  };
  for (const spec of flags.gateways) {
    const [pg, cidr] = pgAndValue(spec, '--container-network-gateway', 'GATEWAY/PREFIX');
    const net = networkOf(pg, '--container-network-gateway');
    const [gw] = cidr.split('/');
    let subnet;
    try {
      if (!IPV4.test(gw) || !cidr.includes('/')) throw new Error('not an IPv4 address with a prefix');
      subnet = parseSubnet(cidr);
    } catch (err) {
      throw new Error(`--container-network-gateway ${spec}: ${(err as Error).message}`);
    }
    if (!isHostAddress(subnet, gw)) throw new Error(`--container-network-gateway ${spec}: ${gw} is not a host address of ${formatSubnet(subnet)}`);
    net.gateway = cidr;
  }
  for (const spec of flags.ipRanges) {
    const [pg, text] = pgAndValue(spec, '--container-network-ip-range', 'CIDR or PORTGROUP:FIRST-LAST');
    const net = networkOf(pg, '--container-network-ip-range');
    if (!net.gateway) throw new Error(`--container-network-ip-range ${spec}: give the network's --container-network-gateway ${pg}:GW/PREFIX too`);
    let range;
    try {
      range = parseRange(text);
    } catch (err) {
      const why = err instanceof RangeError && /first address is after/.test(err.message) ? `${err.message}; ` : '';
      throw new Error(`--container-network-ip-range ${spec}: ${why}wants a CIDR or FIRST-LAST inside the network (e.g. 10.3.4.0/24 or 10.3.4.10-10.3.4.20)`);
    }
    const subnet = parseSubnet(net.gateway);
    if (!rangeWithin(subnet, range)) throw new Error(`--container-network-ip-range ${spec}: not inside ${formatSubnet(subnet)}`);
    // A CIDR is kept as one (its network address); FIRST-LAST as written, normalised.
    net.ipRange = text.includes('-') ? `${numberToIp(range.first)}-${numberToIp(range.last)}` : formatSubnet(parseSubnet(text));
  }
  for (const spec of flags.dns) {
    const [pg, ip] = pgAndValue(spec, '--container-network-dns', 'IP');
    const net = networkOf(pg, '--container-network-dns');
    if (!IPV4.test(ip)) throw new Error(`--container-network-dns ${spec}: ${ip} is not an IPv4 address`);
    net.dns = [...new Set([...(net.dns ?? []), ip])];
  }
  return [...byPg.values()];
}

/** The same networks as `vch serve` flags. */
export function containerNetworkArgs(networks: PredefinedNetwork[]): string[] {
  const args: string[] = [];
  for (const n of networks) {
    args.push('--container-network', `${n.external}:${n.name}`);
    if (n.gateway) args.push('--container-network-gateway', `${n.external}:${n.gateway}`);
    if (n.ipRange) args.push('--container-network-ip-range', `${n.external}:${n.ipRange}`);
    for (const d of n.dns ?? []) args.push('--container-network-dns', `${n.external}:${d}`);
  }
  return args;
}

/** Configure adds networks, never changes or removes one (vic-machine's rule too). */
export function addContainerNetworks(current: PredefinedNetwork[], added: PredefinedNetwork[]): PredefinedNetwork[] {
  for (const n of added) {
    const samePg = current.find((c) => c.external === n.external);
    if (samePg) throw new Error(`--container-network ${n.external}: the VCH has it already (as ${samePg.name}); container networks can be added, not changed`);
    if (current.some((c) => c.name === n.name)) throw new Error(`--container-network ${n.external}:${n.name}: the VCH has a container network named ${n.name} already`);
  }
  return [...current, ...added];
}
