// Runs replication policies: push-based (this registry → a remote) and pull-based (a remote →
// this registry), started by hand, by a cron (`scheduled`, through jobs/scheduler.ts) or, for
// push-based event_based policies, by each push. This registry is reached through its own
// distribution API with a short-lived token it mints for itself, so replicated pushes pass the
// same checks (quotas, immutability) as any other push.
import type { Metadata } from '../db/metadata.ts';
import type { RegistryEvent } from '../events.ts';
import { globMatch } from '../distribution/glob.ts';
import { DistributionClient } from './client.ts';
import { copyArtifact } from './copy.ts';
import type { Execution, Policy, ReplicationStore, RemoteRegistry } from './store.ts';

/** The token subject of replication's own calls; its pushes trigger no further replication. */
export const replicationSubject = 'replication$service';

export interface ReplicatorDeps {
  store: ReplicationStore;
  db: Metadata;
  /** Base URL at which this process serves the distribution API. */
  selfUrl: () => string;
  /** A bearer token allowing pull and push on one local repository. */
  mintToken: (repository: string) => string;
  log: (line: string) => void;
  /** This process's id, recorded as the owner of its executions. */
  owner: string;
}

interface Endpoint { client: DistributionClient; repositories(): Promise<string[]>; tags(repo: string): Promise<string[]> }
interface Item { repo: string; tag: string }

/** Harbor's destination namespace: it replaces the source's first path component (or prefixes a one-component name). */
export function destinationName(source: string, namespace: string): string {
  if (!namespace) return source;
  const slash = source.indexOf('/');
  return `${namespace}/${slash < 0 ? source : source.slice(slash + 1)}`;
}

export class Replicator {
  private readonly deps: ReplicatorDeps;
  private readonly running = new Set<Promise<void>>();
  constructor(deps: ReplicatorDeps) { this.deps = deps; }

  remoteClient(r: RemoteRegistry): DistributionClient {
    return new DistributionClient({ url: r.url, username: r.accessKey || undefined, password: r.accessSecret, insecure: r.insecure });
  }

  private async endpoint(registryId: number | null): Promise<Endpoint> {
    if (registryId === null) {
      const { db } = this.deps;
      // Our own loopback listener: its (possibly generated) certificate need not be in any trust store.
      const client = new DistributionClient({ url: this.deps.selfUrl(), insecure: true, authorize: (repo) => `Bearer ${this.deps.mintToken(repo)}` });
      return {
        client,
        repositories: async () => (await db.listRepositories('', Number.MAX_SAFE_INTEGER)).map((r) => r.name),
        tags: async (name) => {
          const repo = await db.repositoryByName(name);
          return repo ? (await db.tagRecords(repo.id)).map((t) => t.name) : [];
        },
      };
    }
    const remote = await this.deps.store.registry(registryId);
    if (!remote) throw new Error(`registry ${registryId} no longer exists`);
    const client = this.remoteClient(remote);
    return { client, repositories: () => client.catalog(), tags: (repo) => client.tags(repo) };
  }

  /** Starts an execution in the background and returns its record; `only` narrows it to one artifact. */
  async start(policy: Policy, triggerType: string, only?: Item): Promise<Execution> {
    const exec = await this.deps.store.startExecution(policy.id, triggerType, this.deps.owner);
    const p = this.execute(policy, exec, only).catch((e) => this.deps.log(`replication ${exec.id}: ${e}`));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return exec;
  }

  private async execute(policy: Policy, exec: Execution, only?: Item): Promise<void> {
    try {
      const src = await this.endpoint(policy.srcRegistryId);
      const dst = await this.endpoint(policy.destRegistryId);
      const items = only ? [only] : await this.candidates(policy, src);
      for (const item of items) {
        const dstRepo = destinationName(item.repo, policy.destNamespace);
        const startedAt = Date.now();
        const task = { src: `${item.repo}:${item.tag}`, dst: `${dstRepo}:${item.tag}`, startedAt };
        try {
          const outcome = await copyArtifact({ client: src.client, repo: item.repo }, { client: dst.client, repo: dstRepo }, item.tag, policy.override);
          exec.tasks.push({ ...task, status: outcome === 'skipped' ? 'Skipped' : 'Succeed', message: outcome, finishedAt: Date.now() });
          exec.succeeded++;
        } catch (e) {
          exec.tasks.push({ ...task, status: 'Failed', message: e instanceof Error ? e.message : String(e), finishedAt: Date.now() });
          exec.failed++;
        }
      }
      exec.total = items.length;
      exec.status = exec.failed > 0 ? 'Failed' : 'Succeed';
    } catch (e) {
      exec.status = 'Failed';
      exec.tasks.push({ src: '', dst: '', status: 'Failed', message: e instanceof Error ? e.message : String(e), startedAt: exec.startedAt, finishedAt: Date.now() });
    }
    exec.finishedAt = Date.now();
    await this.deps.store.finishExecution(exec);
    this.deps.log(`replication ${exec.id} (policy ${policy.name}): ${exec.status}, ${exec.succeeded}/${exec.total}`);
  }

  private async candidates(policy: Policy, src: Endpoint): Promise<Item[]> {
    const out: Item[] = [];
    for (const repo of await src.repositories()) {
      if (!globMatch(policy.filters.name, repo)) continue;
      for (const tag of await src.tags(repo)) if (globMatch(policy.filters.tag, tag)) out.push({ repo, tag });
    }
    return out;
  }

  /** Event trigger: a push here starts every enabled push-based event_based policy it matches. */
  onEvent(e: RegistryEvent): void {
    if (e.type !== 'PUSH_ARTIFACT' || !e.tag || e.operator === replicationSubject) return;
    const tag = e.tag;
    const p = (async () => {
      for (const policy of await this.deps.store.policies()) {
        if (!policy.enabled || policy.triggerType !== 'event_based' || policy.srcRegistryId !== null) continue;
        if (globMatch(policy.filters.name, e.repository) && globMatch(policy.filters.tag, tag)) await this.start(policy, 'event_based', { repo: e.repository, tag });
      }
    })().catch((err) => this.deps.log(`replication trigger: ${err}`));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  async idle(): Promise<void> { while (this.running.size > 0) await Promise.all([...this.running]); }
}
