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
import { VimClient } from '../../src/vim25/session.ts';
import { addPortgroup } from '../../src/vim25/dvs.ts';
import { downloadFile } from '../../src/vim25/datastore.ts';
import { mustFind } from '../../src/vim25/inventory.ts';

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

test('configure on vSphere changes the pool and adds volume stores and container networks; published ports get a NIC on the public network; existing port groups are container networks; upgrade keeps the VMs', { timeout: 900_000 }, async () => {
  const name = `${NAME}b`;
  const client = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: sim.info.username, password: PASSWORD });
  try {
    // Two port groups the admin made (on the VCH's switch): a VCH joins them, never deletes them.
    const dvs = await mustFind(client, 'DC0/network/DVS0');
    await addPortgroup(client, dvs, 'ext-net');
    await addPortgroup(client, dvs, 'ext-two');
    const containerNet = ['--container-network', 'ext-net:routed', '--container-network-gateway', 'ext-net:10.30.0.1/16',
      '--container-network-ip-range', 'ext-net:10.30.5.10-10.30.5.20', '--container-network-dns', 'ext-net:10.30.0.53'];

    // Refused before anything is made: a port group that does not exist, a range without its gateway.
    const missing = await bonneville(['create', '--name', name, ...vsphereArgs(), '--container-network', 'no-such-pg:x']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /--container-network no-such-pg: no distributed port group of that name in DC0/);
    const noGateway = await bonneville(['create', '--name', name, ...vsphereArgs(), '--container-network', 'ext-net:routed', '--container-network-ip-range', 'ext-net:10.30.5.0/24']);
    assert.match(noGateway.stderr, /--container-network-gateway ext-net:GW\/PREFIX too/);
    assert.ok(!(await sim.inventory()).pools.some((p) => p.name === name), 'nothing made by the refusals');

    await ok(['create', '--name', name, ...vsphereArgs(), ...containerNet, '--memory-limit', '2048', '--cpu-limit-mhz', '3000', '--container-memory', '128']);
    let inv = await sim.inventory();
    const key = (pg: string) => inv.portgroups.find((p) => p.name === pg)?.key;
    const [publicKey, extKey] = [key('DC0_DVPG1'), key('ext-net')];
    assert.ok(publicKey && extKey);

    // The container network is a Docker network under its alias, with the address plan given (the range
    // in vic-machine's FIRST-LAST form).
    assert.match(await dockerOk(name, ['network', 'ls', '--format', '{{.Name}}']), /^routed$/m);
    const ipam = JSON.parse(await dockerOk(name, ['network', 'inspect', 'routed', '--format', '{{json .IPAM.Config}}'])) as Array<{ Subnet: string; Gateway: string; IPRange: string }>;
    assert.deepEqual([ipam[0].Subnet, ipam[0].Gateway, ipam[0].IPRange], ['10.30.0.0/16', '10.30.0.1', '10.30.5.10-10.30.5.20']);

    await dockerOk(name, ['load', '-i', busybox]);
    const hostPort = String(20000 + Math.floor(Math.random() * 20000));
    const published = await dockerOk(name, ['run', '-d', '--name', 'pub', '-p', `${hostPort}:80`, 'busybox', 'sleep', '600']);
    const plain = await dockerOk(name, ['run', '-d', '--name', 'plain', 'busybox', 'sleep', '600']);
    const routed = await dockerOk(name, ['run', '-d', '--name', 'on-routed', '--net', 'routed', 'busybox', 'sleep', '600']);
    inv = await sim.inventory();
    const vmOf = (id: string) => inv.vms.find((v) => v.extraConfig['guestinfo.bonneville.id'] === id)!;
    const nicKeys = (id: string) => vmOf(id).devices.filter((d) => d.portgroupKey).map((d) => d.portgroupKey);
    assert.ok(nicKeys(published).includes(publicKey), 'a container publishing ports has a NIC on the public network');
    assert.equal(nicKeys(published).length, 2, 'its bridge network\'s NIC and the public one');
    assert.ok(!nicKeys(plain).includes(publicKey), 'one that publishes none has no NIC there');
    assert.deepEqual(nicKeys(routed), [extKey], '--net routed: its NIC is on the existing port group');
    const guest = JSON.parse(vmOf(routed).extraConfig['guestinfo.bonneville.config']) as { nics: Array<{ address: string; gateway: string }> };
    assert.match(guest.nics[0].address, /^10\.30\.5\.(1\d|20)\/16$/, 'from vic-machine\'s FIRST-LAST range');
    assert.equal(guest.nics[0].gateway, '10.30.0.1');
    const pubGuest = JSON.parse(vmOf(published).extraConfig['guestinfo.bonneville.config']) as { published?: Array<{ hostPort: number; containerPort: number }> };
    assert.deepEqual(pubGuest.published?.map((p) => [p.hostPort, p.containerPort]), [[Number(hostPort), 80]]);

    // A predefined network cannot be removed (dockerd's answer for its own: 403).
    const rm = await cli.docker(name, ['network', 'rm', 'routed']);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /routed is a pre-defined network and cannot be removed/);

    // configure: the pool's new allocations in vCenter, a new volume store and a new container network.
    const vmRefs = [published, plain, routed].map((id) => vmOf(id).ref);
    await ok(['configure', '--name', name, '--memory-limit', '4096', '--cpu-limit-mhz', '0', '--cpu-reservation-mhz', '500', '--cpu-shares', 'high', '--memory-shares', '2000',
      '--volume-store', 'LocalDS_1/more-vols:more', '--container-network', 'ext-two:second']);
    inv = await sim.inventory();
    const pool = inv.pools.find((p) => p.name === name)!;
    assert.deepEqual([pool.memory.limit, pool.cpu.limit, pool.cpu.reservation], [4096, -1, 500]);
    assert.deepEqual([pool.cpu.level, pool.memory.level, pool.memory.shares], ['high', 'custom', 2000]);
    assert.equal(settingsOf(name).vsphere!.pool.memoryLimitMB, 4096);
    assert.equal(settingsOf(name).vsphere!.pool.cpuLimitMHz, undefined);
    assert.equal(settingsOf(name).limits.memoryMiB, 4096, 'the engine\'s start gate follows the pool');
    assert.deepEqual([published, plain, routed].map((id) => [vmOf(id).ref, vmOf(id).powerState]), vmRefs.map((r) => [r, 'poweredOn']), 'the container VMs kept running');
    assert.match(await dockerOk(name, ['ps', '--format', '{{.Names}}']), /on-routed/);
    assert.match(await dockerOk(name, ['network', 'ls', '--format', '{{.Name}}']), /^second$/m);
    const view = JSON.parse(await ok(['inspect', '--name', name])) as { vsphere: { publicNetwork: string; containerNetworks: Array<{ name: string; external: string }>; volumeStores: string[] } };
    assert.equal(view.vsphere.publicNetwork, 'DC0_DVPG1');
    assert.deepEqual(view.vsphere.containerNetworks.map((n) => `${n.external}:${n.name}`), ['ext-net:routed', 'ext-two:second']);
    assert.deepEqual(view.vsphere.volumeStores, ['LocalDS_1/vch-volumes:fast', 'LocalDS_1/more-vols:more']);
    await dockerOk(name, ['volume', 'create', '--opt', 'VolumeStore=more', 'v2']);
    const disk = await dockerOk(name, ['volume', 'inspect', 'v2', '--format', '{{.Mountpoint}}']);
    const m = /^\[LocalDS_1\] (more-vols\/.+)$/.exec(disk);
    assert.ok(m, `the volume's disk is in the new store: ${disk}`);
    await downloadFile(client, { datacenterPath: 'DC0', datastore: 'LocalDS_1', path: m[1] }); // throws when the disk is not there

    // Refusals, in the shape of the local ones; the pool is left as it was.
    const refusals: Array<[string[], RegExp]> = [
      [['--cpu-limit', '2'], /CPU is in MHz/],
      [['--memory-reservation', '9000'], /--memory-reservation 9000 is more than --memory-limit 4096/],
      [['--memory-limit', 'lots'], /--memory-limit wants a positive integer/],
      [['--cpu-shares', 'lots'], /--cpu-shares wants low, normal, high or a positive whole number of shares/],
      [['--image-store', 'LocalDS_1/elsewhere'], /image store of VCH .* cannot be changed/],
      [['--volume-store', 'LocalDS_0/x:more'], /volume store more exists already/],
      [['--container-network', 'ext-net:again'], /has it already \(as routed\)/],
      [['--container-network', 'DC0_DVPG0:br'], /that is the bridge network/],
    ];
    for (const [args, pattern] of refusals) {
      const r = await bonneville(['configure', '--name', name, ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, pattern, args.join(' '));
    }
    const after = (await sim.inventory()).pools.find((p) => p.name === name)!;
    assert.deepEqual([after.memory.limit, after.memory.reservation, after.cpu.limit, after.cpu.reservation], [4096, 0, -1, 500]);

    // upgrade (to the installed version again, forced) and rollback: the engine restarts on the release and re-adopts the VMs.
    const pidBefore = readFileSync(join(home, 'vchs', name, 'engine.pid'), 'utf8');
    await ok(['upgrade', '--name', name, '--force']);
    assert.notEqual(readFileSync(join(home, 'vchs', name, 'engine.pid'), 'utf8'), pidBefore, 'a new engine');
    assert.equal(settingsOf(name).upgrade?.state, 'upgraded');
    inv = await sim.inventory();
    assert.deepEqual([published, plain, routed].map((id) => [vmOf(id).ref, vmOf(id).powerState]), vmRefs.map((r) => [r, 'poweredOn']), 'upgrade kept the container VMs');
    assert.deepEqual((await dockerOk(name, ['ps', '--format', '{{.Names}}'])).split('\n').sort(), ['on-routed', 'plain', 'pub']);
    await ok(['rollback', '--name', name]);
    assert.equal(settingsOf(name).upgrade?.state, 'rolled-back');
    assert.deepEqual((await dockerOk(name, ['ps', '--format', '{{.Names}}'])).split('\n').sort(), ['on-routed', 'plain', 'pub']);

    // delete: the VCH's own port groups go, the admin's stay.
    await ok(['delete', '--name', name, '--force']);
    inv = await sim.inventory();
    assert.ok(!inv.pools.some((p) => p.name === name));
    assert.ok(!inv.portgroups.some((p) => p.name.startsWith(`${name}-`)), 'its port groups are gone');
    assert.ok(['ext-net', 'ext-two', 'DC0_DVPG1'].every((pg) => inv.portgroups.some((p) => p.name === pg)), 'existing port groups stay');
  } finally {
    await client.logout().catch(() => {});
  }
});
