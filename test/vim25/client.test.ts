// src/vim25 against a real vcsim (govmomi's simulator, built by scripts/build-vcsim.sh); what the
// client did is cross-checked through govmomi's own client (tools/vsphere-inventory).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Vcsim } from '../helpers/vcsim.ts';
import { VimClient } from '../../src/vim25/session.ts';
import { fetchThumbprint, ThumbprintMismatchError } from '../../src/vim25/soap.ts';
import { DuplicateNameFault, InvalidPowerStateFault, NotAuthenticatedFault, InvalidLoginFault, VimFault, FileAlreadyExistsFault } from '../../src/vim25/faults.ts';
import { createFolder, datacenterFolders, findByInventoryPath, mustFind } from '../../src/vim25/inventory.ts';
import { createResourcePool, resourcePoolConfig, updateResourcePool, destroyResourcePool } from '../../src/vim25/resource-pool.ts';
import { createVM, destroyVM, disk, dvsNic, listVMs, powerOff, powerOn, reconfigureVM, removeDevice, scsiController, serialPortURI, virtualMachineInfo } from '../../src/vim25/virtual-machine.ts';
import { watchObjects, retrieveContained } from '../../src/vim25/property-collector.ts';
import { addPortgroup, listPortgroups } from '../../src/vim25/dvs.ts';
import { copyVirtualDisk, createVirtualDisk, datastorePath, deleteDatastoreFile, downloadFile, makeDirectory, uploadFile } from '../../src/vim25/datastore.ts';
import { queryEvents } from '../../src/vim25/events.ts';
import { moref } from '../../src/vim25/types.ts';

let sim: Vcsim;
let client: VimClient;

before(async () => {
  sim = await Vcsim.start();
  client = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: sim.info.username, password: sim.info.password });
});

after(async () => {
  await client?.logout().catch(() => {});
  await sim?.stop();
});

test('thumbprint: read for first use; SHA-1 pin accepted; a wrong pin refused before login', async () => {
  const tp = await fetchThumbprint(sim.info.url);
  assert.equal(tp.sha256, sim.info.thumbprintSha256);
  assert.equal(tp.sha1, sim.info.thumbprintSha1);
  const viaSha1 = await VimClient.connect({ url: sim.info.url, thumbprint: tp.sha1.toLowerCase().replaceAll(':', ''), username: 'user', password: 'pass' });
  assert.ok(viaSha1.session?.key);
  await viaSha1.logout();
  const wrong = tp.sha256.replace(/^../, tp.sha256.startsWith('00') ? '11' : '00');
  await assert.rejects(VimClient.connect({ url: sim.info.url, thumbprint: wrong, username: 'user', password: 'pass' }), (err: Error) => {
    assert.ok(err instanceof ThumbprintMismatchError, String(err));
    assert.match(err.message, /refusing/);
    return true;
  });
});

test('a call without a session is NotAuthenticatedFault; logout ends the session', async () => {
  const anon = await VimClient.open({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256 });
  await assert.rejects(createFolder(anon, anon.content.rootFolder, 'nope'), NotAuthenticatedFault);
  anon.transport.close();
  const c2 = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: 'user', password: 'pass' });
  const cookie = c2.transport.cookie;
  assert.ok(cookie);
  await c2.logout();
  const again = await VimClient.open({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256 });
  again.transport.cookie = cookie;
  await assert.rejects(createFolder(again, again.content.rootFolder, 'nope'), NotAuthenticatedFault);
  again.transport.close();
});

test('wrong password is InvalidLoginFault; a session ended by the server is re-established', async () => {
  await assert.rejects(VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: 'user', password: 'wrong' }), InvalidLoginFault);
  const admin = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: 'user', password: 'pass' });
  const victim = await VimClient.connect({ url: sim.info.url, thumbprint: sim.info.thumbprintSha256, username: 'user', password: 'pass' });
  const oldKey = victim.session!.key;
  await admin.invoke('TerminateSession', admin.content.sessionManager, { sessionId: [oldKey] });
  const dc = await mustFind(victim, 'DC0', 'Datacenter');
  assert.equal(dc.type, 'Datacenter');
  assert.notEqual(victim.session!.key, oldKey, 'logged in again');
  await victim.logout();
  await admin.logout();
});

test('inventory: service content, inventory paths, VMs and port groups agree with govmomi', async () => {
  assert.equal(client.content.about.apiType, 'VirtualCenter');
  const dc = await mustFind(client, 'DC0', 'Datacenter');
  assert.equal((await findByInventoryPath(client, 'DC0/host/DC0_C0'))?.type, 'ClusterComputeResource');
  assert.equal(await findByInventoryPath(client, 'DC0/host/no-such-cluster'), undefined);
  const vms = await listVMs(client, client.content.rootFolder);
  const pgs = await listPortgroups(client, dc);
  const inv = await sim.inventory();
  assert.deepEqual(vms.map((v) => v.name).sort(), inv.vms.map((v) => v.name).sort());
  for (const v of vms) {
    const g = inv.vms.find((x) => x.ref === v.ref.value)!;
    assert.equal(v.powerState, g.powerState);
    assert.deepEqual(v.devices.map((d) => d.key).sort(), g.devices.map((d) => d.key).sort());
    assert.deepEqual(v.extraConfig, g.extraConfig);
  }
  assert.deepEqual(pgs.map((p) => p.name).sort(), inv.portgroups.map((p) => p.name).sort());
  assert.ok(pgs.every((p) => p.switchUuid), 'every port group knows its switch uuid');
});

test('folder + resource pool with limits; duplicate folder is DuplicateNameFault', async () => {
  const dc = await mustFind(client, 'DC0', 'Datacenter');
  const { vmFolder } = await datacenterFolders(client, dc);
  const folder = await createFolder(client, vmFolder, 'vch-test');
  await assert.rejects(createFolder(client, vmFolder, 'vch-test'), (err: Error) => {
    assert.ok(err instanceof DuplicateNameFault, String(err));
    assert.equal(err.faultType, 'DuplicateName');
    assert.equal(err.detail.name, 'vch-test');
    return true;
  });
  const root = await mustFind(client, 'DC0/host/DC0_C0/Resources', 'ResourcePool');
  const pool = await createResourcePool(client, root, 'vch-test', {
    cpu: { limit: 2000, reservation: 500, shares: { level: 'high' } },
    memory: { limit: 4096, reservation: 0, shares: { level: 'custom', shares: 1234 } },
  });
  let cfg = await resourcePoolConfig(client, pool);
  assert.equal(cfg.cpu.limit, 2000);
  assert.equal(cfg.cpu.reservation, 500);
  assert.equal(cfg.cpu.shares?.level, 'high');
  assert.equal(cfg.memory.shares?.shares, 1234);
  await updateResourcePool(client, pool, { cpu: { limit: -1 }, memory: { limit: 1024, reservation: 256 } });
  cfg = await resourcePoolConfig(client, pool);
  assert.equal(cfg.cpu.limit, -1);
  assert.equal(cfg.memory.limit, 1024);
  const g = (await sim.inventory()).pools.find((p) => p.ref === pool.value)!;
  assert.equal(g.name, 'vch-test');
  assert.equal(g.memory.limit, 1024);
  assert.equal(g.memory.reservation, 256);
  assert.ok((await sim.inventory()).folders.some((f) => f.ref === folder.value && f.name === 'vch-test'));
  await assert.rejects(createResourcePool(client, root, 'vch-test', { cpu: {}, memory: {} }), DuplicateNameFault);
  await destroyResourcePool(client, pool);
  assert.ok(!(await sim.inventory()).pools.some((p) => p.ref === pool.value));
});

test('VM lifecycle: create with disks/NIC/serial/extraConfig, reconfigure, power, watch, faults, destroy', async () => {
  const dc = await mustFind(client, 'DC0', 'Datacenter');
  const { vmFolder } = await datacenterFolders(client, dc);
  const folder = await createFolder(client, vmFolder, 'vch-vm');
  const root = await mustFind(client, 'DC0/host/DC0_C0/Resources', 'ResourcePool');
  const pool = await createResourcePool(client, root, 'vch-vm', { cpu: {}, memory: { limit: 2048 } });
  await addPortgroup(client, await mustFind(client, 'DC0/network/DVS0'), 'vch-vm-bridge');
  const pg = (await listPortgroups(client, dc)).find((p) => p.name === 'vch-vm-bridge')!;
  assert.ok(pg, 'new port group listed');

  // A base disk made beforehand, used as a child disk's parent.
  await makeDirectory(client, dc, '[LocalDS_0] images');
  await createVirtualDisk(client, dc, '[LocalDS_0] images/layer0.vmdk', 1024);

  const vm = await createVM(client, {
    folder,
    pool,
    spec: {
      name: 'box-0123456789ab',
      guestId: 'otherLinux64Guest',
      files: { vmPathName: '[LocalDS_0]' },
      numCPUs: 2,
      memoryMB: 512,
      deviceChange: [
        scsiController(-100),
        disk({ key: -101, controllerKey: -100, unitNumber: 0, fileName: '[LocalDS_0] box-0123456789ab/rw.vmdk', create: true, capacityKB: 8 * 1024 * 1024, parentFileName: '[LocalDS_0] images/layer0.vmdk' }),
        disk({ key: -102, controllerKey: -100, unitNumber: 1, fileName: '[LocalDS_0] images/layer0.vmdk', create: false, diskMode: 'independent_persistent' }),
        serialPortURI(-103, 'tcp://127.0.0.1:2377'),
        dvsNic({ key: -104, portgroupKey: pg.key, switchUuid: pg.switchUuid }),
      ],
      extraConfig: { 'guestinfo.bonneville.id': '0123456789ab', 'guestinfo.bonneville.cmd': '["echo","a<b & c"]' },
    },
  });
  let info = await virtualMachineInfo(client, vm);
  assert.equal(info.name, 'box-0123456789ab');
  assert.equal(info.powerState, 'poweredOff');
  assert.equal(info.numCPU, 2);
  assert.equal(info.memoryMB, 512);
  assert.equal(info.extraConfig['guestinfo.bonneville.cmd'], '["echo","a<b & c"]');
  const disks = info.devices.filter((d) => d.type === 'VirtualDisk');
  assert.equal(disks.length, 2);
  assert.ok(disks.some((d) => d.fileName === '[LocalDS_0] images/layer0.vmdk'));
  const serial = info.devices.find((d) => d.type === 'VirtualSerialPort');
  assert.equal(serial?.serviceURI, 'tcp://127.0.0.1:2377');
  const nic = info.devices.find((d) => d.type === 'VirtualVmxnet3');
  assert.equal(nic?.portgroupKey, pg.key);
  assert.ok(nic?.macAddress, 'NIC got a MAC');
  assert.ok(info.resourcePool?.equals(pool));
  assert.ok(info.folder?.equals(folder));

  // govmomi sees the same VM.
  let g = (await sim.inventory()).vms.find((v) => v.ref === vm.value)!;
  assert.equal(g.name, 'box-0123456789ab');
  assert.equal(g.resourcePool, pool.value);
  assert.equal(g.folder, folder.value);
  assert.equal(g.extraConfig['guestinfo.bonneville.id'], '0123456789ab');
  assert.ok(g.devices.some((d) => d.type === 'VirtualSerialPort' && d.uri === 'tcp://127.0.0.1:2377'));
  assert.ok(g.devices.some((d) => d.type === 'VirtualVmxnet3' && d.portgroupKey === pg.key));
  const child = g.devices.find((d) => d.type === 'VirtualDisk' && d.parent === '[LocalDS_0] images/layer0.vmdk');
  assert.ok(child, `a child disk over the layer: ${JSON.stringify(g.devices.filter((d) => d.type === 'VirtualDisk'))}`);

  // Reconfigure: extraConfig changed, the layer disk detached, memory grown.
  const layer = info.devices.find((d) => d.type === 'VirtualDisk' && d.fileName === '[LocalDS_0] images/layer0.vmdk')!;
  await reconfigureVM(client, vm, { memoryMB: 1024, extraConfig: { 'guestinfo.bonneville.state': 'created' }, deviceChange: [removeDevice(layer)] });
  info = await virtualMachineInfo(client, vm);
  assert.equal(info.memoryMB, 1024);
  assert.equal(info.extraConfig['guestinfo.bonneville.state'], 'created');
  assert.equal(info.extraConfig['guestinfo.bonneville.id'], '0123456789ab');
  assert.equal(info.devices.filter((d) => d.type === 'VirtualDisk').length, 1);

  // Power on while a watch is open: the watch sees poweredOff (enter) then poweredOn.
  const watch = await watchObjects(client, [vm], 'VirtualMachine', ['runtime.powerState'], { maxWaitSeconds: 5 });
  const seen: string[] = [];
  let initial!: () => void;
  const entered = new Promise<void>((resolve) => { initial = resolve; });
  const watching = (async () => {
    for await (const batch of watch) {
      for (const u of batch) for (const c of u.changes) if (c.name === 'runtime.powerState') seen.push(String(c.value));
      if (seen.length > 0) initial();
      if (seen.includes('poweredOn')) break;
    }
  })();
  // The first answer carries the state at the time it is given: power on only after it came.
  await Promise.race([entered, watching]);
  await powerOn(client, vm);
  await watching;
  assert.deepEqual(seen, ['poweredOff', 'poweredOn']);

  await assert.rejects(powerOn(client, vm), (err: Error) => {
    assert.ok(err instanceof InvalidPowerStateFault, String(err));
    assert.ok(err instanceof VimFault);
    return true;
  });
  const events = await queryEvents(client, vm);
  assert.ok(events.some((e) => e.type === 'VmPoweredOnEvent'), JSON.stringify(events.map((e) => e.type)));
  await powerOff(client, vm);
  assert.equal((await sim.inventory()).vms.find((v) => v.ref === vm.value)?.powerState, 'poweredOff');

  await destroyVM(client, vm);
  g = (await sim.inventory()).vms.find((v) => v.ref === vm.value)!;
  assert.equal(g, undefined);
  await destroyResourcePool(client, pool);
  await deleteDatastoreFile(client, dc, '[LocalDS_0] images');
});

test('datastore: upload/download round trip, directory delete, disk create/copy, FileAlreadyExists', async () => {
  const dc = await mustFind(client, 'DC0', 'Datacenter');
  await makeDirectory(client, dc, '[LocalDS_1] vch/images');
  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
  const file = { datacenterPath: 'DC0', datastore: 'LocalDS_1', path: 'vch/images/layer a.tar' };
  await uploadFile(client, file, data);
  assert.ok((await downloadFile(client, file)).equals(data));
  await createVirtualDisk(client, dc, datastorePath('LocalDS_1', 'vch/images/base.vmdk'), 2048);
  await copyVirtualDisk(client, dc, '[LocalDS_1] vch/images/base.vmdk', '[LocalDS_1] vch/images/copy.vmdk');
  await assert.rejects(createVirtualDisk(client, dc, '[LocalDS_1] vch/images/base.vmdk', 2048), FileAlreadyExistsFault);
  await deleteDatastoreFile(client, dc, '[LocalDS_1] vch');
  await assert.rejects(downloadFile(client, file), /does not exist/);
});

test('property collector pages through more objects than one page holds', async () => {
  const all = await retrieveContained(client, client.content.rootFolder, 'ManagedEntity', ['name']);
  const paged = await retrieveContained(client, client.content.rootFolder, 'ManagedEntity', ['name'], 3);
  assert.ok(all.length > 10);
  assert.deepEqual(paged.map((o) => o.obj.value).sort(), all.map((o) => o.obj.value).sort());
  assert.ok(all.every((o) => typeof o.props.name === 'string'));
  assert.ok(moref('Folder', 'group-d1').equals(client.content.rootFolder));
});

test('closing a watch ends a pending WaitForUpdatesEx (CancelWaitForUpdates), and the collector is gone', async () => {
  const dc = await mustFind(client, 'DC0', 'Datacenter');
  const watch = await watchObjects(client, [dc], 'Datacenter', ['name'], { maxWaitSeconds: 600 });
  const first = await watch.next();
  assert.equal(first?.[0]?.kind, 'enter');
  const pending = watch.next();
  await new Promise((r) => setTimeout(r, 200));
  await watch.close();
  assert.equal(await pending, undefined);
  await assert.rejects(client.invoke('WaitForUpdatesEx', watch.collector, { version: '' }), VimFault);
});
