// One running container VM: the QEMU process (not our child after an engine restart) and the tether
// connection (tether-vm/guest.ts does the guest's part). The VM counts as gone once the control channel
// closed and the process has left /proc.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, ExecProcessSpec, ExecSession, ExitMark, ExitStatus, GuestProcessList, PathStat, VmHandle, VmNic, VmUsage } from '../../portlayer/backend.ts';
import type { NicHotplug } from './nic-slots.ts';
import { processUsage } from './process-usage.ts';
import { TetherGuest } from '../tether-vm/guest.ts';
import type { ExitEvent, TetherClient } from '../../tether/client.ts';
import { killQuietly, processGone } from './process-identity.ts';
import { freezeVm, thawVm, vmFrozen } from './run-state.ts';

async function waitUntilGone(pid: number, graceMs: number): Promise<void> {
  const until = Date.now() + graceMs;
  while (!processGone(pid)) {
    if (Date.now() > until) {
      killQuietly(pid);
      while (!processGone(pid)) await new Promise((r) => setTimeout(r, 20));
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface QemuVmOptions {
  pid: number;
  socket: Socket;
  tether: TetherClient;
  /** The VM's QMP monitor (abstract socket name): pause and resume go through it. */
  qmpSocket: string;
  /** Reads the exit the guest recorded in its log port, for when the control channel missed it. */
  recordedExit: () => Promise<ExitStatus | undefined>;
  /** Joins and leaves networks while it runs; absent (a VM started before NIC slots): it cannot. */
  nics?: NicHotplug;
}

export class QemuVm implements VmHandle {
  /** The QEMU process: what Docker shows as State.Pid. */
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  readonly exitReported: Promise<ExitStatus>;
  private readonly guest: TetherGuest;
  private readonly socket: Socket;
  private readonly qmpSocket: string;
  private exit?: ExitStatus;
  private killed = false;
  private readonly nics?: NicHotplug;
  /** The end's steps (exitMarks): EXIT received, QEMU's channel closed, its process gone. */
  private readonly marks: ExitMark[] = [];
  /** The tether's steps of the end (EXIT's "steps"). */
  private guestSteps: Array<[string, number]> = [];

  constructor(options: QemuVmOptions) {
    this.pid = options.pid;
    this.guest = new TetherGuest(options.tether);
    this.socket = options.socket;
    this.qmpSocket = options.qmpSocket;
    this.nics = options.nics;
    let reported!: (exit: ExitStatus) => void;
    const report = new Promise<ExitStatus>((resolve) => { reported = resolve; });
    options.tether.on('exit', (e: ExitEvent) => {
      if (e.session !== 0) return;
      this.exit = { code: e.code };
      this.guestSteps = parseSteps(e.steps);
      this.marks.push(['exit-frame', performance.now()]);
      // The tether sends EXIT once every process is gone and the disks are unmounted and synced
      // (tether shutdown.go), and its log-port frames before it: all that is left is the guest's
      // power-off, which under TCG takes a few hundred ms. Ending QEMU now loses nothing.
      killQuietly(this.pid);
      // SIGKILLed: the guest runs nothing more, whatever the kernel still takes to end the process.
      reported(this.exit);
    });
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.socket.once('close', () => {
        this.marks.push(['qemu-closed', performance.now()]);
        // QEMU closes the channel when it exits; make sure the process is really gone before saying so.
        void waitUntilGone(this.pid, 10_000).then(async () => {
          this.marks.push(['qemu-gone', performance.now()]);
          if (this.exit) return resolve(this.exit);
          const recorded = await options.recordedExit().catch(() => undefined);
          if (recorded) return resolve(recorded);
          resolve(this.killed ? { code: 137 } : { code: 255, error: 'the container VM stopped without reporting an exit' });
        });
      });
    });
    this.exitReported = Promise.race([report, this.exited]);
  }

  exitMarks(): ExitMark[] {
    return [...this.marks];
  }

  exitGuestSteps(): Array<[string, number]> {
    return [...this.guestSteps];
  }

  get reportedPid(): number {
    return this.pid;
  }

  stdin(data: Buffer): void {
    this.guest.stdin(data);
  }

  closeStdin(): void {
    this.guest.closeStdin();
  }

  signal(signo: number): void {
    this.guest.signal(signo);
  }

  resize(rows: number, cols: number): void {
    this.guest.resize(rows, cols);
  }

  updateHosts(lines: string[]): void {
    this.guest.updateHosts(lines);
  }

  attachNic(nic: VmNic): Promise<void> {
    if (!this.nics) return Promise.reject(Object.assign(new Error('this container VM was started by an older engine without spare NICs: stop it and connect it then'), { kind: 'Conflict' }));
    return this.nics.attach(nic, this.guest);
  }

  detachNic(networkId: string): Promise<void> {
    if (!this.nics) return Promise.reject(Object.assign(new Error('this container VM was started by an older engine without spare NICs: stop it and disconnect it then'), { kind: 'Conflict' }));
    return this.nics.detach(networkId, this.guest);
  }

  async usage(): Promise<VmUsage> {
    return processUsage(this.pid);
  }

  exec(spec: ExecProcessSpec): Promise<ExecSession> {
    return this.guest.exec(spec);
  }

  processes(): Promise<GuestProcessList> {
    return this.guest.processes();
  }

  statPath(path: string): Promise<PathStat> {
    return this.guest.statPath(path);
  }

  readArchive(path: string): Promise<{ stat: PathStat; tar: Readable }> {
    return this.guest.readArchive(path);
  }

  writeArchive(path: string, tar: Readable, options: ArchiveWriteOptions): Promise<void> {
    return this.guest.writeArchive(path, tar, options);
  }

  pause(): Promise<void> {
    return freezeVm(this.qmpSocket);
  }

  async resume(): Promise<void> {
    await thawVm(this.qmpSocket);
    // The guest's clock stood still while it was frozen (the tether sets it from the host's only at
    // start); it is told the time again as soon as it runs.
    this.guest.setClock();
  }

  isPaused(): Promise<boolean> {
    return vmFrozen(this.qmpSocket);
  }

  async kill(): Promise<void> {
    this.killed = true;
    killQuietly(this.pid);
    this.socket.destroy();
    await this.exited;
  }
}

/** "run 40,drain 0" (the tether's steps) as name and milliseconds each; malformed parts are left out. */
function parseSteps(steps: string | undefined): Array<[string, number]> {
  const parsed: Array<[string, number]> = [];
  for (const part of (steps ?? '').split(',')) {
    const [name, ms] = part.trim().split(' ');
    if (/^[a-z0-9]+$/.test(name ?? '') && /^\d+$/.test(ms ?? '')) parsed.push([name, Number(ms)]);
  }
  return parsed;
}
