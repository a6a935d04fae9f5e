// Generated TLS: src/pki makes the CA and server certificate under <root>/tls with the names
// roots have always had, and a restart on the same root reuses them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../../src/registry/index.ts';
import { ADMIN_PASSWORD } from './helpers.ts';

function status(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v2/`, { ca }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  });
}

test('generated TLS files keep their names and survive a restart', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-tls-'));
  const root = join(dir, 'root');
  const start = () => startRegistry({ root, listen: '127.0.0.1:0', adminPassword: ADMIN_PASSWORD, log: () => {} });
  try {
    let reg = await start();
    assert.equal(reg.caCertPath, join(root, 'tls', 'ca.crt'));
    const names = (await readdir(join(root, 'tls'))).sort();
    for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key']) assert.ok(names.includes(f), `${f} in ${names.join(' ')}`);
    const ca = await readFile(reg.caCertPath!);
    assert.equal(await status(reg.url, ca), 401); // the TLS handshake verified against our CA
    await reg.close();

    reg = await start();
    try {
      assert.ok((await readFile(reg.caCertPath!)).equals(ca), 'the CA was kept');
      assert.equal(await status(reg.url, ca), 401);
    } finally { await reg.close(); }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
