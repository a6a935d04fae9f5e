// Applies a project's retention policy: per covered repository, deletes the tags no rule
// retains (immutable tags are kept), then the manifests that lost their last tag and nothing
// else needs. A dry run records the same outcome and changes nothing. Blobs are left to GC.
import type { JobTrigger, Metadata, Project } from '../db/metadata.ts';
import type { EventBus } from '../events.ts';
import { isImmutableTag } from '../distribution/immutability.ts';
import { evaluate } from './rules.ts';
import type { RepoOutcome, RetentionExecution, RetentionPolicy, RetentionStore } from './store.ts';

export const retentionOperator = 'retention$service';

export interface RetentionRunnerDeps {
  db: Metadata; store: RetentionStore; events: EventBus; log: (line: string) => void;
  /** This process's id, recorded as the owner of its executions. */
  owner: string;
}

export class RetentionRunner {
  private readonly deps: RetentionRunnerDeps;
  private readonly running = new Set<Promise<void>>();
  constructor(deps: RetentionRunnerDeps) { this.deps = deps; }

  async start(policy: RetentionPolicy, project: Project, dryRun: boolean, trigger: JobTrigger = 'MANUAL'): Promise<RetentionExecution> {
    const exec = await this.deps.store.startExecution(policy.id, dryRun, trigger, this.deps.owner);
    const p = this.execute(policy, project, exec).catch((e) => this.deps.log(`retention ${exec.id}: ${e}`));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
    return exec;
  }

  private async execute(policy: RetentionPolicy, project: Project, exec: RetentionExecution): Promise<void> {
    const repositories: RepoOutcome[] = [];
    try {
      for (const repo of await this.deps.db.listProjectRepositories(project.id)) {
        const outcome = await this.applyTo(policy, project, repo.id, repo.name, exec.dryRun);
        if (outcome) repositories.push(outcome);
      }
      exec.status = 'Succeed';
      exec.result = { repositories };
    } catch (e) {
      exec.status = 'Failed';
      exec.result = { repositories, error: e instanceof Error ? e.message : String(e) };
    }
    exec.finishedAt = Date.now();
    await this.deps.store.finishExecution(exec);
  }

  private async applyTo(policy: RetentionPolicy, project: Project, repoId: number, name: string, dryRun: boolean): Promise<RepoOutcome | null> {
    const { db } = this.deps;
    const tags = await db.tagRecords(repoId);
    const inProject = name.slice(project.name.length + 1);
    const verdict = evaluate(policy.rules, inProject, tags.map((t) => ({ name: t.name, pushedAt: t.updatedAt })), Date.now());
    if (!verdict) return null;
    const outcome: RepoOutcome = { repository: name, retained: verdict.retained, deleted: [], kept: [], manifestsDeleted: 0 };
    const base = { operator: retentionOperator, projectId: project.id, projectName: project.name, repository: name };
    const losing = new Set<string>();
    for (const tag of tags.filter((t) => verdict.deleted.includes(t.name))) {
      if (await isImmutableTag(db, project.id, name, tag.name)) { outcome.kept.push(tag.name); continue; }
      outcome.deleted.push(tag.name);
      losing.add(tag.digest);
      if (dryRun || !(await db.deleteTag(repoId, tag.name))) continue;
      this.deps.events.emit({ ...base, type: 'DELETE_TAG', digest: tag.digest, tag: tag.name, mediaType: null });
    }
    if (dryRun) return outcome;
    for (const m of await db.untaggedManifests(Date.now() + 1)) {
      if (m.repoId !== repoId || !losing.has(m.digest)) continue;
      if (await db.deleteManifest(repoId, m.digest)) {
        outcome.manifestsDeleted++;
        this.deps.events.emit({ ...base, type: 'DELETE_ARTIFACT', digest: m.digest, tag: null, mediaType: null });
      }
    }
    return outcome;
  }

  async idle(): Promise<void> { while (this.running.size > 0) await Promise.all([...this.running]); }
}
