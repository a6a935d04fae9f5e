// `vch serve --backend vsphere` against vcsim, driven by the real docker CLI; the inventory is checked
// through govmomi's own client (build/vcsim/vsphere-inventory) and datastore files through the
// datastore's HTTP interface.
//
// What vcsim verifies: the VCH's pool (limits) and folder, container VMs made at start with their
// devices (writable, layer and volume disks, NICs on per-network port groups, the tether's serial
// port) and extraConfig, power states through start/stop/rm, re-adoption by a restarted engine, a VM
// powered off in vSphere seen by the engine through the property collector, disks and port groups
// made and removed, a vCenter fault as a Docker error. No guest runs here (no host agent: the engine
// has no tether line, `--tether-uri none`), so what needs one is refused with 501; guest.test.ts runs
// container processes with the test host agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Vcsim, type Inventory } from '../../helpers/vcsim.ts';
import { TestVch } from '../../helpers/vch.ts';
import { VimClient } from '../../../src/vim25/session.ts';
import { downloadFile } from '../../../src/vim25/datastore.ts';
import { runTask } from '../../../src/vim25/tasks.ts';
import { powerOff } from '../../../src/vim25/virtual-machine.ts';
import { moref } from '../../../src/vim25/types.ts';
import { resolveTarget, type Target } from '../../../src/backends/vsphere/target.ts';
import { destroyVch, ensureVch, type VchPlacement } from '../../../src/backends/vsphere/vch-pool.ts';

const VCH = 'vch-e2e';
let sim: Vcsim;
let client: VimClient;
let target: Target;
let placement: VchPlacement;
let vch: TestVch;

function engineArgs(): string[] {
  return ['--backend', 'vsphere', '--target', sim.urlWithCredentials, '--thumbprint', sim.info.thumbprintSha256,
    '--compute-resource', '/DC0/host/DC0_C0', '--image-store', 'LocalDS_0/bonneville', '--volume-store', 'LocalDS_1/volumes:fast',
    '--bridge-network', 'DC0_DVPG0', '--tether-uri', 'none'];
}

/** Whether a datastore file is there (the datastore's HTTP interface answers 404 otherwise). */
async function present(datastore: string, path: string): Promise<boolean> {
  try {
    await downloadFile(client, { datacenterPath: 'DC0', datastore, path });
    return true;
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) return false;
    throw err;
  }
}

/** `[ds] a/b.vmdk` → its datastore and path. */
function split(dsPath: string): [string, string] {
  const m = /^\[([^\]]+)\] (.+)$/.exec(dsPath);
  assert.ok(m, dsPath);
  return [m[1], m[2]];
}

function vmOf(inv: Inventory, id: string) {
  return inv.vms.find((v) => v.extraConfig['guestinfo.bonneville.id'] === id);
}

/** One API request over the engine's socket: status and parsed body. */
function api(method: string, path: string): Promise<{ status: number; body: { message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: vch.socket, method, path }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  sim = await Vcsim.start();
  client = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: sim.info.username, password: sim.info.password });
  target = await resolveTarget(client, { datacenter: 'DC0', computeResource: 'DC0_C0', datastore: 'LocalDS_0', dvs: 'DVS0' });
  // What `bonneville create` makes (tested on its own): the VCH's pool with its limits, and its folder.
  placement = await ensureVch(client, target, VCH, { cpuLimitMHz: 6000, memoryLimitMB: 4096 });
  vch = new TestVch(VCH, engineArgs());
  await vch.startWithBusybox();
});

after(async () => {
  await vch?.destroy();
  if (placement) await destroyVch(client, placement).catch(() => {});
  await client?.logout().catch(() => {});
  await sim?.stop();
});

test('docker create/start/stop/rm, volume and network create on vSphere: the inventory holds what it should', { timeout: 300_000 }, async () => {
  const info = JSON.parse(await vch.ok(['info', '--format', '{{json .}}'])) as { DriverStatus?: string[][]; SystemStatus?: string[][] };
  assert.match(JSON.stringify(info), /vsphere/);

  await vch.ok(['volume', 'create', '--opt', 'VolumeStore=fast', 'data']);
  const netId = (await vch.ok(['network', 'create', 'appnet'])).trim();
  let inv = await sim.inventory();
  const pg = inv.portgroups.find((p) => p.name === `${VCH}-${netId.slice(0, 12)}`);
  assert.ok(pg, `appnet's port group: ${JSON.stringify(inv.portgroups.map((p) => p.name))}`);

  const id = (await vch.ok(['create', '--name', 'web', '--network', 'appnet', '-v', 'data:/data', '--memory', '192m', 'busybox', 'sleep', '600'])).trim();
  assert.equal(vmOf(await sim.inventory(), id), undefined, 'the VM is made at start');
  await vch.ok(['start', 'web']);
  assert.match(await vch.ok(['ps', '--format', '{{.Names}} {{.Status}}']), /^web Up/m);

  inv = await sim.inventory();
  const vm = vmOf(inv, id)!;
  assert.ok(vm, 'the container VM is in the inventory');
  assert.equal(vm.name, `web-${id.slice(0, 12)}`);
  assert.equal(vm.powerState, 'poweredOn');
  assert.equal(vm.folder, placement.folder.value);
  assert.equal(vm.resourcePool, placement.pool.value);
  assert.equal(vm.memoryMB, 192);
  assert.equal(vm.extraConfig['guestinfo.bonneville.name'], 'web');
  assert.equal(vm.extraConfig['guestinfo.bonneville.vch'], VCH);
  const config = JSON.parse(vm.extraConfig['guestinfo.bonneville.config']) as {
    process: { argv: string[] }; nics: Array<{ mac: string; address: string }>; disks: { layers: unknown[]; volumes: Array<{ mounts: Array<{ target: string }> }> };
  };
  assert.deepEqual(config.process.argv, ['sleep', '600']);
  assert.equal(config.disks.volumes[0].mounts[0].target, '/data');
  const disks = vm.devices.filter((d) => d.type === 'VirtualDisk');
  assert.equal(disks.length, 1 + config.disks.layers.length + 1, JSON.stringify(disks));
  assert.ok(disks.some((d) => d.file?.startsWith('[LocalDS_0] bonneville/vch-e2e/containers/')), 'the writable disk, in the image store');
  const layerFiles = disks.filter((d) => d.file?.startsWith('[LocalDS_0] bonneville/vch-e2e/images/')).map((d) => d.file!);
  assert.equal(layerFiles.length, config.disks.layers.length, 'every layer disk, from the image store');
  const volumeFile = disks.find((d) => d.file?.startsWith('[LocalDS_1] volumes/'))?.file;
  assert.ok(volumeFile, 'the volume disk, in the volume store');
  assert.ok(!vm.devices.some((d) => d.type === 'VirtualSerialPort'), 'no serial port without a tether line (guest.test.ts checks it with one)');
  const nic = vm.devices.find((d) => d.type === 'VirtualVmxnet3');
  assert.equal(nic?.portgroupKey, pg.key, 'the NIC is on appnet\'s port group');
  assert.match(config.nics[0].address, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
  const pool = inv.pools.find((p) => p.ref === placement.pool.value)!;
  assert.deepEqual([pool.cpu.limit, pool.memory.limit], [6000, 4096]);

  // What the backend declares it cannot do, and what needs the guest, is refused plainly (501).
  const pause = await api('POST', '/containers/web/pause');
  assert.equal(pause.status, 501, JSON.stringify(pause.body));
  const top = await api('GET', '/containers/web/top');
  assert.equal(top.status, 501, JSON.stringify(top.body));
  assert.match(top.body.message ?? '', /tether/);
  const exec = await vch.docker(['exec', 'web', 'true']);
  assert.notEqual(exec.code, 0);
  assert.match(exec.stderr + exec.stdout, /tether/, JSON.stringify(exec));

  await vch.ok(['stop', '-t', '1', 'web']);
  assert.equal(vmOf(await sim.inventory(), id)?.powerState, 'poweredOff', 'a stopped container is a powered-off VM');
  assert.match(await vch.ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']), /^web Exited \(137\)/m);

  await vch.ok(['rm', 'web']);
  inv = await sim.inventory();
  assert.equal(vmOf(inv, id), undefined, 'rm removes the VM');
  for (const layer of layerFiles) assert.equal(await present(...split(layer)), true, 'layers outlive the container');
  assert.equal(await present(...split(volumeFile)), true, 'the volume outlives the container');
  await vch.ok(['volume', 'rm', 'data']);
  assert.equal(await present(...split(volumeFile)), false, 'volume rm returns once its disk is deleted');
  await vch.ok(['network', 'rm', 'appnet']);
  assert.ok(!(await sim.inventory()).portgroups.some((p) => p.key === pg.key), 'network rm removes its port group');
});

test('a restarted engine re-adopts its running VMs and follows their power state from vSphere', { timeout: 300_000 }, async () => {
  const id = (await vch.ok(['run', '-d', '--name', 'keeper', 'busybox', 'sleep', '600'])).trim();
  await vch.killEngine();
  vch = new TestVch(VCH, engineArgs(), vch.dir);
  await vch.start();
  assert.match(await vch.ok(['ps', '--format', '{{.Names}} {{.Status}}']), /^keeper Up/m, 'adopted running');
  // An admin powers the VM off in vSphere: the engine hears it from the property collector.
  const vm = vmOf(await sim.inventory(), id)!;
  await powerOff(client, moref('VirtualMachine', vm.ref));
  await until('keeper to show as exited', async () => /^keeper Exited/m.test(await vch.ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])));
  const state = JSON.parse(await vch.ok(['inspect', '--format', '{{json .State}}', 'keeper'])) as { Error: string; ExitCode: number };
  assert.match(state.Error, /powered off in vSphere/);
  await vch.ok(['rm', 'keeper']);
  assert.equal(vmOf(await sim.inventory(), id), undefined);
});

test('a vCenter fault is a Docker JSON error with a fitting status', { timeout: 300_000 }, async () => {
  await vch.ok(['create', '--name', 'orphan', 'busybox', 'sleep', '600']);
  // The VCH's folder vanishes behind the engine's back (an admin deleted it): vCenter answers the
  // engine's calls on it with ManagedObjectNotFound. (Last: the engine's placement stays broken.)
  await runTask(client, 'Destroy_Task', placement.folder);
  const res = await api('POST', '/containers/orphan/start');
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.match(res.body.message ?? '', /^vSphere: creating container VM orphan-[0-9a-f]{12} in VCH vch-e2e: \(ManagedObjectNotFound/);
  const cli = await vch.docker(['start', 'orphan']);
  assert.notEqual(cli.code, 0);
  assert.match(cli.stderr, /Error response from daemon: vSphere: .*ManagedObjectNotFound/);
});
