// The VCH's admin page (VIC's vicadmin): HTTPS on its own port, signed in by the VCH's client
// certificate or the admin password; status, the engine's live log, each container VM's serial
// console, and a support bundle to download.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, fstatSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminTls } from './tls.ts';
import { publicHost } from './tls.ts';
import type { LogRing } from './log-ring.ts';
import { collectStatus, StorageSurvey, type VchView } from './status.ts';
import { readTail, followFile } from './file-follow.ts';
import { writeBundle, clearBundleStaging } from './bundle.ts';
import { loginPage, statusPage, logPage, notFoundPage, type Viewer } from './pages.ts';
import {
  LoginThrottle, Sessions, SESSION_COOKIE, clearedSessionCookie, cookieValue, passwordMatches, sameOrigin,
  sessionCookie, verifiedClientCertificate,
} from './auth.ts';

const assetsDir = join(dirname(fileURLToPath(import.meta.url)), 'assets');
const ASSETS: Record<string, { file: string; type: string }> = {
  '/assets/admin.js': { file: 'admin.js', type: 'text/javascript; charset=utf-8' },
  '/assets/admin.css': { file: 'admin.css', type: 'text/css; charset=utf-8' },
};
const TAIL_BYTES = 256 * 1024;
const KEEPALIVE_MS = 15_000;
const MAX_FORM_BYTES = 4096;

export interface AdminServerOptions {
  view: VchView;
  host: string;
  port: number;
  tls: AdminTls;
  password: string;
  /** The engine's recent output from memory (see teeStderr). */
  ring: LogRing;
  log: (line: string) => void;
}

export interface RunningAdminServer {
  server: Server;
  /** https://host:port/ as a browser reaches it. */
  url: string;
  close(): Promise<void>;
}

/** The engine's log file, and whether the engine writes its stderr there right now (then the file is the live log). */
function engineLogSource(datastore: string): { file?: string; isStderr: boolean } {
  const file = join(datastore, 'engine.log');
  let st;
  try {
    st = statSync(file);
  } catch {
    return { isStderr: false };
  }
  try {
    const err = fstatSync(2);
    return { file, isStderr: err.dev === st.dev && err.ino === st.ino };
  } catch {
    return { file, isStderr: false };
  }
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Strict-Transport-Security': 'max-age=31536000',
  'Cache-Control': 'no-store',
};

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

const html = (res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}) =>
  send(res, status, 'text/html; charset=utf-8', body, headers);
const json = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, 'application/json', JSON.stringify(value) + '\n');
const redirect = (res: ServerResponse, to: string, headers: Record<string, string | string[]> = {}) => {
  res.writeHead(303, { Location: to, 'Content-Length': 0, ...headers });
  res.end();
};

/** Log text fit for the page: terminal escape sequences and other control characters dropped. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b[@-Z\\-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '').replace(/\r\n?/g, '\n');
}

/** Streams a log as Server-Sent Events: `start` sends the tail, then follows until the client goes. */
function eventStream(res: ServerResponse, start: (sendText: (text: string) => void, signal: AbortSignal) => Promise<void>): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const abort = new AbortController();
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  res.on('close', () => { clearInterval(keepalive); abort.abort(); });
  const sendText = (text: string) => {
    const clean = printable(text);
    if (clean && !res.writableEnded) res.write(`event: text\ndata: ${JSON.stringify(clean)}\n\n`);
  };
  return start(sendText, abort.signal);
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_FORM_BYTES) {
        req.destroy();
        reject(new Error('form too large'));
      }
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

export async function startAdminServer(options: AdminServerOptions): Promise<RunningAdminServer> {
  const { view } = options;
  await clearBundleStaging(view.datastore);
  const sessions = new Sessions();
  const throttle = new LoginThrottle();
  const storage = new StorageSurvey(view.datastore);
  const assets = Object.fromEntries(Object.entries(ASSETS).map(([path, a]) => [path, { body: readFileSync(join(assetsDir, a.file)), type: a.type }]));

  const viewerOf = (req: IncomingMessage): Viewer | undefined => {
    const subject = verifiedClientCertificate(req);
    if (subject) return { how: 'certificate', subject };
    if (sessions.check(cookieValue(req, SESSION_COOKIE))) return { how: 'password' };
    return undefined;
  };

  const login = async (req: IncomingMessage, res: ServerResponse) => {
    if (!sameOrigin(req)) return html(res, 403, loginPage(view.name, 'Refused: the sign-in form was not sent from this page.'));
    const address = req.socket.remoteAddress ?? '';
    const wait = throttle.waitMs(address);
    if (wait > 0) {
      req.resume();
      const seconds = Math.ceil(wait / 1000);
      return html(res, 429, loginPage(view.name, `Too many wrong passwords: try again in ${seconds} s.`), { 'Retry-After': String(seconds) });
    }
    const form = await readForm(req);
    if (!passwordMatches(options.password, form.get('password') ?? '')) {
      throttle.failed(address);
      options.log(`admin: wrong password from ${address}`);
      return html(res, 401, loginPage(view.name, 'Wrong password.'));
    }
    throttle.succeeded(address);
    options.log(`admin: signed in with the password from ${address}`);
    redirect(res, '/', { 'Set-Cookie': sessionCookie(sessions.create()) });
  };

  const engineLog = async (res: ServerResponse) => {
    const source = engineLogSource(view.datastore);
    await eventStream(res, async (sendText, signal) => {
      if (source.file && source.isStderr) {
        const tail = await readTail(source.file, TAIL_BYTES);
        sendText(tail.text);
        followFile(source.file, tail.end, sendText, signal);
        return;
      }
      const text = options.ring.text();
      sendText(text.length > TAIL_BYTES ? text.slice(text.indexOf('\n', text.length - TAIL_BYTES) + 1) : text);
      const unsubscribe = options.ring.subscribe(sendText);
      signal.addEventListener('abort', unsubscribe, { once: true });
    });
  };

  const findContainer = (id: string) => view.containers().find((c) => c.record.id === id);

  const consoleLog = async (res: ServerResponse, id: string) => {
    const container = findContainer(id);
    if (!container) return json(res, 404, { message: `No such container: ${id}` });
    const file = join(container.dir, 'console.log');
    await eventStream(res, async (sendText, signal) => {
      const tail = await readTail(file, TAIL_BYTES);
      sendText(tail.text);
      followFile(file, tail.end, sendText, signal);
    });
  };

  const bundle = async (res: ServerResponse) => {
    const source = engineLogSource(view.datastore);
    const status = await collectStatus(view, storage);
    const name = `bonneville-${view.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-logs.tar.gz`;
    res.writeHead(200, { 'Content-Type': 'application/gzip', 'Content-Disposition': `attachment; filename="${name}"` });
    await writeBundle({
      view,
      engineLogFile: source.file,
      // The ring holds what the file lacks when stderr goes elsewhere.
      recentEngineLog: source.isStderr ? undefined : options.ring.text(),
      status,
    }, res);
  };

  const dispatch = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'https://admin.invalid').pathname;
    const asset = assets[path];
    if (asset && method === 'GET') return send(res, 200, asset.type, asset.body);
    if (path === '/login') {
      if (method === 'POST') return login(req, res);
      if (method === 'GET') return viewerOf(req) ? redirect(res, '/') : html(res, 200, loginPage(view.name));
      return json(res, 405, { message: `${method} not allowed` });
    }
    const viewer = viewerOf(req);
    if (!viewer) {
      req.resume();
      if (method === 'GET' && !path.startsWith('/api/')) return redirect(res, '/login');
      return json(res, 401, { message: 'sign in with the VCH client certificate or the admin password' });
    }
    if (method === 'POST') {
      // Only same-origin forms change anything (SameSite=Strict cookies aside).
      if (!sameOrigin(req)) {
        req.resume();
        return json(res, 403, { message: 'cross-origin request refused' });
      }
      if (path === '/logout') {
        req.resume();
        sessions.end(cookieValue(req, SESSION_COOKIE));
        return redirect(res, '/login', { 'Set-Cookie': clearedSessionCookie() });
      }
      return json(res, 404, { message: `no such page: ${path}` });
    }
    if (method !== 'GET') return json(res, 405, { message: `${method} not allowed` });
    const consoleMatch = /^\/(api\/)?containers\/([0-9a-f]{64})(\/console)?$/.exec(path);
    if (path === '/') return html(res, 200, statusPage(await collectStatus(view, storage), view.containers(), viewer));
    if (path === '/api/status') return json(res, 200, await collectStatus(view, storage));
    if (path === '/api/containers') {
      return json(res, 200, view.containers().map((c) => ({ id: c.record.id, name: c.record.spec.name, status: c.state.status, paused: !!c.state.paused })));
    }
    if (path === '/logs') {
      const source = engineLogSource(view.datastore);
      const note = source.isStderr ? `From <code>engine.log</code> in the datastore.` : 'The engine\'s output since it started (kept in memory).';
      return html(res, 200, logPage(view.name, 'Engine log', '/api/logs/engine', viewer, note));
    }
    if (path === '/api/logs/engine') return engineLog(res);
    if (consoleMatch && consoleMatch[1] && consoleMatch[3]) return consoleLog(res, consoleMatch[2]);
    if (consoleMatch && !consoleMatch[1] && !consoleMatch[3]) {
      const c = findContainer(consoleMatch[2]);
      if (!c) return html(res, 404, notFoundPage(view.name, 'No such container.', viewer));
      return html(res, 200, logPage(view.name, `Console of ${c.record.spec.name}`, `/api/containers/${c.record.id}/console`, viewer,
        'The container VM\'s serial console: the guest kernel\'s and the tether\'s messages.'));
    }
    if (path === '/bundle') return bundle(res);
    return html(res, 404, notFoundPage(view.name, `No page ${path}.`, viewer));
  };

  const server = createServer({
    cert: options.tls.cert,
    key: options.tls.key,
    ca: options.tls.ca,
    // Ask for a certificate but let clients without one (or with another CA's) reach the login page.
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  }, (req, res) => {
    dispatch(req, res).catch((error: unknown) => {
      options.log(`admin: ${req.method} ${req.url}: ${(error as Error).message}`);
      if (!res.headersSent) json(res, 500, { message: (error as Error).message });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address() as AddressInfo;
  const host = publicHost(options.host);
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${address.port}/`;
  return {
    server,
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
