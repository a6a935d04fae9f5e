// The registry's UI calls: its /api/v2.0 proxied with the logged-in user's credentials (so the
// registry's own RBAC decides), plus what Harbor's API has and this registry's lacks: deleting one tag
// (done through the distribution API, DELETE /v2/<repo>/manifests/<tag>) and the pull command.
import type { Route, RouteContext } from '../http.ts';
import { readBody, sendJson, HttpError } from '../http.ts';
import type { Portal } from '../portal.ts';
import type { Principal } from '../sessions.ts';
import { registryMessage } from '../registry-client.ts';

/** Sends the request on to the registry's /api/v2.0 (the path after /api/registry/) with the caller's credentials. */
export async function forwardToRegistry(portal: Portal, c: RouteContext<Principal>, body?: Buffer | string, path?: string): Promise<void> {
  const method = c.req.method ?? 'GET';
  if (body === undefined && method !== 'GET' && method !== 'DELETE') body = await readBody(c.req);
  // The raw path: repository names with slashes travel %2F-encoded, as Harbor's UI sends them.
  const target = path ?? `${c.url.pathname.slice('/api/registry/'.length)}${c.url.search}`;
  const res = await portal.registry.call(method, `/api/v2.0/${target}`, c.principal, body, typeof body === 'string' ? 'application/json' : c.req.headers['content-type']);
  if (res.status >= 400) throw new HttpError(res.status, registryMessage(res));
  const location = typeof res.headers.location === 'string' ? res.headers.location : undefined;
  const text = res.body.toString('utf8');
  let json: unknown = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = { text }; }
  if (json === null && location) json = { location, id: Number(location.split('/').pop()) || undefined };
  sendJson(c.res, res.status === 204 ? 200 : res.status, json ?? {});
}

export function registryRoutes(portal: Portal): Route<Principal>[] {
  const proxy = (method: string): Route<Principal> => ({ method, path: '/registry/{rest*}', handler: (c) => forwardToRegistry(portal, c) });
  return [
    { method: 'GET', path: '/registry-info', handler: async (c) => {
      sendJson(c.res, 200, { url: portal.registry.url.href, host: portal.registry.host, pullCommand: `docker pull ${portal.registry.host}/<project>/<repository>:<tag>` });
    } },
    { method: 'DELETE', path: '/registry-tags/{project}/{repo*}', handler: async (c) => {
      const tag = c.url.searchParams.get('tag');
      if (!tag) throw new HttpError(400, 'tag is required (?tag=NAME)');
      const res = await portal.registry.call('DELETE', `/v2/${c.params.project}/${c.params.repo}/manifests/${encodeURIComponent(tag)}`, c.principal);
      if (res.status >= 400) throw new HttpError(res.status, registryMessage(res));
      sendJson(c.res, 200, { deleted: `${c.params.project}/${c.params.repo}:${tag}` });
    } },
    proxy('GET'), proxy('POST'), proxy('PUT'), proxy('DELETE'),
  ];
}
