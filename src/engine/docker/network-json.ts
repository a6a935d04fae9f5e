// Docker's Network object (list and inspect) from a port-layer network record.
import type { NetworkRecord } from '../../portlayer/networks/model.ts';

export function networkJson(net: NetworkRecord, containerName: (id: string) => string | undefined, withContainers: boolean): Record<string, unknown> {
  const prefix = net.subnet.split('/')[1];
  const containers: Record<string, unknown> = {};
  if (withContainers) {
    for (const [id, ep] of Object.entries(net.endpoints)) {
      containers[id] = { Name: containerName(id) ?? '', EndpointID: ep.id, MacAddress: ep.mac, IPv4Address: `${ep.ip}/${prefix}`, IPv6Address: '' };
    }
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: net.created,
    Scope: 'local',
    Driver: net.driver,
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: net.subnet, Gateway: net.gateway, ...(net.ipRange ? { IPRange: net.ipRange } : {}) }] },
    Internal: net.internal,
    Attachable: net.attachable,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: net.options,
    Labels: net.labels,
  };
}
