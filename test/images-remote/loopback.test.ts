// Issue 13: registries on loopback (127.0.0.0/8, localhost, ::1) are insecure by default, as with
// dockerd: HTTPS first, then plain HTTP, with no registries.json entry. Pull, run, push and login
// through the real docker CLI against plain-HTTP Debian docker-registries on 127.0.0.1 and localhost;
// the admin's allow-list still applies. One container VM boots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestVch, runCommand, DOCKER } from '../helpers/vch.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { TestRegistry, skopeoCopy } from './peers.ts';

const USER = 'loopuser';
const PASSWORD = 'loop-secret-1';
const vch = new TestVch('loopback');
const plain = new TestRegistry();
const withPassword = new TestRegistry({ htpasswd: { user: USER, password: PASSWORD } });
// The docker CLI keeps logins in DOCKER_CONFIG: a directory of this test's own.
const dockerConfig = mkdtempSync(join(tmpdir(), 'bonneville-loopback-cli-'));

const docker = (args: string[]) => runCommand(DOCKER, args, { env: { ...process.env, DOCKER_HOST: vch.dockerHost, DOCKER_CONFIG: dockerConfig } });

before(async () => {
  const images = await buildTestImages();
  await Promise.all([plain.start(), withPassword.start()]);
  await skopeoCopy(`docker-archive:${images.layered}`, `docker://${plain.host}/acc/layered:1`);
  await skopeoCopy(`docker-archive:${images.busybox}`, `docker://${plain.host}/acc/busybox:1`);
  await skopeoCopy(`docker-archive:${images.busybox}`, `docker://${withPassword.host}/private/busybox:1`, { creds: `${USER}:${PASSWORD}` });
  await vch.start();
});

after(async () => {
  await vch.destroy();
  await Promise.all([plain.stop(), withPassword.stop()]);
  rmSync(dockerConfig, { recursive: true, force: true });
});

test('docker info lists loopback as insecure, as dockerd does', async () => {
  const info = await docker(['info', '--format', '{{json .RegistryConfig.InsecureRegistryCIDRs}}']);
  assert.equal(info.code, 0, info.stderr);
  assert.ok(JSON.parse(info.stdout).includes('127.0.0.0/8'), info.stdout);
  const human = await docker(['info']);
  assert.match(human.stdout, /Insecure Registries:\s*\n(\s+\S+\n)*\s+127\.0\.0\.0\/8/);
});

test('pull from a plain-HTTP registry on 127.0.0.1 and on localhost, with no insecure list', async () => {
  const byAddress = await docker(['pull', `${plain.host}/acc/layered:1`]);
  assert.equal(byAddress.code, 0, byAddress.stderr + vch.engineLog);
  assert.match(byAddress.stdout, /Downloaded newer image|Status:/);
  const byName = await docker(['pull', `localhost:${plain.port}/acc/busybox:1`]);
  assert.equal(byName.code, 0, byName.stderr);
  const list = await docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.ok(list.stdout.includes(`${plain.host}/acc/layered:1`), list.stdout);
  assert.ok(list.stdout.includes(`localhost:${plain.port}/acc/busybox:1`), list.stdout);
});

test('docker run of an image on a loopback registry pulls it and runs it', async () => {
  const run = await docker(['run', '--rm', `localhost:${plain.port}/acc/layered:1`, 'echo', 'from-loopback']);
  assert.equal(run.code, 0, run.stderr + vch.engineLog);
  assert.match(run.stdout, /from-loopback/);
});

test('push to a plain-HTTP registry on 127.0.0.1 and on localhost', async () => {
  for (const target of [`${plain.host}/acc/pushed:1`, `localhost:${plain.port}/acc/pushed:2`]) {
    assert.equal((await docker(['tag', `${plain.host}/acc/layered:1`, target])).code, 0);
    const push = await docker(['push', target]);
    assert.equal(push.code, 0, push.stderr);
  }
  const tags = await runCommand('curl', ['-s', `${plain.url}/v2/acc/pushed/tags/list`]);
  assert.deepEqual(JSON.parse(tags.stdout).tags.sort(), ['1', '2']);
});

test('login with htpasswd over plain HTTP on loopback, then pull and push as that user', async () => {
  const bad = await docker(['login', withPassword.host, '-u', USER, '-p', 'nope']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /401|unauthorized|incorrect/i);
  for (const name of [withPassword.host, `localhost:${withPassword.port}`]) {
    const login = await docker(['login', name, '-u', USER, '-p', PASSWORD]);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /Login Succeeded/);
  }
  const pull = await docker(['pull', `localhost:${withPassword.port}/private/busybox:1`]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal((await docker(['tag', `localhost:${withPassword.port}/private/busybox:1`, `${withPassword.host}/private/copy:1`])).code, 0);
  const push = await docker(['push', `${withPassword.host}/private/copy:1`]);
  assert.equal(push.code, 0, push.stderr);
});

test('the admin allow-list still refuses a loopback registry it does not list', async () => {
  writeFileSync(join(vch.datastore, 'registries.json'), JSON.stringify({ allowedRegistries: [withPassword.host] }));
  try {
    const refused = await docker(['pull', `${plain.host}/acc/busybox:1`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`registry ${plain.host} is not allowed by this VCH`));
  } finally {
    writeFileSync(join(vch.datastore, 'registries.json'), JSON.stringify({}));
  }
});
