import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { createGzip, createZstdCompress } from 'node:zlib';
import { Ext4DiskStore } from '../../src/backends/qemu/disks/ext4-disk-store.ts';
import { DiskImageStore } from '../../src/portlayer/images/index.ts';
import { imageConfig } from '../fixtures/images.ts';
import { OciLayoutBuilder, gzipFile } from '../fixtures/image-tarballs.ts';
import { makeTar, scratchDir, sha256 } from './helpers.ts';

async function layerFile(dir: string, name: string, content: string): Promise<{ file: string; diffId: string }> {
  const tar = makeTar([{ path: `${name}.txt`, content }]);
  const plain = join(dir, `${name}.tar`);
  await writeFile(plain, tar);
  await gzipFile(plain, `${plain}.gz`);
  return { file: `${plain}.gz`, diffId: sha256(tar) };
}

test('from a nested multi-platform index the linux/amd64 image is loaded', async (t) => {
  const dir = await scratchDir(t);
  const amd64 = await layerFile(dir, 'amd64', 'x86');
  const arm64 = await layerFile(dir, 'arm64', 'arm');
  const oci = new OciLayoutBuilder();
  const armManifest = await oci.addImage(imageConfig([arm64.diffId], ['arm']), [arm64.file]);
  const amdManifest = await oci.addImage(imageConfig([amd64.diffId], ['amd']), [amd64.file]);
  const inner = oci.addIndex([
    { ...armManifest, platform: { os: 'linux', architecture: 'arm64' } },
    { ...amdManifest, platform: { os: 'linux', architecture: 'amd64' } },
  ]);
  const outer = oci.addIndex([inner]);
  const tarball = join(dir, 'multi.tar');
  await oci.write(tarball, [{ ...outer, annotations: { 'io.containerd.image.name': 'docker.io/library/multi:2', 'org.opencontainers.image.ref.name': '2' } }]);

  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: join(dir, 'store') });
  assert.deepEqual(await store.load(createReadStream(tarball)), ['multi:2']);
  const image = store.resolve('multi:2');
  assert.equal(image?.layers[0].diffId, amd64.diffId);
  assert.deepEqual(image?.repoDigests, [`multi@${amdManifest.digest}`]);
});

test('a gzip-compressed outer tarball with a zstd layer and no name loads as an untagged id', async (t) => {
  const dir = await scratchDir(t);
  const tar = makeTar([{ path: 'z.txt', content: 'zstd layer' }]);
  const plain = join(dir, 'z.tar');
  await writeFile(plain, tar);
  await pipeline(createReadStream(plain), createZstdCompress(), createWriteStream(`${plain}.zst`));
  const oci = new OciLayoutBuilder();
  const manifest = await oci.addImage(imageConfig([sha256(tar)], ['zstd']), [`${plain}.zst`]);
  const tarball = join(dir, 'z-oci.tar');
  await oci.write(tarball, [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }]);
  await pipeline(createReadStream(tarball), createGzip(), createWriteStream(`${tarball}.gz`));

  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: join(dir, 'store') });
  const messages: string[] = [];
  const [loaded] = await store.load(createReadStream(`${tarball}.gz`), (m) => messages.push(m));
  assert.match(loaded, /^sha256:[0-9a-f]{64}$/);
  assert.ok(messages.includes(`Loaded image ID: ${loaded}`), messages.join('\n'));
  assert.deepEqual(store.resolve(loaded)?.repoTags, []);
});

test('garbage and half tarballs are InvalidParameter', async (t) => {
  const dir = await scratchDir(t);
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: join(dir, 'store') });
  await writeFile(join(dir, 'garbage'), 'this is not a tarball at all'.repeat(100));
  await assert.rejects(store.load(createReadStream(join(dir, 'garbage'))), { kind: 'InvalidParameter' });
  await writeFile(join(dir, 'empty.tar'), makeTar([{ path: 'hello.txt', content: 'hi' }]));
  await assert.rejects(store.load(createReadStream(join(dir, 'empty.tar'))), { kind: 'InvalidParameter', message: /neither manifest\.json/ });
});
