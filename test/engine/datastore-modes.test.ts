// The VCH datastore is root's alone: a container's config.json (its environment), its disks, logs and
// memory, the template VM's memory, volumes and images are neither readable nor listable by other
// users — directories 0700, files 0600 — whatever the engine's umask. Only public certificates may be.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TestVch } from '../helpers/vch.ts';

const vch = new TestVch('datastore-modes');
const SECRET = 'hunter2-db-password';

before(async () => {
  // The test's own temp parent must be traversable for the check to mean anything (mkdtemp makes 0700);
  // the datastore below it is left as the engine makes it.
  chmodSync(vch.dir, 0o755);
  await vch.startWithBusybox();
});

after(async () => {
  await vch.destroy();
});

function ok(args: string[]): Promise<string> {
  return vch.ok(args);
}

/** A public certificate (no private key in it) may stay readable. */
function isPublicCertificate(path: string): boolean {
  return path.endsWith('.pem') && !readFileSync(path, 'utf8').includes('PRIVATE KEY');
}

function walk(dir: string, found: Array<{ path: string; mode: number; dir: boolean }> = []): typeof found {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) continue;
    found.push({ path, mode: stat.mode & 0o7777, dir: stat.isDirectory() });
    if (stat.isDirectory()) walk(path, found);
  }
  return found;
}

test('nothing in the datastore is readable by other users: directories 0700, files 0600', async () => {
  assert.equal(await ok(['run', '--name', 'secretive', '-e', `DB_PASSWORD=${SECRET}`, 'busybox', 'sh', '-c', 'echo "$DB_PASSWORD"']), `${SECRET}\n`);
  await ok(['volume', 'create', 'private-vol']);
  await ok(['run', '--rm', '-v', 'private-vol:/v', 'busybox', 'sh', '-c', 'echo x > /v/f']);
  await ok(['run', '-d', '--name', 'running', '-e', `DB_PASSWORD=${SECRET}`, 'busybox', 'sleep', '1000']);

  const datastore = vch.datastore;
  // The instant-clone template (a booted VM's memory and device state) is made in the background: the
  // walk must see it. The engine's log says when it is ready; the bound only keeps a broken run finite.
  for (let waited = 0; !/template \S+ ready/.test(vch.engineLog) && waited < 240; waited++) await new Promise((r) => setTimeout(r, 500));
  assert.match(vch.engineLog, /template \S+ ready/, 'the template was made');
  assert.ok(walk(join(datastore, 'templates')).some((e) => e.path.endsWith('/memory')), 'the template memory file is there');
  const entries = walk(datastore);
  assert.ok(entries.some((e) => e.path.endsWith('config.json')), 'the walk sees the containers');
  const open = entries
    .filter((e) => (e.mode & 0o077) !== 0 && !(!e.dir && isPublicCertificate(e.path)))
    .map((e) => `${e.mode.toString(8).padStart(4, '0')} ${relative(datastore, e.path)}`);
  assert.deepEqual(open, [], 'entries open to group or others');
  assert.equal(lstatSync(datastore).mode & 0o777, 0o700);

  // And as an unprivileged user, the way an attacker on the host would look.
  const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
  const readable = spawnSync('setpriv', [...nobody, 'find', datastore, '-readable', '-type', 'f'], { encoding: 'utf8' }).stdout
    .split('\n').filter(Boolean).filter((path) => !isPublicCertificate(path));
  assert.deepEqual(readable, []);
  const grep = spawnSync('setpriv', [...nobody, 'grep', '-rl', SECRET, datastore], { encoding: 'utf8' });
  assert.equal(grep.stdout, '', 'the password is nowhere to be read');
  assert.equal(execFileSync('grep', ['-rl', '--exclude=*.ext4', SECRET, datastore], { encoding: 'utf8' }).trim().length > 0, true, 'as root it is there');
  await ok(['rm', '-f', 'running', 'secretive']);
});
