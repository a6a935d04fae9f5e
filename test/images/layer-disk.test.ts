import assert from 'node:assert/strict';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ext4DiskStore } from '../../src/backends/qemu/disks/ext4-disk-store.ts';
import { DiskImageStore } from '../../src/portlayer/images/index.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { writeDockerArchive } from '../fixtures/image-tarballs.ts';
import { imageConfig } from '../fixtures/images.ts';
import { debugfs, makeTar, scratchDir, sha256, singleLayerImage } from './helpers.ts';

test('whiteouts become char 0:0 nodes and opaque dirs carry trusted.overlay.opaque=y', async (t) => {
  const images = await buildTestImages();
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: await scratchDir(t) });
  await store.load(createReadStream(images.layered));
  const top = store.resolve('layered')?.layers[1].disk;
  assert.ok(top);
  const whiteout = debugfs(top, 'stat /etc/motd');
  assert.match(whiteout, /Type: character special/);
  assert.match(whiteout, /Device major\/minor number: 00:00/);
  assert.match(debugfs(top, 'ea_list /var/www'), /trusted\.overlay\.opaque \(1\) = "y"/);
  assert.match(debugfs(top, 'cat /var/www/layered.html'), /layered/);
  assert.doesNotMatch(debugfs(top, 'ls /var/www'), /\.wh\./);
  assert.doesNotMatch(debugfs(top, 'ls /etc'), /\.wh\./);
  // The hard link and its original share one inode.
  const inode = (path: string) => /Inode: (\d+)/.exec(debugfs(top, `stat ${path}`))?.[1];
  assert.equal(inode('/etc/layered-release'), inode('/etc/layered-release.link'));
});

test('entries that climb out with ../ refuse the layer and write nothing outside', async (t) => {
  const dir = await scratchDir(t);
  const root = join(dir, 'store');
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  const layer = makeTar([
    { path: 'ok.txt', content: 'fine' },
    { path: '../../../../../../escaped-dotdot.txt', content: 'pwned' },
  ]);
  await assert.rejects(store.load(createReadStream(await singleLayerImage(dir, layer, 'evil:dotdot'))), { kind: 'InvalidParameter', message: /outside the layer/ });
  assert.equal(existsSync('/escaped-dotdot.txt'), false);
  assert.equal(existsSync(join(dir, 'escaped-dotdot.txt')), false);
  assert.deepEqual(readdirSync(join(root, 'layers')), []);
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  assert.equal(store.resolve('evil:dotdot'), undefined);
});

test('a symlink to an absolute host path cannot be written through', async (t) => {
  const dir = await scratchDir(t);
  const outside = join(dir, 'outside');
  await mkdir(outside);
  const root = join(dir, 'store');
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  const layer = makeTar([
    { path: 'escape', type: 'SymbolicLink', linkpath: outside },
    { path: 'escape/pwned.txt', content: 'pwned' },
  ]);
  await assert.rejects(store.load(createReadStream(await singleLayerImage(dir, layer, 'evil:symlink'))), { kind: 'InvalidParameter', message: /symlink/ });
  assert.deepEqual(readdirSync(outside), []);
  assert.deepEqual(readdirSync(join(root, 'layers')), []);
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
});

test('absolute names and links stay inside the layer', async (t) => {
  const dir = await scratchDir(t);
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: join(dir, 'store') });
  const layer = makeTar([
    { path: '/etc/rooted.conf', content: 'rooted' },
    { path: 'abs-link', type: 'SymbolicLink', linkpath: '/etc/passwd' },
    { path: 'hard', type: 'Link', linkpath: '/etc/rooted.conf' },
  ]);
  await store.load(createReadStream(await singleLayerImage(dir, layer, 'rooted:latest')));
  const disk = store.resolve('rooted')?.layers[0].disk;
  assert.ok(disk);
  assert.match(debugfs(disk, 'cat /etc/rooted.conf'), /rooted/);
  assert.match(debugfs(disk, 'stat /abs-link'), /Fast link dest: "\/etc\/passwd"/);
  assert.match(debugfs(disk, 'cat /hard'), /rooted/);
});

test('a layer whose content does not match its diff_id is refused and leaves nothing', async (t) => {
  const dir = await scratchDir(t);
  const root = join(dir, 'store');
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  const layer = makeTar([{ path: 'file.txt', content: 'real content' }]);
  const tarball = await singleLayerImage(dir, layer, 'liar:latest', sha256(Buffer.from('something else')));
  await assert.rejects(store.load(createReadStream(tarball)), { kind: 'InvalidParameter', message: /does not match its diff_id/ });
  assert.deepEqual(readdirSync(join(root, 'layers')), []);
  assert.deepEqual(readdirSync(join(root, 'configs')), []);
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  assert.deepEqual(store.list(), []);
});

test('a layer of many small files fits its computed disk size', async (t) => {
  const dir = await scratchDir(t);
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: join(dir, 'store') });
  const entries = Array.from({ length: 3000 }, (_, i) => ({ path: `d${i % 7}/a-rather-long-file-name-number-${i}.txt`, content: `${i}` }));
  await store.load(createReadStream(await singleLayerImage(dir, makeTar(entries), 'many:latest')));
  const disk = store.resolve('many')?.layers[0].disk;
  assert.ok(disk);
  assert.match(debugfs(disk, 'cat /d3/a-rather-long-file-name-number-2999.txt'), /2999/);
});

test('a truncated gzip layer is refused without leaving temp files', async (t) => {
  const dir = await scratchDir(t);
  const root = join(dir, 'store');
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  const layer = makeTar([{ path: 'big', content: 'x'.repeat(3_000_000) + Math.random() }]);
  const gzipped = gzipSync(layer);
  const layerPath = join(dir, 'layer.tar.gz');
  await writeFile(layerPath, gzipped.subarray(0, gzipped.length - 100));
  const tarball = join(dir, 'truncated.tar');
  await writeDockerArchive(tarball, [{ config: imageConfig([sha256(layer)], ['truncated']), layers: [layerPath], repoTags: ['truncated:1'] }]);
  await assert.rejects(store.load(createReadStream(tarball)), { kind: 'InvalidParameter', message: /corrupt/ });
  assert.deepEqual(readdirSync(join(root, 'layers')), []);
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
});

test('an empty layer (just the end-of-archive blocks) loads', async (t) => {
  const dir = await scratchDir(t);
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: join(dir, 'store') });
  assert.deepEqual(await store.load(createReadStream(await singleLayerImage(dir, makeTar([]), 'empty:latest'))), ['empty:latest']);
  assert.equal(store.resolve('empty')?.size, 0);
});
