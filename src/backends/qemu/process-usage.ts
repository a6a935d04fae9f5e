// A QEMU process's CPU time and resident memory, and the host's CPU time, read from /proc.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { VmUsage } from '../../portlayer/backend.ts';

// Linux reports CPU times in USER_HZ ticks, 100 per second on every architecture we run on.
const NS_PER_TICK = 10_000_000;
const PAGE_BYTES = 4096;

function hostCpuNs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  return line.trim().split(/\s+/).slice(1, 9).reduce((sum, ticks) => sum + Number(ticks), 0) * NS_PER_TICK;
}

export function processUsage(pid: number): VmUsage {
  let cpuNs = 0;
  let memoryBytes = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state is field 0, utime 11, stime 12, rss (pages) 21.
    cpuNs = (Number(fields[11]) + Number(fields[12])) * NS_PER_TICK;
    memoryBytes = Number(fields[21]) * PAGE_BYTES;
  } catch {
    // The VM just went away: it uses nothing.
  }
  return { cpuNs, memoryBytes, systemCpuNs: hostCpuNs(), onlineCpus: cpus().length };
}
