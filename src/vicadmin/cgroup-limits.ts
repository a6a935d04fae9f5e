// The memory and CPU limits of the control group the engine runs in (a supervisor or a container
// may confine it, and its VMs with it), from cgroup v2 or v1. The effective limit is the tightest
// one on the way from the engine's group up to the root.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupLimits {
  version: 'v1' | 'v2' | 'none';
  /** The engine's group, as /proc/self/cgroup names it (the memory controller's under v1). */
  path?: string;
  /** Bytes; undefined: unlimited. */
  memoryBytes?: number;
  /** CPUs' worth of time per period (quota / period); undefined: unlimited. */
  cpus?: number;
}

// v1 spells "no limit" as the largest page-aligned count, not as a word.
const V1_UNLIMITED = 2 ** 60;

export interface CgroupFiles {
  /** Contents of /proc/self/cgroup. */
  selfCgroup: string;
  /** Where the cgroup filesystems are mounted (/sys/fs/cgroup). */
  root: string;
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The group and each of its ancestors, innermost first: "/a/b" → ["/a/b", "/a", "/"]. */
function upwards(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let n = parts.length; n >= 0; n--) out.push('/' + parts.slice(0, n).join('/'));
  return out;
}

function tightest(values: Array<number | undefined>): number | undefined {
  const set = values.filter((v): v is number => v !== undefined);
  return set.length ? Math.min(...set) : undefined;
}

/**
 * The directories to read for `path` under one hierarchy mount. Inside a cgroup namespace the
 * names in /proc/self/cgroup may not exist under the mount, whose root is then the group itself.
 */
function groupDirs(mount: string, path: string): string[] {
  const dirs = upwards(path).map((p) => join(mount, p)).filter((d) => readOrUndefined(join(d, 'cgroup.procs')) !== undefined);
  return dirs.length ? dirs : [mount];
}

export function readCgroupLimits(files: CgroupFiles = { selfCgroup: readOrUndefined('/proc/self/cgroup') ?? '', root: '/sys/fs/cgroup' }): CgroupLimits {
  const lines = files.selfCgroup.split('\n').filter(Boolean).map((line) => {
    const [, , controllers, path] = /^(\d+):([^:]*):(.*)$/.exec(line) ?? [];
    return { controllers: (controllers ?? '').split(','), path: path ?? '/' };
  });
  const v1 = (name: string) => lines.find((l) => l.controllers.includes(name));
  const memory1 = v1('memory');
  const cpu1 = v1('cpu');
  if (memory1 || cpu1) {
    const memoryMount = join(files.root, 'memory');
    const memoryBytes = memory1 ? tightest(groupDirs(memoryMount, memory1.path).map((d) => {
      const v = Number(readOrUndefined(join(d, 'memory.limit_in_bytes')));
      return Number.isFinite(v) && v > 0 && v < V1_UNLIMITED ? v : undefined;
    })) : undefined;
    // The cpu controller is mounted as cpu, or as cpu,cpuacct with cpu a link to it.
    const cpuMount = readOrUndefined(join(files.root, 'cpu', 'cgroup.procs')) !== undefined ? join(files.root, 'cpu') : join(files.root, 'cpu,cpuacct');
    const cpus = cpu1 ? tightest(groupDirs(cpuMount, cpu1.path).map((d) => {
      const quota = Number(readOrUndefined(join(d, 'cpu.cfs_quota_us')));
      const period = Number(readOrUndefined(join(d, 'cpu.cfs_period_us')));
      return quota > 0 && period > 0 ? quota / period : undefined;
    })) : undefined;
    return { version: 'v1', path: (memory1 ?? cpu1)!.path, memoryBytes, cpus };
  }
  const unified = lines.find((l) => l.controllers.length === 1 && l.controllers[0] === '');
  if (!unified) return { version: 'none' };
  const dirs = groupDirs(files.root, unified.path);
  const memoryBytes = tightest(dirs.map((d) => {
    const v = readOrUndefined(join(d, 'memory.max'));
    return v && v !== 'max' && Number.isFinite(Number(v)) ? Number(v) : undefined;
  }));
  const cpus = tightest(dirs.map((d) => {
    const [quota, period] = (readOrUndefined(join(d, 'cpu.max')) ?? 'max').split(/\s+/);
    return quota !== 'max' && Number(quota) > 0 && Number(period) > 0 ? Number(quota) / Number(period) : undefined;
  }));
  return { version: 'v2', path: unified.path, memoryBytes, cpus };
}
