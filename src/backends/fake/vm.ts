// One fake container VM: its script runs as a process would (output, exit status), and the test holds
// the controls a real hypervisor would not give: end the process with any code, or let the VM die
// without a word. Signals end the process as an untrapped signal does (128+signo); kill is SIGKILL's 137.
import type { Readable } from 'node:stream';
import type { ArchiveWriteOptions, ContainerVmSpec, ExecProcessSpec, ExecSession, ExitStatus, GuestProcessList, PathStat, VmHandle, VmUsage } from '../../portlayer/backend.ts';
import { ProcessStartError } from '../../portlayer/backend.ts';
import { PortLayerError } from '../../portlayer/errors.ts';
import type { FakeOutputLog } from './output-log.ts';
import { parseScript, UnknownCommand, type Step } from './script.ts';

const NO_FILES = "the fake backend's VMs have no files: use the qemu backend for docker cp";

/** Runs steps until one exits; yields the final status. Output goes to `write`; `ended` stops it early. */
async function runSteps(steps: Step[], io: { write(stream: 'stdout', data: Buffer): void; stdin: AsyncIterable<Buffer>; ended: Promise<unknown>; paused(): Promise<void> }): Promise<number> {
  let status = 0;
  for (const step of steps) {
    await io.paused();
    if (step.op === 'echo') io.write('stdout', Buffer.from(step.text));
    else if (step.op === 'exit') return step.code;
    else if (step.op === 'status') status = step.code;
    else if (step.op === 'sleep') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise((resolve) => { timer = setTimeout(resolve, step.seconds * 1000); }), io.ended]);
      clearTimeout(timer);
      status = 0;
    } else if (step.op === 'cat') {
      for await (const chunk of io.stdin) io.write('stdout', chunk);
      status = 0;
    }
  }
  return status;
}

/** Bytes written to stdin, readable once as a stream that ends when stdin closes or the process does. */
class StdinQueue implements AsyncIterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private closed = false;
  private wake?: () => void;

  push(data: Buffer): void {
    this.chunks.push(data);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      while (this.chunks.length) yield this.chunks.shift()!;
      if (this.closed) return;
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
  }
}

let nextPid = 1000;

export class FakeVm implements VmHandle {
  readonly reportedPid = nextPid++;
  readonly exited: Promise<ExitStatus>;
  readonly spec: ContainerVmSpec;
  /** Signals the process got, in order. */
  readonly signals: number[] = [];
  readonly hostsUpdates: string[][] = [];
  private readonly log: FakeOutputLog;
  private readonly stdinQueue = new StdinQueue();
  private readonly startedAt = Date.now();
  private end!: (status: ExitStatus) => void;
  private ended = false;
  private frozen?: { promise: Promise<void>; thaw: () => void };
  private nextExecPid = 2;

  constructor(spec: ContainerVmSpec, log: FakeOutputLog, supportsPause: boolean) {
    this.spec = spec;
    this.log = log;
    this.exited = new Promise((resolve) => { this.end = resolve; });
    if (!supportsPause) {
      this.pause = undefined;
      this.resume = undefined;
      this.isPaused = undefined;
    }
  }

  /** Starts the script; rejects with ProcessStartError when its first command does not exist. */
  start(): void {
    let steps: Step[];
    try {
      steps = parseScript(this.spec.process.argv);
    } catch (err) {
      if (err instanceof UnknownCommand) throw new ProcessStartError(err.message, 127);
      throw err;
    }
    this.log.started();
    void runSteps(steps, {
      write: (stream, data) => this.log.output(stream, data),
      stdin: this.stdinQueue,
      ended: this.exited,
      paused: () => this.frozen?.promise ?? Promise.resolve(),
    }).then((code) => this.finish({ code }));
  }

  // The test's controls.

  /** The process writes output. */
  write(stream: 'stdout' | 'stderr', text: string): void {
    if (!this.ended) this.log.output(stream, Buffer.from(text));
  }

  /** The process exits with `code`, as if it had called exit(code). */
  exit(code: number): void {
    this.finish({ code });
  }

  /** The VM dies without the process reporting an exit (a crashed hypervisor, a lost host). */
  crash(message = 'the container VM stopped without reporting an exit'): void {
    this.finish({ code: 255, error: message }, false);
  }

  get running(): boolean {
    return !this.ended;
  }

  // VmHandle.

  stdin(data: Buffer): void {
    this.stdinQueue.push(data);
  }

  closeStdin(): void {
    this.stdinQueue.close();
  }

  signal(signo: number): void {
    this.signals.push(signo);
    if (signo === 28) return; // SIGWINCH is ignored by default
    this.finish({ code: 128 + signo });
  }

  resize(): void {}

  updateHosts(lines: string[]): void {
    this.hostsUpdates.push(lines);
  }

  async kill(): Promise<void> {
    this.finish({ code: 137 }, false);
    await this.exited;
  }

  async usage(): Promise<VmUsage> {
    const ranNs = (Date.now() - this.startedAt) * 1_000_000;
    return { cpuNs: Math.round(ranNs / 100), systemCpuNs: ranNs, onlineCpus: 1, memoryBytes: this.spec.memoryMiB * 1024 * 1024 / 4 };
  }

  async exec(spec: ExecProcessSpec): Promise<ExecSession> {
    let steps: Step[];
    try {
      steps = parseScript(spec.argv);
    } catch (err) {
      if (err instanceof UnknownCommand) throw new ProcessStartError(err.message, 127);
      throw err;
    }
    const chunks: Array<{ stream: 'stdout' | 'stderr'; data: Buffer }> = [];
    const stdin = new StdinQueue();
    let exitCode: ((code: number) => void) | undefined;
    const signalled = new Promise<number>((resolve) => { exitCode = resolve; });
    const exited = Promise.race([
      runSteps(steps, { write: (stream, data) => chunks.push({ stream, data }), stdin, ended: Promise.race([this.exited, signalled]), paused: () => Promise.resolve() }),
      signalled,
      this.exited.then(() => 137),
    ]);
    async function* output() {
      await exited;
      yield* chunks;
    }
    return {
      pid: this.nextExecPid++,
      output: output(),
      stdin: (data) => stdin.push(data),
      closeStdin: () => stdin.close(),
      resize: () => {},
      signal: (signo) => exitCode?.(128 + signo),
      exited,
    };
  }

  async processes(): Promise<GuestProcessList> {
    return {
      now: Math.floor(Date.now() / 1000),
      memTotalKiB: this.spec.memoryMiB * 1024,
      processes: [{
        pid: 1, ppid: 0, pgrp: 1, session: 1, tpgid: -1, tty: '?', uid: 0, user: 'root', state: 'S', nice: 0, threads: 1,
        startTime: Math.floor(this.startedAt / 1000), cpuSeconds: 0, vszKiB: 0, rssKiB: 0, cmd: this.spec.process.argv.join(' '),
      }],
    };
  }

  async statPath(): Promise<PathStat> {
    throw new PortLayerError('NotImplemented', NO_FILES);
  }

  async readArchive(): Promise<{ stat: PathStat; tar: Readable }> {
    throw new PortLayerError('NotImplemented', NO_FILES);
  }

  async writeArchive(_path: string, _tar: Readable, _options: ArchiveWriteOptions): Promise<void> {
    throw new PortLayerError('NotImplemented', NO_FILES);
  }

  pause? = async (): Promise<void> => {
    if (this.frozen) return;
    let thaw!: () => void;
    const promise = new Promise<void>((resolve) => { thaw = resolve; });
    this.frozen = { promise, thaw };
  };

  resume? = async (): Promise<void> => {
    this.frozen?.thaw();
    this.frozen = undefined;
  };

  isPaused? = async (): Promise<boolean> => this.frozen !== undefined;

  /** `recorded`: whether the process's exit reaches the log (a VM that dies says nothing). */
  private finish(status: ExitStatus, recorded = true): void {
    if (this.ended) return;
    this.ended = true;
    this.frozen?.thaw();
    this.stdinQueue.close();
    if (recorded) this.log.exited(status);
    this.end(status);
  }
}
