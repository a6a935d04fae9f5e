// /api/v2.0/robots: robot accounts with per-project repository permissions and an expiry.
// A robot is named robot$<project>+<name>; its secret is shown once, at creation.
import type { Metadata, Robot, RobotPermission } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import { hashPassword, randomSecret } from '../auth/passwords.ts';
import { badRequest, conflict, forbidden, notFound } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { requireLogin } from './guards.ts';
import type { ApiRoute } from './router.ts';

const robotView = (r: Robot) => ({
  id: r.id, name: r.name, description: r.description, level: 'project', disable: r.disabled, expires_at: r.expiresAt,
  duration: r.expiresAt === -1 ? -1 : undefined, permissions: r.permissions, creation_time: new Date(r.createdAt).toISOString(),
});

const actions = new Set(['pull', 'push', 'delete']);

export function robotRoutes(deps: { db: Metadata; access: AccessControl }): ApiRoute[] {
  const { db, access } = deps;
  /** Robots are managed by whoever may manage robots in the robot's project (by id; a robot whose project is gone by no one). */
  const mayManage = async (p: Principal, projectId: number | null) => {
    const project = projectId === null ? null : await db.projectById(projectId);
    return project !== null && (await access.projectCapabilities(p, project)).has('manageRobots');
  };
  const robot = async (r: { params: Record<string, string>; principal: Principal }) => {
    requireLogin(r.principal);
    const found = await db.robotById(Number(r.params.id));
    if (!found) throw notFound(`robot ${r.params.id}`);
    if (!(await mayManage(r.principal, found.projectId))) throw forbidden('not allowed to manage this robot');
    return found;
  };
  return [
    { method: 'POST', path: '/robots', handler: async (r) => {
      requireLogin(r.principal);
      const body = await readJson(r.req, badRequest);
      if (typeof body.name !== 'string' || !/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(body.name)) throw badRequest('invalid robot name');
      const duration = body.duration ?? -1;
      if (!Number.isInteger(duration) || (duration < 1 && duration !== -1)) throw badRequest('duration is a number of days, or -1 for never');
      const perms: RobotPermission[] = [];
      for (const p of Array.isArray(body.permissions) ? body.permissions : []) {
        if (p?.kind !== 'project' || typeof p.namespace !== 'string' || !Array.isArray(p.access)) throw badRequest('invalid permission');
        const access = p.access.map((a: any) => {
          if (a?.resource !== 'repository' || !actions.has(a.action)) throw badRequest(`unsupported access ${JSON.stringify(a)}`);
          return { resource: 'repository' as const, action: a.action };
        });
        perms.push({ kind: 'project', namespace: p.namespace, access });
      }
      if (perms.length !== 1) throw badRequest('a project robot has exactly one project permission');
      // The namespace is a project name, never an id: an all-digits name must not select the project with that id.
      const project = await db.projectByName(perms[0].namespace);
      if (!project) throw notFound(`project ${perms[0].namespace}`);
      if (!(await mayManage(r.principal, project.id))) throw forbidden('not allowed to create robots in this project');
      const name = `robot$${perms[0].namespace}+${body.name}`;
      if (await db.robotByName(name)) throw conflict(`robot ${name} exists`);
      const secret = randomSecret(24);
      const created = await db.createRobot({
        name, secretHash: await hashPassword(secret), description: String(body.description ?? ''), permissions: perms, projectId: project.id,
        expiresAt: duration === -1 ? -1 : Math.floor(Date.now() / 1000) + duration * 86400, disabled: false,
      });
      sendJson(r.res, 201, { id: created.id, name, secret, expires_at: created.expiresAt, creation_time: new Date(created.createdAt).toISOString() },
        { Location: `/api/v2.0/robots/${created.id}` });
    } },
    { method: 'GET', path: '/robots', handler: async (r) => {
      requireLogin(r.principal);
      const out = [];
      for (const robot of await db.listRobots()) if (await mayManage(r.principal, robot.projectId)) out.push(robotView(robot));
      sendJson(r.res, 200, out);
    } },
    { method: 'GET', path: '/robots/{id}', handler: async (r) => sendJson(r.res, 200, robotView(await robot(r))) },
    { method: 'DELETE', path: '/robots/{id}', handler: async (r) => {
      await db.deleteRobot((await robot(r)).id);
      sendEmpty(r.res, 200);
    } },
  ];
}
