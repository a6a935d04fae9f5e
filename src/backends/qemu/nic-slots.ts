// NIC slots: how a running container VM joins and leaves networks (`docker network connect` /
// `disconnect`). virtio-mmio has no hot-plug, so every VM is built with NIC_SLOTS virtio-net devices
// (a clone has its template's); the ones no network uses at boot sit on an empty QEMU hub, each
// with its own MAC (slotMac). Joining a network adds a tap netdev and a hub port joining it to that
// slot's hub (QMP netdev_add), then tells the tether to configure the interface that has the slot's
// MAC; leaving reverses both. A slot whose NIC had its tap from the command line cannot get another
// netdev once that tap is deleted (QEMU keeps the NIC's dead peer), so it is retired until the VM ends.
import { QmpClient } from './qmp.ts';
import { vmFrozen } from './run-state.ts';
import type { VmNic } from '../../portlayer/backend.ts';
import type { QemuNetworks } from './network/plumbing.ts';
import type { TetherGuest } from '../tether-vm/guest.ts';
import { guestNetworks } from '../tether-vm/guest-networks.ts';

/** virtio-net devices in every container VM (and template): networks at boot plus runtime joins. */
export const NIC_SLOTS = 4;

/** The MAC a slot's NIC has until the tether gives it the container's (locally administered, unicast). */
export function slotMac(slot: number): string {
  return `52:54:00:b0:00:${slot.toString(16).padStart(2, '0')}`;
}

/** What each slot of a running VM is doing, kept in its runtime record (an engine restart reads it back). */
export interface NicSlot {
  /** The network on it; absent: free (or retired). */
  networkId?: string;
  /** The container's MAC on that network. */
  mac?: string;
  tap?: string;
  /** Set when the tap was joined at runtime: the netdev ids to remove on leave. */
  hub?: { tapNetdev: string; port: string };
  /** Its boot-time tap was removed: no netdev can be attached to this NIC again. */
  retired?: boolean;
}

/** The slots of a VM just started: its boot networks first, the rest free. */
export function bootSlots(nics: Array<{ networkId: string; mac: string }>, taps: string[]): NicSlot[] {
  return Array.from({ length: Math.max(NIC_SLOTS, nics.length) }, (_, i) => (i < nics.length ? { networkId: nics[i].networkId, mac: nics[i].mac, tap: taps[i] } : {}));
}

/** Joins a tap to a free slot's hub. */
export async function plugTap(qmpSocket: string, slot: number, tap: string, timeoutMs: number): Promise<{ tapNetdev: string; port: string }> {
  // Unique per join: QEMU may keep a deleted netdev's id a moment longer.
  const suffix = Date.now().toString(36);
  const ids = { tapNetdev: `hot${slot}t${suffix}`, port: `hot${slot}p${suffix}` };
  const qmp = await QmpClient.connect(qmpSocket, timeoutMs);
  try {
    await qmp.execute('netdev_add', { type: 'tap', id: ids.tapNetdev, ifname: tap, script: 'no', downscript: 'no', vhost: false });
    try {
      await qmp.execute('netdev_add', { type: 'hubport', id: ids.port, hubid: slot, netdev: ids.tapNetdev });
    } catch (err) {
      await qmp.execute('netdev_del', { id: ids.tapNetdev }).catch(() => undefined);
      throw err;
    }
    return ids;
  } finally {
    qmp.close();
  }
}

/** Takes a runtime-joined tap off its slot's hub (the slot can be joined again). */
export async function unplugTap(qmpSocket: string, hub: { tapNetdev: string; port: string }, timeoutMs: number): Promise<void> {
  const qmp = await QmpClient.connect(qmpSocket, timeoutMs);
  try {
    await qmp.execute('netdev_del', { id: hub.port });
    await qmp.execute('netdev_del', { id: hub.tapNetdev });
  } finally {
    qmp.close();
  }
}

/** Cuts a boot-time NIC's tap off (the NIC stays, link down): the slot is retired. */
export async function cutBootNetdev(qmpSocket: string, slot: number, timeoutMs: number): Promise<void> {
  const qmp = await QmpClient.connect(qmpSocket, timeoutMs);
  try {
    await qmp.execute('netdev_del', { id: `net${slot}` });
  } finally {
    qmp.close();
  }
}

/** Errors the port layer passes on as they are (errorKind reads `kind`). */
function conflictError(message: string): Error {
  return Object.assign(new Error(message), { kind: 'Conflict' });
}

export interface NicHotplugOptions {
  containerId: string;
  qmpSocket: string;
  /** The VM's slots (its runtime record's), changed in place. */
  slots: NicSlot[];
  networks: QemuNetworks;
  /** Persists the slots (the runtime record), after every change. */
  save: () => void;
  timeoutMs: number;
}

/** Joins and leaves networks for one running VM, one change at a time. */
export class NicHotplug {
  private readonly options: NicHotplugOptions;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: NicHotplugOptions) {
    this.options = options;
  }

  /** The taps the VM holds now: released when it ends. */
  taps(): string[] {
    return this.options.slots.flatMap((s) => (s.tap ? [s.tap] : []));
  }

  attach(nic: VmNic, guest: TetherGuest): Promise<void> {
    return this.serial(async () => {
      const { slots, networks, qmpSocket, timeoutMs } = this.options;
      if (slots.some((s) => s.networkId === nic.networkId)) throw conflictError('the container VM is on this network already');
      // A frozen guest would not answer until it is thawed: refuse instead of waiting.
      if (await vmFrozen(qmpSocket)) throw conflictError('the container is paused: unpause it first');
      const slot = slots.findIndex((s) => !s.networkId && !s.retired);
      if (slot < 0) throw conflictError(`the container's VM has no free NIC left (${slots.length} in all, networks left while it ran count until it stops): stop the container and connect it then`);
      const [tap] = await networks.createTaps(this.options.containerId, [nic], slot);
      try {
        const hub = await plugTap(qmpSocket, slot, tap, timeoutMs);
        try {
          await guest.attachNetwork(slotMac(slot), guestNetworks([nic])[0]);
        } catch (err) {
          await unplugTap(qmpSocket, hub, timeoutMs).catch(() => undefined);
          throw err;
        }
        slots[slot] = { networkId: nic.networkId, mac: nic.mac, tap, hub };
        this.options.save();
      } catch (err) {
        await networks.releaseTaps([tap]);
        throw err;
      }
    });
  }

  detach(networkId: string, guest: TetherGuest): Promise<void> {
    return this.serial(async () => {
      const { slots, networks, qmpSocket, timeoutMs } = this.options;
      const slot = slots.findIndex((s) => s.networkId === networkId);
      if (slot < 0) return; // not on it (a VM from before hot-plug, or already left)
      if (await vmFrozen(qmpSocket)) throw conflictError('the container is paused: unpause it first');
      const current = slots[slot];
      // The guest lets go of the address first; a guest that cannot answer still loses the NIC.
      const unconfigured = guest.detachNetwork(current.mac ?? '', slotMac(slot)).catch((err: Error) => err);
      if (current.hub) {
        await unplugTap(qmpSocket, current.hub, timeoutMs);
        slots[slot] = {};
      } else {
        await cutBootNetdev(qmpSocket, slot, timeoutMs);
        slots[slot] = { retired: true };
      }
      this.options.save();
      if (current.tap) await networks.releaseTaps([current.tap]);
      const failed = await unconfigured;
      if (failed) throw new Error(`the NIC was unplugged, but the guest did not release its address: ${failed.message}`);
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
