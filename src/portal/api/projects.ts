// Projects (Admiral's tenants) are the registry's projects of the same name; the portal adds
// placements (hosts a project may use) and quotas (containers, memory).
import type { Route } from '../http.ts';
import { badRequest, forbidden, readJson, requireString, sendJson } from '../http.ts';
import type { Portal } from '../portal.ts';
import type { Principal } from '../sessions.ts';

export function projectRoutes(portal: Portal): Route<Principal>[] {
  const withUse = async (name: string) => {
    const used = (await portal.containers(null)).filter((c) => c.project === name);
    return { placements: portal.store.placements(name), quota: portal.store.quota(name),
      used: { containers: used.length, memoryMiB: used.reduce((n, c) => n + c.memoryMiB, 0) } };
  };
  return [
    { method: 'GET', path: '/projects', handler: async (c) => {
      const out = [];
      for (const p of await portal.access.projects(c.principal)) out.push({ ...p, ...(await withUse(p.name)) });
      sendJson(c.res, 200, out);
    } },
    { method: 'POST', path: '/projects', handler: async (c) => {
      const body = await readJson(c.req);
      const name = requireString(body, 'name');
      await portal.registry.json('POST', '/projects', c.principal, { project_name: name, metadata: { public: String(body.public === true) } });
      portal.access.forget(c.principal);
      sendJson(c.res, 201, { name });
    } },
    { method: 'GET', path: '/projects/{name}', handler: async (c) => {
      const project = (await portal.access.projects(c.principal)).find((p) => p.name === c.params.name);
      if (!project) throw badRequest(`no such project: ${c.params.name}`);
      sendJson(c.res, 200, { ...project, ...(await withUse(project.name)) });
    } },
    { method: 'PUT', path: '/projects/{name}/placements', handler: async (c) => {
      if (!c.principal.sysadmin) throw forbidden('only administrators place projects on hosts');
      await portal.access.require(c.principal, c.params.name, 'admin');
      const body = await readJson(c.req);
      if (!Array.isArray(body.hostIds) || !body.hostIds.every((x: unknown) => typeof x === 'string')) throw badRequest('hostIds must be an array of host ids');
      const known = new Set(portal.hosts.list().map((h) => h.id));
      for (const id of body.hostIds) if (!known.has(id)) throw badRequest(`no such host: ${id}`);
      portal.store.setPlacements(c.params.name, body.hostIds);
      sendJson(c.res, 200, await withUse(c.params.name));
    } },
    { method: 'PUT', path: '/projects/{name}/quota', handler: async (c) => {
      if (!c.principal.sysadmin) throw forbidden('only administrators set quotas');
      await portal.access.require(c.principal, c.params.name, 'admin');
      const body = await readJson(c.req);
      const limit = (k: string) => {
        const v = body[k];
        if (v === null || v === undefined) return null;
        if (!Number.isInteger(v) || v < 0) throw badRequest(`${k} must be a whole number >= 0 or null (no limit)`);
        return v as number;
      };
      portal.store.setQuota({ project: c.params.name, maxContainers: limit('maxContainers'), maxMemoryMiB: limit('maxMemoryMiB') });
      sendJson(c.res, 200, await withUse(c.params.name));
    } },
  ];
}
