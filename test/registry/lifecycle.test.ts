// Tag retention (rules, dry run, run, history), GC of untagged manifests and its schedule, and
// the start-up removal of abandoned uploads — on both metadata backends.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRegistry } from '../../src/registry/index.ts';
import { ADMIN_PASSWORD, addMember, adminAuth as auth, basic, BACKENDS, call, createProject, createUser, execSql, OCI_INDEX, OCI_MANIFEST, pushImage, startTestRegistry, type TestRegistry } from './helpers.ts';
import { stopSharedCluster } from './postgres.ts';

after(stopSharedCluster);

const day = 86400_000;
const rule = (template: string, params: Record<string, number>, tags: string, repos = '**') => ({
  action: 'retain', template, params, tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: tags }],
  scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: repos }] },
});

for (const backend of BACKENDS) describe(`lifecycle (${backend})`, () => {
  let t: TestRegistry;
  before(async () => { t = await startTestRegistry({}, backend); });
  after(async () => { await t.stop(); });

  const tagsOf = async (repo: string) => ((await (await call(t.url, `/v2/${repo}/tags/list`, { auth })).json()) as { tags: string[] }).tags;
  const status = async (path: string) => { const r = await call(t.url, path, { method: 'HEAD', auth }); return r.status; };

  test('retention: latest-K and pushed-within-N-days rules, dry run, run, immutable tags kept, history', async () => {
    const projectId = await createProject(t.url, 'ret');
    const digests: Record<string, string> = {};
    const now = Date.now();
    const ages: Record<string, number> = { v1: 5 * day, v2: 4 * day, v3: 3 * day, v4: 2 * day, v5: day, 'dev-old': 30 * day, 'dev-new': 0 };
    for (const tag of Object.keys(ages)) {
      digests[tag] = (await pushImage(t.url, 'ret/app', tag, { layer: Buffer.from(`layer ${tag}`) })).digest;
      await execSql(t, 'UPDATE tags SET updated_at = ? WHERE name = ?', now - ages[tag], tag);
    }
    await pushImage(t.url, 'ret/other', 'x');
    await call(t.url, '/api/v2.0/projects/ret/immutabletagrules', { method: 'POST', auth,
      body: { tag_selectors: [{ decoration: 'matches', pattern: 'v1' }], scope_selectors: { repository: [{ decoration: 'repoMatches', pattern: '**' }] } } });

    await createUser(t.url, 'retdev');
    await addMember(t.url, 'ret', 'retdev', 2);
    const body = { algorithm: 'or', rules: [rule('latestPushedK', { latestPushedK: 2 }, 'v*', 'app'), rule('nDaysSinceLastPush', { nDaysSinceLastPush: 7 }, 'dev-*', 'app')],
      trigger: { kind: 'Schedule', settings: { cron: '' } }, scope: { level: 'project', ref: projectId } };
    assert.equal((await call(t.url, '/api/v2.0/retentions', { method: 'POST', auth: basic('retdev', 'Passw0rdX'), body })).status, 403);
    const created = await call(t.url, '/api/v2.0/retentions', { method: 'POST', auth, body });
    assert.equal(created.status, 201);
    const policy = created.headers.get('location')!.replace('/api/v2.0', '');
    const shown = await (await call(t.url, `/api/v2.0${policy}`, { auth })).json() as any;
    assert.deepEqual(shown.rules.map((r: any) => [r.template, r.params]), [['latestPushedK', { latestPushedK: 2 }], ['nDaysSinceLastPush', { nDaysSinceLastPush: 7 }]]);

    const execute = async (dryRun: boolean) => {
      const res = await call(t.url, `/api/v2.0${policy}/executions`, { method: 'POST', auth, body: { dry_run: dryRun } });
      assert.equal(res.status, 201);
      const loc = res.headers.get('location')!;
      for (let i = 0; i < 600; i++) {
        const e = await (await call(t.url, loc, { auth })).json() as any;
        if (e.status !== 'Running') return { e, tasks: await (await call(t.url, `${loc}/tasks`, { auth })).json() as any[] };
        await sleep(20);
      }
      throw new Error('retention did not finish');
    };
    const dry = await execute(true);
    assert.equal(dry.e.status, 'Succeed');
    assert.equal(dry.e.dry_run, true);
    assert.deepEqual(dry.tasks.map((x) => [x.repository, x.deleted_tags.sort(), x.immutable_tags_kept]), [['ret/app', ['dev-old', 'v2', 'v3'], ['v1']]]);
    assert.deepEqual(await tagsOf('ret/app'), ['dev-new', 'dev-old', 'v1', 'v2', 'v3', 'v4', 'v5'], 'a dry run changes nothing');

    const real = await execute(false);
    assert.equal(real.e.status, 'Succeed');
    assert.equal(real.tasks[0].manifests_deleted, 3);
    assert.deepEqual(await tagsOf('ret/app'), ['dev-new', 'v1', 'v4', 'v5']);
    for (const gone of ['v2', 'v3', 'dev-old']) assert.equal(await status(`/v2/ret/app/manifests/${digests[gone]}`), 404);
    assert.equal(await status(`/v2/ret/app/manifests/${digests.v1}`), 200);
    assert.deepEqual(await tagsOf('ret/other'), ['x'], 'repositories no rule covers are left alone');
    const history = await (await call(t.url, `/api/v2.0${policy}/executions`, { auth })).json() as any[];
    assert.deepEqual(history.map((h) => h.dry_run), [false, true]);
  });

  test('GC can delete untagged manifests (not an index\'s children), then their blobs', async () => {
    await createProject(t.url, 'untag');
    const kept = await pushImage(t.url, 'untag/app', 'kept', { layer: Buffer.from('kept layer') });
    const loose = await pushImage(t.url, 'untag/app', 'loose', { layer: Buffer.from('loose layer') });
    const child = await pushImage(t.url, 'untag/app', 'child', { layer: Buffer.from('child layer') });
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.manifest.length }] }));
    assert.equal((await call(t.url, '/v2/untag/app/manifests/idx', { method: 'PUT', auth, body: index, headers: { 'Content-Type': OCI_INDEX } })).status, 201);
    for (const tag of ['loose', 'child']) assert.equal((await call(t.url, `/v2/untag/app/manifests/${tag}`, { method: 'DELETE', auth })).status, 202);
    const plain = await t.registry.gc({ graceSeconds: 0 });
    assert.equal(plain.manifestsDeleted, 0);
    const result = await t.registry.gc({ graceSeconds: 0, deleteUntagged: true });
    assert.equal(result.manifestsDeleted, 1);
    assert.equal(await status(`/v2/untag/app/manifests/${loose.digest}`), 404);
    assert.equal(await status(`/v2/untag/app/blobs/${loose.layerDigest}`), 404);
    assert.equal(await status(`/v2/untag/app/manifests/${child.digest}`), 200, 'the index still needs it');
    assert.equal(await status(`/v2/untag/app/blobs/${kept.layerDigest}`), 200);
  });

  test('GC schedule: set, read back, refuse unknown types', async () => {
    assert.equal((await call(t.url, '/api/v2.0/system/gc/schedule', { method: 'PUT', auth, body: { schedule: { type: 'Daily' }, parameters: { delete_untagged: true } } })).status, 200);
    const shown = await (await call(t.url, '/api/v2.0/system/gc/schedule', { auth })).json() as any;
    assert.deepEqual([shown.schedule.type, shown.schedule.cron, shown.parameters], ['Daily', '0 0 0 * * *', { delete_untagged: true }]);
    assert.match(shown.schedule.next_scheduled_time, /T00:00:00\.000Z$/);
    assert.equal((await call(t.url, '/api/v2.0/system/gc/schedule', { method: 'PUT', auth, body: { schedule: { type: 'Sometimes' } } })).status, 400);
    assert.equal((await call(t.url, '/api/v2.0/system/gc/schedule', { method: 'PUT', auth, body: { schedule: { type: 'Custom', cron: '0 61 * * * *' } } })).status, 400);
    assert.equal((await call(t.url, '/api/v2.0/system/gc/schedule', { method: 'PUT', auth, body: { schedule: { type: 'Custom' } } })).status, 400);
    assert.equal((await call(t.url, '/api/v2.0/system/gc/schedule', { method: 'PUT', auth, body: { schedule: { type: 'None' } } })).status, 200);
  });

  test('abandoned uploads are removed when the registry starts', async () => {
    const own = await startTestRegistry({}, backend);
    await createProject(own.url, 'up');
    const start = await call(own.url, '/v2/up/app/blobs/uploads/', { method: 'POST', auth });
    const loc = start.headers.get('location')!;
    await call(own.url, loc, { method: 'PATCH', auth, body: Buffer.from('half of something'), headers: { 'Content-Range': '0-16' } });
    await own.registry.close();
    const again = await startRegistry({ root: join(own.dir, 'root'), listen: '127.0.0.1:0', insecureHttp: true, adminPassword: ADMIN_PASSWORD,
      database: own.database, uploadMaxAgeSeconds: 0, log: (l) => own.logs.push(l) });
    try {
      assert.equal((await call(again.url, loc, { auth })).status, 404);
      assert.deepEqual(await readdir(join(own.dir, 'root', 'uploads')), []);
      assert.ok(own.logs.some((l) => /removed 1 abandoned upload/.test(l)));
    } finally {
      await again.close();
      await rm(own.dir, { recursive: true, force: true });
    }
  });
});
