// /api/v2.0/registries: the remote registries replication talks to (system administrators only).
// Secrets are write-only: listed as "*****".
import type { RemoteRegistry, ReplicationStore } from '../replication/store.ts';
import type { Replicator } from '../replication/replicator.ts';
import { badRequest, conflict, notFound, precondition } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { requireSysadmin } from './guards.ts';
import type { ApiRoute } from './router.ts';

const types = new Set(['docker-registry', 'harbor']);

const view = (r: RemoteRegistry) => ({
  id: r.id, name: r.name, type: r.type, url: r.url, insecure: r.insecure, description: r.description, status: 'healthy',
  credential: { type: 'basic', access_key: r.accessKey, access_secret: r.accessSecret ? '*****' : '' },
  creation_time: new Date(r.createdAt).toISOString(),
});

/** Validates a create/update body over the current values. */
function fields(body: any, current?: RemoteRegistry): Omit<RemoteRegistry, 'id' | 'createdAt'> {
  const name = body.name ?? current?.name;
  const type = body.type ?? current?.type ?? 'docker-registry';
  const url = body.url ?? current?.url;
  if (typeof name !== 'string' || !/^[\w.-]{1,255}$/.test(name)) throw badRequest('name is required (letters, digits, _ . -)');
  if (!types.has(type)) throw badRequest(`type must be one of ${[...types].join(', ')}`);
  let parsed: URL;
  try { parsed = new URL(String(url)); } catch { throw badRequest('url must be an http(s) URL'); }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badRequest('url must be an http(s) URL');
  const cred = body.credential ?? {};
  return {
    name, type, url: parsed.href.replace(/\/+$/, ''),
    accessKey: String(cred.access_key ?? current?.accessKey ?? ''),
    accessSecret: String(cred.access_secret ?? current?.accessSecret ?? ''),
    insecure: typeof body.insecure === 'boolean' ? body.insecure : current?.insecure ?? false,
    description: String(body.description ?? current?.description ?? ''),
  };
}

export function registryRoutes(deps: { store: ReplicationStore; replicator: Replicator }): ApiRoute[] {
  const { store } = deps;
  const find = async (id: string) => {
    const r = await store.registry(Number(id));
    if (!r) throw notFound(`registry ${id}`);
    return r;
  };
  return [
    { method: 'GET', path: '/registries', handler: async (r) => {
      requireSysadmin(r.principal);
      sendJson(r.res, 200, (await store.registries()).map(view));
    } },
    { method: 'POST', path: '/registries', handler: async (r) => {
      requireSysadmin(r.principal);
      const f = fields(await readJson(r.req, badRequest));
      if (await store.registryByName(f.name)) throw conflict(`registry ${f.name} exists`);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/registries/${await store.addRegistry(f)}` });
    } },
    { method: 'POST', path: '/registries/ping', handler: async (r) => {
      requireSysadmin(r.principal);
      const body = await readJson(r.req, badRequest);
      const target = body.id !== undefined ? await find(String(body.id)) : { ...fields({ name: 'ping', ...body }), id: 0, createdAt: 0 };
      try {
        await deps.replicator.remoteClient(target).catalog();
      } catch (e) {
        throw badRequest(`registry unreachable: ${e instanceof Error ? e.message : e}`);
      }
      sendEmpty(r.res, 200);
    } },
    { method: 'GET', path: '/registries/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      sendJson(r.res, 200, view(await find(r.params.id)));
    } },
    { method: 'PUT', path: '/registries/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      const current = await find(r.params.id);
      await store.updateRegistry({ ...current, ...fields(await readJson(r.req, badRequest), current) });
      sendEmpty(r.res, 200);
    } },
    { method: 'DELETE', path: '/registries/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      const current = await find(r.params.id);
      if (await store.registryInUse(current.id)) throw precondition(`registry ${current.name} is used by a replication policy`);
      await store.deleteRegistry(current.id);
      sendEmpty(r.res, 200);
    } },
  ];
}
