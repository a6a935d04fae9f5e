// The registry's HTTP timeouts: no whole-request limit (a layer PATCH streamed slowly but steadily
// completes), while connections that stay silent are closed. Small timeouts keep this short; the
// margins are wide (a chunk every 100 ms against a 1.5 s idle limit), and nothing asserts a duration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminAuth as auth, call, sha256, startTestRegistry } from './helpers.ts';

test('a PATCH streamed for longer than the old whole-request limit completes; a silent connection is closed', { timeout: 60_000 }, async () => {
  const t = await startTestRegistry({ headersTimeoutSeconds: 1, idleTimeoutSeconds: 1.5 });
  try {
    const start = await call(t.url, '/v2/library/slow/blobs/uploads/', { method: 'POST', auth });
    assert.equal(start.status, 202);
    const location = start.headers.get('location')!;
    const chunks = Array.from({ length: 30 }, (_, i) => Buffer.from(`chunk ${i} `.repeat(100)));
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(new URL(location, t.url), { method: 'PATCH', headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' } },
        (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
      req.on('error', reject);
      void (async () => {
        for (const c of chunks) { req.write(c); await sleep(100); } // ~3 s in all: twice the idle limit, thrice a 1 s request limit
        req.end();
      })();
    });
    assert.equal(status, 202);
    const all = Buffer.concat(chunks);
    const put = await call(t.url, `${location}${location.includes('?') ? '&' : '?'}digest=${sha256(all)}`, { method: 'PUT', auth });
    assert.equal(put.status, 201, await put.text());

    // A client that connects and sends nothing is disconnected by the server.
    const { port } = new URL(t.url);
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect(Number(port), '127.0.0.1');
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    assert.ok(closed);
    // And one that starts headers and never finishes them.
    const closedMidHeaders = await new Promise<boolean>((resolve) => {
      const s = connect(Number(port), '127.0.0.1', () => s.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n'));
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    assert.ok(closedMidHeaders);
  } finally { await t.stop(); }
});
