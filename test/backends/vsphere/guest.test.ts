// Container processes on the vSphere backend: `vch serve --backend vsphere` against vcsim, with the
// test host agent (test/helpers/host-agent.ts) playing ESXi — each container VM vcsim powers on runs in
// QEMU (TCG) from its datastore files, booting the bootstrap ISO, its serial port connected out to the
// VCH's tether listener. Driven by the real docker CLI: output, exit codes, exec, logs, stop, a volume
// shared by two containers in turn, an engine killed and restarted while a container runs, and a
// container that prints and exits while its engine is down (the tether's journal replays it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { VcsimWithGuests } from '../../helpers/vsphere-guests.ts';
import { TestVch } from '../../helpers/vch.ts';
import type { VchPlacement } from '../../../src/backends/vsphere/vch-pool.ts';
import { encodeFrame, FrameDecoder, FrameType, LOG_FRAME_FLAG } from '../../../src/tether/frames.ts';
import { guestType } from '../../../src/tether/shared-line.ts';

const VCH = 'vch-guest';
let host: VcsimWithGuests;
let placement: VchPlacement;
let vch: TestVch;

/** What to look at when a step fails: the agent's troubles, the guests' consoles and the engine's log. */
function context(): string {
  return `${host.context()}\nengine: ${vch.engineLog.slice(-3000)}`;
}

before(async () => {
  host = await VcsimWithGuests.start();
  ({ vch, placement } = await host.startVch(VCH));
});

after(async () => {
  await host?.stopVch(vch, placement);
  await host?.stop();
});

/** A docker command that boots or waits for a VM: under TCG on a loaded host that takes minutes. */
async function slow(args: string[]): Promise<string> {
  const r = await vch.docker(args, { timeoutMs: 900_000 });
  assert.equal(r.code, 0, `docker ${args.join(' ')} exited ${r.code}: ${r.stderr}\n${context()}`);
  return r.stdout;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.fail(`timed out waiting for ${what}\n${context()}`);
}

test('docker run --rm busybox echo hi prints hi; an exit code comes back', { timeout: 1_200_000 }, async () => {
  const run = await vch.docker(['run', '--rm', 'busybox', 'echo', 'hi'], { timeoutMs: 900_000 });
  assert.equal(run.code, 0, `${run.stderr}\n${context()}`);
  assert.equal(run.stdout, 'hi\n');
  const three = await vch.docker(['run', '--name', 'three', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 900_000 });
  assert.equal(three.code, 3, `${three.stderr}\n${context()}`);
  assert.equal(three.stdout, 'out\n');
  assert.equal(three.stderr, 'err\n');
  assert.equal((await vch.ok(['inspect', '--format', '{{.State.ExitCode}}', 'three'])).trim(), '3');
  assert.equal(await vch.ok(['logs', 'three']), 'out\n');
  await vch.ok(['rm', 'three']);
  const missing = await vch.docker(['run', '--rm', 'busybox', 'no-such-command'], { timeoutMs: 900_000 });
  assert.equal(missing.code, 127, `${missing.stderr}\n${context()}`);
  assert.match(missing.stderr, /executable file not found/);
  await until('every QEMU the agent ran to end', async () => host.agent.running === 0);
});


test('docker run -d, exec, logs, stop: a running container VM through its serial line', { timeout: 1_200_000 }, async () => {
  await slow(['run', '-d', '--name', 'sleeper', 'busybox', 'sh', '-c', 'echo started; exec sleep 600']);
  await until('the first output', async () => (await vch.ok(['logs', 'sleeper'])) === 'started\n');
  const exec = await vch.docker(['exec', 'sleeper', 'sh', '-c', 'echo from-exec; hostname; exit 5'], { timeoutMs: 120_000 });
  assert.equal(exec.code, 5, `${exec.stderr}\n${context()}`);
  assert.equal(exec.stdout.split('\n')[0], 'from-exec');
  assert.match(await vch.ok(['top', 'sleeper']), /sleep 600/);
  // docker cp both ways: tar streams over the line, with the tether's flow control.
  const local = mkdtempSync(join(tmpdir(), 'bv-vsphere-cp-'));
  try {
    writeFileSync(join(local, 'in.txt'), 'x'.repeat(300_000));
    await vch.ok(['cp', join(local, 'in.txt'), 'sleeper:/tmp/in.txt']);
    assert.equal((await vch.ok(['exec', 'sleeper', 'wc', '-c', '/tmp/in.txt'])).trim(), '300000 /tmp/in.txt');
    await vch.ok(['cp', 'sleeper:/tmp/in.txt', join(local, 'out.txt')]);
    assert.equal(readFileSync(join(local, 'out.txt'), 'utf8'), 'x'.repeat(300_000));
  } finally {
    rmSync(local, { recursive: true, force: true });
  }
  await slow(['stop', '-t', '30', 'sleeper']);
  // sleep is not PID 1 in the VM (the tether is): SIGTERM ends it, 128 + 15.
  assert.equal((await vch.ok(['inspect', '--format', '{{.State.ExitCode}}', 'sleeper'])).trim(), '143');
  assert.equal((await slow(['wait', 'sleeper'])).trim(), '143');
  // Started again: a new VM with the same disks (the writable one formatted already) and a new line.
  await slow(['start', 'sleeper']);
  await until('the second start\'s output', async () => (await vch.ok(['logs', 'sleeper'])) === 'started\nstarted\n');
  await slow(['rm', '-f', 'sleeper']);
  await until('the agent to have no QEMU left', async () => host.agent.running === 0);
});

test('a volume written by one container is read by the next (a blank disk formatted by the guest)', { timeout: 1_200_000 }, async () => {
  await vch.ok(['volume', 'create', 'shared']);
  await slow(['run', '--rm', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo kept > /data/note']);
  assert.equal(await slow(['run', '--rm', '-v', 'shared:/data', 'busybox', 'cat', '/data/note']), 'kept\n');
  await vch.ok(['volume', 'rm', 'shared']);
});

test('an engine killed with -9 and restarted re-attaches to a running container: output continues, wait returns', { timeout: 1_200_000 }, async () => {
  // The process waits for a file only an exec (over the re-attached line) makes.
  await slow(['run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'echo one; while [ ! -e /tmp/go ]; do sleep 1; done; echo two; exit 7']);
  await until('the first output', async () => (await vch.ok(['logs', 'survivor'])) === 'one\n');
  await vch.killEngine();
  vch = new TestVch(VCH, host.engineArgs(), vch.dir);
  await vch.start();
  assert.match(await vch.ok(['ps', '--format', '{{.Names}} {{.Status}}']), /^survivor Up/m, 'adopted running');
  // The VM's serial port reconnects to the new engine's listener (QEMU retries every second, as ESXi does).
  await until('exec over the re-attached line', async () => (await vch.docker(['exec', 'survivor', 'touch', '/tmp/go'])).code === 0);
  assert.equal((await slow(['wait', 'survivor'])).trim(), '7');
  assert.equal(await vch.ok(['logs', 'survivor']), 'one\ntwo\n');
  await vch.ok(['rm', 'survivor']);
});

/**
 * Holds the tether port while no engine does: the VM's serial port reconnects here (as ESXi would to
 * whatever listens). `talk` gets the connection; the listener is closed when it returns.
 */
async function standInForEngine<T>(talk: (socket: net.Socket) => Promise<T>): Promise<T> {
  const server = net.createServer();
  const connected = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(new URL(host.tetherURI).port), '127.0.0.1', resolve);
  });
  let socket: net.Socket | undefined;
  try {
    socket = await Promise.race([connected, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no serial line connected\n${context()}`)), 120_000).unref())]);
    return await talk(socket);
  } finally {
    socket?.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('a container that prints and exits while its engine is down: after the restart wait gives its code and logs hold every line once', { timeout: 1_200_000 }, async () => {
  // The process prints, then waits for a line on its stdin. Only the test sends it, over the VM's
  // serial line while it holds the tether port itself: what follows happens with no engine there.
  await slow(['run', '-d', '-i', '--name', 'away', 'busybox', 'sh', '-c',
    'echo one; echo two; read word; echo "got $word"; for i in 3 4 5; do echo line$i; done; echo warn >&2; exit 7']);
  await until('the first output', async () => (await vch.ok(['logs', 'away'])) === 'one\ntwo\n');
  await vch.killEngine();
  await standInForEngine(async (line) => {
    const decoder = new FrameDecoder(guestType);
    const exited = new Promise<void>((resolve) => line.on('data', (chunk: Buffer) => {
      if (decoder.push(chunk).some((f) => f.type === (FrameType.Exit | LOG_FRAME_FLAG))) resolve();
    }));
    line.write(encodeFrame(FrameType.Stdin, 0, Buffer.from('now\n')));
    // The tether's EXIT for the log, on a line no engine reads: the process has ended, its output gone by.
    await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`no EXIT on the line\n${context()}`)), 300_000).unref())]);
  });
  vch = new TestVch(VCH, host.engineArgs(), vch.dir);
  await vch.start();
  assert.equal((await slow(['wait', 'away'])).trim(), '7');
  assert.equal((await vch.ok(['inspect', '--format', '{{.State.ExitCode}}', 'away'])).trim(), '7');
  const logs = await vch.docker(['logs', 'away']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.equal(logs.stdout, 'one\ntwo\ngot now\nline3\nline4\nline5\n');
  assert.equal(logs.stderr, 'warn\n');
  await vch.ok(['rm', 'away']);
  await until('the agent to have no QEMU left', async () => host.agent.running === 0);
});
