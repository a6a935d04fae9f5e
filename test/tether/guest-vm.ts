// Test fixture: the real guest (guest/build.sh), ext4 disks made from busybox-static, and QEMU booted
// with buildQemuArgs under TCG, talking to the tether over its abstract control socket.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildQemuArgs, type VmDisk } from '../../src/backends/qemu/cmdline.ts';
import { readTscKhz } from '../../src/backends/qemu/host.ts';
import { TetherClient } from '../../src/tether/client.ts';
import type { ContainerConfig } from '../../src/tether/config.ts';
import { connectUnixSocket } from '../../src/tether/connect.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const guestDir = join(repoRoot, 'build/guest');

/** Builds (or finds up to date) the guest kernel, initramfs and tether. */
export function buildGuest(): { kernel: string; initrd: string } {
  execFileSync('bash', [join(repoRoot, 'guest/build.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  return { kernel: join(guestDir, 'vmlinux'), initrd: join(guestDir, 'initramfs.cpio') };
}

/** An ext4 image of a busybox root: /bin with every applet, minimal passwd/group. */
export function makeBusyboxLayer(dir: string, image: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  for (const d of ['etc', 'root', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) if (applet !== 'busybox') symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  makeExt4(dir, image, 16);
}

export function makeExt4(dir: string | undefined, image: string, sizeMiB: number): void {
  const source = dir ? ['-d', dir] : [];
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', ...source, image, `${sizeMiB}M`], { stdio: 'ignore' });
}

export function containerConfig(overrides: Partial<ContainerConfig>): ContainerConfig {
  return {
    id: randomBytes(32).toString('hex'),
    hostname: 'testbox',
    domainname: '',
    now: Date.now(),
    layers: [],
    rw: 'rw',
    cmd: ['true'],
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=testbox'],
    workingDir: '/',
    user: '',
    tty: false,
    openStdin: false,
    rows: 24,
    cols: 80,
    hosts: ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'],
    dns: [],
    mounts: [],
    ...overrides,
  };
}

/** One booted container VM. */
export class TestVm {
  readonly name = `bonneville-test-${randomBytes(6).toString('hex')}`;
  readonly logFile: string;
  readonly consoleFile: string;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  readonly spawnedAt = performance.now();
  tether!: TetherClient;
  private readonly child: ChildProcess;

  constructor(guest: { kernel: string; initrd: string }, dir: string, disks: VmDisk[]) {
    mkdirSync(dir, { recursive: true });
    this.logFile = join(dir, 'output.log');
    this.consoleFile = join(dir, 'console.log');
    const args = buildQemuArgs({
      name: this.name,
      kernel: guest.kernel,
      initrd: guest.initrd,
      memoryMiB: 128,
      cpus: 1,
      accel: 'tcg',
      tscKhz: readTscKhz(),
      disks,
      controlSocket: `${this.name}/control`,
      qmpSocket: `${this.name}/qmp`,
      logFile: this.logFile,
      consoleFile: this.consoleFile,
      pidFile: join(dir, 'qemu.pid'),
    });
    this.child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    this.child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        if (code) process.stderr.write(`qemu ${this.name} exited ${code}: ${stderr}\n`);
        resolve({ code, signal });
      });
    });
  }

  /** Connects (again) to the control socket. */
  async connect(): Promise<TetherClient> {
    const socket = await connectUnixSocket(`${this.name}/control`, { abstract: true, timeoutMs: 10_000 });
    this.tether = new TetherClient(socket);
    return this.tether;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for QEMU to exit by itself, failing after the deadline. */
  async waitExit(deadlineMs: number): Promise<{ code: number | null; signal: string | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`QEMU ${this.name} still running after ${deadlineMs} ms`)), deadlineMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<void> {
    this.tether?.close();
    if (this.running) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Collects a session's output from 'output' events until a predicate holds. */
export function collectOutput(tether: TetherClient, session: number) {
  const chunks: { stream: string; text: string }[] = [];
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  tether.on('output', (e) => {
    if (e.session !== session) return;
    chunks.push({ stream: e.stream, text: e.data.toString('utf8') });
    for (const w of [...waiters]) if (w.test()) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  const text = (stream?: string) => chunks.filter((c) => !stream || c.stream === stream).map((c) => c.text).join('');
  return {
    text,
    until(test: (all: string) => boolean, timeoutMs = 15_000): Promise<void> {
      if (test(text())) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`session ${session} output so far: ${JSON.stringify(text())}`)), timeoutMs);
        waiters.push({ test: () => test(text()), resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
  };
}

/** Resolves with the exit code of a session. */
export function exitOf(tether: TetherClient, session: number, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no EXIT for session ${session}`)), timeoutMs);
    const onExit = (e: { session: number; code: number }) => {
      if (e.session !== session) return;
      clearTimeout(timer);
      tether.off('exit', onExit);
      resolve(e.code);
    };
    tether.on('exit', onExit);
  });
}
