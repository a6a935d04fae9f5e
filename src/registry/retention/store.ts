// Retention's records: one policy per project (its rules) and the history of its executions.
import type { Row, SqlDriver } from '../db/sql.ts';
import type { RetentionRule } from './rules.ts';

export interface RetentionPolicy { id: number; projectId: number; rules: RetentionRule[]; createdAt: number }
export interface RepoOutcome { repository: string; retained: string[]; deleted: string[]; kept: string[]; manifestsDeleted: number }
export interface RetentionExecution {
  id: number; policyId: number; dryRun: boolean; status: 'Running' | 'Succeed' | 'Failed'; startedAt: number; finishedAt: number | null;
  result: { repositories: RepoOutcome[]; error?: string } | null;
}

const toPolicy = (r: Row | undefined): RetentionPolicy | null =>
  r ? { id: Number(r.id), projectId: Number(r.project_id), rules: JSON.parse(String(r.rules)), createdAt: Number(r.created_at) } : null;
const toExecution = (r: Row | undefined): RetentionExecution | null =>
  r ? { id: Number(r.id), policyId: Number(r.policy_id), dryRun: Number(r.dry_run) === 1, status: String(r.status) as RetentionExecution['status'],
    startedAt: Number(r.started_at), finishedAt: r.finished_at === null ? null : Number(r.finished_at), result: r.result ? JSON.parse(String(r.result)) : null } : null;

export class RetentionStore {
  private readonly sql: SqlDriver;
  constructor(sql: SqlDriver) { this.sql = sql; }

  async create(projectId: number, rules: RetentionRule[]): Promise<number> {
    return Number((await this.sql.get("INSERT INTO retention_policies (project_id, algorithm, rules, created_at) VALUES (?, 'or', ?, ?) RETURNING id",
      projectId, JSON.stringify(rules), Date.now()))!.id);
  }
  async update(id: number, rules: RetentionRule[]) { await this.sql.run('UPDATE retention_policies SET rules = ? WHERE id = ?', JSON.stringify(rules), id); }
  async policy(id: number) { return toPolicy(await this.sql.get('SELECT * FROM retention_policies WHERE id = ?', id)); }
  async policyOfProject(projectId: number) { return toPolicy(await this.sql.get('SELECT * FROM retention_policies WHERE project_id = ?', projectId)); }
  async delete(id: number) { await this.sql.run('DELETE FROM retention_policies WHERE id = ?', id); }

  async startExecution(policyId: number, dryRun: boolean): Promise<RetentionExecution> {
    const now = Date.now();
    const id = Number((await this.sql.get("INSERT INTO retention_executions (policy_id, dry_run, status, started_at) VALUES (?, ?, 'Running', ?) RETURNING id",
      policyId, dryRun ? 1 : 0, now))!.id);
    return { id, policyId, dryRun, status: 'Running', startedAt: now, finishedAt: null, result: null };
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
