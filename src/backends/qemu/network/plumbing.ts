// The qemu backend's container networks: a Linux bridge per network with the gateway address on it,
// a persistent tap per VM NIC enslaved to that bridge (QEMU opens it by name), and outbound NAT when
// the host allows it. Every interface is named after the VCH (names.ts), which is how leftovers of
// VMs that ended while no engine ran are found and removed.
import type { NetworkPlumbing, VmNic } from '../../../portlayer/backend.ts';
import { bridgeName, isBridgeOf, isTapOf, tapName, vchPrefix } from './names.ts';
import { addBridge, addLooseTap, addTap, deleteLink, enslaveTap, ensureAddress, linkExists, listLinks, routedSubnets, setUp } from './ip.ts';
import { addMasquerade, forwardingEnabled, listNatComments, natAvailable, natComment, removeMasquerades } from './nat.ts';

export class QemuNetworks implements NetworkPlumbing {
  readonly prefix: string;
  /** Taps of VMs this engine started or adopted: sweep() keeps exactly these. */
  private readonly held = new Set<string>();
  private readonly nat: Promise<boolean>;
  private readonly log: (message: string) => void;
  /** Bridge changes run one at a time: two creates of one network must not race. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(vchId: string, log: (message: string) => void = () => {}) {
    this.prefix = vchPrefix(vchId);
    this.log = log;
    this.nat = natAvailable();
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  bridgeOf(networkId: string): string {
    return bridgeName(this.prefix, networkId);
  }

  hostSubnets(): Promise<string[]> {
    return routedSubnets();
  }

  ensureNetwork(net: { id: string; subnet: string; gateway: string; internal: boolean }): Promise<void> {
    return this.serial(async () => {
      const bridge = this.bridgeOf(net.id);
      if (!(await linkExists(bridge))) await addBridge(bridge);
      const prefixLength = net.subnet.split('/')[1];
      await ensureAddress(bridge, `${net.gateway}/${prefixLength}`);
      await setUp(bridge);
      // Internal networks have no way out; the others get NAT if this host lets us add it.
      if (!net.internal && (await this.nat)) {
        await addMasquerade(net.subnet, bridge, natComment(this.prefix, net.id)).catch((err: Error) => this.log(`network ${net.id.slice(0, 12)}: no outbound NAT: ${err.message}`));
      }
    });
  }

  removeNetwork(id: string): Promise<void> {
    return this.serial(async () => {
      await removeMasquerades(natComment(this.prefix, id));
      await deleteLink(this.bridgeOf(id));
    });
  }

  sweep(keep: Array<{ id: string; subnet: string }>): Promise<void> {
    return this.serial(async () => {
      const bridges = new Set(keep.map((n) => this.bridgeOf(n.id)));
      for (const link of await listLinks()) {
        if (isTapOf(this.prefix, link.name) && !this.held.has(link.name)) await deleteLink(link.name);
        else if (isBridgeOf(this.prefix, link.name) && !bridges.has(link.name)) await deleteLink(link.name);
      }
      const kept = new Set(keep.map((n) => natComment(this.prefix, n.id)));
      // Rules of networks that are gone: found by this VCH's comment prefix, kept ones skipped.
      for (const comment of await listNatComments(`bonneville:${this.prefix}:`)) {
        if (!kept.has(comment)) await removeMasquerades(comment);
      }
    });
  }

  describe(): string {
    return `bridges ${this.prefix}b*, outbound NAT ${forwardingEnabled() ? 'with' : 'without (host has IP forwarding off)'}`;
  }

  /** Creates the VM's taps, one per NIC in order (numbered from firstIndex); on failure none is left. */
  async createTaps(containerId: string, nics: VmNic[], firstIndex = 0): Promise<string[]> {
    const taps: string[] = [];
    try {
      for (const [i, nic] of nics.entries()) {
        const tap = tapName(this.prefix, containerId, firstIndex + i);
        await deleteLink(tap); // a leftover of a VM that died while no engine ran
        await addTap(tap, this.bridgeOf(nic.networkId));
        taps.push(tap);
        this.held.add(tap);
      }
      return taps;
    } catch (err) {
      await this.releaseTaps(taps);
      throw err;
    }
  }

  /** Marks taps of an adopted VM as in use. */
  hold(taps: string[]): void {
    for (const tap of taps) this.held.add(tap);
  }

  /** A standby VM's tap (standby-pool.ts): on no bridge until attachTap; held, so sweep() keeps it. */
  async createStandbyTap(vmId: string): Promise<string> {
    const tap = tapName(this.prefix, vmId, 0);
    await deleteLink(tap);
    await addLooseTap(tap);
    this.held.add(tap);
    return tap;
  }

  /** Puts a standby VM's tap on the bridge of its container's network: part of the hand-over. */
  attachTap(tap: string, networkId: string): Promise<void> {
    return enslaveTap(tap, this.bridgeOf(networkId));
  }

  async releaseTaps(taps: string[]): Promise<void> {
    for (const tap of taps) {
      this.held.delete(tap);
      await deleteLink(tap);
    }
  }
}
