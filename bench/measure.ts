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

/**
 * The requests of `docker run --rm` as the docker CLI sends them (create with AutoRemove, attach,
 * wait?condition=removed, start), RUNS times through dockerode: per run, the start request, and from
 * its answer until the attach stream ended, until the wait was answered, and until both (what the
 * CLI waits for before it returns).
 */
export async function runRmRequests(socket: string, runs: number): Promise<Map<string, number[]>> {
  const { default: Docker } = await import('dockerode');
  const docker = new Docker({ socketPath: socket });
  const phases = new Map<string, number[]>([['create', []], ['start', []], ['attach end', []], ['wait removed', []], ['both', []]]);
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const container = await docker.createContainer({ Image: 'busybox', Cmd: ['true'], AttachStdout: true, AttachStderr: true, HostConfig: { AutoRemove: true } });
    const t1 = performance.now();
    const stream = await container.attach({ stream: true, stdout: true, stderr: true, hijack: true });
    let attachEnd = 0;
    const ended = new Promise<void>((resolve) => {
      const done = () => { attachEnd ||= performance.now(); resolve(); };
      stream.on('end', done);
      stream.on('close', done);
      stream.resume();
    });
    let waitEnd = 0;
    const removed = container.wait({ condition: 'removed' }).then(() => { waitEnd = performance.now(); });
    const t2 = performance.now();
    await container.start();
    const t3 = performance.now();
    await Promise.all([ended, removed]);
    phases.get('create')!.push(t1 - t0);
    phases.get('start')!.push(t3 - t2);
    phases.get('attach end')!.push(attachEnd - t3);
    phases.get('wait removed')!.push(waitEnd - t3);
    phases.get('both')!.push(Math.max(attachEnd, waitEnd) - t3);
  }
  return phases;
}

/**
 * Medians of the exit phases the engine logged ("…; exit phases: exit-frame 300ms, …") in `log`: of
 * --rm containers' ends, or of the others'.
 */
export function exitPhases(log: string, autoRemove: boolean, parse: (line: string) => Map<string, number> | undefined): Map<string, number> {
  const all = new Map<string, number[]>();
  for (const line of log.split('\n')) {
    if (!/ exit phases: /.test(line) || / \(--rm\);/.test(line) !== autoRemove) continue;
    for (const [name, ms] of parse(line) ?? []) all.set(name, [...(all.get(name) ?? []), ms]);
  }
  return new Map([...all].map(([name, values]) => [name, median(values)]));
}

/** The end of `docker run --rm`: its requests as the CLI sends them, through both, and the engine's exit phases. */
export function printExit(ours: Map<string, number[]>, theirs: Map<string, number[]>, phases: Map<string, number>): void {
  console.log('docker run --rm as the CLI sends it (create AutoRemove, attach, wait?condition=removed, start), medians; "attach end", "wait removed" and "both" (what the CLI waits for) count from the start\'s answer:');
  for (const [name, values] of ours) {
    console.log(`  ${name.padEnd(12)} bonneville ${median(values).toFixed(0).padStart(5)} ms | dockerd ${median(theirs.get(name)!).toFixed(0).padStart(5)} ms`);
  }
  if (phases.size === 0) return;
  console.log(`  bonneville exit phases (ms; each since the one before, from the start's answer): ${[...phases].map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ')}`);
}
