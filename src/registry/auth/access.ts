// Permission checks: what a principal may do to a repository or a project.
import type { Metadata, Project } from '../db/metadata.ts';
import type { Principal } from './principal.ts';
import { capabilitiesOfRole, repoActionsOfRole, type ProjectCapability, type RepoAction } from './roles.ts';

export const allRepoActions: RepoAction[] = ['pull', 'push', 'delete'];

/** The project a repository belongs to is its first path component (Harbor's model). */
export function projectNameOf(repository: string): string {
  return repository.split('/')[0];
}

export function isSysadmin(p: Principal): boolean {
  if (p.kind === 'user') return p.user.sysadmin;
  if (p.kind === 'token') return p.claims.access.some((a) => a.type === 'registry' && a.name === 'catalog' && a.actions.includes('*'));
  return false;
}

export class AccessControl {
  private readonly db: Metadata;
  constructor(db: Metadata) { this.db = db; }

  /** Actions the principal holds on a repository (through its project). */
  async repoActions(p: Principal, repository: string): Promise<Set<RepoAction>> {
    if (p.kind === 'token') {
      const out = new Set<RepoAction>();
      for (const a of p.claims.access) {
        if (a.type !== 'repository' || a.name !== repository) continue;
        for (const act of a.actions) {
          if (act === '*') allRepoActions.forEach((x) => out.add(x));
          else if ((allRepoActions as string[]).includes(act)) out.add(act as RepoAction);
        }
      }
      return out;
    }
    const project = await this.db.projectByName(projectNameOf(repository));
    if (p.kind === 'user' && p.user.sysadmin) return new Set(allRepoActions);
    if (!project) return new Set();
    return this.projectRepoActions(p, project);
  }

  async projectRepoActions(p: Principal, project: Project): Promise<Set<RepoAction>> {
    const out = new Set<RepoAction>();
    if (project.public) out.add('pull');
    if (p.kind === 'user') {
      if (p.user.sysadmin) return new Set(allRepoActions);
      const role = await this.db.roleOf(project.id, p.user.id);
      if (role) repoActionsOfRole[role].forEach((a) => out.add(a));
    } else if (p.kind === 'robot') {
      // By id: the namespace text could name another (or a later) project.
      if (p.robot.projectId !== project.id) return out;
      for (const perm of p.robot.permissions) {
        if (perm.kind !== 'project') continue;
        for (const a of perm.access) if (a.resource === 'repository' && allRepoActions.includes(a.action)) out.add(a.action);
      }
    }
    return out;
  }

  /** Management-API capabilities on a project; an empty set also hides the project. */
  async projectCapabilities(p: Principal, project: Project): Promise<Set<ProjectCapability>> {
    if (p.kind === 'user' && p.user.sysadmin) return new Set(capabilitiesOfRole[1]);
    const out = new Set<ProjectCapability>();
    if (project.public) out.add('read');
    if (p.kind === 'user') {
      const role = await this.db.roleOf(project.id, p.user.id);
      if (role) capabilitiesOfRole[role].forEach((c) => out.add(c));
    } else if (p.kind === 'robot' && (await this.projectRepoActions(p, project)).size > 0) {
      out.add('read');
    }
    return out;
  }
}
