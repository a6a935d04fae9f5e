// The pure parts of networking: address plans, /etc/hosts, the create request's network fields, and
// the port proxy (on loopback only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { formatSubnet, macFor, nextFree, parseSubnet, pickSubnet } from '../../src/portlayer/networks/ipam.ts';
import { hostsLines } from '../../src/portlayer/networks/hosts.ts';
import { NetworkService, publishedPorts } from '../../src/portlayer/networks/service.ts';
import { EventLog } from '../../src/portlayer/events.ts';
import type { VmHandle } from '../../src/portlayer/backend.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProxy } from '../../src/portlayer/networks/port-proxy.ts';
import { dockerNetworkRequest } from '../../src/engine/docker/network-request.ts';
import { bridgeName, tapName, vchPrefix } from '../../src/backends/qemu/network/names.ts';
import type { ImageRecord } from '../../src/portlayer/images/types.ts';

test('subnets: the first private /16 nothing routes yet; addresses: the lowest free host address', () => {
  const taken = ['172.17.0.0/16', '192.0.2.0/24', '172.18.5.0/24'].map(parseSubnet);
  assert.equal(formatSubnet(pickSubnet(taken)!), '172.19.0.0/16');
  const net = parseSubnet('10.1.2.0/24');
  assert.equal(nextFree(net, new Set(['10.1.2.1', '10.1.2.2'])), '10.1.2.3');
  assert.equal(nextFree(parseSubnet('10.1.2.0/30'), new Set(['10.1.2.1', '10.1.2.2'])), undefined);
  assert.equal(macFor('172.18.0.2'), '02:42:ac:12:00:02');
  assert.throws(() => parseSubnet('10.0.0.0/31'));
});

test('interface names fit in 15 characters and carry the VCH prefix', () => {
  const prefix = vchPrefix('e90ce5f7-25eb-4cf8-bcdd-e887f667fb8c');
  assert.equal(prefix, 'bve90ce');
  assert.equal(bridgeName(prefix, 'ab'.repeat(32)), 'bve90cebabababa');
  assert.equal(tapName(prefix, 'cd'.repeat(32), 1), 'bve90cetcdcdcd1');
});

test('/etc/hosts: own address and name, peers once each, --add-host', () => {
  const lines = hostsLines({
    hostname: 'abc', ownIp: '172.18.0.2', ownAliases: ['me'], extraHosts: ['db.local:10.0.0.9'],
    peers: [{ ip: '172.18.0.3', names: ['web', 'websrv', '123456789abc'] }, { ip: '172.19.0.3', names: ['web', 'other'] }],
  });
  assert.deepEqual(lines.slice(2), ['172.18.0.2\tabc me', '172.18.0.3\tweb websrv 123456789abc', '172.19.0.3\tother', '10.0.0.9\tdb.local']);
  assert.equal(hostsLines({ hostname: 'abc', ownAliases: [], peers: [], extraHosts: [] })[2], '127.0.1.1\tabc');
});

const image = (exposed: Record<string, object> = {}): ImageRecord => ({
  id: 'sha256:' + 'a'.repeat(64), repoTags: [], repoDigests: [], layers: [], size: 0, stored: '',
  config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'], ExposedPorts: exposed }, rootfs: { type: 'layers', diff_ids: [] } },
});

test('create request: network mode, endpoints with aliases, port bindings, -P', () => {
  const req = dockerNetworkRequest({
    Image: 'x',
    HostConfig: { NetworkMode: 'app', PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '18080' }], '53/udp': [{ HostPort: '' }] }, PublishAllPorts: true },
    NetworkingConfig: { EndpointsConfig: { app: { Aliases: ['web'] }, extra: { IPAMConfig: { IPv4Address: '10.9.0.5' } } } },
  }, image({ '9000/tcp': {} }));
  assert.deepEqual(req.endpoints, [{ network: 'app', aliases: ['web'] }, { network: 'extra', aliases: [], ipv4: '10.9.0.5' }]);
  assert.deepEqual(req.ports, [
    { containerPort: 8080, protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 18080 },
    { containerPort: 53, protocol: 'udp', hostIp: '', hostPort: 0 },
  ]);
  assert.deepEqual(publishedPorts(req).map((p) => `${p.containerPort}/${p.protocol}:${p.hostPort}`), ['8080/tcp:18080', '53/udp:0', '9000/tcp:0']);
  assert.equal(dockerNetworkRequest({ Image: 'x', HostConfig: { NetworkMode: 'none' } }, image()).enabled, false);
  assert.deepEqual(dockerNetworkRequest({ Image: 'x', HostConfig: { NetworkMode: 'default' } }, image()).endpoints, [{ network: 'bridge', aliases: [] }]);
  assert.throws(() => dockerNetworkRequest({ Image: 'x', HostConfig: { NetworkMode: 'host' } }, image()), /not supported/);
});

test('port proxy forwards TCP and UDP on loopback, and a taken port is a Docker-style conflict', async () => {
  const server = createServer((s) => s.end('tcp-ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const tcpTarget = (server.address() as { port: number }).port;
  const tcp = await openProxy({ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, containerPort: tcpTarget }, '127.0.0.1');
  assert.ok(tcp.binding.hostPort > 0);
  const got = await new Promise<string>((resolve, reject) => {
    const c = connect(tcp.binding.hostPort, '127.0.0.1');
    let data = '';
    c.on('data', (d) => { data += d; }).on('end', () => resolve(data)).on('error', reject);
  });
  assert.equal(got, 'tcp-ok');
  await assert.rejects(openProxy({ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: tcp.binding.hostPort, containerPort: 1 }, '127.0.0.1'), /port is already allocated/);
  tcp.close();
  server.close();

  const echo = createSocket('udp4');
  echo.on('message', (msg, peer) => echo.send(Buffer.concat([Buffer.from('echo:'), msg]), peer.port, peer.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  const udp = await openProxy({ protocol: 'udp', hostIp: '127.0.0.1', hostPort: 0, containerPort: echo.address().port }, '127.0.0.1');
  const client = createSocket('udp4');
  const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
  client.send('ping', udp.binding.hostPort, '127.0.0.1');
  assert.equal(await reply, 'echo:ping');
  client.close();
  udp.close();
  echo.close();
});

test('network connect settles once running peers have their new /etc/hosts; a peer that fails is logged, not the request', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bonneville-networks-'));
  try {
    const logged: string[] = [];
    const service = new NetworkService({ root, events: new EventLog(), log: (m) => logged.push(m) });
    await service.open();
    const [peer, broken, joiner] = ['a', 'b', 'c'].map((c) => c.repeat(64));
    const received: string[][] = [];
    // Running peers whose updates take a while (a tether message with a reply), or fail (a stopping VM).
    const vms: Record<string, Partial<VmHandle>> = {};
    const startedVms: Record<string, Partial<VmHandle>> = {
      [peer]: { updateHosts: async (lines: string[]) => { await new Promise((r) => setTimeout(r, 50)); received.push(lines); } },
      [broken]: { updateHosts: async () => { await new Promise((r) => setTimeout(r, 20)); throw new Error('the tether went away'); } },
    };
    const names: Record<string, string> = { [peer]: 'peer', [broken]: 'broken', [joiner]: 'joiner' };
    service.useContainers((id) => names[id] ? {
      name: names[id], hostname: names[id], vm: vms[id] as VmHandle | undefined,
      request: { enabled: true, endpoints: [], ports: [], publishAll: false, exposed: [], extraHosts: [] },
    } : undefined);
    await service.create({ name: 'app' });
    await service.connect('app', peer, {});
    await service.connect('app', broken, {});
    Object.assign(vms, startedVms); // both start
    await service.connect('app', joiner, {});
    assert.equal(received.length, 1, 'the peer was told before connect settled');
    assert.ok(received[0].some((l) => /\tjoiner\b/.test(l)), received[0].join('\n'));
    assert.ok(logged.some((m) => m.includes(`container ${broken.slice(0, 12)}: /etc/hosts not updated: the tether went away`)), logged.join('\n'));
    received.length = 0;
    await service.disconnect('app', joiner);
    assert.equal(received.length, 1, 'and told again before disconnect settled');
    assert.ok(!received[0].some((l) => /\tjoiner\b/.test(l)));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
