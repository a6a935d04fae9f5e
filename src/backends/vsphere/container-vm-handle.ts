// A running container VM on vSphere as the port layer holds it. What vSphere itself answers is here:
// the VM's power state (its end comes from the property collector's feed), a hard power-off. What
// needs the guest — signals, stdin, exec, processes, files — travels over the tether's channel, a
// serial port backed by a network URI to the VCH (docs/tether-protocol.md); the vSphere backend does
// not serve that channel yet, so those calls refuse with NotImplemented (501) instead of pretending.
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, ExecProcessSpec, ExecSession, ExitStatus, GuestProcessList, PathStat, VmHandle, VmUsage } from '../../portlayer/backend.ts';
import { PortLayerError } from '../../portlayer/errors.ts';
import type { ManagedObjectReference } from '../../vim25/types.ts';

export const NO_TETHER = 'the vSphere backend has no tether channel to its container VMs yet (a serial port to the VCH: docs/tether-protocol.md)';

function needsGuest(what: string): PortLayerError {
  return new PortLayerError('NotImplemented', `${what}: ${NO_TETHER}`);
}

export interface VsphereVmControl {
  /** Powers the VM off (a no-op when it is off already). */
  powerOff(ref: ManagedObjectReference): Promise<void>;
  log(line: string): void;
}

export class VsphereVm implements VmHandle {
  /** A vSphere VM has no host process to show. */
  readonly reportedPid = 0;
  readonly id: string;
  readonly ref: ManagedObjectReference;
  readonly exited: Promise<ExitStatus>;
  private readonly control: VsphereVmControl;
  private end!: (status: ExitStatus) => void;
  private killed = false;
  private ended = false;

  constructor(id: string, ref: ManagedObjectReference, control: VsphereVmControl) {
    this.id = id;
    this.ref = ref;
    this.control = control;
    this.exited = new Promise((resolve) => { this.end = resolve; });
  }

  get running(): boolean {
    return !this.ended;
  }

  /**
   * The VM is powered off or gone (the backend saw it in the property collector's feed). Killed by us:
   * SIGKILL's 137; otherwise nothing reported an exit code, so the exit says what happened.
   */
  poweredOff(gone: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.end(this.killed ? { code: 137 } : {
      code: 255,
      error: gone ? 'the container VM was removed from the vSphere inventory' : 'the container VM was powered off in vSphere without its process reporting an exit',
    });
  }

  stdin(): void {
    // Nothing can carry it without the tether: dropped (attach is refused before it gets here).
  }

  closeStdin(): void {}

  resize(): void {}

  signal(signo: number): void {
    if (signo === 9) {
      void this.kill().catch((err: unknown) => this.control.log(`SIGKILL of ${this.id.slice(0, 12)}: ${(err as Error).message}`));
      return;
    }
    // The stopper kills after its timeout when the process does not end.
    this.control.log(`signal ${signo} to ${this.id.slice(0, 12)} not delivered: ${NO_TETHER}`);
  }

  async kill(): Promise<void> {
    if (this.ended) return;
    this.killed = true;
    await this.control.powerOff(this.ref);
    this.poweredOff(false); // off now, whether or not the feed has said so yet
    await this.exited;
  }

  async usage(): Promise<VmUsage> {
    throw needsGuest('docker stats');
  }

  async exec(_spec: ExecProcessSpec): Promise<ExecSession> {
    throw needsGuest('docker exec');
  }

  async processes(): Promise<GuestProcessList> {
    throw needsGuest('docker top');
  }

  async statPath(): Promise<PathStat> {
    throw needsGuest('files of a running container');
  }

  async readArchive(): Promise<{ stat: PathStat; tar: Readable }> {
    throw needsGuest('files of a running container');
  }

  async writeArchive(_path: string, _tar: Readable, _options: ArchiveWriteOptions): Promise<void> {
    throw needsGuest('files of a running container');
  }
}
