import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from './gate.ts';

/** One distribution API call, as handlers see it. */
export interface DistRequest extends Caller {
  req: IncomingMessage;
  res: ServerResponse;
  /** Repository name (empty for /v2/ and /v2/_catalog). */
  name: string;
  /** Digest, tag or upload id — the last path component where there is one. */
  reference: string;
  query: URLSearchParams;
}

export type DistHandler = (r: DistRequest) => Promise<void>;

export type RouteKind = 'base' | 'catalog' | 'blob' | 'uploads' | 'upload' | 'manifest' | 'tags' | 'referrers';

/** Handlers by resource and method; a missing method answers 405. */
export type DistRoutes = Partial<Record<RouteKind, Partial<Record<string, DistHandler>>>>;

/** Splits a /v2/... path into the resource it addresses. Names contain slashes, so match from the end. */
export function parseDistributionPath(path: string): { kind: RouteKind; name: string; reference: string } | null {
  if (path === '/v2/' || path === '/v2') return { kind: 'base', name: '', reference: '' };
  if (path === '/v2/_catalog') return { kind: 'catalog', name: '', reference: '' };
  const rest = path.slice('/v2/'.length);
  let m: RegExpExecArray | null;
  if ((m = /^(.+)\/blobs\/uploads\/?$/.exec(rest))) return { kind: 'uploads', name: m[1], reference: '' };
  if ((m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(rest))) return { kind: 'upload', name: m[1], reference: m[2] };
  if ((m = /^(.+)\/blobs\/([^/]+)$/.exec(rest))) return { kind: 'blob', name: m[1], reference: m[2] };
  if ((m = /^(.+)\/manifests\/([^/]+)$/.exec(rest))) return { kind: 'manifest', name: m[1], reference: m[2] };
  if ((m = /^(.+)\/tags\/list$/.exec(rest))) return { kind: 'tags', name: m[1], reference: '' };
  if ((m = /^(.+)\/referrers\/([^/]+)$/.exec(rest))) return { kind: 'referrers', name: m[1], reference: m[2] };
  return null;
}
