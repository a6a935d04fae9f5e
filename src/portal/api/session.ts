// Logging in and out; who am I.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, requireString, sendJson } from '../http.ts';
import type { Portal } from '../portal.ts';
import { clearCookie, sessionCookie, setCookie, type Principal } from '../sessions.ts';

export async function login(portal: Portal, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  const { token, principal } = await portal.sessions.login(requireString(body, 'username'), requireString(body, 'password'));
  res.setHeader('Set-Cookie', setCookie(token));
  // The token is also a Bearer credential for scripts; the browser relies on the HttpOnly cookie.
  sendJson(res, 200, { username: principal.username, sysadmin: principal.sysadmin, token });
}

export function logout(portal: Portal, req: IncomingMessage, res: ServerResponse): void {
  // A script logs out its Bearer token; the browser its cookie's.
  const header = req.headers.authorization ?? '';
  portal.sessions.logout(/^bearer /i.test(header) ? header.slice(7).trim() : sessionCookie(req));
  res.setHeader('Set-Cookie', clearCookie);
  sendJson(res, 200, { loggedOut: true });
}

export async function me(portal: Portal, p: Principal, res: ServerResponse): Promise<void> {
  sendJson(res, 200, { username: p.username, sysadmin: p.sysadmin, projects: await portal.access.projects(p) });
}
