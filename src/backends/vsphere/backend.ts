// The vSphere backend (VIC's model): a VCH is a resource pool plus a VM folder; each container is a
// VM named `<name>-<shortid>` in them, with its writable disk, its layer disks (independent-
// nonpersistent, shared from the image store), its volume disks, a NIC per network on that network's
// port group, the tether's serial port, and its config in extraConfig (guestinfo.bonneville.*).
// Power operations go through tasks; a VM's end arrives through the property collector's feed; an
// engine restarting re-adopts the powered-on VMs it finds in the folder.
//
// A container VM is made at start (boot) and kept, powered off, after its process ends — what an
// admin sees in the vSphere client — until the container is removed (teardown); the next start makes
// it again from the current spec. Output, exit codes and everything inside the guest need the tether's
// channel, which this backend does not serve yet (container-vm-handle.ts): boot resolves once vSphere
// has the VM powered on.
import type {
  Backend, BackendCapabilities, BackendInfo, ContainerVmSpec, ExitStatus, LogReadOptions, OutputRecord, VmHandle,
} from '../../portlayer/backend.ts';
import { conflict } from '../../portlayer/errors.ts';
import type { VimClient } from '../../vim25/session.ts';
import { powerOff, powerOn, powerState } from '../../vim25/virtual-machine.ts';
import { InvalidPowerStateFault, ManagedObjectNotFoundFault } from '../../vim25/faults.ts';
import type { ManagedObjectReference, PowerState } from '../../vim25/types.ts';
import { containerVmName, createContainerVm, diskSlots, removeContainerVm, type ContainerNic, type DiskSlot } from './container-vm.ts';
import { listContainers, PowerWatch } from './inventory-adoption.ts';
import { VsphereVm } from './container-vm-handle.ts';
import { vsphereError } from './fault-errors.ts';
import type { PortgroupPlumbing } from './portgroup-plumbing.ts';
import type { Target } from './target.ts';
import type { VchPlacement } from './vch-pool.ts';
import type { VsphereDiskStore } from './vsphere-disks.ts';

export interface VsphereBackendOptions {
  client: VimClient;
  target: Target;
  vch: VchPlacement;
  disks: VsphereDiskStore;
  networks: PortgroupPlumbing;
  /** Where container VMs' serial ports connect (the VCH's tether listener), e.g. `tcp://10.0.0.5:2377`. */
  tetherURI: string;
  log?: (line: string) => void;
  /** close() logs the client out (the backend opened it). */
  ownsClient?: boolean;
}

/** What the tether reads from guestinfo.bonneville.config: the container, and which disk is which. */
export interface GuestConfig {
  id: string;
  name: string;
  hostname: string;
  domainname: string;
  process: ContainerVmSpec['process'];
  hosts?: string[];
  dns?: ContainerVmSpec['dns'];
  nics: Array<{ mac: string; address: string; gateway?: string }>;
  /** With a public network: the NIC after `nics` is on it (address from its DHCP), and these ports are published there. */
  published?: NonNullable<ContainerVmSpec['ports']>;
  disks: {
    writable: DiskSlot;
    layers: DiskSlot[];
    volumes: Array<{ slot: DiskSlot; mounts: Array<{ target: string; readOnly: boolean; copyUp: boolean }> }>;
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export class VsphereBackend implements Backend {
  readonly capabilities: BackendCapabilities = { pause: false, stoppedContainerFiles: false };
  readonly disks: VsphereDiskStore;
  readonly networks: PortgroupPlumbing;
  private readonly options: VsphereBackendOptions;
  private readonly client: VimClient;
  private readonly vch: VchPlacement;
  private readonly log: (line: string) => void;
  /** Running container VMs by container id. */
  private readonly running = new Map<string, VsphereVm>();
  private readonly dirs = new Map<string, string>();
  /**
   * The VCH's container VMs by container id: read once at start (one bulk read), then kept by boot and
   * teardown — the one engine of a VCH is the only one making and removing its VMs. Finding a VM then
   * costs one read of its power state, not a listing of the folder (which grows with the VCH).
   */
  private readonly vms = new Map<string, { ref: ManagedObjectReference; name: string }>();
  private watch?: PowerWatch;
  /** The tail of the VM creations queued (see oneAtATime). */
  private creating: Promise<unknown> = Promise.resolve();
  private starting?: Promise<void>;
  private closed = false;

  constructor(options: VsphereBackendOptions) {
    this.options = options;
    this.client = options.client;
    this.vch = options.vch;
    this.disks = options.disks;
    this.networks = options.networks;
    this.log = options.log ?? (() => {});
  }

  /** Starts following the VCH's VMs' power states (the property collector's feed); idempotent. */
  start(): Promise<void> {
    this.starting ??= Promise.all([PowerWatch.create(this.client, this.vch, 30, false), listContainers(this.client, this.vch)]).then(([watch, vms]) => {
      this.watch = watch;
      for (const vm of vms) this.vms.set(vm.id, { ref: vm.ref, name: containerVmName(vm.name, vm.id) });
      void this.follow(watch);
    }, (err: unknown) => {
      this.starting = undefined;
      throw vsphereError('following the VCH\'s VMs', err);
    });
    return this.starting;
  }

  /** Stops following and logs out; the VMs keep running (a later engine adopts them). */
  async close(): Promise<void> {
    this.closed = true;
    await this.watch?.close().catch(() => {});
    this.watch = undefined;
    if (this.options.ownsClient) await this.client.logout().catch(() => {});
  }

  info(): BackendInfo {
    const { target } = this.options;
    const about = this.client.content.about;
    return {
      name: 'vsphere',
      accelerator: 'esxi',
      kernelVersion: about.fullName,
      details: [
        ['vSphere', `${about.fullName} (API ${about.apiVersion})`],
        ['Compute resource', `${target.config.datacenter}/host/${target.config.computeResource}`],
        ['Image store', `[${target.config.datastore}] ${this.disks.root}`],
        ['VCH pool and folder', this.vch.name],
        ['Container VMs running', String(this.running.size)],
        ['Tether', 'not served: no output, exec or files from container VMs yet'],
      ],
    };
  }

  async boot(spec: ContainerVmSpec): Promise<VmHandle> {
    await this.start();
    const name = spec.name && NAME.test(spec.name) ? spec.name : spec.hostname;
    const vmName = containerVmName(name, spec.id);
    const existing = await this.find(spec.id);
    if (existing?.powerState === 'poweredOn') throw conflict(`container VM ${vmName} is powered on already`);
    if (existing) {
      await this.remove(existing.ref, `the previous VM of ${vmName}`);
      this.vms.delete(spec.id);
    }
    let ref: ManagedObjectReference;
    try {
      const nics: ContainerNic[] = await Promise.all((spec.nics ?? []).map(async (n) => ({ ...(await this.networks.nicBacking(n.networkId)), macAddress: n.mac })));
      // Published ports are reached through the VCH's public network (VIC's model): one more NIC, last.
      const publicNic = spec.ports?.length ? await this.networks.publicBacking() : undefined;
      if (publicNic) nics.push(publicNic);
      ref = await this.oneAtATime(() => createContainerVm(this.client, this.vch, this.options.target.dvsUuid, {
        id: spec.id,
        name,
        cpus: spec.cpus,
        memoryMB: spec.memoryMiB,
        datastore: this.options.target.config.datastore,
        writableDisk: spec.writableDisk,
        writableExists: true,
        layerDisks: spec.layerDisks,
        volumeDisks: this.volumeDisks(spec),
        nics,
        tetherURI: this.options.tetherURI,
        config: this.guestConfig(spec, name),
      }));
    } catch (err) {
      throw vsphereError(`creating container VM ${vmName} in VCH ${this.vch.name}`, err);
    }
    this.vms.set(spec.id, { ref, name: vmName });
    try {
      await powerOn(this.client, ref);
    } catch (err) {
      // On failure no VM is left.
      this.vms.delete(spec.id);
      await this.remove(ref, vmName).catch((e: unknown) => this.log(`${vmName}: not removed after a failed power-on: ${(e as Error).message}`));
      throw vsphereError(`powering on container VM ${vmName}`, err);
    }
    // Followed from here on: the feed's reports of the VM off before its power-on are behind us.
    const vm = new VsphereVm(spec.id, ref, { powerOff: (r) => this.powerOff(r), log: this.log });
    this.running.set(spec.id, vm);
    this.dirs.set(spec.id, spec.dir);
    this.forget(vm);
    if (await this.isOff(ref)) vm.poweredOff(false);
    return vm;
  }

  async adopt(id: string, dir: string): Promise<VmHandle | undefined> {
    await this.start();
    const running = this.running.get(id);
    if (running?.running) return running;
    const known = this.vms.get(id);
    if (!known) return undefined;
    // Followed before its state is read (one read): a power-off after the read reaches the handle.
    const vm = new VsphereVm(id, known.ref, { powerOff: (r) => this.powerOff(r), log: this.log });
    this.running.set(id, vm);
    this.dirs.set(id, dir);
    const drop = () => {
      if (this.running.get(id) !== vm) return;
      this.running.delete(id);
      this.dirs.delete(id);
    };
    let now: PowerState | 'gone';
    try {
      now = await this.stateNow(known.ref);
    } catch (err) {
      drop();
      throw vsphereError(`reading container VM ${known.name}`, err);
    }
    if (now !== 'poweredOn') {
      drop();
      if (now === 'gone') this.vms.delete(id);
      return undefined;
    }
    this.forget(vm);
    return vm;
  }

  async teardown(id: string): Promise<void> {
    await this.start();
    const found = this.vms.get(id);
    if (found) await this.remove(found.ref, found.name);
    this.vms.delete(id);
  }

  logPosition(): number {
    return 0;
  }

  /** No output reaches the engine without the tether: an empty log, followed until the VM ends. */
  async *readLogs(dir: string, options: LogReadOptions): AsyncIterable<OutputRecord> {
    if (!options.follow) return;
    const vm = [...this.running].find(([id]) => this.dirs.get(id) === dir)?.[1];
    if (!vm) return;
    await new Promise<void>((resolve) => {
      void vm.exited.then(() => resolve());
      options.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  async lastRecordedExit(): Promise<ExitStatus | undefined> {
    return undefined;
  }

  // ---- inside ----

  /**
   * VM creations one at a time: the free-name check and the create are then one step for this engine
   * (vcsim also crashes on a name lookup during a concurrent CreateVM). Power-ons still overlap.
   */
  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.creating.then(work, work);
    this.creating = run.catch(() => undefined);
    return run;
  }

  private volumeDisks(spec: ContainerVmSpec): string[] {
    return [...new Set((spec.volumes ?? []).map((v) => v.disk))];
  }

  private guestConfig(spec: ContainerVmSpec, name: string): GuestConfig {
    const volumes = this.volumeDisks(spec);
    const slots = diskSlots(1 + spec.layerDisks.length + volumes.length);
    return {
      id: spec.id,
      name,
      hostname: spec.hostname,
      domainname: spec.domainname,
      process: spec.process,
      hosts: spec.hosts,
      dns: spec.dns,
      nics: (spec.nics ?? []).map((n) => ({ mac: n.mac, address: n.address, gateway: n.gateway })),
      ...(spec.ports?.length && this.networks.publicNetwork ? { published: spec.ports } : {}),
      disks: {
        writable: slots[0],
        layers: slots.slice(1, 1 + spec.layerDisks.length),
        volumes: volumes.map((disk, i) => ({
          slot: slots[1 + spec.layerDisks.length + i],
          mounts: (spec.volumes ?? []).filter((v) => v.disk === disk).map((v) => ({ target: v.target, readOnly: v.readOnly, copyUp: v.copyUp })),
        })),
      },
    };
  }

  private async find(id: string): Promise<{ ref: ManagedObjectReference; name: string; powerState: PowerState } | undefined> {
    const known = this.vms.get(id);
    if (!known) return undefined;
    try {
      return { ...known, powerState: await powerState(this.client, known.ref) };
    } catch (err) {
      if (err instanceof ManagedObjectNotFoundFault) {
        this.vms.delete(id); // removed behind the engine's back
        return undefined;
      }
      throw vsphereError(`reading container VM ${known.name}`, err);
    }
  }

  /** Destroys a container VM; every disk is detached first (the disk store owns them). */
  private async remove(ref: ManagedObjectReference, what: string): Promise<void> {
    try {
      await removeContainerVm(this.client, ref, 'all-disks');
    } catch (err) {
      if (err instanceof ManagedObjectNotFoundFault) return;
      throw vsphereError(`removing ${what}`, err);
    }
  }

  private async powerOff(ref: ManagedObjectReference): Promise<void> {
    try {
      await powerOff(this.client, ref);
    } catch (err) {
      if (err instanceof InvalidPowerStateFault || err instanceof ManagedObjectNotFoundFault) return;
      throw vsphereError('powering off a container VM', err);
    }
  }

  /** The VM's power state now, or 'gone'. */
  private async stateNow(ref: ManagedObjectReference): Promise<PowerState | 'gone'> {
    try {
      return await powerState(this.client, ref);
    } catch (err) {
      if (err instanceof ManagedObjectNotFoundFault) return 'gone';
      throw err;
    }
  }

  /** True when the VM is not powered on now (or is gone). */
  private async isOff(ref: ManagedObjectReference): Promise<boolean> {
    return (await this.stateNow(ref)) !== 'poweredOn';
  }

  private forget(vm: VsphereVm): void {
    void vm.exited.then(() => {
      if (this.running.get(vm.id) !== vm) return;
      this.running.delete(vm.id);
      this.dirs.delete(vm.id);
    });
  }

  /** Ends the handles of VMs the feed reports off or gone (each checked against the VM's state now:
   *  the feed may deliver a VM's powered-off state from before its power-on late). An error reading
   *  one VM's state ends the loop, which starts following again (below). */
  private async follow(watch: PowerWatch): Promise<void> {
    try {
      for await (const batch of watch) {
        for (const change of batch) {
          if (change.powerState === 'poweredOn') continue;
          const vm = [...this.running.values()].find((v) => v.ref.value === change.ref.value);
          if (!vm) continue;
          // Checked either way: vcsim's container view can report a VM leaving for a moment while others change.
          const now = await this.stateNow(vm.ref);
          if (now !== 'poweredOn') vm.poweredOff(now === 'gone');
        }
      }
    } catch (err) {
      if (this.closed) return;
      this.log(`vSphere power feed failed (${(err as Error).message}); following again`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      this.starting = undefined;
      if (!this.closed) await this.start().catch((e: unknown) => this.log(`vSphere power feed: ${(e as Error).message}`));
    }
  }
}
