// Executions cut off by a crash: each records the process running it, processes keep a heartbeat
// in the database, and once a killed process's heartbeat goes stale its executions — and only
// its — are marked failed (by a live process periodically, by a new one at start-up), and the
// GC lease it held is free again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRegistry } from '../../src/registry/index.ts';
import { ADMIN_PASSWORD, adminAuth as auth, BACKENDS, call, createProject, execSql, querySql, type TestRegistry } from './helpers.ts';
import { sharedCluster, stopSharedCluster } from './postgres.ts';
import { kill9, spawnRegistry, type RegistryProcess } from './processes.ts';

after(stopSharedCluster);

/** A "registry" that accepts connections and never answers: replication from it hangs. */
async function tarpit(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => { sockets.add(s); s.on('error', () => {}); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }) };
}

async function created(base: string, path: string, body: unknown): Promise<number> {
  const res = await call(base, `/api/v2.0${path}`, { method: 'POST', auth, body });
  assert.equal(res.status, 201, await res.text());
  return Number(res.headers.get('location')!.split('/').pop());
}

for (const backend of BACKENDS) test(`kill -9 mid-execution: only the dead process's executions fail, its GC lease frees (${backend})`, { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-abandoned-'));
  const root = join(dir, 'root');
  const database = backend === 'postgres' ? await (await sharedCluster()).createDatabase() : undefined;
  const db = { dir, database } as TestRegistry; // enough for execSql/querySql
  const args = [...(database ? ['--database', database] : []), '--heartbeat-seconds', '0.2', '--stale-after-seconds', '1'];
  const pit = await tarpit();
  let a: RegistryProcess | null = null, b: RegistryProcess | null = null;
  try {
    a = await spawnRegistry(root, args);
    b = await spawnRegistry(root, args);
    const projectId = await createProject(a.url, 'mirror');
    const remote = await created(a.url, '/registries', { name: 'tarpit', type: 'docker-registry', url: pit.url, insecure: true });
    const policy = await created(a.url, '/replication/policies', { name: 'from-tarpit', src_registry: { id: remote }, dest_namespace: 'mirror' });
    const inA = await created(a.url, '/replication/executions', { policy_id: policy });
    const inB = await created(b.url, '/replication/executions', { policy_id: policy });
    const owners = await querySql(db, 'SELECT id, owner FROM replication_executions ORDER BY id');
    const [ownerA, ownerB] = owners.map((r) => String(r.owner));
    assert.notEqual(ownerA, ownerB);

    // Other kinds of execution each process might have had running, and the GC lease held by A.
    const retention = await created(a.url, '/retentions', { algorithm: 'or', rules: [], scope: { level: 'project', ref: projectId } });
    for (const owner of [ownerA, ownerB]) {
      await execSql(db, "INSERT INTO gc_runs (status, dry_run, started_at, owner) VALUES ('running', 0, ?, ?)", Date.now(), owner);
      await execSql(db, "INSERT INTO retention_executions (policy_id, dry_run, status, started_at, owner) VALUES (?, 0, 'Running', ?, ?)", retention, Date.now(), owner);
    }
    if (backend === 'sqlite') await execSql(db, 'INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)', 'garbage-collection', ownerA, Date.now() + 3600_000);
    const gc = () => call(b!.url, '/api/v2.0/system/gc/schedule', { method: 'POST', auth, body: { schedule: { type: 'Manual' } } });
    if (backend === 'sqlite') assert.equal((await gc()).status, 409, 'A holds the lease while alive');

    await kill9(a.child);
    const status = async (id: number) => ((await (await call(b!.url, `/api/v2.0/replication/executions/${id}`, { auth })).json()) as { status: string }).status;
    for (let i = 0; i < 500 && (await status(inA)) === 'InProgress'; i++) await sleep(20); // B notices once A's heartbeat is stale
    assert.equal(await status(inA), 'Failed');
    assert.equal(await status(inB), 'InProgress', 'the live process keeps its execution');
    const byOwner = async (table: string) => Object.fromEntries((await querySql(db, `SELECT owner, status FROM ${table}`)).map((r) => [r.owner, r.status]));
    assert.deepEqual(await byOwner('gc_runs'), { [ownerA]: 'failed', [ownerB]: 'running' });
    assert.deepEqual(await byOwner('retention_executions'), { [ownerA]: 'Failed', [ownerB]: 'Running' });
    const run = await gc();
    assert.equal(run.status, 201, 'the dead process no longer holds the GC lease');

    // B dies too; a process starting later (its clock past the bound) fails B's leftovers at once.
    await kill9(b.child);
    const c = await startRegistry({ root, database, listen: '127.0.0.1:0', insecureHttp: true, adminPassword: ADMIN_PASSWORD,
      clock: () => Date.now() + 60_000, scheduleCheckSeconds: 0, log: () => {} });
    try {
      const rows = await querySql(db, 'SELECT id, status FROM replication_executions WHERE id = ?', inB);
      assert.equal(rows[0].status, 'Failed');
      assert.deepEqual(await byOwner('retention_executions'), { [ownerA]: 'Failed', [ownerB]: 'Failed' });
    } finally {
      await c.close();
    }
  } finally {
    if (a) await kill9(a.child);
    if (b) await kill9(b.child);
    await pit.close();
    await rm(dir, { recursive: true, force: true });
  }
});
