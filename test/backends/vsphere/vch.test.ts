// The vSphere side of a VCH against vcsim: pool + folder, the disk store, container VMs with their
// devices and extraConfig, re-adoption from the inventory and power changes from the property
// collector; cross-checked through govmomi (tools/vsphere-inventory).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Vcsim } from '../../helpers/vcsim.ts';
import { VimClient } from '../../../src/vim25/session.ts';
import { downloadFile } from '../../../src/vim25/datastore.ts';
import { DuplicateNameFault } from '../../../src/vim25/faults.ts';
import { resolveTarget, type Target } from '../../../src/backends/vsphere/target.ts';
import { destroyVch, ensureVch, findVch, vchLimits, configureVch, type VchPlacement } from '../../../src/backends/vsphere/vch-pool.ts';
import { DiskStore, flatDescriptor } from '../../../src/backends/vsphere/disk-store.ts';
import { containerVmName, createContainerVm, removeContainerVm, startContainerVm, stopContainerVm, updateContainerConfig, KEY_ID } from '../../../src/backends/vsphere/container-vm.ts';
import { listContainers, PowerWatch } from '../../../src/backends/vsphere/inventory-adoption.ts';
import { ensureNetworkPortgroup, listNetworkPortgroups, portgroupName, removeNetworkPortgroup } from '../../../src/backends/vsphere/network-portgroups.ts';

let sim: Vcsim;
let client: VimClient;
let target: Target;
let tmp: string;

before(async () => {
  sim = await Vcsim.start();
  client = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: sim.info.username, password: sim.info.password });
  target = await resolveTarget(client, { datacenter: 'DC0', computeResource: 'DC0_C0', datastore: 'LocalDS_0', dvs: 'DVS0' });
  tmp = await mkdtemp(path.join(os.tmpdir(), 'bv-vsphere-'));
});

after(async () => {
  await client?.logout().catch(() => {});
  await sim?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('VCH pool + folder: created with limits, found again, reconfigured, destroyed', async () => {
  const vch = await ensureVch(client, target, 'vch-a', { cpuLimitMHz: 4000, memoryLimitMB: 8192, memoryReservationMB: 512, cpuShares: 'high', memoryShares: 3000 });
  assert.deepEqual(await vchLimits(client, vch), { cpuLimitMHz: 4000, cpuReservationMHz: 0, memoryLimitMB: 8192, memoryReservationMB: 512, cpuShares: 'high', memoryShares: 3000 });
  const again = await ensureVch(client, target, 'vch-a', { cpuLimitMHz: 3000, memoryLimitMB: 8192 });
  assert.ok(again.pool.equals(vch.pool) && again.folder.equals(vch.folder), 'idempotent: the same pool and folder');
  assert.deepEqual(await vchLimits(client, vch), { cpuLimitMHz: 3000, cpuReservationMHz: 0, memoryLimitMB: 8192, memoryReservationMB: 0, cpuShares: 'normal', memoryShares: 'normal' });
  await configureVch(client, vch, { memoryLimitMB: 1024 });
  const inv = await sim.inventory();
  const pool = inv.pools.find((p) => p.ref === vch.pool.value)!;
  assert.equal(pool.name, 'vch-a');
  assert.equal(pool.memory.limit, 1024);
  assert.equal(pool.cpu.limit, -1);
  assert.ok(inv.folders.some((f) => f.ref === vch.folder.value && f.name === 'vch-a'));
  assert.ok((await findVch(client, target, 'vch-a'))?.pool.equals(vch.pool));
  await assert.rejects(ensureVch(client, target, '../x', {}), /invalid VCH name/);
  await destroyVch(client, vch);
  assert.equal(await findVch(client, target, 'vch-a'), undefined);
  const after = await sim.inventory();
  assert.ok(!after.pools.some((p) => p.ref === vch.pool.value) && !after.folders.some((f) => f.ref === vch.folder.value));
});

test('disk store: a raw layer uploaded as a flat VMDK, volumes, container directories', async () => {
  const store = new DiskStore(client, target, 'vch-d');
  await store.ensure();
  const raw = path.join(tmp, 'layer.ext4');
  const bytes = Buffer.alloc(1024 * 1024, 0x5a);
  await writeFile(raw, bytes);
  assert.equal(await store.hasLayer('sha256-aaaa'), false);
  const layer = await store.uploadLayer('sha256-aaaa', raw);
  assert.equal(layer, '[LocalDS_0] vch-d/images/sha256-aaaa.vmdk');
  assert.equal(await store.hasLayer('sha256-aaaa'), true);
  const file = (p: string) => ({ datacenterPath: 'DC0', datastore: 'LocalDS_0', path: p });
  assert.ok((await downloadFile(client, file('vch-d/images/sha256-aaaa-flat.vmdk'))).equals(bytes));
  const descriptor = (await downloadFile(client, file('vch-d/images/sha256-aaaa.vmdk'))).toString();
  assert.equal(descriptor, flatDescriptor('sha256-aaaa-flat.vmdk', bytes.length));
  assert.match(descriptor, /RW 2048 VMFS "sha256-aaaa-flat.vmdk"/);
  assert.throws(() => store.layerPath('../etc'), /invalid layer name/);
  assert.equal(await store.createVolume('data', 4096), '[LocalDS_0] vch-d/volumes/data.vmdk');
  await assert.rejects(store.createVolume('data', 4096));
  await store.destroy();
  assert.equal(await store.hasLayer('sha256-aaaa'), false);
});

test('container VMs: devices and guestinfo, re-adoption, power watch, removal keeps volumes', { timeout: 180_000 }, async () => {
  const vch: VchPlacement = await ensureVch(client, target, 'vch-c', { memoryLimitMB: 4096 });
  const store = new DiskStore(client, target, 'vch-c');
  await store.ensure();
  const raw = path.join(tmp, 'base.ext4');
  await writeFile(raw, Buffer.alloc(512 * 1024));
  const imageDisk = await store.uploadLayer('base', raw);
  const volume = await store.createVolume('vol1', 1024);
  const networkId = 'abcdef0123456789abcdef';
  const pg = await ensureNetworkPortgroup(client, target, 'vch-c', networkId);
  assert.equal(pg.name, 'vch-c-abcdef012345');
  assert.ok((await ensureNetworkPortgroup(client, target, 'vch-c', networkId)).ref.equals(pg.ref), 'found, not made twice');

  const ids = ['0123456789abcdef0123', 'fedcba9876543210fedc'];
  const refs = [];
  for (const [i, id] of ids.entries()) {
    await store.makeContainerDir(id);
    refs.push(
      await createContainerVm(client, vch, target.dvsUuid, {
        id,
        name: `web${i}`,
        cpus: 1,
        memoryMB: 256,
        datastore: 'LocalDS_0',
        writableDisk: store.writableDiskPath(id),
        writableSizeKB: 1024 * 1024,
        imageDisk,
        volumeDisks: i === 0 ? [volume] : [],
        nics: [{ portgroupKey: pg.key, macAddress: `00:50:56:00:00:0${i + 1}` }],
        tetherURI: 'tcp://127.0.0.1:2377',
        config: { cmd: ['echo', `hi ${i}`], env: ['A=<b>&"c"'] },
      }),
    );
  }
  await assert.rejects(
    createContainerVm(client, vch, target.dvsUuid, { id: ids[0], name: 'web0', cpus: 1, memoryMB: 256, datastore: 'LocalDS_0', writableDisk: '[LocalDS_0]', writableSizeKB: 1024, volumeDisks: [], nics: [], tetherURI: 'tcp://127.0.0.1:1', config: {} }),
    DuplicateNameFault,
  );

  const g = (await sim.inventory()).vms.find((v) => v.name === containerVmName('web0', ids[0]))!;
  assert.ok(g, 'govmomi sees web0-0123456789ab');
  assert.equal(g.folder, vch.folder.value);
  assert.equal(g.resourcePool, vch.pool.value);
  assert.equal(g.extraConfig[KEY_ID], ids[0]);
  assert.deepEqual(JSON.parse(g.extraConfig['guestinfo.bonneville.config']), { cmd: ['echo', 'hi 0'], env: ['A=<b>&"c"'] });
  const disks = g.devices.filter((d) => d.type === 'VirtualDisk');
  assert.ok(disks.some((d) => d.file === store.writableDiskPath(ids[0]) && d.parent === imageDisk), JSON.stringify(disks));
  assert.ok(disks.some((d) => d.file === volume));
  assert.ok(g.devices.some((d) => d.type === 'VirtualSerialPort' && d.uri === 'tcp://127.0.0.1:2377' && d.direction === 'client'));
  assert.ok(g.devices.some((d) => d.type === 'VirtualVmxnet3' && d.portgroupKey === pg.key));

  // An engine restarting finds both containers with their config.
  let adopted = await listContainers(client, vch);
  assert.deepEqual(adopted.map((c) => [c.id, c.name, c.powerState]), [[ids[0], 'web0', 'poweredOff'], [ids[1], 'web1', 'poweredOff']]);
  assert.deepEqual(adopted[1].config, { cmd: ['echo', 'hi 1'], env: ['A=<b>&"c"'] });

  // Power changes arrive through the watch, with the container id (each awaited before the next
  // operation: the collector reports current values, so quick successive changes may coalesce).
  const watch = await PowerWatch.create(client, vch, 5);
  const feed = watch[Symbol.asyncIterator]();
  const seen: string[] = [];
  const until = async (entry: string) => {
    while (!seen.includes(entry)) {
      const r = await feed.next();
      assert.ok(!r.done, `watch ended before ${entry}`);
      for (const c of r.value) seen.push(`${c.id?.slice(0, 4)}:${c.powerState}`);
    }
  };
  await until('0123:poweredOff');
  await until('fedc:poweredOff');
  await startContainerVm(client, refs[0]);
  await until('0123:poweredOn');
  seen.length = 0;
  await stopContainerVm(client, refs[0]);
  await until('0123:poweredOff');
  await feed.return!();
  assert.deepEqual(seen, ['0123:poweredOff']);

  await updateContainerConfig(client, refs[1], { 'guestinfo.bonneville.name': 'renamed' });
  await assert.rejects(updateContainerConfig(client, refs[1], { 'other.key': 'x' }), /not a guestinfo/);
  await startContainerVm(client, refs[1]);
  adopted = await listContainers(client, vch);
  assert.deepEqual(adopted.map((c) => [c.name, c.powerState]), [['web0', 'poweredOff'], ['renamed', 'poweredOn']]);

  // Removing a running container powers it off first; its volume survives; a watch sees it leave.
  const leaving = await PowerWatch.create(client, vch, 5);
  const leaveFeed = leaving[Symbol.asyncIterator]();
  const left: string[] = [];
  const initial = await leaveFeed.next(); // the VMs as they are, before one leaves
  assert.ok(!initial.done && initial.value.length === 2);
  await removeContainerVm(client, refs[1]);
  while (!left.includes('fedc:gone')) {
    const r = await leaveFeed.next();
    assert.ok(!r.done);
    for (const c of r.value) left.push(`${c.id?.slice(0, 4)}:${c.powerState ?? 'gone'}`);
  }
  await leaveFeed.return!();
  assert.ok(!left.some((e) => e.startsWith('0123')), `only the removed VM changed: ${JSON.stringify(left)}`);
  await removeContainerVm(client, refs[0]);
  assert.deepEqual(await listContainers(client, vch), []);
  // downloadFile throws for a missing file: the volume outlived both containers. (vcsim's Destroy_Task
  // deletes only the VM's directory; vCenter's deletes every attached disk, hence the detach first.)
  await downloadFile(client, { datacenterPath: 'DC0', datastore: 'LocalDS_0', path: 'vch-c/volumes/vol1.vmdk' });

  await destroyVch(client, vch);
  await store.destroy();
  assert.deepEqual((await listNetworkPortgroups(client, target, 'vch-c')).map((p) => p.name), ['vch-c-abcdef012345']);
  await removeNetworkPortgroup(client, target, 'vch-c', networkId);
  const inv = await sim.inventory();
  assert.ok(!inv.vms.some((v) => v.name.startsWith('web')));
  assert.ok(!inv.portgroups.some((p) => p.name.startsWith('vch-c-')));
  assert.throws(() => portgroupName('vch-c', 'NOT-AN-ID'), /invalid network id/);
});
