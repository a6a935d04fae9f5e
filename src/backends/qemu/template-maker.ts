// Makes one instant-clone template: cold-boots a VM with no disks and its RAM in a shared file, waits
// until the tether is up and waiting for its CONFIG, then pauses it and saves its device state
// (x-ignore-shared: the RAM stays in the file, not in the stream). Clones restore exactly this.
import { spawn } from 'node:child_process';
import { withPrivateUmask } from './private-files.ts';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { TetherClient } from '../../tether/client.ts';
import { connectUnixSocket } from '../../tether/connect.ts';
import { buildQemuArgs } from './cmdline.ts';
import { QmpClient } from './qmp.ts';
import type { TemplateFiles, TemplateShape } from './template-store.ts';
import { NIC_SLOTS, slotMac } from './nic-slots.ts';

export interface MakeTemplateOptions {
  qemuBinary: string;
  kernel: string;
  initrd: string;
  accel: 'kvm' | 'tcg';
  tscKhz: number;
  shape: TemplateShape;
  /** The temp directory (TemplateStore.begin) that receives memory and state. */
  files: TemplateFiles;
  /** Longest the guest may take to boot until its tether answers. */
  timeoutMs: number;
  /** Longest each save step (monitor connection, saving the state) may take; each has its own. */
  stepTimeoutMs: number;
}

/** NICs of a template and of each of its clones: every NIC slot (nic-slots.ts). */
export const TEMPLATE_NICS = NIC_SLOTS;

/** The arguments every VM of the instant-clone family shares: the template and all its clones. */
export function cloneFamilyArgs(options: {
  name: string; kernel: string; initrd: string; accel: 'kvm' | 'tcg'; tscKhz: number; shape: TemplateShape;
  memory: string; shared: boolean; incoming: boolean; controlSocket: string; qmpSocket: string;
  logFile: string; consoleFile: string; pidFile: string;
  /** The clone's taps for its networks, NIC slots in order; the other slots (all of the template's) get an empty hub. */
  taps?: string[];
}): string[] {
  return buildQemuArgs({
    name: options.name,
    kernel: options.kernel,
    initrd: options.initrd,
    memoryMiB: options.shape.memoryMiB,
    cpus: options.shape.cpus,
    accel: options.accel,
    tscKhz: options.tscKhz,
    disks: [], // clones get theirs hot-plugged (hotplug.ts)
    controlSocket: options.controlSocket,
    qmpSocket: options.qmpSocket,
    logFile: options.logFile,
    consoleFile: options.consoleFile,
    pidFile: options.pidFile,
    memoryFile: { path: options.memory, shared: options.shared },
    // Every family member has exactly TEMPLATE_NICS NICs; a container on more networks cold-boots.
    nics: Array.from({ length: TEMPLATE_NICS }, (_, i) => ({ tap: options.taps?.[i], mac: slotMac(i) })),
    incoming: options.incoming,
  });
}

/**
 * Spawns QEMU so that it dies with this process (the engine): a half-made template is worthless, and
 * nothing else would ever stop it. QEMU's own messages go to `output`.
 */
export function spawnTied(qemuBinary: string, args: string[], cwd: string, output: string) {
  const setpriv = '/usr/bin/setpriv';
  const out = openSync(output, 'a', 0o600);
  try {
    const stdio: ['ignore', number, number] = ['ignore', out, out];
    const [command, commandArgs] = withPrivateUmask(qemuBinary, args);
    return existsSync(setpriv)
      ? spawn(setpriv, ['--pdeathsig', 'SIGKILL', '--', command, ...commandArgs], { stdio, cwd })
      : spawn(command, commandArgs, { stdio, cwd });
  } finally {
    closeSync(out);
  }
}

export async function makeTemplate(options: MakeTemplateOptions): Promise<void> {
  const id = `template-${randomBytes(6).toString('hex')}`;
  const vmName = `bonneville-${id}`;
  const control = `bonneville/${id}/control`;
  const qmpSocket = `bonneville/${id}/qmp`;
  const { files } = options;
  // Lets the next engine kill this QEMU if the engine dies before it is done (TemplateStore.sweep).
  writeJsonAtomic(join(files.dir, 'maker.json'), { vmName });
  const args = cloneFamilyArgs({
    name: vmName, kernel: options.kernel, initrd: options.initrd, accel: options.accel, tscKhz: options.tscKhz,
    shape: options.shape, memory: files.memory, shared: true, incoming: false, controlSocket: control, qmpSocket,
    logFile: join(files.dir, 'output.log'), consoleFile: join(files.dir, 'console.log'), pidFile: join(files.dir, 'qemu.pid'),
  });
  const qemuLog = join(files.dir, 'qemu.log');
  const child = spawnTied(options.qemuBinary, args, files.dir, qemuLog);
  const gone = new AbortController();
  const exited = new Promise<void>((resolve) => child.once('exit', () => { gone.abort(); resolve(); }));
  // Each step has its own time: one deadline shared by all would leave the last ones whatever the
  // first left over (down to "no HELLO within 1 ms" once a slow host used it up).
  let qmp: QmpClient | undefined;
  try {
    // QEMU creates the control socket right at start; the boot is the wait for the tether's HELLO.
    const bootStart = Date.now();
    const socket = await connectUnixSocket(control, { abstract: true, timeoutMs: options.timeoutMs, signal: gone.signal });
    // The control connection stays open while saving: clones then restore with the host end marked
    // connected, and the tether is blocked in a read that the clone's first HELLO_REQ completes.
    const tether = new TetherClient(socket);
    const hello = await tether.hello(Math.max(options.stepTimeoutMs, options.timeoutMs - (Date.now() - bootStart)));
    if (hello.state !== 'waiting') throw new Error(`template guest is ${hello.state}, not waiting`);
    qmp = await QmpClient.connect(qmpSocket, options.stepTimeoutMs, gone.signal);
    await qmp.execute('stop');
    await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
    await qmp.execute('migrate', { uri: `exec:cat > ${shellQuote(files.state)}` });
    await qmp.waitForMigration(options.stepTimeoutMs);
    socket.destroy();
  } catch (err) {
    const said = readFileSync(qemuLog, 'utf8').trim().split('\n').slice(-2).join(' | ');
    throw new Error(`${(err as Error).message}${said ? ` (QEMU: ${said})` : ''}`, { cause: err });
  } finally {
    qmp?.close();
    child.kill('SIGKILL');
    await exited;
  }
  // The RAM reached the file through a shared mapping; make both durable before the template is
  // published, so a host crash cannot leave a template whose memory never hit the disk.
  for (const path of [files.memory, files.state]) {
    const fd = openSync(path, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  }
}

/** For QEMU's `exec:` URIs, which run through /bin/sh. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
