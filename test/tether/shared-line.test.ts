// One byte stream carrying both tether channels (vSphere's serial line): log frames (type | 0x80) go to
// the log file in the log port's format, the rest to the control channel; bytes of a cut frame are
// skipped; log frames before the file is known are held. A journaled tether (vSphere's replay after an
// engine restart) is told where the log stands on each HELLO, and its exit acknowledged once on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Duplex } from 'node:stream';
import { SharedLine } from '../../src/tether/shared-line.ts';
import { encodeFrame, FrameDecoder, FrameType, LOG_FRAME_FLAG } from '../../src/tether/frames.ts';
import { readLogRecords } from '../../src/tether/logfile.ts';
import { readOutput } from '../../src/backends/tether-vm/output-log.ts';
import { TetherClient } from '../../src/tether/client.ts';

function stamped(text: string): Buffer {
  const b = Buffer.alloc(8 + Buffer.byteLength(text));
  b.writeBigInt64BE(123n, 0);
  b.write(text, 8);
  return b;
}

/** A line whose far end (the guest) the test writes to and reads from. */
function pair(): { line: SharedLine; guestWrites: PassThrough; hostWrote: Buffer[] } {
  const guestWrites = new PassThrough();
  const hostWrote: Buffer[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) { hostWrote.push(chunk); done(); },
  });
  guestWrites.on('data', (c: Buffer) => socket.push(c));
  return { line: new SharedLine(socket), guestWrites, hostWrote };
}

test('log frames go to the file, control frames to the client; garbage before a frame is skipped; early log frames are held', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bv-shared-line-'));
  try {
    const { line, guestWrites, hostWrote } = pair();
    const hellos: unknown[] = [];
    line.onHello((h) => hellos.push(h));
    const client = new TetherClient(line.control);
    const diags: string[] = [];
    client.on('diag', (d) => diags.push(d));
    line.askHello();
    assert.deepEqual(new FrameDecoder().push(Buffer.concat(hostWrote)).map((f) => f.type), [FrameType.HelloReq]);
    // The remains of a cut frame, then a HELLO, a log frame (held: no file yet), a DIAG.
    guestWrites.write(Buffer.from([0, 0, 0, 0xff]));
    guestWrites.write(encodeFrame(FrameType.Hello, 0, Buffer.from('{"version":1,"id":"0123456789abcdef0123456789abcdef","state":"running"}')));
    guestWrites.write(encodeFrame(FrameType.Stdout | LOG_FRAME_FLAG, 0, stamped('early\n')));
    guestWrites.write(encodeFrame(FrameType.Diag, 0, Buffer.from('hello there')));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(hellos, [{ version: 1, id: '0123456789abcdef0123456789abcdef', state: 'running' }]);
    assert.deepEqual(diags, ['hello there']);
    const log = join(dir, 'output.log');
    await line.logTo(log);
    guestWrites.write(encodeFrame(FrameType.Stdout | LOG_FRAME_FLAG, 0, stamped('late\n')));
    guestWrites.write(encodeFrame(FrameType.Exit | LOG_FRAME_FLAG, 0, stamped('{"code":3}')));
    await new Promise((r) => setImmediate(r));
    const { records } = await readLogRecords(log);
    assert.deepEqual(records.map((r) => [r.kind, r.data.toString()]), [['stdout', 'early\n'], ['stdout', 'late\n'], ['exit', '{"code":3}']]);
    line.close();
    await new Promise((r) => setImmediate(r));
    assert.equal(client.closed, true, 'the client sees the line close');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const ID = '0123456789abcdef0123456789abcdef';

function hello(boot: string, seq: number, state = 'running'): Buffer {
  return encodeFrame(FrameType.Hello, 0, Buffer.from(JSON.stringify({ version: 1, id: ID, state, boot, seq })));
}

function logFrame(type: number, text: string): Buffer {
  return encodeFrame(type | LOG_FRAME_FLAG, 0, stamped(text));
}

/** The frames the host sent to the guest, as [type, JSON payload or undefined]. */
function sent(hostWrote: Buffer[]): Array<[number, unknown]> {
  return new FrameDecoder().push(Buffer.concat(hostWrote)).map((f) => [f.type, f.payload.length ? JSON.parse(f.payload.toString()) : undefined]);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

async function logText(log: string): Promise<string> {
  let text = '';
  for await (const r of readOutput(log, { from: 0, follow: false })) text += `${r.stream}:${r.data.toString()}`;
  return text;
}

test('a journaled line: RESUME says what the log holds of this boot (a torn tail cut off), the replay is appended once, the exit acknowledged on disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bv-shared-line-'));
  try {
    const log = join(dir, 'output.log');
    // The container's previous run, then this boot's start and output as a killed engine left them:
    // "one\ntw" of stdout, "e1\n" of stderr, and half of a frame.
    appendFileSync(log, Buffer.concat([
      encodeFrame(FrameType.Started, 0, stamped('{"pid":1,"boot":"old"}')),
      encodeFrame(FrameType.Stdout, 0, stamped('previous run\n')),
      encodeFrame(FrameType.Exit, 0, stamped('{"code":0}')),
      encodeFrame(FrameType.Started, 0, stamped('{"pid":1,"boot":"b1"}')),
      encodeFrame(FrameType.Stdout, 0, stamped('one\n')),
      encodeFrame(FrameType.Stderr, 0, stamped('e1\n')),
      encodeFrame(FrameType.Stdout, 0, stamped('tw')),
    ]));
    const whole = statSync(log).size;
    appendFileSync(log, encodeFrame(FrameType.Stdout, 0, stamped('o\nthree\n')).subarray(0, 14));

    const { line, guestWrites, hostWrote } = pair();
    const ends: unknown[] = [];
    // Live output written before the tether heard of this engine: it may follow a lost stretch.
    guestWrites.write(logFrame(FrameType.Stdout, 'stray\n'));
    guestWrites.write(hello('b1', 1));
    await settle();
    assert.equal(line.journaled, true);
    line.onEnd((e) => ends.push(e));
    await line.logTo(log);
    assert.equal(statSync(log).size, whole, 'the torn frame is cut off');
    assert.deepEqual(sent(hostWrote), [[FrameType.Resume, { seq: 1, started: true, stdout: 6, stderr: 3, exited: false }]]);

    // The tether replays from there; then a new HELLO (a reconnect) is answered with the log's new end.
    guestWrites.write(logFrame(FrameType.Stdout, 'o\nthree\n'));
    guestWrites.write(hello('b1', 2));
    await settle();
    assert.deepEqual(sent(hostWrote).slice(1), [[FrameType.Resume, { seq: 2, started: true, stdout: 14, stderr: 3, exited: false }]]);
    assert.deepEqual(ends, []);
    guestWrites.write(logFrame(FrameType.Gap, '{"stream":"stderr","bytes":40}'));
    guestWrites.write(logFrame(FrameType.Exit, '{"code":7}'));
    await settle();
    assert.deepEqual(sent(hostWrote).slice(2), [[FrameType.ExitAck, undefined]]);
    assert.deepEqual(ends, [{ code: 7 }]);
    assert.equal(await logText(log), 'stdout:previous run\nstdout:one\nstderr:e1\nstdout:twstdout:o\nthree\nstderr:[bonneville: 40 bytes of stderr were lost while the engine was away]\n');
    line.close();

    // The next engine finds the exit in the log: RESUME says so (the tether's ack), and the end is known at once.
    const again = pair();
    again.guestWrites.write(hello('b1', 1, 'exited'));
    await settle();
    const before = readFileSync(log);
    await again.line.logTo(log);
    assert.deepEqual(sent(again.hostWrote), [[FrameType.Resume, { seq: 1, started: true, stdout: 14, stderr: 43, exited: true }]]);
    const late: unknown[] = [];
    again.line.onEnd((e) => late.push(e));
    await settle();
    assert.deepEqual(late, [{ code: 7 }]);
    assert.deepEqual(readFileSync(log), before);
    again.line.close();

    // A new boot of the container (docker start): its log starts at its own STARTED.
    const fresh = pair();
    fresh.guestWrites.write(hello('b2', 1, 'waiting'));
    await settle();
    await fresh.line.logTo(log);
    assert.deepEqual(sent(fresh.hostWrote), [[FrameType.Resume, { seq: 1, started: false, stdout: 0, stderr: 0, exited: false }]]);
    fresh.guestWrites.write(logFrame(FrameType.Started, '{"pid":1,"boot":"b2"}'));
    fresh.guestWrites.write(logFrame(FrameType.Stdout, 'new\n'));
    fresh.guestWrites.write(hello('b2', 2));
    await settle();
    assert.deepEqual(sent(fresh.hostWrote).slice(1), [[FrameType.Resume, { seq: 2, started: true, stdout: 4, stderr: 0, exited: false }]]);
    fresh.line.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
