// `docker stats` on the vSphere backend: vSphere shows no host process to read, so the guest reports
// its own CPU times and memory over the tether (USAGE, docs/tether-protocol.md). Against vcsim with
// the test host agent running the container VMs in QEMU (test/helpers/vsphere-guests.ts), driven by
// the real docker CLI: one-shot and streaming, a busy container against an idle one, a stopped one.
// Values are compared with each other, never with the clock; polls are bounded by attempts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { VcsimWithGuests } from '../../helpers/vsphere-guests.ts';
import { DOCKER, TestVch } from '../../helpers/vch.ts';
import { resolveTarget } from '../../../src/backends/vsphere/target.ts';
import { destroyVch, ensureVch, type VchPlacement } from '../../../src/backends/vsphere/vch-pool.ts';

const VCH = 'vch-stats';
let host: VcsimWithGuests;
let placement: VchPlacement;
let vch: TestVch;

/** One row of `docker stats --format '{{json .}}'`. */
interface StatsRow {
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

/** "12.5MiB" → bytes (the CLI's binary units). */
function bytes(text: string): number {
  const m = /^([\d.]+)\s*(B|KiB|MiB|GiB)$/.exec(text.trim());
  assert.ok(m, `not a size: ${text}`);
  return Number(m[1]) * UNITS[m[2]];
}

function cpuPercent(row: StatsRow): number {
  const m = /^([\d.]+)%$/.exec(row.CPUPerc);
  assert.ok(m, `CPU % is not a number: ${row.CPUPerc}`);
  return Number(m[1]);
}

function memory(row: StatsRow): { used: number; limit: number } {
  const [used, limit] = row.MemUsage.split(' / ');
  return { used: bytes(used), limit: bytes(limit) };
}

function context(): string {
  return `${host.context()}\nengine: ${vch.engineLog.slice(-3000)}`;
}

/** `docker stats --no-stream` of these containers, by name. */
async function statsNow(...names: string[]): Promise<Map<string, StatsRow>> {
  const r = await vch.docker(['stats', '--no-stream', '--format', '{{json .}}', ...names], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `docker stats exited ${r.code}: ${r.stderr}\n${context()}`);
  const rows = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as StatsRow);
  return new Map(rows.map((row) => [row.Name, row]));
}

/** The first `count` rows the streaming `docker stats` prints for a container (the CLI redraws with escape codes between them). */
function streamedRows(name: string, count: number): Promise<StatsRow[]> {
  return new Promise((resolve, reject) => {
    const cli = spawn(DOCKER, ['stats', '--format', '{{json .}}', name], { env: { ...process.env, DOCKER_HOST: vch.dockerHost }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const rows = () => [...out.matchAll(/\{[^{}]*\}/g)].map((m) => JSON.parse(m[0]) as StatsRow);
    cli.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (rows().length >= count) cli.kill();
    });
    cli.stderr.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    cli.on('error', reject);
    cli.on('exit', () => {
      const got = rows();
      if (got.length >= count) resolve(got.slice(0, count));
      else reject(new Error(`docker stats streamed ${got.length} rows before it ended: ${err}\n${context()}`));
    });
  });
}

before(async () => {
  host = await VcsimWithGuests.start();
  const target = await resolveTarget(host.client, { datacenter: 'DC0', computeResource: 'DC0_C0', datastore: 'LocalDS_0', dvs: 'DVS0' });
  placement = await ensureVch(host.client, target, VCH, {});
  vch = new TestVch(VCH, host.engineArgs());
  await vch.startWithBusybox();
});

after(async () => {
  await vch?.destroy();
  if (placement) await destroyVch(host.client, placement).catch(() => {});
  await host?.stop();
});

test('docker stats reads the guest: memory in use against its MemTotal, a busy loop clearly above an idle container, streamed with precpu, zeros once stopped', { timeout: 1_800_000 }, async () => {
  for (const args of [['--name', 'idle', 'busybox', 'sleep', '600'], ['--name', 'burner', '-m', '192m', 'busybox', 'sh', '-c', 'while :; do :; done']]) {
    const run = await vch.docker(['run', '-d', ...args], { timeoutMs: 900_000 });
    assert.equal(run.code, 0, `docker run ${args.join(' ')}: ${run.stderr}\n${context()}`);
  }

  // One shot: both sampled twice a second apart by the engine, CPU from the difference.
  let rows = await statsNow('idle', 'burner');
  for (const name of ['idle', 'burner']) {
    const row = rows.get(name);
    assert.ok(row, `a row for ${name}: ${JSON.stringify([...rows.values()])}`);
    const cpu = cpuPercent(row);
    assert.ok(cpu >= 0 && cpu <= 100, `${name}: one vCPU's share is within 0-100 %: ${row.CPUPerc}`);
    const { used, limit } = memory(row);
    assert.ok(used > 0, `${name}: the guest uses memory: ${row.MemUsage}`);
    assert.ok(used < limit, `${name}: in use is a share of the limit: ${row.MemUsage}`);
  }
  // The limit is the guest's MemTotal: below the VM's 192 MiB (the kernel keeps its own), not the VM size.
  const burnerLimit = memory(rows.get('burner')!).limit;
  assert.ok(burnerLimit < 192 * 1024 ** 2 && burnerLimit > 96 * 1024 ** 2, `the burner's limit is its guest's MemTotal: ${rows.get('burner')!.MemUsage}`);

  // The busy loop keeps its vCPU busy; the sleeper's is idle. A few samples at most, should the loop not have started yet.
  let compared = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    if (attempt > 0) rows = await statsNow('idle', 'burner');
    const burner = cpuPercent(rows.get('burner')!);
    const idle = cpuPercent(rows.get('idle')!);
    compared += ` burner ${burner}% idle ${idle}%;`;
    if (burner > 50 && burner > idle + 30) break;
    assert.ok(attempt < 4, `the busy container does not show clearly more CPU than the idle one:${compared}\n${context()}`);
  }

  // Streaming: one row per engine sample; after the first, each row's CPU is the difference from the
  // previous sample (precpu), so the busy loop reads as busy in every one of them.
  const streamed = await streamedRows('burner', 4);
  for (const row of streamed.slice(1)) {
    const cpu = cpuPercent(row);
    assert.ok(cpu > 50 && cpu <= 100, `streamed burner CPU ${row.CPUPerc} (all: ${streamed.map((r) => r.CPUPerc).join(', ')})`);
    assert.ok(memory(row).used > 0, row.MemUsage);
  }

  // A stopped container: zeros and no error, as dockerd answers.
  const stop = await vch.docker(['stop', '-t', '1', 'idle'], { timeoutMs: 300_000 });
  assert.equal(stop.code, 0, `${stop.stderr}\n${context()}`);
  const stopped = (await statsNow('idle')).get('idle')!;
  assert.equal(cpuPercent(stopped), 0);
  assert.equal(stopped.MemUsage, '0B / 0B');

  await vch.ok(['rm', '-f', 'idle', 'burner']);
});
