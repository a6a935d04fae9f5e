// Container networks on vSphere: each network the port layer makes is a distributed port group of
// the VCH (network-portgroups.ts) and a container's NIC joins it. A predefined network (vic-machine's
// --container-network) is an existing port group, found by name on any switch of the datacenter:
// joined, never made or removed. The public network (--public-network) is an existing port group too:
// containers that publish ports get a NIC on it. The engine's host routes none of these subnets and
// holds no gateway address on them (the VCH endpoint VM's NICs would, in VIC's layout): addressing is
// the port layer's IPAM, applied inside the guest by the tether.
import type { NetworkPlumbing } from '../../portlayer/backend.ts';
import type { VimClient } from '../../vim25/session.ts';
import { portgroupNamed } from '../../vim25/dvs.ts';
import { ensureNetworkPortgroup, listNetworkPortgroups, portgroupName, removeNetworkPortgroup } from './network-portgroups.ts';
import type { Target } from './target.ts';

/** Where a NIC joins: a port group's key on its switch. */
export interface NicBacking {
  portgroupKey: string;
  switchUuid: string;
}

export class PortgroupPlumbing implements NetworkPlumbing {
  private readonly client: VimClient;
  private readonly target: Target;
  private readonly vch: string;
  private readonly log: (line: string) => void;
  /** Port groups by network id, as made or found. */
  private readonly backings = new Map<string, NicBacking>();
  /** Networks on existing port groups: network id → port group name. */
  private readonly externals = new Map<string, string>();
  /** The public network's port group name, if the VCH has one. */
  readonly publicNetwork?: string;

  constructor(client: VimClient, target: Target, vch: string, log: (line: string) => void, publicNetwork?: string) {
    this.client = client;
    this.target = target;
    this.vch = vch;
    this.log = log;
    this.publicNetwork = publicNetwork;
  }

  async hostSubnets(): Promise<string[]> {
    return [];
  }

  async ensureNetwork(net: { id: string; external?: string }): Promise<void> {
    if (net.external) {
      this.externals.set(net.id, net.external);
      this.backings.set(net.id, await this.existing(net.external, 'container network'));
      return;
    }
    const pg = await ensureNetworkPortgroup(this.client, this.target, this.vch, net.id);
    this.backings.set(net.id, { portgroupKey: pg.key, switchUuid: pg.switchUuid });
  }

  async removeNetwork(id: string): Promise<void> {
    // An existing port group is the admin's: the network goes, the port group stays.
    if (!this.externals.delete(id)) await removeNetworkPortgroup(this.client, this.target, this.vch, id);
    this.backings.delete(id);
  }

  async sweep(keep: Array<{ id: string }>): Promise<void> {
    // Only the VCH's own port groups (<vch>-<12 hex>) are candidates: existing ones are never touched.
    const wanted = new Set(keep.map((k) => portgroupName(this.vch, k.id)));
    for (const pg of await listNetworkPortgroups(this.client, this.target, this.vch)) {
      if (wanted.has(pg.name)) continue;
      // vCenter refuses to destroy a port group a VM still uses: left for the next sweep.
      await removeNetworkPortgroup(this.client, this.target, this.vch, pg.name.slice(this.vch.length + 1))
        .catch((err: unknown) => this.log(`port group ${pg.name}: not removed: ${(err as Error).message}`));
    }
  }

  /** Where a NIC on this network joins. */
  async nicBacking(networkId: string): Promise<NicBacking> {
    let backing = this.backings.get(networkId);
    if (!backing) {
      const external = this.externals.get(networkId);
      await this.ensureNetwork({ id: networkId, ...(external ? { external } : {}) });
      backing = this.backings.get(networkId)!;
    }
    return backing;
  }

  /** Whether the network's gateway is a router that exists: an existing port group's (the admin's), not one the VCH made. */
  routesOut(networkId: string): boolean {
    return this.externals.has(networkId);
  }

  /** The public network's port group (a NIC for containers that publish ports); undefined without one. */
  async publicBacking(): Promise<NicBacking | undefined> {
    return this.publicNetwork ? this.existing(this.publicNetwork, 'public network') : undefined;
  }

  /** An existing port group by name, on any switch of the datacenter. */
  private async existing(name: string, what: string): Promise<NicBacking> {
    const pg = await portgroupNamed(this.client, this.target.datacenter, name, what, this.target.config.datacenter);
    return { portgroupKey: pg.key, switchUuid: pg.switchUuid };
  }

  describe(): string {
    return `container networks are port groups on distributed switch ${this.target.config.dvs}; the engine's host routes none of them (no NAT, no DNS on the gateways)${this.publicNetwork ? `; containers publishing ports get a NIC on ${this.publicNetwork}` : ''}`;
  }
}
