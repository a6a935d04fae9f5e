// POST /auth (`docker login`): checks the credentials against the registry; nothing is stored here
// (the CLI keeps them and sends them with every pull and push).
import type { Route, RequestContext } from '../http/router.ts';
import { readJsonBody, sendJson } from '../http/io.ts';
import { invalid } from '../../portlayer/errors.ts';
import { RegistryClient } from '../../portlayer/images/registry/client.ts';
import type { RegistryConfig } from '../registry-config.ts';

export interface AuthRoutesBackend {
  registries: RegistryConfig;
}

interface AuthRequest {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

export function authRoutes(b: AuthRoutesBackend): Route[] {
  return [{ method: 'POST', path: '/auth', handler: (ctx) => login(b, ctx) }];
}

/** "https://host:5000/v2/" or "host:5000" → "host:5000"; Docker Hub's many names → "docker.io". */
export function registryDomain(address: string | undefined): string {
  if (!address) return 'docker.io';
  const bare = address.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (['index.docker.io', 'registry-1.docker.io', 'docker.io'].includes(bare)) return 'docker.io';
  return bare;
}

async function login(b: AuthRoutesBackend, ctx: RequestContext): Promise<void> {
  const body = await readJsonBody<AuthRequest>(ctx.req);
  if (!body.username && !body.identitytoken) throw invalid('a username (or an identity token) is required');
  const client = new RegistryClient({
    domain: registryDomain(body.serveraddress),
    credentials: { username: body.username, password: body.password, identitytoken: body.identitytoken },
    access: b.registries.access(),
    scopes: [],
  });
  try {
    await client.login();
  } finally {
    client.close();
  }
  sendJson(ctx.res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
}
