// The whole engine on the in-memory fake backend, driven by the real docker CLI: the engine wires
// nothing backend-specific, and what the fake does not declare reaches the client as Docker's error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startEngine, type RunningEngine } from '../../src/engine/engine.ts';
import { FakeBackend } from '../../src/backends/fake/backend.ts';
import { DOCKER, runCommand } from '../helpers/vch.ts';
import { makeTar, singleLayerImage } from '../images/helpers.ts';

describe('engine on the fake backend', () => {
  let dir: string;
  let engine: RunningEngine;
  let backend: FakeBackend;
  const docker = (...args: string[]) => runCommand(DOCKER, ['-H', `unix://${join(dir, 'docker.sock')}`, ...args], { timeoutMs: 60_000 });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bonneville-fake-engine-'));
    backend = new FakeBackend({ capabilities: { pause: false } });
    engine = await startEngine({ name: 'fake', datastore: join(dir, 'datastore'), backend, socket: join(dir, 'docker.sock'), dnsServers: ['127.0.0.1:53'], log: () => {} });
    const layer = makeTar([{ path: 'bin/', type: 'Directory' }, { path: 'bin/app', content: 'binary', mode: 0o755 }]);
    const loaded = await docker('load', '-i', await singleLayerImage(dir, layer, 'app:latest'));
    assert.equal(loaded.code, 0, loaded.stderr);
  });

  after(async () => {
    await engine?.close();
    for (const vm of backend?.host.vms.values() ?? []) await vm.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a container to its exit code and output, and --rm tears it down through the backend', async () => {
    const run = await docker('run', '--rm', '--network', 'none', 'app', 'sh', '-c', 'echo from-the-fake; exit 4');
    assert.equal(run.code, 4, run.stderr);
    assert.equal(run.stdout, 'from-the-fake\n');
    assert.equal((await docker('ps', '-aq')).stdout, '');
    // The CLI's wait is answered once the removal is durable; the teardown may still be finishing.
    await engine.portLayer.containers.teardownsSettled();
    assert.equal(backend.host.teardowns.length, 1);
    // A backend without network plumbing gives containers loopback only, whatever the network asked.
    const plain = await docker('run', '--rm', 'app', 'echo', 'plain');
    assert.deepEqual([plain.code, plain.stdout], [0, 'plain\n'], plain.stderr);
  });

  it('answers what the backend cannot do with Docker errors: pause 501, cp from a stopped container 501', async () => {
    const id = (await docker('run', '-d', '--network', 'none', 'app', 'sleep', '600')).stdout.trim();
    const paused = await docker('pause', id);
    assert.notEqual(paused.code, 0);
    assert.match(paused.stderr, /backend \(fake\) cannot pause containers/);
    assert.equal((await docker('inspect', '-f', '{{.State.Pid}} {{.State.Running}}', id)).stdout.trim(), `${backend.host.vm(id).reportedPid} true`);
    assert.equal((await docker('stop', '-t', '1', id)).code, 0);
    const cp = await docker('cp', `${id}:/bin/app`, join(dir, 'app'));
    assert.notEqual(cp.code, 0);
    assert.match(cp.stderr, /cannot reach the files of a stopped container/);
    assert.equal((await docker('rm', id)).code, 0);
  });
});
