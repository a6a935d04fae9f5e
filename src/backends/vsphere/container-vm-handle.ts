// A running container VM on vSphere as the port layer holds it. What vSphere itself answers is here:
// the VM's power state (its end comes from the property collector's feed), a hard power-off. What
// needs the guest — signals, stdin, exec, processes, files, usage — travels over the tether's line, the VM's
// serial port connected to the VCH (tether-listener.ts), shared with tether-vm/guest.ts like on qemu.
// The line may drop and come back (an engine restart, a broken connection): each new one is attached.
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, ExecProcessSpec, ExecSession, ExitStatus, GuestProcessList, PathStat, VmHandle, VmUsage } from '../../portlayer/backend.ts';
import { PortLayerError } from '../../portlayer/errors.ts';
import type { ManagedObjectReference } from '../../vim25/types.ts';
import { TetherGuest } from '../tether-vm/guest.ts';
import type { TetherChannel } from './tether-listener.ts';

export const NO_TETHER = 'the container VM\'s tether is not connected to the VCH (its serial port: docs/tether-protocol.md)';

export const NO_LINE = 'the VCH runs without a tether line to its container VMs (--tether-uri none)';

function notConnected(what: string, tetherless: boolean): PortLayerError {
  return tetherless ? new PortLayerError('NotImplemented', `${what}: ${NO_LINE}`) : new PortLayerError('Conflict', `${what}: ${NO_TETHER}`);
}

export interface VsphereVmControl {
  /** Powers the VM off (a no-op when it is off already). */
  powerOff(ref: ManagedObjectReference): Promise<void>;
  /** The exit the container's log recorded, for a VM that ended while its line was down. */
  recordedExit(): Promise<ExitStatus | undefined>;
  log(line: string): void;
  /** No line at all (`--tether-uri none`): what needs the guest is not implemented rather than not connected. */
  tetherless?: boolean;
}

export class VsphereVm implements VmHandle {
  /** A vSphere VM has no host process to show. */
  readonly reportedPid = 0;
  readonly id: string;
  readonly ref: ManagedObjectReference;
  readonly exited: Promise<ExitStatus>;
  private readonly control: VsphereVmControl;
  private end!: (status: ExitStatus) => void;
  private guest?: TetherGuest;
  private channel?: TetherChannel;
  private exit?: ExitStatus;
  private killed = false;
  private ended = false;
  /** The public network's leased address ("10.1.2.3/24"), as the tether last reported it. */
  private leased?: string;

  constructor(id: string, ref: ManagedObjectReference, control: VsphereVmControl) {
    this.id = id;
    this.ref = ref;
    this.control = control;
    this.exited = new Promise((resolve) => { this.end = resolve; });
  }

  get running(): boolean {
    return !this.ended;
  }

  get connected(): boolean {
    return this.channel !== undefined && !this.channel.line.closed;
  }

  /** The VM's (new) tether line. */
  attach(channel: TetherChannel): void {
    if (this.channel === channel) return;
    this.channel = channel;
    this.guest = new TetherGuest(channel.client);
    channel.client.on('lease', (address) => this.leaseReported(address));
    if (channel.hello.publicAddress) this.leaseReported(channel.hello.publicAddress);
    if (channel.line.journaled) {
      // The end counts once the log has it on disk: after the output the tether replays (it may have
      // exited while no engine listened) and before the tether, acknowledged, lets the VM go.
      channel.line.onEnd((end) => this.exited0(end));
      return;
    }
    channel.client.on('exit', (e) => {
      if (e.session === 0) this.exited0({ code: e.code });
    });
    // Reconnected to a tether whose process ended while the line was down.
    if (channel.hello.state === 'exited' && typeof channel.hello.exitCode === 'number') this.exited0({ code: channel.hello.exitCode });
  }

  /** The tether's word on the public network's address (LEASE, STARTED, HELLO); "" : none. */
  leaseReported(address: string): void {
    this.leased = address || undefined;
  }

  publicAddress(): string | undefined {
    return this.running ? this.leased?.split('/')[0] : undefined;
  }

  /**
   * The tether has stopped everything and left the disks clean; what follows is its reboot, which on
   * ESXi would boot the VM again: power it off now (the VM is the container's, not the guest's).
   */
  private exited0(status: ExitStatus): void {
    if (this.exit) return;
    this.exit = status;
    void this.control.powerOff(this.ref).catch((err: unknown) => this.control.log(`power-off of ${this.id.slice(0, 12)} after its exit: ${(err as Error).message}`));
  }

  /**
   * The VM is powered off or gone (the backend saw it in the property collector's feed). Its fate: the
   * EXIT the tether reported, else what the log recorded, else killed (SIGKILL's 137, as dockerd
   * reports a container whose process was killed), with a word on why when the engine did not do it.
   */
  poweredOff(gone: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.channel?.line.close();
    void (async () => {
      if (this.exit) return this.end(this.exit);
      const recorded = await this.control.recordedExit().catch(() => undefined);
      if (recorded) return this.end(recorded);
      this.end(this.killed ? { code: 137 } : {
        code: 137,
        error: gone ? 'the container VM was removed from the vSphere inventory' : 'the container VM was powered off in vSphere without its process reporting an exit',
      });
    })();
  }

  stdin(data: Buffer): void {
    this.guest?.stdin(data);
  }

  closeStdin(): void {
    this.guest?.closeStdin();
  }

  resize(rows: number, cols: number): void {
    this.guest?.resize(rows, cols);
  }

  updateHosts(lines: string[]): void {
    this.guest?.updateHosts(lines);
  }

  signal(signo: number): void {
    if (signo === 9) {
      void this.kill().catch((err: unknown) => this.control.log(`SIGKILL of ${this.id.slice(0, 12)}: ${(err as Error).message}`));
      return;
    }
    // Without a line the stopper kills after its timeout when the process does not end.
    if (this.guest && this.connected) this.guest.signal(signo);
    else this.control.log(`signal ${signo} to ${this.id.slice(0, 12)} not delivered: ${NO_TETHER}`);
  }

  async kill(): Promise<void> {
    if (this.ended) return;
    this.killed = true;
    await this.control.powerOff(this.ref);
    this.poweredOff(false); // off now, whether or not the feed has said so yet
    await this.exited;
  }

  /** vSphere shows no host process to read: the guest reports its own CPU times and memory. */
  async usage(): Promise<VmUsage> {
    return this.connectedGuest('docker stats').usage();
  }

  private connectedGuest(what: string): TetherGuest {
    if (!this.guest || !this.connected) throw notConnected(what, this.control.tetherless === true);
    return this.guest;
  }

  async exec(spec: ExecProcessSpec): Promise<ExecSession> {
    return this.connectedGuest('docker exec').exec(spec);
  }

  async processes(): Promise<GuestProcessList> {
    return this.connectedGuest('docker top').processes();
  }

  async statPath(path: string): Promise<PathStat> {
    return this.connectedGuest('files of a running container').statPath(path);
  }

  async readArchive(path: string): Promise<{ stat: PathStat; tar: Readable }> {
    return this.connectedGuest('files of a running container').readArchive(path);
  }

  async writeArchive(path: string, tar: Readable, options: ArchiveWriteOptions): Promise<void> {
    return this.connectedGuest('files of a running container').writeArchive(path, tar, options);
  }
}
