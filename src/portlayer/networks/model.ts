// Networks as the port layer keeps them: one record per network (networks/<id>.json), holding its
// address plan and its endpoints — the IP allocation lives in the same file, so one atomic write
// changes both. A container's request (ContainerNetworkRequest) is kept with the container; which
// networks it is on now is the networks' endpoints.

import type { LinkRequest } from './links.ts';

export interface EndpointRecord {
  /** Endpoint id (64 hex). */
  id: string;
  ip: string;
  mac: string;
  /** Extra names peers resolve this container by on this network (compose's service name …). */
  aliases: string[];
  /** The address was asked for (IPAMConfig), not allocated. */
  staticIp: boolean;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: 'bridge';
  created: string;
  /** "172.18.0.0/16" */
  subnet: string;
  gateway: string;
  /** No way out of the network (no gateway route in containers, no NAT). */
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** The subnet was given by the user, not picked. */
  userSubnet: boolean;
  /** IPAM's IPRange: the part of the subnet dynamic addresses come from; absent: all of it. */
  ipRange?: string;
  /** Container id → endpoint. */
  endpoints: Record<string, EndpointRecord>;
  /**
   * A network the VCH's configuration defines on a segment that exists outside it (vSphere: an
   * existing port group, by name): the backend joins it and never deletes it; `network rm` refuses it.
   */
  external?: string;
  /** Name servers containers whose primary network this is use (a predefined network's); absent: the VCH's resolver. */
  dns?: string[];
}

/** A network the VCH's configuration defines (vic-machine's --container-network …), made at engine start. */
export interface PredefinedNetwork {
  /** Its Docker name (the alias). */
  name: string;
  /** The existing segment behind it (NetworkRecord.external). */
  external: string;
  /** GW/PREFIX, e.g. 10.3.0.1/16; absent: a subnet is picked as for a bridge network. */
  gateway?: string;
  /** Where containers' addresses come from: a CIDR inside the subnet. */
  ipRange?: string;
  dns?: string[];
}

/** The default network every container joins unless asked otherwise; containers on it do not resolve each other. */
export const DEFAULT_NETWORK = 'bridge';

export type PortProtocol = 'tcp' | 'udp';

/** A port the container asked to publish. hostPort 0: any free port, chosen at each start. */
export interface PortRequest {
  containerPort: number;
  protocol: PortProtocol;
  /** "" listens on every address (0.0.0.0). */
  hostIp: string;
  hostPort: number;
}

/** A published port while the container runs. */
export interface PortBinding {
  containerPort: number;
  protocol: PortProtocol;
  hostIp: string;
  hostPort: number;
}

export interface EndpointRequest {
  /** Network name or id. */
  network: string;
  aliases: string[];
  ipv4?: string;
  /** The NIC's MAC address, when asked for (`--mac-address`); else derived from the address. */
  mac?: string;
}

/** What a container asked for at create; kept in its record. */
export interface ContainerNetworkRequest {
  /** false: loopback only (`--network none`). */
  enabled: boolean;
  /** Networks to join at create; the first is the primary one (default route, published ports). */
  endpoints: EndpointRequest[];
  ports: PortRequest[];
  /** `-P`: every exposed port gets a free host port. */
  publishAll: boolean;
  /** "8080/tcp": what the image and the request expose. */
  exposed: string[];
  /** "name:ip" lines for /etc/hosts (`--add-host`). */
  extraHosts: string[];
  /** Legacy links (`--link name:alias`): hosts entries and variables on the default bridge, aliases elsewhere (links.ts). */
  links?: LinkRequest[];
  /** `--dns`, `--dns-search`, `--dns-option`; absent or empty servers: the VCH's resolver. */
  dns?: { servers: string[]; search: string[]; options: string[] };
}
