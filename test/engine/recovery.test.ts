// State lives with the VMs: an engine killed with -9 comes back with the same containers, and the VMs
// that were running kept running and can still be logged, stopped and removed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TestVch } from '../helpers/vch.ts';

const vch = new TestVch('recovery');

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
});

test('containers survive kill -9 of the engine and can still be managed', async () => {
  const run = await vch.docker(['run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done']);
  assert.equal(run.code, 0, run.stderr);
  const created = await vch.docker(['create', '--name', 'idle', 'busybox', 'true']);
  assert.equal(created.code, 0, created.stderr);
  const exited = await vch.docker(['run', '--name', 'done', 'busybox', 'sh', '-c', 'exit 7']);
  assert.equal(exited.code, 7);
  const [pid] = vch.qemuPids();
  assert.ok(pid);

  await vch.killEngine();
  assert.deepEqual(vch.qemuPids(), [pid], 'the VM outlives the engine');
  await new Promise((r) => setTimeout(r, 1500));
  await vch.start();

  const ps = await vch.docker(['ps', '-a', '--format', '{{.Names}} {{.State}}']);
  const states = Object.fromEntries(ps.stdout.trim().split('\n').map((l) => l.split(' ')));
  assert.deepEqual(states, { survivor: 'running', idle: 'created', done: 'exited' });
  const done = JSON.parse((await vch.docker(['inspect', 'done'])).stdout)[0];
  assert.equal(done.State.ExitCode, 7);

  const logs = await vch.docker(['logs', 'survivor']);
  assert.match(logs.stdout, /^tick 0\n/);
  const ticks = logs.stdout.trim().split('\n').length;
  assert.ok(ticks >= 2, 'output written while no engine ran is kept');

  const stop = await vch.docker(['stop', '-t', '2', 'survivor']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.deepEqual(vch.qemuPids(), []);
  const state = JSON.parse((await vch.docker(['inspect', 'survivor'])).stdout)[0].State;
  assert.equal(state.Status, 'exited');
  const rm = await vch.docker(['rm', 'survivor', 'idle', 'done']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((await vch.docker(['ps', '-aq'])).stdout.trim(), '');
});

test('a container that exits while the engine is down is reported with its exit code', async () => {
  const run = await vch.docker(['run', '-d', '--name', 'brief', 'busybox', 'sh', '-c', 'sleep 3; echo bye; exit 5']);
  assert.equal(run.code, 0, run.stderr);
  await vch.killEngine();
  const deadline = Date.now() + 60_000;
  while (vch.qemuPids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(vch.qemuPids(), []);
  await vch.start();
  const state = JSON.parse((await vch.docker(['inspect', 'brief'])).stdout)[0].State;
  assert.equal(state.Status, 'exited');
  assert.equal(state.ExitCode, 5);
  assert.equal((await vch.docker(['logs', 'brief'])).stdout, 'bye\n');
  await vch.docker(['rm', 'brief']);
});
