import type { IncomingMessage, ServerResponse } from 'node:http';
import { payloadTooLarge, RegistryError } from './errors.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(data.length), ...headers });
  res.end(data);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'Content-Length': '0', ...headers });
  res.end();
}

/** The single place where errors become HTTP responses. */
export function sendError(res: ServerResponse, err: unknown, log: (msg: string) => void): void {
  const e = err instanceof RegistryError ? err : null;
  if (!e) log(`internal error: ${(err as Error)?.stack ?? String(err)}`);
  const status = e ? e.status : 500;
  const body = { errors: [{ code: e ? e.code : 'UNKNOWN', message: e ? e.message : 'internal server error', detail: e?.detail ?? null }] };
  if (res.headersSent) { res.destroy(); return; }
  sendJson(res, status, body, e?.headers ?? {});
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Largest JSON body the management API reads. */
export const MAX_JSON_BODY = 1 << 20;

/** A JSON object body ({} when empty); anything else (null, arrays, numbers, bad JSON) is the client's error. */
export async function readJson(req: IncomingMessage, bad: (why: string) => Error): Promise<any> {
  const body = await readBody(req, MAX_JSON_BODY, () => payloadTooLarge(`body larger than ${MAX_JSON_BODY} bytes`));
  if (body.length === 0) return {};
  let doc: unknown;
  try { doc = JSON.parse(body.toString('utf8')); } catch { throw bad('body is not valid JSON'); }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw bad('body must be a JSON object');
  return doc;
}

/** Discards what is left of a request body so keep-alive connections stay usable. */
export async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  for await (const _ of req) { /* discard */ }
}
