// Container networks against a real VCH: each network a bridge on this host, each container's NIC a
// tap in it. Traffic stays on loopback (published ports) and on the bridges these tests create.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestVch, runCommand } from '../helpers/vch.ts';
import { listLinks } from '../../src/backends/qemu/network/ip.ts';
import { vchPrefix } from '../../src/backends/qemu/network/names.ts';

const vch = new TestVch('networks');
const COMPOSE = '/usr/bin/docker-compose';
let prefix = '';

before(async () => {
  await vch.startWithBusybox();
  prefix = vchPrefix(vch.vchId()!);
});

after(async () => {
  await vch.destroy();
});

async function ourLinks(kind: 'b' | 't'): Promise<string[]> {
  return (await listLinks()).map((l) => l.name).filter((n) => n.startsWith(`${prefix}${kind}`));
}

async function ok(args: string[]): Promise<string> {
  return (await vch.ok(args)).trim();
}

/** A free TCP port on loopback, for -p. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function fetchText(url: string, attempts = 50): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(url);
      return await res.text();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const SERVE = (text: string) => `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 8080 -h /www`;

test('network create, ls, inspect and rm make and remove a bridge', async () => {
  const bridgesBefore = await ourLinks('b');
  assert.equal(bridgesBefore.length, 1, 'the default bridge network exists from the start');
  const id = await ok(['network', 'create', '--subnet', '10.123.45.0/24', '--label', 'purpose=test', 'plain']);
  const ls = await ok(['network', 'ls', '--filter', 'label=purpose=test', '--format', '{{.Name}} {{.Driver}}']);
  assert.equal(ls, 'plain bridge');
  const [net] = JSON.parse(await ok(['network', 'inspect', 'plain']));
  assert.equal(net.Id, id);
  assert.deepEqual(net.IPAM.Config, [{ Subnet: '10.123.45.0/24', Gateway: '10.123.45.1' }]);
  const bridges = await ourLinks('b');
  assert.equal(bridges.length, 2);
  const addr = await runCommand('ip', ['-4', '-o', 'addr', 'show', 'dev', bridges.find((b) => !bridgesBefore.includes(b))!]);
  assert.match(addr.stdout, /10\.123\.45\.1\/24/);
  const dup = await vch.docker(['network', 'create', 'plain']);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /already exists/);
  await ok(['network', 'rm', 'plain']);
  assert.deepEqual(await ourLinks('b'), bridgesBefore);
  const rmDefault = await vch.docker(['network', 'rm', 'bridge']);
  assert.match(rmDefault.stderr, /pre-defined network/);
});

test('IPAM ip-range bounds dynamic addresses; other drivers are refused as dockerd refuses them', async () => {
  await ok(['network', 'create', '--subnet', '10.123.46.0/24', '--ip-range', '10.123.46.128/25', 'ranged']);
  const [net] = JSON.parse(await ok(['network', 'inspect', 'ranged']));
  assert.deepEqual(net.IPAM.Config, [{ Subnet: '10.123.46.0/24', Gateway: '10.123.46.1', IPRange: '10.123.46.128/25' }]);
  const id = await ok(['create', '--network', 'ranged', 'busybox', 'true']);
  const fixed = await ok(['create', '--network', 'ranged', '--ip', '10.123.46.5', 'busybox', 'true']);
  const members = JSON.parse(await ok(['network', 'inspect', 'ranged']))[0].Containers;
  assert.equal(members[id].IPv4Address, '10.123.46.128/24');
  assert.equal(members[fixed].IPv4Address, '10.123.46.5/24');
  // (The CLI checks this itself; the API must too.)
  const outside = await runCommand('curl', ['-s', '-w', '\n%{http_code}', '--unix-socket', vch.socket, '-H', 'Content-Type: application/json', '-d',
    JSON.stringify({ Name: 'bad-range', IPAM: { Config: [{ Subnet: '10.123.47.0/24', IPRange: '10.123.48.0/25' }] } }), 'http://engine/networks/create']);
  assert.match(outside.stdout, /not inside the subnet[\s\S]*\n400$/);
  await ok(['rm', id, fixed]);
  await ok(['network', 'rm', 'ranged']);
  const overlay = await vch.docker(['network', 'create', '-d', 'overlay', 'ov']);
  assert.match(overlay.stderr, /This node is not a swarm manager/);
  const host = await vch.docker(['network', 'create', '-d', 'host', 'h2']);
  assert.match(host.stderr, /only one instance of "host" network is allowed/);
  const unknown = await vch.docker(['network', 'create', '-d', 'weave', 'w']);
  assert.match(unknown.stderr, /plugin "weave" not found/);
});

test('containers on a user network reach each other by name, alias and IP; a published port answers on loopback', async () => {
  await ok(['network', 'create', 'appnet']);
  const hostPort = await freePort();
  await ok(['run', '-d', '--name', 'web', '--network', 'appnet', '--network-alias', 'websrv', '-p', `127.0.0.1:${hostPort}:8080`, 'busybox', 'sh', '-c', SERVE('hello-from-web')]);
  const [web] = JSON.parse(await ok(['inspect', 'web']));
  const ip = web.NetworkSettings.Networks.appnet.IPAddress;
  assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  assert.ok(web.NetworkSettings.Networks.appnet.Aliases.includes('websrv'));
  assert.deepEqual(web.NetworkSettings.Ports['8080/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }]);

  const client = await ok(['run', '--rm', '--network', 'appnet', 'busybox', 'sh', '-c',
    // (No `wget -T`: Debian's static busybox wget crashes with it.)
    `for n in web websrv ${ip}; do for i in $(seq 1 50); do wget -q -O - http://$n:8080/ && break; sleep 0.2; done; done`]);
  assert.deepEqual(client.split('\n'), ['hello-from-web', 'hello-from-web', 'hello-from-web']);

  assert.equal((await fetchText(`http://127.0.0.1:${hostPort}/`)).trim(), 'hello-from-web');
  assert.equal(await ok(['port', 'web']), `8080/tcp -> 127.0.0.1:${hostPort}`);
  assert.equal(await ok(['ps', '--filter', 'name=web', '--format', '{{.Ports}}']), `127.0.0.1:${hostPort}->8080/tcp`);

  // A peer that joins later shows up in the running container's /etc/hosts.
  const t0 = performance.now();
  await ok(['create', '--name', 'late', '--network', 'appnet', 'busybox', 'true']);
  let hosts = '';
  for (let i = 0; i < 50 && !/\slate(\s|$)/m.test(hosts); i++) hosts = await ok(['exec', 'web', 'cat', '/etc/hosts']);
  assert.match(hosts, /\slate(\s|$)/m);
  console.log(`# /etc/hosts of a running peer updated ${Math.round(performance.now() - t0)} ms after docker create`);
  await ok(['rm', 'late']);
});

test('engine kill -9 and restart: the published port is served again, on the same host port', async () => {
  const before = await ok(['port', 'web']);
  await vch.killEngine();
  await vch.start();
  assert.equal(await ok(['port', 'web']), before);
  const hostPort = before.split(':').pop();
  assert.equal((await fetchText(`http://127.0.0.1:${hostPort}/`)).trim(), 'hello-from-web');
  assert.equal((await ourLinks('t')).length, 1, 'the running container keeps its tap');
});

test('removing containers and networks removes their taps, proxies and bridges', async () => {
  const hostPort = (await ok(['port', 'web'])).split(':').pop();
  await ok(['rm', '-f', 'web']);
  assert.deepEqual(await ourLinks('t'), []);
  await assert.rejects(fetch(`http://127.0.0.1:${hostPort}/`));
  const inUse = await vch.docker(['network', 'rm', 'appnet']);
  assert.equal(inUse.code, 0, inUse.stderr);
  assert.equal((await ourLinks('b')).length, 1);
});

test('docker-compose: a two-service project reaches its peer by service name; up, ps, logs, down', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-compose-'));
  try {
    writeFileSync(join(dir, 'docker-compose.yml'), [
      'version: "3"',
      'services:',
      '  web:',
      '    image: busybox',
      `    command: ["sh", "-c", "${SERVE('compose-web')}"]`,
      '  client:',
      '    image: busybox',
      '    depends_on: [web]',
      '    command: ["sh", "-c", "for i in $$(seq 1 100); do wget -q -O - http://web:8080/ && break; sleep 0.2; done; exec sleep 3600"]',
      '',
    ].join('\n'));
    const compose = (args: string[]) => runCommand(COMPOSE, ['-p', 'bvtest', ...args], { env: { ...process.env, DOCKER_HOST: vch.dockerHost }, timeoutMs: 180_000 })
      .then((r) => { assert.equal(r.code, 0, `docker-compose ${args.join(' ')}: ${r.stderr}`); return r; });
    process.chdir(dir);
    await compose(['up', '-d']);
    const ps = await compose(['ps']);
    assert.match(ps.stdout, /bvtest_web_1\s.*Up/);
    assert.match(ps.stdout, /bvtest_client_1\s.*Up/);
    let logs = '';
    for (let i = 0; i < 100 && !logs.includes('compose-web'); i++) {
      logs = (await compose(['logs', 'client'])).stdout;
      if (!logs.includes('compose-web')) await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(logs, /compose-web/);
    assert.match(await ok(['network', 'ls', '--format', '{{.Name}}']), /bvtest_default/);
    await compose(['down', '-t', '1']);
    assert.doesNotMatch(await ok(['network', 'ls', '--format', '{{.Name}}']), /bvtest_default/);
    assert.equal(await ok(['ps', '-aq']), '');
    assert.deepEqual(await ourLinks('t'), []);
    assert.equal((await ourLinks('b')).length, 1);
  } finally {
    process.chdir('/');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('destroying the VCH leaves no bridge, tap or NAT rule of it', async () => {
  await vch.destroy();
  assert.deepEqual((await listLinks()).map((l) => l.name).filter((n) => n.startsWith(prefix)), []);
  const nat = await runCommand('iptables', ['-t', 'nat', '-S', 'POSTROUTING']);
  assert.ok(!nat.stdout.includes(`bonneville:${prefix}:`), nat.stdout);
});
