// Container networks on vSphere: each network the port layer makes is a distributed port group of
// the VCH (network-portgroups.ts) and a container's NIC joins it. The engine's host routes none of
// these subnets and holds no gateway address on them (the VCH endpoint VM's NICs would, in VIC's
// layout): addressing is the port layer's IPAM, applied inside the guest by the tether.
import type { NetworkPlumbing } from '../../portlayer/backend.ts';
import type { VimClient } from '../../vim25/session.ts';
import { ensureNetworkPortgroup, listNetworkPortgroups, portgroupName, removeNetworkPortgroup } from './network-portgroups.ts';
import type { Target } from './target.ts';

export class PortgroupPlumbing implements NetworkPlumbing {
  private readonly client: VimClient;
  private readonly target: Target;
  private readonly vch: string;
  private readonly log: (line: string) => void;
  /** Port group keys by network id, as made or found. */
  private readonly keys = new Map<string, string>();

  constructor(client: VimClient, target: Target, vch: string, log: (line: string) => void) {
    this.client = client;
    this.target = target;
    this.vch = vch;
    this.log = log;
  }

  async hostSubnets(): Promise<string[]> {
    return [];
  }

  async ensureNetwork(net: { id: string }): Promise<void> {
    const pg = await ensureNetworkPortgroup(this.client, this.target, this.vch, net.id);
    this.keys.set(net.id, pg.key);
  }

  async removeNetwork(id: string): Promise<void> {
    await removeNetworkPortgroup(this.client, this.target, this.vch, id);
    this.keys.delete(id);
  }

  async sweep(keep: Array<{ id: string }>): Promise<void> {
    const wanted = new Set(keep.map((k) => portgroupName(this.vch, k.id)));
    for (const pg of await listNetworkPortgroups(this.client, this.target, this.vch)) {
      if (wanted.has(pg.name)) continue;
      // vCenter refuses to destroy a port group a VM still uses: left for the next sweep.
      await removeNetworkPortgroup(this.client, this.target, this.vch, pg.name.slice(this.vch.length + 1))
        .catch((err: unknown) => this.log(`port group ${pg.name}: not removed: ${(err as Error).message}`));
    }
  }

  /** The port group key a NIC on this network joins. */
  async portgroupKey(networkId: string): Promise<string> {
    let key = this.keys.get(networkId);
    if (!key) {
      await this.ensureNetwork({ id: networkId });
      key = this.keys.get(networkId)!;
    }
    return key;
  }

  describe(): string {
    return `container networks are port groups on distributed switch ${this.target.config.dvs}; the engine's host routes none of them (no NAT, no published ports, no DNS on the gateways)`;
  }
}
