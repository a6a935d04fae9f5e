// Where layers are unpacked (tmpfs when they fit, disk otherwise), the batched making of device
// nodes and whiteouts, and the file a download fills while its layer is unpacked.
import assert from 'node:assert/strict';
import { createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { test } from 'node:test';
import { Ext4DiskStore } from '../../src/backends/qemu/disks/ext4-disk-store.ts';
import { DiskImageStore } from '../../src/portlayer/images/index.ts';
import { GrowingFile } from '../../src/portlayer/images/growing-file.ts';
import { stagingPrefix } from '../../src/portlayer/images/staging.ts';
import { debugfs, makeTar, scratchDir, singleLayerImage } from './helpers.ts';

/** A private directory on /dev/shm (a tmpfs), removed after the test. */
function tmpfsDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync('/dev/shm/bonneville-test-staging-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('device nodes, FIFOs and whiteouts (long names too) are made, and later entries still replace them', async (t) => {
  const dir = await scratchDir(t);
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: join(dir, 'store') });
  const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
  const layer = makeTar([
    { path: 'dev/null', type: 'CharacterDevice', devmaj: 1, devmin: 3, mode: 0o666, uid: 5 },
    { path: 'dev/loop9', type: 'BlockDevice', devmaj: 7, devmin: 9, mode: 0o660 },
    { path: 'run/pipe', type: 'FIFO', mode: 0o600 },
    { path: 'dev/null-again', type: 'Link', linkpath: 'dev/null' },
    { path: `${deep}/.wh.${'f'.repeat(80)}` },
    { path: 'etc/.wh.motd' },
    { path: 'etc/.wh.reborn' },
    { path: 'etc/reborn', content: 'a file after its whiteout wins' },
  ]);
  await store.load(createReadStream(await singleLayerImage(dir, layer, 'nodes:latest')));
  const disk = store.resolve('nodes')?.layers[0].disk;
  assert.ok(disk);
  const devNull = debugfs(disk, 'stat /dev/null');
  assert.match(devNull, /Type: character special/);
  assert.match(devNull, /Device major\/minor number: 01:03/);
  assert.match(devNull, /Mode:\s+0666/);
  assert.match(devNull, /User:\s+5\b/);
  assert.match(debugfs(disk, 'stat /dev/null-again'), /Device major\/minor number: 01:03/);
  assert.match(debugfs(disk, 'stat /dev/loop9'), /Type: block special/);
  assert.match(debugfs(disk, 'stat /run/pipe'), /Type: FIFO/);
  for (const whiteout of [`/${deep}/${'f'.repeat(80)}`, '/etc/motd']) {
    const stats = debugfs(disk, `stat ${whiteout}`);
    assert.match(stats, /Type: character special/, whiteout);
    assert.match(stats, /Device major\/minor number: 00:00/, whiteout);
  }
  assert.match(debugfs(disk, 'cat /etc/reborn'), /a file after its whiteout wins/);
  assert.doesNotMatch(debugfs(disk, 'ls /etc'), /\.wh\./);
});

test('a layer bigger than the tmpfs budget is unpacked on disk instead, leaving nothing on tmpfs', async (t) => {
  const dir = await scratchDir(t);
  const shm = tmpfsDir(t);
  const unpacks: string[] = [];
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: join(dir, 'store'), stagingTmpfs: shm, stagingMaxBytes: 64 * 1024, phases: (layer, phase) => phase === 'unpack' && unpacks.push(layer) });
  const entries = Array.from({ length: 4 }, (_, i) => ({ path: `big/file${i}`, content: `${i}`.repeat(40_000) }));
  await store.load(createReadStream(await singleLayerImage(dir, makeTar(entries), 'big:latest')));
  assert.equal(unpacks.length, 2, 'tried on tmpfs, then again on disk');
  const disk = store.resolve('big')?.layers[0].disk;
  assert.ok(disk);
  assert.match(debugfs(disk, 'cat /big/file3'), /^3{40000}$/);
  assert.deepEqual(readdirSync(shm), []);
  assert.deepEqual(readdirSync(join(dir, 'store', 'tmp')), []);

  // A small layer stays within the budget and is unpacked once, on tmpfs.
  unpacks.length = 0;
  await store.load(createReadStream(await singleLayerImage(dir, makeTar([{ path: 'small', content: 'small' }]), 'small:latest')));
  assert.equal(unpacks.length, 1);
  assert.deepEqual(readdirSync(shm), []);
});

test('hostile layers are refused the same way when unpacked on disk', async (t) => {
  const dir = await scratchDir(t);
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  const root = join(dir, 'store');
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root, stagingTmpfs: null });
  const escape = makeTar([
    { path: 'escape', type: 'SymbolicLink', linkpath: outside },
    { path: 'escape/pwned.txt', content: 'pwned' },
  ]);
  await assert.rejects(store.load(createReadStream(await singleLayerImage(dir, escape, 'evil:symlink'))), { kind: 'InvalidParameter', message: /symlink/ });
  const dotdot = makeTar([{ path: '../../../../escaped-dotdot.txt', content: 'pwned' }]);
  await assert.rejects(store.load(createReadStream(await singleLayerImage(dir, dotdot, 'evil:dotdot'))), { kind: 'InvalidParameter', message: /outside the layer/ });
  assert.deepEqual(readdirSync(outside), []);
  assert.equal(existsSync(join(dir, 'escaped-dotdot.txt')), false);
  assert.deepEqual(readdirSync(join(root, 'layers')), []);
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
});

test('opening a store sweeps its staging directories a killed process left on tmpfs, and nothing else', async (t) => {
  const dir = await scratchDir(t);
  const shm = tmpfsDir(t);
  const root = join(dir, 'store');
  const prefix = stagingPrefix(root);
  const leftover = join(shm, `${prefix}abc123`);
  mkdirSync(join(leftover, 'usr', 'lib'), { recursive: true });
  writeFileSync(join(leftover, 'usr', 'lib', 'half-written'), 'x');
  // Names anyone could plant in a shared tmpfs: a symlink to elsewhere and someone else's directory.
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, 'keep'), 'keep');
  symlinkSync(elsewhere, join(shm, `${prefix}planted`));
  const foreign = join(shm, `${prefix}foreign`);
  mkdirSync(foreign);
  chownSync(foreign, 65534, 65534);
  const otherStore = join(shm, `${stagingPrefix(join(dir, 'another-store'))}xyz`);
  mkdirSync(otherStore);

  new DiskImageStore({ disks: new Ext4DiskStore(), root, stagingTmpfs: shm });
  assert.equal(existsSync(leftover), false);
  assert.ok(lstatSync(join(shm, `${prefix}planted`)).isSymbolicLink());
  assert.deepEqual(readdirSync(elsewhere), ['keep']);
  assert.ok(existsSync(foreign));
  assert.ok(existsSync(otherStore));
});

test('a growing file is read to its end while it is written, and a failure reaches its readers', async (t) => {
  const dir = await scratchDir(t);
  const file = await GrowingFile.create(join(dir, 'blob'));
  const reader = text(file.reader());
  const writer = file.writer();
  for (let i = 0; i < 50; i++) {
    writer.write(Buffer.from(`chunk ${i};`));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  writer.end();
  assert.equal(await reader, Array.from({ length: 50 }, (_, i) => `chunk ${i};`).join(''));

  const failing = await GrowingFile.create(join(dir, 'failing'));
  const failingReader = text(failing.reader());
  failing.writer().write(Buffer.from('half a blob'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  failing.fail(new Error('digest mismatch'));
  await assert.rejects(failingReader, /digest mismatch/);
  await assert.rejects(GrowingFile.create(join(dir, 'blob')), { code: 'EEXIST' });
});
