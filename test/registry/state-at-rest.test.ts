// Secrets and state at rest: the generated admin password goes to a 0600 file (never to stdout or
// a log), every file under the registry root but the public certificates is unreadable to other
// users, and webhook Authorization headers are sealed in the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdir, readFile, stat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basic, call, createProject, pushBlob, startTestRegistry } from './helpers.ts';

const exec = promisify(execFile);

async function walk(dir: string): Promise<{ path: string; dir: boolean }[]> {
  const out: { path: string; dir: boolean }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    out.push({ path, dir: e.isDirectory() });
    if (e.isDirectory()) out.push(...await walk(path));
  }
  return out;
}

/** Whether the nobody user can read a file (null when this test cannot switch users). */
async function nobodyCanRead(path: string): Promise<boolean | null> {
  if (process.getuid?.() !== 0) return null;
  try { await exec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', path]); return true; } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return false;
  }
}

test('registry state is private; the generated admin password is in a 0600 file; webhook auth headers are sealed', async () => {
  const t = await startTestRegistry({ adminPassword: undefined, insecureHttp: false, allowInternalWebhooks: true });
  let closed = false;
  try {
    const password = t.registry.generatedAdminPassword!;
    assert.ok(password);
    const file = join(t.dir, 'root', 'admin.password');
    assert.equal(t.registry.adminPasswordFile, file);
    assert.equal((await readFile(file, 'utf8')).trim(), password);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!t.logs.some((l) => l.includes(password)), 'the password is in no log line');

    const auth = basic('admin', password);
    await createProject(t.url, 'private-stuff', { auth });
    await pushBlob(t.url, 'private-stuff/app', Buffer.from('a private layer'), auth);
    const headerValue = 'Bearer webhook-secret-7c1e9a';
    const hook = await call(t.url, '/api/v2.0/projects/private-stuff/webhook/policies', { method: 'POST', auth,
      body: { name: 'h', event_types: ['DELETE_TAG'], targets: [{ type: 'http', address: 'http://127.0.0.1:9/', auth_header: headerValue }] } });
    assert.equal(hook.status, 201, await hook.text());
    await t.registry.close(); // checkpoint: everything is on disk now
    closed = true;

    const entries = await walk(join(t.dir, 'root'));
    assert.ok(entries.some((e) => e.path.includes('blobs')), 'a blob was stored');
    for (const e of [{ path: join(t.dir, 'root'), dir: true }, ...entries]) {
      if (e.path.endsWith('.crt')) continue; // public certificates
      const mode = (await stat(e.path)).mode & 0o777;
      assert.equal(mode & 0o077, 0, `${e.path} has mode ${mode.toString(8)}`);
      if (!e.dir) assert.notEqual(await nobodyCanRead(e.path), true, `nobody can read ${e.path}`);
    }
    const dbBytes = Buffer.concat(await Promise.all(entries.filter((e) => /registry\.sqlite/.test(e.path)).map((e) => readFile(e.path))));
    assert.ok(dbBytes.length > 0);
    assert.equal(dbBytes.indexOf(headerValue), -1, 'the webhook header is not stored in clear');
    assert.equal(dbBytes.indexOf('webhook-secret-7c1e9a'), -1);
  } finally {
    if (!closed) await t.registry.close();
    await rm(t.dir, { recursive: true, force: true });
  }
});

test('`registry serve` prints where the generated password is, not the password', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-cli-'));
  const child = spawn(process.execPath, ['src/registry/main.ts', '--root', join(dir, 'root'), '--listen', '127.0.0.1:0', '--insecure-http'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => { out += d; if (out.includes('admin password')) resolve(); });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const password = (await readFile(join(dir, 'root', 'admin.password'), 'utf8')).trim();
    assert.ok(password.length >= 16);
    assert.ok(!out.includes(password), out);
    assert.match(out, /admin password \(generated\) in: .*admin\.password/);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
});
