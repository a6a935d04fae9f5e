// A real browser for UI tests: Debian's chromium, headless, driven by playwright-core. Nothing here
// downloads a browser: playwright-core is only the driver, the executable is the system's.
//
// Chromium runs in a network namespace of its own: it aborts loads with ERR_NETWORK_CHANGED when it
// sees interfaces come and go, and the other tests add bridges and taps (a VM each) all the time. Its
// namespace has only a loopback, where a relay forwards chromium's proxy traffic to a unix socket of
// this process (unix sockets are reached by path from any network namespace), and a proxy here opens
// the connections to the host's loopback. TLS stays end to end (CONNECT). Playwright's own
// client-certificate support is a proxy on the driver's loopback, which the isolated browser cannot
// reach: scenarios that present client certificates launch with `hostNetwork`.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const RELAY = join(import.meta.dirname, 'browser-netns-relay.ts');
/** Where the relay listens inside chromium's namespace (browser-netns-relay.ts). */
const RELAY_PORT = 3128;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const isolated = new WeakSet<Browser>();

export interface BrowserOptions {
  /** Trust self-signed certificates (the VCH's and the registry's own CAs are not in the system store). */
  ignoreHttpsErrors?: boolean;
  /** A client certificate to present to an origin that asks for one (mutual TLS). */
  clientCertificates?: Array<{ origin: string; certPath: string; keyPath: string }>;
}

/** The host side: a forward proxy on a unix socket that reaches the host's loopback only. */
function startLoopbackProxy(path: string): Promise<{ close(): void }> {
  const sockets = new Set<Socket>();
  const refuse = (socket: Socket, why: string) => socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Length: ${why.length}\r\n\r\n${why}`);
  const server = createHttpServer((req: IncomingMessage, res) => {
    // Plain http: chromium sends the absolute URL.
    const url = new URL(req.url ?? '/');
    if (!LOOPBACK.has(url.hostname)) { res.writeHead(403).end(`only loopback is reachable from the test browser, not ${url.host}`); return; }
    const upstream = httpRequest(url, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (err) => res.destroy(err));
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = new URL(`http://${req.url}`);
    if (!LOOPBACK.has(target.hostname)) { refuse(client, `only loopback is reachable from the test browser, not ${req.url}`); return; }
    const upstream = connect(Number(target.port || 443), target.hostname.replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    sockets.add(client).add(upstream);
    const drop = () => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(path, () => resolve({
      close() {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close();
      },
    }));
  });
}

/** Launches chromium once, in its own network namespace unless asked; close() it in the suite's after(). */
export async function launchBrowser(options: { hostNetwork?: boolean } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/install-system.sh installs Debian's chromium`);
  // --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
  const args = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];
  if (options.hostNetwork) return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
  const dir = mkdtempSync(join(tmpdir(), 'bonneville-browser-'));
  const proxySocket = join(dir, 'proxy.sock');
  const proxy = await startLoopbackProxy(proxySocket);
  const launcher = join(dir, 'chromium');
  writeFileSync(launcher, `#!/bin/sh\nexec unshare --net -- '${process.execPath}' '${RELAY}' '${proxySocket}' '${CHROMIUM}' "$@"\n`, { mode: 0o755 });
  try {
    // The proxy is used for loopback too (<-loopback> undoes chromium's implicit bypass of it).
    const browser = await chromium.launch({
      executablePath: launcher, headless: true,
      args: [...args, `--proxy-server=http://127.0.0.1:${RELAY_PORT}`, '--proxy-bypass-list=<-loopback>'],
    });
    isolated.add(browser);
    browser.on('disconnected', () => { proxy.close(); rmSync(dir, { recursive: true, force: true }); });
    return browser;
  } catch (err) {
    proxy.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A fresh profile (cookies, storage) for one scenario. */
export function newContext(browser: Browser, options: BrowserOptions = {}): Promise<BrowserContext> {
  if (options.clientCertificates && isolated.has(browser)) throw new Error('client certificates need a browser launched with { hostNetwork: true }');
  return browser.newContext({
    ignoreHTTPSErrors: options.ignoreHttpsErrors ?? true,
    clientCertificates: options.clientCertificates,
    viewport: { width: 1280, height: 800 },
  });
}
