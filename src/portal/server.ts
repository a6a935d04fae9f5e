// The portal's HTTPS server: /api (REST, server-sent events, the console websocket) and the built UI.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';
import { compileRoutes, matchRoute, sendError, HttpError, type Route } from './http.ts';
import type { Portal } from './portal.ts';
import type { Principal } from './sessions.ts';
import { containerRoutes, inspectVisible } from './api/containers.ts';
import { hostRoutes } from './api/hosts.ts';
import { templateRoutes } from './api/templates.ts';
import { projectRoutes } from './api/projects.ts';
import { registryRoutes } from './api/registry.ts';
import { registryAdminRoutes } from './api/registry-admin.ts';
import { login, logout, me } from './api/session.ts';
import { openApiDocument } from './openapi.ts';
import { EventsHub } from './events-hub.ts';
import { UsageSampler } from './usage-sampler.ts';
import { acceptConsole } from './console.ts';

const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml' };

export function apiRouteTable(portal: Portal, sampler: UsageSampler): Route<Principal>[] {
  return [...hostRoutes(portal, sampler), ...containerRoutes(portal), ...templateRoutes(portal), ...projectRoutes(portal),
    ...registryAdminRoutes(portal), ...registryRoutes(portal)];
}

export interface PortalServerOptions { portal: Portal; uiDir: string; tls: { cert: Buffer; key: Buffer }; sampleIntervalMs?: number }

export function createPortalServer(o: PortalServerOptions): { server: Server; close: () => void } {
  const { portal } = o;
  const sampler = new UsageSampler(portal.hosts, o.sampleIntervalMs ?? 5000);
  const events = new EventsHub(portal.hosts);
  const routes = apiRouteTable(portal, sampler);
  const table = compileRoutes(routes);
  const openapi = JSON.stringify(openApiDocument(routes));

  /** Cookie-authenticated writes and websockets must come from the portal's own pages. */
  const sameOrigin = (req: IncomingMessage) => {
    const origin = req.headers.origin;
    if (!origin || req.headers.authorization) return true;
    try { return new URL(origin).host === req.headers.host; } catch { return false; }
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const path = url.pathname.slice('/api'.length);
    if (path === '/openapi.json') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(openapi); return; }
    if (req.method !== 'GET' && !sameOrigin(req)) throw new HttpError(403, 'cross-origin request refused');
    if (path === '/login' && req.method === 'POST') return login(portal, req, res);
    if (path === '/logout' && req.method === 'POST') return logout(portal, req, res);
    const principal = await portal.sessions.authenticate(req);
    if (path === '/me' && req.method === 'GET') return me(portal, principal, res);
    if (path === '/events' && req.method === 'GET') {
      const projects = new Map<string, Set<string>>();
      for (const p of await portal.access.projects(principal)) if (p.role) projects.set(p.name, new Set(portal.store.placements(p.name)));
      events.add(res, (hostId, project) => principal.sysadmin || (project !== null && (projects.get(project)?.has(hostId) ?? false)));
      return;
    }
    const found = matchRoute(table, req.method ?? 'GET', path);
    if (found === 'method') throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
    if (!found) throw new HttpError(404, `no such API endpoint: ${url.pathname}`);
    await found.route.handler({ req, res, url, params: found.params, principal });
  };

  const serveUi = async (res: ServerResponse, url: URL) => {
    const rel = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = extname(rel) ? join(o.uiDir, rel) : join(o.uiDir, 'index.html'); // client-side routes get the app
    if (!file.startsWith(o.uiDir)) throw new HttpError(404, 'not found');
    let data: Buffer;
    try { data = await readFile(file); } catch { throw new HttpError(404, `not found: ${url.pathname}`); }
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache',
      'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
      'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY' });
    res.end(data);
  };

  const server = createServer({ cert: o.tls.cert, key: o.tls.key }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://portal');
    const work = url.pathname === '/api' || url.pathname.startsWith('/api/') ? handleApi(req, res, url) : serveUi(res, url);
    work.catch((err: unknown) => sendError(res, err));
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, message: string) => {
      socket.end(`HTTP/1.1 ${status} ${message.replace(/[\r\n]/g, ' ')}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ message })}`);
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'https://portal');
      const m = /^\/api\/hosts\/([^/]+)\/containers\/([^/]+)\/console$/.exec(url.pathname);
      if (!m) return refuse(404, 'no websocket here');
      if (!sameOrigin(req)) return refuse(403, 'cross-origin websocket refused');
      const principal = await portal.sessions.authenticate(req);
      const { docker, info } = await inspectVisible(portal, { req, res: null as never, url, principal, params: { host: decodeURIComponent(m[1]), id: decodeURIComponent(m[2]) } }, 'member');
      if (!info.State?.Running) return refuse(409, 'the container is not running');
      const cmd = url.searchParams.get('cmd') ?? 'sh';
      acceptConsole(req, socket, head, docker, info.Id, cmd.split(' ').filter(Boolean));
    })().catch((err: unknown) => refuse(err instanceof HttpError ? err.status : 500, err instanceof Error ? err.message : String(err)));
  });

  return { server, close: () => { events.close(); sampler.stop(); } };
}

