// The VCH's TCP endpoint speaks mutual TLS: the docker CLI with the VCH's client certificate gets in
// (attach streams included), a client without one does not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestVch, DOCKER, runCommand } from '../helpers/vch.ts';

const vch = new TestVch('tls', ['--tls-listen', '127.0.0.1:0']);
let endpoints: { tcp: string; certPath: string };

before(async () => {
  await vch.startWithBusybox();
  endpoints = JSON.parse(readFileSync(join(vch.datastore, 'endpoints.json'), 'utf8'));
});

after(async () => {
  await vch.destroy();
});

function overTls(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCommand(DOCKER, args, { env: { ...process.env, DOCKER_HOST: endpoints.tcp, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: endpoints.certPath, ...env } });
}

test('the docker CLI with the client certificate runs a container over TCP + mutual TLS', async () => {
  assert.match(endpoints.tcp, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  const version = await overTls(['version', '--format', '{{.Server.APIVersion}}']);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), '1.48');
  const run = await overTls(['run', '--rm', 'busybox', 'sh', '-c', 'echo over tls']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'over tls\n');
});

test('a client without a certificate from the VCH CA is refused', async () => {
  const url = endpoints.tcp.replace('tcp://', 'https://');
  const ca = readFileSync(join(endpoints.certPath, 'ca.pem'));
  const { request } = await import('node:https');
  const outcome = await new Promise<string>((resolve) => {
    const req = request(`${url}/_ping`, { ca }, (res) => { res.resume(); resolve(`status ${res.statusCode}`); });
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.end();
  });
  assert.match(outcome, /^error /);
  const plain = await runCommand(DOCKER, ['version'], { env: { ...process.env, DOCKER_HOST: endpoints.tcp, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' } });
  assert.notEqual(plain.code, 0);
});
