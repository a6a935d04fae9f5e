// `node bench/compare-trees.ts OTHER_TREE`: a change's effect on a start, measured in one run. Runs
// `docker run --rm busybox true` through Debian's dockerd, a VCH of OTHER_TREE (another checkout with
// its own build/guest, e.g. the commit before) and a VCH of this tree, interleaved run by run so that
// a machine busy with other work slows all three alike; both VCHs keep BENCH_STANDBY (default 2)
// standby clones. Each round also sends `docker run --rm`'s requests as the CLI does (bench/measure.ts
// runRmRequests) to each. Prints medians, ratios to dockerd, each VCH's start phases, the end of a
// `run --rm` (attach end, wait answered; each VCH's exit phases) and, at the end, the PSS of 3 idle
// `sleep` containers per VCH. (Not part of `npm run bench`.)
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { TestVch, runCommand, DOCKER } from '../test/helpers/vch.ts';
import { buildTestImages } from '../test/fixtures/images.ts';
import { PeerDockerd } from './peer-dockerd.ts';
import { parsePhases } from '../src/backends/qemu/phase-timer.ts';
import { median, waitForStandby, memoryOf, meanMemory, runRmRequests, exitPhases, printExit } from './measure.ts';

const other = process.argv[2];
if (!other) throw new Error('usage: node bench/compare-trees.ts OTHER_TREE');
const ROUNDS = Number(process.env.BENCH_RUNS ?? 9);
const STANDBY = Number(process.env.BENCH_STANDBY ?? 2);
const { TestVch: OtherVch } = await import(join(resolve(other), 'test/helpers/vch.ts')) as { TestVch: typeof TestVch };
const images = await buildTestImages();
const vchs: Record<string, TestVch> = { before: new OtherVch('cmp-before', ['--standby-clones', String(STANDBY)]), after: new TestVch('cmp-after', ['--standby-clones', String(STANDBY)]) };
const peer = new PeerDockerd();
try {
  for (const vch of Object.values(vchs)) await vch.startWithBusybox();
  await peer.start();
  await runCommand(DOCKER, ['load', '-i', images.busybox], { env: { ...process.env, DOCKER_HOST: peer.dockerHost } });
  for (const vch of Object.values(vchs)) await waitForStandby(vch, STANDBY);
  const hosts: Record<string, string> = { dockerd: peer.dockerHost, before: vchs.before.dockerHost, after: vchs.after.dockerHost };
  const times: Record<string, number[]> = { dockerd: [], before: [], after: [] };
  const sockets: Record<string, string> = { dockerd: peer.socket, before: vchs.before.socket, after: vchs.after.socket };
  const rmRequests: Record<string, Map<string, number[]>> = {};
  const rmRun = async (name: string) => {
    for (const [phase, ms] of await runRmRequests(sockets[name], 1)) {
      rmRequests[name] ??= new Map();
      rmRequests[name].set(phase, [...(rmRequests[name].get(phase) ?? []), ...ms]);
    }
  };
  const run = async (name: string) => {
    const t0 = performance.now();
    const r = await runCommand(DOCKER, ['run', '--rm', 'busybox', 'true'], { env: { ...process.env, DOCKER_HOST: hosts[name] } });
    if (r.code) throw new Error(`${name}: ${r.stderr}`);
    return performance.now() - t0;
  };
  for (const name of Object.keys(hosts)) await run(name); // first use of each
  for (let i = 0; i < ROUNDS; i++) {
    // Each round in another order, so that none always runs right after another's VM work.
    const order = i % 2 ? ['after', 'before', 'dockerd'] : ['dockerd', 'before', 'after'];
    for (const name of order) times[name].push(await run(name));
    for (const vch of Object.values(vchs)) await waitForStandby(vch, STANDBY);
    for (const name of order) await rmRun(name);
    for (const vch of Object.values(vchs)) await waitForStandby(vch, STANDBY);
  }
  const d = median(times.dockerd);
  for (const [name, t] of Object.entries(times)) console.log(`${name.padEnd(8)} median ${median(t).toFixed(0)} ms  ratio to dockerd ${(median(t) / d).toFixed(2)}x  [${t.map(Math.round).join(' ')}]`);
  for (const [name, vch] of Object.entries(vchs)) {
    const all = new Map<string, number[]>();
    for (const line of vch.engineLog.split('\n')) if (/started on a standby clone/.test(line)) for (const [k, ms] of parsePhases(line) ?? []) all.set(k, [...(all.get(k) ?? []), ms]);
    console.log(`${name} standby start phases: ${[...all].map(([k, ms]) => `${k} ${median(ms).toFixed(0)}`).join(', ')}`);
  }
  for (const [name, vch] of Object.entries(vchs)) {
    console.log(`${name}:`);
    printExit(rmRequests[name], rmRequests.dockerd, exitPhases(vch.engineLog, true, parsePhases));
  }
  for (const [name, vch] of Object.entries(vchs)) {
    for (let i = 0; i < 3; i++) await vch.ok(['run', '-d', '--name', `mem${i}`, 'busybox', 'sleep', '3600']);
    await new Promise((r) => setTimeout(r, 3000));
    const m = meanMemory(vch.qemuPids().map(memoryOf));
    console.log(`${name} idle VM: PSS ${m.pssMiB.toFixed(1)} MiB, RSS ${m.rssMiB.toFixed(0)}, private ${m.privateMiB.toFixed(1)}`);
    for (let i = 0; i < 3; i++) await vch.docker(['rm', '-f', `mem${i}`]);
  }
  console.log(`load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  for (const vch of Object.values(vchs)) await vch.destroy();
  await peer.stop();
}
