// Small request/response helpers shared by the routers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalid } from '../../portlayer/errors.ts';
import { RequestTooLarge } from './errors.ts';

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204).end();
}

/** The largest JSON request body taken (a create request from the docker CLI is a few KB). Byte streams
 * (image load, build context, archive upload, import) are not read this way and have no such bound. */
export const MAX_JSON_BODY = 2 * 1024 * 1024;

// Bodies read (and checked against the API's schema) before the handler ran, by request.
const readAhead = new WeakMap<IncomingMessage, Record<string, unknown>>();

/** Reads, parses and keeps a request's JSON body for the handler's readJsonBody; `check` may refuse it. */
export async function readJsonBodyAhead(req: IncomingMessage, check: (body: Record<string, unknown>) => void): Promise<void> {
  const body = await parseJsonBody(req);
  check(body);
  readAhead.set(req, body);
}

/** Parses a JSON request body; an empty body is `{}`. Anything but a JSON object is refused. */
export async function readJsonBody<T>(req: IncomingMessage): Promise<T> {
  const ahead = readAhead.get(req);
  if (ahead) return ahead as T;
  return await parseJsonBody(req) as T;
}

async function parseJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const tooLarge = () => new RequestTooLarge(`request body is too large: JSON request bodies are limited to ${MAX_JSON_BODY / 1024 / 1024} MiB`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_JSON_BODY) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw invalid(`invalid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('invalid JSON: the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Docker's boolean query values: "1", "true", "True" are true; absent is the default. */
export function queryBool(query: URLSearchParams, name: string, fallback = false): boolean {
  const value = query.get(name);
  if (value === null || value === '') return fallback;
  return !['0', 'false', 'False', 'FALSE', 'no'].includes(value);
}

export function queryInt(query: URLSearchParams, name: string): number | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  const n = Number(value);
  // Decimal digits only (as Go's strconv.Atoi): "1e308", "0x10" or " 5" are not integers to dockerd.
  if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(n)) throw invalid(`invalid value for ${name}: ${value}`);
  return n;
}

/** Docker's time arguments (since/until): unix seconds with an optional fraction, as nanoseconds. */
export function queryUnixNanos(query: URLSearchParams, name: string): bigint | undefined {
  const value = query.get(name);
  if (!value) return undefined;
  const match = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (!match) throw invalid(`invalid value for ${name}: ${value}`);
  return BigInt(match[1]) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

/** The h and w of a tty resize request. */
export function queryConsoleSize(query: URLSearchParams): { rows: number; cols: number } {
  const rows = queryInt(query, 'h');
  const cols = queryInt(query, 'w');
  if (rows === undefined || cols === undefined || rows < 0 || cols < 0) throw invalid('resize needs h and w');
  return { rows, cols };
}

/** Docker's `filters` query parameter: {"key": ["v1", …]} or the old {"key": {"v1": true}}. */
export function queryFilters(query: URLSearchParams): Map<string, string[]> {
  const raw = query.get('filters');
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid(`invalid filter: ${raw}`);
  }
  if (!parsed || typeof parsed !== 'object') throw invalid(`invalid filter: ${raw}`);
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(value)) out.set(key, value.map(String));
    else if (value && typeof value === 'object') out.set(key, Object.keys(value));
    else throw invalid(`invalid filter: ${raw}`);
  }
  return out;
}
