// What the benchmarks share: medians, a bounded pool of workers, waiting for a VCH's template and standby clones, memory of a process.
import { readFileSync } from 'node:fs';
import type { TestVch } from '../test/helpers/vch.ts';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` over items with at most `width` at once. */
export async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/**
 * Waits (up to 2 minutes) until `docker info` says the VCH has a ready template and, with
 * `standby` > 0, that many standby clones ready; the template status.
 */
export async function waitForStandby(vch: TestVch, standby: number): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const info = await vch.docker(['info', '--format', '{{json .DriverStatus}}']);
    const status = Object.fromEntries(JSON.parse(info.stdout) as string[][]);
    const template = status['Instant clone'] ?? 'unknown';
    const standbyReady = standby === 0 || new RegExp(`: ${standby} ready`).test(status['Standby clones'] ?? 'off');
    if ((/templates ready: (?!none)/.test(template) && standbyReady) || Date.now() > deadline) return template;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface VmMemory {
  rssMiB: number;
  pssMiB: number;
  /** Pages only this VM maps (Private_Clean + Private_Dirty). */
  privateMiB: number;
}

export function memoryOf(pid: number): VmMemory {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) / 1024;
  return { rssMiB: field('Rss'), pssMiB: field('Pss'), privateMiB: field('Private_Clean') + field('Private_Dirty') };
}

export function meanMemory(samples: VmMemory[]): VmMemory {
  const mean = (pick: (m: VmMemory) => number) => samples.reduce((s, m) => s + pick(m), 0) / Math.max(1, samples.length);
  return { rssMiB: mean((m) => m.rssMiB), pssMiB: mean((m) => m.pssMiB), privateMiB: mean((m) => m.privateMiB) };
}

/** The host's MemAvailable (/proc/meminfo), MiB. */
export function memAvailableMiB(): number {
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
}
