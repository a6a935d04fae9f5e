// /api/v2.0/projects/{project}/members: who holds which role in a project.
import type { Member, Metadata } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import { isRoleId, roleNames } from '../auth/roles.ts';
import { badRequest, conflict, notFound } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { projectWith, projectRef } from './guards.ts';
import type { ApiRoute } from './router.ts';

const memberView = (m: Member) => ({
  id: m.id, project_id: m.projectId, entity_id: m.userId, entity_name: m.username, entity_type: 'u', role_id: m.roleId, role_name: roleNames[m.roleId],
});

export function memberRoutes(deps: { db: Metadata; access: AccessControl }): ApiRoute[] {
  const { db, access } = deps;
  const member = async (projectId: number, id: string) => {
    const m = await db.memberById(projectId, Number(id));
    if (!m) throw notFound(`member ${id}`);
    return m;
  };
  return [
    { method: 'GET', path: '/projects/{project}/members', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'readMembers');
      sendJson(r.res, 200, (await db.listMembers(p.id)).map(memberView));
    } },
    { method: 'POST', path: '/projects/{project}/members', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'manageMembers');
      const body = await readJson(r.req, badRequest);
      if (!isRoleId(body.role_id)) throw badRequest('role_id must be 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limitedGuest)');
      const ref = body.member_user ?? {};
      const user = typeof ref.user_id === 'number' ? await db.userById(ref.user_id) : typeof ref.username === 'string' ? await db.userByName(ref.username) : null;
      if (!user) throw notFound('user');
      if (await db.roleOf(p.id, user.id)) throw conflict(`${user.username} is already a member`);
      const m = await db.addMember(p.id, user.id, body.role_id);
      sendEmpty(r.res, 201, { Location: `/api/v2.0/projects/${p.id}/members/${m.id}` });
    } },
    { method: 'GET', path: '/projects/{project}/members/{id}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'readMembers');
      sendJson(r.res, 200, memberView(await member(p.id, r.params.id)));
    } },
    { method: 'PUT', path: '/projects/{project}/members/{id}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'manageMembers');
      const m = await member(p.id, r.params.id);
      const body = await readJson(r.req, badRequest);
      if (!isRoleId(body.role_id)) throw badRequest('invalid role_id');
      await db.updateMember(p.id, m.id, body.role_id);
      sendEmpty(r.res, 200);
    } },
    { method: 'DELETE', path: '/projects/{project}/members/{id}', handler: async (r) => {
      const p = await projectWith(db, access, r.principal, projectRef(r), 'manageMembers');
      const m = await member(p.id, r.params.id);
      await db.removeMember(p.id, m.id);
      sendEmpty(r.res, 200);
    } },
  ];
}
