// `bonneville create --target …` (vic-machine's flags) makes a VCH on vSphere — here vcsim: its
// resource pool with the limits and its VM folder, checked through govmomi's client — and starts its
// engine (`vch serve --backend vsphere`) under the supervisor in a temporary BONNEVILLE_HOME; the
// docker CLI reaches it over the VCH's TLS endpoint; ls and inspect show it; delete removes it from
// vSphere. vcsim runs no guests: containers here are VMs with a power state (see docker-cli.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LifecycleCli } from './cli.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { Vcsim } from '../helpers/vcsim.ts';
import type { VchSettings } from '../../src/lifecycle/settings.ts';
import { removeResourcePool } from '../../src/lifecycle/resource-pool.ts';

// vcsim runs no guest and no host agent runs here: the engine the supervisor starts has no tether line.
process.env.BONNEVILLE_TETHER_URI = 'none';
const NAME = `vs-${Math.random().toString(36).slice(2, 7)}`;
const PASSWORD = `Pw-${Math.random().toString(36).slice(2, 10)}`;
let home = '';
let sim: Vcsim;
let busybox = '';

let cli: LifecycleCli;
const bonneville = (args: string[]) => cli.bonneville(args);
const ok = (args: string[]) => cli.ok(args);
const settingsOf = (name: string) => cli.settingsOf(name);
const dockerOk = (name: string, args: string[]) => cli.dockerOk(name, args);

function vsphereArgs(): string[] {
  const u = new URL(sim.info.url);
  u.username = sim.info.username;
  u.password = PASSWORD;
  return ['--target', u.toString(), '--thumbprint', sim.info.thumbprintSha256, '--compute-resource', '/DC0/host/DC0_C0',
    '--image-store', 'LocalDS_0/bonneville', '--volume-store', 'LocalDS_1/vch-volumes:fast',
    '--bridge-network', 'DC0_DVPG0', '--public-network', 'DC0_DVPG1'];
}

function killQuietly(pidFile: string): void {
  try { process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch { /* not running */ }
}

before(async () => {
  sim = await Vcsim.start(['-password', PASSWORD]);
  home = mkdtempSync(join(tmpdir(), 'bonneville-home-'));
  cli = new LifecycleCli(home);
  busybox = (await buildTestImages()).busybox;
});

after(async () => {
  killQuietly(join(home, 'supervisor', 'supervisor.pid'));
  for (const name of existsSync(join(home, 'vchs')) ? readdirSync(join(home, 'vchs')) : []) {
    killQuietly(join(home, 'vchs', name, 'engine.pid'));
    try { removeResourcePool(settingsOf(name).resourcePool); } catch { /* gone or busy */ }
  }
  await sim?.stop();
  rmSync(home, { recursive: true, force: true });
});

test('create on vSphere: pool with limits and folder; the engine serves docker; ls, inspect; delete leaves nothing', { timeout: 600_000 }, async () => {
  const out = await ok(['create', '--name', NAME, ...vsphereArgs(), '--memory-limit', '2048', '--memory-reservation', '256',
    '--cpu-limit-mhz', '3000', '--container-memory', '128']);
  assert.match(out, /DOCKER_HOST=tcp:\/\/127\.0\.0\.1:\d+/);

  let inv = await sim.inventory();
  const pool = inv.pools.find((p) => p.name === NAME);
  assert.ok(pool, 'the VCH\'s resource pool');
  assert.deepEqual([pool.memory.limit, pool.memory.reservation, pool.cpu.limit], [2048, 256, 3000]);
  const rootPool = inv.pools.find((p) => p.ref === pool.parent);
  assert.equal(rootPool?.name, 'Resources', 'directly under the cluster\'s root pool');
  const folder = inv.folders.find((f) => f.name === NAME);
  assert.ok(folder, 'the VCH\'s VM folder');

  // The credentials are in a root-only file, not in the settings or the engine's command line.
  const settings = settingsOf(NAME);
  assert.equal(JSON.stringify(settings).includes(PASSWORD), false);
  assert.equal(statSync(settings.vsphere!.targetFile).mode & 0o777, 0o600);
  const enginePid = Number(readFileSync(join(home, 'vchs', NAME, 'engine.pid'), 'utf8'));
  const cmdline = readFileSync(`/proc/${enginePid}/cmdline`, 'utf8');
  assert.match(cmdline, /--backend\0vsphere/);
  assert.equal(cmdline.includes(PASSWORD), false);

  // The engine on vSphere, over the VCH's TLS endpoint.
  assert.match(await dockerOk(NAME, ['info', '--format', '{{json .}}']), /vsphere/);
  await dockerOk(NAME, ['load', '-i', busybox]);
  const id = await dockerOk(NAME, ['run', '-d', '--name', 'c1', 'busybox', 'sleep', '600']);
  inv = await sim.inventory();
  const vm = inv.vms.find((v) => v.extraConfig['guestinfo.bonneville.id'] === id);
  assert.equal(vm?.powerState, 'poweredOn');
  assert.equal(vm?.folder, folder.ref);
  assert.equal(vm?.resourcePool, pool.ref);
  assert.equal(vm?.memoryMB, 128, 'the VCH\'s default container memory');
  await dockerOk(NAME, ['volume', 'create', '--opt', 'VolumeStore=fast', 'v1']);

  assert.match(await ok(['ls']), new RegExp(`^${NAME}\\s+running\\s+tcp://127\\.0\\.0\\.1:\\d+`, 'm'));
  const view = JSON.parse(await ok(['inspect', '--name', NAME])) as { vsphere: { host: string; pool: { memoryLimitMB: number; cpuLimitMHz: number }; containerVms: number } };
  assert.equal(view.vsphere.host, new URL(sim.info.url).host);
  assert.deepEqual([view.vsphere.pool.memoryLimitMB, view.vsphere.pool.cpuLimitMHz, view.vsphere.containerVms], [2048, 3000, 1]);

  // Refusals: the name taken (here and on vSphere), a wrong thumbprint; nothing is made by them.
  const again = await bonneville(['create', '--name', NAME, ...vsphereArgs()]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /exists already/);
  const badPin = vsphereArgs();
  badPin[badPin.indexOf('--thumbprint') + 1] = '00'.repeat(32);
  const pinned = await bonneville(['create', '--name', `${NAME}x`, ...badPin]);
  assert.notEqual(pinned.code, 0);
  assert.match(pinned.stderr, /thumbprint/i);
  assert.ok(!(await sim.inventory()).pools.some((p) => p.name === `${NAME}x`));
  const cpus = await bonneville(['create', '--name', `${NAME}y`, ...vsphereArgs(), '--cpu-limit', '2']);
  assert.match(cpus.stderr, /MHz/);

  const refused = await bonneville(['delete', '--name', NAME]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /running containers: c1/);
  await ok(['delete', '--name', NAME, '--force']);
  inv = await sim.inventory();
  assert.ok(!inv.pools.some((p) => p.name === NAME), 'the pool is gone');
  assert.ok(!inv.folders.some((f) => f.name === NAME), 'the folder is gone');
  assert.ok(!inv.vms.some((v) => v.extraConfig['guestinfo.bonneville.vch'] === NAME), 'its VMs are gone');
  assert.ok(!inv.portgroups.some((p) => p.name.startsWith(`${NAME}-`)), 'its port groups are gone');
  assert.ok(!existsSync(join(home, 'vchs', NAME)), 'its registry entry is gone');
  assert.doesNotMatch(await ok(['ls']), new RegExp(NAME));
});
