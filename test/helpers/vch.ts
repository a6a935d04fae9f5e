// Starts a real VCH (the engine as its own process, QEMU VMs behind it) on a private datastore, and
// runs the real docker CLI against it.
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:http';
import { buildTestImages } from '../fixtures/images.ts';
import { removeVchNetworking } from '../../src/backends/qemu/network/teardown.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DOCKER = '/usr/local/bin/docker';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestVch {
  readonly dir: string;
  readonly datastore: string;
  readonly socket: string;
  readonly name: string;
  readonly extraArgs: string[];
  private engine?: ChildProcess;
  engineLog = '';

  /** `dir`: the directory of an earlier TestVch, for an engine started again on the same datastore. */
  constructor(name = 'test', extraArgs: string[] = [], dir?: string) {
    this.name = name;
    this.extraArgs = extraArgs;
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'bonneville-vch-'));
    this.datastore = join(this.dir, 'datastore');
    this.socket = join(this.dir, 'docker.sock');
  }

  get dockerHost(): string {
    return `unix://${this.socket}`;
  }

  async start(): Promise<void> {
    const node = join(repoRoot, 'node_modules/.bin/node');
    this.engine = spawn(node, [join(repoRoot, 'src/cli/bonneville.ts'), 'vch', 'serve', '--name', this.name,
      '--datastore', this.datastore, '--socket', this.socket, ...this.extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.engine.stdout!.on('data', (d: Buffer) => { this.engineLog += d.toString(); });
    this.engine.stderr!.on('data', (d: Buffer) => { this.engineLog += d.toString(); });
    const engine = this.engine;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (engine.exitCode !== null) throw new Error(`engine exited: ${this.engineLog}`);
      if (await pingUnixSocket(this.socket)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`engine did not answer within 60s: ${this.engineLog}`);
  }

  /** Starts the engine and loads the offline busybox image into it. */
  async startWithBusybox(): Promise<void> {
    const images = await buildTestImages();
    await this.start();
    const load = await this.docker(['load', '-i', images.busybox]);
    if (load.code !== 0) throw new Error(`docker load failed: ${load.stderr}`);
  }

  /** Kills the engine the hard way: its container VMs must survive. */
  async killEngine(): Promise<void> {
    const engine = this.engine;
    if (!engine || engine.exitCode !== null || engine.signalCode !== null) return;
    const gone = new Promise((r) => engine.once('exit', r));
    engine.kill('SIGKILL');
    await gone;
  }

  /** Runs the docker CLI and fails the test unless it succeeds; its stdout. */
  async ok(args: string[]): Promise<string> {
    const r = await this.docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n${this.engineLog.slice(-2000)}`);
    return r.stdout;
  }

  docker(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
    return runCommand(DOCKER, args, { env: { ...process.env, DOCKER_HOST: this.dockerHost }, ...options });
  }

  /**
   * QEMU processes that belong to this VCH's containers: started for one (its files in the
   * container's directory), or a standby clone handed to one (named by the container's vm.json).
   */
  qemuPids(): number[] {
    const handedOver = new Set<number>();
    const containers = join(this.datastore, 'containers');
    try {
      for (const dir of readdirSync(containers)) {
        try {
          handedOver.add((JSON.parse(readFileSync(join(containers, dir, 'vm.json'), 'utf8')) as { pid: number }).pid);
        } catch {
          // no VM (or not yet)
        }
      }
    } catch {
      // no containers yet
    }
    return this.processesMentioning(this.datastore).filter(({ pid, cmdline }) => cmdline.includes(containers) || handedOver.has(pid)).map(({ pid }) => pid);
  }

  /** Standby clones (restored, waiting for a container) of this VCH. */
  standbyPids(): number[] {
    const mine = new Set(this.qemuPids());
    return this.processesMentioning(join(this.datastore, 'standby')).map(({ pid }) => pid).filter((pid) => !mine.has(pid));
  }

  private processesMentioning(path: string): Array<{ pid: number; cmdline: string }> {
    const found: Array<{ pid: number; cmdline: string }> = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
        if (cmdline.includes(path)) found.push({ pid: Number(entry), cmdline });
      } catch {
        // went away while we looked
      }
    }
    return found;
  }

  /** Stops the engine the polite way (SIGTERM), as an operator would; resolves once it exited. */
  async stopEngine(): Promise<void> {
    const engine = this.engine;
    if (!engine || engine.exitCode !== null || engine.signalCode !== null) return;
    const gone = new Promise((r) => engine.once('exit', r));
    engine.kill('SIGTERM');
    await gone;
  }

  async destroy(): Promise<void> {
    await this.killEngine();
    for (const { pid } of this.processesMentioning(this.datastore)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    // The VCH's bridges, taps and NAT rules live outside its directory.
    const id = this.vchId();
    if (id) await removeVchNetworking(id);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The VCH's id (datastore/vch.json), once its engine has started. */
  vchId(): string | undefined {
    try {
      return (JSON.parse(readFileSync(join(this.datastore, 'vch.json'), 'utf8')) as { id: string }).id;
    } catch {
      return undefined;
    }
  }
}

/** Whether a Docker-API server answers /_ping on this unix socket. */
export function pingUnixSocket(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping' }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export function runCommand(file: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env: options.env, timeout: options.timeoutMs ?? 180_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}
