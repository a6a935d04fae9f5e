// kill -9 in the middle of pushes: after a restart no partial blob or manifest is visible.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminAuth as auth, BACKENDS, call, createProject, sha256 } from './helpers.ts';
import { sharedCluster, stopSharedCluster } from './postgres.ts';
import { kill9, spawnRegistry } from './processes.ts';

after(stopSharedCluster);

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

for (const backend of BACKENDS) test(`kill -9 during blob and manifest pushes leaves nothing visible (${backend})`, { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-crash-'));
  const root = join(dir, 'root');
  const args = backend === 'postgres' ? ['--database', await (await sharedCluster()).createDatabase()] : [];
  let reg = await spawnRegistry(root, args);
  try {
    await createProject(reg.url, 'crash');
    const blob = Buffer.alloc(8 * 1024 * 1024, 0xab);
    const digest = sha256(blob);
    const start = await call(reg.url, '/v2/crash/app/blobs/uploads/', { method: 'POST', auth });
    const loc = start.headers.get('location')!;
    // Send half of a monolithic PUT, then kill the registry with the request still open.
    const u = new URL(`${reg.url}${loc}?digest=${digest}`);
    const req = request(u, { method: 'PUT', headers: { Authorization: auth, 'Content-Length': String(blob.length) } });
    req.on('error', () => { /* the server dies mid-request */ });
    await new Promise<void>((r) => req.write(blob.subarray(0, blob.length / 2), () => r()));
    // And a single-POST upload of the same content, equally unfinished.
    const req2 = request(new URL(`${reg.url}/v2/crash/app/blobs/uploads/?digest=${digest}`), { method: 'POST', headers: { Authorization: auth, 'Content-Length': String(blob.length) } });
    req2.on('error', () => {});
    await new Promise<void>((r) => req2.write(blob.subarray(0, 1024 * 1024), () => r()));
    // And half of a manifest.
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
    const req3 = request(new URL(`${reg.url}/v2/crash/app/manifests/half`), { method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/vnd.oci.image.index.v1+json', 'Content-Length': String(manifest.length) } });
    req3.on('error', () => {});
    await new Promise<void>((r) => req3.write(manifest.subarray(0, 20), () => r()));
    await new Promise((r) => setTimeout(r, 300)); // let the server write what it received
    await kill9(reg.child);
    req.destroy(); req2.destroy(); req3.destroy();

    const blobFiles = await listFiles(join(root, 'blobs')).catch(() => []);
    assert.deepEqual(blobFiles, [], 'no blob file appeared');

    reg = await spawnRegistry(root, args);
    const head = await call(reg.url, `/v2/crash/app/blobs/${digest}`, { method: 'HEAD', auth });
    assert.equal(head.status, 404);
    assert.equal((await call(reg.url, '/v2/crash/app/manifests/half', { method: 'HEAD', auth })).status, 404);
    const tags = await call(reg.url, '/v2/crash/app/tags/list', { auth });
    assert.deepEqual((await tags.json() as any).tags, []);
    // The registry works normally after the crash, and the same blob can be pushed again.
    const retry = await call(reg.url, `/v2/crash/app/blobs/uploads/?digest=${digest}`, { method: 'POST', auth, body: blob });
    assert.equal(retry.status, 201);
    const got = await call(reg.url, `/v2/crash/app/blobs/${digest}`, { auth });
    assert.equal(sha256(Buffer.from(await got.arrayBuffer())), digest);
  } finally {
    await kill9(reg.child);
    await rm(dir, { recursive: true, force: true });
  }
});
