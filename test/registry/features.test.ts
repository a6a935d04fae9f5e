// Quotas, audit log, garbage collection (dry run, concurrent pushes), tag immutability, webhooks.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminAuth as auth, call, createProject, errorCode, OCI_MANIFEST, pushBlob, pushImage, sha256, startTestRegistry, BACKENDS, type TestRegistry } from './helpers.ts';
import { stopSharedCluster } from './postgres.ts';

after(stopSharedCluster);

for (const backend of BACKENDS) describe(`features ({backend})`, () => {
  let t: TestRegistry;
  before(async () => { t = await startTestRegistry({ allowInternalWebhooks: true }, backend); });
  after(async () => { await t.stop(); });

  test('storage quota is enforced at push time; a blob already in the project costs nothing; raising the quota unblocks', async () => {
    const id = await createProject(t.url, 'quota', { storageLimit: 100 });
    const a = Buffer.alloc(60, 1), b = Buffer.alloc(60, 2);
    await pushBlob(t.url, 'quota/one', a);
    const start = await call(t.url, '/v2/quota/one/blobs/uploads/', { method: 'POST', auth });
    const over = await call(t.url, `${start.headers.get('location')}?digest=${sha256(b)}`, { method: 'PUT', auth, body: b });
    assert.equal(over.status, 403);
    assert.equal(await errorCode(over), 'DENIED');
    assert.equal((await call(t.url, `/v2/quota/one/blobs/${sha256(b)}`, { method: 'HEAD', auth })).status, 404);
    await pushBlob(t.url, 'quota/two', a); // same content in another repository of the project
    const mount = await call(t.url, `/v2/quota/three/blobs/uploads/?mount=${sha256(a)}&from=quota/one`, { method: 'POST', auth });
    assert.equal(mount.status, 201);
    const summary = await (await call(t.url, '/api/v2.0/projects/quota/summary', { auth })).json() as any;
    assert.deepEqual(summary.quota, { hard: { storage: 100 }, used: { storage: 60 } });
    assert.equal((await call(t.url, `/api/v2.0/quotas/${id}`, { method: 'PUT', auth, body: { hard: { storage: 1000 } } })).status, 200);
    await pushBlob(t.url, 'quota/one', b);
    const quota = await (await call(t.url, `/api/v2.0/quotas/${id}`, { auth })).json() as any;
    assert.deepEqual(quota.used, { storage: 120 });
  });

  test('audit log records push, pull and delete with the operator', async () => {
    await createProject(t.url, 'audit');
    const { digest } = await pushImage(t.url, 'audit/app', 'v1');
    await (await call(t.url, '/v2/audit/app/manifests/v1', { auth })).arrayBuffer();
    // Entries are written after the response (on PostgreSQL over separate pooled connections), so
    // the pull's entry is waited for before the delete that must come after it.
    const entries = async () => (await (await call(t.url, '/api/v2.0/projects/audit/logs?page_size=10', { auth })).json() as any[]).length;
    for (let i = 0; i < 250 && (await entries()) < 2; i++) await sleep(20);
    assert.equal((await call(t.url, `/v2/audit/app/manifests/${digest}`, { method: 'DELETE', auth })).status, 202);
    for (let i = 0; i < 250 && (await entries()) < 3; i++) await sleep(20);
    const logs = await (await call(t.url, '/api/v2.0/projects/audit/logs?page_size=10', { auth })).json() as any[];
    assert.deepEqual(logs.map((l) => [l.operation, l.resource, l.username]), [
      ['delete', `audit/app:${digest}`, 'admin'], ['pull', 'audit/app:v1', 'admin'], ['create', 'audit/app:v1', 'admin'],
    ]);
    const all = await (await call(t.url, '/api/v2.0/audit-logs?page_size=100', { auth })).json() as any[];
    assert.ok(all.length >= 3);
    // Harbor's q: exact (operation) and contains, case-insensitive (resource, username); wildcards in values are plain text.
    const q = async (query: string) => (await (await call(t.url, `/api/v2.0/audit-logs?page_size=100&q=${encodeURIComponent(query)}`, { auth })).json() as any[])
      .map((l) => `${l.operation} ${l.resource}`);
    assert.deepEqual(await q('operation=pull,resource=~AUDIT/APP'), ['pull audit/app:v1']);
    assert.deepEqual(await q('username=~dmi,resource=~audit/app:v'), ['pull audit/app:v1', 'create audit/app:v1']);
    assert.deepEqual(await q('resource=~audit/%'), []);
    assert.deepEqual(await q('resource=~audit_app'), []);
    for (const bad of ['password=x', 'operation', `resource=~${'x'.repeat(300)}`]) {
      assert.equal((await call(t.url, `/api/v2.0/audit-logs?q=${encodeURIComponent(bad)}`, { auth })).status, 400, bad);
    }
  });

  test('GC: dry run deletes nothing; a real run deletes only unreferenced blobs', async () => {
    await createProject(t.url, 'gc');
    const keep = await pushImage(t.url, 'gc/keep', 'v1');
    const drop = await pushImage(t.url, 'gc/drop', 'v2');
    assert.equal((await call(t.url, `/v2/gc/drop/manifests/${drop.digest}`, { method: 'DELETE', auth })).status, 202);
    const dry = await t.registry.gc({ dryRun: true, graceSeconds: 0 });
    for (const d of [drop.digest, drop.configDigest, drop.layerDigest]) assert.ok(dry.deletedDigests.includes(d), `dry run reports ${d}`);
    for (const d of [keep.digest, keep.configDigest, keep.layerDigest]) assert.ok(!dry.deletedDigests.includes(d));
    assert.equal((await call(t.url, `/v2/gc/drop/blobs/${drop.layerDigest}`, { method: 'HEAD', auth })).status, 200, 'dry run kept the blob');

    // Through the API, as Harbor clients do it.
    const sched = await call(t.url, '/api/v2.0/system/gc/schedule', { method: 'POST', auth, body: { schedule: { type: 'Manual' }, parameters: { dry_run: false } } });
    assert.equal(sched.status, 201);
    const runUrl = sched.headers.get('location')!;
    let run: any;
    for (let i = 0; i < 200; i++) {
      run = await (await call(t.url, runUrl, { auth })).json();
      if (run.job_status !== 'Running') break;
      await sleep(50);
    }
    assert.equal(run.job_status, 'Success');
    // The default grace period (1 h) protects freshly pushed blobs, so now collect without it.
    const real = await t.registry.gc({ graceSeconds: 0 });
    assert.ok(real.deletedDigests.includes(drop.layerDigest));
    assert.equal((await call(t.url, `/v2/gc/drop/blobs/${drop.layerDigest}`, { method: 'HEAD', auth })).status, 404);
    for (const d of [keep.configDigest, keep.layerDigest]) {
      const res = await call(t.url, `/v2/gc/keep/blobs/${d}`, { auth });
      assert.equal(res.status, 200);
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), d);
    }
  });

  test('GC running concurrently with pushes never leaves a manifest pointing at a missing blob', async () => {
    await createProject(t.url, 'race');
    const pushed: { name: string; digest: string; refs: string[] }[] = [];
    const pushes = (async () => {
      for (let i = 0; i < 30; i++) {
        try {
          const r = await pushImage(t.url, 'race/app', `t${i}`, { layer: Buffer.from(`race layer ${i}`) });
          pushed.push({ name: 'race/app', digest: r.digest, refs: [r.configDigest, r.layerDigest] });
        } catch (e) {
          // With no grace period GC may take a not-yet-referenced blob; the manifest is then refused.
          assert.match(String(e), /MANIFEST_BLOB_UNKNOWN|BLOB_UNKNOWN/);
        }
      }
    })();
    const collections = (async () => {
      for (let i = 0; i < 15; i++) await t.registry.gc({ graceSeconds: 0 });
    })();
    await Promise.all([pushes, collections]);
    await t.registry.gc({ graceSeconds: 0 });
    assert.ok(pushed.length > 0);
    for (const p of pushed) {
      const m = await call(t.url, `/v2/${p.name}/manifests/${p.digest}`, { auth });
      assert.equal(m.status, 200);
      await m.body?.cancel();
      for (const d of p.refs) {
        const res = await call(t.url, `/v2/${p.name}/blobs/${d}`, { auth });
        assert.equal(res.status, 200, `blob ${d} of ${p.digest} survives GC`);
        assert.equal(sha256(Buffer.from(await res.arrayBuffer())), d);
      }
    }
  });

  test('GC with the default grace period keeps blobs uploaded just before a manifest', async () => {
    await createProject(t.url, 'grace');
    const layer = await pushBlob(t.url, 'grace/app', Buffer.from('uploaded, not yet referenced'));
    const result = await t.registry.gc();
    assert.ok(!result.deletedDigests.includes(layer));
    assert.equal((await call(t.url, `/v2/grace/app/blobs/${layer}`, { method: 'HEAD', auth })).status, 200);
  });

  test('immutable tags can be created but neither moved nor deleted', async () => {
    await createProject(t.url, 'immut');
    const rule = await call(t.url, '/api/v2.0/projects/immut/immutabletagrules', { method: 'POST', auth,
      body: { tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }], scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] } } });
    assert.equal(rule.status, 201);
    const first = await pushImage(t.url, 'immut/app', 'v1');
    const second = await pushImage(t.url, 'immut/app', 'latest', { layer: Buffer.from('other') });
    const move = await call(t.url, '/v2/immut/app/manifests/v1', { method: 'PUT', auth,
      body: Buffer.from(await (await call(t.url, `/v2/immut/app/manifests/${second.digest}`, { auth })).arrayBuffer()), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(move.status, 412);
    await move.body?.cancel();
    const same = await call(t.url, '/v2/immut/app/manifests/v1', { method: 'PUT', auth, body: first.manifest, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(same.status, 201, 're-pushing the same manifest is fine');
    assert.equal((await call(t.url, '/v2/immut/app/manifests/v1', { method: 'DELETE', auth })).status, 412);
    assert.equal((await call(t.url, `/v2/immut/app/manifests/${first.digest}`, { method: 'DELETE', auth })).status, 412);
    assert.equal((await call(t.url, '/v2/immut/app/manifests/latest', { method: 'DELETE', auth })).status, 202);
  });

  test('webhooks deliver push, pull and delete events', async () => {
    const received: any[] = [];
    const sink = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { received.push({ auth: req.headers.authorization, ...JSON.parse(body) }); res.end(); });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    try {
      await createProject(t.url, 'hooks');
      const port = (sink.address() as AddressInfo).port;
      const policy = await call(t.url, '/api/v2.0/projects/hooks/webhook/policies', { method: 'POST', auth, body: {
        name: 'sink', enabled: true, event_types: ['PUSH_ARTIFACT', 'PULL_ARTIFACT', 'DELETE_ARTIFACT'],
        targets: [{ type: 'http', address: `http://127.0.0.1:${port}/hook`, auth_header: 'Bearer hook-secret' }] } });
      assert.equal(policy.status, 201);
      const { digest } = await pushImage(t.url, 'hooks/app', 'v1');
      await (await call(t.url, '/v2/hooks/app/manifests/v1', { auth })).arrayBuffer();
      await call(t.url, `/v2/hooks/app/manifests/${digest}`, { method: 'DELETE', auth });
      for (let i = 0; i < 200 && received.length < 3; i++) await sleep(25);
      assert.deepEqual(received.map((e) => e.type).sort(), ['DELETE_ARTIFACT', 'PULL_ARTIFACT', 'PUSH_ARTIFACT']);
      const push = received.find((e) => e.type === 'PUSH_ARTIFACT');
      assert.equal(push.auth, 'Bearer hook-secret');
      assert.equal(push.event_data.repository.repo_full_name, 'hooks/app');
      assert.equal(push.event_data.resources[0].digest, digest);
      assert.equal(push.event_data.resources[0].tag, 'v1');
    } finally {
      await new Promise((r) => sink.close(r));
    }
  });
});
