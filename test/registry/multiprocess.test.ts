// Two registry processes on one PostgreSQL database and one root directory serve together:
// what one accepts the other serves, upload sessions move between them, quotas hold under
// concurrent pushes, and GC in one never deletes what a push through the other references.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminAuth as auth, call, createProject, errorCode, pushBlob, pushImage, sha256 } from './helpers.ts';
import { startPgCluster, type PgCluster } from './postgres.ts';
import { kill9, spawnRegistry, type RegistryProcess } from './processes.ts';

let cluster: PgCluster, dir: string, a: RegistryProcess, b: RegistryProcess;
before(async () => {
  cluster = await startPgCluster();
  dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-multi-'));
  const args = ['--database', await cluster.createDatabase(), '--gc-grace-seconds', '0'];
  // Started together: both migrate the fresh database and race to create the admin account.
  [a, b] = await Promise.all([spawnRegistry(join(dir, 'root'), args), spawnRegistry(join(dir, 'root'), args)]);
  await createProject(a.url, 'multi');
});
after(async () => {
  await Promise.all([a && kill9(a.child), b && kill9(b.child)]);
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function blobBytes(base: string, repo: string, digest: string): Promise<Buffer> {
  const res = await call(base, `/v2/${repo}/blobs/${digest}`, { auth });
  assert.equal(res.status, 200, `blob ${digest} via ${base}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Runs GC through the management API of one process and waits for the run to end. */
async function gcVia(base: string): Promise<void> {
  const res = await call(base, '/api/v2.0/system/gc/schedule', { method: 'POST', auth, body: { schedule: { type: 'Manual' } } });
  if (res.status === 409) return; // a collection is already running (elsewhere)
  assert.equal(res.status, 201);
  for (;;) {
    const run = await (await call(base, res.headers.get('location')!, { auth })).json() as { job_status: string };
    if (run.job_status !== 'Running') { assert.equal(run.job_status, 'Success'); return; }
    await sleep(20);
  }
}

test('an image pushed through one process is pulled identical through the other', async () => {
  const pushed = await pushImage(a.url, 'multi/app', 'v1', { layer: Buffer.alloc(200_000, 7) });
  const m = await call(b.url, '/v2/multi/app/manifests/v1', { auth });
  assert.equal(m.status, 200);
  assert.equal(m.headers.get('docker-content-digest'), pushed.digest);
  assert.deepEqual(Buffer.from(await m.arrayBuffer()), pushed.manifest);
  assert.equal(sha256(await blobBytes(b.url, 'multi/app', pushed.layerDigest)), pushed.layerDigest);
  const tags = await (await call(b.url, '/v2/multi/app/tags/list', { auth })).json() as { tags: string[] };
  assert.deepEqual(tags.tags, ['v1']);
});

test('a chunked upload started on one process continues and finishes on the other', async () => {
  const data = Buffer.from('0123456789'.repeat(3000));
  const digest = sha256(data);
  for (const [first, second] of [[a, b], [b, a]]) {
    const start = await call(first.url, '/v2/multi/chunked/blobs/uploads/', { method: 'POST', auth });
    assert.equal(start.status, 202);
    const loc = start.headers.get('location')!;
    const p1 = await call(first.url, loc, { method: 'PATCH', auth, body: data.subarray(0, 10_000), headers: { 'Content-Range': '0-9999' } });
    assert.equal(p1.status, 202);
    const p2 = await call(second.url, loc, { method: 'PATCH', auth, body: data.subarray(10_000, 20_000), headers: { 'Content-Range': '10000-19999' } });
    assert.equal(p2.status, 202);
    const status = await call(first.url, loc, { auth });
    assert.equal(status.headers.get('range'), '0-19999');
    // Out of order on the first process: it must see the second's chunk.
    const stale = await call(first.url, loc, { method: 'PATCH', auth, body: data.subarray(10_000, 20_000), headers: { 'Content-Range': '10000-19999' } });
    assert.equal(stale.status, 416);
    await stale.body?.cancel();
    const p3 = await call(first.url, loc, { method: 'PATCH', auth, body: data.subarray(20_000), headers: { 'Content-Range': `20000-${data.length - 1}` } });
    assert.equal(p3.status, 202);
    const put = await call(first.url, `${loc}?digest=${digest}`, { method: 'PUT', auth });
    assert.equal(put.status, 201);
    assert.deepEqual(await blobBytes(second.url, 'multi/chunked', digest), data);
  }
});

test('concurrent pushes of the same blobs and manifest through both processes', async () => {
  const layer = Buffer.alloc(500_000, 3);
  for (let round = 0; round < 4; round++) {
    const results = await Promise.all([a, b, a, b].map((p, i) => pushImage(p.url, 'multi/same', `t${i % 2}`, { layer })));
    assert.equal(new Set(results.map((r) => r.layerDigest)).size, 1);
  }
  const layerDigest = sha256(layer);
  assert.equal(sha256(await blobBytes(a.url, 'multi/same', layerDigest)), layerDigest);
  const files = await readdir(join(dir, 'root', 'blobs', 'sha256', layerDigest.slice(7, 9)));
  assert.deepEqual(files.filter((f) => f.startsWith(layerDigest.slice(7))), [layerDigest.slice(7)], 'one file, no temporaries left');
  const tags = await (await call(b.url, '/v2/multi/same/tags/list', { auth })).json() as { tags: string[] };
  assert.deepEqual(tags.tags, ['t0', 't1']);
});

test('a quota holds when both processes push into the project at once', async () => {
  await createProject(a.url, 'capped', { storageLimit: 1000 });
  const blobs = Array.from({ length: 10 }, (_, i) => Buffer.alloc(300, i + 1));
  const outcomes = await Promise.all(blobs.map((data, i) => pushBlob([a, b][i % 2].url, `capped/r${i % 3}`, data).then(() => 'ok', (e) => String(e))));
  assert.equal(outcomes.filter((o) => o === 'ok').length, 3, outcomes.join('\n'));
  assert.ok(outcomes.every((o) => o === 'ok' || /403/.test(o)));
  const summary = await (await call(b.url, '/api/v2.0/projects/capped/summary', { auth })).json() as any;
  assert.equal(summary.quota.used.storage, 900);
});

test('GC in one process while pushes go through the other deletes nothing referenced', { timeout: 120_000 }, async () => {
  const accepted: { digest: string; refs: string[] }[] = [];
  let refused = 0;
  const pushes = (async () => {
    for (let i = 0; i < 25; i++) {
      try {
        const r = await pushImage(b.url, 'multi/race', `t${i}`, { layer: Buffer.from(`race layer ${i}`) });
        accepted.push({ digest: r.digest, refs: [r.configDigest, r.layerDigest] });
      } catch (e) {
        // No grace period: GC may take a blob before its manifest arrives; the manifest is then refused.
        assert.match(String(e), /MANIFEST_BLOB_UNKNOWN|BLOB_UNKNOWN/);
        refused++;
      }
    }
  })();
  let collections = 0;
  let pushing = true;
  void pushes.finally(() => { pushing = false; });
  while (pushing) { await gcVia(a.url); collections++; }
  await pushes;
  await gcVia(a.url);
  assert.ok(collections > 0 && accepted.length > 0, `${collections} collections, ${accepted.length} accepted, ${refused} refused`);
  for (const p of accepted) {
    for (const proc of [a, b]) {
      const m = await call(proc.url, `/v2/multi/race/manifests/${p.digest}`, { auth });
      assert.equal(m.status, 200);
      await m.body?.cancel();
      for (const d of p.refs) assert.equal(sha256(await blobBytes(proc.url, 'multi/race', d)), d);
    }
  }
  // Everything pushed earlier in this file is still referenced and still there.
  assert.equal((await call(a.url, '/v2/multi/app/manifests/v1', { method: 'HEAD', auth })).status, 200);
});

test('only one GC runs at a time across the processes', async () => {
  const [ra, rb] = await Promise.all([a, b].map((p) => call(p.url, '/api/v2.0/system/gc/schedule', { method: 'POST', auth, body: { schedule: { type: 'Manual' } } })));
  const statuses = [ra.status, rb.status].sort();
  // Both may succeed one after the other when the first finishes quickly; never a failure other than 409.
  assert.ok(statuses.every((s) => s === 201 || s === 409), String(statuses));
  for (const r of [ra, rb]) if (r.status === 409) assert.equal(await errorCode(r), 'CONFLICT'); else await r.body?.cancel();
  const runs = await (await call(b.url, '/api/v2.0/system/gc', { auth })).json() as { job_status: string }[];
  assert.ok(runs.filter((r) => r.job_status === 'Running').length <= 1);
});
