// SQLite across processes: while another process holds the database's write lock, this
// registry's writes wait for it without freezing the process, so pulls and reads go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminAuth as auth, call, createProject, pushImage, startTestRegistry } from './helpers.ts';

// A second process that takes the write lock, writes, and commits only when told to.
const locker = `
import { DatabaseSync } from 'node:sqlite';
import { createInterface } from 'node:readline';
const db = new DatabaseSync(process.argv[1]);
db.exec('PRAGMA busy_timeout = 5000; BEGIN IMMEDIATE');
db.prepare('INSERT INTO settings (name, value) VALUES (?, ?)').run('held-by-another-process', 'x');
process.stdout.write('locked\\n');
createInterface({ input: process.stdin }).once('line', () => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n', () => process.exit(0)); });
`;

test('another process holding the SQLite write lock stalls only writes, not pulls', { timeout: 60_000 }, async () => {
  const t = await startTestRegistry({}, 'sqlite');
  await createProject(t.url, 'lock');
  const image = await pushImage(t.url, 'lock/app', 'v1', { layer: Buffer.alloc(256 * 1024, 7) });
  const child = spawn(process.execPath, ['--input-type=module', '-e', locker, join(t.dir, 'root', 'registry.sqlite')], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const reader = createInterface({ input: child.stdout! });
    const lines = reader[Symbol.asyncIterator]();
    assert.equal((await lines.next()).value, 'locked');

    let written = false;
    const write = createProject(t.url, 'later').finally(() => { written = true; });
    await sleep(100); // let the write reach BEGIN IMMEDIATE and start waiting

    const manifest = await call(t.url, '/v2/lock/app/manifests/v1', { auth, headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(manifest.headers.get('docker-content-digest'), image.digest);
    await manifest.body?.cancel();
    const blob = await call(t.url, `/v2/lock/app/blobs/${image.layerDigest}`, { auth });
    assert.equal(Buffer.from(await blob.arrayBuffer()).length, 256 * 1024);
    const projects = await (await call(t.url, '/api/v2.0/projects', { auth })).json() as { name: string }[];
    assert.ok(projects.some((p) => p.name === 'lock'));
    assert.equal(written, false, 'the write is still waiting for the other process');

    child.stdin!.write('go\n');
    assert.equal((await lines.next()).value, 'released');
    await write;
    assert.equal((await call(t.url, '/api/v2.0/projects/later', { auth })).status, 200);
    reader.close();
  } finally {
    if (child.exitCode === null) { child.kill('SIGKILL'); await once(child, 'exit'); }
    await t.stop();
  }
});
