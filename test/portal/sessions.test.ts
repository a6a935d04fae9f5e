// Portal sessions live in its SQLite store: a restarted portal keeps a browser and a script logged in;
// logging out revokes the token; the store holds neither the token nor the password in clear; a
// deleted user's session ends at the next check. A registry and the portal only (no VCH).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Browser } from 'playwright-core';
import { newContext } from '../helpers/browser.ts';
import { ADMIN_PASSWORD, createUser, adminAuth, call, type TestRegistry } from '../registry/helpers.ts';
import { callApi, login, PortalRig } from './portal-helpers.ts';

let rig: PortalRig;
let registry: TestRegistry;
let browser: Browser;
let work: string;

before(async () => {
  rig = await PortalRig.start({ name: 'sessions' });
  ({ registry, browser, work } = rig);
}, { timeout: 120_000 });

after(async () => {
  await rig?.stop();
}, { timeout: 60_000 });

test('a restarted portal keeps the browser and a Bearer token logged in; logout revokes; nothing secret is stored in clear', { timeout: 120_000 }, async () => {
  const context = await newContext(browser);
  const page = await login(context, rig.url, ['admin', ADMIN_PASSWORD]);
  const token = (await callApi(rig.url, 'POST', '/login', null, { username: 'admin', password: ADMIN_PASSWORD })).json.token as string;
  assert.equal((await callApi(rig.url, 'GET', '/me', { bearer: token })).status, 200);

  await rig.portal.close();
  await rig.startPortal();
  // The same page, reloaded against the new process: still logged in, no login form.
  await page.reload();
  await page.getByRole('link', { name: 'Registry' }).waitFor();
  assert.equal(await page.getByLabel('Password').count(), 0);
  assert.match(await page.locator('header .user').innerText(), /admin \(admin\)/);
  const me = await callApi(rig.url, 'GET', '/me', { bearer: token });
  assert.equal(me.status, 200);
  assert.equal(me.json.username, 'admin');

  // Only the token's hash is kept; the password is sealed.
  for (const f of ['portal.sqlite', 'portal.sqlite-wal']) {
    const path = join(work, 'state', f);
    if (!existsSync(path)) continue;
    const raw = readFileSync(path).toString('latin1');
    assert.ok(!raw.includes(token), `${f} holds the token`);
    assert.ok(!raw.includes(ADMIN_PASSWORD), `${f} holds the password`);
  }

  // Logging out in the page ends that session (its cookie no longer works), not the script's.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('Password').waitFor();
  await page.reload();
  await page.getByLabel('Password').waitFor();
  assert.equal((await callApi(rig.url, 'GET', '/me', { bearer: token })).status, 200);
  const out = await callApi(rig.url, 'POST', '/logout', { bearer: token });
  assert.equal(out.status, 200);
  const after = await callApi(rig.url, 'GET', '/me', { bearer: token });
  assert.equal(after.status, 401);
  assert.equal(typeof after.json.message, 'string');
  await context.close();
});

test('a deleted user\'s session ends at the next check, and a demoted administrator loses the flag', { timeout: 120_000 }, async () => {
  const dave = await createUser(registry.url, 'dave', 'Dave123456');
  const erin = await createUser(registry.url, 'erin', 'Erin123456');
  assert.equal((await call(registry.url, `/api/v2.0/users/${erin}/sysadmin`, { method: 'PUT', auth: adminAuth, body: { sysadmin_flag: true } })).status, 200);
  const tokenOf = async (u: string, p: string) => (await callApi(rig.url, 'POST', '/login', null, { username: u, password: p })).json.token as string;
  const daveToken = await tokenOf('dave', 'Dave123456');
  const erinToken = await tokenOf('erin', 'Erin123456');
  assert.equal((await callApi(rig.url, 'GET', '/me', { bearer: erinToken })).json.sysadmin, true);
  assert.equal((await call(registry.url, `/api/v2.0/users/${dave}`, { method: 'DELETE', auth: adminAuth })).status, 200);
  assert.equal((await call(registry.url, `/api/v2.0/users/${erin}/sysadmin`, { method: 'PUT', auth: adminAuth, body: { sysadmin_flag: false } })).status, 200);
  // The next check is due a minute after the last: make it due now, behind the portal's back.
  await rig.portal.close();
  const db = new DatabaseSync(join(work, 'state', 'portal.sqlite'));
  db.prepare('UPDATE sessions SET checked_at = 0').run();
  db.close();
  await rig.startPortal();
  const gone = await callApi(rig.url, 'GET', '/me', { bearer: daveToken });
  assert.equal(gone.status, 401);
  assert.match(gone.json.message, /log in again/);
  const demoted = await callApi(rig.url, 'GET', '/me', { bearer: erinToken });
  assert.equal(demoted.status, 200);
  assert.equal(demoted.json.sysadmin, false);
});
