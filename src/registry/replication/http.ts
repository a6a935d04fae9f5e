// Outgoing HTTP(S) for replication: node:http(s) rather than fetch, so a request can trust a
// remote's self-signed certificate (`insecure`) and stream a blob from one response into
// another request's body.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

export interface OutgoingRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  insecure?: boolean;
}

export function send(r: OutgoingRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const options = { method: r.method, headers: r.headers ?? {}, ...(r.url.protocol === 'https:' ? { rejectUnauthorized: !r.insecure } : {}) };
    const req = (r.url.protocol === 'https:' ? httpsRequest : httpRequest)(r.url, options, resolve);
    req.setTimeout(120_000, () => req.destroy(new Error(`${r.method} ${r.url.href}: timed out`)));
    req.on('error', reject);
    if (!r.body || Buffer.isBuffer(r.body)) req.end(r.body);
    else {
      r.body.on('error', (e) => req.destroy(e));
      r.body.pipe(req);
    }
  });
}

export async function readAll(res: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of res) {
    total += (c as Buffer).length;
    if (total > limit) { res.destroy(); throw new Error(`response larger than ${limit} bytes`); }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function discard(res: IncomingMessage): void { res.resume(); }

/** Parses `Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`). */
export function parseChallenge(header: string | undefined): { scheme: string; params: Record<string, string> } | null {
  if (!header) return null;
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.slice(space + 1).matchAll(/(\w+)="([^"]*)"/g)) params[m[1]] = m[2];
  return { scheme, params };
}
