// The VCH lifecycle end to end: two VCHs made by `bonneville create` side by side (different limits and
// bridge ranges) under one supervisor in a temporary BONNEVILLE_HOME, real engines and QEMU VMs driven
// by the docker CLI over each VCH's TLS endpoint; then refusals, admission, cgroup CPU limits, live
// reconfiguration, engine crash, upgrade/rollback, debug bundle, a simulated host reboot and delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, existsSync, readdirSync, rmSync, writeFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { list } from 'tar';
import { DOCKER, runCommand } from '../helpers/vch.ts';
import { LifecycleCli, NODE, CLI } from './cli.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { poolStats, removeResourcePool } from '../../src/lifecycle/resource-pool.ts';
import type { VchSettings } from '../../src/lifecycle/settings.ts';
import { containerVmPids } from '../../src/lifecycle/delete.ts';
import { removeVchNetworking } from '../../src/backends/qemu/network/teardown.ts';
import { vchPrefix } from '../../src/backends/qemu/network/names.ts';

const suffix = Math.random().toString(36).slice(2, 7);
const A = `lca-${suffix}`;
const B = `lcb-${suffix}`;
let home = '';
let storeDir = '';
let versionFile = '';
let busybox = '';

let cli: LifecycleCli;
const env = () => cli.env();
const bonneville = (args: string[]) => cli.bonneville(args);
const ok = (args: string[]) => cli.ok(args);
const settingsOf = (name: string) => cli.settingsOf(name);
const docker = (name: string, args: string[]) => cli.docker(name, args);
const dockerOk = (name: string, args: string[]) => cli.dockerOk(name, args);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function cgroupOf(pid: number, controller: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller));
  return line?.split(':')[2] ?? '';
}

function enginePid(name: string): number {
  return Number(readFileSync(join(home, 'vchs', name, 'engine.pid'), 'utf8'));
}

function supervisorPid(): number {
  return Number(readFileSync(join(home, 'supervisor', 'supervisor.pid'), 'utf8'));
}

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The QEMU process of a container, by its id in the command line. */
function qemuOf(name: string, id: string): number | undefined {
  return containerVmPids(settingsOf(name).datastore).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(id));
}

/** POST on the engine's unix socket: the status code and body (to see the HTTP status the CLI hides). */
function post(socket: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path, method: 'POST' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), 'bonneville-home-'));
  storeDir = join(home, 'fast-store');
  mkdirSync(storeDir);
  versionFile = join(home, 'installed-version');
  cli = new LifecycleCli(home, { BONNEVILLE_TEST_VERSION_FILE: versionFile });
  busybox = (await buildTestImages()).busybox;
});

after(async () => {
  // Whatever a failed test left: the supervisor first (or it restarts engines), then each VCH.
  try { process.kill(supervisorPid(), 'SIGKILL'); } catch { /* not running */ }
  for (const name of existsSync(join(home, 'vchs')) ? readdirSync(join(home, 'vchs')) : []) {
    let s: VchSettings;
    try { s = settingsOf(name); } catch { continue; }
    try { process.kill(enginePid(name), 'SIGKILL'); } catch { /* gone */ }
    for (const pid of containerVmPids(s.datastore)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await until('VMs gone', () => containerVmPids(s.datastore).length === 0, 30_000).catch(() => undefined);
    try {
      const id = (JSON.parse(readFileSync(join(s.datastore, 'vch.json'), 'utf8')) as { id: string }).id;
      await removeVchNetworking(id);
    } catch { /* never started */ }
    try { removeResourcePool(s.resourcePool); } catch { /* still busy: reported by the tests */ }
  }
  rmSync(home, { recursive: true, force: true });
});

test('two VCHs side by side: own limits, bridge ranges, cgroups and TLS endpoints', async () => {
  const outA = await ok(['create', '--name', A, '--memory-limit', '512', '--cpu-limit', '0.5', '--container-memory', '128',
    '--bridge-network-range', '10.201.0.0/16', '--volume-store', `fast:${storeDir}`, '--no-instant-clone']);
  assert.match(outA, /DOCKER_HOST=tcp:\/\/127\.0\.0\.1:\d+\nDOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH=/);
  await ok(['create', '--name', B, '--memory-limit', '1024', '--cpu-shares', '512', '--container-memory', '128',
    '--bridge-network-range', '10.202.0.0/16', '--no-instant-clone']);
  assert.notEqual(settingsOf(A).endpoint.port, settingsOf(B).endpoint.port);
  for (const name of [A, B]) {
    await dockerOk(name, ['load', '-i', busybox]);
    await dockerOk(name, ['run', '-d', '--name', 'c1', '--restart', name === B ? 'always' : 'no', 'busybox', 'sleep', '100000']);
  }
  const ipA = await dockerOk(A, ['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'c1']);
  const ipB = await dockerOk(B, ['inspect', '-f', '{{.NetworkSettings.Networks.bridge.IPAddress}}', 'c1']);
  assert.match(ipA, /^10\.201\./);
  assert.match(ipB, /^10\.202\./);
  const info = await dockerOk(A, ['info']);
  assert.match(info, /VCH memory limit: 512 MiB/);
  assert.match(info, /VCH CPU limit: 0\.5 CPUs/);
  assert.match(info, /VolumeStores: default fast/);
  // The engine and its QEMU children are in the VCH's cgroup, in every controller.
  const idA = await dockerOk(A, ['inspect', '-f', '{{.Id}}', 'c1']);
  const qemu = qemuOf(A, idA)!;
  assert.ok(qemu, 'the container VM runs');
  for (const pid of [enginePid(A), qemu]) {
    assert.match(cgroupOf(pid, 'cpu'), new RegExp(`/bonneville/${A}$`));
    assert.match(cgroupOf(pid, 'memory'), new RegExp(`/bonneville/${A}$`));
  }
  // A volume in the named store lands in its directory.
  await dockerOk(A, ['volume', 'create', '--opt', 'VolumeStore=fast', 'fastvol']);
  assert.ok(existsSync(join(storeDir, 'volumes', 'fastvol', 'disk.ext4')));
  const bad = await docker(A, ['volume', 'create', '--opt', 'VolumeStore=nope', 'v2']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /no volume store named nope/);
  const listing = await ok(['ls']);
  assert.match(listing, new RegExp(`${A}\\s+running\\s+tcp://127\\.0\\.0\\.1:\\d+\\s+0\\.1\\.0\\s+1/1 running\\s+mem 512MiB,cpu 0\\.5`));
  assert.match(listing, new RegExp(`${B}\\s+running`));
});

test('refused creates leave nothing behind', async () => {
  const before = readdirSync(join(home, 'vchs')).sort();
  const cases: Array<[string[], RegExp]> = [
    [['create', '--name', A], /exists already/],
    [['create', '--name', `lcc-${suffix}`, '--bridge-network-range', '10.201.128.0/17'], /overlaps VCH/],
    [['create', '--name', `lcc-${suffix}`, '--image-store', join(home, 'missing')], /not an existing directory/],
    [['create', '--name', `lcc-${suffix}`, '--volume-store', `x:${join(home, 'missing')}`], /not an existing directory/],
    [['create', '--name', `lcc-${suffix}`, '--memory-limit', 'lots'], /positive integer/],
    [['create', '--name', 'Bad_Name'], /invalid VCH name/],
    [['create', '--name', `lcc-${suffix}`, '--standby-clones', '17'], /--standby-clones wants a whole number from 0 to 16/],
    [['create', '--name', `lcc-${suffix}`, '--no-instant-clone', '--standby-clones', '1'], /--standby-clones needs instant clone/],
  ];
  for (const [args, message] of cases) {
    const r = await bonneville(args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, message);
  }
  // Past the checks, the engine fails at its first start (certificate files that hold no PEM): undone.
  writeFileSync(join(home, 'junk.pem'), 'junk\n');
  const late = await bonneville(['create', '--name', `lcc-${suffix}`, '--cert', join(home, 'junk.pem'), '--key', join(home, 'junk.pem'), '--no-tlsverify', '--no-instant-clone']);
  assert.notEqual(late.code, 0);
  assert.match(late.stderr, /failed to start:[\s\S]*PEM/);
  assert.deepEqual(readdirSync(join(home, 'vchs')).sort(), before);
  assert.ok(!existsSync(join(home, `lcc-${suffix}`)));
  assert.ok(!existsSync(join('/sys/fs/cgroup/cpu/bonneville', `lcc-${suffix}`)));
});

test('a start that does not fit the memory limit is refused with 503', async () => {
  // 512 MiB limit, 128 MiB in use: a 512 MiB container cannot start, a 128 MiB one can.
  await dockerOk(A, ['create', '--name', 'big', '-m', '512m', 'busybox', 'true']);
  const r = await post(settingsOf(A).socket, '/containers/big/start');
  assert.equal(r.status, 503);
  assert.match(JSON.parse(r.body).message, /needs 512 MiB and the VCH's memory limit is 512 MiB, of which running containers use 128 MiB/);
  const cli = await docker(A, ['start', 'big']);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /memory limit/);
  await dockerOk(A, ['rm', 'big']);
});

test('a CPU burner in a VCH limited to half a CPU is held to its quota by the cgroup', async (t) => {
  await dockerOk(A, ['run', '-d', '--name', 'burner', 'busybox', 'sh', '-c', 'while :; do :; done']);
  const pool = settingsOf(A).resourcePool;
  const start = poolStats(pool);
  // At least 100 CFS periods of 100 ms with the burner running, 10 of them throttled (counted by the
  // kernel, not by our clock: on a busy host the burner may get less than its quota for a while).
  const end = await until('100 CFS periods, 10 throttled', () => {
    const s = poolStats(pool);
    return s.periods - start.periods >= 100 && s.throttledPeriods - start.throttledPeriods >= 10 ? s : undefined;
  }, 600_000);
  const periods = end.periods - start.periods;
  const usedUsec = (end.usageUsec ?? 0) - (start.usageUsec ?? 0);
  // Quota 50 ms per 100 ms period: the pool never got more (10% slack for accounting granularity).
  assert.ok(usedUsec <= periods * 50_000 * 1.1, `used ${usedUsec} µs in ${periods} periods (quota 50000 µs each)`);
  t.diagnostic(`pool used ${Math.round(usedUsec / periods)} µs per 100 ms period (quota 50000), throttled in ${end.throttledPeriods - start.throttledPeriods} of ${periods}`);
  assert.ok(usedUsec > 0);
  // The other VCH is not starved: its container still answers.
  assert.equal(await dockerOk(B, ['exec', 'c1', 'echo', 'alive']), 'alive');
  await dockerOk(A, ['rm', '-f', 'burner']);
});

test('configure changes limits live: cgroup rewritten, the running container kept', async () => {
  const id = await dockerOk(A, ['inspect', '-f', '{{.Id}}', 'c1']);
  const qemu = qemuOf(A, id);
  const extraStore = join(home, 'extra-store');
  mkdirSync(extraStore);
  await ok(['configure', '--name', A, '--cpu-limit', '0.25', '--memory-limit', '768', '--dns-server', '127.0.0.1',
    '--volume-store', `extra:${extraStore}`, '--insecure-registry', 'registry.example:5000']);
  const [cpuDir, memoryDir] = settingsOf(A).resourcePool.dirs;
  assert.equal(readFileSync(join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim(), '25000');
  assert.equal(Number(readFileSync(join(memoryDir, 'memory.limit_in_bytes'), 'utf8')), (768 + 384) * 1024 * 1024);
  assert.equal(qemuOf(A, id), qemu, 'the container VM kept running');
  assert.equal(await dockerOk(A, ['inspect', '-f', '{{.State.Running}} {{.Id}}', 'c1']), `true ${id}`);
  const info = await dockerOk(A, ['info']);
  assert.match(info, /VCH memory limit: 768 MiB/);
  assert.match(info, /VolumeStores: default fast extra/);
  assert.match(info, /Insecure Registries:\n\s+registry\.example:5000/);
  assert.deepEqual(settingsOf(A).dnsServers, ['127.0.0.1']);
  // A bad value changes nothing.
  const bad = await bonneville(['configure', '--name', A, '--cpu-limit', '-1']);
  assert.notEqual(bad.code, 0);
  assert.equal(readFileSync(join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim(), '25000');
  const noClones = await bonneville(['configure', '--name', A, '--standby-clones', '1']);
  assert.match(noClones.stderr, /--standby-clones needs instant clone/);
  assert.equal(settingsOf(A).standbyClones, undefined);
  // New certificates: the old client certificate is refused, the env file's works.
  const oldCa = readFileSync(join(home, 'vchs', A, 'certs', 'ca.pem'), 'utf8');
  const oldClient = join(home, 'old-client');
  mkdirSync(oldClient);
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(oldClient, f), readFileSync(join(home, 'vchs', A, 'certs', 'client', f)));
  await ok(['configure', '--name', A, '--rotate-certificates']);
  assert.notEqual(readFileSync(join(home, 'vchs', A, 'certs', 'ca.pem'), 'utf8'), oldCa);
  assert.equal(await dockerOk(A, ['inspect', '-f', '{{.State.Running}}', 'c1']), 'true');
  const stale = await runCommand(DOCKER, ['version'], { env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${settingsOf(A).endpoint.port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: oldClient } });
  assert.notEqual(stale.code, 0, 'the old certificates no longer work');
});

test('kill -9 of an engine: the supervisor restarts it and the container is re-adopted', async () => {
  const id = await dockerOk(B, ['inspect', '-f', '{{.Id}}', 'c1']);
  const qemu = qemuOf(B, id);
  const old = enginePid(B);
  process.kill(old, 'SIGKILL');
  await until('a new engine', async () => enginePid(B) !== old && alive(enginePid(B)) && (await docker(B, ['version'])).code === 0);
  assert.equal(await dockerOk(B, ['inspect', '-f', '{{.State.Running}} {{.Id}}', 'c1']), `true ${id}`);
  assert.equal(qemuOf(B, id), qemu, 'the same VM');
  assert.match(cgroupOf(enginePid(B), 'cpu'), new RegExp(`/bonneville/${B}$`));
});

/** The release directory the VCH's engine runs its code from (from the engine's command line). */
function engineRelease(name: string): string {
  const script = readFileSync(`/proc/${enginePid(name)}/cmdline`, 'utf8').split('\0').find((a) => a.endsWith('/src/cli/bonneville.ts'))!;
  return script.slice(0, -'/src/cli/bonneville.ts'.length);
}

test('upgrade with a running container, then rollback to the earlier release\'s code', async () => {
  const id = await dockerOk(B, ['inspect', '-f', '{{.Id}}', 'c1']);
  const qemu = qemuOf(B, id);
  // Create kept the code it started as release 0.1.0; the engine runs from it.
  assert.equal(engineRelease(B), join(home, 'releases', '0.1.0'));
  assert.equal(readFileSync(join(home, 'releases', '0.1.0', 'RELEASE'), 'utf8').trim(), '0.1.0');
  writeFileSync(versionFile, '0.2.0'); // "installs" a newer Bonneville
  assert.match(await ok(['ls']), new RegExp(`${B}\\s+running\\s+\\S+\\s+0\\.1\\.0 \\(upgrade to 0\\.2\\.0\\)`));
  await ok(['upgrade', '--name', B]);
  assert.equal(await dockerOk(B, ['version', '-f', '{{.Server.Version}}']), '0.2.0');
  assert.equal(engineRelease(B), join(home, 'releases', '0.2.0'));
  assert.equal(qemuOf(B, id), qemu);
  assert.equal(await dockerOk(B, ['inspect', '-f', '{{.State.Running}}', 'c1']), 'true');
  const view = JSON.parse(await ok(['inspect', '--name', B])) as { version: string; upgrade: { previous: string }; settings: VchSettings };
  assert.equal(view.version, '0.2.0');
  assert.equal(view.upgrade.previous, '0.1.0');
  assert.equal(view.settings.previous?.version, '0.1.0');
  const again = await bonneville(['upgrade', '--name', B]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already runs version 0\.2\.0/);
  // 0.2.0 stays installed: the rollback runs 0.1.0's kept release, not the installed tree.
  await ok(['rollback', '--name', B]);
  assert.equal(await dockerOk(B, ['version', '-f', '{{.Server.Version}}']), '0.1.0');
  assert.equal(engineRelease(B), join(home, 'releases', '0.1.0'));
  assert.equal(settingsOf(B).version, '0.1.0');
  assert.equal(settingsOf(B).upgrade?.state, 'rolled-back');
  assert.equal(qemuOf(B, id), qemu);
  assert.equal(await ok(['inspect', '--name', B, '--format', 'env']), readFileSync(join(home, 'vchs', B, `${B}.env`), 'utf8'));
  rmSync(versionFile); // back to the installed version for the scenarios after this one
});

test('debug: a higher log level and a log bundle', async () => {
  await ok(['debug', '--name', A, '--log-level', 'debug']);
  await dockerOk(A, ['ps']);
  // The engine logs a request once its answer is sent: the client may have it before the line is written.
  const logged = /debug: GET \/v[\d.]+\/containers\/json/;
  await until('the debug line of the ps request', () => logged.test(readFileSync(join(settingsOf(A).datastore, 'engine.log'), 'utf8')) || undefined, 30_000);
  const bundle = join(home, 'bundle.tar.gz');
  await ok(['debug', '--name', A, '--bundle', bundle]);
  const entries: string[] = [];
  await list({ file: bundle, onReadEntry: (e) => { entries.push(e.path); } });
  const id = await dockerOk(A, ['inspect', '-f', '{{.Id}}', 'c1']);
  for (const f of ['engine.log', 'settings.json', 'versions.json', `containers/${id}/console.log`]) {
    assert.ok(entries.includes(`vch-${A}/${f}`), `${f} in ${entries.join(', ')}`);
  }
  assert.ok(!entries.some((e) => e.includes('key')), 'no keys in the bundle');
});

test('a host reboot: everything killed, `bonneville supervise` brings the VCHs and restart-policy containers back', async () => {
  const pids = [supervisorPid(), enginePid(A), enginePid(B), ...containerVmPids(settingsOf(A).datastore), ...containerVmPids(settingsOf(B).datastore)];
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  await until('all gone', () => pids.every((p) => !alive(p)), 30_000);
  const supervisor = spawn(NODE, [CLI, 'supervise'], { env: env(), detached: true, stdio: 'ignore' });
  supervisor.unref();
  for (const name of [A, B]) await until(`${name} back`, async () => (await docker(name, ['version'])).code === 0);
  // c1 in B has --restart always: started again by its engine; c1 in A has none: it stays exited.
  await until('B/c1 running', async () => (await docker(B, ['inspect', '-f', '{{.State.Running}}', 'c1'])).stdout.trim() === 'true');
  assert.equal(await dockerOk(A, ['inspect', '-f', '{{.State.Running}}', 'c1']), 'false');
  const id = await dockerOk(B, ['inspect', '-f', '{{.Id}}', 'c1']);
  assert.match(cgroupOf(qemuOf(B, id)!, 'memory'), new RegExp(`/bonneville/${B}$`));
});

test('delete: refused while containers run, then forced; volume stores kept unless asked', async () => {
  const b = settingsOf(B);
  const prefix = vchPrefix((JSON.parse(readFileSync(join(b.datastore, 'vch.json'), 'utf8')) as { id: string }).id);
  const refused = await bonneville(['delete', '--name', B]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /has running containers: c1/);
  assert.ok(existsSync(join(home, 'vchs', B)));
  await ok(['delete', '--name', B, '--force', '--remove-volume-stores']);
  assert.ok(!existsSync(join(home, 'vchs', B)));
  assert.ok(!existsSync(b.datastore));
  assert.deepEqual(containerVmPids(b.datastore), []);
  for (const dir of b.resourcePool.dirs) assert.ok(!existsSync(dir), `${dir} removed`);
  const links = await runCommand('ip', ['-o', 'link']);
  assert.ok(!links.stdout.includes(`: ${prefix}`), 'the VCH\'s bridges and taps are gone');
  // A: nothing runs (c1 exited at the "reboot"), so no --force is needed; the named store is kept.
  const a = settingsOf(A);
  await ok(['delete', '--name', A]);
  assert.ok(!existsSync(join(home, 'vchs', A)));
  for (const dir of a.resourcePool.dirs) assert.ok(!existsSync(dir), `${dir} removed`);
  assert.ok(existsSync(join(storeDir, 'volumes', 'fastvol', 'disk.ext4')), 'the volume store is kept');
  assert.ok(!existsSync(join(a.datastore, 'containers')));
  assert.match(await ok(['ls']), /^NAME\s+STATE\s+ENDPOINT\s+VERSION\s+CONTAINERS\s+LIMITS\s*$/);
  assert.deepEqual(readdirSync(join(home, 'releases')), [], 'no VCH left to run or roll back to a release');
  try { rmdirSync(join(a.datastore, 'volumes')); } catch { /* kept volumes */ }
});
