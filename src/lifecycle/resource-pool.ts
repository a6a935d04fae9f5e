// A VCH's resource pool: one cgroup, `bonneville/<vch>`, holding its engine and every QEMU process the
// engine spawns (children inherit it). Two drivers: cgroup v2 (cpu.max, cpu.weight, memory.max,
// memory.low) where the unified hierarchy has the cpu and memory controllers, else v1 (cpu and memory
// hierarchies: cfs quota/period, shares, limit_in_bytes, soft_limit_in_bytes).
//
// The cgroup is made under the creating process's own cgroup (on a host that is the root; in a
// container or a service's slice, it stays inside what that is allowed), and its directories are
// kept in the VCH's settings so that every later verb finds the same ones.
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmdirSync, realpathSync } from 'node:fs';
import { join, dirname } from 'node:path';

export interface PoolLimits {
  memoryMiB?: number;
  cpus?: number;
  memoryReservationMiB?: number;
  cpuShares?: number;
}

export interface PoolStats {
  /** CPU time the pool's processes used, in microseconds. */
  usageUsec?: number;
  /** CFS periods in which the pool ran, and in which it was throttled for reaching its quota. */
  periods: number;
  throttledPeriods: number;
  throttledUsec: number;
  memoryBytes?: number;
}

export interface ResourcePool {
  driver: 'v1' | 'v2';
  dirs: string[];
}

/**
 * The hard memory cap is the limit plus this: the limit is what container VMs may be given (start
 * admission counts it), the headroom is for the engine and QEMU's own overhead beside guest memory.
 */
export const MEMORY_HEADROOM_MIB = 384;
const CFS_PERIOD_US = 100_000;
const MIB = 1024 * 1024;
const CGROUP_ROOT = '/sys/fs/cgroup';

function ownCgroupPaths(): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const controller of m[1] === '' ? [''] : m[1].split(',')) paths.set(controller, m[2]);
  }
  return paths;
}

function unifiedHasControllers(): boolean {
  try {
    const controllers = readFileSync(join(CGROUP_ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/);
    return controllers.includes('cpu') && controllers.includes('memory');
  } catch {
    return false;
  }
}

/** Where the cgroup of VCH `name` goes on this host, by the driver the host supports. */
export function planResourcePool(name: string): ResourcePool {
  const own = ownCgroupPaths();
  if (unifiedHasControllers()) {
    return { driver: 'v2', dirs: [join(CGROUP_ROOT, own.get('') ?? '/', 'bonneville', name)] };
  }
  const cpu = join(CGROUP_ROOT, 'cpu');
  const memory = join(CGROUP_ROOT, 'memory');
  if (!existsSync(join(cpu, 'cpu.cfs_quota_us')) || !existsSync(join(memory, 'memory.limit_in_bytes'))) {
    throw new Error('no usable cgroup controllers for cpu and memory on this host (neither cgroup v2 with cpu+memory nor v1 cpu and memory hierarchies)');
  }
  const dirs = [join(cpu, own.get('cpu') ?? '/', 'bonneville', name), join(memory, own.get('memory') ?? '/', 'bonneville', name)];
  // cpuacct (the usage counter) when it is a hierarchy of its own; co-mounted with cpu it is already there.
  const cpuacct = join(CGROUP_ROOT, 'cpuacct');
  if (existsSync(join(cpuacct, 'cpuacct.usage')) && realpathSync(cpuacct) !== realpathSync(cpu)) {
    dirs.push(join(cpuacct, own.get('cpuacct') ?? '/', 'bonneville', name));
  }
  return { driver: 'v1', dirs };
}

/** Creates the cgroup (idempotent: the supervisor re-creates it after a reboot) and sets its limits. */
export function ensureResourcePool(pool: ResourcePool, limits: PoolLimits): void {
  for (const dir of pool.dirs) {
    if (pool.driver === 'v2') enableV2Controllers(dir);
    mkdirSync(dir, { recursive: true });
  }
  applyLimits(pool, limits);
}

// v2 hands controllers down level by level: each ancestor below the root must enable cpu and memory for its children.
function enableV2Controllers(dir: string): void {
  const chain: string[] = [];
  for (let d = dirname(dir); d.startsWith(CGROUP_ROOT) && d !== CGROUP_ROOT; d = dirname(d)) chain.unshift(d);
  for (const d of [CGROUP_ROOT, ...chain]) {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'cgroup.subtree_control'), '+cpu +memory');
  }
}

/** Rewrites the limits in place: processes stay in the cgroup, running VMs keep running. */
export function applyLimits(pool: ResourcePool, limits: PoolLimits): void {
  const memoryMax = limits.memoryMiB ? (limits.memoryMiB + MEMORY_HEADROOM_MIB) * MIB : undefined;
  const quota = limits.cpus ? Math.max(1000, Math.round(limits.cpus * CFS_PERIOD_US)) : undefined;
  if (pool.driver === 'v2') {
    const [dir] = pool.dirs;
    write(dir, 'cpu.max', `${quota ?? 'max'} ${CFS_PERIOD_US}`);
    write(dir, 'cpu.weight', String(limits.cpuShares ? sharesToWeight(limits.cpuShares) : 100));
    write(dir, 'memory.max', memoryMax ? String(memoryMax) : 'max');
    write(dir, 'memory.low', limits.memoryReservationMiB ? String(limits.memoryReservationMiB * MIB) : '0');
    return;
  }
  for (const dir of pool.dirs) {
    if (existsSync(join(dir, 'cpu.cfs_quota_us'))) {
      write(dir, 'cpu.cfs_period_us', String(CFS_PERIOD_US));
      write(dir, 'cpu.cfs_quota_us', String(quota ?? -1));
      write(dir, 'cpu.shares', String(limits.cpuShares ?? 1024));
    }
    if (existsSync(join(dir, 'memory.limit_in_bytes'))) {
      write(dir, 'memory.limit_in_bytes', memoryMax ? String(memoryMax) : '-1');
      write(dir, 'memory.soft_limit_in_bytes', limits.memoryReservationMiB ? String(limits.memoryReservationMiB * MIB) : '-1');
    }
  }
}

function write(dir: string, file: string, value: string): void {
  try {
    writeFileSync(join(dir, file), value);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EBUSY' || code === 'EINVAL' ? ' (a memory limit below what the VCH uses now cannot be set)' : '';
    throw new Error(`cannot set ${join(dir, file)} to ${value}: ${(err as Error).message}${why}`);
  }
}

/** Docker's mapping of cgroup v1 shares (2..262144) onto v2 weights (1..10000). */
function sharesToWeight(shares: number): number {
  return Math.round(1 + ((Math.min(Math.max(shares, 2), 262144) - 2) * 9999) / 262142);
}

/** The files a process id is written to, to put that process into the pool. */
export function procsFiles(pool: ResourcePool): string[] {
  return pool.dirs.map((d) => join(d, 'cgroup.procs'));
}

/** Process ids in the pool (its first controller's view). */
export function poolPids(pool: ResourcePool): number[] {
  try {
    return readFileSync(join(pool.dirs[0], 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function keyValues(path: string): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const [k, v] = line.split(/\s+/);
      if (k && v !== undefined) out.set(k, Number(v));
    }
  } catch {
    // not this driver's file
  }
  return out;
}

function readNumber(path: string): number | undefined {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return undefined;
  }
}

export function poolStats(pool: ResourcePool): PoolStats {
  if (pool.driver === 'v2') {
    const [dir] = pool.dirs;
    const cpu = keyValues(join(dir, 'cpu.stat'));
    return {
      usageUsec: cpu.get('usage_usec'),
      periods: cpu.get('nr_periods') ?? 0,
      throttledPeriods: cpu.get('nr_throttled') ?? 0,
      throttledUsec: cpu.get('throttled_usec') ?? 0,
      memoryBytes: readNumber(join(dir, 'memory.current')),
    };
  }
  const stats: PoolStats = { periods: 0, throttledPeriods: 0, throttledUsec: 0 };
  for (const dir of pool.dirs) {
    const cpu = keyValues(join(dir, 'cpu.stat'));
    if (cpu.has('nr_periods')) {
      stats.periods = cpu.get('nr_periods')!;
      stats.throttledPeriods = cpu.get('nr_throttled') ?? 0;
      stats.throttledUsec = Math.round((cpu.get('throttled_time') ?? 0) / 1000);
    }
    const usage = readNumber(join(dir, 'cpuacct.usage'));
    if (usage !== undefined) stats.usageUsec = Math.round(usage / 1000);
    const memory = readNumber(join(dir, 'memory.usage_in_bytes'));
    if (memory !== undefined) stats.memoryBytes = memory;
  }
  return stats;
}

/** Removes the cgroup once no process is left in it (and `bonneville/` when it was the last). */
export function removeResourcePool(pool: ResourcePool): void {
  for (const dir of pool.dirs) {
    if (!existsSync(dir)) continue;
    try {
      rmdirSync(dir);
    } catch (err) {
      throw new Error(`cannot remove cgroup ${dir}: ${(err as Error).message} (processes still in it: ${poolPids(pool).join(' ') || 'none'})`);
    }
    try { rmdirSync(dirname(dir)); } catch { /* other VCHs' cgroups are still there */ }
  }
}
