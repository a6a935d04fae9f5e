// Standby clones (vch serve --standby-clones): VMs restored ahead of time, each handed to exactly one
// container's start — with that container's own disks, config and hostname — never listed as a
// container, killed when the engine stops, and swept by the next engine after a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestVch } from '../helpers/vch.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { QmpClient } from '../../src/backends/qemu/qmp.ts';
import { socketNames } from '../../src/backends/qemu/vm-files.ts';

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('standby clones: one per container start, never reused or listed, gone with the engine', { timeout: 900_000 }, async () => {
  const vch = new TestVch('standby', ['--standby-clones', '1']);
  try {
    await vch.startWithBusybox();
    // The one standby clone once it is ready (restored, answered, paused).
    const readyStandby = () => until('a ready standby clone', async () => {
      const info = await vch.ok(['info', '--format', '{{json .DriverStatus}}']);
      return /Standby clones","1 per shape \(256m-1c: 1 ready\)/.test(info) && vch.standbyPids().length === 1 ? vch.standbyPids()[0] : undefined;
    });
    const pooled = await readyStandby();
    assert.equal((await vch.ok(['ps', '-a', '-q'])).trim(), '', 'a standby clone is not a container');

    const first = (await vch.ok(['run', '-d', '--name', 'first', 'busybox', 'sh', '-c', 'echo first > /marker; sleep 600'])).trim();
    assert.equal(Number((await vch.ok(['inspect', '-f', '{{.State.Pid}}', 'first'])).trim()), pooled, 'the start took the standby clone');
    assert.match(vch.engineLog, new RegExp(`container ${first.slice(0, 12)} started on a standby clone`));
    assert.equal((await vch.ok(['exec', 'first', 'hostname'])).trim(), first.slice(0, 12), 'the container\'s own hostname');
    assert.deepEqual(vch.qemuPids(), [pooled], 'the handed-over VM counts as the container\'s');

    // The pool refills with a new VM; the one handed over never comes back.
    const refill = await readyStandby();
    assert.notEqual(refill, pooled);
    assert.ok(!vch.standbyPids().includes(pooled));
    const second = await vch.ok(['run', '--rm', '--name', 'second', 'busybox', 'sh', '-c', 'cat /marker 2>/dev/null || echo own-disk; hostname']);
    const [marker, hostname] = second.trim().split('\n');
    assert.equal(marker, 'own-disk', 'a second container does not see the first one\'s writable disk');
    assert.notEqual(hostname, first.slice(0, 12));
    assert.equal(vch.engineLog.match(/started on a standby clone/g)?.length, 2, 'the second start used the refill');
    await until('the refill VM gone with its --rm container', () => (alive(refill) ? undefined : true), 60_000);
    assert.ok(alive(pooled), 'the first container still runs on its VM');

    // A polite stop kills the standby clones, not the containers' VMs.
    await readyStandby();
    await vch.stopEngine();
    await until('standby clones gone after the engine stopped', () => (vch.standbyPids().length === 0 ? true : undefined), 30_000);
    assert.deepEqual(vch.qemuPids(), [pooled]);

    // The next engine adopts the container on its standby-born VM.
    await vch.start();
    assert.equal((await vch.ok(['exec', 'first', 'cat', '/marker'])).trim(), 'first');
    // Its NIC slots came with the hand-over (and through the adoption): it joins and leaves a network.
    await vch.ok(['network', 'create', '--subnet', '10.231.9.0/24', 'standby-net']);
    await vch.ok(['network', 'connect', '--ip', '10.231.9.9', 'standby-net', 'first']);
    assert.match(await vch.ok(['exec', 'first', 'ip', '-o', '-4', 'addr']), /inet 10\.231\.9\.9\/24/);
    await vch.ok(['network', 'disconnect', 'standby-net', 'first']);
    assert.doesNotMatch(await vch.ok(['exec', 'first', 'ip', '-o', '-4', 'addr']), /10\.231\.9\.9/);
    await vch.ok(['network', 'rm', 'standby-net']);

    // After a crash the standby clones outlive the engine; the next engine sweeps them.
    const leftover = await readyStandby();
    await vch.killEngine();
    assert.ok(alive(leftover), 'nothing killed it yet');
    await vch.start();
    await until('the leftover standby clone swept', () => (alive(leftover) ? undefined : true), 30_000);
    await vch.ok(['rm', '-f', 'first']);
    assert.deepEqual(vch.qemuPids(), []);
  } finally {
    await vch.destroy();
  }
});

/** The files of the block devices of a container's VM, asked of its QEMU over QMP. */
async function pluggedFiles(vch: TestVch, name: string): Promise<string[]> {
  const id = (await vch.ok(['inspect', '-f', '{{.Id}}', name])).trim();
  // A VM started for the container has its QMP socket named by the container; a standby clone's name is in its record.
  const record = JSON.parse(readFileSync(join(vch.datastore, 'containers', id, 'vm.json'), 'utf8')) as { qmp?: string };
  const qmp = await QmpClient.connect(record.qmp ?? socketNames(id).qmp, 30_000);
  try {
    const blocks = await qmp.execute<Array<{ inserted?: { file: string } }>>('query-block');
    return blocks.flatMap((b) => (b.inserted ? [b.inserted.file] : [])).sort();
  } finally {
    qmp.close();
  }
}

/** The disk files a container was given: its image's layer disks and its writable disk (as the port layer recorded them). */
function ownDisks(vch: TestVch, files: string[], id: string): { layers: string[]; rw: string[] } {
  return {
    layers: files.filter((f) => f.includes(`${join(vch.datastore, 'images')}/`)),
    rw: files.filter((f) => f.includes(id)),
  };
}

test('standby clones with an image\'s layers plugged in: handed only to a container of those layers', { timeout: 900_000 }, async () => {
  const vch = new TestVch('standby-layers', ['--standby-clones', '1']);
  try {
    await vch.startWithBusybox();
    await vch.ok(['load', '-i', (await buildTestImages()).layered]);
    const readyStandby = () => until('a ready standby clone', async () => {
      const info = await vch.ok(['info', '--format', '{{json .DriverStatus}}']);
      return /\(256m-1c: 1 ready\)/.test(info) && vch.standbyPids().length === 1 ? vch.standbyPids()[0] : undefined;
    });
    const started = (name: string) => vch.engineLog.split('\n').find((l) => l.includes(`container ${name.slice(0, 12)} started`)) ?? '';

    // A generic standby clone (no image started yet) takes the first busybox start; its refill gets
    // busybox's layer plugged in.
    await readyStandby();
    const a = (await vch.ok(['run', '-d', '--name', 'la', 'busybox', 'sleep', '600'])).trim();
    assert.match(started(a), /on a standby clone/);
    // "layered" is busybox's layer and one more: the refill has its first layer, the start plugs the second.
    const withBusybox = await readyStandby();
    const b = (await vch.ok(['run', '-d', '--name', 'lb', 'layered', 'sleep', '600'])).trim();
    assert.match(started(b), /on a standby clone/);
    assert.equal(Number((await vch.ok(['inspect', '-f', '{{.State.Pid}}', 'lb'])).trim()), withBusybox);
    const bFiles = await pluggedFiles(vch, 'lb');
    assert.equal(bFiles.length, 3, `two layers and the writable disk: ${bFiles.join(' ')}`);
    assert.equal(ownDisks(vch, bFiles, b).rw.length, 1);
    assert.equal((await vch.ok(['exec', 'lb', 'ls', '/var/www'])).trim() !== '', true, 'the second layer is there');

    // The refill now has layered's two layers: a busybox container (one layer) must not get it — the
    // pool discards it and the start restores a clone of its own, with only its own disks.
    const withLayered = await readyStandby();
    const c = (await vch.ok(['run', '-d', '--name', 'lc', 'busybox', 'sleep', '600'])).trim();
    assert.match(started(c), /as a clone/);
    assert.notEqual(Number((await vch.ok(['inspect', '-f', '{{.State.Pid}}', 'lc'])).trim()), withLayered);
    const cFiles = await pluggedFiles(vch, 'lc');
    assert.equal(cFiles.length, 2, `one layer and the writable disk: ${cFiles.join(' ')}`);
    assert.deepEqual(ownDisks(vch, cFiles, c).layers, ownDisks(vch, await pluggedFiles(vch, 'la'), a).layers, 'busybox\'s layer, as the first container has');
    await until('the mismatched standby clone discarded', () => (alive(withLayered) ? undefined : true), 30_000);
    await vch.ok(['rm', '-f', 'la', 'lb', 'lc']);
  } finally {
    await vch.destroy();
  }
});
