// Replication against Debian's docker-registry (Basic auth) in both directions, manual and
// on-push, with name/tag filters; and against a second Bonneville registry (token auth) with an
// index. Digests and bytes must come out identical.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminAuth as auth, basic, BACKENDS, call, createProject, createUser, OCI_INDEX, OCI_MANIFEST, pushImage, querySql, sha256, startTestRegistry, type TestRegistry } from './helpers.ts';
import { stopSharedCluster } from './postgres.ts';
import { startDockerRegistry, type DockerRegistry } from './docker-registry.ts';

after(stopSharedCluster);

const remoteAuth = basic('mirror', 'mirror-secret');
const accept = [OCI_MANIFEST, OCI_INDEX].join(', ');

async function manifestAt(base: string, repo: string, ref: string, authHeader: string): Promise<{ status: number; digest: string | null; body: Buffer }> {
  const res = await call(base, `/v2/${repo}/manifests/${ref}`, { auth: authHeader, headers: { Accept: accept } });
  return { status: res.status, digest: res.headers.get('docker-content-digest'), body: Buffer.from(await res.arrayBuffer()) };
}

async function blobAt(base: string, repo: string, digest: string, authHeader: string): Promise<Buffer> {
  const res = await call(base, `/v2/${repo}/blobs/${digest}`, { auth: authHeader });
  assert.equal(res.status, 200, `${repo}@${digest} at ${base}`);
  return Buffer.from(await res.arrayBuffer());
}

for (const backend of BACKENDS) describe(`replication (${backend})`, () => {
  let t: TestRegistry, remote: DockerRegistry, remoteId: number;

  const post = async (path: string, body: unknown): Promise<number> => {
    const res = await call(t.url, `/api/v2.0${path}`, { method: 'POST', auth, body });
    assert.equal(res.status, 201, await res.text());
    return Number(res.headers.get('location')!.split('/').pop());
  };
  const waitExecution = async (base: string, id: number) => {
    for (let i = 0; i < 600; i++) {
      const e = await (await call(base, `/api/v2.0/replication/executions/${id}`, { auth })).json() as any;
      if (e.status !== 'InProgress') return e;
      await sleep(50);
    }
    throw new Error(`execution ${id} did not finish`);
  };
  const runPolicy = async (policyId: number) => waitExecution(t.url, await post('/replication/executions', { policy_id: policyId }));

  before(async () => {
    [t, remote] = await Promise.all([startTestRegistry({}, backend), startDockerRegistry({ user: 'mirror', password: 'mirror-secret' })]);
    await createProject(t.url, 'rep');
    remoteId = await post('/registries', { name: 'docker-registry', type: 'docker-registry', url: remote.url,
      credential: { type: 'basic', access_key: 'mirror', access_secret: 'mirror-secret' }, insecure: false });
  });
  after(async () => { await t?.stop(); await remote?.stop(); });

  test('registries: secrets are never shown; ping reaches the remote; only admins manage them', async () => {
    const list = await (await call(t.url, '/api/v2.0/registries', { auth })).json() as any[];
    assert.deepEqual(list.map((r) => [r.name, r.credential.access_secret]), [['docker-registry', '*****']]);
    assert.equal((await call(t.url, '/api/v2.0/registries/ping', { method: 'POST', auth, body: { id: remoteId } })).status, 200);
    // The ping above used the password; the database holds it sealed only.
    const [row] = await querySql(t, 'SELECT access_secret FROM remote_registries WHERE id = ?', remoteId);
    assert.match(String(row.access_secret), /^enc:v1:/);
    assert.ok(!String(row.access_secret).includes('mirror-secret'));
    const bad = await call(t.url, '/api/v2.0/registries/ping', { method: 'POST', auth, body: { url: remote.url, credential: { access_key: 'mirror', access_secret: 'wrong' } } });
    assert.equal(bad.status, 400);
    await createUser(t.url, 'plainuser');
    const denied = await call(t.url, '/api/v2.0/registries', { auth: basic('plainuser', 'Passw0rdX') });
    assert.equal(denied.status, 403);
    const both = await call(t.url, '/api/v2.0/replication/policies', { method: 'POST', auth, body: { name: 'x', filters: [] } });
    assert.equal(both.status, 400, 'a policy needs exactly one remote side');
  });

  test('push-based, manual: name and tag filters select what is copied, byte-identical, under dest_namespace', async () => {
    const v1 = await pushImage(t.url, 'rep/app', 'v1');
    const v2 = await pushImage(t.url, 'rep/app', 'v2', { layer: Buffer.alloc(300_000, 9) });
    await pushImage(t.url, 'rep/app', 'latest', { layer: Buffer.from('not matched by v*') });
    await pushImage(t.url, 'rep/other', 'v1', { layer: Buffer.from('other repository') });
    const policy = await post('/replication/policies', { name: 'to-mirror', dest_registry: { id: remoteId }, dest_namespace: 'mirror',
      filters: [{ type: 'name', value: 'rep/app' }, { type: 'tag', value: 'v*' }], trigger: { type: 'manual' } });
    const exec = await runPolicy(policy);
    assert.equal(exec.status, 'Succeed');
    assert.equal(exec.total, 2);
    for (const [tag, img] of [['v1', v1], ['v2', v2]] as const) {
      const m = await manifestAt(remote.url, 'mirror/app', tag, remoteAuth);
      assert.equal(m.status, 200);
      assert.equal(m.digest, img.digest);
      assert.deepEqual(m.body, img.manifest);
      assert.equal(sha256(await blobAt(remote.url, 'mirror/app', img.layerDigest, remoteAuth)), img.layerDigest);
    }
    assert.equal((await manifestAt(remote.url, 'mirror/app', 'latest', remoteAuth)).status, 404);
    assert.equal((await manifestAt(remote.url, 'mirror/other', 'v1', remoteAuth)).status, 404);
    const tasks = await (await call(t.url, `/api/v2.0/replication/executions/${exec.id}/tasks`, { auth })).json() as any[];
    assert.deepEqual(tasks.map((x) => [x.src_resource, x.dst_resource, x.status]).sort(),
      [['rep/app:v1', 'mirror/app:v1', 'Succeed'], ['rep/app:v2', 'mirror/app:v2', 'Succeed']]);
    const again = await runPolicy(policy);
    assert.equal(again.status, 'Succeed', 'a second run finds everything in place');
  });

  test('push-based, on push: each matching push is replicated', async () => {
    await post('/replication/policies', { name: 'on-push', dest_registry: { id: remoteId },
      filters: [{ type: 'name', value: 'rep/live*' }], trigger: { type: 'event_based' } });
    const img = await pushImage(t.url, 'rep/live', 'v7', { layer: Buffer.from('pushed live') });
    let m = await manifestAt(remote.url, 'rep/live', 'v7', remoteAuth);
    for (let i = 0; i < 600 && m.status !== 200; i++) { await sleep(50); m = await manifestAt(remote.url, 'rep/live', 'v7', remoteAuth); }
    assert.equal(m.digest, img.digest);
    const execs = await (await call(t.url, '/api/v2.0/replication/executions', { auth })).json() as any[];
    assert.ok(execs.some((e) => e.trigger === 'event_based'));
  });

  test('pull-based, manual: images of the remote are copied into a local project', async () => {
    const up = await pushImage(remote.url, 'upstream/tool', '1.0', { auth: remoteAuth, layer: Buffer.alloc(100_000, 5) });
    await pushImage(remote.url, 'elsewhere/tool', '1.0', { auth: remoteAuth });
    await createProject(t.url, 'pulled');
    const policy = await post('/replication/policies', { name: 'from-mirror', src_registry: { id: remoteId }, dest_namespace: 'pulled',
      filters: [{ type: 'name', value: 'upstream/**' }], trigger: { type: 'manual' } });
    const exec = await runPolicy(policy);
    assert.equal(exec.status, 'Succeed', JSON.stringify(exec));
    const m = await manifestAt(t.url, 'pulled/tool', '1.0', auth);
    assert.equal(m.digest, up.digest);
    assert.deepEqual(m.body, up.manifest);
    assert.equal(sha256(await blobAt(t.url, 'pulled/tool', up.layerDigest, auth)), up.layerDigest);
    const tags = await (await call(t.url, '/v2/pulled/tool/tags/list', { auth })).json() as any;
    assert.deepEqual(tags.tags, ['1.0']);
  });

  test('push-based to a registry with token auth, including an index and its children', async () => {
    const other = await startTestRegistry({}, backend);
    try {
      await createProject(other.url, 'dst');
      const a = await pushImage(t.url, 'rep/multi', 'amd64', { layer: Buffer.from('amd64 layer') });
      const b = await pushImage(t.url, 'rep/multi', 'arm64', { layer: Buffer.from('arm64 layer') });
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [
        { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: OCI_MANIFEST, digest: b.digest, size: b.manifest.length, platform: { architecture: 'arm64', os: 'linux' } }] }));
      assert.equal((await call(t.url, '/v2/rep/multi/manifests/all', { method: 'PUT', auth, body: index, headers: { 'Content-Type': OCI_INDEX } })).status, 201);
      const regId = await post('/registries', { name: 'bonneville-b', type: 'harbor', url: other.url,
        credential: { type: 'basic', access_key: 'admin', access_secret: 'Admin12345' } });
      const policy = await post('/replication/policies', { name: 'to-b', dest_registry: { id: regId }, dest_namespace: 'dst',
        filters: [{ type: 'name', value: 'rep/multi' }, { type: 'tag', value: 'all' }] });
      const exec = await runPolicy(policy);
      assert.equal(exec.status, 'Succeed', JSON.stringify(exec));
      const m = await manifestAt(other.url, 'dst/multi', 'all', auth);
      assert.equal(m.digest, sha256(index));
      for (const img of [a, b]) {
        assert.equal((await manifestAt(other.url, 'dst/multi', img.digest, auth)).digest, img.digest);
        assert.equal(sha256(await blobAt(other.url, 'dst/multi', img.layerDigest, auth)), img.layerDigest);
      }
    } finally { await other.stop(); }
  });
});
