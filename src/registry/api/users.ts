// /api/v2.0/users: local accounts.
import type { Metadata, User } from '../db/metadata.ts';
import { hashPassword, isStrongPassword, verifyPassword } from '../auth/passwords.ts';
import { badRequest, conflict, forbidden, notFound } from '../http/errors.ts';
import { readJson, sendEmpty, sendJson } from '../http/respond.ts';
import { requireLogin, requireSysadmin } from './guards.ts';
import type { ApiRequest, ApiRoute } from './router.ts';

export function userView(u: User) {
  return { user_id: u.id, username: u.username, email: u.email, realname: u.realname, sysadmin_flag: u.sysadmin, creation_time: new Date(u.createdAt).toISOString() };
}

const usernameRe = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,254}$/;

export function userRoutes(deps: { db: Metadata }): ApiRoute[] {
  const { db } = deps;
  const target = async (r: ApiRequest, selfAllowed: boolean): Promise<User> => {
    requireLogin(r.principal);
    const id = Number(r.params.id);
    const self = r.principal.kind === 'user' && r.principal.user.id === id;
    if (!(selfAllowed && self)) requireSysadmin(r.principal);
    const user = await db.userById(id);
    if (!user) throw notFound(`user ${r.params.id}`);
    return user;
  };
  return [
    { method: 'GET', path: '/users', handler: async (r) => {
      requireSysadmin(r.principal);
      sendJson(r.res, 200, (await db.listUsers()).map(userView));
    } },
    { method: 'POST', path: '/users', handler: async (r) => {
      requireSysadmin(r.principal);
      const body = await readJson(r.req, badRequest);
      if (typeof body.username !== 'string' || !usernameRe.test(body.username) || body.username.startsWith('robot$')) throw badRequest('invalid username');
      if (typeof body.password !== 'string' || !isStrongPassword(body.password)) {
        throw badRequest('password needs 8-128 characters with upper-case, lower-case letters and a digit');
      }
      if (await db.userByName(body.username)) throw conflict(`user ${body.username} exists`);
      const user = await db.createUser({ username: body.username, passwordHash: await hashPassword(body.password), sysadmin: false,
        email: String(body.email ?? ''), realname: String(body.realname ?? '') });
      sendEmpty(r.res, 201, { Location: `/api/v2.0/users/${user.id}` });
    } },
    { method: 'GET', path: '/users/current', handler: async (r) => {
      requireLogin(r.principal);
      if (r.principal.kind !== 'user') throw forbidden('not a user account');
      sendJson(r.res, 200, userView(r.principal.user));
    } },
    { method: 'GET', path: '/users/{id}', handler: async (r) => sendJson(r.res, 200, userView(await target(r, true))) },
    { method: 'DELETE', path: '/users/{id}', handler: async (r) => {
      const user = await target(r, false);
      if (r.principal.kind === 'user' && r.principal.user.id === user.id) throw forbidden('cannot delete yourself');
      await db.deleteUser(user.id);
      sendEmpty(r.res, 200);
    } },
    { method: 'PUT', path: '/users/{id}/password', handler: async (r) => {
      const user = await target(r, true);
      const body = await readJson(r.req, badRequest);
      const isAdmin = r.principal.kind === 'user' && r.principal.user.sysadmin && r.principal.user.id !== user.id;
      if (!isAdmin && !(typeof body.old_password === 'string' && (await verifyPassword(body.old_password, user.passwordHash)))) {
        throw forbidden('old password is wrong');
      }
      if (typeof body.new_password !== 'string' || !isStrongPassword(body.new_password)) throw badRequest('new password too weak');
      await db.updateUser(user.id, { passwordHash: await hashPassword(body.new_password) });
      sendEmpty(r.res, 200);
    } },
    { method: 'PUT', path: '/users/{id}/sysadmin', handler: async (r) => {
      const user = await target(r, false);
      const body = await readJson(r.req, badRequest);
      await db.updateUser(user.id, { sysadmin: body.sysadmin_flag === true });
      sendEmpty(r.res, 200);
    } },
  ];
}
