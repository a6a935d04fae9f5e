// Volumes with the real docker CLI against a real VCH: a volume is an ext4 disk in the datastore,
// attached to each container VM that mounts it and mounted there by the tether.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TestVch } from '../helpers/vch.ts';
import { buildVolumeImage } from '../fixtures/volume-image.ts';

const vch = new TestVch('volumes');

before(async () => {
  const volumeImage = await buildVolumeImage();
  await vch.startWithBusybox();
  const load = await vch.docker(['load', '-i', volumeImage]);
  assert.equal(load.code, 0, load.stderr);
});

after(async () => {
  await vch.destroy();
});

function ok(args: string[]): Promise<string> {
  return vch.ok(args);
}

async function names(args: string[] = []): Promise<string[]> {
  return (await ok(['volume', 'ls', '-q', ...args])).split('\n').filter(Boolean).sort();
}

test('volume create, ls with filters, inspect, rm and prune', async () => {
  assert.equal((await ok(['volume', 'create', '--label', 'team=a', '-o', 'size=64M', 'v1'])).trim(), 'v1');
  assert.equal((await ok(['volume', 'create', 'v2'])).trim(), 'v2');
  assert.equal((await ok(['volume', 'create', 'v2'])).trim(), 'v2', 'creating an existing volume again returns it');
  const anonymous = (await ok(['volume', 'create'])).trim();
  assert.match(anonymous, /^[0-9a-f]{64}$/);

  const bad = await vch.docker(['volume', 'create', 'bad!name']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /includes invalid characters for a local volume name/);
  const badOption = await vch.docker(['volume', 'create', '-o', 'type=tmpfs', 'v3']);
  assert.notEqual(badOption.code, 0);
  assert.match(badOption.stderr, /invalid option.*type/);

  assert.deepEqual(await names(), [anonymous, 'v1', 'v2'].sort());
  assert.deepEqual(await names(['-f', 'label=team=a']), ['v1']);
  assert.deepEqual(await names(['-f', 'label=team']), ['v1']);
  assert.deepEqual(await names(['-f', 'name=v']), ['v1', 'v2']);
  assert.deepEqual(await names(['-f', 'dangling=true', '-f', 'name=v2']), ['v2']);
  assert.deepEqual(await names(['-f', 'dangling=false']), []);
  assert.deepEqual(await names(['-f', 'driver=local', '-f', 'name=v1']), ['v1']);

  const [v1] = JSON.parse(await ok(['volume', 'inspect', 'v1']));
  assert.equal(v1.Name, 'v1');
  assert.equal(v1.Driver, 'local');
  assert.equal(v1.Scope, 'local');
  assert.deepEqual(v1.Labels, { team: 'a' });
  assert.deepEqual(v1.Options, { size: '64M' });
  assert.ok(!Number.isNaN(Date.parse(v1.CreatedAt)));
  assert.equal(v1.Mountpoint, join(vch.datastore, 'volumes/v1/disk.ext4'));
  assert.equal(statSync(v1.Mountpoint).size, 64 * 1024 ** 2);
  const [anon] = JSON.parse(await ok(['volume', 'inspect', anonymous]));
  assert.deepEqual(anon.Labels, { 'com.docker.volume.anonymous': '' });

  const df = await ok(['system', 'df']);
  assert.match(df, /Local Volumes\s+3\s+0/);

  // Prune takes anonymous volumes only, unless asked for all; label filters narrow it.
  assert.match(await ok(['volume', 'prune', '-f']), new RegExp(anonymous));
  assert.deepEqual(await names(), ['v1', 'v2']);
  await ok(['volume', 'prune', '-af', '--filter', 'label=team=a']);
  assert.deepEqual(await names(), ['v2']);
  assert.equal(existsSync(join(vch.datastore, 'volumes/v1')), false);

  await ok(['volume', 'rm', 'v2']);
  const missing = await vch.docker(['volume', 'inspect', 'v2']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no such volume/);
  assert.notEqual((await vch.docker(['volume', 'rm', 'v2'])).code, 0);
  await ok(['volume', 'rm', '-f', 'v2']);
});

test('data written through one container is read by the next; :ro and --volumes-from; rm in use is refused', async () => {
  const written = await ok(['run', '--name', 'writer', '-v', 'data1:/data', 'busybox', 'sh', '-c', 'echo hello > /data/f && ls -a /data']);
  assert.deepEqual(written.split('\n').filter(Boolean).sort(), ['.', '..', 'f'], 'an auto-created volume is empty (no lost+found)');
  const [writer] = JSON.parse(await ok(['inspect', 'writer']));
  assert.deepEqual(writer.Mounts, [{
    Type: 'volume', Name: 'data1', Source: join(vch.datastore, 'volumes/data1/disk.ext4'), Destination: '/data',
    Driver: 'local', Mode: 'z', RW: true, Propagation: '',
  }]);

  const read = await ok(['run', '--rm', '--volumes-from', 'writer:ro', 'busybox', 'sh', '-c', 'cat /data/f; touch /data/g 2>/dev/null && echo wrote || echo read-only']);
  assert.equal(read, 'hello\nread-only\n');

  // In use by a stopped container: refused, forced or not.
  for (const args of [['volume', 'rm', 'data1'], ['volume', 'rm', '-f', 'data1']]) {
    const rm = await vch.docker(args);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /volume is in use/);
  }
  assert.deepEqual(await names(['-f', 'dangling=false']), ['data1']);
  await ok(['rm', '-v', 'writer']);
  assert.deepEqual(await names(), ['data1'], 'rm -v keeps named volumes');
});

test('anonymous volumes (-v /path, image VOLUME) with copy-up of the image content, removed by --rm and rm -v', async () => {
  const out = await ok(['run', '--rm', '-v', '/scratch', '-v', 'copied:/var/www',
    '--mount', 'type=volume,source=nocopied,target=/home,volume-nocopy', 'volumes', 'sh', '-c',
    'cat /data/seed.txt /data/sub/deep.txt; stat -c "%u:%g %a" /data; ls /var/www; ls -A /home; echo end; ' +
    'grep -c " /scratch \\| /data \\| /var/www \\| /home " /proc/mounts']);
  assert.equal(out, 'seeded by the image\ndeep\n1000:1000 750\nindex.html\nend\n4\n');
  assert.deepEqual(await names(), ['copied', 'data1', 'nocopied'], '--rm removed the anonymous volumes');

  await ok(['create', '--name', 'keeper', '-v', '/more', 'volumes']);
  const anonymous = (await names()).filter((n) => /^[0-9a-f]{64}$/.test(n));
  assert.equal(anonymous.length, 2, 'one for -v /more, one for the image VOLUME');
  const [keeper] = JSON.parse(await ok(['inspect', 'keeper']));
  assert.deepEqual(keeper.Mounts.map((m: { Destination: string }) => m.Destination).sort(), ['/data', '/more']);
  assert.match((await vch.docker(['volume', 'prune', '-f'])).stdout, /Total reclaimed space/);
  assert.equal((await names()).filter((n) => /^[0-9a-f]{64}$/.test(n)).length, 2, 'prune leaves volumes in use');
  await ok(['rm', '-v', 'keeper']);
  assert.deepEqual(await names(), ['copied', 'data1', 'nocopied']);
  await ok(['volume', 'rm', 'copied', 'nocopied']);
});

test('a volume is shared by running containers only when all mount it read-only', async () => {
  await ok(['run', '-d', '--name', 'holder', '-v', 'shared:/s:ro', 'busybox', 'sleep', '600']);
  try {
    assert.equal(await ok(['run', '--rm', '-v', 'shared:/s:ro', 'busybox', 'ls', '-A', '/s']), '');
    const writer = await vch.docker(['run', '--rm', '-v', 'shared:/s', 'busybox', 'true']);
    assert.equal(writer.code, 125);
    assert.match(writer.stderr, /volume "shared" is in use by running container "holder".*read-only/);
    const rm = await vch.docker(['volume', 'rm', 'shared']);
    assert.match(rm.stderr, /volume is in use/);
  } finally {
    await ok(['rm', '-f', 'holder']);
  }
  assert.deepEqual(await vch.docker(['ps', '-aq']).then((r) => r.stdout.trim()), '', 'the refused --rm container is gone');
  await ok(['volume', 'rm', 'shared']);
});

test('a relative mount path is refused (host directory binds: host-binds.test.ts)', async () => {
  const relative = await vch.docker(['run', '--rm', '-v', 'vol:data', 'busybox', 'true']);
  assert.match(relative.stderr, /mount path must be absolute/);
});

test('volumes and their data survive an engine killed with SIGKILL; half-made volumes are dropped', async () => {
  await vch.killEngine();
  mkdirSync(join(vch.datastore, 'volumes/.creating-deadbeef'));
  mkdirSync(join(vch.datastore, 'volumes/halfmade'));
  await vch.start();
  assert.deepEqual(await names(), ['data1']);
  assert.equal(existsSync(join(vch.datastore, 'volumes/.creating-deadbeef')), false);
  assert.equal(await ok(['run', '--rm', '-v', 'data1:/data', 'busybox', 'cat', '/data/f']), 'hello\n');
});
