// What every API handler reaches: the store, the hosts, the registry, sessions and access rules,
// and the questions several routes ask (which hosts a caller sees, which containers, a project's use).
import type { PortalStore } from './store.ts';
import type { HostInventory, HostRecord } from './hosts.ts';
import type { RegistryClient } from './registry-client.ts';
import type { Sessions, Principal } from './sessions.ts';
import { Access, PROJECT_LABEL, atLeast } from './access.ts';
import { forbidden, HttpError } from './http.ts';

export interface ContainerSummary {
  hostId: string;
  hostName: string;
  id: string;
  name: string;
  image: string;
  state: string;
  status: string;
  created: number;
  project: string | null;
  application: string | null;
  labels: Record<string, string>;
  memoryMiB: number;
  /** Published ports: container port/protocol → host address:port. */
  ports: { container: string; host: string }[];
}

/** Memory a container counts for in quotas when it was created without a limit: the VCH's default VM size. */
export const DEFAULT_MEMORY_MIB = 256;

export class Portal {
  readonly store: PortalStore;
  readonly hosts: HostInventory;
  readonly registry: RegistryClient;
  readonly sessions: Sessions;
  readonly access: Access;

  constructor(deps: { store: PortalStore; hosts: HostInventory; registry: RegistryClient; sessions: Sessions }) {
    this.store = deps.store;
    this.hosts = deps.hosts;
    this.registry = deps.registry;
    this.sessions = deps.sessions;
    this.access = new Access(deps.registry);
  }

  /** Hosts the caller sees: all for administrators, else those placed for one of their projects. */
  async visibleHosts(p: Principal): Promise<HostRecord[]> {
    const all = this.hosts.list();
    if (p.sysadmin) return all;
    const placed = new Set<string>();
    for (const project of await this.access.projects(p)) {
      if (project.role) for (const id of this.store.placements(project.name)) placed.add(id);
    }
    return all.filter((h) => placed.has(h.id));
  }

  async visibleHost(p: Principal, id: string): Promise<HostRecord> {
    const host = (await this.visibleHosts(p)).find((h) => h.id === id);
    if (!host) throw new HttpError(404, `no such host: ${id}`);
    return host;
  }

  /** Containers of these hosts (unreachable hosts skipped); for non-administrators only their projects' on placed hosts. */
  async containers(p: Principal | null, hosts?: HostRecord[]): Promise<ContainerSummary[]> {
    const targets = hosts ?? this.hosts.list();
    let allowed: ((c: ContainerSummary) => boolean) = () => true;
    if (p && !p.sysadmin) {
      const mine = new Map<string, Set<string>>();
      for (const project of await this.access.projects(p)) {
        if (project.role) mine.set(project.name, new Set(this.store.placements(project.name)));
      }
      allowed = (c) => c.project !== null && (mine.get(c.project)?.has(c.hostId) ?? false);
    }
    const lists = await Promise.all(targets.map(async (h) => {
      try {
        const raw = await h.docker.json<any[]>('GET', '/containers/json?all=1');
        return raw.map((c): ContainerSummary => ({
          hostId: h.id, hostName: h.name, id: c.Id, name: String(c.Names?.[0] ?? '').replace(/^\//, ''), image: c.Image,
          state: c.State, status: c.Status, created: c.Created, labels: c.Labels ?? {},
          project: c.Labels?.[PROJECT_LABEL] ?? null, application: c.Labels?.['com.docker.compose.project'] ?? null,
          memoryMiB: Number(c.Labels?.['bonneville.portal.memory-mib'] ?? DEFAULT_MEMORY_MIB),
          ports: (c.Ports ?? []).filter((x: any) => x.PublicPort).map((x: any) => ({ container: `${x.PrivatePort}/${x.Type}`, host: `${x.IP || '0.0.0.0'}:${x.PublicPort}` })),
        }));
      } catch {
        return [];
      }
    }));
    return lists.flat().filter(allowed);
  }

  private readonly admissions = new Map<string, Promise<unknown>>();

  /**
   * Runs `work` (admission and creation) after any other of the same project, so two requests cannot
   * both fit under a quota that has room for one.
   */
  serialize<T>(project: string | null, work: () => Promise<T>): Promise<T> {
    const key = project ?? '';
    const previous = this.admissions.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    const settled = next.catch(() => undefined);
    this.admissions.set(key, settled);
    void settled.then(() => { if (this.admissions.get(key) === settled) this.admissions.delete(key); });
    return next;
  }

  /**
   * Refuses (403) unless the caller may create `count` containers of `memoryMiB` each in `project` on
   * `hostId`: a member of it, the host placed for it, and its quotas (containers, memory) not exceeded.
   */
  async admit(p: Principal, project: string | null, hostId: string, count: number, memoryMiB: number): Promise<void> {
    if (!project) {
      if (!p.sysadmin) throw forbidden('choose a project: only administrators run containers outside projects');
      return;
    }
    const role = await this.access.require(p, project, 'member');
    if (!atLeast(role, 'member')) throw forbidden(`project ${project}: viewers cannot run containers`);
    const placements = this.store.placements(project);
    if (!placements.includes(hostId) && !p.sysadmin) throw forbidden(`project ${project} may not use host ${hostId} (no placement)`);
    const quota = this.store.quota(project);
    if (quota.maxContainers === null && quota.maxMemoryMiB === null) return;
    const used = (await this.containers(null)).filter((c) => c.project === project);
    const usedMemory = used.reduce((sum, c) => sum + c.memoryMiB, 0);
    if (quota.maxContainers !== null && used.length + count > quota.maxContainers) {
      throw forbidden(`quota exceeded: project ${project} may have ${quota.maxContainers} containers; it has ${used.length} and this asks for ${count} more`);
    }
    if (quota.maxMemoryMiB !== null && usedMemory + count * memoryMiB > quota.maxMemoryMiB) {
      throw forbidden(`quota exceeded: project ${project} may use ${quota.maxMemoryMiB} MiB of memory; it uses ${usedMemory} MiB and this asks for ${count * memoryMiB} MiB more`);
    }
  }
}
