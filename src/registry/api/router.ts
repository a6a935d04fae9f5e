// The Harbor-style management API under /api/v2.0: a route table of (method, path pattern,
// handler). Callers authenticate with Basic credentials; anonymous callers see public data only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metadata } from '../db/metadata.ts';
import { authenticate, type Principal } from '../auth/principal.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import { badRequest, decodePathPart, RegistryError } from '../http/errors.ts';
import { drain } from '../http/respond.ts';

export interface ApiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  principal: Principal;
}

export interface ApiRoute { method: string; path: string; handler: (r: ApiRequest) => Promise<void> }

const prefix = '/api/v2.0';

function compile(path: string): RegExp {
  // `{name}` matches one path segment.
  return new RegExp(`^${path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
}

export function apiRouter(db: Metadata, throttle: LoginThrottle, routes: ApiRoute[]) {
  const table = routes.map((r) => ({ ...r, re: compile(r.path) }));
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const path = url.pathname.slice(prefix.length).replace(/\/$/, '');
    const principal = await authenticate(req, db, null, throttle);
    if (!principal) {
      await drain(req);
      throw new RegistryError(401, 'UNAUTHORIZED', 'invalid credentials', undefined, { 'WWW-Authenticate': 'Basic realm="bonneville-registry"' });
    }
    let pathMatched = false;
    for (const route of table) {
      const m = route.re.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodePathPart(v, badRequest);
      // Ids are whole numbers: anything else would reach the database as NaN.
      for (const k of Object.keys(params)) if ((k === 'id' || k === 'eid') && !/^\d{1,15}$/.test(params[k])) {
        await drain(req);
        throw badRequest(`${k} must be a positive integer`);
      }
      await route.handler({ req, res, params, query: url.searchParams, principal });
      return;
    }
    await drain(req);
    if (pathMatched) throw new RegistryError(405, 'UNSUPPORTED', `${req.method} not allowed on ${url.pathname}`);
    throw new RegistryError(404, 'NOT_FOUND', `no such API endpoint ${url.pathname}`);
  };
}
