// Issue 3's registries with auth and TLS: HTTPS with the registry's own CA (certs.d on the VCH),
// htpasswd basic auth, distribution's token auth against a token server written here, an unknown
// CA allowed only once the admin lists the registry as insecure, and the admin's allow-list.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, writeFileSync, copyFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { randomUUID, sign } from 'node:crypto';
import { TestVch } from '../helpers/vch.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { TestCa, TestRegistry, freePort, skopeoCopy } from './peers.ts';

// The CLI keeps logins in its config directory: a private one for this file.
const dockerConfig = mkdtempSync(join(tmpdir(), 'bonneville-docker-config-'));
process.env.DOCKER_CONFIG = dockerConfig;

const USER = 'alice';
const PASSWORD = 's3cret-pass';
const SERVICE = 'bonneville-test-registry';
const ISSUER = 'bonneville-test-issuer';

const vch = new TestVch('auth');
const ca = new TestCa();
const otherCa = new TestCa('Some other CA');
let basicRegistry: TestRegistry;
let unknownCaRegistry: TestRegistry;
let tokenRegistry: TestRegistry;
let tokenServer: TokenServer;
let images: Awaited<ReturnType<typeof buildTestImages>>;

/** Issues JWTs the way distribution's token auth expects: RS256, x5c chain to the trusted CA. */
class TokenServer {
  private server?: Server;
  port = 0;
  private readonly key: string;
  private readonly certDer: string;

  constructor(signer: { cert: string; key: string }) {
    this.key = readFileSync(signer.key, 'utf8');
    this.certDer = readFileSync(signer.cert, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  }

  get realm(): string {
    return `http://127.0.0.1:${this.port}/token`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', this.realm);
      const auth = req.headers.authorization ?? '';
      const [user, password] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':');
      if (user !== USER || password !== PASSWORD) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
        return;
      }
      const access = url.searchParams.getAll('scope').flatMap((scope) => {
        const [type, name, actions] = scope.split(':');
        return type === 'repository' ? [{ type, name, actions: actions.split(',') }] : [];
      });
      const now = Math.floor(Date.now() / 1000);
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const input = `${encode({ typ: 'JWT', alg: 'RS256', x5c: [this.certDer] })}.${encode({ iss: ISSUER, sub: user, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access })}`;
      const token = `${input}.${sign('sha256', Buffer.from(input), this.key).toString('base64url')}`;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function setRegistries(settings: Record<string, unknown>): void {
  writeFileSync(join(vch.datastore, 'registries.json'), JSON.stringify(settings));
}

before(async () => {
  images = await buildTestImages();
  basicRegistry = new TestRegistry({ tls: ca.issue('registry', { ip: true }), htpasswd: { user: USER, password: PASSWORD } });
  unknownCaRegistry = new TestRegistry({ tls: otherCa.issue('other-registry', { ip: true }) });
  tokenServer = new TokenServer(ca.issue('token-signer'));
  await tokenServer.start();
  tokenRegistry = new TestRegistry({ token: { realm: tokenServer.realm, service: SERVICE, issuer: ISSUER, rootCertBundle: ca.caCert } });
  await Promise.all([basicRegistry.start(), unknownCaRegistry.start(), tokenRegistry.start()]);
  await skopeoCopy(`docker-archive:${images.busybox}`, `docker://${basicRegistry.host}/private/busybox:latest`, { creds: `${USER}:${PASSWORD}` });
  await skopeoCopy(`docker-archive:${images.busybox}`, `docker://${unknownCaRegistry.host}/busybox:latest`);
  await skopeoCopy(`docker-archive:${images.layered}`, `docker://${tokenRegistry.host}/team/layered:latest`, { creds: `${USER}:${PASSWORD}` });
  // The basic-auth registry's CA, dockerd-style: certs.d/<host:port>/ca.crt in the VCH's datastore.
  mkdirSync(join(vch.datastore, 'certs.d', basicRegistry.host), { recursive: true });
  copyFileSync(ca.caCert, join(vch.datastore, 'certs.d', basicRegistry.host, 'ca.crt'));
  setRegistries({ insecureRegistries: [tokenRegistry.host] });
  await vch.start();
});

after(async () => {
  await vch.destroy();
  await Promise.all([basicRegistry.stop(), unknownCaRegistry.stop(), tokenRegistry.stop(), tokenServer.stop()]);
  ca.destroy();
  otherCa.destroy();
  rmSync(dockerConfig, { recursive: true, force: true });
});

test('HTTPS + htpasswd: refused without login, wrong password refused, login/pull/push/logout', async () => {
  const host = basicRegistry.host;
  const anonymous = await vch.docker(['pull', `${host}/private/busybox:latest`]);
  assert.notEqual(anonymous.code, 0);
  assert.match(anonymous.stderr, /pull access denied for .*private\/busybox, repository does not exist or may require 'docker login'/);

  const wrong = await vch.docker(['login', '-u', USER, '--password-stdin', host], { input: 'wrong-password\n' });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /login attempt to https:\/\/127\.0\.0\.1:\d+\/v2\/ failed with status: 401 Unauthorized/);

  const login = await vch.docker(['login', '-u', USER, '--password-stdin', host], { input: `${PASSWORD}\n` });
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stdout, /Login Succeeded/);
  const pull = await vch.docker(['pull', `${host}/private/busybox:latest`]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stdout, /Downloaded newer image/);
  const tag = await vch.docker(['tag', `${host}/private/busybox:latest`, `${host}/private/pushed:1`]);
  assert.equal(tag.code, 0, tag.stderr);
  const push = await vch.docker(['push', `${host}/private/pushed:1`]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /1: digest: sha256:[0-9a-f]{64} size: \d+/);

  const logout = await vch.docker(['logout', host]);
  assert.equal(logout.code, 0, logout.stderr);
  await vch.docker(['rmi', `${host}/private/busybox:latest`]);
  const after = await vch.docker(['pull', `${host}/private/busybox:latest`]);
  assert.notEqual(after.code, 0);
  assert.match(after.stderr, /may require 'docker login'/);
});

test('token auth: login checks credentials with the token server; pull and push use scoped tokens', async () => {
  const host = tokenRegistry.host;
  const wrong = await vch.docker(['login', '-u', USER, '--password-stdin', host], { input: 'nope\n' });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /unauthorized: incorrect username or password/);
  const anonymous = await vch.docker(['pull', `${host}/team/layered:latest`]);
  assert.notEqual(anonymous.code, 0);
  assert.match(anonymous.stderr, /pull access denied|authentication required/);

  const login = await vch.docker(['login', '-u', USER, '--password-stdin', host], { input: `${PASSWORD}\n` });
  assert.equal(login.code, 0, login.stderr);
  const pull = await vch.docker(['pull', `${host}/team/layered:latest`]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.equal((await vch.docker(['tag', `${host}/team/layered:latest`, `${host}/team/copy:2`])).code, 0);
  const push = await vch.docker(['push', `${host}/team/copy:2`]);
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /Mounted from team\/layered|Layer already exists/);
});

// Loopback registries are insecure by default, as with dockerd (TLS unverified, then plain HTTP): the CA
// check is seen through a name that is not loopback by its spelling, the machine's own host name.
test('an unknown CA is refused until the admin lists the registry as insecure; on loopback names it is accepted', async (t) => {
  const onLoopback = await vch.docker(['pull', `${unknownCaRegistry.host}/busybox:latest`]);
  assert.equal(onLoopback.code, 0, onLoopback.stderr);
  const address = await lookup(hostname()).catch(() => undefined);
  if (!address || !address.address.startsWith('127.') || /^localhost$/i.test(hostname())) {
    t.skip('the host name does not resolve to 127.x here');
    return;
  }
  const host = `${hostname()}:${unknownCaRegistry.port}`;
  const refused = await vch.docker(['pull', `${host}/busybox:latest`]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /x509|certificate/);
  setRegistries({ insecureRegistries: [tokenRegistry.host, host] });
  const allowed = await vch.docker(['pull', `${host}/busybox:latest`]);
  assert.equal(allowed.code, 0, allowed.stderr);
});

test('the allow-list refuses other registries with a clear message', async () => {
  setRegistries({ insecureRegistries: [tokenRegistry.host], allowedRegistries: [tokenRegistry.host] });
  const refused = await vch.docker(['pull', `${basicRegistry.host}/private/busybox:latest`]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, new RegExp(`registry ${basicRegistry.host} is not allowed by this VCH`));
  const push = await vch.docker(['push', `${basicRegistry.host}/private/pushed:1`]);
  assert.match(push.stderr, /is not allowed by this VCH/);
  const allowed = await vch.docker(['pull', `${tokenRegistry.host}/team/layered:latest`]);
  assert.equal(allowed.code, 0, allowed.stderr);
  setRegistries({ insecureRegistries: [tokenRegistry.host] });
});
