// NetworkSettings of container inspect and the Ports/Networks of `docker ps`, from the port layer's
// endpoints and published ports. Addresses show while the container runs, as in Docker.
import type { ContainerView } from '../../portlayer/containers/model.ts';
import type { EndpointRecord, NetworkRecord, PortBinding } from '../../portlayer/networks/model.ts';

/** What the engine knows of a container's networking. */
export interface ContainerNetworkView {
  endpoints: Array<{ network: NetworkRecord; endpoint: EndpointRecord }>;
  ports: PortBinding[];
  /** Whether peers resolve names on the network (not on the default bridge). */
  resolves(net: NetworkRecord): boolean;
}

function prefixOf(net: NetworkRecord): number {
  return Number(net.subnet.split('/')[1]);
}

export function endpointSettings(c: ContainerView, net: NetworkRecord, ep: EndpointRecord, resolves: boolean): Record<string, unknown> {
  const running = c.state.status === 'running';
  const shortId = c.record.id.slice(0, 12);
  return {
    IPAMConfig: ep.staticIp ? { IPv4Address: ep.ip } : null,
    Links: null,
    // Docker lists the short id among a user network's aliases; compose 1.29 relies on it to tell a
    // container it already connected.
    Aliases: resolves ? [...ep.aliases, shortId] : null,
    MacAddress: running ? ep.mac : '',
    DriverOpts: null,
    NetworkID: net.id,
    EndpointID: running ? ep.id : '',
    Gateway: running && !net.internal ? net.gateway : '',
    IPAddress: running ? ep.ip : '',
    IPPrefixLen: running ? prefixOf(net) : 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: resolves ? [c.record.spec.name, ...ep.aliases, shortId] : null,
  };
}

/** Ports as inspect shows them: "8080/tcp" → bindings, or null for an exposed port that is not published. */
export function portMap(c: ContainerView, view: ContainerNetworkView | undefined): Record<string, Array<{ HostIp: string; HostPort: string }> | null> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  if (c.state.status !== 'running') return out;
  for (const exposed of c.record.spec.network?.exposed ?? []) out[exposed] = null;
  for (const p of view?.ports ?? []) {
    const key = `${p.containerPort}/${p.protocol}`;
    (out[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return out;
}

export function networkSettings(c: ContainerView, view: ContainerNetworkView | undefined): Record<string, unknown> {
  const networks: Record<string, unknown> = {};
  for (const { network, endpoint } of view?.endpoints ?? []) networks[network.name] = endpointSettings(c, network, endpoint, view!.resolves(network));
  const primary = view?.endpoints[0];
  const running = c.state.status === 'running';
  // The top-level address fields describe the default bridge only (Docker's legacy fields).
  const legacy = primary && primary.network.name === 'bridge' && running ? primary : undefined;
  return {
    Bridge: '',
    SandboxID: running ? c.record.id : '',
    SandboxKey: '',
    Ports: portMap(c, view),
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: legacy ? legacy.endpoint.id : '',
    Gateway: legacy ? legacy.network.gateway : '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: legacy ? legacy.endpoint.ip : '',
    IPPrefixLen: legacy ? prefixOf(legacy.network) : 0,
    IPv6Gateway: '',
    MacAddress: legacy ? legacy.endpoint.mac : '',
    Networks: networks,
  };
}

/** `docker ps`'s Ports: published ports with their host side, exposed-only ones without. */
export function listPorts(c: ContainerView, view: ContainerNetworkView | undefined): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const published = new Set<string>();
  for (const p of view?.ports ?? []) {
    published.add(`${p.containerPort}/${p.protocol}`);
    out.push({ IP: p.hostIp, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.protocol });
  }
  for (const exposed of c.record.spec.network?.exposed ?? []) {
    if (published.has(exposed)) continue;
    const [port, proto] = exposed.split('/');
    out.push({ PrivatePort: Number(port), Type: proto });
  }
  return out;
}

/** `docker ps`'s NetworkSettings.Networks. */
export function listNetworks(c: ContainerView, view: ContainerNetworkView | undefined): Record<string, unknown> {
  const networks: Record<string, unknown> = {};
  for (const { network, endpoint } of view?.endpoints ?? []) networks[network.name] = endpointSettings(c, network, endpoint, view!.resolves(network));
  return networks;
}
