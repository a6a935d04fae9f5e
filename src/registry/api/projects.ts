// /api/v2.0/projects: projects (public/private) with their storage quota.
import type { Metadata, Project } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import { projectNameRe } from '../distribution/names.ts';
import { badRequest, conflict, forbidden, precondition } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { projectWith, requireLogin, projectRef } from './guards.ts';
import type { ApiRoute } from './router.ts';

async function projectView(db: Metadata, p: Project, principal: Principal) {
  const role = principal.kind === 'user' ? await db.roleOf(p.id, principal.user.id) : null;
  return {
    project_id: p.id, name: p.name, public: p.public, metadata: { public: String(p.public) },
    creation_time: new Date(p.createdAt).toISOString(), current_user_role_id: role ?? 0,
    repo_count: (await db.listProjectRepositories(p.id)).length,
  };
}

/** Accepts Harbor's `metadata.public: "true"` as well as a plain boolean `public`. */
function publicFlag(body: any): boolean | undefined {
  if (typeof body.public === 'boolean') return body.public;
  const m = body.metadata?.public;
  if (m === undefined) return undefined;
  return m === true || m === 'true';
}

function storageLimit(body: any): number | undefined {
  const v = body.storage_limit;
  if (v === undefined) return undefined;
  if (!Number.isInteger(v) || v < -1) throw badRequest('storage_limit must be an integer >= -1');
  return v;
}

export function projectRoutes(deps: { db: Metadata; access: AccessControl }): ApiRoute[] {
  const { db, access } = deps;
  return [
    { method: 'GET', path: '/projects', handler: async (r) => {
      const visible: unknown[] = [];
      for (const p of await db.listProjects()) {
        if ((await access.projectCapabilities(r.principal, p)).has('read')) visible.push(await projectView(db, p, r.principal));
      }
      sendJson(r.res, 200, visible);
    } },
    { method: 'POST', path: '/projects', handler: async (r) => {
      requireLogin(r.principal);
      if (r.principal.kind !== 'user') throw forbidden('only users create projects');
      const body = await readJson(r.req, badRequest);
      const name = body.project_name;
      if (typeof name !== 'string' || name.length < 1 || name.length > 255 || !projectNameRe.test(name)) throw badRequest('invalid project_name');
      const limit = storageLimit(body);
      if (limit !== undefined && limit !== -1 && !r.principal.user.sysadmin) throw forbidden('only administrators set quotas');
      if (await db.projectByName(name)) throw conflict(`project ${name} exists`);
      const project = await db.createProject({ name, public: publicFlag(body) ?? false, storageLimit: limit ?? -1 });
      await db.addMember(project.id, r.principal.user.id, 1);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/projects/${project.id}` });
    } },
    { method: 'GET', path: '/projects/{project}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'read');
      sendJson(r.res, 200, await projectView(db, p, r.principal));
    } },
    { method: 'PUT', path: '/projects/{project}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'update');
      const body = await readJson(r.req, badRequest);
      const limit = storageLimit(body);
      if (limit !== undefined && !(r.principal.kind === 'user' && r.principal.user.sysadmin)) throw forbidden('only administrators set quotas');
      await db.updateProject(p.id, { public: publicFlag(body), storageLimit: limit });
      sendEmpty(r.res, 200);
    } },
    { method: 'DELETE', path: '/projects/{project}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'delete');
      if ((await db.listProjectRepositories(p.id)).length > 0) throw precondition(`project ${p.name} still has repositories`);
      await db.deleteProject(p.id);
      sendEmpty(r.res, 200);
    } },
    { method: 'GET', path: '/projects/{project}/summary', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'read');
      sendJson(r.res, 200, {
        repo_count: (await db.listProjectRepositories(p.id)).length,
        quota: { hard: { storage: p.storageLimit }, used: { storage: await db.projectUsage(p.id) } },
      });
    } },
  ];
}
