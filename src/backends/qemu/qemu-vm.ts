// One running container VM: the QEMU process (not our child after an engine restart) and the tether
// connection. The VM counts as gone once the control channel closed and the process has left /proc.
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, ExecProcessSpec, ExecSession, ExitStatus, GuestProcessList, PathStat, VmHandle, VmUsage } from '../../portlayer/backend.ts';
import { processUsage } from './process-usage.ts';
import { startExecSession } from './exec-session.ts';
import { listProcesses, readArchive, statPath, writeArchive } from './archive-session.ts';
import { TetherClient } from '../../tether/client.ts';
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
}

export class QemuVm implements VmHandle {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  private readonly tether: TetherClient;
  private readonly socket: Socket;
  private readonly qmpSocket: string;
  private exit?: ExitStatus;
  private killed = false;
  /** Session 0 is the container's process; exec sessions count up from 1. */
  private nextSession = 1;

  constructor(options: QemuVmOptions) {
    this.pid = options.pid;
    this.tether = options.tether;
    this.socket = options.socket;
    this.qmpSocket = options.qmpSocket;
    this.tether.on('exit', (e: { session: number; code: number }) => {
      if (e.session === 0) this.exit = { code: e.code };
    });
    this.exited = new Promise<ExitStatus>((resolve) => {
      this.socket.once('close', () => {
        // QEMU closes the channel when it exits; make sure the process is really gone before saying so.
        void waitUntilGone(this.pid, 10_000).then(async () => {
          if (this.exit) return resolve(this.exit);
          const recorded = await options.recordedExit().catch(() => undefined);
          if (recorded) return resolve(recorded);
          resolve(this.killed ? { code: 137 } : { code: 255, error: 'the container VM stopped without reporting an exit' });
        });
      });
    });
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

  usage(): VmUsage {
    return processUsage(this.pid);
  }

  exec(spec: ExecProcessSpec): Promise<ExecSession> {
    return startExecSession(this.tether, this.nextSession++, spec);
  }

  // File requests take session numbers from the same counter as exec sessions: the tether keeps
  // both in one namespace.
  processes(): Promise<GuestProcessList> {
    return listProcesses(this.tether, this.nextSession++);
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

  pause(): Promise<void> {
    return freezeVm(this.qmpSocket);
  }

  async resume(): Promise<void> {
    await thawVm(this.qmpSocket);
    // The guest's clock stood still while it was frozen (the tether sets it from the host's only at
    // start); it is told the time again as soon as it runs.
    this.tether.clock(Date.now());
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
