// Legacy links (`--link name:alias`) with the real docker CLI against a real VCH, as dockerd has them:
// on the default bridge a hosts entry and the ALIAS_* variables, the linked container running at start;
// on a user-defined network only one more name for the linked container.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestVch } from '../helpers/vch.ts';
import { linkEnv } from '../../src/portlayer/networks/links.ts';

const vch = new TestVch('links');

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
});

async function ok(args: string[]): Promise<string> {
  return (await vch.ok(args)).trim();
}

test("the variables follow dockerd's rules: default port, ranges of three or more, the linked container's env", () => {
  const env = linkEnv({ linkName: '/web/db', alias: 'my-db', ip: '172.17.0.3', exposed: ['5432/tcp', '53/udp', '7000/tcp', '7001/tcp', '7002/tcp'], env: ['PATH=/bin', 'HOME=/root', 'PASS=s=1'] });
  assert.deepEqual(env, [
    'MY_DB_PORT=udp://172.17.0.3:53',
    'MY_DB_PORT_53_UDP=udp://172.17.0.3:53', 'MY_DB_PORT_53_UDP_ADDR=172.17.0.3', 'MY_DB_PORT_53_UDP_PORT=53', 'MY_DB_PORT_53_UDP_PROTO=udp',
    'MY_DB_PORT_5432_TCP=tcp://172.17.0.3:5432', 'MY_DB_PORT_5432_TCP_ADDR=172.17.0.3', 'MY_DB_PORT_5432_TCP_PORT=5432', 'MY_DB_PORT_5432_TCP_PROTO=tcp',
    'MY_DB_PORT_7000_TCP_START=tcp://172.17.0.3:7000', 'MY_DB_PORT_7000_TCP_ADDR=172.17.0.3', 'MY_DB_PORT_7000_TCP_PROTO=tcp', 'MY_DB_PORT_7000_TCP_PORT_START=7000',
    'MY_DB_PORT_7000_TCP_END=tcp://172.17.0.3:7002', 'MY_DB_PORT_7000_TCP_PORT_END=7002',
    'MY_DB_PORT_7000_TCP=tcp://172.17.0.3:7000', 'MY_DB_PORT_7000_TCP_ADDR=172.17.0.3', 'MY_DB_PORT_7000_TCP_PORT=7000', 'MY_DB_PORT_7000_TCP_PROTO=tcp',
    'MY_DB_PORT_7001_TCP=tcp://172.17.0.3:7001', 'MY_DB_PORT_7001_TCP_ADDR=172.17.0.3', 'MY_DB_PORT_7001_TCP_PORT=7001', 'MY_DB_PORT_7001_TCP_PROTO=tcp',
    'MY_DB_PORT_7002_TCP=tcp://172.17.0.3:7002', 'MY_DB_PORT_7002_TCP_ADDR=172.17.0.3', 'MY_DB_PORT_7002_TCP_PORT=7002', 'MY_DB_PORT_7002_TCP_PROTO=tcp',
    'MY_DB_NAME=/web/db',
    'MY_DB_ENV_PASS=s=1',
  ]);
});

test('default bridge: hosts entry and variables; a stopped or missing linked container is refused', async () => {
  await ok(['run', '-d', '--name', 'server', '--hostname', 'srvhost', '-e', 'SECRET=42', '--expose', '80', 'busybox', 'sleep', '1000']);
  const [server] = JSON.parse(await ok(['inspect', 'server']));
  const ip = server.NetworkSettings.Networks.bridge.IPAddress as string;

  const out = await ok(['run', '--name', 'client', '--link', 'server:db', '-e', 'DB_ENV_SECRET=mine', 'busybox', 'sh', '-c', 'env | grep ^DB_ | sort; cat /etc/hosts; ping -c 1 -W 5 db >/dev/null && echo reached']);
  const lines = out.split('\n');
  for (const expected of [`DB_NAME=/client/db`, `DB_PORT=tcp://${ip}:80`, `DB_PORT_80_TCP_ADDR=${ip}`, 'DB_PORT_80_TCP_PORT=80', 'DB_PORT_80_TCP_PROTO=tcp', 'DB_ENV_SECRET=mine']) {
    assert.ok(lines.includes(expected), `${expected} in\n${out}`);
  }
  assert.ok(!lines.some((l) => l.startsWith('DB_ENV_PATH=')), 'PATH is not passed on');
  assert.ok(lines.includes(`${ip}\tdb srvhost server`), out);
  assert.ok(lines.includes('reached'), out);
  const [client] = JSON.parse(await ok(['inspect', 'client']));
  assert.deepEqual(client.HostConfig.Links, ['/server:/client/db']);
  await ok(['rm', 'client']);

  const missing = await vch.docker(['create', '--link', 'nosuch:x', 'busybox']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /could not get container for nosuch/);

  await ok(['stop', '-t', '1', 'server']);
  const stopped = await vch.docker(['run', '--rm', '--link', 'server:db', 'busybox', 'true']);
  assert.notEqual(stopped.code, 0);
  assert.match(stopped.stderr, /Cannot link to a non running container: \/server AS \/[a-z_]+\/db/);
  await ok(['rm', '-f', 'server']);
});

test('user-defined network: a link is an alias the linking container alone resolves, no variables', async () => {
  await ok(['network', 'create', 'linknet']);
  await ok(['run', '-d', '--name', 'backend', '--network', 'linknet', '-e', 'SECRET=42', 'busybox', 'sleep', '1000']);
  const out = await ok(['run', '--rm', '--network', 'linknet', '--link', 'backend:store', 'busybox', 'sh', '-c', 'env | grep -c ^STORE_ || true; nslookup store; ping -c 1 -W 5 store >/dev/null && echo reached']);
  assert.match(out, /^0\n/, 'no link variables on a user-defined network');
  assert.match(out, /Address:? 10\.|Address:? 172\./);
  assert.match(out, /reached$/);
  const other = await vch.docker(['run', '--rm', '--network', 'linknet', 'busybox', 'nslookup', 'store']);
  assert.notEqual(other.code, 0, 'another container does not know the alias');
  await ok(['rm', '-f', 'backend']);
  await ok(['network', 'rm', 'linknet']);
});
