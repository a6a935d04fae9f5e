// `docker stats` on the vSphere backend: vSphere shows no host process to read, so the guest reports
// its own CPU times and memory over the tether (USAGE, docs/tether-protocol.md). Against vcsim with
// the test host agent running the container VMs in QEMU (test/helpers/vsphere-guests.ts), driven by
// the real docker CLI (one-shot and streaming) and the stats stream itself: a busy container against an
// idle one, precpu carried from sample to sample, a stopped one.
// Values are compared with each other, never with the clock; polls are bounded by attempts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { VcsimWithGuests } from '../../helpers/vsphere-guests.ts';
import { DOCKER, TestVch } from '../../helpers/vch.ts';
import type { VchPlacement } from '../../../src/backends/vsphere/vch-pool.ts';

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

/** Docker's stats JSON as the engine streams it (the figures the CLI computes from). */
interface ApiStats {
  read: string;
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
  memory_stats: { usage?: number; limit?: number };
}

/** The first `count` objects of GET /containers/{name}/stats (streaming), then the connection is closed. */
function streamedApi(name: string, count: number): Promise<ApiStats[]> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: vch.socket, path: `/containers/${name}/stats?stream=true` }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stats answered ${res.statusCode}`));
      let text = '';
      const got: ApiStats[] = [];
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        let nl: number;
        while ((nl = text.indexOf('\n')) >= 0 && got.length < count) {
          got.push(JSON.parse(text.slice(0, nl)) as ApiStats);
          text = text.slice(nl + 1);
        }
        if (got.length >= count) {
          req.destroy();
          resolve(got);
        }
      });
      res.on('end', () => reject(new Error(`the stats stream ended after ${got.length} objects`)));
    });
    req.on('error', (err) => reject(err));
    req.end();
  });
}

before(async () => {
  host = await VcsimWithGuests.start();
  ({ vch, placement } = await host.startVch(VCH));
});

after(async () => {
  await host?.stopVch(vch, placement);
  await host?.stop();
});

test('docker stats reads the guest: memory in use against its MemTotal, a busy loop clearly above an idle container, streamed with precpu, zeros once stopped', { timeout: 1_800_000 }, async (t) => {
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

  t.diagnostic(`one-shot samples:${compared} memory: ${[...rows.values()].map((r) => `${r.Name} ${r.MemUsage}`).join(', ')}`);

  // Streaming: one object a second, each carrying the previous sample as precpu, so that every CPU
  // figure after the first is the difference over the last interval: the busy loop reads as busy in each.
  const api = await streamedApi('burner', 3);
  for (let i = 1; i < api.length; i++) {
    const [now, previous] = [api[i], api[i - 1]];
    assert.deepEqual(now.precpu_stats, previous.cpu_stats, 'precpu is the previous sample');
    assert.ok(now.read > previous.read, 'samples follow each other');
    const busy = now.cpu_stats.cpu_usage.total_usage - now.precpu_stats.cpu_usage.total_usage;
    const total = now.cpu_stats.system_cpu_usage - now.precpu_stats.system_cpu_usage;
    assert.ok(total > 0 && busy > total / 2 && busy <= total, `burner busy ${busy} ns of ${total} ns`);
    assert.ok((now.memory_stats.usage ?? 0) > 0 && (now.memory_stats.usage ?? 0) < (now.memory_stats.limit ?? 0));
  }
  // The CLI's streaming form redraws its latest figures (twice a second): each row is sane.
  const streamed = await streamedRows('burner', 6);
  t.diagnostic(`streamed burner (CLI): ${streamed.map((r) => `${r.CPUPerc} ${r.MemUsage}`).join(', ')}`);
  for (const row of streamed) {
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
