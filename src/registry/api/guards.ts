// Shared checks for the management API.
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

/** Finds a project by name or numeric id. */
export async function findProject(db: Metadata, nameOrId: string): Promise<Project> {
  const project = /^\d+$/.test(nameOrId) ? await db.projectById(Number(nameOrId)) : await db.projectByName(nameOrId);
  if (!project) throw notFound(`project ${nameOrId}`);
  return project;
}

/** Loads a project and checks a capability: 401 for anonymous callers, 403 for others lacking it. */
export async function projectWith(db: Metadata, access: AccessControl, p: Principal, nameOrId: string, cap: ProjectCapability): Promise<Project> {
  const project = await findProject(db, nameOrId);
  const caps = await access.projectCapabilities(p, project);
  if (!caps.has(cap)) {
    requireLogin(p);
    throw forbidden(`not allowed to ${cap} project ${project.name}`);
  }
  return project;
}
