// Shared checks for the management API.
import type { IncomingMessage } from 'node:http';
import type { Metadata, Project } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import type { ProjectCapability } from '../auth/roles.ts';
import { forbidden, notFound, RegistryError } from '../http/errors.ts';

export function requireLogin(p: Principal): void {
  if (p.kind === 'anonymous') {
    throw new RegistryError(401, 'UNAUTHORIZED', 'login required', undefined, { 'WWW-Authenticate': 'Basic realm="bonneville-registry"' });
  }
}

export function requireSysadmin(p: Principal): void {
  requireLogin(p);
  if (!(p.kind === 'user' && p.user.sysadmin)) throw forbidden('system administrator rights required');
}

/** How a request names a project: `{project_name_or_id}` is an id when all digits, unless the
 *  client says it is a name (Harbor's `X-Is-Resource-Name: true`), so an all-digits name stays reachable. */
export interface ProjectRef { text: string; isName: boolean }

export function projectRef(r: { req: IncomingMessage; params: Record<string, string> }): ProjectRef {
  return { text: r.params.project, isName: String(r.req.headers['x-is-resource-name']).toLowerCase() === 'true' };
}

export const projectIdRef = (id: unknown): ProjectRef => ({ text: String(id), isName: false });

/** Finds a project by name or numeric id. */
export async function findProject(db: Metadata, ref: ProjectRef): Promise<Project> {
  const byId = !ref.isName && /^\d{1,15}$/.test(ref.text);
  const project = byId ? await db.projectById(Number(ref.text)) : await db.projectByName(ref.text);
  if (!project) throw notFound(`project ${ref.text}`);
  return project;
}

/** Loads a project and checks a capability: 401 for anonymous callers, 403 for others lacking it.
 *  An anonymous caller gets the same 401 for a missing project as for a private one, so it cannot
 *  probe which private projects exist. */
export async function projectWith(db: Metadata, access: AccessControl, p: Principal, ref: ProjectRef, cap: ProjectCapability): Promise<Project> {
  const project = await findProject(db, ref).catch((e: unknown) => {
    if (p.kind === 'anonymous' && e instanceof RegistryError && e.status === 404) requireLogin(p);
    throw e;
  });
  const caps = await access.projectCapabilities(p, project);
  if (!caps.has(cap)) {
    requireLogin(p);
    throw forbidden(`not allowed to ${cap} project ${project.name}`);
  }
  return project;
}
