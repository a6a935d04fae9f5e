// The tether side of a container VM, for any backend whose VMs run the tether (qemu, vSphere): the
// container's process (session 0), exec sessions and file requests over one TetherClient, whatever
// carries it (qemu: virtio-serial over a unix socket; vSphere: a serial port over the network). The
// backend adds what only the hypervisor knows: the VM's end, pausing, and its cost when the hypervisor
// shows it (qemu; vSphere asks the guest: usage()).
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, ExecProcessSpec, ExecSession, GuestProcessList, PathStat, VmUsage } from '../../portlayer/backend.ts';
import type { TetherClient } from '../../tether/client.ts';
import type { GuestNetwork } from '../../tether/config.ts';
import { FrameType } from '../../tether/frames.ts';
import { startExecSession } from './exec-session.ts';
import { listProcesses, readArchive, statPath, writeArchive } from './archive-session.ts';
import { guestUsage } from './guest-usage.ts';

export class TetherGuest {
  readonly tether: TetherClient;
  /** Session 0 is the container's process; exec sessions and file requests count up from 1 (one namespace in the tether). */
  private nextSession = 1;

  constructor(tether: TetherClient) {
    this.tether = tether;
  }

  stdin(data: Buffer): void {
    this.tether.stdin(0, data);
  }

  closeStdin(): void {
    this.tether.closeStdin(0);
  }

  signal(signo: number): void {
    this.tether.signal(0, signo);
  }

  resize(rows: number, cols: number): void {
    this.tether.resize(0, rows, cols);
  }

  updateHosts(lines: string[]): void {
    this.tether.hosts(lines);
  }

  /** Configures the interface that has slotMac now for a network the container joined (docs/tether-protocol.md). */
  async attachNetwork(slotMac: string, network: GuestNetwork): Promise<void> {
    await this.tether.request(this.nextSession++, FrameType.NetAttach, { slotMac, network });
  }

  /** Unconfigures the interface with mac, which takes slotMac back. */
  async detachNetwork(mac: string, slotMac: string): Promise<void> {
    await this.tether.request(this.nextSession++, FrameType.NetDetach, { mac, slotMac });
  }

  /** The guest's clock stood still (a pause): it is told the host's time. */
  setClock(now = Date.now()): void {
    this.tether.clock(now);
  }

  exec(spec: ExecProcessSpec): Promise<ExecSession> {
    return startExecSession(this.tether, this.nextSession++, spec);
  }

  processes(): Promise<GuestProcessList> {
    return listProcesses(this.tether, this.nextSession++);
  }

  /** The guest's own CPU times and memory in use (its /proc). */
  usage(): Promise<VmUsage> {
    return guestUsage(this.tether, this.nextSession++);
  }

  statPath(path: string): Promise<PathStat> {
    return statPath(this.tether, this.nextSession++, path);
  }

  readArchive(path: string): Promise<{ stat: PathStat; tar: Readable }> {
    return readArchive(this.tether, this.nextSession++, path);
  }

  writeArchive(path: string, tar: Readable, options: ArchiveWriteOptions): Promise<void> {
    return writeArchive(this.tether, this.nextSession++, path, tar, options);
  }
}
