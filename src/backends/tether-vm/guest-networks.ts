// The CONFIG `networks` field (docs/tether-protocol.md) for a VM's NICs: what the tether needs to
// configure each interface — its MAC (a clone still has the template's), address and default route.
import type { VmNic } from '../../portlayer/backend.ts';
import type { GuestNetwork } from '../../tether/config.ts';

export function guestNetworks(nics: VmNic[]): GuestNetwork[] {
  return nics.map((nic, i) => ({
    mac: nic.mac,
    addresses: [nic.address],
    // One default route, through the first NIC that has a gateway (Docker's primary network).
    gateway: nic.gateway && nics.findIndex((n) => n.gateway) === i ? nic.gateway : '',
    routes: [],
  }));
}
