// Networks as the port layer runs them: the records (create, remove, connect …), the host side through
// the backend's NetworkPlumbing, and what a container's start needs — its NICs, its /etc/hosts, its
// published ports. Names resolve through the VCH's DNS resolver on each network's gateway
// (dns-resolver.ts) and, as the fallback, /etc/hosts: every container on a user-defined network lists
// its peers there, and running peers get a new list whenever a network's membership changes.
import { randomBytes } from 'node:crypto';
import type { NetworkPlumbing, VmHandle, VmNic } from '../backend.ts';
import type { ContainerRecord } from '../containers/model.ts';
import { PortLayerError, conflict, invalid, notFound } from '../errors.ts';
import type { EventLog } from '../events.ts';
import type { ContainerNetworking, StartNetworking } from './attachment.ts';
import { contains, firstHost, overlaps, formatSubnet, ipToNumber, isHostAddress, macFor, nextFree, parseRange, parseSubnet, pickSubnet, rangeWithin, within } from './ipam.ts';
import type { Subnet } from './ipam.ts';
import type { ContainerNetworkRequest, EndpointRecord, NetworkRecord, PortBinding, PortRequest, PredefinedNetwork } from './model.ts';
import { DEFAULT_NETWORK } from './model.ts';
import { openProxy, type OpenProxy } from './port-proxy.ts';
import { NetworkStore } from './store.ts';
import { hostsLines } from './hosts.ts';
import { DnsResolver } from './dns-resolver.ts';
import { linkEnv } from './links.ts';
import type { Upstream } from './dns-resolver.ts';

/** What the network service needs to know about a container. */
export interface ContainerLookup {
  (id: string): { name: string; hostname: string; vm?: VmHandle; request?: ContainerNetworkRequest; env?: string[] } | undefined;
}

/** A container's id by name, id or unique id prefix (what a link names). */
export type ContainerFinder = (ref: string) => string | undefined;

export interface NetworkServiceOptions {
  /** <datastore>/networks */
  root: string;
  plumbing?: NetworkPlumbing;
  events: EventLog;
  log?: (message: string) => void;
  /** Where the VCH's resolver sends questions about outside names; absent: no resolver (names by /etc/hosts only). */
  dnsUpstreams?: Upstream[];
  /** Where new networks' subnets come from when the client names none (default: Docker's 172.17-31/16, then 10.89.x/24). */
  subnetPool?: Subnet;
  /** Networks the VCH's configuration defines on existing segments (made at open, never removed by the VCH). */
  predefined?: PredefinedNetwork[];
}

export interface NetworkCreateRequest {
  name: string;
  subnet?: string;
  gateway?: string;
  /** Where dynamic addresses come from: a CIDR inside the subnet. */
  ipRange?: string;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  /** A predefined network's existing segment and name servers (never from a Docker request). */
  external?: string;
  dns?: string[];
}

const forbidden = (message: string) => new PortLayerError('Forbidden', message);

/** The default bridge and the VCH's networks on existing segments: neither rm nor prune takes them. */
const isPredefined = (net: NetworkRecord) => net.name === DEFAULT_NETWORK || Boolean(net.external);

/** A subnet a client gave; a malformed one is its mistake (InvalidParameter), said after `context`. */
function subnetParam(cidr: string, context?: string): Subnet {
  try {
    return parseSubnet(cidr);
  } catch (err) {
    throw invalid(context ? `${context}: ${(err as Error).message}` : (err as Error).message);
  }
}

export class NetworkService implements ContainerNetworking {
  private readonly options: NetworkServiceOptions;
  private readonly store: NetworkStore;
  private readonly nets = new Map<string, NetworkRecord>();
  private readonly proxies = new Map<string, OpenProxy[]>();
  /** Networks whose host side exists (made or adopted by this engine). */
  private readonly ready = new Set<string>();
  private lookup: ContainerLookup = () => undefined;
  private find: ContainerFinder = () => undefined;
  private readonly resolver?: DnsResolver;
  /** Networks whose resolver listens on their gateway. */
  private readonly resolving = new Set<string>();

  constructor(options: NetworkServiceOptions) {
    this.options = options;
    this.store = new NetworkStore(options.root);
    if (options.dnsUpstreams && options.plumbing) {
      this.resolver = new DnsResolver({ upstreams: options.dnsUpstreams, lookup: (id, name, from) => this.addressesOf(id, name, from), log: options.log });
    }
  }

  /** Stops the resolver's listeners (engine shutdown). */
  close(): void {
    this.resolver?.closeAll();
  }

  /** Loads the networks and makes sure the default one exists (its host side too). */
  async open(): Promise<void> {
    for (const net of this.store.load()) this.nets.set(net.id, net);
    if (!this.byName(DEFAULT_NETWORK)) {
      await this.create({ name: DEFAULT_NETWORK, options: { 'com.docker.network.bridge.default_bridge': 'true' } }, { quiet: true });
    }
    for (const p of this.options.predefined ?? []) await this.openPredefined(p);
  }

  /** A predefined network: made once, kept after (its name servers follow the configuration). */
  private async openPredefined(p: PredefinedNetwork): Promise<void> {
    const existing = this.byName(p.name);
    if (existing && existing.external !== p.external) {
      // The lifecycle refuses such a name; an engine started by hand says so and goes on without it.
      this.log(`network ${p.name} exists already and is not on ${p.external}: that predefined network is left out`);
      return;
    }
    if (existing) {
      if (JSON.stringify(existing.dns ?? []) !== JSON.stringify(p.dns ?? [])) {
        existing.dns = p.dns?.length ? p.dns : undefined;
        this.store.save(existing);
      }
      return;
    }
    const gateway = p.gateway?.split('/')[0];
    await this.create({
      name: p.name, subnet: p.gateway ? formatSubnet(subnetParam(p.gateway, `predefined network ${p.name}`)) : undefined, gateway, ipRange: p.ipRange,
      external: p.external, dns: p.dns?.length ? p.dns : undefined, options: { 'com.bonneville.network.external': p.external },
    }, { quiet: true });
  }

  /** After the containers were recovered: forgets endpoints of containers that no longer exist, removes stale host interfaces. */
  async reconcile(): Promise<void> {
    for (const net of this.nets.values()) {
      const gone = Object.keys(net.endpoints).filter((id) => !this.lookup(id));
      if (gone.length === 0) continue;
      for (const id of gone) delete net.endpoints[id];
      this.store.save(net);
    }
    await this.options.plumbing?.sweep([...this.nets.values()].map((n) => ({ id: n.id, subnet: n.subnet })));
  }

  useContainers(lookup: ContainerLookup, find?: ContainerFinder): void {
    this.lookup = lookup;
    if (find) this.find = find;
  }

  list(): NetworkRecord[] {
    return [...this.nets.values()];
  }

  /** By full id, exact name, or unique id prefix (Docker's order). */
  get(ref: string): NetworkRecord {
    const exact = this.nets.get(ref) ?? this.byName(ref);
    if (exact) return exact;
    const matches = /^[0-9a-f]+$/.test(ref) ? [...this.nets.values()].filter((n) => n.id.startsWith(ref)) : [];
    if (matches.length === 1) return matches[0];
    if (matches.length > 1) throw invalid(`network ${ref} is ambiguous (${matches.length} matches found based on ID prefix)`);
    throw notFound(`network ${ref} not found`);
  }

  private byName(name: string): NetworkRecord | undefined {
    for (const net of this.nets.values()) if (net.name === name) return net;
    return undefined;
  }

  async create(request: NetworkCreateRequest, how: { quiet?: boolean } = {}): Promise<NetworkRecord> {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(request.name)) throw invalid(`invalid network name "${request.name}"`);
    if (this.byName(request.name)) throw conflict(`network with name ${request.name} already exists`);
    const subnet = request.subnet ? this.userSubnet(request.subnet) : await this.freeSubnet();
    const gateway = request.gateway ?? firstHost(subnet);
    if (!isHostAddress(subnet, gateway)) throw invalid(`gateway ${gateway} is not a host address of ${formatSubnet(subnet)}`);
    const ipRange = request.ipRange ? this.checkedRange(subnet, request.ipRange, request.external !== undefined) : undefined;
    const net: NetworkRecord = {
      id: randomBytes(32).toString('hex'),
      name: request.name,
      driver: 'bridge',
      created: new Date().toISOString(),
      subnet: formatSubnet(subnet),
      gateway,
      internal: request.internal === true,
      attachable: request.attachable === true,
      labels: request.labels ?? {},
      options: request.options ?? {},
      userSubnet: request.subnet !== undefined,
      ...(ipRange ? { ipRange } : {}),
      endpoints: {},
      ...(request.external ? { external: request.external } : {}),
      ...(request.dns ? { dns: request.dns } : {}),
    };
    await this.ensureHostSide(net);
    this.store.save(net);
    this.nets.set(net.id, net);
    if (!how.quiet) this.announce(net, 'create');
    return net;
  }

  private userSubnet(cidr: string): Subnet {
    const subnet = subnetParam(cidr);
    const clash = [...this.nets.values()].find((n) => overlaps(parseSubnet(n.subnet), subnet));
    if (clash) throw forbidden(`Pool overlaps with other one on this address space (network ${clash.name})`);
    return subnet;
  }

  /** A network's IP range inside its subnet: a CIDR, or (a predefined network's, vic-machine's form) FIRST-LAST. */
  private checkedRange(subnet: Subnet, text: string, firstLast: boolean): string {
    if (firstLast && text.includes('-')) {
      let range;
      try {
        range = parseRange(text);
      } catch (err) {
        throw invalid(`invalid ip-range ${text}: ${(err as Error).message}`);
      }
      if (!rangeWithin(subnet, range)) throw invalid(`ip-range ${text} is not inside the subnet ${formatSubnet(subnet)}`);
      return text;
    }
    const range = subnetParam(text, `invalid ip-range ${text}`);
    if (!within(subnet, range)) throw invalid(`ip-range ${text} is not inside the subnet ${formatSubnet(subnet)}`);
    return formatSubnet(range);
  }

  private async freeSubnet(): Promise<ReturnType<typeof parseSubnet>> {
    const host = (await this.options.plumbing?.hostSubnets()) ?? [];
    const inUse = [...host, ...[...this.nets.values()].map((n) => n.subnet)].flatMap((c) => {
      try { return [parseSubnet(c)]; } catch { return []; } // host routes narrower than /30 cannot clash with ours unless inside: skip
    });
    const hostAddresses = host.filter((c) => c.endsWith('/32') || c.endsWith('/31')).map((c) => ({ base: ipToNumber(c.split('/')[0]), prefix: 32 }));
    const picked = pickSubnet([...inUse, ...hostAddresses], this.options.subnetPool);
    if (!picked) throw new PortLayerError('Unavailable', 'no free address pool left for a new network');
    return picked;
  }

  private async ensureHostSide(net: NetworkRecord): Promise<void> {
    if (!this.options.plumbing || this.ready.has(net.id)) return;
    await this.options.plumbing.ensureNetwork({ id: net.id, subnet: net.subnet, gateway: net.gateway, internal: net.internal, ...(net.external ? { external: net.external } : {}) });
    this.ready.add(net.id);
    if (this.resolver) {
      try {
        await this.resolver.listen(net.id, net.gateway, net.internal);
        this.resolving.add(net.id);
      } catch (err) {
        // Containers then keep their image's resolv.conf and find peers through /etc/hosts.
        this.log(`network ${net.name}: no DNS resolver on ${net.gateway}: ${(err as Error).message}`);
      }
    }
  }

  /**
   * Addresses of a container known by `name` (its name, an alias, its short id) on this network, or —
   * when the asking container is known by its address `from` — on any network it is on (a container
   * asks the resolver of its primary network about peers on all of them, as with dockerd's).
   */
  private addressesOf(networkId: string, name: string, from?: string): string[] | undefined {
    const net = this.nets.get(networkId);
    if (!net || !this.hasNameResolution(net)) return undefined;
    const asker = from ? Object.entries(net.endpoints).find(([, e]) => e.ip === from)?.[0] : undefined;
    const nets = asker ? this.endpointsOf(asker).map((e) => e.network).filter((n) => this.hasNameResolution(n)) : [net];
    const found: string[] = [];
    // The asker's own links name containers too (on user-defined networks, a link is an alias).
    for (const link of asker ? this.linksOf(asker) : []) if (link.alias.toLowerCase() === name) found.push(link.ip);
    if (found.length) return found;
    for (const each of nets) {
      for (const [id, endpoint] of Object.entries(each.endpoints)) {
        const container = this.lookup(id);
        if (!container) continue;
        const names = [container.name, ...endpoint.aliases, id.slice(0, 12)].map((n) => n.toLowerCase());
        if (names.includes(name)) found.push(endpoint.ip);
      }
    }
    return found.length ? found : undefined;
  }

  /** The resolver a container on these networks uses: the primary network's gateway, when it serves. */
  private resolverFor(endpoints: Array<{ network: NetworkRecord }>): string[] {
    const primary = endpoints[0]?.network;
    return primary && this.resolving.has(primary.id) ? [primary.gateway] : [];
  }

  async remove(ref: string): Promise<void> {
    const net = this.get(ref);
    if (isPredefined(net)) throw forbidden(`${net.name} is a pre-defined network and cannot be removed`);
    if (Object.keys(net.endpoints).length > 0) throw forbidden(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
    this.resolver?.close(net.id);
    this.resolving.delete(net.id);
    await this.options.plumbing?.removeNetwork(net.id, net.subnet);
    this.ready.delete(net.id);
    this.store.remove(net.id);
    this.nets.delete(net.id);
    this.announce(net, 'destroy');
  }

  /** Removes the user-defined networks no container is on that `match` accepts; returns their names. */
  async prune(match: (net: NetworkRecord) => boolean): Promise<string[]> {
    const removed: string[] = [];
    for (const net of [...this.nets.values()]) {
      if (isPredefined(net) || Object.keys(net.endpoints).length > 0 || !match(net)) continue;
      await this.remove(net.id);
      removed.push(net.name);
    }
    return removed;
  }

  /** Joins a container to a network; a running one gets a NIC plugged into its VM (VmHandle.attachNic). */
  async connect(ref: string, containerId: string, request: { aliases?: string[]; ipv4?: string; mac?: string }): Promise<void> {
    const net = this.get(ref);
    const container = this.lookup(containerId);
    if (!container) throw notFound(`No such container: ${containerId}`);
    const vm = container.vm;
    if (vm && (!vm.attachNic || !this.options.plumbing)) throw conflict(`container ${container.name} is running, and this VCH's backend cannot plug a NIC into a running VM: stop it first`);
    if (net.endpoints[containerId]) throw forbidden(`endpoint with name ${container.name} already exists in network ${net.name}`);
    if (!container.request?.enabled) throw forbidden(`container ${container.name} has networking disabled (--network none)`);
    if (vm) await this.ensureHostSide(net);
    const hadGateway = this.endpointsOf(containerId).some((e) => !e.network.internal);
    const endpoint = this.addEndpoint(net, containerId, request.aliases ?? [], request.ipv4, request.mac);
    if (vm) {
      try {
        // The default route stays where it is (dockerd's too), unless this is the container's only way out.
        await vm.attachNic!({ networkId: net.id, mac: endpoint.mac, address: `${endpoint.ip}/${net.subnet.split('/')[1]}`, gateway: hadGateway || net.internal ? undefined : net.gateway });
      } catch (err) {
        delete net.endpoints[containerId];
        throw err;
      }
    }
    this.store.save(net);
    this.announce(net, 'connect', { container: containerId });
    await this.tellPeers(net, containerId);
    if (vm) await this.sendHosts(containerId, vm);
  }

  /** Takes a container off a network; a running one's NIC is unplugged (VmHandle.detachNic). */
  async disconnect(ref: string, containerId: string): Promise<void> {
    const net = this.get(ref);
    const container = this.lookup(containerId);
    const vm = container?.vm;
    if (vm && !vm.detachNic) throw conflict(`container ${container!.name} is running, and this VCH's backend cannot unplug a NIC from a running VM: stop it first`);
    if (!net.endpoints[containerId]) throw forbidden(`container ${containerId} is not connected to network ${net.name}`);
    if (vm) await vm.detachNic!(net.id);
    delete net.endpoints[containerId];
    this.store.save(net);
    this.announce(net, 'disconnect', { container: containerId });
    await this.tellPeers(net, containerId);
    if (vm) await this.sendHosts(containerId, vm);
  }

  private addEndpoint(net: NetworkRecord, containerId: string, aliases: string[], ipv4?: string, mac?: string): EndpointRecord {
    if (mac !== undefined) {
      // A unicast, locally or globally administered address, not one another NIC here has.
      if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) throw invalid(`invalid MAC address: ${mac}`);
      mac = mac.toLowerCase();
      if (Object.values(net.endpoints).some((e) => e.mac === mac)) throw forbidden(`MAC address ${mac} is already in use on network ${net.name}`);
    }
    const subnet = parseSubnet(net.subnet);
    const taken = new Set([net.gateway, ...Object.values(net.endpoints).map((e) => e.ip)]);
    let ip: string | undefined;
    if (ipv4) {
      if (!contains(subnet, ipv4) || !isHostAddress(subnet, ipv4)) throw invalid(`invalid address ${ipv4}: it does not belong to any of this network's subnets (${net.subnet})`);
      if (taken.has(ipv4)) throw forbidden(`Address already in use: ${ipv4} on network ${net.name}`);
      ip = ipv4;
    } else {
      ip = nextFree(subnet, taken, net.ipRange ? parseRange(net.ipRange) : undefined);
      if (!ip) throw new PortLayerError('Unavailable', `no available IPv4 addresses on network ${net.name}`);
    }
    // The default bridge has no name resolution, hence no aliases (as in Docker).
    const endpoint: EndpointRecord = {
      id: randomBytes(32).toString('hex'), ip, mac: mac ?? macFor(ip), aliases: net.name === DEFAULT_NETWORK ? [] : [...new Set(aliases)], staticIp: ipv4 !== undefined,
    };
    net.endpoints[containerId] = endpoint;
    return endpoint;
  }

  /** The container's endpoints, its primary network first (the order it asked for them in). */
  endpointsOf(containerId: string): Array<{ network: NetworkRecord; endpoint: EndpointRecord }> {
    const found = [...this.nets.values()].filter((n) => n.endpoints[containerId]).map((network) => ({ network, endpoint: network.endpoints[containerId] }));
    const asked = this.lookup(containerId)?.request?.endpoints.map((e) => e.network) ?? [];
    const rank = (n: NetworkRecord) => {
      const i = asked.findIndex((a) => a === n.name || a === n.id);
      return i === -1 ? asked.length : i;
    };
    return found.sort((a, b) => rank(a.network) - rank(b.network) || a.network.created.localeCompare(b.network.created));
  }

  /**
   * The ports the container publishes now (empty while it is stopped). A VM with an address of its
   * own for them (VmHandle.publicAddress: vSphere's public network) is reached there, on the same
   * host ports: that address is the binding's HostIp, what `docker port` shows.
   */
  portsOf(containerId: string): PortBinding[] {
    const bindings = (this.proxies.get(containerId) ?? []).map((p) => p.binding);
    const publicIp = this.lookup(containerId)?.vm?.publicAddress?.();
    return publicIp ? bindings.map((b) => ({ ...b, hostIp: publicIp })) : bindings;
  }

  /** Whether names resolve between containers on this network. */
  hasNameResolution(net: NetworkRecord): boolean {
    return net.name !== DEFAULT_NETWORK;
  }

  // ---- ContainerNetworking: what ContainerService calls along a container's life ----

  async created(record: ContainerRecord): Promise<void> {
    const request = record.spec.network;
    for (const link of request?.links ?? []) {
      if (!this.find(link.container)) throw invalid(`could not get container for ${link.container}: No such container: ${link.container}`);
    }
    if (!request?.enabled) {
      if (request && request.ports.length > 0) throw invalid('conflicting options: port publishing and the container type network mode');
      return;
    }
    const joined: NetworkRecord[] = [];
    try {
      for (const wanted of request.endpoints) {
        const net = this.get(wanted.network);
        if (net.endpoints[record.id]) continue;
        this.addEndpoint(net, record.id, wanted.aliases, wanted.ipv4, wanted.mac);
        joined.push(net);
      }
    } catch (err) {
      for (const net of joined) delete net.endpoints[record.id];
      throw err;
    }
    for (const net of joined) {
      this.store.save(net);
      this.announce(net, 'connect', { container: record.id });
      await this.tellPeers(net, record.id);
    }
  }

  async beforeStart(record: ContainerRecord): Promise<StartNetworking> {
    const endpoints = this.endpointsOf(record.id);
    for (const { network } of endpoints) await this.ensureHostSide(network);
    const nics: VmNic[] = endpoints.map(({ network, endpoint }) => ({
      networkId: network.id,
      mac: endpoint.mac,
      address: `${endpoint.ip}/${network.subnet.split('/')[1]}`,
      gateway: network.internal ? undefined : network.gateway,
    }));
    const request = record.spec.network;
    const env = this.legacyLinkEnv(record.id, endpoints);
    // Without a host side the container has no NIC, so nothing could be forwarded to it.
    if (!this.options.plumbing) return { nics: [], hosts: this.hostsFor(record.id) };
    if (request && endpoints.length > 0) await this.publish(record.id, request, endpoints[0].endpoint.ip);
    const ports = this.portsOf(record.id);
    const asked = request?.dns;
    // Asked for, else the primary network's own (a predefined network's), else the VCH's resolver.
    const servers = asked?.servers.length ? asked.servers : endpoints[0]?.network.dns?.length ? endpoints[0].network.dns : this.resolverFor(endpoints);
    const dns = servers.length || asked?.search.length || asked?.options.length
      ? { servers, search: asked?.search ?? [], options: asked?.options ?? [] }
      : undefined;
    return { nics, hosts: this.hostsFor(record.id), ...(dns ? { dns } : {}), ...(env.length ? { env } : {}), ...(ports.length ? { ports } : {}) };
  }

  /**
   * On the default bridge, dockerd's link checks at start (the linked container exists, runs, is on
   * the default bridge) and the variables it sets; elsewhere links are aliases and add no variables.
   */
  private legacyLinkEnv(containerId: string, endpoints: Array<{ network: NetworkRecord }>): string[] {
    const self = this.lookup(containerId);
    const links = self?.request?.links ?? [];
    if (links.length === 0 || endpoints[0]?.network.name !== DEFAULT_NETWORK) return [];
    const bridge = endpoints[0].network;
    const env: string[] = [];
    for (const link of links) {
      const childId = this.find(link.container);
      const child = childId ? this.lookup(childId) : undefined;
      if (!childId || !child) throw invalid(`could not get container for ${link.container}: No such container: ${link.container}`);
      const linkName = `/${self!.name}/${link.alias}`;
      if (!child.vm) throw new PortLayerError('System', `Cannot link to a non running container: /${child.name} AS ${linkName}`);
      const endpoint = bridge.endpoints[childId];
      if (!endpoint) throw new PortLayerError('System', `container ${childId} not attached to default bridge network`);
      env.push(...linkEnv({ linkName, alias: link.alias, ip: endpoint.ip, exposed: child.request?.exposed ?? [], env: child.env ?? [] }));
    }
    return env;
  }

  /** The container's links that lead somewhere now: the linked container's address on a network both are on. */
  private linksOf(containerId: string): Array<{ alias: string; ip: string; names: string[] }> {
    const links = this.lookup(containerId)?.request?.links ?? [];
    const mine = this.endpointsOf(containerId).map((e) => e.network);
    const found: Array<{ alias: string; ip: string; names: string[] }> = [];
    for (const link of links) {
      const childId = this.find(link.container);
      const child = childId ? this.lookup(childId) : undefined;
      const shared = childId ? mine.find((n) => n.endpoints[childId]) : undefined;
      if (!child || !shared) continue;
      // dockerd's hosts entry for a link: alias, the linked container's hostname, and its name.
      const names = shared.name === DEFAULT_NETWORK ? [link.alias, child.hostname, ...(link.alias !== child.name ? [child.name] : [])] : [link.alias];
      found.push({ alias: link.alias, ip: shared.endpoints[childId!].ip, names });
    }
    return found;
  }

  private async publish(containerId: string, request: ContainerNetworkRequest, target: string, exact?: PortBinding[]): Promise<void> {
    this.unpublish(containerId);
    const wanted: PortRequest[] = exact ?? publishedPorts(request);
    const open: OpenProxy[] = [];
    try {
      for (const port of wanted) open.push(await openProxy(port, target));
    } catch (err) {
      for (const p of open) p.close();
      throw err;
    }
    this.proxies.set(containerId, open);
    this.store.savePorts(containerId, open.map((p) => p.binding));
  }

  private unpublish(containerId: string): void {
    for (const p of this.proxies.get(containerId) ?? []) p.close();
    this.proxies.delete(containerId);
    this.store.removePorts(containerId);
  }

  async started(containerId: string): Promise<void> {
    // Peers that joined between the CONFIG and now were sent to a container not yet running.
    const vm = this.lookup(containerId)?.vm;
    if (vm) await this.sendHosts(containerId, vm);
  }

  stopped(containerId: string): void {
    this.unpublish(containerId);
  }

  async removed(containerId: string): Promise<void> {
    this.unpublish(containerId);
    for (const net of this.nets.values()) {
      if (!net.endpoints[containerId]) continue;
      delete net.endpoints[containerId];
      this.store.save(net);
      this.announce(net, 'disconnect', { container: containerId });
      await this.tellPeers(net, containerId);
    }
  }

  /** A running container adopted after an engine restart: its ports are published again, on the same host ports. */
  async resumed(record: ContainerRecord): Promise<void> {
    const saved = this.store.loadPorts(record.id);
    const endpoints = this.endpointsOf(record.id);
    for (const { network } of endpoints) await this.ensureHostSide(network).catch((err: Error) => this.log(`network ${network.name}: ${err.message}`));
    if (saved.length === 0 || endpoints.length === 0 || !record.spec.network) return;
    await this.publish(record.id, record.spec.network, endpoints[0].endpoint.ip, saved)
      .catch((err: Error) => this.log(`container ${record.id.slice(0, 12)}: ports not published again: ${err.message}`));
  }

  async renamed(containerId: string): Promise<void> {
    for (const net of this.nets.values()) if (net.endpoints[containerId]) await this.tellPeers(net, containerId);
  }

  /** The container's /etc/hosts: itself, then its peers on every user-defined network it is on. */
  hostsFor(containerId: string): string[] {
    const self = this.lookup(containerId);
    const endpoints = this.endpointsOf(containerId);
    const peers: Array<{ ip: string; names: string[] }> = this.linksOf(containerId).map((l) => ({ ip: l.ip, names: l.names }));
    for (const { network } of endpoints) {
      if (!this.hasNameResolution(network)) continue;
      for (const [id, endpoint] of Object.entries(network.endpoints)) {
        const peer = id === containerId ? undefined : this.lookup(id);
        if (peer) peers.push({ ip: endpoint.ip, names: [peer.name, ...endpoint.aliases, id.slice(0, 12)] });
      }
    }
    return hostsLines({
      hostname: self?.hostname ?? containerId.slice(0, 12),
      ownIp: endpoints[0]?.endpoint.ip,
      ownAliases: endpoints[0] && this.hasNameResolution(endpoints[0].network) ? endpoints[0].endpoint.aliases : [],
      peers,
      extraHosts: self?.request?.extraHosts ?? [],
    });
  }

  /**
   * Sends the new /etc/hosts to every running container sharing the network (the changed one
   * excluded), all at once; settles when each has been told or has failed.
   */
  private async tellPeers(net: NetworkRecord, changed: string): Promise<void> {
    if (!this.hasNameResolution(net)) return;
    const told: Array<Promise<void>> = [];
    for (const id of Object.keys(net.endpoints)) {
      if (id === changed) continue;
      const vm = this.lookup(id)?.vm;
      if (vm) told.push(this.sendHosts(id, vm));
    }
    await Promise.all(told);
  }

  /** A running container's new /etc/hosts; a failure is logged, not the request's (the peer may be stopping). */
  private async sendHosts(containerId: string, vm: VmHandle): Promise<void> {
    if (!vm.updateHosts) return;
    try {
      await vm.updateHosts(this.hostsFor(containerId));
    } catch (err) {
      this.log(`container ${containerId.slice(0, 12)}: /etc/hosts not updated: ${(err as Error).message}`);
    }
  }

  private announce(net: NetworkRecord, action: string, extra: Record<string, string> = {}): void {
    this.options.events.record('network', action, net.id, { name: net.name, type: net.driver, ...extra });
  }

  private log(message: string): void {
    this.options.log?.(message);
  }
}

/** The ports a start publishes: those asked for, plus (-P) every exposed one not asked for, on a free host port. */
export function publishedPorts(request: ContainerNetworkRequest): PortRequest[] {
  const ports = [...request.ports];
  if (request.publishAll) {
    for (const exposed of request.exposed) {
      const [port, proto = 'tcp'] = exposed.split('/');
      const containerPort = Number(port);
      if (!ports.some((p) => p.containerPort === containerPort && p.protocol === proto)) {
        ports.push({ containerPort, protocol: proto === 'udp' ? 'udp' : 'tcp', hostIp: '', hostPort: 0 });
      }
    }
  }
  return ports;
}
