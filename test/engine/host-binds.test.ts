// Host directory binds (`-v /dir:/path`, `--mount type=bind`) with the real docker CLI against a real
// VCH: the directory is shared into the container VM over virtio-fs by a virtiofsd per bind, which
// goes when the VM does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestVch } from '../helpers/vch.ts';

const vch = new TestVch('binds');
const hostDir = mkdtempSync(join(tmpdir(), 'bonneville-bind-'));

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
  rmSync(hostDir, { recursive: true, force: true });
});

/** The sockets live virtiofsd processes serve for this container (named by its id; one per bind). */
function virtiofsdOf(id: string): string[] {
  const sockets = new Set<string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const socket = argv.find((a) => a.startsWith('--socket-path=') && a.includes(id));
      if (argv.some((a) => a.endsWith('virtiofsd')) && socket) sockets.add(socket);
    } catch {
      // went away while we looked
    }
  }
  return [...sockets];
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a host directory: written on the host, read in the container and the other way round; read-only refused', async () => {
  writeFileSync(join(hostDir, 'hello'), 'from the host\n');
  const out = await vch.ok(['run', '--rm', '-v', `${hostDir}:/data`, 'busybox', 'sh', '-c', 'cat /data/hello && echo from the guest > /data/guest && mkdir /data/sub && echo deep > /data/sub/f']);
  assert.equal(out, 'from the host\n');
  assert.equal(readFileSync(join(hostDir, 'guest'), 'utf8'), 'from the guest\n');
  assert.equal(readFileSync(join(hostDir, 'sub/f'), 'utf8'), 'deep\n');

  // :ro, and the guest cannot lift it either: the share is read-only on the host side too.
  const ro = await vch.docker(['run', '--rm', '--mount', `type=bind,source=${hostDir},target=/data,readonly`, 'busybox', 'sh', '-c',
    'cat /data/hello; echo x > /data/x; mount -o remount,rw /data; echo y > /data/y']);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stdout, /^from the host\n/);
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal(existsSync(join(hostDir, 'x')), false);
  assert.equal(existsSync(join(hostDir, 'y')), false);
});

test('missing sources: -v creates the directory, --mount refuses; propagation and file sources refused', async () => {
  const created = join(hostDir, 'made/by/v');
  await vch.ok(['run', '--rm', '-v', `${created}:/made`, 'busybox', 'touch', '/made/here']);
  assert.ok(existsSync(join(created, 'here')));

  const missing = await vch.docker(['create', '--mount', `type=bind,source=${join(hostDir, 'nope')},target=/x`, 'busybox']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /bind source path does not exist: .*nope/);

  const shared = await vch.docker(['create', '-v', `${hostDir}:/x:shared`, 'busybox']);
  assert.notEqual(shared.code, 0);
  assert.match(shared.stderr, /propagation mode "shared" cannot be honoured/);
  const slave = await vch.docker(['create', '--mount', `type=bind,source=${hostDir},target=/x,bind-propagation=rslave`, 'busybox']);
  assert.notEqual(slave.code, 0);
  assert.match(slave.stderr, /propagation mode "rslave" cannot be honoured/);

  const file = await vch.docker(['create', '-v', `${join(hostDir, 'hello')}:/x`, 'busybox']);
  assert.notEqual(file.code, 0);
  assert.match(file.stderr, /is not a directory/);

  const relative = await vch.docker(['create', '--mount', 'type=bind,source=rel/dir,target=/x', 'busybox']);
  assert.notEqual(relative.code, 0);
});

test('stop/start keeps the bind, an engine crash re-adopts it, rm leaves the directory, no virtiofsd is left', async () => {
  const dir = join(hostDir, 'long');
  mkdirSync(dir);
  const id = (await vch.ok(['run', '-d', '--name', 'keeper', '-v', `${dir}:/data`, '--mount', `type=bind,source=${hostDir},target=/data/ro,readonly`, 'busybox', 'sleep', '1000'])).trim();
  const [inspect] = JSON.parse(await vch.ok(['inspect', id]));
  const binds = inspect.Mounts.filter((m: { Type: string }) => m.Type === 'bind').sort((a: { Destination: string }, b: { Destination: string }) => a.Destination.localeCompare(b.Destination));
  assert.deepEqual(binds.map((m: Record<string, unknown>) => [m.Source, m.Destination, m.RW, m.Propagation]), [[dir, '/data', true, 'rprivate'], [hostDir, '/data/ro', false, 'rprivate']]);
  assert.deepEqual(inspect.HostConfig.Binds, [`${dir}:/data`]);
  assert.equal(virtiofsdOf(id).length, 2);

  await vch.ok(['exec', 'keeper', 'sh', '-c', 'echo one > /data/a && cat /data/ro/hello']);
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'one\n');

  await vch.ok(['stop', '-t', '1', 'keeper']);
  await until('virtiofsd gone after stop', () => virtiofsdOf(id).length === 0);
  writeFileSync(join(dir, 'b'), 'two\n');
  await vch.ok(['start', 'keeper']);
  assert.equal(await vch.ok(['exec', 'keeper', 'cat', '/data/a', '/data/b']), 'one\ntwo\n');

  // The engine dies; the VM and its virtiofsd processes live on, and the next engine adopts them.
  await vch.killEngine();
  assert.equal(virtiofsdOf(id).length, 2);
  await vch.start();
  await vch.ok(['exec', 'keeper', 'sh', '-c', 'echo three > /data/c']);
  assert.equal(readFileSync(join(dir, 'c'), 'utf8'), 'three\n');

  await vch.ok(['rm', '-f', 'keeper']);
  await until('virtiofsd gone after rm', () => virtiofsdOf(id).length === 0);
  // 'ro' is the mount point of the nested bind, made inside the outer one (dockerd does the same).
  assert.deepEqual(readdirSync(dir).sort(), ['a', 'b', 'c', 'ro']);
  assert.ok(existsSync(join(hostDir, 'hello')));
});

test('docker cp on a stopped container sees its binds: read from and written to the host directory; a read-only bind refuses', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-bind-cp-'));
  const local = mkdtempSync(join(tmpdir(), 'bonneville-bind-cp-local-'));
  try {
    writeFileSync(join(dir, 'hostfile'), 'on the host\n');
    await vch.ok(['create', '--name', 'cpbind', '-v', `${dir}:/data`, '-v', `${dir}:/ro:ro`, 'busybox', 'true']);
    await vch.ok(['cp', 'cpbind:/data/hostfile', join(local, 'got')]);
    assert.equal(readFileSync(join(local, 'got'), 'utf8'), 'on the host\n');

    writeFileSync(join(local, 'up'), 'copied in\n');
    await vch.ok(['cp', join(local, 'up'), 'cpbind:/data/up']);
    assert.equal(readFileSync(join(dir, 'up'), 'utf8'), 'copied in\n');
    const refused = await vch.docker(['cp', join(local, 'up'), 'cpbind:/ro/again']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /read-only/i);
    assert.equal(existsSync(join(dir, 'again')), false);

    // What was copied to the bind is the host's file, not the container's change.
    const diff = await vch.ok(['diff', 'cpbind']);
    assert.doesNotMatch(diff, /up/);
    // The container sees the same when it runs.
    await vch.ok(['rm', 'cpbind']);
    assert.equal(await vch.ok(['run', '--rm', '-v', `${dir}:/data`, 'busybox', 'cat', '/data/up']), 'copied in\n');
  } finally {
    await vch.docker(['rm', '-f', 'cpbind']);
    rmSync(dir, { recursive: true, force: true });
    rmSync(local, { recursive: true, force: true });
  }
});
