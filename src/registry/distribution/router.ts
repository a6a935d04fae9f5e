// Entry point of the /v2/ API: authenticates the caller, finds the route, runs it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metadata } from '../db/metadata.ts';
import { authenticate, type TokenCheck } from '../auth/principal.ts';
import type { LoginThrottle } from '../auth/login-throttle.ts';
import { decodePathPart, nameInvalid, RegistryError, unauthorized } from '../http/errors.ts';
import { drain } from '../http/respond.ts';
import type { Challenge } from './gate.ts';
import { parseDistributionPath, type DistRoutes } from './request.ts';

export interface DistributionRouterDeps {
  db: Metadata;
  tokens: TokenCheck;
  throttle: LoginThrottle;
  routes: DistRoutes;
  /** The token service URL as the client should reach it. */
  realm: (req: IncomingMessage) => string;
}

export function distributionRouter(deps: DistributionRouterDeps) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    const realm = deps.realm(req);
    const challenge: Challenge = (scope, error) =>
      `Bearer realm="${realm}",service="${deps.tokens.service}"${scope ? `,scope="${scope}"` : ''}${error ? `,error="${error}"` : ''}`;
    const principal = await authenticate(req, deps.db, deps.tokens, deps.throttle);
    if (!principal) {
      await drain(req);
      throw unauthorized(challenge(), 'invalid credentials or expired token');
    }
    const target = parseDistributionPath(decodePathPart(url.pathname, nameInvalid));
    if (!target) throw new RegistryError(404, 'NAME_UNKNOWN', `no such endpoint ${url.pathname}`);
    const byMethod = deps.routes[target.kind] ?? {};
    const method = req.method ?? 'GET';
    const handler = byMethod[method];
    if (!handler) {
      await drain(req);
      throw new RegistryError(405, 'UNSUPPORTED', `${method} is not supported here`, undefined, { Allow: Object.keys(byMethod).join(', ') });
    }
    await handler({ req, res, name: target.name, reference: target.reference, query: url.searchParams, principal, challenge });
  };
}

/** GET /v2/: answers 200 to any authenticated caller, 401 with a challenge to anonymous ones (what `docker login` expects). */
export async function baseHandler(r: { principal: { kind: string }; challenge: Challenge; res: ServerResponse }): Promise<void> {
  if (r.principal.kind === 'anonymous') throw unauthorized(r.challenge());
  r.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '2' });
  r.res.end('{}');
}
