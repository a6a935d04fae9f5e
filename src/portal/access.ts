// Project roles (Admiral's tenants) come from the registry's membership of the project of the same
// name: projectAdmin/maintainer → admin, developer → member, guest/limitedGuest → viewer. System
// administrators are admins everywhere. Containers belong to a project by label.
import type { Principal } from './sessions.ts';
import type { RegistryClient } from './registry-client.ts';
import { forbidden, notFound } from './http.ts';

export type Role = 'admin' | 'member' | 'viewer';
export const PROJECT_LABEL = 'bonneville.portal.project';
const roleOfId: Record<number, Role> = { 1: 'admin', 4: 'admin', 2: 'member', 3: 'viewer', 5: 'viewer' };
const rank: Record<Role, number> = { viewer: 1, member: 2, admin: 3 };

export interface ProjectView { name: string; projectId: number; role: Role | null; public: boolean }

export class Access {
  private readonly registry: RegistryClient;
  // One page load asks several times; each ask costs the registry a password check.
  private readonly recent = new Map<string, { at: number; list: Promise<any[]> }>();

  constructor(registry: RegistryClient) {
    this.registry = registry;
  }

  /** Forgets cached memberships (after the caller changed them). */
  forget(p: Principal): void {
    this.recent.delete(`${p.userId}:${p.password}`);
  }

  /** The projects the caller can see, with their role in each (as the registry said in the last 3 seconds). */
  async projects(p: Principal): Promise<ProjectView[]> {
    const key = `${p.userId}:${p.password}`;
    let entry = this.recent.get(key);
    if (!entry || Date.now() - entry.at > 3000) {
      entry = { at: Date.now(), list: this.registry.json<any[]>('GET', '/projects', p) };
      this.recent.set(key, entry);
      entry.list.catch(() => this.recent.delete(key));
      for (const [k, v] of this.recent) if (Date.now() - v.at > 3000) this.recent.delete(k);
    }
    const list = await entry.list;
    return list.map((x) => ({ name: x.name, projectId: x.project_id, public: x.public === true,
      role: p.sysadmin ? 'admin' : (roleOfId[x.current_user_role_id] ?? null) }));
  }

  async role(p: Principal, project: string): Promise<Role | null> {
    if (p.sysadmin) return 'admin';
    const found = (await this.projects(p)).find((x) => x.name === project);
    return found?.role ?? null;
  }

  /** 403 unless the caller holds at least `needed` in the project (404 when it cannot see it at all). */
  async require(p: Principal, project: string, needed: Role): Promise<Role> {
    if (p.sysadmin) return 'admin';
    const projects = await this.projects(p);
    const found = projects.find((x) => x.name === project);
    if (!found) throw notFound(`no such project: ${project}`);
    if (!found.role || rank[found.role] < rank[needed]) {
      throw forbidden(`your role in project ${project} is ${found.role ?? 'none (public project)'}; this needs ${needed}`);
    }
    return found.role;
  }

  /** What the caller may do to a container, from its project label: unlabelled ones are the administrators'. */
  async requireOnContainer(p: Principal, labels: Record<string, string> | null | undefined, needed: Role): Promise<void> {
    if (p.sysadmin) return;
    const project = labels?.[PROJECT_LABEL];
    if (!project) throw forbidden('this container belongs to no project; only administrators manage it');
    await this.require(p, project, needed);
  }
}

export function atLeast(role: Role | null, needed: Role): boolean {
  return role !== null && rank[role] >= rank[needed];
}
