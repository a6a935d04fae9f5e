// Docker's token service (GET /service/token): authenticates with Basic credentials (or none,
// for anonymous pulls of public projects) and signs a JWT granting the intersection of the
// requested scopes and what the caller is allowed — never more (no scope escalation).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metadata } from '../db/metadata.ts';
import type { AccessControl } from './access.ts';
import { isSysadmin } from './access.ts';
import type { TokenAccess, TokenSigner } from './jwt.ts';
import { authenticate, principalName } from './principal.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { sendJson } from '../http/respond.ts';
import { badRequest, RegistryError } from '../http/errors.ts';

export interface TokenServiceDeps {
  db: Metadata; access: AccessControl; signer: TokenSigner; service: string; issuer: string; ttlSeconds: number; throttle: LoginThrottle;
}

export function parseScope(scope: string): TokenAccess | null {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return null;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

export function tokenService(deps: TokenServiceDeps) {
  return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> => {
    if (req.method !== 'GET') throw new RegistryError(405, 'UNSUPPORTED', 'use GET');
    const service = query.get('service');
    if (service && service !== deps.service) throw badRequest(`unknown service ${service}`);
    // Credentials are checked here, not by the caller's token: a bearer token cannot mint another.
    const principal = req.headers.authorization?.toLowerCase().startsWith('basic ')
      ? await authenticate(req, deps.db, null, deps.throttle)
      : req.headers.authorization ? null : { kind: 'anonymous' as const };
    if (!principal) {
      throw new RegistryError(401, 'UNAUTHORIZED', 'invalid credentials', undefined, { 'WWW-Authenticate': 'Basic realm="bonneville-registry"' });
    }
    const granted: TokenAccess[] = [];
    const requested = query.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    for (const raw of requested) {
      const scope = parseScope(raw);
      if (!scope) throw badRequest(`invalid scope ${raw}`);
      if (scope.type === 'repository') {
        const allowed = await deps.access.repoActions(principal, scope.name);
        const wanted = scope.actions.includes('*') ? [...allowed] : scope.actions;
        const actions = [...new Set(wanted.filter((a) => allowed.has(a as never)))];
        granted.push({ type: 'repository', name: scope.name, actions });
      } else if (scope.type === 'registry' && scope.name === 'catalog') {
        granted.push({ type: 'registry', name: 'catalog', actions: isSysadmin(principal) ? ['*'] : [] });
      }
    }
    const { token, claims } = deps.signer.issue({
      issuer: deps.issuer, subject: principal.kind === 'anonymous' ? '' : principalName(principal),
      audience: deps.service, ttlSeconds: deps.ttlSeconds, access: granted,
    });
    sendJson(res, 200, {
      token, access_token: token, expires_in: deps.ttlSeconds, issued_at: new Date(claims.iat * 1000).toISOString(),
    });
  };
}
