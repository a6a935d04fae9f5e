// A throw-away PostgreSQL cluster from Debian's packages for the tests: initdb + pg_ctl under a
// temp dir, listening on 127.0.0.1:<free port> with a private socket dir, trust auth. One
// cluster per test file (sharedCluster), a fresh database per registry.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const exec = promisify(execFile);

/** Debian's server binaries (not whatever `initdb` is first on PATH). */
async function debianBinDir(): Promise<string> {
  try {
    const dir = (await exec('pg_config', ['--bindir'])).stdout.trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch { /* no pg_config */ }
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) return `/usr/lib/postgresql/${v}/bin`;
  throw new Error('PostgreSQL server binaries not found (apt-get install postgresql)');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

export interface PgCluster { createDatabase(): Promise<string>; stop(): Promise<void> }

export async function startPgCluster(): Promise<PgCluster> {
  const bin = await debianBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-pg-'));
  // initdb refuses to run as root: run the server as the postgres user then.
  let ids: { uid: number; gid: number } | {} = {};
  if (process.getuid?.() === 0) {
    ids = { uid: Number((await exec('id', ['-u', 'postgres'])).stdout), gid: Number((await exec('id', ['-g', 'postgres'])).stdout) };
    await chown(dir, (ids as { uid: number }).uid, (ids as { gid: number }).gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (tool: string, args: string[]) => exec(join(bin, tool), args, { ...ids, cwd: dir, timeout: 60_000 });
  try {
    await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await run('pg_ctl', ['start', '-w', '-D', data, '-l', join(dir, 'server.log'),
      '-o', `-F -k ${dir} -h 127.0.0.1 -p ${port} -c max_connections=200`]);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  let n = 0;
  return {
    async createDatabase() {
      const name = `registry_${++n}`;
      const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      await admin.connect();
      try { await admin.query(`CREATE DATABASE ${name}`); } finally { await admin.end(); }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await run('pg_ctl', ['stop', '-w', '-m', 'immediate', '-D', data]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<PgCluster> | null = null;

/** The cluster of this test file, started on first use; stop it with stopSharedCluster in after(). */
export function sharedCluster(): Promise<PgCluster> {
  shared ??= startPgCluster();
  return shared;
}

export async function stopSharedCluster(): Promise<void> {
  if (!shared) return;
  const c = shared;
  shared = null;
  await (await c).stop();
}
