// The VCH admin page, end to end: a real VCH with one busybox container VM, its admin page driven by
// Debian's chromium (password and client-certificate sign-in, status, live logs, the log bundle) and
// by plain HTTPS requests (what is refused, and how). BONNEVILLE_UPDATE_DOCS=1 renews docs/vicadmin.png.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { list as listTar } from 'tar';
import type { Browser } from 'playwright-core';
import { TestVch, repoRoot } from '../helpers/vch.ts';
import { launchBrowser, newContext } from '../helpers/browser.ts';
import { ensureCa, issueClientCertificate } from '../../src/pki/certificates.ts';
import { ENGINE_VERSION } from '../../src/engine/engine.ts';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** An HTTPS request to the admin page, trusting only the VCH's CA (the page's certificate must chain to it). */
function call(url: string, ca: Buffer, options: { method?: string; headers?: Record<string, string>; body?: string; cert?: { cert: Buffer; key: Buffer } } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: options.method ?? 'GET', headers: options.headers, ca, ...(options.cert ?? {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('VCH admin page', () => {
  const work = mkdtempSync(join(tmpdir(), 'bonneville-vicadmin-'));
  // A registry that answers /v2/ (asking for credentials, as most do) and a port where nothing listens.
  const registry = createServer((req, res) => {
    res.writeHead(req.url === '/v2/' ? 401 : 404, { 'Docker-Distribution-Api-Version': 'registry/2.0', 'Content-Length': 0 });
    res.end();
  });
  let registryPort = 0;
  let deadPort = 0;
  let vch: TestVch;
  let browser: Browser;
  /** For the scenarios that present client certificates (see test/helpers/browser.ts). */
  let certBrowser: Browser;
  let adminUrl = '';
  let origin = '';
  let ca: Buffer;
  let password = '';
  let containerId = '';
  let otherClient: { cert: string; key: string };

  before(async () => {
    registryPort = await listen(registry);
    const closed = createServer();
    deadPort = await listen(closed);
    await new Promise((r) => closed.close(r));
    const otherCa = await ensureCa(join(work, 'other-ca'), 'Some other CA');
    otherClient = await issueClientCertificate(otherCa, join(work, 'other-client'), 'intruder');
    vch = new TestVch('admin', ['--admin-listen', '127.0.0.1:0', '--tls-listen', '127.0.0.1:0',
      '--insecure-registry', `127.0.0.1:${registryPort}`, '--insecure-registry', `127.0.0.1:${deadPort}`]);
    await vch.startWithBusybox();
    adminUrl = (JSON.parse(readFileSync(join(vch.datastore, 'endpoints.json'), 'utf8')) as { admin: string }).admin;
    origin = adminUrl.replace(/\/$/, '');
    ca = readFileSync(join(vch.datastore, 'certs/ca.pem'));
    password = readFileSync(join(vch.datastore, 'admin.password'), 'utf8').trim();
    // The guest writes to its serial console (the container has no /dev/console: it makes one).
    containerId = (await vch.ok(['run', '-d', '--name', 'console-demo', 'busybox', 'sh', '-c',
      'mknod /tmp/console c 5 1 && echo hello-console-$((6*7)) > /tmp/console; echo hello-output; sleep 1000'])).trim();
    const consoleLog = join(vch.datastore, 'containers', containerId, 'console.log');
    const deadline = Date.now() + 60_000;
    while (!(existsSync(consoleLog) && readFileSync(consoleLog, 'utf8').includes('hello-console-42'))) {
      if (Date.now() > deadline) throw new Error(`the guest's console line never came: ${existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8').slice(-2000) : 'no console.log'}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    browser = await launchBrowser();
    certBrowser = await launchBrowser({ hostNetwork: true });
  });

  after(async () => {
    await browser?.close();
    await certBrowser?.close();
    await vch?.destroy();
    registry.close();
    rmSync(work, { recursive: true, force: true });
  });

  test('the admin password is made at first start, root only, and never logged', () => {
    assert.match(adminUrl, /^https:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(password.length >= 16);
    const { mode } = statSync(join(vch.datastore, 'admin.password'));
    assert.equal(mode & 0o777, 0o600);
    assert.ok(!vch.engineLog.includes(password), 'the password appears in the engine log');
    // The engine's TLS listener has a server certificate for 127.0.0.1 already: the page uses it.
    assert.ok(!existsSync(join(vch.datastore, 'certs/admin-cert.pem')));
  });

  test('without a certificate or session: 401 from the API, pages send to the login page', async () => {
    for (const path of ['api/status', 'api/containers', 'api/logs/engine', `api/containers/${containerId}/console`]) {
      const r = await call(adminUrl + path, ca);
      assert.equal(r.status, 401, path);
      assert.match(JSON.parse(r.body).message, /sign in/);
    }
    for (const path of ['', 'logs', 'bundle', `containers/${containerId}`]) {
      const r = await call(adminUrl + path, ca);
      assert.equal(r.status, 303, path);
      assert.equal(r.headers.location, '/login');
    }
    const login = await call(adminUrl + 'login', ca);
    assert.equal(login.status, 200);
    assert.match(String(login.headers['content-security-policy']), /script-src 'self'/);
    // A session token nobody issued is no session.
    const forged = await call(adminUrl + 'api/status', ca, { headers: { Cookie: 'bv_admin_session=' + 'A'.repeat(43) } });
    assert.equal(forged.status, 401);
  });

  test('CSRF: sign-in and sign-out only from the page\'s own origin', async () => {
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const body = `password=${encodeURIComponent(password)}`;
    const foreign = await call(adminUrl + 'login', ca, { method: 'POST', headers: { ...form, Origin: 'https://evil.example' }, body });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.headers['set-cookie'], undefined);
    const noOrigin = await call(adminUrl + 'login', ca, { method: 'POST', headers: form, body });
    assert.equal(noOrigin.status, 403);
    const ok = await call(adminUrl + 'login', ca, { method: 'POST', headers: { ...form, Origin: origin }, body });
    assert.equal(ok.status, 303);
    const cookie = String(ok.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /Secure/);
    assert.match(cookie, /SameSite=Strict/);
    const session = cookie.split(';')[0];
    const status = await call(adminUrl + 'api/status', ca, { headers: { Cookie: session } });
    assert.equal(status.status, 200);
    assert.equal(JSON.parse(status.body).containers.total, 1);
    // Logout from another origin does nothing; from ours it ends the session.
    const crossLogout = await call(adminUrl + 'logout', ca, { method: 'POST', headers: { Cookie: session, Origin: 'https://evil.example' } });
    assert.equal(crossLogout.status, 403);
    assert.equal((await call(adminUrl + 'api/status', ca, { headers: { Cookie: session } })).status, 200);
    const logout = await call(adminUrl + 'logout', ca, { method: 'POST', headers: { Cookie: session, Origin: origin } });
    assert.equal(logout.status, 303);
    assert.equal((await call(adminUrl + 'api/status', ca, { headers: { Cookie: session } })).status, 401);
  });

  test('the browser: a wrong password is refused, the right one shows status, logs and the bundle', async () => {
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      await page.goto(adminUrl);
      assert.equal(new URL(page.url()).pathname, '/login');
      await page.getByLabel('Admin password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').getByText('Wrong password.').waitFor();
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.equal(await page.getByRole('heading', { name: 'Engine' }).count(), 0);

      await page.getByLabel('Admin password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Engine' }).waitFor();
      const engine = page.locator('section[aria-labelledby=engine]');
      assert.match(await engine.innerText(), new RegExp(`Version\\s+${ENGINE_VERSION.replace(/\./g, '\\.')}`));
      assert.match(await engine.innerText(), /Backend\s+qemu/);
      assert.match(await page.locator('section[aria-labelledby=container-counts]').innerText(), /Total\s+1\s+Running\s+1/);
      const storage = await page.locator('section[aria-labelledby=storage]').innerText();
      assert.match(storage, /Filesystem free\s+[\d.]+ [KMGT]?i?B/);
      assert.match(storage, /Datastore images\s+[\d.]+ [KMGT]i?B on disk/);
      assert.match(await page.locator('section[aria-labelledby=limits]').innerText(), /Default container VM memory\s+256 MiB/);
      const registries = await page.locator('section[aria-labelledby=registries]').innerText();
      assert.match(registries, new RegExp(`127\\.0\\.0\\.1:${registryPort}\\s.*\\sreachable\\s+HTTP 401`));
      assert.match(registries, new RegExp(`127\\.0\\.0\\.1:${deadPort}\\s.*\\sunreachable`));
      assert.match(await page.locator('table.containers').innerText(), /console-demo\s+[0-9a-f]{12}\s+running/);
      // The README's picture is renewed on request only, so that test runs leave the tree as it was.
      const shot = process.env.BONNEVILLE_UPDATE_DOCS === '1' ? join(repoRoot, 'docs/vicadmin.png') : join(work, 'status.png');
      mkdirSync(join(shot, '..'), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000);

      // The engine's log, live: a line the engine wrote at start, then one it writes now.
      await page.getByRole('link', { name: 'Engine log' }).click();
      const log = page.locator('pre.log');
      await log.getByText("VCH 'admin' serving on").waitFor();
      await page.getByText('Following live.').waitFor();
      const before = (await log.innerText()).split('signed in with the password').length;
      const signIn = await call(adminUrl + 'login', ca, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin }, body: `password=${encodeURIComponent(password)}` });
      assert.equal(signIn.status, 303);
      // Text that arrives after the page loaded: the stream follows the log.
      const deadline = Date.now() + 30_000;
      while ((await log.innerText()).split('signed in with the password').length <= before) {
        assert.ok(Date.now() < deadline, 'the new engine log line never reached the page');
        await new Promise((r) => setTimeout(r, 200));
      }

      // The container VM's serial console shows what the guest wrote there.
      await page.goto(adminUrl);
      await page.getByRole('link', { name: 'console log of console-demo' }).click();
      await page.locator('pre.log').getByText('hello-console-42').waitFor();

      // The log bundle.
      await page.goto(adminUrl);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download log bundle' }).click()]);
      const saved = join(work, 'bundle.tar.gz');
      await download.saveAs(saved);
      const entries = new Map<string, string>();
      await listTar({
        file: saved,
        onReadEntry: (entry) => {
          let text = '';
          entry.on('data', (d: Buffer) => { text += d.toString('utf8'); });
          entry.on('end', () => entries.set(entry.path.split('/').slice(1).join('/'), text));
        },
      });
      const names = [...entries.keys()];
      assert.ok(entries.get('engine-recent.log')?.includes("VCH 'admin' serving on"), names.join(' '));
      assert.ok(entries.get(`containers/${containerId}/console.log`)?.includes('hello-console-42'), names.join(' '));
      assert.ok(entries.has('settings/vch.json') && entries.has('settings/endpoints.json'), names.join(' '));
      assert.match(entries.get('versions.txt') ?? '', /qemu: QEMU emulator version/);
      assert.ok(JSON.parse(entries.get('containers.json')!).some((c: { name: string }) => c.name === 'console-demo'));
      for (const [name, text] of entries) {
        assert.ok(!/\.key$|key\.pem$|admin\.password$|config\.json$/.test(name), `${name} must not be in the bundle`);
        assert.ok(!text.includes('PRIVATE KEY'), `${name} holds a private key`);
        assert.ok(!text.includes(password), `${name} holds the admin password`);
      }

      // Signing out ends it.
      await page.getByRole('button', { name: 'Log out' }).click();
      await page.waitForURL(/\/login$/);
      await page.goto(adminUrl);
      assert.equal(new URL(page.url()).pathname, '/login');
    } finally {
      await context.close();
    }
  });

  test('the VCH\'s client certificate signs in without a password', async () => {
    const client = join(vch.datastore, 'certs/client');
    const context = await newContext(certBrowser, { clientCertificates: [{ origin, certPath: join(client, 'cert.pem'), keyPath: join(client, 'key.pem') }] });
    try {
      const page = await context.newPage();
      await page.goto(adminUrl);
      assert.equal(new URL(page.url()).pathname, '/');
      await page.getByText('Signed in with client certificate CN=bonneville-client').waitFor();
      await page.getByRole('heading', { name: 'Engine' }).waitFor();
      const api = await page.goto(adminUrl + 'api/containers');
      assert.equal(api!.status(), 200);
    } finally {
      await context.close();
    }
  });

  test('a client certificate from another CA is refused', async () => {
    const context = await newContext(certBrowser, { clientCertificates: [{ origin, certPath: otherClient.cert, keyPath: otherClient.key }] });
    try {
      const page = await context.newPage();
      await page.goto(adminUrl);
      assert.equal(new URL(page.url()).pathname, '/login');
      const api = await page.goto(adminUrl + 'api/status');
      assert.equal(api!.status(), 401);
    } finally {
      await context.close();
    }
    const other = { cert: readFileSync(otherClient.cert), key: readFileSync(otherClient.key) };
    assert.equal((await call(adminUrl + 'api/status', ca, { cert: other })).status, 401);
  });

  test('wrong passwords are throttled, then even the right one waits', async () => {
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: origin };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(adminUrl + 'login', ca, { method: 'POST', headers, body: 'password=wrong' })).status);
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
    assert.equal(statuses[3], 429);
    const right = await call(adminUrl + 'login', ca, { method: 'POST', headers, body: `password=${encodeURIComponent(password)}` });
    assert.equal(right.status, 429);
    assert.ok(Number(right.headers['retry-after']) >= 1);
    assert.equal(right.headers['set-cookie'], undefined);
  });
});
