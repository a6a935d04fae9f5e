// Issue 3's hostile registries: a corrupted blob, a manifest promising the wrong size, a layer that
// climbs out with ../, a registry that stalls mid-blob, and kill -9 of the engine during a pull.
// Every failure is a clear error, and the store shows no broken image afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, openSync, writeSync, closeSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { TestVch } from '../helpers/vch.ts';
import { buildTestImages } from '../fixtures/images.ts';
import { TestRegistry, freePort, skopeoCopy, skopeoRawManifest, rawPushBlob, rawPushManifest, sha256 } from './peers.ts';

const vch = new TestVch('hostile');
const registry = new TestRegistry();
const work = mkdtempSync(join(tmpdir(), 'bonneville-hostile-'));
let images: Awaited<ReturnType<typeof buildTestImages>>;
let stall: StallingRegistry;

before(async () => {
  images = await buildTestImages();
  await registry.start();
  stall = new StallingRegistry(registry);
  await stall.start();
  mkdirSync(vch.datastore, { recursive: true });
  setRegistries({ stallTimeoutSeconds: 2 });
  await vch.start();
});

after(async () => {
  await vch.destroy();
  await stall.stop();
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
});

function setRegistries(extra: Record<string, unknown>): void {
  writeFileSync(join(vch.datastore, 'registries.json'), JSON.stringify({ insecureRegistries: [registry.host, stall.host], ...extra }));
}

/** Proxies the real registry, but blobs it is told to stall get half their bytes and then silence. */
class StallingRegistry {
  private server?: Server;
  port = 0;
  stalling = true;
  blobRequests = 0;
  private readonly upstream: TestRegistry;

  constructor(upstream: TestRegistry) {
    this.upstream = upstream;
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.server = createServer(async (req, res) => {
      const upstream = await fetch(`${this.upstream.url}${req.url}`, { method: req.method, headers: { Accept: String(req.headers.accept ?? '*/*') } });
      const body = Buffer.from(await upstream.arrayBuffer());
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'docker-content-digest']) {
        const value = upstream.headers.get(name);
        if (value) headers[name] = value;
      }
      const isLayer = /\/blobs\/sha256:/.test(req.url ?? '') && body.length > 100_000;
      if (isLayer) this.blobRequests++;
      res.writeHead(upstream.status, { ...headers, 'content-length': String(body.length) });
      if (req.method === 'HEAD') return void res.end();
      if (isLayer && this.stalling) {
        res.write(body.subarray(0, body.length >> 1)); // …and nothing more, ever
        return;
      }
      res.end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

function storeTmpEntries(): string[] {
  return readdirSync(join(vch.datastore, 'images', 'tmp'));
}

async function listed(): Promise<string> {
  const result = await vch.docker(['images', '--format', '{{.Repository}}:{{.Tag}}']);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

/** An image of one layer holding 2 MB of random bytes (so no earlier pull has its layer). */
async function pushRandomImage(repository: string, tag: string): Promise<void> {
  const content = randomBytes(2 * 1024 * 1024);
  const header = Buffer.alloc(512);
  new Header({ path: 'random.bin', mode: 0o644, size: content.length, mtime: new Date(0), type: 'File', uid: 0, gid: 0 }).encode(header, 0);
  const tar = Buffer.concat([header, content, Buffer.alloc(1024)]);
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] }, config: {} }));
  await rawPushBlob(registry.url, repository, layer);
  await rawPushBlob(registry.url, repository, config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) }],
  }));
  await rawPushManifest(registry.url, repository, tag, manifest, 'application/vnd.docker.distribution.manifest.v2+json');
}

test('a corrupted blob in the registry is refused with a clear error and leaves nothing behind', async () => {
  await skopeoCopy(`docker-archive:${images.busybox}`, `docker://${registry.host}/corrupt:latest`);
  const manifest = JSON.parse((await skopeoRawManifest(`docker://${registry.host}/corrupt:latest`)).toString());
  const blob = registry.blobFile(manifest.layers[0].digest);
  const original = readFileSync(blob);
  const fd = openSync(blob, 'r+');
  writeSync(fd, Buffer.from('corrupted!'), 0, 10, 4096); // same size, different bytes
  closeSync(fd);
  try {
    const pull = await vch.docker(['pull', `${registry.host}/corrupt:latest`]);
    assert.notEqual(pull.code, 0);
    assert.match(pull.stderr, /verification failed for digest sha256:[0-9a-f]{64}/);
    assert.doesNotMatch(await listed(), /corrupt/);
    assert.deepEqual(storeTmpEntries(), []);
  } finally {
    writeFileSync(blob, original);
  }
  const repaired = await vch.docker(['pull', `${registry.host}/corrupt:latest`]);
  assert.equal(repaired.code, 0, repaired.stderr);
});

test('a manifest whose layer size is wrong, and a layer escaping with ../, are refused', async () => {
  const base = registry.url;
  // A layer tarball with an entry "../escape".
  const content = Buffer.from('outside!\n');
  const header = Buffer.alloc(512);
  new Header({ path: '../escape', mode: 0o644, size: content.length, mtime: new Date(0), type: 'File', uid: 0, gid: 0 }).encode(header, 0);
  const tar = Buffer.concat([header, content, Buffer.alloc(512 - content.length), Buffer.alloc(1024)]);
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] }, config: {} }));
  await rawPushBlob(base, 'evil', layer);
  await rawPushBlob(base, 'evil', config);
  const manifest = (size: number) => Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size, digest: sha256(layer) }],
  }));
  await rawPushManifest(base, 'evil', 'short', manifest(layer.length - 10), 'application/vnd.docker.distribution.manifest.v2+json');
  await rawPushManifest(base, 'evil', 'escape', manifest(layer.length), 'application/vnd.docker.distribution.manifest.v2+json');

  const short = await vch.docker(['pull', `${registry.host}/evil:short`]);
  assert.notEqual(short.code, 0);
  assert.match(short.stderr, /larger than the \d+ bytes its manifest promises/);
  const escape = await vch.docker(['pull', `${registry.host}/evil:escape`]);
  assert.notEqual(escape.code, 0);
  assert.match(escape.stderr, /points outside the layer/);
  assert.doesNotMatch(await listed(), /evil/);
  assert.deepEqual(storeTmpEntries(), []);
  const unknown = await vch.docker(['pull', `${registry.host}/evil:nope`]);
  assert.match(unknown.stderr, /manifest for .*evil:nope not found: manifest unknown/);
  const noRepo = await vch.docker(['pull', `${registry.host}/nothing-here:latest`]);
  assert.match(noRepo.stderr, /not found|pull access denied|does not exist/);
});

test('a registry that stalls mid-blob fails the pull with a clear timeout', async () => {
  await pushRandomImage('stalled', 'latest');
  stall.stalling = true;
  const pull = await vch.docker(['pull', `${stall.host}/stalled:latest`], { timeoutMs: 60_000 });
  assert.notEqual(pull.code, 0);
  assert.match(pull.stderr, /sent nothing for 2s/);
  assert.doesNotMatch(await listed(), /stalled/);
  assert.deepEqual(storeTmpEntries(), []);
});

test('kill -9 of the engine during a pull: no broken image after restart, and the pull completes', async () => {
  setRegistries({ stallTimeoutSeconds: 600 });
  stall.stalling = true;
  stall.blobRequests = 0;
  const pulling = vch.docker(['pull', `${stall.host}/stalled:latest`], { timeoutMs: 120_000 });
  const deadline = Date.now() + 30_000;
  while (stall.blobRequests === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(stall.blobRequests > 0, 'the pull reached the layer download');
  await vch.killEngine();
  const interrupted = await pulling;
  assert.notEqual(interrupted.code, 0);
  await vch.start();
  assert.doesNotMatch(await listed(), /stalled/);
  assert.deepEqual(storeTmpEntries(), [], 'the restart swept the half-done pull');
  stall.stalling = false;
  const again = await vch.docker(['pull', `${stall.host}/stalled:latest`]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(await listed(), /stalled:latest/);
});
