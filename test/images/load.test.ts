import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { Ext4DiskStore } from '../../src/backends/qemu/disks/ext4-disk-store.ts';
import { DiskImageStore } from '../../src/portlayer/images/index.ts';
import { buildTestImages, type TestImages } from '../fixtures/images.ts';
import { debugfs, scratchDir } from './helpers.ts';

let images: TestImages;
test.before(async () => {
  images = await buildTestImages();
});

test('skopeo accepts the fixture tarballs', () => {
  const saved = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${images.busybox}`], { encoding: 'utf8' }));
  assert.equal(saved.Architecture, 'amd64');
  assert.equal(saved.Layers.length, 1);
  const oci = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${images.busyboxOci}`], { encoding: 'utf8' }));
  assert.equal(oci.Layers.length, 1);
  const layered = JSON.parse(execFileSync('skopeo', ['inspect', `docker-archive:${images.layered}`], { encoding: 'utf8' }));
  assert.equal(layered.Layers.length, 2);
});

test('loads docker-save and OCI tarballs, storing the shared layer once', async (t) => {
  const root = await scratchDir(t);
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root });
  const messages: string[] = [];
  assert.deepEqual(await store.load(createReadStream(images.busybox), (m) => messages.push(m)), ['busybox:latest']);
  assert.deepEqual(await store.load(createReadStream(images.busyboxOci), (m) => messages.push(m)), ['busybox-oci:latest']);
  assert.deepEqual(await store.load(createReadStream(images.layered), (m) => messages.push(m)), ['layered:latest']);
  assert.ok(messages.includes('Loaded image: busybox:latest'), messages.join('\n'));
  assert.ok(messages.includes('Loaded image: busybox-oci:latest'), messages.join('\n'));
  assert.equal(messages.filter((m) => m.startsWith('Loading layer')).length, 2, 'the busybox layer is built once, the layered top once');

  const busybox = store.resolve('busybox');
  const oci = store.resolve('busybox-oci:latest');
  const layered = store.resolve('layered');
  assert.ok(busybox && oci && layered);
  assert.notEqual(busybox.id, oci.id);
  assert.deepEqual(busybox.repoTags, ['busybox:latest']);
  assert.deepEqual(busybox.config.config?.Cmd, ['sh']);
  assert.equal(busybox.config.architecture, 'amd64');
  assert.equal(oci.repoDigests.length, 1);
  assert.match(oci.repoDigests[0], /^busybox-oci@sha256:[0-9a-f]{64}$/);
  assert.equal(oci.layers[0].disk, busybox.layers[0].disk);
  assert.equal(layered.layers[0].disk, busybox.layers[0].disk);
  assert.equal(layered.layers.length, 2);
  assert.ok(busybox.size > 1_000_000, 'size counts file content');
  assert.equal(store.list().length, 3);
  assert.equal(readdirSync(`${root}/layers`).length, 2);
  assert.deepEqual(readdirSync(`${root}/tmp`), []);

  // The built disk holds the rootfs as the image describes it.
  const disk = busybox.layers[0].disk;
  assert.match(debugfs(disk, 'stat /bin/sh'), /Type: symlink/);
  assert.match(debugfs(disk, 'stat /tmp'), /Mode:\s+01777/);
  assert.match(debugfs(disk, 'stat /home/app'), /User:\s+1000\s+Group:\s+1000/);
  assert.doesNotMatch(debugfs(disk, 'ls /'), /lost\+found/);
});

test('loading the same tarball again rebuilds nothing', async (t) => {
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: await scratchDir(t) });
  await store.load(createReadStream(images.busybox));
  const messages: string[] = [];
  assert.deepEqual(await store.load(createReadStream(images.busybox), (m) => messages.push(m)), ['busybox:latest']);
  assert.deepEqual(messages, ['Loaded image: busybox:latest']);
  assert.equal(store.list().length, 1);
});

test('resolve() understands every reference form; tag() adds names', async (t) => {
  const store = new DiskImageStore({ disks: new Ext4DiskStore(), root: await scratchDir(t) });
  await store.load(createReadStream(images.busybox));
  await store.load(createReadStream(images.busyboxOci));
  const busybox = store.resolve('busybox:latest');
  const oci = store.resolve('busybox-oci');
  assert.ok(busybox && oci);
  const hex = busybox.id.slice('sha256:'.length);
  for (const form of ['busybox', 'busybox:latest', 'docker.io/library/busybox', 'docker.io/library/busybox:latest', busybox.id, hex, hex.slice(0, 12), `sha256:${hex.slice(0, 12)}`]) {
    assert.equal(store.resolve(form)?.id, busybox.id, form);
  }
  assert.equal(store.resolve(oci.repoDigests[0])?.id, oci.id);
  assert.equal(store.resolve(`busybox-oci:latest@${oci.repoDigests[0].split('@')[1]}`)?.id, oci.id);
  for (const unknown of ['busybox:1.0', 'nosuchimage', `busybox@sha256:${'0'.repeat(64)}`, '0'.repeat(64), 'Not A Reference']) {
    assert.equal(store.resolve(unknown), undefined, unknown);
  }

  store.tag(hex.slice(0, 12), 'host:5000/team/busybox:v1');
  assert.equal(store.resolve('host:5000/team/busybox:v1')?.id, busybox.id);
  assert.deepEqual(store.resolve('busybox')?.repoTags, ['busybox:latest', 'host:5000/team/busybox:v1']);
  store.tag('busybox-oci', 'busybox:latest'); // moves the tag
  assert.equal(store.resolve('busybox')?.id, oci.id);
  assert.deepEqual(store.resolve(busybox.id)?.repoTags, ['host:5000/team/busybox:v1']);
  assert.throws(() => store.tag('nosuchimage', 'x:y'), { kind: 'NotFound' });
  assert.throws(() => store.tag('busybox', 'Bad Name'), { kind: 'InvalidParameter' });
});
