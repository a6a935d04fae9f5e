// Replication's records: remote registries, policies and executions (with their tasks), each
// execution owned by the process running it.
import type { Row, SqlDriver } from '../db/sql.ts';
import { ownerGone } from '../jobs/liveness.ts';
import { SecretBox } from '../auth/secret-box.ts';

export interface RemoteRegistry {
  id: number; name: string; type: string; url: string; accessKey: string; accessSecret: string; insecure: boolean; description: string; createdAt: number;
}
export interface Filters { name: string; tag: string }
export interface Policy {
  id: number; name: string; description: string; srcRegistryId: number | null; destRegistryId: number | null; destNamespace: string;
  filters: Filters; triggerType: 'manual' | 'event_based' | 'scheduled'; enabled: boolean; override: boolean; createdAt: number;
  /** The cron of a `scheduled` policy ('' otherwise) and when it was set. */
  cron: string; scheduleSince: number;
}
export interface Task { src: string; dst: string; status: 'Succeed' | 'Failed' | 'Skipped'; message: string; startedAt: number; finishedAt: number }
export interface Execution {
  id: number; policyId: number; triggerType: string; status: 'InProgress' | 'Succeed' | 'Failed'; startedAt: number; finishedAt: number | null;
  total: number; succeeded: number; failed: number; tasks: Task[];
}

const nullableId = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** Authenticated with each sealed password, so it cannot be moved into another column. */
const secretContext = 'remote_registries.access_secret';

function toRegistry(r: Row | undefined, box: SecretBox): RemoteRegistry | null {
  return r ? { id: Number(r.id), name: String(r.name), type: String(r.type), url: String(r.url), accessKey: String(r.access_key),
    accessSecret: box.open(String(r.access_secret), secretContext), insecure: Number(r.insecure) === 1, description: String(r.description), createdAt: Number(r.created_at) } : null;
}
function toPolicy(r: Row | undefined): Policy | null {
  return r ? { id: Number(r.id), name: String(r.name), description: String(r.description), srcRegistryId: nullableId(r.src_registry_id),
    destRegistryId: nullableId(r.dest_registry_id), destNamespace: String(r.dest_namespace), filters: JSON.parse(String(r.filters)),
    triggerType: String(r.trigger_type) as Policy['triggerType'], enabled: Number(r.enabled) === 1, override: Number(r.override) === 1, createdAt: Number(r.created_at),
    cron: String(r.schedule ?? ''), scheduleSince: Number(r.schedule_since ?? 0) } : null;
}
function toExecution(r: Row | undefined): Execution | null {
  return r ? { id: Number(r.id), policyId: Number(r.policy_id), triggerType: String(r.trigger_type), status: String(r.status) as Execution['status'],
    startedAt: Number(r.started_at), finishedAt: nullableId(r.finished_at), total: Number(r.total), succeeded: Number(r.succeeded), failed: Number(r.failed),
    tasks: r.tasks ? JSON.parse(String(r.tasks)) : [] } : null;
}

export class ReplicationStore {
  private readonly sql: SqlDriver;
  private readonly box: SecretBox;
  /** The scheduler's clock: when a cron was set is compared with its slots, so both use one time. */
  private readonly clock: () => number;
  constructor(sql: SqlDriver, box: SecretBox, clock: () => number = Date.now) { this.sql = sql; this.box = box; this.clock = clock; }

  /** Seals passwords stored in plain text (by a registry from before encryption at rest). */
  async sealPlainSecrets(): Promise<void> {
    for (const r of await this.sql.all("SELECT id, access_secret FROM remote_registries WHERE access_secret <> ''")) {
      const stored = String(r.access_secret);
      if (SecretBox.isSealed(stored)) continue;
      // Only if still unsealed: another process may be doing the same right now.
      await this.sql.run('UPDATE remote_registries SET access_secret = ? WHERE id = ? AND access_secret = ?',
        this.box.seal(stored, secretContext), Number(r.id), stored);
    }
  }

  async addRegistry(x: Omit<RemoteRegistry, 'id' | 'createdAt'>): Promise<number> {
    return Number((await this.sql.get(`INSERT INTO remote_registries (name, type, url, access_key, access_secret, insecure, description, created_at)
      VALUES (?,?,?,?,?,?,?,?) RETURNING id`, x.name, x.type, x.url, x.accessKey, this.box.seal(x.accessSecret, secretContext), x.insecure ? 1 : 0, x.description, Date.now()))!.id);
  }
  async updateRegistry(x: RemoteRegistry): Promise<void> {
    await this.sql.run('UPDATE remote_registries SET name = ?, type = ?, url = ?, access_key = ?, access_secret = ?, insecure = ?, description = ? WHERE id = ?',
      x.name, x.type, x.url, x.accessKey, this.box.seal(x.accessSecret, secretContext), x.insecure ? 1 : 0, x.description, x.id);
  }
  async registry(id: number) { return toRegistry(await this.sql.get('SELECT * FROM remote_registries WHERE id = ?', id), this.box); }
  async registryByName(name: string) { return toRegistry(await this.sql.get('SELECT * FROM remote_registries WHERE name = ?', name), this.box); }
  async registries() { return (await this.sql.all('SELECT * FROM remote_registries ORDER BY id')).map((r) => toRegistry(r, this.box)!); }
  async deleteRegistry(id: number) { await this.sql.run('DELETE FROM remote_registries WHERE id = ?', id); }
  async registryInUse(id: number) {
    return !!(await this.sql.get('SELECT 1 FROM replication_policies WHERE src_registry_id = ? OR dest_registry_id = ?', id, id));
  }

  async addPolicy(p: Omit<Policy, 'id' | 'createdAt' | 'scheduleSince'>): Promise<number> {
    const now = this.clock();
    return Number((await this.sql.get(`INSERT INTO replication_policies (name, description, src_registry_id, dest_registry_id, dest_namespace, filters,
      trigger_type, enabled, override, schedule, schedule_since, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`, p.name, p.description,
      p.srcRegistryId, p.destRegistryId, p.destNamespace, JSON.stringify(p.filters), p.triggerType, p.enabled ? 1 : 0, p.override ? 1 : 0,
      p.cron, now, now))!.id);
  }
  /** A changed cron starts counting from now; an unchanged one keeps its slots. */
  async updatePolicy(p: Omit<Policy, 'scheduleSince'>): Promise<void> {
    await this.sql.run(`UPDATE replication_policies SET name = ?, description = ?, src_registry_id = ?, dest_registry_id = ?, dest_namespace = ?,
      filters = ?, trigger_type = ?, enabled = ?, override = ?, schedule_since = CASE WHEN schedule = ? THEN schedule_since ELSE ? END, schedule = ?
      WHERE id = ?`, p.name, p.description, p.srcRegistryId, p.destRegistryId, p.destNamespace, JSON.stringify(p.filters), p.triggerType,
      p.enabled ? 1 : 0, p.override ? 1 : 0, p.cron, this.clock(), p.cron, p.id);
  }
  async scheduledPolicies() {
    return (await this.sql.all("SELECT * FROM replication_policies WHERE trigger_type = 'scheduled' AND schedule <> '' AND enabled = 1 ORDER BY id"))
      .map((r) => toPolicy(r)!);
  }
  async policy(id: number) { return toPolicy(await this.sql.get('SELECT * FROM replication_policies WHERE id = ?', id)); }
  async policyByName(name: string) { return toPolicy(await this.sql.get('SELECT * FROM replication_policies WHERE name = ?', name)); }
  async policies() { return (await this.sql.all('SELECT * FROM replication_policies ORDER BY id')).map((r) => toPolicy(r)!); }
  async deletePolicy(id: number) { await this.sql.run('DELETE FROM replication_policies WHERE id = ?', id); }

  async startExecution(policyId: number, triggerType: string, owner: string): Promise<Execution> {
    const now = Date.now();
    const id = Number((await this.sql.get(`INSERT INTO replication_executions (policy_id, trigger_type, owner, status, started_at, tasks)
      VALUES (?,?,?,'InProgress',?,'[]') RETURNING id`, policyId, triggerType, owner, now))!.id);
    return { id, policyId, triggerType, status: 'InProgress', startedAt: now, finishedAt: null, total: 0, succeeded: 0, failed: 0, tasks: [] };
  }
  async failAbandoned(now: number): Promise<number> {
    return this.sql.run(`UPDATE replication_executions SET status = 'Failed', finished_at = ? WHERE status = 'InProgress' AND ${ownerGone}`, now);
  }
  async finishExecution(e: Execution): Promise<void> {
    await this.sql.run('UPDATE replication_executions SET status = ?, finished_at = ?, total = ?, succeeded = ?, failed = ?, tasks = ? WHERE id = ?',
      e.status, e.finishedAt, e.total, e.succeeded, e.failed, JSON.stringify(e.tasks), e.id);
  }
  async execution(id: number) { return toExecution(await this.sql.get('SELECT * FROM replication_executions WHERE id = ?', id)); }
  async executions(policyId: number | null) {
    const rows = policyId === null
      ? await this.sql.all('SELECT * FROM replication_executions ORDER BY id DESC')
      : await this.sql.all('SELECT * FROM replication_executions WHERE policy_id = ? ORDER BY id DESC', policyId);
    return rows.map((r) => toExecution(r)!);
  }
}
