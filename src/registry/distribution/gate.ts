// Opens a repository for an action: validates the name, checks the caller's permissions
// (401 with a Bearer challenge for anonymous callers or tokens lacking scope, 403 otherwise)
// and finds the project and repository.
import type { Metadata, Project, Repository } from '../db/metadata.ts';
import type { AccessControl } from '../auth/access.ts';
import { projectNameOf } from '../auth/access.ts';
import type { Principal } from '../auth/principal.ts';
import type { RepoAction } from '../auth/roles.ts';
import { denied, nameUnknown, unauthorized } from '../http/errors.ts';
import { validateName } from './names.ts';

export type Challenge = (scope?: string, error?: string) => string;

export interface Caller { principal: Principal; challenge: Challenge }

export interface OpenRepo { project: Project; repo: Repository | null; name: string }

export class RepoGate {
  private readonly db: Metadata;
  private readonly access: AccessControl;
  constructor(db: Metadata, access: AccessControl) { this.db = db; this.access = access; }

  async allowed(caller: Caller, name: string, actions: RepoAction[]): Promise<boolean> {
    const held = await this.access.repoActions(caller.principal, name);
    return actions.every((a) => held.has(a));
  }

  async open(caller: Caller, name: string, actions: RepoAction[], create = false): Promise<OpenRepo> {
    validateName(name);
    if (!(await this.allowed(caller, name, actions))) {
      const scope = `repository:${name}:${actions.join(',')}`;
      const p = caller.principal;
      if (p.kind === 'anonymous') throw unauthorized(caller.challenge(scope));
      if (p.kind === 'token') throw unauthorized(caller.challenge(scope, 'insufficient_scope'), 'insufficient scope for this request');
      throw denied(`requested access to ${name} is denied`);
    }
    const project = await this.db.projectByName(projectNameOf(name));
    if (!project) throw nameUnknown(name);
    const repo = create ? await this.db.ensureRepository(project.id, name) : await this.db.repositoryByName(name);
    return { project, repo, name };
  }
}
