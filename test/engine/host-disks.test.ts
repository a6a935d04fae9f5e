// Host-side access to the disks a guest wrote (`docker cp` on a stopped container, its volumes, export,
// commit) with the real docker CLI and dockerode against a real VCH: the host's kernel never mounts
// such a disk (fuse2fs serves it, nodev,nosuid,noexec), a stopped container's volumes are reachable as
// dockerd's are, and a commit names its parent image.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { TestVch, runCommand } from '../helpers/vch.ts';

const vch = new TestVch('host-disks');
const local = mkdtempSync(join(tmpdir(), 'bonneville-disks-'));
let docker: Docker;

before(async () => {
  await vch.startWithBusybox();
  docker = new Docker({ socketPath: vch.socket });
});

after(async () => {
  await vch.destroy();
  rmSync(local, { recursive: true, force: true });
});

function ok(args: string[]): Promise<string> {
  return vch.ok(args);
}

/** Names of a tar's entries with their `tar -tv` lines. */
function listing(tarFile: string): string {
  return execFileSync('tar', ['-tvf', tarFile, '--numeric-owner'], { encoding: 'utf8' });
}

function streamToBuffer(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Loop devices backed by files in this VCH's datastore, and the mounts of guest disks (fuse2fs). */
function hostView(): { loopFiles: string[]; guestDiskMounts: string[] } {
  const loops = execFileSync('losetup', ['--list', '--noheadings', '-O', 'BACK-FILE'], { encoding: 'utf8' })
    .split('\n').map((l) => l.trim()).filter((l) => l.startsWith(join(vch.datastore, 'containers')) || l.startsWith(join(vch.datastore, 'volumes')));
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.startsWith('bonneville-guest-disk '));
  return { loopFiles: loops, guestDiskMounts: mounts };
}

test('a guest-written disk is never mounted by the host kernel, and its setuid files and devices are inert', async () => {
  await ok(['create', '--name', 'hostile', '-v', '/vol1', 'busybox', 'sh', '-c',
    'echo -n data > /vol1/data.txt; cp /bin/busybox /suid; chmod 4755 /suid; mknod /node c 1 3; cp /bin/busybox /vol1/suid; chmod 4755 /vol1/suid']);
  await ok(['start', '-a', 'hostile']);

  const before = new Set(hostView().guestDiskMounts); // other VCHs' work, if any
  // The tar stream is held unread: the container's disks stay open on the host meanwhile.
  const tar = await docker.getContainer('hostile').getArchive({ path: '/' }) as unknown as Readable;
  const during = hostView();
  const bytes = await streamToBuffer(tar);
  writeFileSync(join(local, 'root.tar'), bytes);
  assert.deepEqual(during.loopFiles, [], 'no guest disk behind a loop device');
  assert.ok(during.guestDiskMounts.length >= 2, `the writable disk and the volume through fuse2fs: ${JSON.stringify(during)}`);
  for (const line of during.guestDiskMounts) {
    const options = line.split(' ')[3].split(',');
    for (const flag of ['nosuid', 'nodev', 'noexec']) assert.ok(options.includes(flag), `${flag} missing: ${line}`);
  }

  // What the copy carries is still exact: setuid bits, the device node, the volume's files.
  const entries = listing(join(local, 'root.tar'));
  assert.match(entries, /^-rwsr-xr-x 0\/0 .* suid$/m);
  assert.match(entries, /^crw-r--r-- 0\/0 .*1,3 .* node$/m);
  assert.match(entries, /^-rw-r--r-- 0\/0 +4 .* vol1\/data\.txt$/m);
  assert.match(entries, /^-rwsr-xr-x 0\/0 .* vol1\/suid$/m);

  // export and commit read the same disks the same way.
  const exported = await ok(['export', '-o', join(local, 'export.tar'), 'hostile']);
  assert.equal(exported, '');
  assert.match(listing(join(local, 'export.tar')), /^-rwsr-xr-x 0\/0 .* suid$/m);
  await ok(['commit', 'hostile', 'hostile:committed']);
  const check = await ok(['run', '--rm', 'hostile:committed', 'sh', '-c', 'stat -c "%a %F %t,%T" /suid /node']);
  assert.equal(check, '4755 regular file 0,0\n644 character special file 1,3\n');
  // A start waits until no host-side user holds the disks: then nothing of them may be left mounted.
  await vch.docker(['start', '-a', 'hostile']);
  assert.deepEqual(hostView().loopFiles, []);
  assert.deepEqual(hostView().guestDiskMounts.filter((m) => !before.has(m)), [], 'nothing stays mounted after the host-side access');
});

test('export and commit of a running container read a copy of its disk, the guest\'s journal replayed in user space', async () => {
  await ok(['run', '-d', '--name', 'live', 'busybox', 'sleep', '1000']);
  // sync: the change is in the guest's journal (or beyond), which the host must replay on its copy.
  await ok(['exec', 'live', 'sh', '-c', 'echo live > /live.txt && sync']);
  await ok(['export', '-o', join(local, 'live.tar'), 'live']);
  assert.equal(execFileSync('tar', ['-xOf', join(local, 'live.tar'), 'live.txt'], { encoding: 'utf8' }), 'live\n');
  await ok(['commit', 'live', 'live:snap']);
  assert.equal(await ok(['run', '--rm', 'live:snap', 'cat', '/live.txt']), 'live\n');
  await ok(['rm', '-f', 'live']);
});

test('docker cp reaches the volumes of a stopped container, both ways', async () => {
  await ok(['create', '--name', 'volcp', '-v', '/vol1', '-v', 'named-vol:/srv/data', '-v', 'nested:/srv/data/inner', 'busybox', 'sh', '-c',
    'echo -n data > /vol1/data.txt; echo -n inner > /srv/data/inner/i.txt; echo -n outer > /srv/data/o.txt']);
  await ok(['start', '-a', 'volcp']);
  await ok(['cp', 'volcp:/vol1/data.txt', join(local, 'data.txt')]);
  assert.equal(readFileSync(join(local, 'data.txt'), 'utf8'), 'data');
  await ok(['cp', 'volcp:/srv', join(local, 'srv')]);
  assert.equal(readFileSync(join(local, 'srv/data/o.txt'), 'utf8'), 'outer');
  assert.equal(readFileSync(join(local, 'srv/data/inner/i.txt'), 'utf8'), 'inner');

  // Into the volume of the exited container; the next run sees it.
  mkdirSync(join(local, 'in'));
  writeFileSync(join(local, 'in/new.txt'), 'new\n');
  await ok(['cp', join(local, 'in/new.txt'), 'volcp:/vol1/new.txt']);
  await ok(['cp', join(local, 'in'), 'volcp:/srv/data/inner/dir']);
  await ok(['create', '--name', 'volcp2', '--volumes-from', 'volcp', 'busybox', 'sh', '-c',
    'cat /vol1/new.txt /srv/data/inner/dir/new.txt; ls /']);
  const seen = await ok(['start', '-a', 'volcp2']);
  assert.match(seen, /^new\nnew\n/);
  assert.doesNotMatch(seen, /^dir$/m, 'the copy went into the volume, not the container root');

  // dockerode: HEAD, GET and PUT on a volume path of a stopped container.
  const container = docker.getContainer('volcp');
  const info = await container.infoArchive({ path: '/vol1/data.txt' }) as unknown as Readable & { headers: Record<string, string> };
  info.resume();
  const stat = JSON.parse(Buffer.from(info.headers['x-docker-container-path-stat'], 'base64').toString('utf8')) as { name: string; size: number };
  assert.deepEqual([stat.name, stat.size], ['data.txt', 4]);
  execFileSync('tar', ['-C', join(local, 'in'), '-cf', join(local, 'put.tar'), 'new.txt']);
  await container.putArchive(join(local, 'put.tar'), { path: '/srv/data' });
  const got = await streamToBuffer(await container.getArchive({ path: '/srv/data/new.txt' }) as unknown as Readable);
  writeFileSync(join(local, 'got.tar'), got);
  assert.match(listing(join(local, 'got.tar')), /new\.txt$/m);

  // The container's own files are untouched by the volumes having been shown over them.
  await ok(['rm', 'volcp2']);
  await ok(['create', '--name', 'novol', 'busybox', 'sh', '-c', 'ls /vol1 2>&1; true']);
  await ok(['rm', 'novol']);
});

test('a volume a running container has attached is refused clearly, not read behind its back', async () => {
  await ok(['run', '-d', '--name', 'holder', '-v', 'held:/v', 'busybox', 'sh', '-c', 'echo -n x > /v/x; sleep 1000']);
  await ok(['create', '--name', 'sharer', '-v', 'held:/v', 'busybox', 'true']);
  const r = await vch.docker(['cp', 'sharer:/v/x', local]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /volume "held", which running container "holder" has attached/);
  // Paths beside the volume are fine.
  await ok(['cp', 'sharer:/etc/passwd', join(local, 'sharer-passwd')]);
  await ok(['rm', '-f', 'holder', 'sharer']);
});

test('docker commit names the image the container was created from as Parent, and history shows it', async () => {
  await ok(['run', '--name', 'parented', 'busybox', 'sh', '-c', 'echo x > /x']);
  const id = (await ok(['commit', 'parented', 'parented:v1'])).trim();
  const base = JSON.parse(await ok(['image', 'inspect', 'busybox']))[0];
  const image = JSON.parse(await ok(['image', 'inspect', 'parented:v1']))[0];
  assert.equal(image.Id, id);
  assert.equal(image.Parent, base.Id);
  const history = (await ok(['history', '--no-trunc', '--format', '{{.ID}}', 'parented:v1'])).trim().split('\n');
  assert.equal(history[0], id);
  assert.equal(history[1], base.Id, history.join('\n'));
  const baseHistory = (await ok(['history', '--no-trunc', '--format', '{{.ID}}', 'busybox'])).trim().split('\n');
  assert.deepEqual(history.slice(1), baseHistory, 'the base image\'s entries lie below the new one');
  await ok(['rm', 'parented']);
});

test('what a stopped container deleted stays deleted in docker cp and docker export (whiteouts read from a local copy)', async () => {
  await ok(['run', '--name', 'deleter', 'busybox', 'sh', '-c', 'mkdir -p /etc/keep && echo k > /etc/keep/k && rm /etc/passwd']);
  // Through the FUSE-served upper directly, overlayfs listed the whiteout and tar then failed on it.
  const cp = await vch.docker(['cp', 'deleter:/etc', join(local, 'deleter-etc')]);
  assert.equal(cp.code, 0, cp.stderr);
  assert.ok(!existsSync(join(local, 'deleter-etc/passwd')), 'the deleted file is not copied out');
  assert.equal(readFileSync(join(local, 'deleter-etc/keep/k'), 'utf8'), 'k\n');
  const tarball = join(local, 'deleter.tar');
  await ok(['export', '-o', tarball, 'deleter']);
  const listing = await runCommand('tar', ['-tf', tarball]);
  assert.equal(listing.code, 0, listing.stderr);
  assert.ok(!listing.stdout.split('\n').some((n) => n.replace(/^\.\//, '') === 'etc/passwd'), 'export omits the deleted file');
  assert.ok(listing.stdout.includes('etc/keep/k'));
  await ok(['rm', 'deleter']);
});
