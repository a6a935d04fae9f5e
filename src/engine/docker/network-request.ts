// The networking part of Docker's create request (HostConfig.NetworkMode/PortBindings/PublishAllPorts/
// ExtraHosts, NetworkingConfig.EndpointsConfig, ExposedPorts) as the port layer's neutral request.
import { parseLink } from '../../portlayer/networks/links.ts';
import type { ContainerNetworkRequest, EndpointRequest, PortRequest } from '../../portlayer/networks/model.ts';
import type { ImageRecord } from '../../portlayer/images/types.ts';
import { isIPv4 } from 'node:net';
import { invalid } from '../../portlayer/errors.ts';
import type { DockerCreateRequest } from './create-request.ts';

interface DockerEndpointConfig {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string } | null;
  MacAddress?: string;
}

type DockerPortBindings = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;

/** A list of resolv.conf words (servers, search domains) or option lines: nothing that could add a line. */
function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  const forbidden = field === 'DnsOptions' ? /[\r\n]/ : /\s/;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '' && !forbidden.test(v))) {
    throw invalid(`${field} must be a list of non-empty strings${field === 'DnsOptions' ? ' without line breaks' : ' without spaces'}`);
  }
  return value as string[];
}

/** "8080", "8080/tcp", "53/udp" → [port, protocol]. */
export function parsePortKey(key: string): [number, 'tcp' | 'udp'] {
  const [port, proto = 'tcp'] = key.split('/');
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw invalid(`invalid port specification: "${key}"`);
  if (proto !== 'tcp' && proto !== 'udp') throw invalid(`invalid proto "${proto}" (Bonneville publishes tcp and udp)`);
  return [n, proto];
}

export function dockerNetworkRequest(request: DockerCreateRequest, image: ImageRecord): ContainerNetworkRequest {
  const host = request.HostConfig ?? {};
  const mode = !host.NetworkMode || host.NetworkMode === 'default' ? 'bridge' : host.NetworkMode;
  if (mode === 'host') throw invalid('network mode "host" is not supported: every container is its own VM with its own network stack');
  if (mode.startsWith('container:')) throw invalid('network mode "container:…" is not supported: containers do not share a VM');
  const endpointsConfig = ((request.NetworkingConfig as { EndpointsConfig?: Record<string, DockerEndpointConfig> } | undefined)?.EndpointsConfig) ?? {};
  const endpoint = (network: string): EndpointRequest => {
    const config = endpointsConfig[network] ?? (network === 'bridge' ? endpointsConfig.default : undefined) ?? {};
    // Before API 1.44 the MAC was Config.MacAddress, for the primary network.
    const mac = config.MacAddress || (network === mode ? (request.MacAddress as string | undefined) : undefined) || undefined;
    return {
      network,
      aliases: config.Aliases ?? [],
      ...(config.IPAMConfig?.IPv4Address ? { ipv4: config.IPAMConfig.IPv4Address } : {}),
      ...(mac ? { mac } : {}),
    };
  };
  const endpoints = mode === 'none' ? [] : [
    endpoint(mode),
    // API ≥ 1.44 creates a container on several networks at once.
    ...Object.keys(endpointsConfig).filter((n) => n !== mode && !(mode === 'bridge' && n === 'default')).map(endpoint),
  ];
  const ports: PortRequest[] = [];
  for (const [key, bindings] of Object.entries((host.PortBindings ?? {}) as DockerPortBindings)) {
    const [containerPort, protocol] = parsePortKey(key);
    for (const b of bindings ?? [{}]) {
      // "8000-8010" lets Docker pick in a range; the first port of it is taken here.
      const hostPort = b.HostPort ? Number(b.HostPort.split('-')[0]) : 0;
      if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) throw invalid(`invalid host port: "${b.HostPort}"`);
      ports.push({ containerPort, protocol, hostIp: b.HostIp ?? '', hostPort });
    }
  }
  const links = ((host.Links as string[] | null | undefined) ?? []).map((spec) => {
    const link = parseLink(spec);
    if (!link) throw invalid(`invalid link specification: '${spec}' (NAME or NAME:ALIAS)`);
    return link;
  });
  const exposed = new Set<string>();
  for (const key of [...Object.keys(image.config.config?.ExposedPorts ?? {}), ...Object.keys(request.ExposedPorts ?? {}), ...Object.keys(host.PortBindings ?? {})]) {
    const [port, proto] = parsePortKey(key);
    exposed.add(`${port}/${proto}`);
  }
  return {
    enabled: mode !== 'none',
    endpoints,
    ports,
    publishAll: host.PublishAllPorts === true,
    exposed: [...exposed],
    ...(links.length > 0 ? { links } : {}),
    extraHosts: ((host.ExtraHosts as string[] | null | undefined) ?? []).map((h) => h.replace('=', ':')),
    dns: {
      servers: stringList(host.Dns, 'Dns').map((server) => {
        if (!isIPv4(server)) throw invalid(`${server} is not an IPv4 address: DNS servers of a container are IPv4 here`);
        return server;
      }),
      search: stringList(host.DnsSearch, 'DnsSearch'),
      options: stringList(host.DnsOptions, 'DnsOptions'),
    },
  };
}
