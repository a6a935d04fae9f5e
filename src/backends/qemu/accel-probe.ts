// KVM only counts when a guest really boots under it: some hosts offer /dev/kvm but cannot run a stock
// kernel (nested "PVM" hypervisors abort or crawl). One probe boot per host boot decides; the answer is
// cached in the datastore, keyed by the host's boot id.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeJsonAtomic } from '../../portlayer/atomic-file.ts';
import { TetherClient } from '../../tether/client.ts';
import { buildQemuArgs } from './cmdline.ts';
import { connectUnixSocket } from '../../tether/connect.ts';
import type { GuestArtifacts } from './guest-artifacts.ts';

export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  reason: string;
}

const PROBE_DEADLINE_MS = 10_000;

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export async function chooseAccelerator(options: { qemuBinary: string; guest: GuestArtifacts; tscKhz: number; cacheFile: string; forced?: string }): Promise<AccelChoice> {
  if (options.forced === 'tcg' || options.forced === 'kvm') return { accel: options.forced, reason: 'set by configuration' };
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: '/dev/kvm is not available' };
  }
  const key = `${bootId()}:${options.guest.kernelVersion}`;
  // One answer per (host boot, guest kernel): VCHs with different guests must not evict each other.
  const cache: Record<string, AccelChoice> = existsSync(options.cacheFile) ? JSON.parse(readFileSync(options.cacheFile, 'utf8')) : {};
  if (cache[key]?.accel) return cache[key];
  const choice = (await probeKvm(options)) ? { accel: 'kvm' as const, reason: 'a probe VM booted under KVM' }
    : { accel: 'tcg' as const, reason: `/dev/kvm exists but a probe VM did not boot under it within ${PROBE_DEADLINE_MS / 1000}s` };
  mkdirSync(dirname(options.cacheFile), { recursive: true, mode: 0o700 });
  writeJsonAtomic(options.cacheFile, { ...cache, [key]: choice });
  return choice;
}

async function probeKvm(options: { qemuBinary: string; guest: GuestArtifacts; tscKhz: number }): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-kvm-probe-'));
  const id = `probe-${randomBytes(8).toString('hex')}`;
  const args = buildQemuArgs({
    name: id,
    kernel: options.guest.kernel,
    initrd: options.guest.initrd,
    memoryMiB: 128,
    cpus: 1,
    accel: 'kvm',
    tscKhz: options.tscKhz,
    disks: [],
    controlSocket: `bonneville/${id}/control`,
    qmpSocket: `bonneville/${id}/qmp`,
    logFile: join(dir, 'output.log'),
    consoleFile: join(dir, 'console.log'),
    pidFile: join(dir, 'qemu.pid'),
  });
  const child = spawn(options.qemuBinary, args, { stdio: 'ignore' });
  const exited = new AbortController();
  child.once('exit', () => exited.abort());
  try {
    const deadline = Date.now() + PROBE_DEADLINE_MS;
    const socket = await connectUnixSocket(`bonneville/${id}/control`, { abstract: true, timeoutMs: PROBE_DEADLINE_MS, signal: exited.signal });
    const tether = new TetherClient(socket);
    await tether.hello(Math.max(1, deadline - Date.now()));
    socket.destroy();
    return true;
  } catch {
    return false;
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
