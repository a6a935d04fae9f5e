// The pull path's fast lanes: blobs larger than one copy buffer, ranges across buffer
// boundaries, clients that hang up mid-blob, and SQLite reads that do not wait for writers.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminAuth as auth, call, createProject, pushBlob, startTestRegistry, type TestRegistry } from './helpers.ts';
import { SqliteDriver } from '../../src/registry/db/sqlite.ts';

describe('pull path', () => {
  let t: TestRegistry;
  const repo = 'pull/app';
  const data = randomBytes(1536 * 1024 + 123); // three copy buffers and a bit
  let digest: string;
  before(async () => {
    t = await startTestRegistry();
    await createProject(t.url, 'pull');
    digest = await pushBlob(t.url, repo, data);
  });
  after(async () => { await t.stop(); });

  test('a blob of several copy buffers arrives whole', async () => {
    const res = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(data.length));
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
  });

  test('a range across a buffer boundary returns exactly those bytes', async () => {
    const start = 512 * 1024 - 10, end = 1024 * 1024 + 10;
    const res = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth, headers: { Range: `bytes=${start}-${end}` } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(start, end + 1)));
  });

  test('a client hanging up mid-blob leaves the registry serving', async () => {
    const u = new URL(`${t.url}/v2/${repo}/blobs/${digest}`);
    await new Promise<void>((resolve, reject) => {
      const req = request(u, { headers: { Authorization: auth } }, (res) => {
        res.once('data', () => { req.destroy(); resolve(); });
      });
      req.on('error', () => { /* destroyed on purpose */ });
      req.on('response', (res) => { if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`)); });
      req.end();
    });
    for (let i = 0; i < 3; i++) {
      const res = await call(t.url, `/v2/${repo}/blobs/${digest}`, { auth });
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    }
    assert.deepEqual(t.logs.filter((l) => l.includes('internal error')), []);
  });
});

test('SQLite reads answer while a write transaction of the same process is open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-sqlite-'));
  const db = new SqliteDriver(join(dir, 'db.sqlite'));
  try {
    await db.exec('CREATE TABLE t (x INTEGER)');
    await db.run('INSERT INTO t (x) VALUES (1)');
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let inside!: () => void;
    const entered = new Promise<void>((r) => { inside = r; });
    const tx = db.tx(async (q) => {
      await q.run('INSERT INTO t (x) VALUES (2)');
      inside();
      await held;
    });
    await entered;
    // Would never settle if reads queued behind the transaction; sees the committed state only.
    assert.equal(Number((await db.get('SELECT COUNT(*) AS n FROM t'))!.n), 1);
    release();
    await tx;
    assert.equal(Number((await db.get('SELECT COUNT(*) AS n FROM t'))!.n), 2);
    // Writes issued through `get` (INSERT … RETURNING) still go through the writing connection.
    assert.equal(Number((await db.get('INSERT INTO t (x) VALUES (3) RETURNING x'))!.x), 3);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
