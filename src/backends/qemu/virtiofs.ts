// Host directories shared into a container VM over virtio-fs: one virtiofsd per directory, started
// detached (like QEMU, it outlives an engine restart), serving a vhost-user socket that QEMU's
// vhost-user-fs device connects to. virtiofsd ends by itself when QEMU lets go of the socket; the pids
// are kept in the VM's runtime record all the same, so that whatever is left can be ended for sure.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { VmHostDirectory } from '../../portlayer/backend.ts';
import { killQuietly, processGone } from './process-identity.ts';

export const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';
/** Short enough for sun_path with a 64-hex container id in the name (the datastore's paths are not). */
export const VIRTIOFS_RUN_DIR = '/run/bonneville/virtiofs';
/** virtio-mmio transports are few (microvm: 23 for every device): a sanity bound, not a design limit. */
export const MAX_SHARES = 8;

/** One running virtiofsd, as the runtime record keeps it. */
export interface FsShare {
  pid: number;
  socket: string;
  /** What the guest mounts (`mount -t virtiofs <tag>`). */
  tag: string;
}

export interface ShareOptions {
  virtiofsd: string;
  runDir: string;
  /** virtiofsd's own messages go here (appended). */
  logFile: string;
  timeoutMs: number;
}

/**
 * Starts a virtiofsd for each directory and waits until each listens. A read-only share is made
 * read-only on the host too: virtiofsd runs in a mount namespace of its own where its directory is a
 * read-only bind, so nothing the guest does can write through it. On failure none is left running.
 */
export async function startShares(id: string, dirs: VmHostDirectory[], options: ShareOptions): Promise<FsShare[]> {
  if (dirs.length > MAX_SHARES) throw new RangeError(`a container VM takes at most ${MAX_SHARES} host directories, got ${dirs.length}`);
  mkdirSync(options.runDir, { recursive: true, mode: 0o700 });
  const shares: FsShare[] = [];
  try {
    for (const [i, dir] of dirs.entries()) {
      const socket = join(options.runDir, `${id}-${i}.sock`);
      rmSync(socket, { force: true });
      const args = [`--socket-path=${socket}`, '-o', `source=${fuseOptionValue(dir.source)}`, '-o', 'cache=auto', '-o', 'log_level=warn'];
      const [command, commandArgs] = dir.readOnly
        ? ['/usr/bin/unshare', ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', READ_ONLY_BIND, dir.source, options.virtiofsd, ...args]]
        : [options.virtiofsd, args];
      const out = openSync(options.logFile, 'a', 0o600);
      let child;
      try {
        child = spawn(command, commandArgs, { detached: true, stdio: ['ignore', out, out] });
      } finally {
        closeSync(out);
      }
      child.unref();
      if (!child.pid) throw new Error(`could not start ${options.virtiofsd}`);
      shares.push({ pid: child.pid, socket, tag: `bind${i}` });
      await listening(child.pid, socket, options);
    }
    return shares;
  } catch (err) {
    stopShares(shares);
    throw err;
  }
}

// Makes $0 a read-only bind of itself in this (private) mount namespace, then runs virtiofsd there.
const READ_ONLY_BIND = 'mount --bind -- "$0" "$0" && mount -o remount,bind,ro -- "$0" && exec "$@"';

async function listening(pid: number, socket: string, options: ShareOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (!existsSync(socket)) {
    if (processGone(pid)) throw new Error(`virtiofsd for ${socket} exited: ${tail(options.logFile)}`);
    if (Date.now() > deadline) throw new Error(`virtiofsd did not listen on ${socket} within ${options.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Ends what is left of these virtiofsd processes (those still ours) and removes their sockets. */
export function stopShares(shares: FsShare[]): void {
  for (const share of shares) {
    if (isOurVirtiofsd(share)) killQuietly(share.pid);
    rmSync(share.socket, { force: true });
  }
}

/**
 * Removes sockets no virtiofsd serves any more (their VM ended while no engine ran, so nobody removed
 * them). Shared by every VCH on the host: a socket with a live server is left alone, whoever's it is.
 */
export function sweepStaleSockets(runDir: string): void {
  let names: string[];
  try {
    names = readdirSync(runDir).filter((n) => n.endsWith('.sock'));
  } catch {
    return;
  }
  if (names.length === 0) return;
  const served = new Set<string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      for (const arg of readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')) {
        if (arg.startsWith('--socket-path=')) served.add(arg.slice('--socket-path='.length));
      }
    } catch {
      // went away while we looked
    }
  }
  for (const name of names) {
    const socket = join(runDir, name);
    // A socket younger than a minute may belong to a virtiofsd still starting (unshare, then exec).
    const stat = statSync(socket, { throwIfNoEntry: false });
    if (stat && !served.has(socket) && Date.now() - stat.mtimeMs > 60_000) rmSync(socket, { force: true });
  }
}

/** Whether pid is still the virtiofsd serving this socket: pids get reused. */
export function isOurVirtiofsd(share: FsShare): boolean {
  try {
    const argv = readFileSync(`/proc/${share.pid}/cmdline`, 'utf8').split('\0');
    return !processGone(share.pid) && argv.includes(`--socket-path=${share.socket}`);
  } catch {
    return false;
  }
}

/** virtiofsd's -o values are comma-separated, with backslash escapes. */
function fuseOptionValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll(',', '\\,');
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-2).join(' | ') || '(no output)';
  } catch {
    return '(no output)';
  }
}
