// A VCH whose stderr goes to <datastore>/engine.log (as scripts/up.sh starts it), with the operator's
// own password file: the admin page follows that file (earlier runs' lines included), bundles it,
// and takes the given password. No container is started here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, closeSync, writeFileSync, appendFileSync, readFileSync, existsSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { list as listTar } from 'tar';
import { repoRoot } from '../helpers/vch.ts';

function get(url: string, options: { ca: Buffer; cert?: Buffer; key?: Buffer; headers?: Record<string, string>; method?: string; body?: string },
  onData?: (text: string) => boolean): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', ca: options.ca, cert: options.cert, key: options.key, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => {
        chunks.push(d);
        // A stream that never ends is cut once the caller has seen enough.
        if (onData?.(Buffer.concat(chunks).toString('utf8'))) res.destroy();
      });
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

test('the engine log file is followed and bundled; --admin-password-file is the password', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-vicadmin-file-'));
  const datastore = join(dir, 'datastore');
  mkdirSync(datastore, { mode: 0o700 });
  const logFile = join(datastore, 'engine.log');
  writeFileSync(logFile, 'a line from an earlier run\n', { mode: 0o600 });
  const passwordFile = join(dir, 'operator.password');
  writeFileSync(passwordFile, 'operator-chosen-secret\n', { mode: 0o600 });
  const fd = openSync(logFile, 'a');
  const engine = spawn(join(repoRoot, 'node_modules/.bin/node'), [join(repoRoot, 'src/cli/bonneville.ts'), 'vch', 'serve', '--name', 'logfile',
    '--datastore', datastore, '--socket', join(dir, 'docker.sock'), '--no-instant-clone',
    '--admin-listen', '127.0.0.1:0', '--admin-password-file', passwordFile], { stdio: ['ignore', fd, fd], env: { ...process.env, BONNEVILLE_NETWORKS: '0' } });
  closeSync(fd);
  try {
    const endpoints = join(datastore, 'endpoints.json');
    const deadline = Date.now() + 60_000;
    while (!existsSync(endpoints) || !readFileSync(endpoints, 'utf8').includes('admin')) {
      assert.equal(engine.exitCode, null, readFileSync(logFile, 'utf8'));
      assert.ok(Date.now() < deadline, 'no admin endpoint within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const url = (JSON.parse(readFileSync(endpoints, 'utf8')) as { admin: string }).admin;
    const ca = readFileSync(join(datastore, 'certs/ca.pem'));
    assert.ok(!existsSync(join(datastore, 'admin.password')), 'a given password file replaces the generated one');
    // No TLS listener here: the page has a server certificate of its own, from the VCH's CA.
    assert.ok(existsSync(join(datastore, 'certs/admin-cert.pem')));

    const form = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: url.replace(/\/$/, '') };
    const login = await get(url + 'login', { ca, method: 'POST', headers: form, body: 'password=operator-chosen-secret' });
    assert.equal(login.status, 303);
    const cookie = String(login.headers['set-cookie']).split(';')[0];

    // The live log: the file's earlier lines, this run's, then a line appended while we listen.
    let appended = false;
    const stream = await get(url + 'api/logs/engine', { ca, headers: { Cookie: cookie } }, (text) => {
      if (!appended && text.includes('admin page on')) {
        appended = true;
        appendFileSync(logFile, 'appended while followed\n');
      }
      return text.includes('appended while followed');
    });
    const text = stream.body.toString('utf8');
    assert.equal(stream.status, 200);
    assert.ok(text.includes('a line from an earlier run'), text);
    assert.ok(text.includes('appended while followed'), text);
    assert.ok(!readFileSync(logFile, 'utf8').includes('operator-chosen-secret'));

    const bundle = await get(url + 'bundle', { ca, headers: { Cookie: cookie } });
    assert.equal(bundle.status, 200);
    const saved = join(dir, 'bundle.tar.gz');
    writeFileSync(saved, bundle.body);
    const names: string[] = [];
    await listTar({ file: saved, onReadEntry: (e) => { names.push(e.path.split('/').slice(1).join('/')); e.resume(); } });
    assert.ok(names.includes('engine.log'), names.join(' '));
    // The file is the whole log: no second copy from memory.
    assert.ok(!names.includes('engine-recent.log'), names.join(' '));
  } finally {
    if (engine.exitCode === null && engine.signalCode === null) {
      const gone = new Promise((r) => engine.once('exit', r));
      engine.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a malformed --admin-listen or a readable password file stops vch serve before the engine starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-vicadmin-flags-'));
  try {
    const loose = join(dir, 'loose.password');
    writeFileSync(loose, 'readable-by-everyone\n', { mode: 0o644 });
    chmodSync(loose, 0o644);
    for (const [args, message] of [[['--admin-listen', 'no-port-here'], /--admin-listen wants HOST:PORT/], [['--admin-listen', '127.0.0.1:0', '--admin-password-file', loose], /chmod 600/]] as const) {
      const socket = join(dir, 'docker.sock');
      const run = spawnSync(join(repoRoot, 'node_modules/.bin/node'), [join(repoRoot, 'src/cli/bonneville.ts'), 'vch', 'serve', '--name', 'flags',
        '--datastore', join(dir, 'datastore'), '--socket', socket, ...args], { encoding: 'utf8', timeout: 60_000 });
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, message);
      assert.ok(!existsSync(socket), 'the engine started anyway');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
