// File requests (TOP, STAT, ARCHIVE_GET/PUT) on the host side, against a scripted tether over a
// socket pair: replies, errors with their kind, and the credit that bounds what is in flight.
import assert from 'node:assert/strict';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { TetherClient } from '../../src/tether/client.ts';
import { encodeFrame, FrameDecoder, FrameType, TRANSFER_WINDOW, type Frame } from '../../src/tether/frames.ts';
import { listProcesses, readArchive, statPath, writeArchive } from '../../src/backends/tether-vm/archive-session.ts';
import { guestUsage } from '../../src/backends/tether-vm/guest-usage.ts';
import { errorKind } from '../../src/portlayer/errors.ts';

/** A client wired to a fake guest: `frames` are what the host sent, `send` answers as the guest. */
function fakeGuest(onFrame: (f: Frame, send: (type: number, session: number, payload?: Buffer) => void) => void) {
  const toGuest = new PassThrough();
  const toHost = new PassThrough();
  const hostEnd = Duplex.from({ readable: toHost, writable: toGuest });
  const frames: Frame[] = [];
  const decoder = new FrameDecoder();
  const send = (type: number, session: number, payload?: Buffer) => { toHost.write(encodeFrame(type, session, payload)); };
  toGuest.on('data', (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) {
      frames.push(f);
      onFrame(f, send);
    }
  });
  return { client: new TetherClient(hostEnd), frames, send };
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('file requests', () => {
  it('answers TOP and STAT, and maps ERROR kinds to port-layer errors', async () => {
    const { client } = fakeGuest((f, send) => {
      if (f.type === FrameType.Top) send(FrameType.Result, f.session, json({ now: 1, memTotalKiB: 2, processes: [] }));
      if (f.type === FrameType.Stat) {
        const { path } = JSON.parse(f.payload.toString()) as { path: string };
        if (path === '/etc') send(FrameType.Result, f.session, json({ name: 'etc', size: 4096, mode: 2147484141, mtime: '2024-01-01T00:00:00Z', linkTarget: '' }));
        else send(FrameType.Error, f.session, json({ message: `no such file or directory: ${path}`, code: 125, kind: 'NotFound' }));
      }
    });
    assert.deepEqual(await listProcesses(client, 1), { now: 1, memTotalKiB: 2, processes: [] });
    assert.equal((await statPath(client, 2, '/etc')).name, 'etc');
    await assert.rejects(statPath(client, 3, '/nope'), (err: unknown) => errorKind(err) === 'NotFound' && /\/nope/.test((err as Error).message));
    client.close();
  });

  it('USAGE: the guest\'s figures become VmUsage with its MemTotal as the limit; ERROR and nonsense are refused', async () => {
    const answers = [
      { cpuBusyNs: 3e9, cpuTotalNs: 8e9, onlineCpus: 2, memoryUsedBytes: 40 << 20, memoryTotalBytes: 200 << 20 },
      { cpuBusyNs: -1, cpuTotalNs: 8e9, onlineCpus: 2, memoryUsedBytes: 1, memoryTotalBytes: 2 },
    ];
    const { client, frames } = fakeGuest((f, send) => {
      if (f.type !== FrameType.Usage) return;
      const answer = answers.shift();
      if (answer) send(FrameType.Result, f.session, json(answer));
      else send(FrameType.Error, f.session, json({ message: 'guest usage: open /proc/stat: no such file', code: 125, kind: 'System' }));
    });
    assert.deepEqual(await guestUsage(client, 5), { cpuNs: 3e9, systemCpuNs: 8e9, onlineCpus: 2, memoryBytes: 40 << 20, memoryLimitBytes: 200 << 20 });
    assert.equal(frames[0].session, 5);
    assert.equal(frames[0].payload.length, 0, 'USAGE has no body');
    await assert.rejects(guestUsage(client, 6), /no valid cpuBusyNs/);
    await assert.rejects(guestUsage(client, 7), (err: unknown) => errorKind(err) === 'System' && /\/proc\/stat/.test((err as Error).message));
    client.close();
  });

  it('ARCHIVE_GET: credits bytes only as the reader takes them', async () => {
    const chunk = Buffer.alloc(32 * 1024, 7);
    let credited = 0;
    let sent = 0;
    let session = 0;
    const { client, send } = fakeGuest((f) => {
      if (f.type === FrameType.ArchiveGet) {
        session = f.session;
        send(FrameType.Result, f.session, json({ name: 'big', size: 0, mode: 420, mtime: '', linkTarget: '' }));
        // The guest sends exactly its window, then waits for credit.
        for (; sent < TRANSFER_WINDOW; sent += chunk.length) send(FrameType.Data, f.session, chunk);
      }
      if (f.type === FrameType.HostCredit) credited += f.payload.readUInt32BE(0);
    });
    const { stat, tar } = await readArchive(client, 4, '/big');
    assert.equal(stat.name, 'big');
    await new Promise((r) => setTimeout(r, 50));
    // Nobody read yet: the stream's buffer took the window, so at most that much was credited back.
    assert.ok(credited <= TRANSFER_WINDOW, `credited ${credited}`);
    let received = 0;
    tar.on('data', (c: Buffer) => { received += c.length; });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(credited, sent, 'everything read is credited');
    send(FrameType.Data, session, Buffer.alloc(0));
    await new Promise((r) => tar.once('end', r));
    assert.equal(received, sent);
    client.close();
  });

  it('ARCHIVE_PUT: never has more than the credit in flight, ends with an empty DATA', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let received = 0;
    const { client, send } = fakeGuest((f) => {
      if (f.type !== FrameType.HostData) return;
      if (f.payload.length === 0) {
        // Like the tether: the verdict once everything queued was written.
        setTimeout(() => send(FrameType.Result, f.session, json({})), 10);
        return;
      }
      inFlight += f.payload.length;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // The guest drains slowly and credits what it wrote.
      setTimeout(() => {
        inFlight -= f.payload.length;
        received += f.payload.length;
        const credit = Buffer.alloc(4);
        credit.writeUInt32BE(f.payload.length);
        send(FrameType.Credit, f.session, credit);
      }, 1);
    });
    const total = 3 * 1024 * 1024 + 17;
    const input = Readable.from((function* () { for (let at = 0; at < total; at += 100_000) yield Buffer.alloc(Math.min(100_000, total - at), 1); })());
    await writeArchive(client, 5, '/dst', input, { noOverwriteDirNonDir: true, copyUIDGID: false });
    assert.equal(received, total);
    assert.ok(maxInFlight <= TRANSFER_WINDOW, `in flight ${maxInFlight}`);
    client.close();
  });

  it('ARCHIVE_PUT: an early verdict stops the sending and is the answer', async () => {
    const { client } = fakeGuest((f, send) => {
      if (f.type === FrameType.ArchivePut) send(FrameType.Error, f.session, json({ message: 'extraction point is not a directory', code: 125, kind: 'InvalidParameter' }));
    });
    const input = Readable.from([Buffer.alloc(10), Buffer.alloc(10)]);
    await assert.rejects(writeArchive(client, 6, '/file', input, { noOverwriteDirNonDir: true, copyUIDGID: false }), (err: unknown) => errorKind(err) === 'InvalidParameter');
    client.close();
  });
});
