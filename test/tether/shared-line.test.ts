// One byte stream carrying both tether channels (vSphere's serial line): log frames (type | 0x80) go to
// the log file in the log port's format, the rest to the control channel; bytes of a cut frame are
// skipped; log frames before the file is known are held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Duplex } from 'node:stream';
import { SharedLine } from '../../src/tether/shared-line.ts';
import { encodeFrame, FrameDecoder, FrameType, LOG_FRAME_FLAG } from '../../src/tether/frames.ts';
import { readLogRecords } from '../../src/tether/logfile.ts';
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
    line.logTo(log);
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
