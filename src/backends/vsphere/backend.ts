// The vSphere backend (VIC's model): a VCH is a resource pool plus a VM folder; each container is a
// VM named `<name>-<shortid>` in them, with its writable disk, its layer disks (independent-
// nonpersistent, shared from the image store), its volume disks, a NIC per network on that network's
// port group, the tether's serial port, and its config in extraConfig (guestinfo.bonneville.*).
// Power operations go through tasks; a VM's end arrives through the property collector's feed; an
// engine restarting re-adopts the powered-on VMs it finds in the folder.
//
// A container VM is made at start (boot) and kept, powered off, after its process ends — what an
// admin sees in the vSphere client — until the container is removed (teardown); the next start makes
// it again from the current spec. It boots the guest from the image store's bootstrap ISO; its tether
// connects over the VM's serial port to the engine's listener (tether-listener.ts), which gives it
// its CONFIG and writes the container's output log (the qemu backend's format, read by the same code).
// With `tetherURI` 'none' there is no line (a simulator without a host agent runs no guest): boot then
// resolves once vSphere has the VM powered on, and whatever needs the guest is refused.
import type {
  Backend, BackendCapabilities, BackendInfo, ContainerVmSpec, ExitStatus, LogReadOptions, OutputRecord, VmHandle,
} from '../../portlayer/backend.ts';
import { conflict } from '../../portlayer/errors.ts';
import type { VimClient } from '../../vim25/session.ts';
import { powerOff, powerOn, powerState } from '../../vim25/virtual-machine.ts';
import { InvalidPowerStateFault, ManagedObjectNotFoundFault } from '../../vim25/faults.ts';
import type { ManagedObjectReference, PowerState } from '../../vim25/types.ts';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { containerVmName, createContainerVm, diskSlots, removeContainerVm, type ContainerNic, type DiskSlot } from './container-vm.ts';
import { ProcessStartError } from '../../portlayer/backend.ts';
import { TetherError } from '../../tether/client.ts';
import { tetherConfig } from '../tether-vm/container-config.ts';
import { lastExit, logSize, readOutput } from '../tether-vm/output-log.ts';
import { withDeadline } from '../tether-vm/deadline.ts';
import { channelKey, TetherListener, type TetherChannel } from './tether-listener.ts';
import { ensureBootIso } from './boot-iso.ts';
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
  /**
   * Where container VMs' serial ports connect (the VCH's tether listener, which listens on that host
   * and port), e.g. `tcp://10.0.0.5:2377`; 'none': no tether line (VMs without a guest).
   */
  tetherURI: string;
  /** The local bootstrap ISO (guest/build-iso.sh), uploaded to the image store; needed unless tetherURI is 'none'. */
  bootIso?: string;
  /** The image store's folder on its datastore (where the ISO goes); '' for the datastore's root. */
  imageStorePath?: string;
  /** How long a container VM may take from power-on to its process started (default 600 s: a loaded TCG host boots slowly). */
  bootTimeoutSeconds?: number;
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
  /** With a public network: the NIC after `nics` is on it (this MAC, address from its DHCP), and these ports are published there. */
  publicMac?: string;
  published?: NonNullable<ContainerVmSpec['ports']>;
  disks: {
    writable: DiskSlot;
    layers: DiskSlot[];
    volumes: Array<{ slot: DiskSlot; mounts: Array<{ target: string; readOnly: boolean; copyUp: boolean }> }>;
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The public NIC's MAC: locally administered, from the container id, so that every start of the
 * container asks the public network's DHCP server for the same lease.
 */
export function publicMac(id: string): string {
  return ['02', ...(id.slice(0, 10).match(/../g) ?? [])].join(':');
}

/** The container's output log in its directory: tether log frames, as the qemu backend's `output.log`. */
function outputLog(dir: string): string {
  return join(dir, 'output.log');
}

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
  private listener?: TetherListener;
  private listening?: Promise<TetherListener | undefined>;
  private bootIso?: Promise<string>;

  constructor(options: VsphereBackendOptions) {
    this.options = options;
    this.client = options.client;
    this.vch = options.vch;
    this.disks = options.disks;
    this.networks = options.networks;
    this.log = options.log ?? (() => {});
  }

  /** Starts following the VCH's VMs' power states (the property collector's feed) and listening for tethers; idempotent. */
  start(): Promise<void> {
    void this.listen();
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
    await this.listener?.close().catch(() => {});
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
        ['Tether', this.tetherless ? 'none (no guests: inventory only)' : this.listener ? `listening for serial ports on ${this.options.tetherURI}` : 'not listening'],
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
    let listener: TetherListener | undefined;
    let bootIso: string | undefined;
    if (!this.tetherless) {
      listener = await this.listen();
      if (!listener) throw new Error(`the VCH does not listen on its tether URI ${this.options.tetherURI} (see the engine log): container VMs cannot be reached`);
      bootIso = await this.ensureBootIso();
    }
    try {
      const nics: ContainerNic[] = await Promise.all((spec.nics ?? []).map(async (n) => ({ ...(await this.networks.nicBacking(n.networkId)), macAddress: n.mac })));
      // Published ports are reached through the VCH's public network (VIC's model): one more NIC, last.
      const publicNic = spec.ports?.length ? await this.networks.publicBacking() : undefined;
      if (publicNic) nics.push({ ...publicNic, macAddress: publicMac(spec.id) });
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
        bootIso,
      }));
    } catch (err) {
      throw vsphereError(`creating container VM ${vmName} in VCH ${this.vch.name}`, err);
    }
    this.vms.set(spec.id, { ref, name: vmName });
    // The line of the container's previous VM may not have closed yet (its host ends it after the
    // power-off): what connects from now on is this VM's.
    listener?.drop(channelKey(spec.id));
    try {
      await powerOn(this.client, ref);
    } catch (err) {
      // On failure no VM is left.
      this.vms.delete(spec.id);
      await this.remove(ref, vmName).catch((e: unknown) => this.log(`${vmName}: not removed after a failed power-on: ${(e as Error).message}`));
      throw vsphereError(`powering on container VM ${vmName}`, err);
    }
    // Followed from here on: the feed's reports of the VM off before its power-on are behind us.
    const vm = this.handle(spec.id, ref, spec.dir);
    this.running.set(spec.id, vm);
    this.dirs.set(spec.id, spec.dir);
    this.forget(vm);
    if (await this.isOff(ref)) vm.poweredOff(false);
    if (!listener) return vm;
    try {
      await this.startProcess(vm, listener, spec);
    } catch (err) {
      await vm.kill().catch(() => {});
      this.vms.delete(spec.id);
      await this.remove(ref, vmName).catch((e: unknown) => this.log(`${vmName}: not removed after a failed start: ${(e as Error).message}`));
      if (err instanceof TetherError && err.reportedByGuest) throw new ProcessStartError(err.message, err.code);
      throw new Error(`the container VM ${vmName} did not come up: ${(err as Error).message}`, { cause: err });
    }
    return vm;
  }

  /** Waits for the VM's tether on the line, gives it its CONFIG, resolves once the process runs. */
  private async startProcess(vm: VsphereVm, listener: TetherListener, spec: ContainerVmSpec): Promise<void> {
    const gone = new AbortController();
    void vm.exited.then(() => gone.abort(new Error('the VM was powered off before its tether answered')));
    const deadline = Date.now() + (this.options.bootTimeoutSeconds ?? 600) * 1000;
    const channel = await listener.next(channelKey(spec.id), deadline - Date.now(), gone.signal);
    this.join(vm, channel, spec.dir);
    if (channel.hello.state !== 'waiting') throw new Error(`the tether is ${channel.hello.state} already`);
    const config = tetherConfig(this.publishing(spec) ? this.routedNics(spec) : spec, this.tetherDisks(spec));
    config.formatBlank = true;
    if (this.publishing(spec)) {
      config.public = { mac: publicMac(spec.id), ports: spec.ports!.map((p) => ({ hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol })) };
    }
    const poweredOff = new Promise<never>((_, reject) => gone.signal.addEventListener('abort', () => reject(gone.signal.reason as Error), { once: true }));
    const started = await withDeadline(Promise.race([channel.client.configure(config), poweredOff]), deadline, 'the container process did not start');
    if (started.publicAddress) vm.leaseReported(started.publicAddress);
  }

  /** The container gets a NIC on the public network (it publishes ports, and the VCH has one). */
  private publishing(spec: ContainerVmSpec): boolean {
    return Boolean(spec.ports?.length && this.networks.publicNetwork);
  }

  /**
   * With a public NIC, the default route: a gateway on a VCH-made (bridge) network is nobody's on
   * vSphere (the engine's host is not on its port group), so those NICs route nothing beyond their
   * subnet; an existing port group's gateway is the admin's router and stays. The tether then takes
   * the public network's DHCP router as the default route only when no gateway is left.
   */
  private routedNics(spec: ContainerVmSpec): ContainerVmSpec {
    return { ...spec, nics: (spec.nics ?? []).map((n) => (this.networks.routesOut(n.networkId) ? n : { ...n, gateway: undefined })) };
  }

  /** A (re)connected line of a running VM: its log frames go to the container's log, its control to the handle. */
  private join(vm: VsphereVm, channel: TetherChannel, dir: string): void {
    if (channel.client.listenerCount('diag') === 0) channel.client.on('diag', (line) => this.log(`tether of ${vm.id.slice(0, 12)}: ${line}`));
    void channel.line.logTo(outputLog(dir)).catch((err: unknown) => {
      this.log(`tether of ${vm.id.slice(0, 12)}: its log ${outputLog(dir)}: ${(err as Error).message}`);
      channel.line.close();
    });
    vm.attach(channel);
  }

  /** The disks as the guest finds them: by SCSI slot (the order createContainerVm attaches them in). */
  private tetherDisks(spec: ContainerVmSpec): { layers: string[]; rw: string; mounts: Array<{ serial: string; target: string; readOnly: boolean; copyUp: boolean }> } {
    const disks = this.diskLayout(spec);
    const name = (s: DiskSlot) => `scsi:${s.bus}:${s.unit}`;
    return {
      layers: disks.layers.map(name),
      rw: name(disks.writable),
      mounts: disks.volumes.flatMap((v) => v.mounts.map((m) => ({ serial: name(v.slot), ...m }))),
    };
  }

  private handle(id: string, ref: ManagedObjectReference, dir: string): VsphereVm {
    return new VsphereVm(id, ref, { powerOff: (r) => this.powerOff(r), recordedExit: () => lastExit(outputLog(dir)), log: this.log, tetherless: this.tetherless });
  }

  private get tetherless(): boolean {
    return this.options.tetherURI === 'none';
  }

  /** The tether listener, once; undefined (logged) when it cannot listen or there is no line. */
  private listen(): Promise<TetherListener | undefined> {
    if (this.tetherless) return Promise.resolve(undefined);
    this.listening ??= TetherListener.listen(this.options.tetherURI, this.log).then((listener) => {
      this.listener = listener;
      // A running VM's line that (re)connects — after an engine restart, or a broken connection.
      listener.on('channel', (channel) => {
        const vm = [...this.running.values()].find((v) => channelKey(v.id) === channel.key);
        const dir = vm && this.dirs.get(vm.id);
        if (vm && dir && vm.running) this.join(vm, channel, dir);
      });
      return listener;
    }, (err: unknown) => {
      this.log(`tether listener on ${this.options.tetherURI}: ${(err as Error).message}`);
      this.listening = undefined;
      return undefined;
    });
    return this.listening;
  }

  private ensureBootIso(): Promise<string> {
    const local = this.options.bootIso;
    if (!local) return Promise.reject(new Error('no bootstrap ISO for container VMs (build it: bash guest/build.sh)'));
    this.bootIso ??= ensureBootIso(this.client, this.options.target, this.options.imageStorePath ?? '', local).catch((err: unknown) => {
      this.bootIso = undefined;
      throw vsphereError('uploading the bootstrap ISO to the image store', err);
    });
    return this.bootIso;
  }

  async adopt(id: string, dir: string): Promise<VmHandle | undefined> {
    await this.start();
    const running = this.running.get(id);
    if (running?.running) return running;
    const known = this.vms.get(id);
    if (!known) return undefined;
    // Followed before its state is read (one read): a power-off after the read reaches the handle.
    const vm = this.handle(id, known.ref, dir);
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
    // Its line may be up already (the VM reconnected before the engine got here), or come later.
    const listener = await this.listen();
    const channel = listener?.channel(channelKey(id));
    if (channel) this.join(vm, channel, dir);
    return vm;
  }

  async teardown(id: string, dir: string): Promise<void> {
    await this.start();
    const found = this.vms.get(id);
    if (found) await this.remove(found.ref, found.name);
    this.vms.delete(id);
    await rm(outputLog(dir), { force: true });
  }

  logPosition(dir: string): number {
    return logSize(outputLog(dir));
  }

  /** The output the engine wrote from the tether's log frames (the qemu backend's format). */
  readLogs(dir: string, options: LogReadOptions): AsyncIterable<OutputRecord> {
    return readOutput(outputLog(dir), options);
  }

  lastRecordedExit(dir: string): Promise<ExitStatus | undefined> {
    return lastExit(outputLog(dir));
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

  /** Which SCSI slot holds which disk: the writable one, then the layers, then one per volume disk. */
  private diskLayout(spec: ContainerVmSpec): GuestConfig['disks'] {
    const volumes = this.volumeDisks(spec);
    const slots = diskSlots(1 + spec.layerDisks.length + volumes.length);
    return {
      writable: slots[0],
      layers: slots.slice(1, 1 + spec.layerDisks.length),
      volumes: volumes.map((disk, i) => ({
        slot: slots[1 + spec.layerDisks.length + i],
        mounts: (spec.volumes ?? []).filter((v) => v.disk === disk).map((v) => ({ target: v.target, readOnly: v.readOnly, copyUp: v.copyUp })),
      })),
    };
  }

  private guestConfig(spec: ContainerVmSpec, name: string): GuestConfig {
    return {
      id: spec.id,
      name,
      hostname: spec.hostname,
      domainname: spec.domainname,
      process: spec.process,
      hosts: spec.hosts,
      dns: spec.dns,
      nics: (spec.nics ?? []).map((n) => ({ mac: n.mac, address: n.address, gateway: n.gateway })),
      ...(this.publishing(spec) ? { publicMac: publicMac(spec.id), published: spec.ports } : {}),
      disks: this.diskLayout(spec),
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
