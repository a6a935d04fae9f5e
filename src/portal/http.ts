// The portal's HTTP plumbing: a JSON error type, body reading, and a small route table.
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export const badRequest = (m: string) => new HttpError(400, m);
export const forbidden = (m: string) => new HttpError(403, m);
export const notFound = (m: string) => new HttpError(404, m);
export const conflict = (m: string) => new HttpError(409, m);

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), 'Cache-Control': 'no-store' });
  res.end(data);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const status = err instanceof HttpError ? err.status : 500;
  const message = err instanceof Error ? err.message : String(err);
  if (res.headersSent) { res.destroy(); return; }
  sendJson(res, status, { message });
}

const MAX_BODY = 4 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A JSON object body; 400 unless it is one. */
export async function readJson(req: IncomingMessage): Promise<Record<string, any>> {
  const raw = (await readBody(req)).toString('utf8');
  if (raw.trim() === '') return {};
  let body: unknown;
  try { body = JSON.parse(raw); } catch { throw badRequest('request body is not valid JSON'); }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('request body must be a JSON object');
  return body as Record<string, any>;
}

export function requireString(body: Record<string, any>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v.trim() === '') throw badRequest(`${key} is required`);
  return v;
}

export interface RouteContext<P> {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  principal: P;
}

export interface Route<P> {
  method: string;
  path: string;
  handler: (c: RouteContext<P>) => Promise<void>;
  /** The route's OpenAPI summary and request body, when the route carries its own documentation. */
  summary?: string;
  body?: Record<string, unknown>;
}

interface Compiled<P> extends Route<P> { re: RegExp }

/** `{name}` matches one path segment; `{name*}` the rest of the path. */
export function compileRoutes<P>(routes: Route<P>[]): Compiled<P>[] {
  return routes.map((r) => ({
    ...r,
    re: new RegExp(`^${r.path.replace(/\{(\w+)\*\}/g, '(?<$1>.+)').replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`),
  }));
}

export function matchRoute<P>(table: Compiled<P>[], method: string, path: string): { route: Compiled<P>; params: Record<string, string> } | 'method' | null {
  let pathMatched = false;
  for (const route of table) {
    const m = route.re.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (route.method !== method) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) {
      try { params[k] = decodeURIComponent(v); } catch { throw badRequest(`bad path segment ${v}`); }
    }
    return { route, params };
  }
  return pathMatched ? 'method' : null;
}
