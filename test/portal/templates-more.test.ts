// Compose templates beyond images and volumes, on a real VCH: a published port answers on the host,
// environment reaches the container, depends_on orders the starts, restart policies are set; what a
// template cannot provision is refused in the page; a service is scaled up and down from the page
// and the API (app-service-N, compose labels, the project quota counting the new containers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { Browser } from 'playwright-core';
import { newContext } from '../helpers/browser.ts';
import type { TestVch } from '../helpers/vch.ts';
import { ADMIN_PASSWORD } from '../registry/helpers.ts';
import type { RunningPortal } from '../../src/portal/main.ts';
import { callApi, login, until, PortalRig } from './portal-helpers.ts';

let rig: PortalRig;
let vch: TestVch;
let portal: RunningPortal;
let browser: Browser;
let docs: string;
const admin: [string, string] = ['admin', ADMIN_PASSWORD];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function fetchText(url: string): Promise<string> {
  let last: unknown;
  for (let i = 0; i < 120; i++) {
    try {
      const res = await fetch(url);
      if (res.ok) return await res.text();
      last = new Error(`HTTP ${res.status}`);
    } catch (err) { last = err; }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer: ${String(last)}`);
}

before(async () => {
  rig = await PortalRig.start({ name: 'templates', vch: { name: 'ptm' } });
  ({ portal, browser, docs } = rig);
  vch = rig.vch!;
}, { timeout: 300_000 });

after(async () => {
  await rig?.stop();
}, { timeout: 120_000 });

test('a template with ports, environment, depends_on and restart deploys; its service scales up and down; quotas count the new containers', { timeout: 600_000 }, async () => {
  const api = (method: string, path: string, body?: unknown) => callApi(portal.url, method, path, admin, body);
  const hostId = 'local-ptm';
  assert.equal((await api('POST', '/projects', { name: 'tm' })).status, 201);
  assert.equal((await api('PUT', '/projects/tm/placements', { hostIds: [hostId] })).status, 200);
  assert.equal((await api('PUT', '/projects/tm/quota', { maxContainers: 3, maxMemoryMiB: null })).status, 200);
  const port = await freePort();
  const page = await login(await newContext(browser), portal.url, admin);
  page.setDefaultTimeout(60_000);
  await page.getByRole('link', { name: 'Templates' }).click();
  const form = page.getByRole('form', { name: 'Import a compose file' });

  // Refused in the page with the reason, and nothing kept.
  await form.getByLabel('Name', { exact: true }).fill('built');
  await form.getByLabel('Project').selectOption('tm');
  await form.getByLabel('…or paste it').fill('services:\n  app:\n    build: .\n');
  await form.getByRole('button', { name: 'Import' }).click();
  await page.getByRole('alert').filter({ hasText: 'build needs a build context' }).waitFor();
  assert.equal((await api('GET', '/templates')).json.length, 0);

  // web is declared first but depends on db: db starts first.
  await form.getByLabel('Name', { exact: true }).fill('site');
  await form.getByLabel('…or paste it').fill([
    'services:',
    '  web:',
    '    image: busybox',
    '    command: ["sh", "-c", "mkdir -p /www && echo $$GREETING > /www/index.html && exec httpd -f -p 8080 -h /www"]',
    '    environment: { GREETING: hello-from-template }',
    `    ports: ["127.0.0.1:${port}:8080"]`,
    '    depends_on: [db]',
    '    restart: always',
    '    mem_limit: 128m',
    '  db:',
    '    image: busybox',
    '    command: sleep 3600',
    '    restart: on-failure:2',
    '    mem_limit: 128m',
    ''].join('\n'));
  await form.getByRole('button', { name: 'Import' }).click();
  const row = page.locator('tr[data-template="site"]');
  await row.waitFor();
  assert.match(await row.innerText(), new RegExp(`${port}→8080/tcp`));
  await row.getByPlaceholder('application name').fill('shop');
  await row.getByRole('button', { name: 'Deploy' }).click();
  await page.locator('.notice', { hasText: 'Application shop deployed.' }).waitFor({ timeout: 300_000 });

  // The published port answers on the host with the environment's value.
  const served = await fetchText(`http://127.0.0.1:${port}/`).catch(async (err: Error) => {
    const state = await vch.docker(['ps', '-a', '--format', '{{.Names}} {{.State}} {{.Ports}}']);
    const logs = await vch.docker(['logs', 'shop-web-1']);
    const ports = await vch.docker(['inspect', '-f', '{{json .HostConfig.PortBindings}} {{json .NetworkSettings.Ports}}', 'shop-web-1']);
    throw new Error(`${err.message}\n${state.stdout}${state.stderr}\nlogs: ${logs.stdout}${logs.stderr}\nports: ${ports.stdout}${ports.stderr}`);
  });
  assert.equal(served.trim(), 'hello-from-template');
  const app = page.locator('tr[data-application="shop"]');
  await app.locator(`code.port`, { hasText: `127.0.0.1:${port}→8080/tcp` }).waitFor();
  const inspect = async (name: string, format: string) => (await vch.ok(['inspect', '-f', format, name])).trim();
  assert.equal(await inspect('shop-web-1', '{{.HostConfig.RestartPolicy.Name}}'), 'always');
  assert.equal(await inspect('shop-db-1', '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}'), 'on-failure 2');
  const started = async (name: string) => Date.parse(await inspect(name, '{{.State.StartedAt}}'));
  assert.ok(await started('shop-db-1') <= await started('shop-web-1'), 'db (a dependency of web) started first');

  // Scaled up in the page: shop-db-2, labelled as compose would.
  const db = app.locator('div.service[data-service="db"]');
  await db.getByLabel('Replicas').fill('2');
  await db.getByRole('button', { name: 'Scale' }).click();
  await page.locator('.notice', { hasText: 'Service db of shop scaled to 2.' }).waitFor({ timeout: 300_000 });
  await db.locator('div[data-container="shop-db-2"] .state-running').waitFor();
  assert.equal(await inspect('shop-db-2', '{{index .Config.Labels "com.docker.compose.service"}} {{index .Config.Labels "com.docker.compose.container-number"}} {{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "bonneville.portal.project"}}'),
    'db 2 shop tm');
  await page.screenshot({ path: join(docs, 'portal-applications.png') });

  // A fourth container would pass the project's quota of 3: refused, nothing made.
  const over = await api('PUT', `/hosts/${hostId}/applications/shop/services/db/scale`, { replicas: 3 });
  assert.equal(over.status, 403);
  assert.match(over.json.message, /quota exceeded: project tm may have 3 containers/);
  // A fixed host port cannot be bound twice.
  const web2 = await api('PUT', `/hosts/${hostId}/applications/shop/services/web/scale`, { replicas: 2 });
  assert.equal(web2.status, 400);
  assert.match(web2.json.message, /publishes host port/);
  assert.equal((await vch.ok(['ps', '-aq', '--filter', 'label=com.docker.compose.project=shop'])).trim().split('\n').length, 3);

  // Down again through the API: the highest number goes.
  const down = await api('PUT', `/hosts/${hostId}/applications/shop/services/db/scale`, { replicas: 1 });
  assert.equal(down.status, 200, JSON.stringify(down.json));
  assert.deepEqual(down.json.removed, ['shop-db-2']);
  assert.deepEqual(down.json.containers, ['shop-db-1']);
  assert.equal((await vch.docker(['inspect', 'shop-db-2'])).code, 1);
  await until(async () => (await db.locator('.count').innerText()) === '1', 30_000, 'the page to show one db container');

  await app.getByRole('button', { name: 'Remove application' }).click();
  await page.locator('tr[data-application="shop"]').waitFor({ state: 'detached', timeout: 120_000 });
  assert.equal((await vch.ok(['ps', '-aq', '--filter', 'label=com.docker.compose.project=shop'])).trim(), '');
  await page.context().close();
});

test('depends_on conditions: a service starts once its dependency is healthy and a one-off has completed; a failed one-off fails the deploy and leaves nothing', { timeout: 600_000 }, async () => {
  const api = (method: string, path: string, body?: unknown) => callApi(portal.url, method, path, admin, body);
  const hostId = 'local-ptm';
  const compose = (setupExit: number) => [
    'services:',
    '  web:',
    '    image: busybox',
    '    command: sleep 86400',
    '    depends_on: { db: { condition: service_healthy }, setup: { condition: service_completed_successfully } }',
    '  db:',
    '    image: busybox',
    // Healthy only once /tmp/ready exists, which it makes after a while.
    '    command: ["sh", "-c", "sleep 2; touch /tmp/ready; exec sleep 86400"]',
    '    healthcheck: { test: ["CMD-SHELL", "test -f /tmp/ready"], interval: 1s, retries: 60 }',
    '  setup:',
    '    image: busybox',
    `    command: ["sh", "-c", "exit ${setupExit}"]`,
    ''].join('\n');
  const made = await api('POST', '/templates', { name: 'gated', compose: compose(0) });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const deployed = await api('POST', `/templates/${made.json.id}/deploy`, { hostId, application: 'gated' });
  assert.equal(deployed.status, 201, JSON.stringify(deployed.json));
  const inspect = async (name: string, format: string) => (await vch.ok(['inspect', '-f', format, name])).trim();
  assert.equal(await inspect('gated-web-1', '{{.State.Status}}'), 'running');
  assert.equal(await inspect('gated-setup-1', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
  // The engine's own records: web started after db's first passing probe and after setup finished.
  const webStarted = Date.parse(await inspect('gated-web-1', '{{.State.StartedAt}}'));
  const probes = JSON.parse(await inspect('gated-db-1', '{{json .State.Health.Log}}')) as Array<{ ExitCode: number; End: string }>;
  const firstPass = probes.find((p) => p.ExitCode === 0);
  assert.ok(firstPass, 'db passed a probe');
  assert.ok(Date.parse(firstPass.End) <= webStarted, 'web started after db was healthy');
  assert.ok(Date.parse(await inspect('gated-setup-1', '{{.State.FinishedAt}}')) <= webStarted, 'web started after setup completed');
  assert.equal((await api('DELETE', `/hosts/${hostId}/applications/gated`)).status, 200);

  // setup exits 3: the deploy fails with compose's reason, and what it made is gone.
  const failing = await api('POST', '/templates', { name: 'gated-fail', compose: compose(3) });
  assert.equal(failing.status, 201, JSON.stringify(failing.json));
  const refused = await api('POST', `/templates/${failing.json.id}/deploy`, { hostId, application: 'gatedfail' });
  assert.equal(refused.status, 409, JSON.stringify(refused.json));
  assert.match(refused.json.message, /service setup didn't complete successfully: container gatedfail-setup-1 exited with code 3/);
  assert.equal((await vch.ok(['ps', '-aq', '--filter', 'label=com.docker.compose.project=gatedfail'])).trim(), '');
});
