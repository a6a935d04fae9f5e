// The registry's administration pages in a real browser against real registries (no VCH): replication
// rules edited and executed into a second registry with their tasks shown, immutability over several
// scopes, garbage collection, the audit log filtered, users managed by an administrator and refused
// to others, storage quotas enforced on push. Each test makes its own projects and users.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { newContext } from '../helpers/browser.ts';
import { startTestRegistry, ADMIN_PASSWORD, adminAuth, basic, call, createProject, createUser, pushImage, type TestRegistry } from '../registry/helpers.ts';
import type { RunningPortal } from '../../src/portal/main.ts';
import { callApi as portalApi, login as portalLogin, until, PortalRig, type Auth } from './portal-helpers.ts';

let rig: PortalRig;
let registry: TestRegistry;
let mirror: TestRegistry;
let portal: RunningPortal;
let browser: Browser;
let docs: string;
const admin: [string, string] = ['admin', ADMIN_PASSWORD];
const api = (method: string, path: string, auth: Auth | null, body?: unknown) => portalApi(portal.url, method, path, auth, body);
const login = async (user: [string, string]) => portalLogin(await newContext(browser), portal.url, user);

before(async () => {
  // No grace period: blobs unreferenced a moment ago are garbage for the GC test.
  [rig, mirror] = await Promise.all([PortalRig.start({ name: 'admin', registry: { gcGraceSeconds: 0 } }), startTestRegistry()]);
  ({ registry, portal, browser, docs } = rig);
}, { timeout: 180_000 });

after(async () => {
  await rig?.stop();
  await mirror?.stop();
}, { timeout: 60_000 });

test('the administration routes are in the OpenAPI document with their bodies, and refuse non-administrators with JSON', async () => {
  const doc = (await api('GET', '/openapi.json', null)).json;
  const rule = doc.paths['/api/registry/replication/policies'].post;
  assert.match(rule.summary, /replication rule/);
  assert.ok(rule.requestBody.content['application/json'].schema.properties.dest_registry);
  assert.ok(doc.paths['/api/registry/replication/executions/{id}/tasks'].get);
  assert.ok(doc.paths['/api/registry/projects/{project}/immutabletagrules'].post.requestBody);
  assert.ok(doc.paths['/api/registry/users/{id}/sysadmin'].put.requestBody);
  assert.ok(doc.paths['/api/registry/quotas/{id}'].put);
  assert.ok(doc.paths['/api/registry/system/gc/schedule'].put);
  await createUser(registry.url, 'plain1');
  const plain: [string, string] = ['plain1', 'Passw0rdX'];
  for (const path of ['/registry/users', '/registry/replication/policies', '/registry/system/gc', '/registry/quotas', '/registry/registries']) {
    const r = await api('GET', path, plain);
    assert.equal(r.status, 403, path);
    assert.match(r.json.message, /only system administrators/);
  }
  // The registry's own validation comes back as the portal's JSON error.
  const bad = await api('POST', '/registry/replication/policies', admin, { name: 'nowhere', filters: [] });
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /exactly one of src_registry and dest_registry/);
});

test('replication: an endpoint and a push rule made, edited and executed in the page; the execution\'s tasks listed; the image arrives', { timeout: 180_000 }, async () => {
  await createProject(registry.url, 'rep');
  await createProject(mirror.url, 'copies');
  const v1 = await pushImage(registry.url, 'rep/app', 'v1');
  await pushImage(registry.url, 'rep/app', 'v2', { layer: Buffer.from('second') });
  await pushImage(registry.url, 'rep/app', 'dev', { layer: Buffer.from('not replicated') });

  const page = await login(admin);
  await page.goto(`${portal.url}/#/registry/replication`);
  const endpoint = page.getByRole('form', { name: 'Add an endpoint' });
  await endpoint.getByLabel('Endpoint name').fill('mirror');
  await endpoint.getByLabel('Type').selectOption('harbor');
  await endpoint.getByLabel('URL').fill(mirror.url);
  await endpoint.getByLabel('User').fill('admin');
  await endpoint.getByLabel('Secret').fill(ADMIN_PASSWORD);
  await endpoint.getByRole('button', { name: 'Add endpoint' }).click();
  await page.locator('tr[data-endpoint="mirror"]').waitFor();
  await page.locator('tr[data-endpoint="mirror"]').getByRole('button', { name: 'Test' }).click();
  await page.locator('.notice', { hasText: 'Endpoint mirror answers.' }).waitFor();

  await page.getByRole('button', { name: 'New rule' }).click();
  let form = page.getByRole('form', { name: 'New replication rule' });
  await form.getByLabel('Rule name').fill('to-mirror');
  await form.getByLabel('Direction').selectOption('push');
  await form.getByLabel('Destination namespace').fill('copies');
  await form.getByLabel('Repositories (name filter)').fill('rep/app');
  await form.getByLabel('Tags (filter)').fill('v1');
  // A bad cron is the registry's refusal, shown in the page.
  await form.getByLabel('Trigger').selectOption('scheduled');
  await form.getByLabel('Cron (scheduled)').fill('not a cron');
  await form.getByRole('button', { name: 'Create rule' }).click();
  await page.getByRole('alert').filter({ hasText: /cron/i }).waitFor();
  await form.getByLabel('Trigger').selectOption('manual');
  await form.getByRole('button', { name: 'Create rule' }).click();
  const row = page.locator('tr[data-rule="to-mirror"]');
  await row.waitFor();
  assert.match(await row.innerText(), /push to mirror/);

  // Edited: the tag filter widened to v*.
  await row.getByRole('button', { name: 'Edit' }).click();
  form = page.getByRole('form', { name: 'Edit replication rule' });
  assert.equal(await form.getByLabel('Tags (filter)').inputValue(), 'v1');
  await form.getByLabel('Tags (filter)').fill('v*');
  await form.getByRole('button', { name: 'Save rule' }).click();
  await page.locator('.notice', { hasText: 'Rule to-mirror saved.' }).waitFor();
  const [policy] = (await api('GET', '/registry/replication/policies', admin)).json;
  assert.equal(policy.filters.find((f: any) => f.type === 'tag').value, 'v*');

  await row.getByRole('button', { name: 'Replicate now' }).click();
  const execution = page.locator('tr[data-execution]').first();
  await page.locator('tr[data-execution][data-status="Succeed"]').waitFor({ timeout: 120_000 });
  assert.match(await execution.innerText(), /2 of 2 copied/);
  await execution.getByRole('button', { name: 'Tasks' }).click();
  await page.locator('table.tasks tbody tr').nth(1).waitFor();
  const tasks = await page.locator('table.tasks tbody').innerText();
  assert.match(tasks, /copies\/app:v1/);
  assert.match(tasks, /copies\/app:v2/);
  assert.doesNotMatch(tasks, /:dev/);
  await page.screenshot({ path: join(docs, 'portal-replication.png'), fullPage: true });
  const copied = await call(mirror.url, '/v2/copies/app/manifests/v1', { auth: adminAuth, headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(copied.status, 200);
  assert.equal(copied.headers.get('docker-content-digest'), v1.digest);

  await row.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  assert.deepEqual((await api('GET', '/registry/replication/policies', admin)).json, []);
  await page.context().close();
});

test('immutability: comma-separated repository and tag patterns make one rule per pair; matching tags cannot be pushed over or deleted', { timeout: 120_000 }, async () => {
  await createProject(registry.url, 'imm');
  await pushImage(registry.url, 'imm/app', '1.0');
  await pushImage(registry.url, 'imm/tools/lint', 'stable');
  await pushImage(registry.url, 'imm/other', '1.0');
  const page = await login(admin);
  await page.goto(`${portal.url}/#/registry/projects/imm/immutability`);
  const form = page.getByRole('form', { name: 'Add an immutability rule' });
  await form.getByLabel('Repositories').fill('app, tools/**');
  await form.getByLabel('Tags').fill('1.*,stable');
  await form.getByRole('button', { name: 'Add rule' }).click();
  await page.locator('.notice', { hasText: '4 rules added.' }).waitFor();
  for (const rule of ['app:1.*', 'app:stable', 'tools/**:1.*', 'tools/**:stable']) await page.locator(`tr[data-rule="${rule}"]`).waitFor();
  await page.screenshot({ path: join(docs, 'portal-immutability.png') });

  await assert.rejects(pushImage(registry.url, 'imm/app', '1.0', { layer: Buffer.from('over') }), /immutable/);
  await assert.rejects(pushImage(registry.url, 'imm/tools/lint', 'stable', { layer: Buffer.from('over') }), /immutable/);
  await pushImage(registry.url, 'imm/other', '1.0', { layer: Buffer.from('other repositories are not in scope') });
  const del = await api('DELETE', '/registry-tags/imm/app?tag=1.0', admin);
  assert.equal(del.status, 412);
  assert.match(del.json.message, /immutable/);

  // A pattern the registry refuses leaves no rule behind from the same request.
  const before = (await api('GET', '/registry/projects/imm/immutabletagrules', admin)).json.length;
  const bad = await api('POST', '/registry/projects/imm/immutabletagrules', admin, { tag_selectors: [{ pattern: `ok,${'x'.repeat(300)}` }] });
  assert.equal(bad.status, 400);
  assert.equal((await api('GET', '/registry/projects/imm/immutabletagrules', admin)).json.length, before);

  await page.locator('tr[data-rule="app:1.*"]').getByRole('button', { name: 'Remove' }).click();
  await page.locator('tr[data-rule="app:1.*"]').waitFor({ state: 'detached' });
  await pushImage(registry.url, 'imm/app', '1.0', { layer: Buffer.from('allowed again') });
  await page.context().close();
});

test('garbage collection: run from the page (dry run and real), its history, and a schedule', { timeout: 120_000 }, async () => {
  // Garbage: an image whose repository is deleted leaves its blobs unreferenced.
  await createProject(registry.url, 'gcp');
  await pushImage(registry.url, 'gcp/junk', '1', { layer: Buffer.alloc(150_000, 7) });
  assert.equal((await api('DELETE', '/registry/projects/gcp/repositories/junk', admin)).status, 200);
  const page = await login(admin);
  await page.goto(`${portal.url}/#/registry/gc`);
  const run = page.getByRole('form', { name: 'Run garbage collection' });
  await run.getByLabel('Dry run').check();
  await run.getByRole('button', { name: 'Run GC now' }).click();
  await page.locator('.notice', { hasText: 'Dry run started.' }).waitFor();
  await page.locator('table.gc-runs tr[data-status="Success"]').waitFor({ timeout: 60_000 }); // one run at a time
  await run.getByLabel('Dry run').uncheck();
  await run.getByRole('button', { name: 'Run GC now' }).click();
  await page.locator('.notice', { hasText: 'Garbage collection started.' }).waitFor();
  await until(async () => (await page.locator('table.gc-runs tr[data-status="Success"]').count()) >= 2, 60_000, 'two finished GC runs in the page');
  const [real, dry] = (await api('GET', '/registry/system/gc', admin)).json;
  assert.equal(JSON.parse(dry.job_parameters).dry_run, true);
  assert.equal(JSON.parse(real.job_parameters).dry_run, false);
  // The dry run found what the real run then deleted.
  assert.ok(dry.result.bytesFreed >= 150_000, JSON.stringify(dry.result));
  assert.deepEqual(real.result.deletedDigests.sort(), dry.result.deletedDigests.sort());
  assert.match(await page.locator(`table.gc-runs tr[data-run="${dry.id}"]`).innerText(), /would free \d+(\.\d)? KiB/);
  assert.match(await page.locator(`table.gc-runs tr[data-run="${real.id}"]`).innerText(), /freed \d+(\.\d)? KiB/);

  const schedule = page.getByRole('form', { name: 'GC schedule' });
  await schedule.getByLabel('Schedule').selectOption('Custom');
  await schedule.getByLabel('Cron (Custom)').fill('0 30 4 * * *');
  await schedule.getByRole('button', { name: 'Save schedule' }).click();
  await page.locator('.notice', { hasText: 'Schedule saved.' }).waitFor();
  await page.locator('p.schedule', { hasText: 'next run' }).waitFor();
  assert.equal((await api('GET', '/registry/system/gc/schedule', admin)).json.schedule.cron, '0 30 4 * * *');
  await page.screenshot({ path: join(docs, 'portal-gc.png') });
  await schedule.getByLabel('Schedule').selectOption('None');
  await schedule.getByRole('button', { name: 'Save schedule' }).click();
  await page.locator('p.schedule', { hasText: 'Now: None' }).waitFor();
  await page.context().close();
});

test('the audit log is filtered by user, operation and resource in the page and the API', { timeout: 120_000 }, async () => {
  await createProject(registry.url, 'aud');
  await createUser(registry.url, 'auditdev');
  const dev = basic('auditdev', 'Passw0rdX');
  assert.equal((await call(registry.url, '/api/v2.0/projects/aud/members', { method: 'POST', auth: adminAuth, body: { role_id: 2, member_user: { username: 'auditdev' } } })).status, 201);
  await pushImage(registry.url, 'aud/web', 'a');
  await pushImage(registry.url, 'aud/web', 'b', { auth: dev, layer: Buffer.from('dev push') });
  await pushImage(registry.url, 'aud/db', 'c', { auth: dev, layer: Buffer.from('dev push 2') });
  assert.equal((await call(registry.url, '/v2/aud/web/manifests/a', { auth: dev })).status, 200);

  const byDev = (await api('GET', '/registry/audit-logs?username=auditdev&operation=create', admin)).json;
  assert.deepEqual(byDev.map((l: any) => l.resource).sort(), ['aud/db:c', 'aud/web:b']);
  const pulls = (await api('GET', '/registry/audit-logs?operation=pull&resource=aud/web', admin)).json;
  assert.ok(pulls.length >= 1 && pulls.every((l: any) => l.operation === 'pull' && l.resource.startsWith('aud/web')));
  assert.equal((await api('GET', '/registry/audit-logs?operation=create,pull', admin)).status, 400);

  const page = await login(admin);
  await page.goto(`${portal.url}/#/registry/audit`);
  const form = page.getByRole('form', { name: 'Filter the audit log' });
  await form.getByLabel('User').fill('auditdev');
  await form.getByLabel('Resource').fill('aud/web');
  await form.getByRole('button', { name: 'Filter' }).click();
  await until(async () => (await page.locator('table.audit tbody tr').count()) === 2, 20_000, 'the two entries of auditdev on aud/web');
  const text = await page.locator('table.audit tbody').innerText();
  assert.match(text, /aud\/web:b/);
  assert.doesNotMatch(text, /aud\/db|admin/);
  await form.getByLabel('Operation').selectOption('create');
  await form.getByRole('button', { name: 'Filter' }).click();
  await until(async () => (await page.locator('table.audit tbody tr').count()) === 1, 20_000, 'only the push');
  await page.screenshot({ path: join(docs, 'portal-audit.png') });
  // The project's own log tab, with the same filters.
  await page.goto(`${portal.url}/#/registry/projects/aud/logs`);
  const projectForm = page.getByRole('form', { name: 'Filter the audit log' });
  await projectForm.getByLabel('Operation').selectOption('pull');
  await projectForm.getByRole('button', { name: 'Filter' }).click();
  await until(async () => (await page.locator('table.audit tbody tr').count()) === 1, 20_000, 'the one pull in project aud');
  assert.match(await page.locator('table.audit tbody').innerText(), /auditdev\s+pull\s+aud\/web:a/);
  // The developer sees the log of their project only, through the same route.
  const own = (await api('GET', '/registry/audit-logs', ['auditdev', 'Passw0rdX'])).json;
  assert.ok(own.length > 0 && own.every((l: any) => l.resource.startsWith('aud/')));
  await page.context().close();
});

test('users: an administrator creates one, grants and revokes admin, deletes it; a non-administrator sees no Users page and is refused', { timeout: 120_000 }, async () => {
  const page = await login(admin);
  await page.goto(`${portal.url}/#/registry/users`);
  const form = page.getByRole('form', { name: 'Create a user' });
  await form.getByLabel('User name').fill('weakling');
  await form.getByLabel('Password').fill('short');
  await form.getByRole('button', { name: 'Create user' }).click();
  await page.getByRole('alert').filter({ hasText: /password needs/ }).waitFor();
  await form.getByLabel('User name').fill('carol');
  await form.getByLabel('Password').fill('Carol12345');
  await form.getByLabel('Email').fill('carol@example.com');
  await form.getByRole('button', { name: 'Create user' }).click();
  const row = page.locator('tr[data-user="carol"]');
  await row.waitFor();
  await row.getByRole('button', { name: 'Make admin' }).click();
  await row.locator('td.admin', { hasText: 'yes' }).waitFor();
  await page.screenshot({ path: join(docs, 'portal-users.png') });
  assert.equal((await api('GET', '/registry/users', ['carol', 'Carol12345'])).status, 200, 'carol is an administrator now');
  await row.getByRole('button', { name: 'Revoke admin' }).click();
  await row.locator('td.admin', { hasText: 'no' }).waitFor();

  // As carol, no longer an administrator: no Users link, and the page's data is refused.
  const carol = await login(['carol', 'Carol12345']);
  await carol.getByRole('link', { name: 'Registry' }).click();
  await carol.getByRole('link', { name: 'Audit log' }).waitFor();
  assert.equal(await carol.getByRole('link', { name: 'Users' }).count(), 0);
  assert.equal(await carol.getByRole('link', { name: 'Replication' }).count(), 0);
  await carol.goto(`${portal.url}/#/registry/users`);
  await carol.getByRole('alert').filter({ hasText: 'only system administrators manage users' }).waitFor();
  assert.equal(await carol.locator('tr[data-user]').count(), 0);
  // A fresh login (Basic credentials are remembered for 30 s, with the admin flag of then).
  const token = (await api('POST', '/login', null, { username: 'carol', password: 'Carol12345' })).json.token;
  const refused = await api('POST', '/registry/users', { bearer: token }, { username: 'mallory', password: 'Mallory12345' });
  assert.equal(refused.status, 403);
  assert.match(refused.json.message, /only system administrators manage users/);
  await carol.context().close();

  await row.getByRole('button', { name: 'Delete' }).click();
  await row.waitFor({ state: 'detached' });
  assert.equal((await call(registry.url, '/api/v2.0/users/current', { auth: basic('carol', 'Carol12345') })).status, 401);
  await page.context().close();
});

test('storage quotas: a limit set in the page refuses a push over it', { timeout: 120_000 }, async () => {
  await createProject(registry.url, 'small');
  await pushImage(registry.url, 'small/base', '1', { layer: Buffer.alloc(200_000, 1) });
  const page = await login(admin);
  await page.goto(`${portal.url}/#/registry/quotas`);
  const form = page.getByRole('form', { name: 'Quota of small' });
  await form.getByLabel('Limit').fill('0.5');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.locator('.notice', { hasText: 'Quota of small saved.' }).waitFor();
  await page.locator('tr[data-project="small"] td.limit', { hasText: '512.0 KiB' }).waitFor();
  await page.screenshot({ path: join(docs, 'portal-registry-quotas.png') });
  const quota = (await api('GET', '/registry/quotas', admin)).json.find((q: any) => q.ref.name === 'small');
  assert.equal(quota.hard.storage, 524288);
  await assert.rejects(pushImage(registry.url, 'small/big', '1', { layer: Buffer.alloc(400_000, 2) }), /quota/);
  await pushImage(registry.url, 'small/tiny', '1', { layer: Buffer.from('fits') });
  const neg = await api('PUT', `/registry/quotas/${quota.id}`, admin, { hard: { storage: -5 } });
  assert.equal(neg.status, 400);
  await page.context().close();
});
