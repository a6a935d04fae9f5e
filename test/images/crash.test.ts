import assert from 'node:assert/strict';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ext4DiskStore } from '../../src/backends/qemu/disks/ext4-disk-store.ts';
import { DiskImageStore } from '../../src/portlayer/images/index.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { scratchDir } from './helpers.ts';

test('a reopened store keeps its images and sweeps what a crashed load left in tmp/', async (t) => {
  const images = await buildTestImages();
  const root = await scratchDir(t);
  const first = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  await first.load(createReadStream(images.busybox));
  first.tag('busybox', 'kept:1');
  const id = first.resolve('busybox')?.id;

  // What a load killed half-way leaves behind: a half-built layer, an unrenamed references file.
  const halfLayer = join(root, 'tmp', 'layer-abc123-XYZ');
  await mkdir(join(halfLayer, 'rootfs', 'etc'), { recursive: true });
  await writeFile(join(halfLayer, 'disk.ext4'), 'half an image');
  await writeFile(join(root, 'tmp', 'references-deadbeef.json'), '{"version":1,"images":{');
  const before = readFileSync(join(root, 'references.json'), 'utf8');

  const second = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  assert.deepEqual(readdirSync(join(root, 'tmp')), []);
  assert.equal(readFileSync(join(root, 'references.json'), 'utf8'), before);
  assert.equal(second.resolve('busybox:latest')?.id, id);
  assert.equal(second.resolve('kept:1')?.id, id);
  assert.equal(second.list().length, 1);
  assert.ok(existsSync(second.resolve('busybox')?.layers[0].disk ?? ''));
});

test('a layer left complete but unreferenced by a crash is reused, not rebuilt', async (t) => {
  const images = await buildTestImages();
  const root = await scratchDir(t);
  const first = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  await first.load(createReadStream(images.busybox));
  // Simulate a crash after the layer and config were stored but before references.json named the image.
  await writeFile(join(root, 'references.json'), JSON.stringify({ version: 1, images: {}, tags: {}, digests: {} }));

  const second = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  assert.deepEqual(second.list(), []);
  const messages: string[] = [];
  assert.deepEqual(await second.load(createReadStream(images.busybox), (m) => messages.push(m)), ['busybox:latest']);
  assert.deepEqual(messages, ['Loaded image: busybox:latest']);
});
