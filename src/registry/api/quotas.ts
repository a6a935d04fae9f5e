// /api/v2.0/quotas: per-project storage limits (enforced when blobs and manifests are pushed).
import type { Metadata, Project } from '../db/metadata.ts';
import { badRequest, notFound } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { requireSysadmin } from './guards.ts';
import type { ApiRoute } from './router.ts';

export function quotaRoutes(deps: { db: Metadata }): ApiRoute[] {
  const { db } = deps;
  const view = async (p: Project) => ({
    id: p.id, ref: { id: p.id, name: p.name }, hard: { storage: p.storageLimit }, used: { storage: await db.projectUsage(p.id) },
  });
  const project = async (id: string) => {
    const p = await db.projectById(Number(id));
    if (!p) throw notFound(`quota ${id}`);
    return p;
  };
  return [
    { method: 'GET', path: '/quotas', handler: async (r) => {
      requireSysadmin(r.principal);
      const out = [];
      for (const p of await db.listProjects()) out.push(await view(p));
      sendJson(r.res, 200, out);
    } },
    { method: 'GET', path: '/quotas/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      sendJson(r.res, 200, await view(await project(r.params.id)));
    } },
    { method: 'PUT', path: '/quotas/{id}', handler: async (r) => {
      requireSysadmin(r.principal);
      const p = await project(r.params.id);
      const body = await readJson(r.req, badRequest);
      const storage = body.hard?.storage;
      if (!Number.isInteger(storage) || storage < -1) throw badRequest('hard.storage must be an integer >= -1');
      await db.updateProject(p.id, { storageLimit: storage });
      sendEmpty(r.res, 200);
    } },
  ];
}
