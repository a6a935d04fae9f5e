// Shared test helpers: a registry on a temp dir, HTTP shortcuts, and an OCI image built offline.
import { mkdtemp, rm, mkdir, writeFile, readFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { request as httpsRequest } from 'node:https';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { startRegistry, type RegistryOptions, type RunningRegistry } from '../../src/registry/index.ts';
import { sharedCluster } from './postgres.ts';

export const run = promisify(execFile);
export const ADMIN_PASSWORD = 'Admin12345';
export const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export type Backend = 'sqlite' | 'postgres';
/** Metadata backends the parameterised suites run against (BONNEVILLE_REGISTRY_TEST_BACKENDS=sqlite narrows it). */
export const BACKENDS: Backend[] = (process.env.BONNEVILLE_REGISTRY_TEST_BACKENDS?.split(',') ?? ['sqlite', 'postgres']) as Backend[];

export interface TestRegistry {
  registry: RunningRegistry; url: string; dir: string; logs: string[]; backend: Backend;
  /** The postgres:// URL of the registry's own database (postgres backend). */
  database?: string;
  stop(): Promise<void>;
}

/** A registry on a temp dir; with the postgres backend, on a fresh database of this file's shared cluster. */
export async function startTestRegistry(opts: Partial<RegistryOptions> = {}, backend: Backend = 'sqlite'): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-test-'));
  const logs: string[] = [];
  const database = backend === 'postgres' ? await (await sharedCluster()).createDatabase() : undefined;
  const registry = await startRegistry({
    root: join(dir, 'root'), listen: '127.0.0.1:0', insecureHttp: true, adminPassword: ADMIN_PASSWORD,
    log: (l) => logs.push(l), database, ...opts,
  });
  if (registry.caCertPath) trustedCas.set(registry.url, await readFile(registry.caCertPath));
  return {
    registry, url: registry.url, dir, logs, backend, database,
    stop: async () => { await registry.close(); await rm(dir, { recursive: true, force: true }); },
  };
}

/** Changes the registry's database behind its back (tests of expiry and the like); `?` placeholders. */
export async function execSql(t: TestRegistry, sql: string, ...args: (string | number)[]): Promise<void> {
  if (t.database) {
    const client = new pg.Client({ connectionString: t.database });
    await client.connect();
    let n = 0;
    try { await client.query(sql.replace(/\?/g, () => `$${++n}`), args); } finally { await client.end(); }
    return;
  }
  const db = new DatabaseSync(join(t.dir, 'root', 'registry.sqlite'));
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    db.prepare(sql).run(...args);
  } finally { db.close(); }
}

/** Reads the registry's database behind its back; `?` placeholders. */
export async function querySql(t: TestRegistry, sql: string, ...args: (string | number)[]): Promise<Record<string, unknown>[]> {
  if (t.database) {
    const client = new pg.Client({ connectionString: t.database });
    await client.connect();
    let n = 0;
    try { return (await client.query(sql.replace(/\?/g, () => `$${++n}`), args)).rows; } finally { await client.end(); }
  }
  const db = new DatabaseSync(join(t.dir, 'root', 'registry.sqlite'), { readOnly: true });
  try { return db.prepare(sql).all(...args) as Record<string, unknown>[]; } finally { db.close(); }
}

export const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
export const adminAuth = basic('admin', ADMIN_PASSWORD);

export interface CallOptions { auth?: string; body?: unknown; headers?: Record<string, string>; method?: string }

/** fetch against the registry; JSON bodies for objects, raw for Buffers/strings. */
export async function call(base: string, path: string, o: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.auth) headers.Authorization = o.auth;
  let body: string | Uint8Array | undefined;
  if (Buffer.isBuffer(o.body) || typeof o.body === 'string') body = o.body as string | Buffer;
  else if (o.body !== undefined) { body = JSON.stringify(o.body); headers['Content-Type'] ??= 'application/json'; }
  const ca = trustedCas.get(base);
  if (ca) return httpsCall(base + path, o.method ?? 'GET', headers, body, ca);
  return fetch(base + path, { method: o.method ?? 'GET', headers, body, redirect: 'manual' });
}

// fetch cannot be given a CA per request, so HTTPS registries are called through node:https.
const trustedCas = new Map<string, Buffer>();

function httpsCall(url: string, method: string, headers: Record<string, string>, body: string | Uint8Array | undefined, ca: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) for (const x of [v ?? []].flat()) h.append(k, String(x));
        const status = res.statusCode ?? 500;
        resolve(new Response([204, 304].includes(status) || method === 'HEAD' ? null : Buffer.concat(chunks), { status, headers: h }));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function errorCode(res: Response): Promise<string> {
  const body = await res.json() as { errors: { code: string; message: string }[] };
  if (!Array.isArray(body.errors) || typeof body.errors[0]?.code !== 'string') throw new Error(`not an error body: ${JSON.stringify(body)}`);
  return body.errors[0].code;
}

export async function createProject(base: string, name: string, opts: { public?: boolean; storageLimit?: number; auth?: string } = {}): Promise<number> {
  const res = await call(base, '/api/v2.0/projects', { method: 'POST', auth: opts.auth ?? adminAuth,
    body: { project_name: name, metadata: { public: String(opts.public ?? false) }, ...(opts.storageLimit !== undefined ? { storage_limit: opts.storageLimit } : {}) } });
  if (res.status !== 201) throw new Error(`create project ${name}: ${res.status} ${await res.text()}`);
  return Number(res.headers.get('location')!.split('/').pop());
}

export async function createUser(base: string, username: string, password = 'Passw0rdX'): Promise<number> {
  const res = await call(base, '/api/v2.0/users', { method: 'POST', auth: adminAuth, body: { username, password } });
  if (res.status !== 201) throw new Error(`create user ${username}: ${res.status} ${await res.text()}`);
  return Number(res.headers.get('location')!.split('/').pop());
}

export async function addMember(base: string, project: string, username: string, roleId: number): Promise<void> {
  const res = await call(base, `/api/v2.0/projects/${project}/members`, { method: 'POST', auth: adminAuth, body: { role_id: roleId, member_user: { username } } });
  if (res.status !== 201) throw new Error(`add member: ${res.status} ${await res.text()}`);
}

/** Monolithic POST+PUT upload; returns the digest. */
export async function pushBlob(base: string, name: string, data: Buffer, auth = adminAuth): Promise<string> {
  const digest = sha256(data);
  const start = await call(base, `/v2/${name}/blobs/uploads/`, { method: 'POST', auth });
  if (start.status !== 202) throw new Error(`start upload: ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get('location')!, base); // docker-registry answers with absolute URLs
  const loc = location.pathname + location.search;
  const put = await call(base, `${loc}${loc.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT', auth, body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`finish upload: ${put.status} ${await put.text()}`);
  return digest;
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Pushes a config + one layer + manifest; returns the manifest and its digest. */
export async function pushImage(base: string, name: string, tag: string, opts: { auth?: string; layer?: Buffer; extra?: object } = {}) {
  const auth = opts.auth ?? adminAuth;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, tag }));
  const layer = opts.layer ?? Buffer.from(`layer of ${name}:${tag}`);
  const configDigest = await pushBlob(base, name, config, auth);
  const layerDigest = await pushBlob(base, name, layer, auth);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    ...(opts.extra ?? {}),
  }));
  const res = await call(base, `/v2/${name}/manifests/${tag}`, { method: 'PUT', auth, body: manifest, headers: { 'Content-Type': OCI_MANIFEST } });
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
  return { manifest, digest: sha256(manifest), configDigest, layerDigest };
}

/**
 * Writes an OCI image layout holding one image: busybox-static as /bin/busybox (+ extra random
 * layers of `extraLayerBytes` each, for benchmarks). Built offline with node-tar.
 */
export async function makeOciLayout(dir: string, tag = 'latest', extraLayers: number[] = []): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (data: Buffer) => {
    const d = sha256(data);
    await writeFile(join(blobs, d.slice(7)), data);
    return d;
  };
  const rootfs = join(dir, '.rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  const layers: { digest: string; size: number; diffId: string }[] = [];
  const addLayer = async (cwd: string, entries: string[]) => {
    const file = join(dir, '.layer.tar.gz');
    await tar.create({ gzip: true, cwd, file, portable: true, mtime: new Date(0) }, entries);
    const gz = await readFile(file);
    const raw = gunzipSync(gz);
    layers.push({ digest: await put(gz), size: gz.length, diffId: sha256(raw) });
    await rm(file);
  };
  await addLayer(rootfs, ['bin']);
  for (const [i, bytes] of extraLayers.entries()) {
    const ldir = join(dir, `.extra${i}`);
    await mkdir(ldir, { recursive: true });
    await writeFile(join(ldir, `data${i}.bin`), randomBytes(bytes));
    await addLayer(ldir, [`data${i}.bin`]);
    await rm(ldir, { recursive: true });
  }
  await rm(rootfs, { recursive: true });
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/busybox', 'sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
  }));
  const configDigest = await put(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  }));
  const manifestDigest = await put(manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, manifests: [{ mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
}
