// The portal end to end in a real browser (Debian's chromium via playwright-core) against a real
// registry (HTTPS, its CA) and a real VCH (QEMU VMs): login, hosts, running a container and seeing
// its state change without a reload, logs followed, an exec console, a compose application deployed
// and removed as one, a project quota's refusal, registry browsing, and a viewer's limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, copyFileSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import type { Browser, BrowserContext } from 'playwright-core';
import { newContext } from '../helpers/browser.ts';
import { runCommand, type TestVch } from '../helpers/vch.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { makeOciLayout, ADMIN_PASSWORD, createUser, type TestRegistry } from '../registry/helpers.ts';
import type { RunningPortal } from '../../src/portal/main.ts';
import { apiRouteTable } from '../../src/portal/server.ts';
import { missingSummaries } from '../../src/portal/openapi.ts';
import { callApi as portalApi, login as portalLogin, until, PortalRig } from './portal-helpers.ts';

let rig: PortalRig;
let registry: TestRegistry;
let vch: TestVch;
let portal: RunningPortal;
let browser: Browser;
let work: string;
let hostId: string;
let docs: string;

/** The portal's API from the test, with Basic credentials of a registry user. */
const callApi = (method: string, path: string, auth: [string, string], body?: unknown) => portalApi(portal.url, method, path, auth, body);
const admin: [string, string] = ['admin', ADMIN_PASSWORD];
const viewer: [string, string] = ['viewer1', 'Passw0rdX'];

const login = (context: BrowserContext, user: [string, string]) => portalLogin(context, portal.url, user);

before(async () => {
  rig = await PortalRig.start({ name: 'test', vch: { name: 'pt', args: ['--tls-listen', '127.0.0.1:0'] }, sampleIntervalMs: 1500 });
  ({ registry, portal, browser, work, docs } = rig);
  vch = rig.vch!;

  // What several scenarios use, made here so that each scenario stands on its own: the project `team`
  // (a registry project of the same name) placed on the VCH, its viewer, a ticking container `web1` in
  // it, and skopeo's trust settings for pushes to the registry.
  hostId = (await callApi('GET', '/hosts', admin)).json[0].id;
  assert.equal(hostId, 'local-pt');
  assert.equal((await callApi('POST', '/projects', admin, { name: 'team' })).status, 201);
  assert.equal((await callApi('PUT', '/projects/team/placements', admin, { hostIds: [hostId] })).status, 200);
  await createUser(registry.url, 'viewer1');
  const added = await callApi('POST', '/registry/projects/team/members', admin, { role_id: 3, member_user: { username: 'viewer1' } });
  assert.equal(added.status, 201, JSON.stringify(added.json));
  const web1 = await callApi('POST', '/containers', admin, { hostId, image: 'busybox', name: 'web1', project: 'team', memoryMiB: 256,
    cmd: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done'] });
  assert.equal(web1.status, 201, JSON.stringify(web1.json));
  mkdirSync(join(work, 'certs'));
  copyFileSync(registry.registry.caCertPath!, join(work, 'certs', 'ca.crt'));
  writeFileSync(join(work, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
}, { timeout: 300_000 });

after(async () => {
  await rig?.stop();
}, { timeout: 120_000 });

test('the OpenAPI document parses, is OpenAPI 3, and documents every route', async () => {
  const res = await new Promise<string>((resolve, reject) => {
    request(`${portal.url}/api/openapi.json`, { rejectUnauthorized: false }, (r) => {
      let s = '';
      r.on('data', (c) => { s += c; });
      r.on('end', () => resolve(s));
    }).on('error', reject).end();
  });
  const doc = JSON.parse(res);
  assert.match(doc.openapi, /^3\./);
  assert.ok(doc.paths['/api/containers'].post.summary);
  assert.deepEqual(doc.paths['/api/containers'].post.requestBody.content['application/json'].schema.required, ['hostId', 'image']);
  assert.ok(doc.paths['/api/templates/{id}/deploy'].post);
  for (const [path, ops] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) assert.ok(op.responses?.default, `${method} ${path} documents its error shape`);
  }
  assert.deepEqual(missingSummaries(apiRouteTable({} as never, {} as never)), []);
  const unauth = await callApi('GET', '/containers', ['admin', 'wrong']);
  assert.equal(unauth.status, 401);
  assert.equal(typeof unauth.json.message, 'string');
});

test('admin logs in with the registry password, sees the local VCH, runs a container and watches it change without reload', { timeout: 300_000 }, async () => {
  const context = await newContext(browser);
  const page = await login(context, admin);
  await page.getByRole('link', { name: 'Hosts' }).click();
  await page.locator('tr[data-host="local-pt"] td.state-running').waitFor();
  assert.match(await page.locator('tr[data-host="local-pt"]').innerText(), /ready/);
  await page.screenshot({ path: join(docs, 'portal-hosts.png') });

  // Run from the form, into the project `team` placed on the VCH.
  await page.getByRole('link', { name: 'Containers' }).click();
  const form = page.getByRole('form', { name: 'Run a container' });
  await form.getByLabel('Image').fill('busybox');
  await form.getByLabel('Name').fill('ui1');
  await form.getByLabel('Command').fill('sleep 3600');
  await form.getByLabel('Project').selectOption('team');
  await form.getByRole('button', { name: 'Run' }).click();
  await page.locator('tr[data-name="ui1"][data-state="running"]').waitFor({ timeout: 180_000 });
  await page.screenshot({ path: join(docs, 'portal-containers.png') });

  // Changed behind the page's back (the docker CLI): the engine's event reaches the open page.
  await vch.ok(['stop', '-t', '1', 'ui1']);
  await page.locator('tr[data-name="ui1"][data-state="exited"]').waitFor({ timeout: 60_000 });
  await vch.ok(['start', 'ui1']);
  await page.locator('tr[data-name="ui1"][data-state="running"]').waitFor({ timeout: 120_000 });
  await vch.ok(['rm', '-f', 'ui1']);
  await page.locator('tr[data-name="ui1"]').waitFor({ state: 'detached', timeout: 60_000 });
  await context.close();
});

test('logs are followed, and the console runs `echo hi` in the container', { timeout: 240_000 }, async () => {
  const context = await newContext(browser);
  const page = await login(context, admin);
  await page.getByRole('link', { name: 'Containers' }).click();
  await page.locator('tr[data-name="web1"] a').click();
  const logs = page.locator('pre.logs');
  await logs.filter({ hasText: /tick-\d+/ }).waitFor({ timeout: 60_000 });
  const last = () => logs.innerText().then((t) => Math.max(...[...t.matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]))));
  const first = await last();
  // Lines written after the page opened arrive on the same stream.
  await until(async () => (await last()) >= first + 2, 60_000, 'followed log lines');

  await page.getByRole('link', { name: 'console' }).click();
  await page.locator('.xterm-rows').waitFor();
  await page.locator('.xterm-rows > div', { hasText: /[#$]/ }).first().waitFor({ timeout: 60_000 });
  await page.getByTestId('terminal').click();
  await page.keyboard.type('echo hi\n');
  await page.locator('.xterm-rows > div', { hasText: /^\s*hi\s*$/ }).waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(docs, 'portal-console.png') });
  // The terminal's size follows the window: stty in the container reports it before and after.
  const size = async () => {
    await page.keyboard.type('stty size\n');
    const row = page.locator('.xterm-rows > div', { hasText: /^\s*\d+ \d+\s*$/ }).last();
    await row.waitFor({ timeout: 30_000 });
    const [rows, cols] = (await row.innerText()).trim().split(/\s+/).map(Number);
    return { rows, cols };
  };
  // Typed before the shell's first prompt; the terminal's own size reached the exec session.
  const wide = await size();
  assert.notDeepEqual(wide, { rows: 24, cols: 80 }, 'the exec session got the fitted size, not a default');
  await page.setViewportSize({ width: 800, height: 800 });
  let narrow = wide;
  await until(async () => { narrow = await size(); return narrow.cols < wide.cols; }, 30_000, `the console to narrow (from ${JSON.stringify(wide)})`).catch(async (err: Error) => {
    throw new Error(`${err.message}; last ${JSON.stringify(narrow)}; screen: ${await page.locator('.xterm-rows').innerText()}`);
  });
  assert.ok(narrow.cols < wide.cols && wide.rows > 0, `${JSON.stringify(wide)} then ${JSON.stringify(narrow)}`);
  await context.close();
});

test('a compose file becomes a template, deploys as one application of two running containers, and is removed as one', { timeout: 400_000 }, async () => {
  const context = await newContext(browser);
  const page = await login(context, admin);
  await page.getByRole('link', { name: 'Templates' }).click();
  const form = page.getByRole('form', { name: 'Import a compose file' });
  await form.getByLabel('Name', { exact: true }).fill('pair');
  await form.getByLabel('Project').selectOption('team');
  await form.getByLabel('…or paste it').fill(['services:', '  front:', '    image: busybox', '    command: sleep 3600', '  back:', '    image: busybox',
    '    command: ["sleep", "3600"]', '    volumes: ["data:/data"]', 'volumes:', '  data: {}', ''].join('\n'));
  await form.getByRole('button', { name: 'Import' }).click();
  const row = page.locator('tr[data-template="pair"]');
  await row.waitFor();
  // Edited in place before it is deployed.
  await row.getByRole('button', { name: 'Edit' }).click();
  const editor = page.getByRole('form', { name: 'Edit template' });
  const compose = editor.getByLabel('Compose');
  await compose.fill((await compose.inputValue()).replace('command: sleep 3600', 'command: sleep 3601'));
  await editor.getByRole('button', { name: 'Save' }).click();
  await page.locator('.notice', { hasText: 'Template saved.' }).waitFor();
  const templates = (await callApi('GET', '/templates', admin)).json;
  assert.match(templates.find((t: any) => t.name === 'pair').compose, /sleep 3601/);
  await row.getByPlaceholder('application name').fill('demo');
  await row.getByRole('button', { name: 'Deploy' }).click();
  await page.locator('.notice', { hasText: 'Application demo deployed.' }).waitFor({ timeout: 300_000 });
  const app = page.locator('tr[data-application="demo"]');
  await app.locator('.state-running').nth(1).waitFor();
  assert.equal(await app.locator('.state-running').count(), 2);
  await page.screenshot({ path: join(docs, 'portal-templates.png') });
  // Labelled as one application, as compose would.
  const ps = await vch.ok(['ps', '--filter', 'label=com.docker.compose.project=demo', '--format', '{{.Names}} {{.Label "com.docker.compose.service"}} {{.State}}']);
  assert.deepEqual(ps.trim().split('\n').sort(), ['demo-back-1 back running', 'demo-front-1 front running']);
  assert.match(await vch.ok(['network', 'ls', '--format', '{{.Name}}']), /demo_default/);
  assert.match(await vch.ok(['volume', 'ls', '--format', '{{.Name}}']), /demo_data/);

  await app.getByRole('button', { name: 'Remove application' }).click();
  await page.locator('.notice', { hasText: 'Application demo removed.' }).waitFor({ timeout: 120_000 });
  await page.locator('tr[data-application="demo"]').waitFor({ state: 'detached' }); // the page re-reads after the removal
  assert.equal((await vch.ok(['ps', '-a', '--filter', 'label=com.docker.compose.project=demo', '-q'])).trim(), '');
  assert.doesNotMatch(await vch.ok(['network', 'ls', '--format', '{{.Name}}']), /demo_default/);
  assert.doesNotMatch(await vch.ok(['volume', 'ls', '--format', '{{.Name}}']), /demo_data/);
  await context.close();
});

test('a project quota refuses a container with a clear message in the UI and a 403 from the API', { timeout: 120_000 }, async (t) => {
  // web1 (256 MiB) runs in team; 300 MiB leaves no room for another 256.
  assert.equal((await callApi('PUT', '/projects/team/quota', admin, { maxContainers: null, maxMemoryMiB: 300 })).status, 200);
  t.after(async () => { await callApi('PUT', '/projects/team/quota', admin, { maxContainers: null, maxMemoryMiB: null }); });
  const before = (await vch.ok(['ps', '-aq'])).trim().split('\n').length;
  const api = await callApi('POST', '/containers', admin, { hostId, image: 'busybox', project: 'team', memoryMiB: 256 });
  assert.equal(api.status, 403);
  assert.match(api.json.message, /quota exceeded: project team may use 300 MiB/);

  const context = await newContext(browser);
  const page = await login(context, admin);
  await page.getByRole('link', { name: 'Containers' }).click();
  const form = page.getByRole('form', { name: 'Run a container' });
  await form.getByLabel('Image').fill('busybox');
  await form.getByLabel('Project').selectOption('team');
  await form.getByRole('button', { name: 'Run' }).click();
  await page.getByRole('alert').filter({ hasText: 'quota exceeded' }).waitFor();
  await page.screenshot({ path: join(docs, 'portal-quota.png') });
  assert.equal((await vch.ok(['ps', '-aq'])).trim().split('\n').length, before, 'nothing was created');
  await context.close();
});

test('the registry: a pushed image is browsed, a tag deleted, a robot created', { timeout: 180_000 }, async () => {
  const layout = join(work, 'layout');
  await makeOciLayout(layout, 'latest');
  const certDir = join(work, 'certs');
  const policy = join(work, 'policy.json');
  const host = new URL(registry.url).host;
  for (const tag of ['1.0', '2.0']) {
    const r = await runCommand('skopeo', ['--policy', policy, 'copy', '--dest-cert-dir', certDir, '--dest-creds', `admin:${ADMIN_PASSWORD}`,
      `oci:${layout}:latest`, `docker://${host}/team/app:${tag}`], { env: { ...process.env, HOME: work } });
    assert.equal(r.code, 0, r.stderr);
  }
  const context = await newContext(browser);
  const page = await login(context, admin);
  await page.goto(`${portal.url}/#/registry/projects/team/repositories/app`);
  await page.locator('.tag[data-tag="1.0"]').waitFor();
  assert.match(await page.locator('code.pull').first().innerText(), new RegExp(`docker pull ${host}/team/app:`));
  await page.screenshot({ path: join(docs, 'portal-registry.png') });
  await page.locator('.tag[data-tag="1.0"]').getByRole('button', { name: 'Delete tag' }).click();
  await page.locator('.notice', { hasText: 'Tag 1.0 deleted.' }).waitFor();
  // The page re-reads the repository after the deletion: 1.0 goes, 2.0 stays.
  await page.locator('.tag[data-tag="1.0"]').waitFor({ state: 'detached' });
  await page.locator('.tag[data-tag="2.0"]').waitFor();
  const artifacts = await callApi('GET', '/registry/projects/team/repositories/app/artifacts', admin);
  assert.deepEqual(artifacts.json.flatMap((a: any) => a.tags.map((t: any) => t.name)), ['2.0']);

  await page.getByRole('link', { name: 'robots' }).click();
  const robot = page.getByRole('form', { name: 'Create a robot' });
  await robot.getByLabel('Robot name').fill('ci');
  await robot.getByRole('button', { name: 'Create robot' }).click();
  await page.locator('code.robot-secret').waitFor();
  const robots = await callApi('GET', '/registry/robots', admin);
  assert.ok(robots.json.some((r: any) => r.name === 'robot$team+ci'));

  // Retention: a policy made in the page, a dry run started from it. The form shows only once the
  // project is loaded (a submit before would lack its id): the project's answer is held back to see it.
  let release = () => {};
  const held = new Promise<void>((resolve) => { release = resolve; });
  await page.route('**/api/registry/projects/team', async (route) => { await held; await route.continue(); });
  await page.getByRole('link', { name: 'retention' }).click();
  const retention = page.getByRole('form', { name: 'Create a retention policy' });
  await page.getByText('Loading…').waitFor();
  assert.equal(await retention.count(), 0);
  release();
  await retention.waitFor();
  await page.unroute('**/api/registry/projects/team');
  await retention.getByLabel('Keep the latest').fill('1');
  await retention.getByRole('button', { name: 'Create policy' }).click();
  await page.getByRole('button', { name: 'Dry run' }).click();
  await page.locator('.notice', { hasText: 'Dry run started.' }).waitFor();
  const retained = await callApi('GET', '/registry/projects/team/retention', admin);
  assert.equal(retained.json.rules[0].params.latestPushedK, 1);
  const runs = await callApi('GET', `/registry/retentions/${retained.json.id}/executions`, admin);
  assert.equal(runs.json.length, 1);
  assert.equal(runs.json[0].dry_run, true);
  await context.close();
});

test('a container runs from an image in the registry: the VCH pulls it with the user\'s credentials', { timeout: 300_000 }, async () => {
  const { busyboxOci } = await buildTestImages();
  const host = new URL(registry.url).host;
  const policy = join(work, 'policy.json');
  const r = await runCommand('skopeo', ['--policy', policy, 'copy', '--dest-cert-dir', join(work, 'certs'), '--dest-creds', `admin:${ADMIN_PASSWORD}`,
    `oci-archive:${busyboxOci}:busybox-oci:latest`, `docker://${host}/team/busybox:1`], { env: { ...process.env, HOME: work } });
  assert.equal(r.code, 0, r.stderr);
  const image = `${host}/team/busybox:1`;
  // The run form offers the registry's tags.
  const context = await newContext(browser);
  const page = await login(context, admin);
  await page.getByRole('link', { name: 'Containers' }).click();
  await page.locator(`datalist#images option[value="${image}"]`).waitFor({ state: 'attached' });
  await context.close();
  const run = await callApi('POST', '/containers', admin, { hostId, image, name: 'fromreg', project: 'team', cmd: ['sh', '-c', 'echo pulled-and-ran; sleep 600'] });
  assert.equal(run.status, 201, JSON.stringify(run.json));
  assert.match(await vch.ok(['inspect', '-f', '{{.State.Status}} {{.Config.Image}}', 'fromreg']), new RegExp(`running ${image.replace(/\./g, '\\.')}`));
  assert.equal((await callApi('DELETE', `/hosts/${hostId}/containers/${run.json.id}`, admin)).status, 200);
  assert.equal((await vch.docker(['inspect', 'fromreg'])).code, 1);
});

test('a viewer sees the project\'s containers but cannot start or stop them (UI hides the actions, API answers 403)', { timeout: 120_000 }, async () => {
  // A user in no project sees no host and no container.
  await createUser(registry.url, 'outsider');
  const outsider: [string, string] = ['outsider', 'Passw0rdX'];
  assert.deepEqual((await callApi('GET', '/hosts', outsider)).json, []);
  assert.deepEqual((await callApi('GET', '/containers', outsider)).json, []);
  assert.equal((await callApi('GET', `/hosts/${hostId}/containers/web1`, outsider)).status, 404);
  const list = await callApi('GET', '/containers', viewer);
  assert.equal(list.status, 200);
  const web1 = list.json.find((c: any) => c.name === 'web1');
  assert.ok(web1, 'the viewer sees the project\'s container');
  for (const action of ['stop', 'restart']) {
    const r = await callApi('POST', `/hosts/${hostId}/containers/${web1.id}/${action}`, viewer);
    assert.equal(r.status, 403);
    assert.match(r.json.message, /viewer/);
  }
  assert.equal((await callApi('POST', '/containers', viewer, { hostId, image: 'busybox', project: 'team' })).status, 403);
  assert.equal((await callApi('DELETE', `/hosts/${hostId}/containers/${web1.id}`, viewer)).status, 403);

  const context = await newContext(browser);
  const page = await login(context, viewer);
  await page.getByRole('link', { name: 'Containers' }).click();
  const row = page.locator('tr[data-name="web1"]');
  await row.waitFor();
  assert.equal(await row.getByRole('button').count(), 0);
  assert.equal(await page.getByRole('form', { name: 'Run a container' }).count(), 0);
  await row.locator('a').click();
  await page.getByText('View only').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Stop' }).count(), 0);
  await context.close();
  // The container kept running through all of that.
  assert.match(await vch.ok(['inspect', '-f', '{{.State.Status}}', 'web1']), /running/);
});

test('a host added by tcp:// endpoint and client certificate answers; its key is not stored in clear', { timeout: 60_000 }, async () => {
  const endpoints = JSON.parse(readFileSync(join(vch.datastore, 'endpoints.json'), 'utf8')) as { tcp: string; certPath: string };
  const pem = (f: string) => readFileSync(join(endpoints.certPath, f), 'utf8');
  const bad = await callApi('POST', '/hosts', admin, { name: 'remote', endpoint: endpoints.tcp, ca: pem('ca.pem'), cert: pem('cert.pem'), key: 'not a key' });
  assert.equal(bad.status, 400);
  assert.match(bad.json.message, /key must be PEM/);
  assert.equal((await callApi('POST', '/hosts', viewer, { name: 'remote', endpoint: endpoints.tcp, ca: pem('ca.pem'), cert: pem('cert.pem'), key: pem('key.pem') })).status, 403);
  const added = await callApi('POST', '/hosts', admin, { name: 'remote', endpoint: endpoints.tcp, ca: pem('ca.pem'), cert: pem('cert.pem'), key: pem('key.pem') });
  assert.equal(added.status, 201, JSON.stringify(added.json));
  const host = (await callApi('GET', `/hosts/${added.json.id}`, admin)).json;
  assert.equal(host.state, 'ready');
  assert.equal(host.source, 'added');
  // The same VCH over mutual TLS: it lists the same containers.
  const names = (await callApi('GET', `/containers?host=${added.json.id}`, admin)).json.map((c: any) => c.name);
  assert.ok(names.includes('web1'));
  for (const f of ['portal.sqlite', 'portal.sqlite-wal']) {
    if (existsSync(join(work, 'state', f))) assert.doesNotMatch(readFileSync(join(work, 'state', f)).toString('latin1'), /PRIVATE KEY/);
  }
  assert.equal(statSync(join(work, 'state', 'secrets.key')).mode & 0o777, 0o600);
  assert.equal((await callApi('DELETE', `/hosts/${added.json.id}`, admin)).status, 200);
  assert.equal((await callApi('DELETE', '/hosts/local-pt', admin)).status, 409);
});

test('dashboard shows containers per host and use over time', { timeout: 120_000 }, async () => {
  const context = await newContext(browser);
  const page = await login(context, admin);
  await page.locator('section[data-host="local-pt"] .count').waitFor();
  const all = (await vch.ok(['ps', '-aq'])).trim().split('\n').filter(Boolean).length;
  assert.equal(await page.locator('section[data-host="local-pt"] .count').innerText(), String(all));
  await page.locator('section[data-host="local-pt"] canvas').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(docs, 'portal-dashboard.png') });
  await context.close();
});
