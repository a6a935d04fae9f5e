// `bonneville supervise`: one daemon per Bonneville home that keeps every enabled VCH's engine running.
// It starts each engine in the VCH's cgroup, restarts it with back-off when it dies (1 s doubling to
// 30 s, reset after 30 s up), adopts engines that outlived an earlier supervisor (their pids in
// <vch>/engine.pid), and at its own start brings up every enabled VCH — the host-reboot path.
// Control: newline-delimited JSON over <home>/supervisor/control.sock (root only); binding that
// socket is also the one-per-home lock.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { mkdirSync, openSync, closeSync, chmodSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { VchRegistry } from './settings.ts';
import { ensureResourcePool, procsFiles } from './resource-pool.ts';
import { BONNEVILLE, JOIN_CGROUP_AND_EXEC, NODE, engineEntry, vchServeArgs } from './engine-command.ts';

export type SupervisorRequest =
  | { op: 'status' }
  | { op: 'reload' }
  | { op: 'restart'; name: string }
  | { op: 'stop'; name: string };

export interface EngineStatus {
  name: string;
  state: 'running' | 'restarting' | 'stopping';
  pid?: number;
  restarts: number;
  since: string;
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
const STABLE_MS = 30_000;
const STOP_GRACE_MS = 20_000;

interface Slot {
  name: string;
  pid?: number;
  child?: ChildProcess;
  state: EngineStatus['state'];
  restarts: number;
  backoffMs: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
  /** Resolvers waiting for a stop to complete. */
  stopped: Array<() => void>;
}

export function supervisorDir(home: string): string {
  return join(home, 'supervisor');
}

export function controlSocket(home: string): string {
  return join(supervisorDir(home), 'control.sock');
}

export function enginePidFile(registry: VchRegistry, name: string): string {
  return join(registry.dirOf(name), 'engine.pid');
}

/** Whether pid is a live (not zombie) process whose command line contains `marker`. */
export function processAlive(pid: number, marker?: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    if (marker && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)) return false;
    return true;
  } catch {
    return false;
  }
}

export class Supervisor {
  private readonly registry: VchRegistry;
  private readonly home: string;
  private readonly slots = new Map<string, Slot>();
  private server?: Server;
  private poller?: NodeJS.Timeout;
  private readonly log: (line: string) => void;

  constructor(home: string, log: (line: string) => void = (l) => console.error(`${new Date().toISOString()} ${l}`)) {
    this.home = home;
    this.registry = new VchRegistry(home);
    this.log = log;
  }

  /** Takes the control socket (false: another supervisor has it) and brings up every enabled VCH. */
  async run(): Promise<boolean> {
    mkdirSync(supervisorDir(this.home), { recursive: true, mode: 0o700 });
    if (!(await this.listen())) return false;
    writeFileSync(join(supervisorDir(this.home), 'supervisor.pid'), `${process.pid}\n`, { mode: 0o600 });
    this.scan();
    // Adopted engines are not our children: their end is noticed by polling.
    this.poller = setInterval(() => this.pollAdopted(), 1000);
    this.log(`supervisor ${process.pid} running for ${this.home}`);
    return true;
  }

  private async listen(): Promise<boolean> {
    const path = controlSocket(this.home);
    if (existsSync(path)) {
      if (await answers(path)) return false;
      rmSync(path, { force: true }); // a dead supervisor's socket
    }
    const server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    this.server = server;
    return true;
  }

  private serve(socket: Socket): void {
    let buffer = '';
    socket.on('data', (d) => {
      buffer += d.toString();
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      const line = buffer.slice(0, end);
      buffer = '';
      let request: SupervisorRequest;
      try {
        request = JSON.parse(line) as SupervisorRequest;
      } catch {
        socket.end(JSON.stringify({ ok: false, error: 'not a JSON request' }) + '\n');
        return;
      }
      void this.handle(request)
        .then((result) => socket.end(JSON.stringify({ ok: true, result }) + '\n'))
        .catch((err: unknown) => socket.end(JSON.stringify({ ok: false, error: (err as Error).message }) + '\n'));
    });
    socket.on('error', () => undefined);
  }

  private async handle(request: SupervisorRequest): Promise<unknown> {
    switch (request.op) {
      case 'status':
        return [...this.slots.values()].map((s): EngineStatus => ({ name: s.name, state: s.state, pid: s.pid, restarts: s.restarts, since: new Date(s.startedAt).toISOString() }));
      case 'reload':
        this.scan();
        return null;
      case 'restart':
        await this.stop(request.name);
        this.start(request.name);
        return null;
      case 'stop':
        await this.stop(request.name);
        return null;
    }
  }

  /** Starts (or adopts) every enabled VCH without an engine; stops engines of VCHs gone or disabled. */
  private scan(): void {
    const vchs = this.registry.list();
    for (const s of vchs) if (s.enabled && !this.slots.has(s.name)) this.start(s.name);
    for (const name of this.slots.keys()) {
      if (!vchs.some((s) => s.name === name && s.enabled)) void this.stop(name);
    }
  }

  private start(name: string): void {
    if (!this.registry.exists(name)) throw new Error(`no VCH named ${name}`);
    const existing = this.slots.get(name);
    const slot: Slot = existing ?? { name, state: 'running', restarts: 0, backoffMs: MIN_BACKOFF_MS, startedAt: Date.now(), stopped: [] };
    this.slots.set(name, slot);
    const settings = this.registry.read(name);
    const pidFile = enginePidFile(this.registry, name);
    // An engine that outlived the previous supervisor is adopted, not doubled.
    const previous = readPid(pidFile);
    if (!existing && previous && processAlive(previous, `--datastore ${settings.datastore}`)) {
      slot.pid = previous;
      slot.state = 'running';
      this.log(`${name}: adopted running engine ${previous}`);
      return;
    }
    try {
      ensureResourcePool(settings.resourcePool, settings.limits);
      mkdirSync(settings.datastore, { recursive: true, mode: 0o700 });
      const logFile = join(settings.datastore, 'engine.log');
      const fd = openSync(logFile, 'a', 0o600);
      chmodSync(logFile, 0o600);
      const child = spawn('sh', ['-c', JOIN_CGROUP_AND_EXEC, 'sh', ...engineEntry(settings), ...vchServeArgs(settings)], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, BONNEVILLE_CGROUP_PROCS: procsFiles(settings.resourcePool).join(' ') },
      });
      closeSync(fd);
      slot.child = child;
      slot.pid = child.pid;
      slot.state = 'running';
      slot.startedAt = Date.now();
      writeFileSync(pidFile, `${child.pid}\n`, { mode: 0o600 });
      this.log(`${name}: engine started (pid ${child.pid})`);
      child.on('exit', (code, signal) => this.exited(slot, `exit ${code ?? signal}`));
    } catch (err) {
      this.log(`${name}: engine could not start: ${(err as Error).message}`);
      this.scheduleRestart(slot);
    }
  }

  private pollAdopted(): void {
    for (const slot of this.slots.values()) {
      if (slot.child || slot.pid === undefined || slot.state !== 'running') continue;
      if (!processAlive(slot.pid)) this.exited(slot, 'adopted engine gone');
    }
  }

  private exited(slot: Slot, how: string): void {
    slot.child = undefined;
    slot.pid = undefined;
    if (slot.state === 'stopping') {
      this.slots.delete(slot.name);
      for (const done of slot.stopped.splice(0)) done();
      return;
    }
    this.log(`${slot.name}: engine ended (${how})`);
    if (Date.now() - slot.startedAt > STABLE_MS) slot.backoffMs = MIN_BACKOFF_MS;
    this.scheduleRestart(slot);
  }

  private scheduleRestart(slot: Slot): void {
    slot.state = 'restarting';
    const delay = slot.backoffMs;
    slot.backoffMs = Math.min(slot.backoffMs * 2, MAX_BACKOFF_MS);
    this.log(`${slot.name}: restarting in ${delay} ms`);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (slot.state !== 'restarting') return;
      slot.restarts++;
      if (!this.registry.exists(slot.name)) { this.slots.delete(slot.name); return; }
      this.start(slot.name);
    }, delay);
  }

  /** Stops the engine (SIGTERM, SIGKILL after a grace period); container VMs keep running. */
  private async stop(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) return;
    if (slot.timer) clearTimeout(slot.timer);
    const pid = slot.pid;
    slot.state = 'stopping';
    if (pid === undefined || !processAlive(pid)) {
      this.slots.delete(name);
      return;
    }
    const done = new Promise<void>((resolve) => slot.stopped.push(resolve));
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone already */ }
    const kill = setTimeout(() => { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }, STOP_GRACE_MS);
    // An adopted engine is not our child: poll for its end.
    const poll = slot.child ? undefined : setInterval(() => { if (!processAlive(pid)) this.exited(slot, 'stopped'); }, 200);
    await done;
    clearTimeout(kill);
    if (poll) clearInterval(poll);
    rmSync(enginePidFile(this.registry, name), { force: true });
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.server?.close();
  }
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/** One request to the supervisor of `home`. */
export function askSupervisor<T>(home: string, request: SupervisorRequest, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const socket = connect(controlSocket(home));
    let reply = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('the supervisor did not answer')); }, timeoutMs);
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (d) => { reply += d.toString(); });
    socket.on('error', (err) => { clearTimeout(timer); reject(new Error(`the supervisor is not running (${err.message})`)); });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const answer = JSON.parse(reply) as { ok: boolean; result?: T; error?: string };
        if (answer.ok) resolve(answer.result as T);
        else reject(new Error(answer.error));
      } catch {
        reject(new Error(`the supervisor's answer was not understood: ${reply}`));
      }
    });
  });
}

/** Starts the supervisor of `home` unless it runs (setsid, its log in <home>/supervisor/supervisor.log). */
export async function ensureSupervisor(home: string): Promise<void> {
  if (await answers(controlSocket(home))) return;
  mkdirSync(supervisorDir(home), { recursive: true, mode: 0o700 });
  const logFile = join(supervisorDir(home), 'supervisor.log');
  const fd = openSync(logFile, 'a', 0o600);
  const child = spawn(NODE, [BONNEVILLE, 'supervise', '--home', home], { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  closeSync(fd);
  child.unref();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await answers(controlSocket(home))) return;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the supervisor did not start; see ${logFile}`);
}
