// The admin page's parts that need no VCH: cgroup limits from v1 and v2 trees, following a log file
// that grows and is truncated, the in-memory engine log, sessions, the login throttle, and the
// clean-up of log text before it reaches the page.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, appendFileSync, rmSync, truncateSync, statSync, readFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCgroupLimits } from '../../src/vicadmin/cgroup-limits.ts';
import { readTail, followFile } from '../../src/vicadmin/file-follow.ts';
import { LogRing } from '../../src/vicadmin/log-ring.ts';
import { LoginThrottle, Sessions, loadAdminPassword, passwordMatches } from '../../src/vicadmin/auth.ts';
import { printable } from '../../src/vicadmin/server.ts';
import { escapeHtml } from '../../src/vicadmin/pages.ts';
import { configuredRegistries, probeRegistry } from '../../src/vicadmin/registry-probe.ts';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';

const work = mkdtempSync(join(tmpdir(), 'bonneville-vicadmin-parts-'));
after(() => rmSync(work, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('cgroup limits', () => {
  test('v2: the tightest of the group and its ancestors; "max" is no limit', () => {
    const root = tree(join(work, 'v2'), {
      'cgroup.procs': '', 'memory.max': 'max', 'cpu.max': 'max 100000',
      'vch/cgroup.procs': '', 'vch/memory.max': '2147483648', 'vch/cpu.max': 'max 100000',
      'vch/engine/cgroup.procs': '', 'vch/engine/memory.max': 'max', 'vch/engine/cpu.max': '150000 100000',
    });
    assert.deepEqual(readCgroupLimits({ selfCgroup: '0::/vch/engine\n', root }), { version: 'v2', path: '/vch/engine', memoryBytes: 2147483648, cpus: 1.5 });
    assert.deepEqual(readCgroupLimits({ selfCgroup: '0::/\n', root }), { version: 'v2', path: '/', memoryBytes: undefined, cpus: undefined });
  });

  test('v1: memory.limit_in_bytes and the CFS quota; the huge default is no limit', () => {
    const root = tree(join(work, 'v1'), {
      'memory/cgroup.procs': '', 'memory/memory.limit_in_bytes': '9223372036854771712',
      'memory/box/cgroup.procs': '', 'memory/box/memory.limit_in_bytes': '536870912',
      'cpu,cpuacct/cgroup.procs': '', 'cpu,cpuacct/cpu.cfs_quota_us': '-1', 'cpu,cpuacct/cpu.cfs_period_us': '100000',
      'cpu,cpuacct/box/cgroup.procs': '', 'cpu,cpuacct/box/cpu.cfs_quota_us': '50000', 'cpu,cpuacct/box/cpu.cfs_period_us': '100000',
    });
    const self = '12:pids:/box\n4:memory:/box\n2:cpu,cpuacct:/box\n0::/\n';
    assert.deepEqual(readCgroupLimits({ selfCgroup: self, root }), { version: 'v1', path: '/box', memoryBytes: 536870912, cpus: 0.5 });
    assert.deepEqual(readCgroupLimits({ selfCgroup: '4:memory:/\n2:cpu,cpuacct:/\n', root }), { version: 'v1', path: '/', memoryBytes: undefined, cpus: undefined });
  });

  test('inside a cgroup namespace the mount is the group itself', () => {
    const root = tree(join(work, 'ns'), { 'cgroup.procs': '', 'memory.max': '1073741824', 'cpu.max': '200000 100000' });
    assert.deepEqual(readCgroupLimits({ selfCgroup: '0::/not/visible/here\n', root }), { version: 'v2', path: '/not/visible/here', memoryBytes: 1073741824, cpus: 2 });
  });

  test('no cgroup information at all', () => {
    assert.deepEqual(readCgroupLimits({ selfCgroup: '', root: join(work, 'nothing') }), { version: 'none' });
  });
});

describe('log following', () => {
  test('the tail starts at a line; what is appended follows, and a truncated file is read again', async () => {
    const file = join(work, 'follow.log');
    writeFileSync(file, 'x'.repeat(100) + '\nline one\nline two\n');
    const tail = await readTail(file, 20);
    assert.equal(tail.text, 'line one\nline two\n');
    assert.equal(tail.end, statSync(file).size);
    let seen = '';
    const abort = new AbortController();
    followFile(file, tail.end, (t) => { seen += t; }, abort.signal);
    try {
      appendFileSync(file, 'line three ✓\n');
      await until(() => seen.includes('line three ✓\n'));
      truncateSync(file, 0);
      appendFileSync(file, 'after truncation\n');
      await until(() => seen.includes('after truncation\n'));
      assert.equal(seen, 'line three ✓\nafter truncation\n');
    } finally {
      abort.abort();
    }
    assert.deepEqual(await readTail(join(work, 'missing.log'), 100), { text: '', end: 0 });
  });

  test('the in-memory log keeps its newest part and tells subscribers', () => {
    const ring = new LogRing(20);
    const heard: string[] = [];
    const stop = ring.subscribe((t) => heard.push(t));
    ring.append('0123456789\n');
    ring.append('abcdefghij\n');
    stop();
    ring.append('KLMNOPQRS\n');
    assert.equal(ring.text(), 'KLMNOPQRS\n');
    assert.deepEqual(heard, ['0123456789\n', 'abcdefghij\n']);
  });

  test('terminal escapes and control characters never reach the page; HTML is escaped', () => {
    assert.equal(printable('\x1b[1;32mOK\x1b[0m\r\nbell\x07 tab\tend\n'), 'OK\nbell tab\tend\n');
    assert.equal(escapeHtml(`<script>alert("x")</script>&'`), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
  });
});

describe('sign-in', () => {
  test('the password file: made once, 0600, kept; a given file must be private', () => {
    const file = join(work, 'admin.password');
    const first = loadAdminPassword(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(loadAdminPassword(file).password, first.password);
    assert.equal(readFileSync(file, 'utf8').trim(), first.password);
    const given = join(work, 'given.password');
    writeFileSync(given, 'correct horse battery\n', { mode: 0o644 });
    chmodSync(given, 0o644);
    assert.throws(() => loadAdminPassword(file, given), /chmod 600/);
    chmodSync(given, 0o600);
    assert.equal(loadAdminPassword(file, given).password, 'correct horse battery');
    writeFileSync(given, 'short');
    assert.throws(() => loadAdminPassword(file, given), /at least 8/);
    assert.ok(passwordMatches('secret-one', 'secret-one'));
    assert.ok(!passwordMatches('secret-one', 'secret-one '));
  });

  test('sessions: only issued tokens, gone after logout', () => {
    const sessions = new Sessions();
    const token = sessions.create();
    assert.ok(sessions.check(token));
    assert.ok(!sessions.check(token + 'x'));
    assert.ok(!sessions.check(undefined));
    sessions.end(token);
    assert.ok(!sessions.check(token));
  });

  test('the throttle: free attempts, then a growing wait per address; success clears it', () => {
    const throttle = new LoginThrottle();
    for (let i = 1; i < LoginThrottle.FREE_ATTEMPTS; i++) throttle.failed('a');
    assert.equal(throttle.waitMs('a'), 0);
    throttle.failed('a');
    const first = throttle.waitMs('a');
    assert.ok(first > 0);
    throttle.failed('a');
    assert.ok(throttle.waitMs('a') > first);
    assert.equal(throttle.waitMs('b'), 0);
    throttle.succeeded('a');
    assert.equal(throttle.waitMs('a'), 0);
  });
});

test('the registries a VCH names: Docker Hub unless the allow-list leaves it out, its lists, certs.d', () => {
  const certsDir = tree(join(work, 'certs.d'), { 'registry.example.com:5000/ca.crt': 'x' });
  const base = { caCertificates: [], stallTimeoutMs: 1000, certsDir };
  assert.deepEqual(configuredRegistries({ ...base, insecure: ['10.0.0.1:5000'], allowed: [] }), ['docker.io', '10.0.0.1:5000', 'registry.example.com:5000']);
  assert.deepEqual(configuredRegistries({ ...base, insecure: [], allowed: ['harbor.local'] }), ['harbor.local', 'registry.example.com:5000']);
});

test('a registry that accepts the connection but never answers is unreachable after the timeout', async () => {
  const sockets: import('node:net').Socket[] = [];
  const silent = createTcpServer((socket) => { sockets.push(socket); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const registry = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const result = await probeRegistry({ insecure: [], allowed: [], caCertificates: [], stallTimeoutMs: 1000 }, registry, 300);
    assert.equal(result.reachable, false);
    assert.match(result.error ?? '', /no answer within 300 ms/);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 50));
  }
}
