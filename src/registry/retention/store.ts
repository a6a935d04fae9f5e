// Retention's records: one policy per project (its rules and cron schedule) and the history of
// its executions, each owned by the process running it.
import type { JobTrigger } from '../db/metadata.ts';
import type { Row, SqlDriver } from '../db/sql.ts';
import { ownerGone } from '../jobs/liveness.ts';
import type { RetentionRule } from './rules.ts';

/** `cron` is '' when the policy only runs by hand; `scheduleSince` is when the cron was set. */
export interface RetentionPolicy { id: number; projectId: number; rules: RetentionRule[]; cron: string; scheduleSince: number; createdAt: number }
export interface RepoOutcome { repository: string; retained: string[]; deleted: string[]; kept: string[]; manifestsDeleted: number }
export interface RetentionExecution {
  id: number; policyId: number; dryRun: boolean; trigger: JobTrigger; status: 'Running' | 'Succeed' | 'Failed'; startedAt: number; finishedAt: number | null;
  result: { repositories: RepoOutcome[]; error?: string } | null;
}

const toPolicy = (r: Row | undefined): RetentionPolicy | null =>
  r ? { id: Number(r.id), projectId: Number(r.project_id), rules: JSON.parse(String(r.rules)), cron: String(r.schedule ?? ''),
    scheduleSince: Number(r.schedule_since ?? 0), createdAt: Number(r.created_at) } : null;
const toExecution = (r: Row | undefined): RetentionExecution | null =>
  r ? { id: Number(r.id), policyId: Number(r.policy_id), dryRun: Number(r.dry_run) === 1, trigger: r.trigger_kind === 'SCHEDULE' ? 'SCHEDULE' : 'MANUAL', status: String(r.status) as RetentionExecution['status'],
    startedAt: Number(r.started_at), finishedAt: r.finished_at === null ? null : Number(r.finished_at), result: r.result ? JSON.parse(String(r.result)) : null } : null;

export class RetentionStore {
  private readonly sql: SqlDriver;
  /** The scheduler's clock: when a cron was set is compared with its slots, so both use one time. */
  private readonly clock: () => number;
  constructor(sql: SqlDriver, clock: () => number = Date.now) { this.sql = sql; this.clock = clock; }

  async create(projectId: number, rules: RetentionRule[], cron: string): Promise<number> {
    const now = this.clock();
    return Number((await this.sql.get(`INSERT INTO retention_policies (project_id, algorithm, rules, schedule, schedule_since, created_at)
      VALUES (?, 'or', ?, ?, ?, ?) RETURNING id`, projectId, JSON.stringify(rules), cron, now, now))!.id);
  }
  /** A changed cron starts counting from now; an unchanged one keeps its slots. */
  async update(id: number, rules: RetentionRule[], cron: string) {
    await this.sql.run(`UPDATE retention_policies SET rules = ?, schedule_since = CASE WHEN schedule = ? THEN schedule_since ELSE ? END, schedule = ?
      WHERE id = ?`, JSON.stringify(rules), cron, this.clock(), cron, id);
  }
  async scheduled() { return (await this.sql.all("SELECT * FROM retention_policies WHERE schedule <> '' ORDER BY id")).map((r) => toPolicy(r)!); }
  async policy(id: number) { return toPolicy(await this.sql.get('SELECT * FROM retention_policies WHERE id = ?', id)); }
  async policyOfProject(projectId: number) { return toPolicy(await this.sql.get('SELECT * FROM retention_policies WHERE project_id = ?', projectId)); }
  async delete(id: number) { await this.sql.run('DELETE FROM retention_policies WHERE id = ?', id); }

  async startExecution(policyId: number, dryRun: boolean, trigger: JobTrigger, owner: string): Promise<RetentionExecution> {
    const now = Date.now();
    const id = Number((await this.sql.get(`INSERT INTO retention_executions (policy_id, dry_run, trigger_kind, owner, status, started_at)
      VALUES (?, ?, ?, ?, 'Running', ?) RETURNING id`, policyId, dryRun ? 1 : 0, trigger, owner, now))!.id);
    return { id, policyId, dryRun, trigger, status: 'Running', startedAt: now, finishedAt: null, result: null };
  }
  async failAbandoned(now: number): Promise<number> {
    return this.sql.run(`UPDATE retention_executions SET status = 'Failed', finished_at = ?, result = ? WHERE status = 'Running' AND ${ownerGone}`,
      now, JSON.stringify({ repositories: [], error: 'the registry process running it stopped' }));
  }
  async finishExecution(e: RetentionExecution) {
    await this.sql.run('UPDATE retention_executions SET status = ?, finished_at = ?, result = ? WHERE id = ?', e.status, e.finishedAt, JSON.stringify(e.result), e.id);
  }
  async execution(policyId: number, id: number) {
    return toExecution(await this.sql.get('SELECT * FROM retention_executions WHERE policy_id = ? AND id = ?', policyId, id));
  }
  async executions(policyId: number) {
    return (await this.sql.all('SELECT * FROM retention_executions WHERE policy_id = ? ORDER BY id DESC', policyId)).map((r) => toExecution(r)!);
  }
}
