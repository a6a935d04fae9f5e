// `npm run bench`: Bonneville next to Debian's dockerd, both started here in the same run.
//  - median wall time of `docker run --rm busybox true` through each, and the ratio;
//  - Bonneville's boot time from `start` to a running process, restored from a template (instant
//    clone, the default) next to a cold boot (a second VCH with --no-instant-clone);
//  - a burst: wall time until 50 concurrent `docker run -d busybox sleep 300` all returned, and how
//    many of them ended running, through each;
//  - memory per running container VM (QEMU's RSS and proportional share: clones share the
//    template's RAM pages, which PSS splits between them);
//  - where a start spends its time: each API request of a run (create, start, until the exit is
//    seen, remove) through both, and the backend's own phases (its "phases:" log lines: host steps,
//    then guest-* steps inside the tether's part);
//  - where the end of a `docker run --rm` spends its time: its requests as the CLI sends them (the
//    start's answer until the attach stream ends and until wait?condition=removed answers) through
//    both, and the engine's own exit phases (its "exit phases:" log lines);
//  - `docker ps -a` with BENCH_PS created containers through each.
import Docker from 'dockerode';
import { TestVch, runCommand, DOCKER } from '../test/helpers/vch.ts';
import { buildTestImages } from '../test/fixtures/images.ts';
import { PeerDockerd } from './peer-dockerd.ts';
import { parsePhases } from '../src/backends/qemu/phase-timer.ts';
import { median, waitForStandby, memoryOf, meanMemory, runRmRequests, exitPhases, printExit } from './measure.ts';
import type { VmMemory } from './measure.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MEMORY_VMS = 3;
const BURST = Number(process.env.BENCH_BURST ?? 50);
const PS_CONTAINERS = Number(process.env.BENCH_PS ?? 100);
/** Standby clones the measured VCH keeps per shape (its --standby-clones). */
const STANDBY = Number(process.env.BENCH_STANDBY ?? 2);

async function timeRuns(dockerHost: string): Promise<number[]> {
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const result = await runCommand(DOCKER, ['run', '--rm', 'busybox', 'true'], { env });
    const elapsed = performance.now() - t0;
    if (result.code !== 0) throw new Error(`docker run failed against ${dockerHost}: ${result.stderr}`);
    times.push(elapsed);
  }
  return times;
}

/** The API requests of a `docker run` one by one (dockerode): milliseconds each, per run. */
async function requestPhases(socket: string): Promise<Map<string, number[]>> {
  const docker = new Docker({ socketPath: socket });
  const phases = new Map<string, number[]>([['create', []], ['start', []], ['exit seen', []], ['remove', []]]);
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const container = await docker.createContainer({ Image: 'busybox', Cmd: ['true'] });
    const t1 = performance.now();
    const exited = container.wait({ condition: 'next-exit' });
    await container.start();
    const t2 = performance.now();
    await exited;
    const t3 = performance.now();
    await container.remove();
    const t4 = performance.now();
    for (const [name, ms] of [['create', t1 - t0], ['start', t2 - t1], ['exit seen', t3 - t2], ['remove', t4 - t3]] as const) phases.get(name)!.push(ms);
  }
  return phases;
}

/**
 * Median of each phase the backend logged since `from` (an offset in the log) for starts of one kind:
 * 'clone' (restored for the start) or 'standby' (a standby clone handed over).
 */
function backendPhases(vch: TestVch, from: number, kind: 'clone' | 'standby'): Map<string, number> {
  const all = new Map<string, number[]>();
  for (const line of vch.engineLog.slice(from).split('\n')) {
    if (!(kind === 'clone' ? /started as a clone/ : /started on a standby clone/).test(line)) continue;
    for (const [name, ms] of parsePhases(line) ?? []) all.set(name, [...(all.get(name) ?? []), ms]);
  }
  return new Map([...all].map(([name, values]) => [name, median(values)]));
}

/** Creates PS_CONTAINERS containers (never started), times `docker ps -a` (median of 3), removes them. */
async function listTime(dockerHost: string): Promise<number> {
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  const ids: string[] = [];
  for (let i = 0; i < PS_CONTAINERS; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, PS_CONTAINERS - i) }, () => runCommand(DOCKER, ['create', 'busybox', 'true'], { env })));
    for (const r of batch) {
      if (r.code !== 0) throw new Error(`docker create failed against ${dockerHost}: ${r.stderr}`);
      ids.push(r.stdout.trim());
    }
  }
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const ps = await runCommand(DOCKER, ['ps', '-a', '-q'], { env });
    times.push(performance.now() - t0);
    if (ps.stdout.split('\n').filter(Boolean).length < PS_CONTAINERS) throw new Error(`docker ps -a listed too few containers against ${dockerHost}`);
  }
  for (let i = 0; i < ids.length; i += 50) await runCommand(DOCKER, ['rm', ...ids.slice(i, i + 50)], { env, timeoutMs: 600_000 });
  return median(times);
}

async function load(dockerHost: string, tarball: string): Promise<void> {
  const result = await runCommand(DOCKER, ['load', '-i', tarball], { env: { ...process.env, DOCKER_HOST: dockerHost } });
  if (result.code !== 0) throw new Error(`docker load failed against ${dockerHost}: ${result.stderr}`);
}

async function bootTimes(socket: string): Promise<number[]> {
  const docker = new Docker({ socketPath: socket });
  const times: number[] = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    const container = await docker.createContainer({ Image: 'busybox', Cmd: ['true'] });
    const t0 = performance.now();
    await container.start();
    times.push(performance.now() - t0);
    await container.wait();
    await container.remove();
  }
  return times;
}

/**
 * Starts BURST detached sleepers at once; the wall time until every `docker run -d` returned and how
 * many containers run then. They are removed afterwards.
 */
async function burst(dockerHost: string): Promise<{ seconds: number; running: number; failed: string[] }> {
  const env = { ...process.env, DOCKER_HOST: dockerHost };
  const names = Array.from({ length: BURST }, (_, i) => `burst${i}`);
  const t0 = performance.now();
  const runs = await Promise.all(names.map((name) => runCommand(DOCKER, ['run', '-d', '--name', name, 'busybox', 'sleep', '300'], { env, timeoutMs: 1_800_000 })));
  const seconds = (performance.now() - t0) / 1000;
  const ps = await runCommand(DOCKER, ['ps', '-q', '--filter', 'status=running', '--filter', 'name=burst'], { env });
  await runCommand(DOCKER, ['rm', '-f', ...names], { env, timeoutMs: 600_000 });
  const failed = runs.filter((r) => r.code !== 0).map((r) => r.stderr.trim().split('\n')[0]);
  return { seconds, running: ps.stdout.split('\n').filter(Boolean).length, failed };
}

async function memoryPerVm(vch: TestVch): Promise<VmMemory> {
  for (let i = 0; i < MEMORY_VMS; i++) {
    const run = await vch.docker(['run', '-d', '--name', `mem${i}`, 'busybox', 'sleep', '3600']);
    if (run.code !== 0) throw new Error(run.stderr);
  }
  await new Promise((r) => setTimeout(r, 2000));
  const samples = vch.qemuPids().map(memoryOf);
  for (let i = 0; i < MEMORY_VMS; i++) await vch.docker(['rm', '-f', `mem${i}`]);
  return meanMemory(samples);
}

async function main(): Promise<void> {
  const images = await buildTestImages();
  const vch = new TestVch('bench', ['--standby-clones', String(STANDBY)]);
  const cold = new TestVch('bench-cold', ['--no-instant-clone']);
  const peer = new PeerDockerd();
  // TestVch.destroy() must run once per VCH: a second killEngine() would wait for an exit that happened.
  let destroyed = false;
  try {
    await vch.start();
    await peer.start();
    await load(vch.dockerHost, images.busybox);
    await load(peer.dockerHost, images.busybox);
    const instantClone = await waitForStandby(vch, STANDBY);
    // One warm-up each, so that neither side pays for first-use caches in the figures.
    await timeRuns(vch.dockerHost).then(() => undefined, () => undefined);
    const ours = await timeRuns(vch.dockerHost);
    const theirs = await timeRuns(peer.dockerHost);
    const logFrom = vch.engineLog.length;
    const ourRequests = await requestPhases(vch.socket);
    const ourPhases = backendPhases(vch, logFrom, 'clone');
    const standbyPhases = backendPhases(vch, logFrom, 'standby');
    const theirRequests = await requestPhases(peer.socket);
    const rmFrom = vch.engineLog.length;
    const ourRm = await runRmRequests(vch.socket, RUNS);
    const ourExit = exitPhases(vch.engineLog.slice(rmFrom), true, parsePhases);
    const theirRm = await runRmRequests(peer.socket, RUNS);
    const ourPs = await listTime(vch.dockerHost);
    const theirPs = await listTime(peer.dockerHost);
    const boot = await bootTimes(vch.socket);
    const memory = await memoryPerVm(vch);
    const ourBurst = await burst(vch.dockerHost);
    const theirBurst = await burst(peer.dockerHost);
    const accel = JSON.parse((await vch.docker(['info', '--format', '{{json .DriverStatus}}'])).stdout) as string[][];
    await vch.destroy(); // one VCH at a time on the cores
    destroyed = true;
    await cold.start();
    await load(cold.dockerHost, images.busybox);
    const coldBoot = await bootTimes(cold.socket);
    const oursMs = median(ours);
    const theirsMs = median(theirs);
    console.log(`accelerator: ${Object.fromEntries(accel).Accelerator}; instant clone: ${instantClone}; standby clones per shape: ${STANDBY}; runs per side: ${RUNS}`);
    console.log('(one machine shared with other work: compare the two sides of a line, measured in the same run)');
    console.log(`docker run --rm busybox true  bonneville median ${oursMs.toFixed(0)} ms | dockerd (vfs+runc) median ${theirsMs.toFixed(0)} ms | ratio bonneville/dockerd ${(oursMs / theirsMs).toFixed(2)}x`);
    console.log(`boot to process start (POST start)  median ${median(boot).toFixed(0)} ms`);
    console.log(`process start, clone vs cold boot  clone median ${median(boot).toFixed(0)} ms | cold boot median ${median(coldBoot).toFixed(0)} ms | ${(median(coldBoot) / median(boot)).toFixed(1)}x faster`);
    const burstLine = (b: { seconds: number; running: number }) => `${b.seconds.toFixed(1)} s, ${b.running}/${BURST} running`;
    console.log(`${BURST} concurrent docker run -d busybox sleep 300  bonneville ${burstLine(ourBurst)} | dockerd (vfs+runc) ${burstLine(theirBurst)}`);
    for (const why of new Set(ourBurst.failed)) console.log(`  bonneville start failure: ${why}`);
    console.log(`memory per running container VM  RSS ${memory.rssMiB.toFixed(0)} MiB | PSS ${memory.pssMiB.toFixed(0)} MiB | private ${memory.privateMiB.toFixed(0)} MiB (busybox sleep, default VM size, ${MEMORY_VMS} VMs idle 2 s)`);
    console.log('per request of a run (dockerode create/start/wait/remove, busybox true), medians:');
    for (const [name, values] of ourRequests) {
      console.log(`  ${name.padEnd(10)} bonneville ${median(values).toFixed(0).padStart(5)} ms | dockerd ${median(theirRequests.get(name)!).toFixed(0).padStart(5)} ms`);
    }
    console.log('bonneville start phases of the runs above, medians (ms); guest-* are the tether\'s steps inside "process":');
    for (const [kind, phases] of [['restored clone', ourPhases], ['standby clone', standbyPhases]] as const) {
      if (phases.size === 0) continue;
      const total = [...phases].filter(([name]) => !name.startsWith('guest-')).reduce((sum, [, ms]) => sum + ms, 0);
      console.log(`  ${kind} (backend total ${total.toFixed(0)}): ${[...phases].map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ')}`);
    }
    console.log(`  start request median ${median(ourRequests.get('start')!).toFixed(0)} ms (beyond the backend's total: engine and port layer around the boot)`);
    printExit(ourRm, theirRm, ourExit);
    console.log(`docker ps -a with ${PS_CONTAINERS} containers  bonneville median ${ourPs.toFixed(0)} ms | dockerd median ${theirPs.toFixed(0)} ms | ratio ${(ourPs / theirPs).toFixed(2)}x`);
  } finally {
    if (!destroyed) await vch.destroy();
    await cold.destroy();
    await peer.stop();
  }
}

await main();
