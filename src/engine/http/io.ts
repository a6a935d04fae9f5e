// Small request/response helpers shared by the routers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalid } from '../../portlayer/errors.ts';

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204).end();
}

const MAX_JSON_BODY = 8 * 1024 * 1024;

/** Parses a JSON request body; an empty body is `{}`. */
export async function readJsonBody<T>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY) throw invalid('request body is too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {} as T;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalid(`invalid JSON: ${(err as Error).message}`);
  }
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
  if (!Number.isInteger(n)) throw invalid(`invalid value for ${name}: ${value}`);
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
