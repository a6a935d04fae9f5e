// Client errors are answered 400 (or 413) in Docker's error shape, never 500 or accepted: malformed
// escapes, junk integers, null or mistyped bodies, oversized bodies. And what the docker CLI sends
// for `docker create` with many flags still passes. No container VM is started here.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { TestVch } from '../helpers/vch.ts';
import { raw, type RawResponse } from './raw-request.ts';

const vch = new TestVch('input', ['--allowed-registry', '127.0.0.1:1']);

before(async () => { await vch.startWithBusybox(); });
after(async () => { await vch.destroy(); });

const call = (method: string, path: string, body?: unknown) =>
  raw(vch.socket, method, path, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));

function assertClientError(response: RawResponse, status = 400, pattern?: RegExp): void {
  assert.equal(response.status, status, response.body);
  assert.equal(typeof response.json?.message, 'string', response.body);
  if (pattern) assert.match(response.json!.message!, pattern);
}

test('a malformed escape in the path is 400, not 500', async () => {
  assertClientError(await call('GET', '/containers/%ZZ/json'), 400, /escape/);
  assertClientError(await call('GET', '/v1.48/images/%/json'), 400, /escape/);
});

test('junk integers in the query are 400', async () => {
  assertClientError(await call('GET', '/containers/json?limit=1e308'), 400, /limit/);
  assertClientError(await call('GET', '/containers/json?limit=abc'), 400, /limit/);
  const created = await call('POST', '/containers/create?name=junk-query', { Image: 'busybox' });
  assert.equal(created.status, 201, created.body);
  assertClientError(await call('POST', '/containers/junk-query/stop?t=1e308'), 400, /\bt\b/);
  assertClientError(await call('POST', '/containers/junk-query/resize?h=1e3&w=80'), 400);
  assertClientError(await call('GET', '/containers/junk-query/logs?stdout=1&tail=1e308'), 400, /tail/);
  // What the docker CLI sends stays fine: fractional timestamps, "all", booleans as 1/true/anything.
  assert.equal((await call('GET', '/containers/junk-query/logs?stdout=1&since=1700000000.000000000&tail=all')).status, 200);
  assert.equal((await call('GET', '/containers/json?all=yes&limit=-1')).status, 200);
  assert.equal((await call('DELETE', '/containers/junk-query?force=1')).status, 204);
});

test('a null body, or any body that is not an object, is 400', async () => {
  for (const path of ['/containers/create', '/networks/create', '/volumes/create', '/containers/nosuch/exec', '/commit?container=nosuch']) {
    assertClientError(await call('POST', path, 'null'), 400);
    assertClientError(await call('POST', path, '[1]'), 400);
    assertClientError(await call('POST', path, '"text"'), 400);
  }
});

test('Env: [{}] and Cmd: [1, null, {}] are refused with 400 and leave no container', async () => {
  assertClientError(await call('POST', '/containers/create?name=bad-env', { Image: 'busybox', Env: [{}] }), 400, /Env/);
  assertClientError(await call('POST', '/containers/create?name=bad-cmd', { Image: 'busybox', Cmd: [1, null, {}] }), 400, /Cmd/);
  assertClientError(await call('POST', '/containers/create', { Image: 'busybox', HostConfig: { Memory: 'lots' } }), 400, /Memory/);
  assertClientError(await call('POST', '/containers/create', { Image: 'busybox', HostConfig: { RestartPolicy: { Name: 'sometimes' } } }), 400, /RestartPolicy/);
  assertClientError(await call('POST', '/containers/create', { Image: 'busybox', ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: 80 }] } } }), 400, /HostPort/);
  assertClientError(await call('POST', '/volumes/create', { Name: 'v', Labels: { a: 1 } }), 400, /Labels/);
  assertClientError(await call('POST', '/networks/create', { Name: 5 }), 400, /Name/);
  const ps = await vch.docker(['ps', '-a', '--format', '{{.Names}}']);
  assert.doesNotMatch(ps.stdout, /bad-/);
});

test('nulls and a single-string Cmd are taken, as dockerd takes them, and inspect still works', async () => {
  const created = await call('POST', '/containers/create?name=lenient', {
    Image: 'busybox', Cmd: 'sh', Entrypoint: null, Env: null, Labels: null, Hostname: null, WorkingDir: null,
    HostConfig: null, NetworkingConfig: null, Healthcheck: null, StopTimeout: null, Volumes: null, ExtraField: { x: [1] },
  });
  assert.equal(created.status, 201, created.body);
  const inspect = await vch.docker(['inspect', 'lenient']);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.deepEqual(JSON.parse(inspect.stdout)[0].Config.Cmd, ['sh']);
  assert.equal((await call('DELETE', '/containers/lenient')).status, 204);
});

test('a 5 MB create body is 413, and no oversized config.json is written', async () => {
  const env = Array.from({ length: 5 * 1024 * 1024 / 16 }, (_, i) => `V${i.toString().padStart(13, '0')}=`);
  const response = await call('POST', '/containers/create?name=huge', { Image: 'busybox', Env: env });
  assertClientError(response, 413, /too large/);
  const dir = join(vch.datastore, 'containers');
  for (const id of readdirSync(dir)) {
    const config = join(dir, id, 'config.json');
    assert.ok(statSync(config).size < 2 * 1024 * 1024, `${config} is ${statSync(config).size} bytes`);
    assert.doesNotMatch(readFileSync(config, 'utf8'), /"huge"/);
  }
  // The connection is still good for the next request.
  assert.equal((await call('GET', '/_ping')).status, 200);
});

test('docker create with many flags passes validation, and inspect shows what was asked', async () => {
  const create = await vch.docker(['create', '--name', 'flags', '-e', 'A=1', '--env', 'B=two', '-l', 'k=v', '-w', '/tmp', '-u', '0:0',
    '-h', 'host1', '--memory', '128m', '--cpus', '1', '--restart', 'on-failure:3', '-p', '8080:80', '-p', '127.0.0.1:9090:90/udp',
    '--expose', '7000', '--entrypoint', 'sh', '--stop-signal', 'SIGTERM', '--stop-timeout', '5', '--health-cmd', 'true',
    '--health-interval', '30s', '--health-retries', '2', '--init', '--cap-add', 'NET_ADMIN', '--dns', '127.0.0.53', '--add-host', 'a:127.0.0.2',
    '--tmpfs', '/run', '--ulimit', 'nofile=1024:2048', '--log-driver', 'json-file', '--log-opt', 'max-size=1m', '-t', '-i',
    '--mount', 'type=volume,source=flagsvol,target=/data', '--shm-size', '64m', '--read-only', '--privileged=false',
    'busybox', '-c', 'echo hi']);
  assert.equal(create.code, 0, create.stderr + vch.engineLog);
  const inspect = await vch.docker(['inspect', 'flags']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const [c] = JSON.parse(inspect.stdout);
  assert.deepEqual(c.Config.Entrypoint, ['sh']);
  assert.deepEqual(c.Config.Cmd, ['-c', 'echo hi']);
  assert.ok(c.Config.Env.includes('B=two'));
  assert.equal(c.HostConfig.RestartPolicy.Name, 'on-failure');
  const rm = await vch.docker(['rm', '-f', '-v', 'flags']);
  assert.equal(rm.code, 0, rm.stderr);
});

test('bytes that are not HTTP are answered 400 in Docker\'s error shape', async () => {
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(vch.socket);
    let text = '';
    socket.on('data', (d: Buffer) => { text += d.toString(); });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.end('NOT HTTP AT ALL\r\n\r\n');
  });
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.equal(typeof JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)).message, 'string');
});

test('a memory limit smaller than a VM can boot in is refused at create and update with the floor named; the floor itself runs', async () => {
  const small = await vch.docker(['create', '--name', 'tiny', '-m', '64m', 'busybox', 'true']);
  assert.equal(small.code, 1);
  assert.match(small.stderr, /Minimum memory limit allowed is 96MB on this VCH/);
  assert.equal((await vch.docker(['inspect', 'tiny'])).code, 1, 'nothing was created');

  await vch.ok(['create', '--name', 'sized', 'busybox', 'true']);
  const shrunk = await vch.docker(['update', '-m', '64m', '--memory-swap', '-1', 'sized']);
  assert.notEqual(shrunk.code, 0);
  assert.match(shrunk.stderr, /Minimum memory limit allowed is 96MB/);
  await vch.ok(['rm', 'sized']);

  assert.equal(await vch.ok(['run', '--rm', '-m', '96m', 'busybox', 'echo', 'fits']), 'fits\n');
});
