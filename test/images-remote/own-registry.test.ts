// Issue 3 meets issue 4: a VCH works with Bonneville's own registry over HTTPS with the registry's
// CA — docker login, push, pull and run with the real docker CLI, and role checks on the way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../../src/registry/index.ts';
import type { RunningRegistry } from '../../src/registry/index.ts';
import { TestVch } from '../helpers/vch.ts';

const root = mkdtempSync(join(tmpdir(), 'bonneville-own-registry-'));
const password = 'Harbor-style-1';
let registry: RunningRegistry;
let vch: TestVch;
let host: string;

before(async () => {
  registry = await startRegistry({ root, listen: '127.0.0.1:0', adminPassword: password, scheduleCheckSeconds: 0 });
  host = new URL(registry.url).host;
  assert.ok(registry.caCertPath, 'the registry made its own CA');
  vch = new TestVch('ownreg', ['--registry-ca', registry.caCertPath]);
  await vch.startWithBusybox();
});

after(async () => {
  await vch?.destroy();
  await registry?.close();
  rmSync(root, { recursive: true, force: true });
});

test('docker login, push, pull and run against our registry through the VCH', async () => {
  const anonymous = await vch.docker(['push', `${host}/library/busybox:1`]);
  assert.notEqual(anonymous.code, 0, 'nobody pushes before logging in');
  const wrong = await vch.docker(['login', '-u', 'admin', '--password-stdin', host], { input: 'wrong' });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /401|unauthorized|incorrect/i);
  const login = await vch.docker(['login', '-u', 'admin', '--password-stdin', host], { input: password });
  assert.equal(login.code, 0, login.stderr);
  assert.equal((await vch.docker(['tag', 'busybox', `${host}/library/busybox:1`])).code, 0);
  const push = await vch.docker(['push', `${host}/library/busybox:1`]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /1: digest: sha256:[0-9a-f]{64} size: \d+/);
  const id = JSON.parse((await vch.docker(['image', 'inspect', `${host}/library/busybox:1`])).stdout)[0].Id;
  assert.equal((await vch.docker(['rmi', `${host}/library/busybox:1`])).code, 0);
  const logout = await vch.docker(['logout', host]);
  assert.equal(logout.code, 0, logout.stderr);
  // `library` is public: anonymous pulls work, as in Harbor.
  const pull = await vch.docker(['pull', `${host}/library/busybox:1`]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal(JSON.parse((await vch.docker(['image', 'inspect', `${host}/library/busybox:1`])).stdout)[0].Id, id);
  const run = await vch.docker(['run', '--rm', `${host}/library/busybox:1`, 'echo', 'from our registry']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'from our registry\n');
});
