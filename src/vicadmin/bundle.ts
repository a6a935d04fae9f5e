// The support bundle: a .tar.gz of what someone diagnosing this VCH needs — the engine's log, each
// container VM's serial console and QEMU output, the VCH's settings, the versions of its parts and a
// status snapshot. Only files named here go in: never private keys, the admin password, or a
// container's config.json (its environment may hold secrets).
import { mkdtemp, mkdir, rm, writeFile, stat } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { release, version as osVersion } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { create as createTar } from 'tar';
import type { VchView, VchStatus } from './status.ts';

const run = promisify(execFile);

/** Settings files of the datastore that hold no secrets. */
export const BUNDLED_SETTINGS = ['vch.json', 'registries.json', 'endpoints.json'];
/** Per container VM: its serial console and QEMU's own output. */
const CONTAINER_LOGS = ['console.log', 'qemu.log'];
/** A log larger than this goes in as its last part. */
const MAX_LOG_BYTES = 32 * 1024 * 1024;

export interface BundleInputs {
  view: VchView;
  /** The engine's log file, when it writes to one. */
  engineLogFile?: string;
  /** The engine's recent output from memory, when its log is not (only) that file. */
  recentEngineLog?: string;
  status: VchStatus;
}

async function copyTail(from: string, to: string): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(from)).size;
  } catch {
    return false;
  }
  await pipeline(createReadStream(from, { start: Math.max(0, size - MAX_LOG_BYTES) }), createWriteStream(to, { mode: 0o600 }));
  return true;
}

async function versions(view: VchView): Promise<string> {
  let qemu: string;
  try {
    qemu = (await run(view.qemuBinary, ['--version'], { timeout: 10_000 })).stdout.split('\n')[0];
  } catch (error) {
    qemu = `unknown (${(error as Error).message.split('\n')[0]})`;
  }
  const info = view.backend();
  return [
    `bonneville engine: ${view.version}`,
    `node: ${process.version}`,
    `qemu: ${qemu}`,
    `host kernel: ${release()} (${osVersion()})`,
    `guest kernel: ${info.kernelVersion}`,
    `backend: ${info.name} (${info.accelerator})`,
    '',
  ].join('\n');
}

/** A name safe as one path element. */
const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** Where bundles are put together: inside the (root-only) datastore, emptied when the admin page starts. */
export function bundleStagingDir(datastore: string): string {
  return join(datastore, '.bundles');
}

/** Removes what bundles interrupted by an engine's end left behind. */
export async function clearBundleStaging(datastore: string): Promise<void> {
  await rm(bundleStagingDir(datastore), { recursive: true, force: true });
}

/** Writes the bundle, gzipped tar, to `out`; the staging directory is gone afterwards. */
export async function writeBundle(inputs: BundleInputs, out: Writable): Promise<void> {
  const { view } = inputs;
  await mkdir(bundleStagingDir(view.datastore), { recursive: true, mode: 0o700 });
  const staging = await mkdtemp(join(bundleStagingDir(view.datastore), 'bundle-'));
  const top = `bonneville-${safe(view.name)}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const root = join(staging, top);
  try {
    await mkdir(join(root, 'settings'), { recursive: true });
    await mkdir(join(root, 'containers'));
    if (inputs.engineLogFile) await copyTail(inputs.engineLogFile, join(root, 'engine.log'));
    if (inputs.recentEngineLog !== undefined) await writeFile(join(root, 'engine-recent.log'), inputs.recentEngineLog, { mode: 0o600 });
    for (const file of BUNDLED_SETTINGS) await copyTail(join(view.datastore, file), join(root, 'settings', file));
    const list = [];
    for (const c of view.containers()) {
      const dir = join(root, 'containers', safe(c.record.id));
      await mkdir(dir);
      for (const file of CONTAINER_LOGS) await copyTail(join(c.dir, file), join(dir, file));
      list.push({ id: c.record.id, name: c.record.spec.name, image: c.record.imageId, created: c.record.created, status: c.state.status, paused: !!c.state.paused, exitCode: c.state.exitCode, startedAt: c.state.startedAt, finishedAt: c.state.finishedAt, error: c.state.error });
    }
    await writeFile(join(root, 'containers.json'), JSON.stringify(list, null, 2) + '\n', { mode: 0o600 });
    await writeFile(join(root, 'status.json'), JSON.stringify(inputs.status, null, 2) + '\n', { mode: 0o600 });
    await writeFile(join(root, 'versions.txt'), await versions(view), { mode: 0o600 });
    await pipeline(createTar({ gzip: true, cwd: staging, portable: true }, [top]), out);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
