// Regression tests of the registry half of "Hardening": tag patterns that freeze the event loop,
// robots aimed at other projects or outliving theirs, and client errors answered 500.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { globMatch, globStats } from '../../src/registry/distribution/glob.ts';
import {
  adminAuth as auth, basic, BACKENDS, call, createProject, createUser, addMember, errorCode, OCI_MANIFEST, pushImage, querySql, startTestRegistry,
} from './helpers.ts';
import { stopSharedCluster } from './postgres.ts';

after(stopSharedCluster);

describe('tag patterns are matched in linear time', () => {
  test('ten pairs of ** against a 256-character tag decide within (tokens+1) x (length+1) steps', () => {
    const pattern = '**'.repeat(10) + 'a';
    const text = 'b'.repeat(256);
    globStats.steps = 0;
    assert.equal(globMatch(pattern, text), false);
    assert.ok(globStats.steps <= (pattern.length + 1) * (text.length + 1), `steps: ${globStats.steps}`);
    assert.equal(globMatch(pattern, 'b'.repeat(255) + 'a'), true);
  });

  test('glob semantics: ** crosses slashes, * does not, ? is one character', () => {
    const cases: [string, string, boolean][] = [
      ['**', '', true], ['*', 'a/b', false], ['**', 'a/b', true], ['a/*', 'a/b', true], ['a/*', 'a/b/c', false],
      ['a/**', 'a/b/c', true], ['v?', 'v1', true], ['v?', 'v12', false], ['v1.*', 'v1.2', true], ['*-rc', 'x-rc', true],
      ['***', 'a/b', true], ['*/**/x', 'a/b/c/x', true], ['a.b', 'axb', false], ['[x]', '[x]', true], ['(a|b)', 'a', false],
    ];
    for (const [p, t, want] of cases) assert.equal(globMatch(p, t), want, `${p} vs ${t}`);
  });

  test('a push under a ** rule completes and does not hold up other requests; long patterns and too many rules are refused', { timeout: 60_000 }, async () => {
    const t = await startTestRegistry();
    try {
      await createProject(t.url, 'frozen');
      const rule = (pattern: string) => call(t.url, '/api/v2.0/projects/frozen/immutabletagrules', { method: 'POST', auth,
        body: { tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern }], scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] } } });
      assert.equal((await rule('************a')).status, 201);
      assert.equal((await rule('**'.repeat(10) + 'a')).status, 201);
      const tag = 'b'.repeat(128);
      await pushImage(t.url, 'frozen/app', tag);
      // Moving the tag consults the rules. The push and an unrelated request race; both must answer
      // (with the old regexes the loop froze for minutes and the test timed out).
      const [pushed, ping] = await Promise.all([
        pushImage(t.url, 'frozen/app', tag, { layer: Buffer.from('another layer') }),
        call(t.url, '/api/v2.0/systeminfo'),
      ]);
      assert.ok(pushed.digest.startsWith('sha256:'));
      assert.equal(ping.status, 200);
      assert.equal((await rule('x'.repeat(256))).status, 400, 'patterns are bounded');
      for (let i = 0; i < 13; i++) assert.equal((await rule(`r${i}`)).status, 201);
      assert.equal((await rule('one-too-many')).status, 400, 'rules per project are bounded');
      const retention = await call(t.url, '/api/v2.0/retentions', { method: 'POST', auth, body: { algorithm: 'or', scope: { level: 'project', ref: 1 },
        rules: [{ action: 'retain', template: 'always', tag_selectors: [{ decoration: 'matches', pattern: '*'.repeat(300) }] }] } });
      assert.equal(retention.status, 400, 'retention selectors share the bound');
    } finally { await t.stop(); }
  });
});

for (const backend of BACKENDS) describe(`projects own their robots (${backend})`, () => {
  test('an all-digits namespace names a project, never another project by id; X-Is-Resource-Name reaches it', async () => {
    const t = await startTestRegistry({}, backend);
    try {
      const mallory = basic('mallory', 'Passw0rdX');
      await createUser(t.url, 'mallory');
      const ownId = await createProject(t.url, 'mallorys', { auth: mallory });
      // The victim's private project happens to be named like the id of mallory's own project.
      await createProject(t.url, String(ownId));
      await pushImage(t.url, `${ownId}/secret`, 'v1');
      const robotIn = (namespace: string, auth: string) => call(t.url, '/api/v2.0/robots', { method: 'POST', auth, body: { name: 'bot', duration: -1,
        permissions: [{ kind: 'project', namespace, access: [{ resource: 'repository', action: 'pull' }] }] } });
      const aimed = await robotIn(String(ownId), mallory);
      if (aimed.status === 201) {
        const { name, secret } = await aimed.json() as { name: string; secret: string };
        const token = await call(t.url, `/service/token?service=bonneville-registry&scope=repository:${ownId}/secret:pull`, { auth: basic(name, secret) });
        const claims = JSON.parse(Buffer.from(((await token.json()) as { token: string }).token.split('.')[1], 'base64url').toString());
        assert.deepEqual(claims.access[0].actions, [], 'a robot made in mallory\'s project pulls from the victim\'s');
      }
      assert.equal(aimed.status, 403, 'the namespace names the victim\'s project, which mallory may not manage');

      // The admin of the digits-named project gets a robot that acts there, and only there.
      const own = await robotIn(String(ownId), auth);
      assert.equal(own.status, 201);
      const { name, secret } = await own.json() as { name: string; secret: string };
      const token = await call(t.url, `/service/token?service=bonneville-registry&scope=repository:${ownId}/secret:pull&scope=repository:mallorys/x:pull`, { auth: basic(name, secret) });
      const claims = JSON.parse(Buffer.from(((await token.json()) as { token: string }).token.split('.')[1], 'base64url').toString());
      assert.deepEqual(claims.access.map((a: { actions: string[] }) => a.actions), [['pull'], []]);

      // The digits-named project is reachable by name with Harbor's header; without it the text is an id.
      const byName = await call(t.url, `/api/v2.0/projects/${ownId}`, { auth, headers: { 'X-Is-Resource-Name': 'true' } });
      assert.equal(((await byName.json()) as { name: string }).name, String(ownId));
      const byId = await call(t.url, `/api/v2.0/projects/${ownId}`, { auth });
      assert.equal(((await byId.json()) as { name: string }).name, 'mallorys');
    } finally { await t.stop(); }
  });

  test('deleting a project removes its robots, members, rules and webhooks; a new project of that name inherits nothing', async () => {
    const t = await startTestRegistry({ allowInternalWebhooks: true }, backend);
    try {
      await createProject(t.url, 'gone');
      await createUser(t.url, 'dev');
      await addMember(t.url, 'gone', 'dev', 2);
      const robot = await call(t.url, '/api/v2.0/robots', { method: 'POST', auth, body: { name: 'ci', duration: -1,
        permissions: [{ kind: 'project', namespace: 'gone', access: [{ resource: 'repository', action: 'push' }] }] } });
      const { name, secret } = await robot.json() as { name: string; secret: string };
      assert.equal((await call(t.url, '/api/v2.0/projects/gone/immutabletagrules', { method: 'POST', auth,
        body: { tag_selectors: [{ decoration: 'matches', pattern: 'v*' }] } })).status, 201);
      assert.equal((await call(t.url, '/api/v2.0/projects/gone/webhook/policies', { method: 'POST', auth,
        body: { name: 'h', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: 'http://127.0.0.1:9/', auth_header: 'x' }] } })).status, 201);
      const projectId = Number(((await (await call(t.url, '/api/v2.0/projects/gone', { auth })).json()) as { project_id: number }).project_id);
      assert.equal((await call(t.url, '/api/v2.0/retentions', { method: 'POST', auth, body: { algorithm: 'or', scope: { level: 'project', ref: projectId },
        rules: [{ action: 'retain', template: 'always' }] } })).status, 201);
      assert.equal((await call(t.url, '/api/v2.0/projects/gone', { method: 'DELETE', auth })).status, 200);

      for (const table of ['robots', 'members', 'immutable_rules', 'webhooks', 'retention_policies']) {
        assert.deepEqual(await querySql(t, `SELECT id FROM ${table} WHERE project_id = ?`, projectId), [], `${table} of the deleted project`);
      }
      const robots = await call(t.url, '/api/v2.0/robots', { auth });
      assert.equal(robots.status, 200, 'listing robots still works');
      await createProject(t.url, 'gone', { public: false });
      const push = await call(t.url, '/v2/gone/app/blobs/uploads/', { method: 'POST', auth: basic(name, secret) });
      assert.equal(push.status, 401, 'the old robot is gone');
      const members = await (await call(t.url, '/api/v2.0/projects/gone/members', { auth })).json() as { entity_name: string }[];
      assert.deepEqual(members.map((m) => m.entity_name), ['admin']);
      assert.deepEqual(await (await call(t.url, '/api/v2.0/projects/gone/immutabletagrules', { auth })).json(), []);
      assert.deepEqual(await (await call(t.url, '/api/v2.0/projects/gone/webhook/policies', { auth })).json(), []);
    } finally { await t.stop(); }
  });
});

describe('client errors are answered 4xx', () => {
  test('malformed escapes, junk paging and non-object bodies get 400 in the registry error shapes; big bodies 413', async () => {
    const t = await startTestRegistry();
    try {
      const v2 = await call(t.url, '/v2/library/%ZZ/tags/list', { auth });
      assert.equal(v2.status, 400);
      assert.equal(await errorCode(v2), 'NAME_INVALID');
      const api = await call(t.url, '/api/v2.0/projects/%ZZ', { auth });
      assert.equal(api.status, 400);
      assert.equal(await errorCode(api), 'BAD_REQUEST');
      for (const q of ['page=1e308', 'page_size=junk', 'page=-1', 'page=99999999999999999999']) {
        const res = await call(t.url, `/api/v2.0/audit-logs?${q}`, { auth });
        assert.equal(res.status, 400, q);
        assert.equal(await errorCode(res), 'BAD_REQUEST');
      }
      const n = await call(t.url, '/v2/_catalog?n=1e308', { auth });
      assert.equal(n.status, 400);
      assert.equal(await errorCode(n), 'PAGINATION_NUMBER_INVALID');
      for (const body of ['null', '[]', '42', '"x"', '{']) {
        for (const path of ['/api/v2.0/projects', '/api/v2.0/robots', '/api/v2.0/users', '/api/v2.0/retentions', '/api/v2.0/registries', '/api/v2.0/replication/policies']) {
          const res = await call(t.url, path, { method: 'POST', auth, body, headers: { 'Content-Type': 'application/json' } });
          assert.equal(res.status, 400, `${path} ${body}`);
          assert.equal(await errorCode(res), 'BAD_REQUEST');
        }
      }
      assert.equal((await call(t.url, '/api/v2.0/robots/abc', { auth })).status, 400);
      const big = await call(t.url, '/api/v2.0/projects', { method: 'POST', auth, body: Buffer.alloc(2 << 20, 0x20) });
      assert.equal(big.status, 413);
    } finally { await t.stop(); }
  });

  test('property: random methods, paths, queries and bodies never get a 5xx', { timeout: 300_000 }, async () => {
    const t = await startTestRegistry();
    try {
      await createProject(t.url, 'fuzz');
      await pushImage(t.url, 'fuzz/app', 'v1');
      const segment = fc.oneof(
        fc.constantFrom('v2', 'api', 'v2.0', 'projects', 'fuzz', 'library', 'app', 'blobs', 'uploads', 'manifests', 'tags', 'list', 'referrers',
          'robots', 'users', 'members', 'retentions', 'executions', 'registries', 'replication', 'policies', 'webhook', 'immutabletagrules',
          'audit-logs', 'quotas', 'system', 'gc', 'schedule', 'repositories', 'artifacts', 'summary', 'service', 'token', '_catalog', 'v1',
          '1', '0', '-1', '1e308', '99999999999999999999', 'sha256:abc', '%ZZ', '%00', '%2F', '..', '.', ''),
        fc.string({ maxLength: 8 }).map(encodeURIComponent),
      );
      const prefix = fc.constantFrom('/v2/', '/api/v2.0/', '/service/', '/');
      const path = fc.tuple(prefix, fc.array(segment, { maxLength: 6 })).map(([p, s]) => p + s.join('/'));
      const query = fc.array(fc.tuple(fc.constantFrom('page', 'page_size', 'n', 'last', 'digest', 'mount', 'from', 'q', 'scope', 'service', 'policy_id', 'tag'),
        fc.oneof(fc.constantFrom('1', '0', '-1', '1e308', 'NaN', 'null', '%ZZ', 'sha256:' + '0'.repeat(64)), fc.string({ maxLength: 10 }))), { maxLength: 3 })
        .map((pairs) => (pairs.length ? '?' + pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&') : ''));
      const body = fc.option(fc.oneof(fc.json(), fc.constantFrom('null', '[]', '{}', '{"name":null}', '{"targets":[null]}', '{"permissions":[null]}',
        '{"filters":[null]}', '{"rules":[null]}', '{"scope":{"level":"project","ref":"x"}}'), fc.string({ maxLength: 20 })), { nil: undefined });
      const method = fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');
      const who = fc.constantFrom(auth, undefined, basic('admin', 'wrong'), 'Bearer junk', 'Basic %%%');
      await fc.assert(fc.asyncProperty(method, path, query, body, who, async (m, p, q, b, a) => {
        const res = await call(t.url, p + q, { method: m, body: m === 'GET' || m === 'HEAD' ? undefined : b, auth: a,
          headers: b !== undefined ? { 'Content-Type': 'application/json' } : {} });
        await res.arrayBuffer();
        assert.ok(res.status < 500, `${m} ${p}${q} ${b ?? ''} -> ${res.status}`);
      }), { numRuns: 400, seed: 20261203 });
      assert.deepEqual(t.logs.filter((l) => l.startsWith('internal error')), []);
    } finally { await t.stop(); }
  });
});

/** Host names that resolve to loopback on this machine besides `localhost` (the host's own name, where /etc/hosts says so). */
async function namesOfLoopback(): Promise<string[]> {
  const { hostname } = await import('node:os');
  const { promises: dns } = await import('node:dns');
  const addrs = await dns.lookup(hostname(), { all: true }).catch(() => []);
  return addrs.some((a) => a.address.startsWith('127.') || a.address === '::1') ? [`http://${hostname()}:9/`] : [];
}

describe('webhooks stay off internal addresses', () => {
  test('loopback, link-local and names resolving to loopback are refused (400) unless the operator allows them', async () => {
    const t = await startTestRegistry();
    const allowed = await startTestRegistry({ allowInternalWebhooks: true });
    try {
      const add = (base: string, address: string) => call(base, '/api/v2.0/projects/library/webhook/policies', { method: 'POST', auth,
        body: { name: 'h', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address }] } });
      for (const address of ['http://127.0.0.1:9/', 'http://[::1]:9/', 'http://169.254.169.254/latest', 'http://localhost:9/', 'http://0.0.0.0:9/',
        'http://[::ffff:127.0.0.1]:9/', 'http://127.1:9/', 'http://2130706433:9/', ...await namesOfLoopback()]) {
        const res = await add(t.url, address);
        assert.equal(res.status, 400, address);
        assert.equal(await errorCode(res), 'BAD_REQUEST');
      }
      assert.equal((await add(allowed.url, 'http://127.0.0.1:9/')).status, 201, 'the operator may allow them');
    } finally { await t.stop(); await allowed.stop(); }
  });

  test('at delivery, a name that now resolves to loopback is not connected to', async () => {
    const { guardedLookup } = await import('../../src/registry/api/webhook-target.ts');
    const err = await new Promise<Error | null>((resolve) => guardedLookup(false)('localhost', {}, (e) => resolve(e)));
    assert.match(String(err), /internal/);
    const ok = await new Promise<Error | null>((resolve) => guardedLookup(true)('localhost', {}, (e) => resolve(e)));
    assert.equal(ok, null);
  });
});

describe('password guessing', () => {
  test('failed logins back off per account and per client address with 429 + Retry-After; time (injected) lifts it', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const t = await startTestRegistry({ loginThrottle: { clock: () => now } });
    try {
      const wrong = basic('admin', 'nope');
      for (let i = 0; i < 6; i++) assert.equal((await call(t.url, '/api/v2.0/users/current', { auth: wrong })).status, 401, `failure ${i + 1}`);
      for (const path of ['/api/v2.0/users/current', '/v2/', '/service/token?service=bonneville-registry']) {
        const res = await call(t.url, path, { auth });
        assert.equal(res.status, 429, `${path}: even the right password waits`);
        assert.equal(res.headers.get('retry-after'), '1');
        assert.equal(await errorCode(res), 'TOOMANYREQUESTS');
      }
      now += 1000;
      assert.equal((await call(t.url, '/api/v2.0/users/current', { auth })).status, 200, 'after Retry-After the account works again');
      // Each further failure doubles the wait.
      for (let i = 0; i < 6; i++) await call(t.url, '/api/v2.0/users/current', { auth: wrong });
      now += 1000;
      await call(t.url, '/api/v2.0/users/current', { auth: wrong });
      assert.equal((await call(t.url, '/api/v2.0/users/current', { auth: wrong })).headers.get('retry-after'), '2');

      // Many names from one address: the address backs off too.
      now += 3600_000 * 2;
      for (let i = 0; i < 21; i++) await call(t.url, '/api/v2.0/users/current', { auth: basic(`nobody${i}`, 'x') });
      const res = await call(t.url, '/api/v2.0/users/current', { auth: basic('nobody-else', 'x') });
      assert.equal(res.status, 429);
    } finally { await t.stop(); }
  });

  test('an unknown user costs the same password work as a wrong password', async () => {
    const { passwordWork } = await import('../../src/registry/auth/passwords.ts');
    const t = await startTestRegistry();
    try {
      const work = async (auth: string) => {
        const before = passwordWork.derivations;
        assert.equal((await call(t.url, '/api/v2.0/users/current', { auth })).status, 401);
        return passwordWork.derivations - before;
      };
      assert.equal(await work(basic('admin', 'wrong')), 1);
      assert.equal(await work(basic('no-such-user', 'wrong')), 1);
      assert.equal(await work(basic('robot$library+none', 'wrong')), 1);
    } finally { await t.stop(); }
  });

  test('anonymous callers cannot tell a private project from a missing one', async () => {
    const t = await startTestRegistry();
    try {
      await createProject(t.url, 'hidden');
      await pushImage(t.url, 'hidden/app', 'v1');
      const same = async (a: string, b: string) => {
        const [x, y] = [await call(t.url, a), await call(t.url, b)];
        const [bx, by] = [await x.text(), await y.text()];
        assert.equal(x.status, y.status, `${a} vs ${b}`);
        assert.ok(x.status === 401 || x.status === 404, `${a}: ${x.status}`);
        assert.equal(bx.replaceAll('hidden', 'X'), by.replaceAll('missing', 'X'), `${a} vs ${b}`);
      };
      await same('/api/v2.0/projects/hidden', '/api/v2.0/projects/missing');
      await same('/api/v2.0/projects/hidden/summary', '/api/v2.0/projects/missing/summary');
      await same('/api/v2.0/projects/hidden/repositories', '/api/v2.0/projects/missing/repositories');
      await same('/v2/hidden/app/tags/list', '/v2/missing/app/tags/list');
      await same('/v2/hidden/app/manifests/v1', '/v2/missing/app/manifests/v1');
    } finally { await t.stop(); }
  });
});
