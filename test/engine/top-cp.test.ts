// `docker top` and `docker cp` with the real docker CLI against a real VCH: a running container's
// processes and files come from its tether; a stopped container's files from its disks on the host.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestVch } from '../helpers/vch.ts';

const vch = new TestVch('top-cp');
const local = mkdtempSync(join(tmpdir(), 'bonneville-cp-'));

before(async () => {
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
  rmSync(local, { recursive: true, force: true });
});

function ok(args: string[]): Promise<string> {
  return vch.ok(args);
}

async function fails(args: string[], message: RegExp): Promise<void> {
  const r = await vch.docker(args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} should fail`);
  assert.match(r.stderr, message);
}

/** A local tree with owners, modes and a symlink: what docker cp must carry across. */
function makeTree(name: string): string {
  const dir = join(local, name);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'alpha\n');
  chmodSync(join(dir, 'a.txt'), 0o640);
  chownSync(join(dir, 'a.txt'), 1234, 5678);
  writeFileSync(join(dir, 'sub/b.txt'), 'beta\n');
  chmodSync(join(dir, 'sub'), 0o750);
  symlinkSync('a.txt', join(dir, 'link'));
  return dir;
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

test('docker top lists the container processes like ps, without the tether', async () => {
  await ok(['run', '-d', '--name', 'topper', 'busybox', 'sh', '-c', 'sleep 1000 & exec sleep 2000']);
  // The shell forks and execs right after the start: wait until both sleeps are there.
  let ef: string[] = [];
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    ef = (await ok(['top', 'topper'])).trim().split('\n');
    if (ef.filter((r) => /sleep \d+$/.test(r)).length === 2) break;
  }
  assert.match(ef[0], /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  const rows = ef.slice(1);
  assert.equal(rows.length, 2, ef.join('\n'));
  assert.ok(rows.some((r) => /^root\s+\d+\s+\d+\s+\d+\s+\S+\s+\?\s+\d\d:\d\d:\d\d\s+sleep 1000$/.test(r)), ef.join('\n'));
  assert.ok(rows.some((r) => /sleep 2000$/.test(r)), ef.join('\n'));
  assert.ok(!ef.some((r) => /\/init|tether/.test(r)), 'the tether is not one of the container processes');

  const aux = (await ok(['top', 'topper', 'aux'])).trim().split('\n');
  assert.match(aux[0], /^USER\s+PID\s+%CPU\s+%MEM\s+VSZ\s+RSS\s+TTY\s+STAT\s+START\s+TIME\s+COMMAND$/);
  assert.ok(aux.slice(1).some((r) => /^root\s+\d+\s+\d+\.\d\s+\d+\.\d\s+\d+\s+\d+\s+\?\s+S\S*\s+\S+\s+\d+:\d\d\s+sleep 2000$/.test(r)), aux.join('\n'));

  await fails(['top', 'topper', '-o', 'pid,comm'], /ps_args "-o pid,comm" is not supported/);
  await ok(['create', '--name', 'never', 'busybox', 'true']);
  await fails(['top', 'never'], /is not running/);
});

test('docker cp into and out of a running container', async () => {
  const tree = makeTree('tree');
  await ok(['cp', tree, 'topper:/tmp/']);
  const listing = await ok(['exec', 'topper', 'sh', '-c', 'cd /tmp/tree && stat -c "%n %u:%g %a" a.txt sub && readlink link && cat sub/b.txt']);
  assert.equal(listing, 'a.txt 1234:5678 640\nsub 0:0 750\na.txt\nbeta\n');

  // A file to a new name, and into an existing directory.
  writeFileSync(join(local, 'single.txt'), 'single\n');
  await ok(['cp', join(local, 'single.txt'), 'topper:/tmp/renamed.txt']);
  await ok(['cp', join(local, 'single.txt'), 'topper:/etc']);
  assert.equal(await ok(['exec', 'topper', 'cat', '/tmp/renamed.txt', '/etc/single.txt']), 'single\nsingle\n');

  // Out again: directory, symlink as a symlink, modes.
  const out = join(local, 'out-running');
  await ok(['cp', 'topper:/tmp/tree', out]);
  assert.equal(readFileSync(join(out, 'a.txt'), 'utf8'), 'alpha\n');
  assert.equal(lstatSync(join(out, 'a.txt')).mode & 0o777, 0o640);
  assert.equal(lstatSync(join(out, 'sub')).mode & 0o777, 0o750);
  assert.equal(readlinkSync(join(out, 'link')), 'a.txt');
  await ok(['cp', 'topper:/tmp/tree/link', join(local, 'copied-link')]);
  assert.equal(readlinkSync(join(local, 'copied-link')), 'a.txt');

  // Large enough to need many credit windows each way.
  const big = randomBytes(6 * 1024 * 1024);
  writeFileSync(join(local, 'big.bin'), big);
  await ok(['cp', join(local, 'big.bin'), 'topper:/tmp/big.bin']);
  await ok(['cp', 'topper:/tmp/big.bin', join(local, 'big-back.bin')]);
  assert.equal(sha(readFileSync(join(local, 'big-back.bin'))), sha(big));

  await fails(['cp', 'topper:/nonexistent', local], /Could not find the file \/nonexistent in container topper/);
  await fails(['cp', join(local, 'single.txt'), 'topper:/nonexistent/dir/x'], /Could not find the file|no such/i);
  await ok(['rm', '-f', 'topper']);
});

test('docker cp into and out of a stopped container works on its disks', async () => {
  await ok(['create', '--name', 'parked', 'busybox', 'sh', '-c', 'cat /data/tree/a.txt /data/note.txt; stat -c "%u:%g %a" /data/tree/a.txt; readlink /data/tree/link']);
  // From the image's layers before the container ever ran.
  await ok(['cp', 'parked:/etc/passwd', join(local, 'passwd')]);
  assert.match(readFileSync(join(local, 'passwd'), 'utf8'), /^root:/);

  const tree = makeTree('parked-tree');
  writeFileSync(join(local, 'note.txt'), 'note\n');
  await fails(['cp', join(local, 'note.txt'), 'parked:/data/'], /Could not find the file|no such/i);
  await ok(['cp', join(local, 'note.txt'), 'parked:/note-at-root.txt']);
  await ok(['cp', 'parked:/note-at-root.txt', join(local, 'note-back.txt')]);
  assert.equal(readFileSync(join(local, 'note-back.txt'), 'utf8'), 'note\n');

  // A directory made by the copy; the guest must see it all at the next start.
  await ok(['cp', tree, 'parked:/tmp/staging']);
  const staged = await vch.docker(['start', '-a', 'parked']);
  assert.notEqual(staged.code, 0, 'no /data yet');
  await ok(['cp', 'parked:/tmp/staging', join(local, 'staged-out')]);
  assert.equal(readlinkSync(join(local, 'staged-out/link')), 'a.txt');
  assert.equal(lstatSync(join(local, 'staged-out/a.txt')).mode & 0o777, 0o640);

  // Now an exited container: a new top-level directory, a tree into it, a file beside.
  mkdirSync(join(local, 'data'));
  await ok(['cp', join(local, 'data'), 'parked:/data']);
  await ok(['cp', tree, 'parked:/data/tree']);
  await ok(['cp', join(local, 'note.txt'), 'parked:/data/note.txt']);
  const run = await ok(['start', '-a', 'parked']);
  assert.equal(run, 'alpha\nnote\n1234:5678 640\na.txt\n');
  await fails(['cp', 'parked:/nonexistent', local], /Could not find the file \/nonexistent in container parked/);
});
