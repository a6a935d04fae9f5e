// The test browser (test/helpers/browser.ts) runs in a network namespace of its own, where it sees a
// loopback and nothing of the host's interfaces (which other tests add and remove all the time, and
// whose changes make chromium abort loads); it still reaches servers on the host's loopback, over
// http and https, and nothing else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { launchBrowser, newContext } from '../helpers/browser.ts';
import { runCommand } from '../helpers/vch.ts';

let browser: Browser;
let server: Server;
let port: number;

before(async () => {
  server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>host</title><p id="p">from the host</p>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  server?.close();
});

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** Chromium processes descended from this test process. */
function ourChromiums(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'chromium') continue;
      for (let pid = Number(entry); pid > 1; pid = parentOf(pid)) {
        if (pid === process.pid) { pids.push(Number(entry)); break; }
      }
    } catch {
      // gone while we looked
    }
  }
  return pids;
}

test('chromium has a network namespace of its own with only a loopback', async () => {
  const pids = ourChromiums();
  assert.ok(pids.length > 0, 'found the browser\'s processes');
  for (const pid of pids) assert.notEqual(readlinkSync(`/proc/${pid}/ns/net`), readlinkSync('/proc/self/ns/net'), `chromium ${pid} in the host's namespace`);
  const links = await runCommand('nsenter', ['-t', String(pids[0]), '-n', 'ip', '-o', 'link']);
  assert.equal(links.code, 0, links.stderr);
  assert.deepEqual(links.stdout.trim().split('\n').map((l) => l.split(':')[1].trim()), ['lo']);
});

test('pages on the host\'s loopback load; other hosts are refused', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  assert.equal(await page.locator('#p').innerText(), 'from the host');
  const elsewhere = await page.goto('http://192.0.2.1/').then((r) => r?.status(), (err: Error) => err.message);
  assert.ok(elsewhere === 403 || /ERR_/.test(String(elsewhere)), `reached 192.0.2.1: ${elsewhere}`);
  await context.close();
});

test('client certificates need a browser on the host network, and say so', async () => {
  assert.throws(() => newContext(browser, { clientCertificates: [{ origin: 'https://127.0.0.1:1', certPath: '/dev/null', keyPath: '/dev/null' }] }), /hostNetwork/);
});
