// Volumes without VMs: Docker's mount syntaxes, the size option, and the volume service's store
// (concurrent creates, holds, crash leftovers) over a fake disk maker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerMounts } from '../../src/engine/docker/mounts.ts';
import { parseSize } from '../../src/portlayer/volumes/options.ts';
import { VolumeService } from '../../src/portlayer/volumes/service.ts';
import { EventLog } from '../../src/portlayer/events.ts';
import type { ImageRecord } from '../../src/portlayer/images/types.ts';
import { statusOf } from '../../src/engine/http/errors.ts';

function image(volumes?: Record<string, object>): ImageRecord {
  return {
    id: 'sha256:' + 'a'.repeat(64), repoTags: [], repoDigests: [], layers: [], size: 0, stored: '',
    config: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'], Volumes: volumes }, rootfs: { type: 'layers', diff_ids: [] } },
  };
}

test('Binds, Mounts, Config.Volumes and image VOLUMEs become mount requests', () => {
  const { mounts, volumesFrom } = dockerMounts({
    Image: 'img',
    Volumes: { '/anon/': {} },
    HostConfig: {
      Binds: ['data:/data:ro,nocopy', 'logs:/var/log'],
      Mounts: [{ Type: 'volume', Source: 'm', Target: '/m', ReadOnly: true, VolumeOptions: { DriverConfig: { Name: 'local', Options: { size: '1G' } } } }],
      VolumesFrom: ['other:ro', 'third'],
    },
  }, image({ '/data': {}, '/img': {} }));
  assert.deepEqual(mounts.map((m) => [m.volume, m.target, m.readOnly, m.copyUp, m.mode]), [
    ['data', '/data', true, false, 'ro,nocopy'],
    ['logs', '/var/log', false, true, 'z'],
    ['m', '/m', true, true, ''],
    ['', '/anon', false, true, ''],
    ['', '/img', false, true, ''], // the image's /data is covered by a bind
  ]);
  assert.deepEqual(mounts[2].create, { driver: 'local', driverOptions: { size: '1G' }, labels: undefined });
  assert.deepEqual(volumesFrom, [{ container: 'other', readOnly: true }, { container: 'third' }]);
});

test('host directories become binds: -v creates a missing source, --mount does not; only private propagation', () => {
  const { mounts, binds } = dockerMounts({
    Image: 'img',
    HostConfig: {
      Binds: ['/srv/a/:/data:ro,rprivate', '/srv/b:/b:z'],
      Mounts: [{ Type: 'bind', Source: '/srv/c', Target: '/c', ReadOnly: true, BindOptions: { Propagation: 'private' } }],
    },
  }, image({ '/data': {} }));
  assert.deepEqual(mounts, [], "the image's /data is covered by a bind");
  assert.deepEqual(binds.map((b) => [b.source, b.target, b.readOnly, b.mode, b.createSource]), [
    ['/srv/a/', '/data', true, 'ro,rprivate', true],
    ['/srv/b', '/b', false, 'z', true],
    ['/srv/c', '/c', true, '', false],
  ]);
});

test('propagation that cannot be honoured, relative targets and unknown modes are refused with 400', () => {
  const bad = (hostConfig: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => dockerMounts({ Image: 'img', HostConfig: hostConfig }, image()), (err) => statusOf(err) === 400 && pattern.test((err as Error).message));
  bad({ Binds: ['/srv:/data:rshared'] }, /propagation mode "rshared" cannot be honoured for \/data/);
  bad({ Mounts: [{ Type: 'bind', Source: '/srv', Target: '/data', BindOptions: { Propagation: 'slave' } }] }, /propagation mode "slave"/);
  bad({ Mounts: [{ Type: 'bind', Source: 'srv', Target: '/data' }] }, /mount path must be absolute/);
  bad({ Mounts: [{ Type: 'bind', Target: '/data' }] }, /field Source must not be empty/);
  bad({ Binds: ['./srv:/data'] }, /use absolute path/);
  bad({ Mounts: [{ Type: 'tmpfs', Target: '/t' }] }, /not supported/);
  bad({ Binds: ['v:data'] }, /must be absolute/);
  bad({ Binds: ['v:/'] }, /destination can't be '\/'/);
  bad({ Binds: ['v:/d:xyz'] }, /invalid mode/);
});

test('sizes are binary units', () => {
  assert.equal(parseSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseSize('512m'), 512 * 1024 ** 2);
  assert.equal(parseSize('1.5GiB'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('4096'), 4096);
  assert.throws(() => parseSize('lots'), (err) => statusOf(err) === 400);
});

test('volume service: one disk per name under concurrent creates, holds block removal, leftovers are dropped', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bonneville-volumes-'));
  try {
    let made = 0;
    const disks = {
      createVolumeDisk: async (dir: string) => { made++; await new Promise((r) => setTimeout(r, 10)); writeFileSync(join(dir, 'disk'), ''); return join(dir, 'disk'); },
      volumeDisk: (dir: string) => join(dir, 'disk'),
      exists: (disk: string) => existsSync(disk),
      allocatedBytes: () => 0,
      destroyDisk: async () => {},
    };
    const service = new VolumeService({ root, disks, events: new EventLog() });
    service.recover();
    const [a, b] = await Promise.all([service.create({ name: 'same' }), service.create({ name: 'same' })]);
    assert.equal(made, 1);
    assert.equal(a.record.created, b.record.created);

    const attached = await service.attach([{ volume: '', target: '/x', readOnly: false, copyUp: true, mode: '' }]);
    const anonymous = attached.mounts[0].volume;
    assert.equal(attached.mounts[0].anonymous, true);
    await assert.rejects(service.remove(anonymous), (err) => statusOf(err) === 409);
    assert.deepEqual((await service.prune()).deleted, []);
    attached.release();
    assert.deepEqual((await service.prune()).deleted, [anonymous]);

    mkdirSync(join(root, '.creating-0123'));
    mkdirSync(join(root, 'nodisk'));
    writeFileSync(join(root, 'nodisk', 'volume.json'), '{}');
    const again = new VolumeService({ root, disks, events: new EventLog() });
    again.recover();
    assert.deepEqual(again.list().map((v) => v.record.name), ['same']);
    assert.equal(existsSync(join(root, '.creating-0123')), false);
    assert.equal(existsSync(join(root, 'nodisk')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('volume rm settles once the backend deleted the disk; a failed delete keeps the volume and is a 500', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bonneville-volumes-'));
  try {
    const destroyed: string[] = [];
    let failNext = false;
    const disks = {
      createVolumeDisk: async (dir: string) => { writeFileSync(join(dir, 'disk'), ''); return join(dir, 'disk'); },
      volumeDisk: (dir: string) => join(dir, 'disk'),
      exists: (disk: string) => existsSync(disk),
      allocatedBytes: () => 0,
      // A backend whose delete takes a while (a vSphere task).
      destroyDisk: async (disk: string) => {
        await new Promise((r) => setTimeout(r, 50));
        if (failNext) { failNext = false; throw new Error('datastore busy'); }
        destroyed.push(disk);
      },
    };
    const service = new VolumeService({ root, disks, events: new EventLog() });
    service.recover();
    const a = await service.create({ name: 'vol-a' });
    await service.remove('vol-a');
    assert.deepEqual(destroyed, [a.disk], 'the disk is deleted when remove settles');
    assert.equal(existsSync(join(root, 'vol-a')), false);

    await service.create({ name: 'vol-b' });
    failNext = true;
    await assert.rejects(service.remove('vol-b'), (err) => statusOf(err) === 500 && /remove vol-b: .*datastore busy/.test((err as Error).message));
    assert.deepEqual(service.list().map((v) => v.record.name), ['vol-b'], 'a failed delete leaves the volume');
    // A create of a name being removed waits for the removal, then makes a new volume.
    const removal = service.remove('vol-b');
    const again = service.create({ name: 'vol-b' });
    await removal;
    const made = await again;
    assert.equal(existsSync(made.disk), true);
    assert.deepEqual(service.list().map((v) => v.record.name), ['vol-b']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
