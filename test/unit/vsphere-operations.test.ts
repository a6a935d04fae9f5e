// The checks behind configuring a VCH on vSphere, without vSphere: vic-machine's container-network
// flags, the pool's new allocations and added volume stores, and the port layer's predefined networks
// (made at open, kept, refused by network rm and skipped by prune; their name servers used).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addContainerNetworks, containerNetworkArgs, parseContainerNetworks, type ContainerNetworkFlags } from '../../src/lifecycle/container-networks.ts';
import { reconfiguredVsphere, type VsphereSettings } from '../../src/lifecycle/vsphere-vch.ts';
import { NetworkService } from '../../src/portlayer/networks/service.ts';
import { EventLog } from '../../src/portlayer/events.ts';
import type { NetworkPlumbing } from '../../src/portlayer/backend.ts';
import { statusOf } from '../../src/engine/http/errors.ts';

const none: ContainerNetworkFlags = { networks: [], gateways: [], ipRanges: [], dns: [] };

test('container-network flags: alias, gateway, range, DNS per port group; mistakes named by flag', () => {
  const nets = parseContainerNetworks({
    networks: ['Lab VLAN:lab', 'plain-pg'], gateways: ['Lab VLAN:10.20.0.1/16'], ipRanges: ['Lab VLAN:10.20.8.0/24'], dns: ['Lab VLAN:10.20.0.53', 'Lab VLAN:1.1.1.1'],
  });
  assert.deepEqual(nets, [
    { name: 'lab', external: 'Lab VLAN', gateway: '10.20.0.1/16', ipRange: '10.20.8.0/24', dns: ['10.20.0.53', '1.1.1.1'] },
    { name: 'plain-pg', external: 'plain-pg' },
  ]);
  assert.deepEqual(parseContainerNetworks({ ...none, networks: containerNetworkArgs(nets).filter((_, i, a) => a[i - 1] === '--container-network') }).map((n) => n.name), ['lab', 'plain-pg']);
  const bad: Array<[Partial<ContainerNetworkFlags>, RegExp]> = [
    [{ networks: ['pg:bridge'] }, /pre-defined network's name/],
    [{ networks: ['pg:bad name'] }, /not a valid network name/],
    [{ networks: ['pg:a', 'pg:b'] }, /port group pg is given twice/],
    [{ networks: ['p1:a', 'p2:a'] }, /the name a is given twice/],
    [{ networks: ['pg:a'], gateways: ['other:10.0.0.1/24'] }, /other is not a --container-network/],
    [{ networks: ['pg:a'], gateways: ['pg:10.0.0.0/24'] }, /not a host address/],
    [{ networks: ['pg:a'], gateways: ['pg:10.0.0.1'] }, /IPv4 address with a prefix/],
    [{ networks: ['pg:a'], ipRanges: ['pg:10.0.0.0/28'] }, /give the network's --container-network-gateway/],
    [{ networks: ['pg:a'], gateways: ['pg:10.0.0.1/24'], ipRanges: ['pg:10.0.1.0/28'] }, /not inside 10\.0\.0\.0\/24/],
    [{ networks: ['pg:a'], gateways: ['pg:10.0.0.1/24'], ipRanges: ['pg:10.0.0.9-10.0.0.5'] }, /first address is after the last/],
    [{ networks: ['pg:a'], gateways: ['pg:10.0.0.1/24'], ipRanges: ['pg:10.0.0.5-10.0.0.x'] }, /wants a CIDR or FIRST-LAST/],
    [{ networks: ['pg:a'], gateways: ['pg:10.0.0.1/24'], ipRanges: ['pg:10.0.0.5-'] }, /wants a CIDR or FIRST-LAST/],
    [{ networks: ['pg:a'], gateways: ['pg:10.0.0.1/24'], ipRanges: ['pg:10.0.0.250-10.0.1.5'] }, /not inside 10\.0\.0\.0\/24/],
    [{ networks: ['pg:a'], dns: ['pg:dns.example'] }, /not an IPv4 address/],
  ];
  for (const [flags, pattern] of bad) assert.throws(() => parseContainerNetworks({ ...none, ...flags }), pattern, JSON.stringify(flags));
  // vic-machine's FIRST-LAST form, kept as such (and given back to `vch serve` so).
  const ranged = parseContainerNetworks({ ...none, networks: ['pg:r'], gateways: ['pg:10.1.1.1/24'], ipRanges: ['pg:10.1.1.10-10.1.1.20'] });
  assert.equal(ranged[0].ipRange, '10.1.1.10-10.1.1.20');
  assert.ok(containerNetworkArgs(ranged).includes('pg:10.1.1.10-10.1.1.20'));
  assert.throws(() => addContainerNetworks(nets, [{ name: 'x', external: 'plain-pg' }]), /has it already \(as plain-pg\)/);
  assert.throws(() => addContainerNetworks(nets, [{ name: 'lab', external: 'new' }]), /named lab already/);
});

test('vSphere configure: pool values (0 lifts), reservations within limits, volume stores added only', () => {
  const current: VsphereSettings = {
    host: 'vc', targetFile: '/x', thumbprint: 't', computeResource: '/DC0/host/C', imageStore: 'ds0/b', bridgeNetwork: 'bridge-pg',
    volumeStores: ['ds1/vols:default'], pool: { memoryLimitMB: 2048, cpuLimitMHz: 3000, cpuReservationMHz: 100 },
  };
  const change = { volumeStores: [], containerNetworks: [] };
  const next = reconfiguredVsphere(current, { ...change, memoryLimit: '4096', cpuLimitMHz: '0', memoryReservation: '512', volumeStores: ['ds1/more:more'] });
  assert.deepEqual(next.pool, { memoryLimitMB: 4096, memoryReservationMB: 512, cpuLimitMHz: undefined, cpuReservationMHz: 100, cpuShares: undefined, memoryShares: undefined });
  assert.deepEqual(next.volumeStores, ['ds1/vols:default', 'ds1/more:more']);
  assert.deepEqual(current.pool.memoryLimitMB, 2048, 'the current settings are not touched');
  assert.throws(() => reconfiguredVsphere(current, { ...change, memoryReservation: '4000' }), /--memory-reservation 4000 is more than --memory-limit 2048/);
  assert.throws(() => reconfiguredVsphere(current, { ...change, cpuReservationMHz: '3001' }), /more than --cpu-limit-mhz 3000/);
  assert.throws(() => reconfiguredVsphere(current, { ...change, cpuLimitMHz: '1.5' }), /positive integer/);
  assert.deepEqual(reconfiguredVsphere(current, { ...change, cpuShares: 'low', memoryShares: '4000' }).pool, { ...current.pool, memoryReservationMB: undefined, cpuShares: 'low', memoryShares: 4000 });
  assert.throws(() => reconfiguredVsphere(current, { ...change, memoryShares: 'some' }), /--memory-shares wants low, normal, high/);
  assert.throws(() => reconfiguredVsphere(current, { ...change, volumeStores: ['ds2/elsewhere:default'] }), /volume store default exists already/);
  assert.throws(() => reconfiguredVsphere(current, { ...change, volumeStores: ['no-path'] }), /DATASTORE\/PATH:NAME/);
  assert.throws(() => reconfiguredVsphere(current, { ...change, containerNetworks: [{ name: 'b', external: 'bridge-pg' }] }), /that is the bridge network/);
});

test('predefined networks: made at open on their segment, kept across engines, refused by rm (403), skipped by prune, their DNS used', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bonneville-predefined-'));
  try {
    const ensured: Array<{ id: string; external?: string }> = [];
    const removed: string[] = [];
    const plumbing: NetworkPlumbing = {
      hostSubnets: async () => [],
      ensureNetwork: async (net) => { ensured.push({ id: net.id, external: net.external }); },
      removeNetwork: async (id) => { removed.push(id); },
      sweep: async () => {},
      describe: () => 'test',
    };
    const predefined = [{ name: 'lab', external: 'Lab VLAN', gateway: '10.20.0.1/16', ipRange: '10.20.8.0/24', dns: ['10.20.0.53'] }];
    const first = new NetworkService({ root, plumbing, events: new EventLog(), predefined });
    await first.open();
    const lab = first.get('lab');
    assert.deepEqual([lab.subnet, lab.gateway, lab.ipRange, lab.external, lab.dns], ['10.20.0.0/16', '10.20.0.1', '10.20.8.0/24', 'Lab VLAN', ['10.20.0.53']]);
    assert.ok(ensured.some((e) => e.id === lab.id && e.external === 'Lab VLAN'), 'the backend was told which segment');
    await assert.rejects(first.remove('lab'), (err) => statusOf(err) === 403 && /lab is a pre-defined network and cannot be removed/.test((err as Error).message));
    assert.deepEqual(await first.prune(() => true), []);
    assert.deepEqual(removed, []);
    first.close();

    // The next engine keeps the same network (same id), with the configuration's name servers.
    const again = new NetworkService({ root, plumbing, events: new EventLog(), predefined: [{ ...predefined[0], dns: ['10.20.0.54'] }] });
    await again.open();
    assert.equal(again.get('lab').id, lab.id);
    assert.deepEqual(again.get('lab').dns, ['10.20.0.54']);
    again.useContainers((id) => id === 'c'.repeat(64) ? { name: 'c', hostname: 'c', request: { enabled: true, endpoints: [{ network: 'lab', aliases: [] }], ports: [], publishAll: false, exposed: [], extraHosts: [] } } : undefined);
    const record = { id: 'c'.repeat(64), spec: { network: { enabled: true, endpoints: [{ network: 'lab', aliases: [] }], ports: [], publishAll: false, exposed: [], extraHosts: [] } } };
    await again.created(record as never);
    const start = await again.beforeStart(record as never);
    assert.match(start.nics[0].address, /^10\.20\.8\.\d+\/16$/);
    assert.deepEqual(start.dns?.servers, ['10.20.0.54']);
    again.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a predefined network with a FIRST-LAST range: addresses come from it only; a bad range is a 400', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bonneville-range-'));
  try {
    const plumbing: NetworkPlumbing = { hostSubnets: async () => [], ensureNetwork: async () => {}, removeNetwork: async () => {}, sweep: async () => {}, describe: () => 'test' };
    const service = new NetworkService({ root, plumbing, events: new EventLog(), predefined: [{ name: 'r', external: 'pg', gateway: '10.1.1.1/24', ipRange: '10.1.1.10-10.1.1.12' }] });
    await service.open();
    const request = { enabled: true, endpoints: [{ network: 'r', aliases: [] }], ports: [], publishAll: false, exposed: [], extraHosts: [] };
    const ids = ['a', 'b', 'c', 'd'].map((c) => c.repeat(64));
    service.useContainers((id) => (ids.includes(id) ? { name: id.slice(0, 1), hostname: id.slice(0, 12), request } : undefined));
    for (const id of ids.slice(0, 3)) await service.created({ id, spec: { network: request } } as never);
    assert.deepEqual(ids.slice(0, 3).map((id) => service.get('r').endpoints[id].ip), ['10.1.1.10', '10.1.1.11', '10.1.1.12']);
    await assert.rejects(service.created({ id: ids[3], spec: { network: request } } as never), /no available IPv4 addresses on network r/, 'the range is full, the subnet is not');
    // Docker's own ip-range stays a CIDR; a predefined network's range must lie in its subnet.
    await assert.rejects(service.create({ name: 'x', subnet: '10.9.0.0/24', ipRange: '10.9.0.10-10.9.0.20' }), (err) => statusOf(err) === 400 && /invalid ip-range/.test((err as Error).message));
    await assert.rejects(service.create({ name: 'y', subnet: '10.9.1.0/24', ipRange: '10.9.1.10-10.9.2.20', external: 'pg2' }), (err) => statusOf(err) === 400 && /is not inside the subnet 10\.9\.1\.0\/24/.test((err as Error).message));
    await assert.rejects(service.create({ name: 'z', subnet: '10.9.3.0/24', ipRange: '10.9.3.20-10.9.3.10', external: 'pg3' }), (err) => statusOf(err) === 400 && /first address is after the last/.test((err as Error).message));
    service.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
