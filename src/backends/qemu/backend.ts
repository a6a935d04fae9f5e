// The qemu backend: each container is one QEMU microVM process, started detached so that it outlives
// the engine, described in its container directory (vm.json) so that a later engine can adopt it.
import { spawn, execFile } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Backend, BackendInfo, ContainerVmSpec, ExitStatus, LogReadOptions, OutputRecord, VmHandle } from '../../portlayer/backend.ts';
import { ProcessStartError } from '../../portlayer/backend.ts';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { TetherClient, TetherError } from '../../tether/client.ts';
import type { ContainerConfig } from '../../tether/config.ts';
import { buildQemuArgs } from './cmdline.ts';
import { vmFiles, socketNames } from './vm-files.ts';
import { isOurVm } from './process-identity.ts';
import { QemuVm } from './qemu-vm.ts';
import { connectUnixSocket } from '../../tether/connect.ts';
import { readOutput, lastExit, logSize, trimTornFrame } from './output-log.ts';

const run = promisify(execFile);

export interface QemuBackendOptions {
  qemuBinary: string;
  kernel: string;
  initrd: string;
  kernelVersion: string;
  accel: 'kvm' | 'tcg';
  /** Why this accelerator was chosen, for `docker info`. */
  accelReason: string;
  tscKhz: number;
  /** Seconds a VM may take from spawn to a running process before it is killed. */
  bootTimeoutSeconds: number;
}

interface RuntimeRecord {
  pid: number;
  vmName: string;
  control: string;
  started: string;
}

export class QemuBackend implements Backend {
  private readonly options: QemuBackendOptions;

  constructor(options: QemuBackendOptions) {
    this.options = options;
  }

  info(): BackendInfo {
    return {
      name: 'qemu',
      accelerator: this.options.accel,
      kernelVersion: this.options.kernelVersion,
      details: [
        ['Accelerator reason', this.options.accelReason],
        ['Guest kernel', this.options.kernelVersion],
      ],
    };
  }

  async createWritableDisk(path: string, sizeBytes: number): Promise<void> {
    // Sparse, formatted on the host: the guest only mounts it. Lazy init keeps this fast.
    await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-m', '0', path, `${Math.floor(sizeBytes / 1024)}k`]);
  }

  async boot(spec: ContainerVmSpec): Promise<VmHandle> {
    const files = vmFiles(spec.dir);
    const sockets = socketNames(spec.id);
    const vmName = `bonneville-${spec.id}`;
    const disks = [
      ...spec.layerDisks.map((path, i) => ({ serial: `l${i}`, path, readOnly: true })),
      { serial: 'rw', path: spec.writableDisk, readOnly: false },
    ];
    const args = buildQemuArgs({
      name: vmName,
      kernel: this.options.kernel,
      initrd: this.options.initrd,
      memoryMiB: spec.memoryMiB,
      cpus: spec.cpus,
      accel: this.options.accel,
      tscKhz: this.options.tscKhz,
      disks,
      controlSocket: sockets.control,
      qmpSocket: sockets.qmp,
      logFile: files.log,
      consoleFile: files.console,
      pidFile: files.pid,
    });
    await trimTornFrame(files.log);
    const out = openSync(files.qemuOutput, 'a');
    const child = spawn(this.options.qemuBinary, args, { detached: true, stdio: ['ignore', out, out], cwd: spec.dir });
    closeSync(out);
    child.unref();
    const pid = child.pid;
    if (!pid) throw new Error(`could not start ${this.options.qemuBinary}`);
    let exitedEarly = false;
    const qemuGone = new AbortController();
    child.once('exit', () => { exitedEarly = true; qemuGone.abort(); });
    const runtime: RuntimeRecord = { pid, vmName, control: sockets.control, started: new Date().toISOString() };
    writeJsonAtomic(files.runtime, runtime);
    const deadline = Date.now() + this.options.bootTimeoutSeconds * 1000;
    let vm: QemuVm | undefined;
    try {
      const socket = await connectUnixSocket(sockets.control, { abstract: true, timeoutMs: deadline - Date.now(), signal: qemuGone.signal });
      const tether = new TetherClient(socket);
      vm = new QemuVm({ pid, socket, tether, recordedExit: () => lastExit(files.log) });
      await withDeadline(tether.hello(Math.max(1, deadline - Date.now())), deadline, 'the container VM did not come up');
      const config = this.tetherConfig(spec, disks);
      await withDeadline(tether.configure(config), deadline, 'the container process did not start');
      return vm;
    } catch (err) {
      const diedByItself = exitedEarly;
      if (vm) await vm.kill();
      else killQuietly(pid);
      if (err instanceof TetherError && err.reportedByGuest) throw new ProcessStartError(err.message, err.code);
      const accel = `${this.options.accel}, boot timeout ${this.options.bootTimeoutSeconds}s`;
      if (diedByItself) throw new Error(`QEMU exited during boot (${accel}): ${tail(files.qemuOutput)}`, { cause: err });
      throw new Error(`the container VM did not come up (${accel}): ${(err as Error).message}`, { cause: err });
    }
  }

  private tetherConfig(spec: ContainerVmSpec, disks: Array<{ serial: string }>): ContainerConfig {
    const env = spec.process.env.some((e) => e.startsWith('HOSTNAME=')) ? spec.process.env : [...spec.process.env, `HOSTNAME=${spec.hostname}`];
    return {
      id: spec.id,
      hostname: spec.hostname,
      domainname: spec.domainname,
      now: Date.now(),
      layers: disks.filter((d) => d.serial !== 'rw').map((d) => d.serial),
      rw: 'rw',
      cmd: spec.process.argv,
      env,
      workingDir: spec.process.workingDir,
      user: spec.process.user,
      tty: spec.process.tty,
      openStdin: spec.process.openStdin,
      rows: spec.process.rows ?? 24,
      cols: spec.process.cols ?? 80,
      hosts: ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.1.1\t${spec.hostname}`],
      dns: [],
      mounts: [],
    };
  }

  async adopt(id: string, dir: string): Promise<VmHandle | undefined> {
    const files = vmFiles(dir);
    if (!existsSync(files.runtime)) return undefined;
    const runtime = JSON.parse(readFileSync(files.runtime, 'utf8')) as RuntimeRecord;
    if (!isOurVm(runtime.pid, runtime.vmName)) return undefined;
    try {
      const socket = await connectUnixSocket(runtime.control, { abstract: true, timeoutMs: 5000 });
      const tether = new TetherClient(socket);
      const vm = new QemuVm({ pid: runtime.pid, socket, tether, recordedExit: () => lastExit(files.log) });
      await tether.hello(5000);
      return vm;
    } catch {
      // Running but unreachable: it cannot be managed, so it must not linger.
      killQuietly(runtime.pid);
      return undefined;
    }
  }

  logPosition(dir: string): number {
    return logSize(vmFiles(dir).log);
  }

  readLogs(dir: string, options: LogReadOptions): AsyncIterable<OutputRecord> {
    return readOutput(vmFiles(dir).log, options);
  }

  lastRecordedExit(dir: string): Promise<ExitStatus | undefined> {
    return lastExit(vmFiles(dir).log);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function withDeadline<T>(promise: Promise<T>, deadline: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), Math.max(0, deadline - Date.now()));
    promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}

function tail(path: string): string {
  try {
    if (statSync(path).size === 0) return '(no output)';
    return readFileSync(path, 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return '(no output)';
  }
}

