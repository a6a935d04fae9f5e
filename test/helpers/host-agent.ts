// A test host agent: plays ESXi's part for the container VMs vcsim powers on (vcsim keeps inventory
// and power states but runs no guest). Through the project's own vim25 client it follows every VM's
// power state (a PropertyCollector feed over a container view); when a Bonneville container VM
// (guestinfo.bonneville.id) turns poweredOn it runs it with QEMU from its datastore files — vcsim's
// datastores are local directories — as ESXi would:
//   - the CD-ROM's ISO as an IDE CD, booted first (SeaBIOS + isolinux);
//   - each ParaVirtualSCSIController as a pvscsi device at increasing PCI addresses in bus order, each
//     disk at target = its unit number; a flat VMDK's extent is opened raw; independent-nonpersistent
//     disks (layers) with snapshot=on (writes go to a temporary overlay, as ESXi's redo log);
//   - the serial port's `tcp://host:port` URI as a client chardev (ESXi connects out, direction
//     client), reconnecting every second while nobody listens, as ESXi does;
//   - vmxnet3 NICs with the VM's MACs, each on an empty hub (no traffic leaves: loopback-only tests),
//     except NICs on a port group a test joined to a Linux bridge it made (bridgePortgroup): those get
//     a tap of the agent's on that bridge (removed when the VM's QEMU ends, and at stop);
//   - the VM's BIOS UUID (config.uuid) as the SMBIOS UUID; -no-reboot.
// vcsim's VirtualDiskManager makes a thin disk as two empty files (descriptor and `-flat.vmdk`); the
// agent then sizes the flat file (sparse) to the disk's capacity — what ESXi's thin disk reads as:
// zeros — and uses it raw, so what the guest writes stays in the datastore across VMs.
// When QEMU exits (the guest powered off), the agent powers the VM off in vcsim (PowerOffVM_Task);
// when vcsim powers a VM off or it leaves the inventory, the agent kills its QEMU. Test code only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VimClient } from '../../src/vim25/session.ts';
import { PropertyWatch, retrieveContained, retrieveOne } from '../../src/vim25/property-collector.ts';
import { powerOff, virtualMachineInfo } from '../../src/vim25/virtual-machine.ts';
import { listPortgroups } from '../../src/vim25/dvs.ts';
import type { ManagedObjectReference, VirtualDevice } from '../../src/vim25/types.ts';
import type { VcsimInfo } from './vcsim.ts';

const QEMU = 'qemu-system-x86_64';
/** A thin disk whose capacity the inventory does not give (vcsim keeps none for an attached existing disk). */
const DEFAULT_THIN_BYTES = 8 * 1024 ** 3;

interface RunningVm {
  ref: ManagedObjectReference;
  name: string;
  qemu: ChildProcess;
  console: string;
  /** The agent killed it (vcsim powered the VM off): no power-off to report back. */
  killed: boolean;
  /** Taps the agent made for its bridged NICs. */
  taps: string[];
  exited: Promise<void>;
}

export class HostAgent {
  private readonly client: VimClient;
  private readonly watch: PropertyWatch;
  private readonly view: ManagedObjectReference;
  private readonly work: string;
  private readonly vms = new Map<string, RunningVm>();
  private readonly starting = new Set<string>();
  private datastores?: Map<string, string>;
  private stopped = false;
  private loop: Promise<void>;
  /** Port group key → the Linux bridge its NICs join (bridgePortgroup). */
  private readonly bridges = new Map<string, string>();
  private taps = 0;
  /** What went wrong in the agent itself (tests show it on failure). */
  readonly problems: string[] = [];
  /** QEMU command lines started, for tests and diagnostics. */
  readonly started: Array<{ vm: string; args: string[]; console: string }> = [];

  private constructor(client: VimClient, watch: PropertyWatch, view: ManagedObjectReference, work: string) {
    this.client = client;
    this.watch = watch;
    this.view = view;
    this.work = work;
    this.loop = this.follow();
  }

  static async start(sim: VcsimInfo): Promise<HostAgent> {
    const client = await VimClient.connect({ url: sim.url, thumbprint: sim.thumbprintSha256, username: sim.username, password: sim.password });
    const view = await client.invokeRef('CreateContainerView', client.manager('viewManager'), { container: client.content.rootFolder, type: ['VirtualMachine'], recursive: true });
    const watch = await PropertyWatch.create(client, [{
      propSet: [{ type: 'VirtualMachine', pathSet: ['runtime.powerState'] }],
      objectSet: [{ obj: view, skip: true, selectSet: [{ $type: 'TraversalSpec', name: 'view', type: 'ContainerView', path: 'view', skip: false }] }],
    }], { maxWaitSeconds: 5 });
    return new HostAgent(client, watch, view, mkdtempSync(join(tmpdir(), 'bv-host-agent-')));
  }

  /** The console (kernel and tether messages) of the VM whose name starts with this. */
  console(vmNamePrefix: string): string {
    for (const vm of this.vms.values()) if (vm.name.startsWith(vmNamePrefix)) return readFileSync(vm.console, 'utf8');
    return '';
  }

  /** The last lines of every VM console the agent kept (running or ended), for a failing test's message. */
  consoleTails(lines = 15): string {
    return this.started.map(({ vm, console }) => {
      let text = '';
      try { text = readFileSync(console, 'utf8'); } catch { /* never written */ }
      return `--- ${vm}\n${text.split('\n').slice(-lines).join('\n')}`;
    }).join('\n');
  }

  /**
   * NICs on this port group (by name) of VMs started from now on join a tap on `bridge` — a Linux
   * bridge the test made and removes — instead of an empty hub: the test's own network, e.g. with
   * a DHCP server on it for the public network.
   */
  async bridgePortgroup(name: string, bridge: string): Promise<void> {
    const pg = (await listPortgroups(this.client, this.client.content.rootFolder)).find((p) => p.name === name);
    if (!pg) throw new Error(`no distributed port group ${name}`);
    this.bridges.set(pg.key, bridge);
  }

  /** How many QEMU processes run now. */
  get running(): number {
    return this.vms.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.watch.close();
    await this.loop.catch(() => {});
    await Promise.all([...this.vms.values()].map((vm) => this.kill(vm)));
    await this.client.invoke('DestroyView', this.view).catch(() => {});
    await this.client.logout().catch(() => {});
    rmSync(this.work, { recursive: true, force: true });
  }

  private async follow(): Promise<void> {
    try {
      for await (const batch of this.watch) {
        for (const u of batch) {
          const vm = this.vms.get(u.obj.value);
          if (u.kind === 'leave') {
            if (vm) await this.kill(vm);
            continue;
          }
          const state = u.changes.find((c) => c.name === 'runtime.powerState')?.value;
          if (state === 'poweredOn' && !vm && !this.starting.has(u.obj.value)) {
            this.starting.add(u.obj.value);
            void this.run(u.obj).catch((err: unknown) => this.problems.push(`${u.obj.value}: ${(err as Error).message}`)).finally(() => this.starting.delete(u.obj.value));
          } else if (state !== 'poweredOn' && vm) {
            await this.kill(vm);
          }
        }
      }
    } catch (err) {
      if (!this.stopped) this.problems.push(`power feed: ${(err as Error).message}`);
    }
  }

  /** `[ds] path` → the local file vcsim keeps it in. */
  private async localPath(dsPath: string): Promise<string> {
    const m = /^\[([^\]]+)\] ?(.*)$/.exec(dsPath);
    if (!m) throw new Error(`not a datastore path: ${dsPath}`);
    if (!this.datastores) {
      this.datastores = new Map();
      for (const ds of await retrieveContained(this.client, this.client.content.rootFolder, 'Datastore', ['name', 'summary.url'])) {
        this.datastores.set(String(ds.props.name), String(ds.props['summary.url']).replace(/^ds:\/\//, ''));
      }
    }
    const dir = this.datastores.get(m[1]);
    if (!dir) throw new Error(`unknown datastore ${m[1]}`);
    return join(dir, m[2]);
  }

  /** A disk's file as QEMU opens it: a flat VMDK's extent raw (a thin placeholder sized first). */
  private async diskFile(d: VirtualDevice): Promise<string> {
    const descriptor = await this.localPath(d.fileName ?? '');
    const flat = descriptor.replace(/\.vmdk$/, '-flat.vmdk');
    if (!existsSync(flat)) throw new Error(`disk ${d.fileName}: no flat extent ${flat}`);
    if (statSync(flat).size === 0) truncateSync(flat, d.capacityInKB ? d.capacityInKB * 1024 : DEFAULT_THIN_BYTES);
    return flat;
  }

  private async run(ref: ManagedObjectReference): Promise<void> {
    const info = await virtualMachineInfo(this.client, ref);
    if (!info.extraConfig['guestinfo.bonneville.id'] || info.powerState !== 'poweredOn') return;
    const uuid = String((await retrieveOne(this.client, ref, ['config.uuid']))['config.uuid'] ?? '');
    const args = ['-M', 'pc', '-accel', 'tcg', '-m', String(info.memoryMB), '-smp', String(Math.max(1, info.numCPU)),
      '-nodefaults', '-display', 'none', '-no-reboot', '-uuid', uuid];
    const byKey = new Map(info.devices.map((d) => [d.key, d]));
    const cdrom = info.devices.find((d) => d.type === 'VirtualCdrom' && d.fileName);
    if (!cdrom) throw new Error(`${info.name} has no CD-ROM to boot`);
    args.push('-drive', `file=${opt(await this.localPath(cdrom.fileName!))},media=cdrom,if=none,id=cd0,readonly=on`, '-device', 'ide-cd,drive=cd0,bootindex=0');
    const controllers = info.devices.filter((d) => d.type === 'ParaVirtualSCSIController').sort((a, b) => Number(a.raw.busNumber) - Number(b.raw.busNumber));
    controllers.forEach((c) => {
      const bus = Number(c.raw.busNumber);
      args.push('-device', `pvscsi,id=scsi${bus},addr=${(0x10 + bus).toString(16)}`);
    });
    let n = 0;
    for (const d of info.devices.filter((x) => x.type === 'VirtualDisk')) {
      const controller = byKey.get(d.controllerKey ?? -1);
      if (controller?.type !== 'ParaVirtualSCSIController') throw new Error(`disk ${d.fileName} is not on a paravirtual SCSI controller`);
      const nonpersistent = d.diskMode === 'independent_nonpersistent' || d.diskMode === 'nonpersistent';
      args.push('-drive', `file=${opt(await this.diskFile(d))},format=raw,if=none,id=disk${n},cache=unsafe${nonpersistent ? ',snapshot=on' : ''}`,
        '-device', `scsi-hd,drive=disk${n},bus=scsi${Number(controller.raw.busNumber)}.0,scsi-id=${d.unitNumber},lun=0`);
      n++;
    }
    const serial = info.devices.find((d) => d.type === 'VirtualSerialPort' && d.serviceURI);
    if (serial) {
      const uri = new URL(serial.serviceURI!);
      if (uri.protocol !== 'tcp:') throw new Error(`serial port URI ${serial.serviceURI}: only tcp:// is carried`);
      args.push('-chardev', `socket,id=tether,host=${uri.hostname},port=${uri.port},server=off,reconnect=1`, '-device', 'isa-serial,chardev=tether,index=0');
    }
    const console = join(this.work, `${ref.value}.console.log`);
    args.push('-chardev', `file,id=console,path=${opt(console)}`, '-device', 'isa-serial,chardev=console,index=1');
    const taps: string[] = [];
    info.devices.filter((d) => d.macAddress).forEach((d, i) => {
      const bridge = d.portgroupKey ? this.bridges.get(d.portgroupKey) : undefined;
      if (bridge) {
        const tap = `bvtap${process.pid % 100000}x${this.taps++}`;
        execFileSync('ip', ['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
        taps.push(tap);
        execFileSync('ip', ['link', 'set', 'dev', tap, 'master', bridge, 'up']);
        args.push('-netdev', `tap,id=nic${i},ifname=${tap},script=no,downscript=no`);
      } else {
        args.push('-netdev', `hubport,id=nic${i},hubid=${i}`);
      }
      args.push('-device', `vmxnet3,netdev=nic${i},mac=${d.macAddress}`);
    });
    if (this.stopped) {
      removeTaps(taps);
      return;
    }
    const qemu = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    qemu.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-2000); });
    const vm: RunningVm = {
      ref, name: info.name, qemu, console, killed: false, taps,
      exited: new Promise((resolve) => qemu.once('exit', () => resolve())),
    };
    this.vms.set(ref.value, vm);
    this.started.push({ vm: info.name, args, console });
    void vm.exited.then(async () => {
      removeTaps(vm.taps);
      if (this.vms.get(ref.value) === vm) this.vms.delete(ref.value);
      if (stderr.trim() && !vm.killed) this.problems.push(`${info.name}: qemu: ${stderr.trim()}`);
      // The guest powered off: so is the VM, as ESXi reports it.
      if (!vm.killed && !this.stopped) await powerOff(this.client, ref).catch(() => {});
    });
  }

  private async kill(vm: RunningVm): Promise<void> {
    vm.killed = true;
    if (vm.qemu.exitCode === null && vm.qemu.signalCode === null) vm.qemu.kill('SIGKILL');
    await vm.exited;
    if (this.vms.get(vm.ref.value) === vm) this.vms.delete(vm.ref.value);
  }
}

function removeTaps(taps: string[]): void {
  for (const tap of taps) {
    try {
      execFileSync('ip', ['link', 'del', 'dev', tap], { stdio: 'ignore' });
    } catch { /* gone with its QEMU already */ }
  }
}

/** A QEMU option value: commas doubled. */
function opt(value: string): string {
  return value.replaceAll(',', ',,');
}
