// Thumbprint pinning at the socket: with a wrong pin not one byte of a request (which could carry the
// password or the session cookie) reaches the server; with the right pin the request arrives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { VimClient } from '../../src/vim25/session.ts';
import { fetchThumbprint, normalizeThumbprint, ThumbprintMismatchError } from '../../src/vim25/soap.ts';
import { VimFault } from '../../src/vim25/faults.ts';

let dir: string;
let server: https.Server;
let url: string;
let sha256: string;
let received = 0;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bv-pin-'));
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]);
  const cert = await readFile(path.join(dir, 'cert.pem'));
  sha256 = normalizeThumbprint(createHash('sha256').update(new X509Certificate(cert).raw).digest('hex'));
  server = https.createServer({ key: await readFile(path.join(dir, 'key.pem')), cert }, (req, res) => {
    req.resume();
    res.writeHead(500, { 'Content-Type': 'text/xml' });
    res.end('<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>test server</faultstring><detail><SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError"><reason>test</reason></SystemErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>');
  });
  server.on('secureConnection', (socket) => socket.on('data', (c: Buffer) => (received += c.length)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/sdk`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a wrong pin sends nothing; the right pin reaches the server', async () => {
  assert.equal((await fetchThumbprint(url)).sha256, sha256);
  const wrong = sha256.replace(/^../, sha256.startsWith('AA') ? 'BB' : 'AA');
  await assert.rejects(VimClient.connect({ url, thumbprint: wrong, username: 'u', password: 'secret' }), ThumbprintMismatchError);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(received, 0, 'no request bytes after the handshake');
  await assert.rejects(VimClient.open({ url, thumbprint: sha256 }), (err: Error) => err instanceof VimFault && err.faultType === 'SystemError');
  assert.ok(received > 0, 'the request arrived');
  assert.throws(() => normalizeThumbprint('abc'), /SHA-1 or SHA-256/);
  await assert.rejects(VimClient.open({ url: url.replace('https', 'http'), thumbprint: sha256 }), /not an https URL/);
});
