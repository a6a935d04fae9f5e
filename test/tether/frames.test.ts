// Framing and the log-port file reader, without a VM.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeFrame, FrameDecoder, FrameFormatError, FrameType } from '../../src/tether/frames.ts';
import { followLog, readLogRecords } from '../../src/tether/logfile.ts';

function logFrame(type: number, body: string, timeNs = 1_700_000_000_000_000_000n): Buffer {
  const stamp = Buffer.alloc(8);
  stamp.writeBigInt64BE(timeNs);
  return encodeFrame(type, 0, Buffer.concat([stamp, Buffer.from(body)]));
}

describe('frames', () => {
  it('decodes frames split at every byte', () => {
    const stream = Buffer.concat([encodeFrame(FrameType.Stdout, 7, Buffer.from('hello')), encodeFrame(FrameType.Hello, 0)]);
    for (let split = 0; split <= stream.length; split++) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(stream.subarray(0, split)), ...decoder.push(stream.subarray(split))];
      assert.deepEqual(frames.map((f) => [f.type, f.session, f.payload.toString()]), [[FrameType.Stdout, 7, 'hello'], [FrameType.Hello, 0, '']]);
      assert.equal(decoder.pending, 0);
    }
  });

  it('rejects a corrupt length', () => {
    const decoder = new FrameDecoder();
    assert.throws(() => decoder.push(Buffer.from([3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])), FrameFormatError);
    assert.equal(decoder.pending, 0);
  });
});

describe('log file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-logfile-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads complete records and stops before a truncated one', async () => {
    const path = join(dir, 'truncated.log');
    const first = logFrame(FrameType.Started, '{"pid":5}');
    const second = logFrame(FrameType.Stdout, 'hi\n', 42n);
    const partial = logFrame(FrameType.Exit, '{"code":0}').subarray(0, 12);
    writeFileSync(path, Buffer.concat([first, second, partial]));
    const { records, nextOffset } = await readLogRecords(path, 0);
    assert.deepEqual(records.map((r) => [r.kind, r.data.toString(), r.offset]), [
      ['started', '{"pid":5}', first.length],
      ['stdout', 'hi\n', first.length + second.length],
    ]);
    assert.equal(records[1].timeNs, 42n);
    assert.equal(nextOffset, first.length + second.length);
    const rest = await readLogRecords(path, first.length);
    assert.deepEqual(rest.records.map((r) => r.kind), ['stdout']);
    assert.deepEqual(await readLogRecords(join(dir, 'missing.log'), 0), { records: [], nextOffset: 0 });
  });

  it('follows a file that does not exist yet as it grows', async () => {
    const path = join(dir, 'growing.log');
    const abort = new AbortController();
    const seen: string[] = [];
    const following = (async () => {
      for await (const record of followLog(path, 0, abort.signal)) {
        seen.push(`${record.kind}:${record.data.toString()}`);
        if (record.kind === 'exit') abort.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    appendFileSync(path, logFrame(FrameType.Stdout, 'a'));
    const exit = logFrame(FrameType.Exit, '{"code":0}');
    appendFileSync(path, exit.subarray(0, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    appendFileSync(path, exit.subarray(10));
    await following;
    assert.deepEqual(seen, ['stdout:a', 'exit:{"code":0}']);
  });
});
