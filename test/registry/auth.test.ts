// Roles, tokens and robots: every distribution and API call refuses what the caller may not do.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { addMember, adminAuth, basic, call, createProject, createUser, errorCode, execSql, OCI_MANIFEST, pushBlob, pushImage, startTestRegistry, BACKENDS, type TestRegistry } from './helpers.ts';
import { stopSharedCluster } from './postgres.ts';

after(stopSharedCluster);

for (const backend of BACKENDS) describe(`auth ({backend})`, () => {
  let t: TestRegistry;
  const roles = { projectAdmin: 1, developer: 2, guest: 3, maintainer: 4, limitedGuest: 5 } as const;
  type Who = keyof typeof roles | 'outsider' | 'anonymous' | 'admin';
  const authOf = (who: Who) => (who === 'anonymous' ? undefined : who === 'admin' ? adminAuth : basic(who.toLowerCase(), 'Passw0rdX'));

  before(async () => {
    t = await startTestRegistry({}, backend);
    await createProject(t.url, 'priv');
    await createUser(t.url, 'outsider');
    for (const [name, id] of Object.entries(roles)) {
      await createUser(t.url, name.toLowerCase());
      await addMember(t.url, 'priv', name.toLowerCase(), id);
    }
    await pushImage(t.url, 'priv/app', 'base');
  });
  after(async () => { await t.stop(); });

  async function getToken(scope: string, auth?: string): Promise<{ status: number; token?: string; access?: any[] }> {
    const res = await call(t.url, `/service/token?service=bonneville-registry&scope=${encodeURIComponent(scope)}`, { auth });
    if (res.status !== 200) { await res.body?.cancel(); return { status: res.status }; }
    const body = await res.json() as { token: string };
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString());
    return { status: 200, token: body.token, access: claims.access };
  }

  const expected: Record<Who, { pull: boolean; push: boolean; delete: boolean }> = {
    admin: { pull: true, push: true, delete: true },
    projectAdmin: { pull: true, push: true, delete: true },
    maintainer: { pull: true, push: true, delete: true },
    developer: { pull: true, push: true, delete: false },
    guest: { pull: true, push: false, delete: false },
    limitedGuest: { pull: true, push: false, delete: false },
    outsider: { pull: false, push: false, delete: false },
    anonymous: { pull: false, push: false, delete: false },
  };

  for (const who of Object.keys(expected) as Who[]) {
    test(`distribution with Basic auth as ${who}: pull/push/delete allowed exactly per role`, async () => {
      const auth = authOf(who);
      const want = expected[who];
      const denial = who === 'anonymous' ? 401 : 403;
      const pull = await call(t.url, '/v2/priv/app/manifests/base', { auth });
      assert.equal(pull.status, want.pull ? 200 : denial);
      if (!want.pull) assert.equal(await errorCode(pull), who === 'anonymous' ? 'UNAUTHORIZED' : 'DENIED'); else await pull.body?.cancel();
      const tags = await call(t.url, '/v2/priv/app/tags/list', { auth });
      assert.equal(tags.status, want.pull ? 200 : denial);
      await tags.body?.cancel();
      const push = await call(t.url, '/v2/priv/app/blobs/uploads/', { method: 'POST', auth });
      assert.equal(push.status, want.push ? 202 : denial);
      if (!want.push && who === 'anonymous') assert.match(push.headers.get('www-authenticate')!, /scope="repository:priv\/app:pull,push"/);
      await push.body?.cancel();
      if (want.push) {
        const { digest } = await pushImage(t.url, 'priv/app', `by-${who}`, { auth });
        assert.ok(digest);
      }
      const target = want.push ? `by-${who}` : 'base';
      const del = await call(t.url, `/v2/priv/app/manifests/${target}`, { method: 'DELETE', auth });
      assert.equal(del.status, want.delete ? 202 : denial);
      await del.body?.cancel();
    });
  }

  for (const who of ['developer', 'guest', 'outsider', 'anonymous'] as Who[]) {
    test(`token service grants ${who} only what the role allows (no scope escalation)`, async () => {
      const { status, token, access } = await getToken('repository:priv/app:pull,push,delete', authOf(who));
      assert.equal(status, 200);
      const granted = access![0].actions.sort();
      const want = Object.entries(expected[who]).filter(([, v]) => v).map(([k]) => k).sort();
      assert.deepEqual(granted, want);
      const bearer = `Bearer ${token}`;
      const pull = await call(t.url, '/v2/priv/app/manifests/base', { auth: bearer, headers: { Accept: OCI_MANIFEST } });
      assert.equal(pull.status, expected[who].pull ? 200 : 401);
      await pull.body?.cancel();
      const push = await call(t.url, '/v2/priv/app/blobs/uploads/', { method: 'POST', auth: bearer });
      assert.equal(push.status, expected[who].push ? 202 : 401);
      if (!expected[who].push) assert.match(push.headers.get('www-authenticate')!, /error="insufficient_scope"/);
      await push.body?.cancel();
    });
  }

  test('a token is bound to its repository: scope for one repository does not open another', async () => {
    const { token } = await getToken('repository:priv/app:pull', authOf('developer'));
    const other = await call(t.url, '/v2/priv/other/tags/list', { auth: `Bearer ${token}` });
    assert.equal(other.status, 401);
    await other.body?.cancel();
  });

  test('token service refuses wrong credentials; tampered tokens are rejected', async () => {
    assert.equal((await getToken('repository:priv/app:pull', basic('developer', 'nope'))).status, 401);
    assert.equal((await getToken('repository:priv/app:pull', basic('ghost', 'Passw0rdX'))).status, 401);
    const { token } = await getToken('repository:priv/app:pull', authOf('guest'));
    const [h, , s] = token!.split('.');
    const forged = Buffer.from(JSON.stringify({ iss: 'bonneville-registry-token-issuer', sub: 'guest', aud: 'bonneville-registry', exp: 9999999999, nbf: 0, iat: 0, jti: 'x',
      access: [{ type: 'repository', name: 'priv/app', actions: ['push', 'pull', 'delete'] }] })).toString('base64url');
    const res = await call(t.url, '/v2/priv/app/blobs/uploads/', { method: 'POST', auth: `Bearer ${h}.${forged}.${s}` });
    assert.equal(res.status, 401);
    assert.equal(await errorCode(res), 'UNAUTHORIZED');
    const wrongBasic = await call(t.url, '/v2/priv/app/tags/list', { auth: basic('developer', 'bad') });
    assert.equal(wrongBasic.status, 401);
    await wrongBasic.body?.cancel();
  });

  test('tokens expire', async () => {
    const short = await startTestRegistry({ tokenTtlSeconds: 1 }, backend);
    try {
      await createProject(short.url, 'p');
      const res = await call(short.url, '/service/token?service=bonneville-registry&scope=repository:p/r:pull', { auth: adminAuth });
      const { token } = await res.json() as { token: string };
      const first = await call(short.url, '/v2/', { auth: `Bearer ${token}` });
      assert.equal(first.status, 200);
      await first.body?.cancel();
      await sleep(2100);
      const later = await call(short.url, '/v2/', { auth: `Bearer ${token}` });
      assert.equal(later.status, 401);
      await later.body?.cancel();
    } finally { await short.stop(); }
  });

  test('catalog is for system administrators only', async () => {
    const admin = await call(t.url, '/v2/_catalog', { auth: adminAuth });
    assert.equal(admin.status, 200);
    assert.ok(((await admin.json()) as any).repositories.includes('priv/app'));
    const dev = await call(t.url, '/v2/_catalog', { auth: authOf('projectAdmin') });
    assert.equal(dev.status, 403);
    await dev.body?.cancel();
    const adminToken = await getToken('registry:catalog:*', adminAuth);
    assert.deepEqual(adminToken.access![0].actions, ['*']);
    const devToken = await getToken('registry:catalog:*', authOf('developer'));
    assert.deepEqual(devToken.access![0].actions, []);
  });

  test('API: management calls are allowed per role', async () => {
    const cases: [string, string, Who, number, unknown?][] = [
      ['GET', '/api/v2.0/users', 'projectAdmin', 403],
      ['GET', '/api/v2.0/users', 'admin', 200],
      ['POST', '/api/v2.0/users', 'developer', 403, { username: 'x1', password: 'Passw0rdX' }],
      ['GET', '/api/v2.0/projects/priv', 'outsider', 403],
      ['GET', '/api/v2.0/projects/priv', 'anonymous', 401],
      ['GET', '/api/v2.0/projects/priv', 'limitedGuest', 200],
      ['GET', '/api/v2.0/projects/priv/members', 'limitedGuest', 403],
      ['GET', '/api/v2.0/projects/priv/members', 'guest', 200],
      ['POST', '/api/v2.0/projects/priv/members', 'maintainer', 403, { role_id: 3, member_user: { username: 'outsider' } }],
      ['GET', '/api/v2.0/projects/priv/logs', 'limitedGuest', 403],
      ['GET', '/api/v2.0/projects/priv/logs', 'developer', 200],
      ['PUT', '/api/v2.0/projects/priv', 'developer', 403, { metadata: { public: 'true' } }],
      ['DELETE', '/api/v2.0/projects/priv', 'maintainer', 403],
      ['POST', '/api/v2.0/robots', 'developer', 403, { name: 'r1', duration: -1, permissions: [{ kind: 'project', namespace: 'priv', access: [{ resource: 'repository', action: 'pull' }] }] }],
      ['PUT', '/api/v2.0/quotas/1', 'projectAdmin', 403, { hard: { storage: 10 } }],
      ['POST', '/api/v2.0/system/gc/schedule', 'projectAdmin', 403, { schedule: { type: 'Manual' } }],
      ['GET', '/api/v2.0/audit-logs', 'anonymous', 401],
      ['POST', '/api/v2.0/projects/priv/immutabletagrules', 'developer', 403, { tag_selectors: [{ pattern: 'v*' }] }],
      ['DELETE', '/api/v2.0/projects/priv/repositories/app', 'developer', 403],
    ];
    for (const [method, path, who, status, body] of cases) {
      const res = await call(t.url, path, { method, auth: authOf(who), body });
      assert.equal(res.status, status, `${method} ${path} as ${who}`);
      await res.body?.cancel();
    }
    // An outsider sees public projects only: the `library` project every registry starts with, never `priv`.
    const listed = await call(t.url, '/api/v2.0/projects', { auth: authOf('outsider') });
    assert.deepEqual((await listed.json() as Array<{ name: string }>).map((p) => p.name), ['library']);
  });

  test('robot accounts: scoped permissions, Basic and token use, no escalation, expiry', async () => {
    const created = await call(t.url, '/api/v2.0/robots', { method: 'POST', auth: authOf('projectAdmin'), body: {
      name: 'ci', duration: 30, permissions: [{ kind: 'project', namespace: 'priv', access: [{ resource: 'repository', action: 'pull' }, { resource: 'repository', action: 'push' }] }] } });
    assert.equal(created.status, 201);
    const robot = await created.json() as { id: number; name: string; secret: string; expires_at: number };
    assert.equal(robot.name, 'robot$priv+ci');
    const auth = basic(robot.name, robot.secret);
    const pull = await call(t.url, '/v2/priv/app/manifests/base', { auth });
    assert.equal(pull.status, 200);
    await pull.body?.cancel();
    assert.ok(await pushBlob(t.url, 'priv/robot', Buffer.from('robot blob'), auth));
    const del = await call(t.url, '/v2/priv/app/manifests/base', { method: 'DELETE', auth });
    assert.equal(del.status, 403);
    await del.body?.cancel();
    const tok = await getToken('repository:priv/app:pull,push,delete', auth);
    assert.deepEqual(tok.access![0].actions.sort(), ['pull', 'push']);
    const otherProject = await getToken('repository:other/app:pull', auth);
    assert.deepEqual(otherProject.access![0].actions, []);
    // Expire it behind the registry's back: an expired robot cannot authenticate any more.
    await execSql(t, 'UPDATE robots SET expires_at = ? WHERE id = ?', Math.floor(Date.now() / 1000) - 10, robot.id);
    const expired = await call(t.url, '/v2/priv/app/manifests/base', { auth });
    assert.equal(expired.status, 401);
    await expired.body?.cancel();
    assert.equal((await getToken('repository:priv/app:pull', auth)).status, 401);
    const gone = await call(t.url, `/api/v2.0/robots/${robot.id}`, { method: 'DELETE', auth: authOf('projectAdmin') });
    assert.equal(gone.status, 200);
  });

  test('public projects: anonymous pull through a token, never push', async () => {
    await createProject(t.url, 'pub', { public: true });
    await pushImage(t.url, 'pub/app', 'v1');
    const { token, access } = await getToken('repository:pub/app:pull,push');
    assert.deepEqual(access![0].actions, ['pull']);
    const pull = await call(t.url, '/v2/pub/app/manifests/v1', { auth: `Bearer ${token}` });
    assert.equal(pull.status, 200);
    await pull.body?.cancel();
    const direct = await call(t.url, '/v2/pub/app/manifests/v1');
    assert.equal(direct.status, 200);
    await direct.body?.cancel();
    const push = await call(t.url, '/v2/pub/app/blobs/uploads/', { method: 'POST', auth: `Bearer ${token}` });
    assert.equal(push.status, 401);
    await push.body?.cancel();
  });
});
