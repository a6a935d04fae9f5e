// Generated TLS: src/pki makes the CA and server certificate under <root>/tls with the names
// roots have always had, and a restart on the same root reuses them; processes creating them at
// once agree on one set, and a set left inconsistent is repaired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rename, rm } from 'node:fs/promises';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry } from '../../src/registry/index.ts';
import { ensureCa, issueServerCertificate } from '../../src/pki/certificates.ts';
import { ADMIN_PASSWORD, run } from './helpers.ts';

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

const certificates = new URL('../../src/pki/certificates.ts', import.meta.url).href;
const registryFiles = { ca: { cert: 'ca.crt', key: 'ca.key' }, server: { cert: 'server.crt', key: 'server.key' } };

/** Every certificate in `dir` fits its key, and the server's was signed by the CA that is there. */
async function assertConsistent(dir: string): Promise<void> {
  const read = (f: string) => readFile(join(dir, f));
  const ca = new X509Certificate(await read('ca.crt'));
  const server = new X509Certificate(await read('server.crt'));
  assert.ok(ca.checkPrivateKey(createPrivateKey(await read('ca.key'))), 'CA certificate fits the CA key');
  assert.ok(server.checkPrivateKey(createPrivateKey(await read('server.key'))), 'server certificate fits the server key');
  assert.ok(server.verify(ca.publicKey), 'server certificate signed by the CA on disk');
  assert.deepEqual((await readdir(dir)).sort(), ['ca.crt', 'ca.key', 'server.crt', 'server.key'], 'no temporaries left');
}

test('processes creating tls/ at the same moment end up with one matching set', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-tls-race-'));
  const script = `
    import { ensureCa, issueServerCertificate } from ${JSON.stringify(certificates)};
    const files = ${JSON.stringify(registryFiles)};
    const ca = await ensureCa(process.argv[1], 'Race CA', files.ca);
    await issueServerCertificate(ca, process.argv[1], ['localhost'], files.server);`;
  try {
    for (let round = 0; round < 2; round++) {
      const tls = join(dir, `tls${round}`);
      await Promise.all([1, 2, 3].map(() => run(process.execPath, ['--input-type=module', '-e', script, tls])));
      await assertConsistent(tls);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a key without its certificate, or a certificate that does not fit, is repaired', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bonneville-registry-tls-repair-'));
  try {
    // What a crash between the two files, or the old creation race, could leave behind.
    const ca = await ensureCa(dir, 'Repair CA', registryFiles.ca);
    await issueServerCertificate(ca, dir, ['localhost'], registryFiles.server);
    await rm(join(dir, 'ca.crt'));
    const other = join(dir, 'other');
    const otherCa = await ensureCa(other, 'Other CA', registryFiles.ca);
    await issueServerCertificate(otherCa, other, ['localhost'], registryFiles.server);
    await rename(join(other, 'server.crt'), join(dir, 'server.crt'));
    await rm(other, { recursive: true });
    const caKey = await readFile(join(dir, 'ca.key'));

    const again = await ensureCa(dir, 'Repair CA', registryFiles.ca);
    await issueServerCertificate(again, dir, ['localhost'], registryFiles.server);
    assert.ok((await readFile(join(dir, 'ca.key'))).equals(caKey), 'the published key is kept');
    await assertConsistent(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
