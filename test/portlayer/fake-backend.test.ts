// The port layer on the in-memory fake backend: restart, recovery and failure paths driven by the
// test (a crash now, a boot that fails, an engine restart), which real VMs cannot be made to do on cue.
import assert from 'node:assert/strict';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { FakeBackend, FakeHost } from '../../src/backends/fake/backend.ts';
import { openPortLayer, type PortLayer } from '../../src/portlayer/port-layer.ts';
import { toContainerSpec } from '../../src/engine/docker/create-request.ts';
import { statusOf } from '../../src/engine/http/errors.ts';
import { makeTar, singleLayerImage } from '../images/helpers.ts';

interface Setup {
  datastore: string;
  host: FakeHost;
  open(options?: { pause?: boolean }): Promise<PortLayer>;
}

async function setup(t: { after(fn: () => void): void }): Promise<Setup> {
  const datastore = mkdtempSync(join(tmpdir(), 'bonneville-fake-portlayer-'));
  const host = new FakeHost();
  const opened: PortLayer[] = [];
  t.after(() => {
    for (const p of opened) p.close();
    for (const vm of host.vms.values()) void vm.kill();
    rmSync(datastore, { recursive: true, force: true });
  });
  return {
    datastore,
    host,
    open: async (options = {}) => {
      const portLayer = await openPortLayer({ datastore, backend: new FakeBackend({ host, capabilities: { pause: options.pause } }), dnsServers: ['127.0.0.1:53'], log: () => {} });
      opened.push(portLayer);
      return portLayer;
    },
  };
}

async function loadImage(p: PortLayer, datastore: string): Promise<void> {
  const layer = makeTar([{ path: 'bin/', type: 'Directory' }, { path: 'bin/app', content: 'binary', mode: 0o755 }]);
  const tarball = await singleLayerImage(datastore, layer, 'app:latest');
  await p.images.load(createReadStream(tarball));
}

async function create(p: PortLayer, request: { Cmd: string[]; OpenStdin?: boolean; HostConfig?: Record<string, unknown> }): Promise<string> {
  const image = p.images.resolve('app:latest')!;
  const spec = toContainerSpec('', { Image: 'app:latest', ...request, HostConfig: { NetworkMode: 'none', ...request.HostConfig } }, image);
  return (await p.containers.create(spec)).record.id;
}

test('a crash the test causes is restarted per policy, counted, and ends for good on docker stop', async (t) => {
  const s = await setup(t);
  const p = await s.open();
  await loadImage(p, s.datastore);
  const id = await create(p, { Cmd: ['sleep', '600'], HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } } });
  await p.containers.start(id);
  const first = s.host.vm(id);
  const restarted = once(p.containers.events, 'start');
  first.crash();
  await restarted;
  const view = p.containers.get(id);
  assert.equal(view.state.status, 'running');
  assert.equal(view.state.restartCount, 1);
  assert.notEqual(s.host.vm(id), first, 'a new VM runs the container');
  await p.containers.stop(id, { timeout: 1 });
  assert.equal(p.containers.get(id).state.status, 'exited');
  assert.equal(s.host.vms.size, 0, 'no restart after a stop');
});

test('a boot that fails leaves an exited container with the error, and nothing of a --rm one', async (t) => {
  const s = await setup(t);
  const p = await s.open();
  await loadImage(p, s.datastore);
  const kept = await create(p, { Cmd: ['true'] });
  s.host.failNextBoots.push(new Error('no capacity left'));
  await assert.rejects(p.containers.start(kept), (err: unknown) => statusOf(err) === 500 && /no capacity left/.test((err as Error).message));
  const state = p.containers.get(kept).state;
  assert.deepEqual([state.status, state.exitCode, state.error], ['exited', 128, 'no capacity left']);

  const doomed = await create(p, { Cmd: ['true'], HostConfig: { AutoRemove: true } });
  const writable = s.host.disks.containerDisk(join(s.datastore, 'containers', doomed));
  assert.equal(s.host.disks.exists(writable), true);
  s.host.failNextBoots.push(new Error('no capacity left'));
  const removed = once(p.containers.events, 'removed');
  await assert.rejects(p.containers.start(doomed));
  await removed;
  assert.throws(() => p.containers.get(doomed), (err) => statusOf(err) === 404);
  // Waiters are answered once the removal is durable; the teardown finishes after.
  await p.containers.teardownsSettled();
  assert.ok(s.host.teardowns.some((d) => d.id === doomed), 'the backend tore it down');
  assert.equal(s.host.disks.exists(writable), false, 'its writable disk is destroyed');
  assert.equal(existsSync(join(s.datastore, 'containers', doomed)), false);
  assert.equal(s.host.vms.size, 0);
});

test('an --rm container\'s wait is answered before its teardown, and an engine that dies then leaves it for the next to finish', async (t) => {
  const s = await setup(t);
  const first = await s.open();
  await loadImage(first, s.datastore);
  const id = await create(first, { Cmd: ['sleep', '600'], HostConfig: { AutoRemove: true } });
  const dir = join(s.datastore, 'containers', id);
  const writable = s.host.disks.containerDisk(dir);
  await first.containers.start(id);
  // The teardown never gets past its start: the engine is taken to die right after the answer.
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  t.after(() => release());
  let teardownBegun!: () => void;
  const begun = new Promise<void>((resolve) => { teardownBegun = resolve; });
  s.host.beforeTeardown = () => { teardownBegun(); return held; };
  let answer: unknown;
  void first.containers.wait(id, 'removed').then((exit) => { answer = exit; });
  s.host.vm(id).exit(3);
  await begun;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(answer, { code: 3 }, 'wait?condition=removed is answered while the teardown is held');
  assert.throws(() => first.containers.get(id), (err) => statusOf(err) === 404, 'gone from the list once the wait is answered');
  const saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { status: string; exitCode: number };
  assert.deepEqual([saved.status, saved.exitCode], ['removing', 3], 'the removal is durable before the answer');
  assert.equal(s.host.disks.exists(writable), true, 'the teardown is still under way');
  first.close();
  s.host.beforeTeardown = undefined;
  const second = await s.open();
  assert.throws(() => second.containers.get(id), (err) => statusOf(err) === 404);
  assert.equal(existsSync(dir), false, 'the next engine finished the removal');
  assert.equal(s.host.disks.exists(writable), false);
  assert.ok(s.host.teardowns.some((d) => d.id === id));
  assert.equal(s.host.vms.size, 0);
});

test('an --rm container whose VM ended while no engine ran is removed by the next engine', async (t) => {
  const s = await setup(t);
  const first = await s.open();
  await loadImage(first, s.datastore);
  // `cat` on an open stdin: a process that runs with no timer of its own (the lost VM is never ended).
  const id = await create(first, { Cmd: ['cat'], OpenStdin: true, HostConfig: { AutoRemove: true } });
  const dir = join(s.datastore, 'containers', id);
  const writable = s.host.disks.containerDisk(dir);
  await first.containers.start(id);
  first.close();
  // The VM is gone by the time the next engine looks (the host lost it while no engine watched).
  s.host.vms.delete(id);
  const second = await s.open();
  assert.throws(() => second.containers.get(id), (err) => statusOf(err) === 404);
  assert.equal(existsSync(dir), false);
  assert.equal(s.host.disks.exists(writable), false);
});

test('removal kills the VM, then tears down through the backend and its disk store', async (t) => {
  const s = await setup(t);
  const p = await s.open();
  await loadImage(p, s.datastore);
  const id = await create(p, { Cmd: ['sleep', '600'] });
  await p.containers.start(id);
  const vm = s.host.vm(id);
  const writable = s.host.disks.containerDisk(join(s.datastore, 'containers', id));
  await assert.rejects(p.containers.remove(id), (err: unknown) => statusOf(err) === 409);
  await p.containers.remove(id, { force: true });
  assert.equal(vm.running, false);
  assert.deepEqual(s.host.teardowns.map((d) => d.id), [id]);
  assert.deepEqual(s.host.disks.destroyed, [writable]);
  assert.equal(existsSync(join(s.datastore, 'containers', id)), false);
});

test('a restarted port layer adopts the running VM and records the exit it makes later', async (t) => {
  const s = await setup(t);
  const first = await s.open();
  await loadImage(first, s.datastore);
  const id = await create(first, { Cmd: ['sleep', '600'] });
  await first.containers.start(id);
  first.close();
  const second = await s.open();
  assert.equal(second.containers.get(id).state.status, 'running');
  const exited = once(second.containers.events, 'exit');
  s.host.vm(id).exit(5);
  await exited;
  assert.deepEqual([second.containers.get(id).state.status, second.containers.get(id).state.exitCode], ['exited', 5]);
  const logs: string[] = [];
  for await (const r of second.output.logs(id, { follow: false })) logs.push(r.data.toString());
  assert.deepEqual(logs, []);
});

test('what the backend does not declare is refused with 501: pause, files of a stopped container', async (t) => {
  const s = await setup(t);
  const p = await s.open({ pause: false });
  await loadImage(p, s.datastore);
  const id = await create(p, { Cmd: ['sleep', '600'] });
  await p.containers.start(id);
  await assert.rejects(p.containers.pause(id), (err: unknown) => statusOf(err) === 501 && /cannot pause/.test((err as Error).message));
  await p.containers.stop(id, { timeout: 0 });
  await assert.rejects(p.files.stat(id, '/bin'), (err: unknown) => statusOf(err) === 501);
  await assert.rejects(p.files.write(id, '/', Readable.from([]), { noOverwriteDirNonDir: false, copyUIDGID: false }), (err: unknown) => statusOf(err) === 501);
  await assert.rejects(p.images.changes(p.containers.filesystemOf(id)), (err: unknown) => statusOf(err) === 501);
});

test('removing a volume or an image destroys its disks in the disk store', async (t) => {
  const s = await setup(t);
  const p = await s.open();
  await loadImage(p, s.datastore);
  const layer = p.images.resolve('app:latest')!.layers[0].disk;
  const volume = (await p.volumes.create({ name: 'data' })).disk;
  assert.equal(s.host.disks.exists(volume), true);
  p.volumes.remove('data');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(s.host.disks.exists(volume), false);
  await p.images.remove('app:latest');
  assert.equal(s.host.disks.exists(layer), false);
  assert.deepEqual([...s.host.disks.disks.keys()], [], 'no disk is left');
});
