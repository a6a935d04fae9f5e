// `BENCH_SCALE=sustained,ps,idle npm run bench` (or `node bench/scale.ts`, all sections): what a VCH
// does at scale, next to Debian's dockerd measured in the same run. Each section is opt-in because
// each takes minutes:
//  - sustained: BENCH_SUSTAINED_WORKERS (default 2 per core) loops of `docker run --rm busybox true`
//    for BENCH_SUSTAINED_SECONDS (default 300) per engine: containers per minute, and per core;
//  - ps: `docker ps -a` with BENCH_PS (default 500) created containers on each, timed in turn;
//  - idle: BENCH_IDLE (default 200) `busybox sleep` containers left running: host memory they take
//    (MemAvailable before and after), PSS per VM, and how the host answers meanwhile (`docker ps`,
//    `docker run --rm busybox true` and spawning /bin/true, medians, next to the same with none).
// BENCH_KSM=1 turns the host's KSM on for the idle section (/sys/kernel/mm/ksm/run; put back after)
// with BENCH_KSM_PAGES (default 1000) pages_to_scan, and reports the PSS once ksmd had
// BENCH_KSM_SECONDS (default 60) to merge.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { TestVch, runCommand, DOCKER } from '../test/helpers/vch.ts';
import { buildTestImages } from '../test/fixtures/images.ts';
import { PeerDockerd } from './peer-dockerd.ts';
import { median, pool, waitForStandby, memoryOf, meanMemory, memAvailableMiB } from './measure.ts';
import type { VmMemory } from './measure.ts';

const sections = new Set((process.env.BENCH_SCALE ?? (process.argv[1]?.endsWith('scale.ts') && !process.env.BENCH_FROM_RUN ? 'sustained,ps,idle' : ''))
  .split(',').map((s) => s.trim()).filter(Boolean));
const CORES = cpus().length;
const SUSTAINED_SECONDS = Number(process.env.BENCH_SUSTAINED_SECONDS ?? 300);
const WORKERS = Number(process.env.BENCH_SUSTAINED_WORKERS ?? 2 * CORES);
const PS = Number(process.env.BENCH_PS ?? 500);
const IDLE = Number(process.env.BENCH_IDLE ?? 200);
const STANDBY = Number(process.env.BENCH_STANDBY ?? 2);
const KSM = process.env.BENCH_KSM === '1';
const KSM_SECONDS = Number(process.env.BENCH_KSM_SECONDS ?? 60);
const KSM_PAGES = Number(process.env.BENCH_KSM_PAGES ?? 1000);
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');

function env(host: string): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: host };
}

async function docker(host: string, args: string[], timeoutMs = 600_000) {
  const r = await runCommand(DOCKER, args, { env: env(host), timeoutMs });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} against ${host}: ${r.stderr.trim()}`);
  return r.stdout;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** WORKERS loops of `docker run --rm busybox true` for SUSTAINED_SECONDS: completed runs per minute. */
async function sustained(host: string): Promise<{ perMinute: number; done: number; failed: number; load: string }> {
  const end = performance.now() + SUSTAINED_SECONDS * 1000;
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: WORKERS }, async () => {
    while (performance.now() < end) {
      const r = await runCommand(DOCKER, ['run', '--rm', 'busybox', 'true'], { env: env(host), timeoutMs: 300_000 });
      if (r.code === 0) done++;
      else failed++;
    }
  }));
  // Runs still going at the end finish and count: the rate is over the time actually taken.
  const minutes = (performance.now() - t0) / 60_000;
  return { perMinute: done / minutes, done, failed, load: load() };
}

/** PS created containers on a host; how long that took. */
async function createMany(host: string): Promise<{ ids: string[]; createS: number }> {
  const t0 = performance.now();
  const ids: string[] = [];
  await pool(Array.from({ length: PS }, (_, i) => i), 8, async () => {
    ids.push((await docker(host, ['create', 'busybox', 'true'])).trim());
  });
  return { ids, createS: (performance.now() - t0) / 1000 };
}

/** One `docker ps -a` against a host holding PS containers, timed. */
async function psOnce(host: string): Promise<number> {
  let listed = 0;
  const ms = await timed(async () => { listed = (await docker(host, ['ps', '-a', '-q'])).split('\n').filter(Boolean).length; });
  if (listed < PS) throw new Error(`docker ps -a listed ${listed} of ${PS} containers against ${host}`);
  return ms;
}

/**
 * PS containers created on both hosts, then `docker ps -a` timed on each in turn (median of 9):
 * interleaved, so a change in the host's load weighs on both alike. Then removed.
 */
async function psBoth(ours: string, theirs: string): Promise<{ oursMs: number; theirsMs: number; oursCreateS: number; theirsCreateS: number }> {
  const a = await createMany(ours);
  const b = await createMany(theirs);
  const oursTimes: number[] = [];
  const theirsTimes: number[] = [];
  for (let i = 0; i < 9; i++) {
    oursTimes.push(await psOnce(ours));
    theirsTimes.push(await psOnce(theirs));
  }
  for (const [host, ids] of [[ours, a.ids], [theirs, b.ids]] as const) {
    for (let i = 0; i < ids.length; i += 50) await docker(host, ['rm', ...ids.slice(i, i + 50)]);
  }
  return { oursMs: median(oursTimes), theirsMs: median(theirsTimes), oursCreateS: a.createS, theirsCreateS: b.createS };
}

interface Responsiveness {
  psMs: number;
  runMs: number;
  spawnMs: number;
  /** `docker run`s that failed (their time still counts). */
  runFailures: string[];
}

/** How the host answers now: `docker ps` (5), `docker run --rm busybox true` (3), spawning /bin/true (9); medians. */
async function responsiveness(host: string): Promise<Responsiveness> {
  const ps: number[] = [];
  const run: number[] = [];
  const spawn: number[] = [];
  for (let i = 0; i < 5; i++) ps.push(await timed(() => docker(host, ['ps'])));
  const runFailures: string[] = [];
  for (let i = 0; i < 3; i++) run.push(await timed(() => docker(host, ['run', '--rm', 'busybox', 'true']).catch((err: Error) => runFailures.push(err.message))));
  for (let i = 0; i < 9; i++) spawn.push(await timed(() => runCommand('/bin/true', [])));
  return { psMs: median(ps), runMs: median(run), spawnMs: median(spawn), runFailures };
}

interface IdleResult {
  startS: number;
  running: number;
  memAvailableDeltaMiB: number;
  vm?: VmMemory;
  vmAfterKsm?: VmMemory;
  memAvailableDeltaAfterKsmMiB?: number;
  ksmSharingMiB?: number;
  before: Responsiveness;
  during: Responsiveness;
  load: string;
}

async function idle(host: string, vch?: TestVch): Promise<IdleResult> {
  const before = await responsiveness(host);
  await new Promise((r) => setTimeout(r, 3000));
  const availBefore = memAvailableMiB();
  const t0 = performance.now();
  const failures: string[] = [];
  await pool(Array.from({ length: IDLE }, (_, i) => i), 8, async (i) => {
    const r = await runCommand(DOCKER, ['run', '-d', '--name', `idle${i}`, 'busybox', 'sleep', '36000'], { env: env(host), timeoutMs: 1_800_000 });
    if (r.code !== 0) failures.push(r.stderr.trim().split('\n')[0]);
  });
  const startS = (performance.now() - t0) / 1000;
  if (failures.length) console.log(`  ${failures.length} of ${IDLE} idle starts failed (load ${load()})`);
  for (const why of new Set(failures)) console.log(`  idle start failure (${failures.filter((f) => f === why).length}x): ${why}`);
  await new Promise((r) => setTimeout(r, 10_000)); // settled: the starts' transient memory gone
  const running = (await docker(host, ['ps', '-q'])).split('\n').filter(Boolean).length;
  const memAvailableDeltaMiB = availBefore - memAvailableMiB();
  const vm = vch ? meanMemory(vch.qemuPids().map(memoryOf)) : undefined;
  const during = await responsiveness(host);
  const result: IdleResult = { startS, running, memAvailableDeltaMiB, vm, before, during, load: load() };
  if (vch && KSM) {
    const ksm = (name: string) => `/sys/kernel/mm/ksm/${name}`;
    const previous = readFileSync(ksm('run'), 'utf8').trim();
    const previousPages = readFileSync(ksm('pages_to_scan'), 'utf8').trim();
    try {
      // ksmd's default (100 pages per 20 ms) would take many minutes over this many VMs' RAM.
      writeFileSync(ksm('pages_to_scan'), String(KSM_PAGES));
      writeFileSync(ksm('run'), '1');
      await new Promise((r) => setTimeout(r, KSM_SECONDS * 1000));
      result.vmAfterKsm = meanMemory(vch.qemuPids().map(memoryOf));
      result.memAvailableDeltaAfterKsmMiB = availBefore - memAvailableMiB();
      result.ksmSharingMiB = Number(readFileSync('/sys/kernel/mm/ksm/pages_sharing', 'utf8')) * 4 / 1024;
    } finally {
      // '2' would unmerge everything at once; '0' stops ksmd and leaves merged pages to break on write.
      writeFileSync(ksm('run'), previous === '1' ? '1' : '0');
      writeFileSync(ksm('pages_to_scan'), previousPages);
    }
  }
  const names = Array.from({ length: IDLE }, (_, i) => `idle${i}`);
  for (let i = 0; i < names.length; i += 25) await runCommand(DOCKER, ['rm', '-f', ...names.slice(i, i + 25)], { env: env(host), timeoutMs: 600_000 });
  return result;
}

function respLine(r: Responsiveness): string {
  const failed = r.runFailures.length ? ` (${r.runFailures.length} of 3 failed: ${r.runFailures[0].split('\n')[0]})` : '';
  return `docker ps ${r.psMs.toFixed(0)} ms, docker run --rm ${r.runMs.toFixed(0)} ms${failed}, spawn /bin/true ${r.spawnMs.toFixed(1)} ms`;
}

async function main(): Promise<void> {
  if (sections.size === 0) {
    console.log('scale benchmarks skipped (BENCH_SCALE=sustained,ps,idle picks them)');
    return;
  }
  const images = await buildTestImages();
  const vch = new TestVch('scale', ['--standby-clones', String(STANDBY)]);
  const peer = new PeerDockerd();
  try {
    await vch.start();
    await peer.start();
    await docker(vch.dockerHost, ['load', '-i', images.busybox]);
    await docker(peer.dockerHost, ['load', '-i', images.busybox]);
    const template = await waitForStandby(vch, STANDBY);
    await docker(vch.dockerHost, ['run', '--rm', 'busybox', 'true']);
    await docker(peer.dockerHost, ['run', '--rm', 'busybox', 'true']);
    console.log(`${CORES} cores; instant clone: ${template}; standby clones per shape: ${STANDBY}; load at start ${load()}`);
    console.log('(one machine shared with other work: compare the two sides of a line, measured in the same run)');
    if (sections.has('sustained')) {
      const ours = await sustained(vch.dockerHost);
      const theirs = await sustained(peer.dockerHost);
      const line = (s: typeof ours) => `${s.perMinute.toFixed(1)}/min (${(s.perMinute / CORES).toFixed(1)}/min per core; ${s.done} done, ${s.failed} failed, load after ${s.load})`;
      console.log(`sustained docker run --rm busybox true, ${WORKERS} workers, ${SUSTAINED_SECONDS} s each  bonneville ${line(ours)} | dockerd ${line(theirs)} | ratio dockerd/bonneville ${(theirs.perMinute / ours.perMinute).toFixed(2)}x`);
    }
    if (sections.has('ps')) {
      const ps = await psBoth(vch.dockerHost, peer.dockerHost);
      console.log(`docker ps -a with ${PS} containers (interleaved)  bonneville median ${ps.oursMs.toFixed(0)} ms | dockerd median ${ps.theirsMs.toFixed(0)} ms | ratio ${(ps.oursMs / ps.theirsMs).toFixed(2)}x (creating them: ${ps.oursCreateS.toFixed(1)} s | ${ps.theirsCreateS.toFixed(1)} s; load ${load()})`);
    }
    if (sections.has('idle')) {
      const ours = await idle(vch.dockerHost, vch);
      console.log(`${IDLE} idle busybox sleep containers, bonneville: ${ours.running} running after ${ours.startS.toFixed(0)} s; host MemAvailable down ${ours.memAvailableDeltaMiB.toFixed(0)} MiB (${(ours.memAvailableDeltaMiB / IDLE).toFixed(1)} MiB each); per VM PSS ${ours.vm?.pssMiB.toFixed(1)} MiB (RSS ${ours.vm?.rssMiB.toFixed(0)}, private ${ours.vm?.privateMiB.toFixed(1)}); load ${ours.load}`);
      if (ours.vmAfterKsm) {
        console.log(`  with host KSM on for ${KSM_SECONDS} s: per VM PSS ${ours.vmAfterKsm.pssMiB.toFixed(1)} MiB (private ${ours.vmAfterKsm.privateMiB.toFixed(1)}); MemAvailable down ${ours.memAvailableDeltaAfterKsmMiB!.toFixed(0)} MiB; KSM pages_sharing ${ours.ksmSharingMiB!.toFixed(0)} MiB`);
      }
      console.log(`  bonneville with none: ${respLine(ours.before)}`);
      console.log(`  bonneville with ${ours.running}: ${respLine(ours.during)}`);
      const theirs = await idle(peer.dockerHost);
      console.log(`${IDLE} idle busybox sleep containers, dockerd: ${theirs.running} running after ${theirs.startS.toFixed(0)} s; host MemAvailable down ${theirs.memAvailableDeltaMiB.toFixed(0)} MiB (${(theirs.memAvailableDeltaMiB / IDLE).toFixed(1)} MiB each); load ${theirs.load}`);
      console.log(`  dockerd with none: ${respLine(theirs.before)}`);
      console.log(`  dockerd with ${theirs.running}: ${respLine(theirs.during)}`);
    }
  } finally {
    await vch.destroy();
    await peer.stop();
  }
}

await main();
