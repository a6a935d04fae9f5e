// The real guest under TCG: three boots cover the main process, exec sessions (pipes and pty),
// signals, users, whiteouts, the writable disk across boots and start failures.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TetherError } from '../../src/tether/client.ts';
import { followLog, readLogRecords, type LogRecord } from '../../src/tether/logfile.ts';
import { buildGuest, collectOutput, containerConfig, exitOf, makeBusyboxLayer, makeExt4, TestVm } from './guest-vm.ts';

const BOOT_DEADLINE_MS = 60_000;
const EXIT_DEADLINE_MS = 20_000;

describe('tether in a TCG microvm', { timeout: 600_000 }, () => {
  let work: string;
  let guest: { kernel: string; initrd: string };
  let base: string;
  let whiteoutLayer: string;
  let rwDisk: string;
  const vms: TestVm[] = [];

  before(() => {
    guest = buildGuest();
    work = mkdtempSync(join(tmpdir(), 'bonneville-tether-test-'));
    base = join(work, 'base.img');
    makeBusyboxLayer(join(work, 'base'), base);
    // The upper layer deletes /bin/vi the OCI way once unpacked: an overlay whiteout, char device 0/0.
    const upper = join(work, 'upper');
    mkdirSync(join(upper, 'bin'), { recursive: true });
    execFileSync('mknod', [join(upper, 'bin/vi'), 'c', '0', '0']);
    whiteoutLayer = join(work, 'upper.img');
    makeExt4(upper, whiteoutLayer, 8);
    rwDisk = join(work, 'rw.img');
    makeExt4(undefined, rwDisk, 64);
  });

  after(async () => {
    await Promise.all(vms.map((vm) => vm.kill()));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function boot(label: string): TestVm {
    const vm = new TestVm(guest, join(work, label), [
      { serial: 'l0', path: base, readOnly: true },
      { serial: 'l1', path: whiteoutLayer, readOnly: true },
      { serial: 'rw', path: rwDisk, readOnly: false },
    ]);
    vms.push(vm);
    return vm;
  }

  async function recordsOf(vm: TestVm): Promise<LogRecord[]> {
    return (await readLogRecords(vm.logFile, 0)).records;
  }

  it('runs a container with exec sessions, a pty, signals and users, then powers off', async (t) => {
    const vm = boot('first');
    let tether = await vm.connect();
    const hello = await tether.hello(BOOT_DEADLINE_MS);
    const helloMs = performance.now() - vm.spawnedAt;
    assert.equal(hello.state, 'waiting');

    const started = await tether.configure(containerConfig({
      layers: ['l0', 'l1'],
      cmd: ['sh', '-c', 'echo out; echo err >&2; ls /bin/vi 2>/dev/null || echo vi-hidden; echo persisted > /root/state; read reply; echo "reply=$reply"; exit 3'],
      openStdin: true,
      workingDir: '/work/dir',
    }));
    const startedMs = performance.now() - vm.spawnedAt;
    t.diagnostic(`spawn → HELLO ${helloMs.toFixed(0)} ms, spawn → STARTED ${startedMs.toFixed(0)} ms`);
    assert.ok(started.pid > 1);

    // A reconnecting host finds the container running; output produced meanwhile is dropped rather
    // than blocking the tether.
    await tether.exec(7, { cmd: ['sh', '-c', 'sleep 0.2; echo lost; echo lost >&2'], env: [], workingDir: '', user: '', tty: false, openStdin: false, rows: 0, cols: 0 });
    tether.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    tether = await vm.connect();
    const again = await tether.hello(10_000);
    assert.deepEqual({ state: again.state, pid: again.pid }, { state: 'running', pid: started.pid });

    // Pipes: stdout and stderr apart, the container's workdir created.
    const piped = collectOutput(tether, 1);
    const pipedExit = exitOf(tether, 1);
    await tether.exec(1, { cmd: ['sh', '-c', 'pwd; echo oops >&2; hostname; exit 5'], env: [], workingDir: '', user: '', tty: false, openStdin: false, rows: 0, cols: 0 });
    assert.equal(await pipedExit, 5);
    assert.equal(piped.text('stdout'), '/work/dir\ntestbox\n');
    assert.equal(piped.text('stderr'), 'oops\n');

    // A pty: initial size, resize, input echoed through the terminal.
    const tty = collectOutput(tether, 2);
    const ttyExit = exitOf(tether, 2);
    await tether.exec(2, {
      cmd: ['sh', '-c', 'stty size; read line; stty size; tty; echo "line=$line"'],
      env: [], workingDir: '/', user: '', tty: true, openStdin: true, rows: 30, cols: 100,
    });
    await tty.until((s) => s.includes('30 100'));
    tether.resize(2, 40, 120);
    tether.stdin(2, Buffer.from('hello\n'));
    assert.equal(await ttyExit, 0);
    assert.match(tty.text(), /40 120/);
    assert.match(tty.text(), /\/dev\/pts\/\d+/);
    assert.match(tty.text(), /line=hello/);

    // SIGTERM kills sleep: 128 + 15.
    const sleepExit = exitOf(tether, 3);
    await tether.exec(3, { cmd: ['sleep', '100'], env: [], workingDir: '', user: '', tty: false, openStdin: false, rows: 0, cols: 0 });
    tether.signal(3, 15);
    assert.equal(await sleepExit, 143);

    // Users from the container's /etc/passwd.
    const ids = collectOutput(tether, 4);
    const idsExit = exitOf(tether, 4);
    await tether.exec(4, { cmd: ['id'], env: [], workingDir: '', user: 'nobody', tty: false, openStdin: false, rows: 0, cols: 0 });
    assert.equal(await idsExit, 0);
    assert.match(ids.text(), /uid=65534\(nobody\) gid=65534\(nogroup\)/);
    await assert.rejects(
      tether.exec(5, { cmd: ['id'], env: [], workingDir: '', user: 'ghost', tty: false, openStdin: false, rows: 0, cols: 0 }),
      (err: TetherError) => err.code === 125 && err.message === 'unable to find user ghost: no matching entries in passwd file',
    );
    await assert.rejects(
      tether.exec(6, { cmd: ['fakeCommand'], env: [], workingDir: '', user: '', tty: false, openStdin: false, rows: 0, cols: 0 }),
      (err: TetherError) => err.code === 127 && err.message === 'exec: "fakeCommand": executable file not found in $PATH',
    );

    // The main process reads its stdin, then exits 3; QEMU exits with it.
    const mainExit = exitOf(tether, 0);
    tether.stdin(0, Buffer.from('bye\n'));
    tether.closeStdin(0);
    assert.equal(await mainExit, 3);
    await vm.waitExit(EXIT_DEADLINE_MS);

    const records = await recordsOf(vm);
    const text = (kind: string) => records.filter((r) => r.kind === kind).map((r) => r.data.toString()).join('');
    assert.equal(records[0].kind, 'started');
    assert.equal(text('stdout'), 'out\nvi-hidden\nreply=bye\n');
    assert.equal(text('stderr'), 'err\n');
    const exit = JSON.parse(text('exit')) as { code: number; steps: string };
    assert.equal(exit.code, 3);
    // The end's steps, timed by the tether; not ephemeral, so the disks were flushed.
    assert.match(exit.steps, /^run \d+,drain \d+,kill \d+,flush \d+$/);
    assert.equal(records.at(-1)!.kind, 'exit');
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    assert.ok(records.every((r) => r.timeNs > nowNs - 600_000_000_000n && r.timeNs <= nowNs + 60_000_000_000n), 'guest clock set from the host');
  });

  it('keeps the writable disk across boots, and powers off on request', async () => {
    const vm = boot('second');
    const tether = await vm.connect();
    await tether.hello(BOOT_DEADLINE_MS);
    await tether.configure(containerConfig({ layers: ['l0', 'l1'], cmd: ['sh', '-c', 'cat /root/state /etc/hostname; exec sleep 100'] }));
    let stdout = '';
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), EXIT_DEADLINE_MS);
    for await (const record of followLog(vm.logFile, 0, abort.signal)) {
      if (record.kind === 'stdout') stdout += record.data.toString();
      if (stdout.includes('testbox\n')) break;
    }
    clearTimeout(timer);
    assert.equal(stdout, 'persisted\ntestbox\n');
    tether.powerOff();
    await vm.waitExit(EXIT_DEADLINE_MS);
    // Powered off, not exited: the log has no EXIT.
    const kinds = new Set((await recordsOf(vm)).map((r) => r.kind));
    assert.deepEqual([...kinds], ['started', 'stdout']);
  });

  it('reports a missing executable with Docker\'s message and code, then powers off', async () => {
    const vm = boot('third');
    const tether = await vm.connect();
    await tether.hello(BOOT_DEADLINE_MS);
    await assert.rejects(
      tether.configure(containerConfig({ layers: ['l0'], cmd: ['fakeCommand'] })),
      (err: TetherError) => err instanceof TetherError && err.reportedByGuest && err.code === 127 &&
        err.message === 'exec: "fakeCommand": executable file not found in $PATH',
    );
    await vm.waitExit(EXIT_DEADLINE_MS);
    const records = await recordsOf(vm);
    assert.deepEqual(records.map((r) => r.kind), ['error']);
    assert.equal(JSON.parse(records[0].data.toString()).code, 127);
  });

  it('leaves no QEMU process behind', async () => {
    for (const vm of vms) assert.equal(vm.running, false, `${vm.name} still running`);
  });
});
