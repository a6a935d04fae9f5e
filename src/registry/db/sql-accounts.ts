// Metadata, first half: who may do what — users, projects, members, robots — and the per-project
// settings and records around them (audit log, immutability rules, webhooks).
import type { AuditEntry, AuditFilter, ImmutableRule, Member, Project, Robot, RoleId, User, Webhook } from './metadata.ts';
import type { SqlDriver } from './sql.ts';
import { toMember, toProject, toRobot, toUser } from './rows.ts';

/** Tables whose rows belong to one project (retention executions go with their policy). */
const projectScopedTables = ['robots', 'members', 'immutable_rules', 'webhooks', 'retention_policies'];

export class SqlAccounts {
  readonly sql: SqlDriver;
  constructor(sql: SqlDriver) { this.sql = sql; }

  protected async insert(sql: string, ...args: (string | number | null)[]): Promise<number> {
    return Number((await this.sql.get(`${sql} RETURNING id`, ...args))!.id);
  }

  async close(): Promise<void> { await this.sql.close(); }

  // ---- users
  async createUser(u: Omit<User, 'id' | 'createdAt'>): Promise<User> {
    const now = Date.now();
    const id = await this.insert('INSERT INTO users (username, password_hash, sysadmin, email, realname, created_at) VALUES (?,?,?,?,?,?)',
      u.username, u.passwordHash, u.sysadmin ? 1 : 0, u.email, u.realname, now);
    return { ...u, id, createdAt: now };
  }
  async userByName(username: string) { return toUser(await this.sql.get('SELECT * FROM users WHERE username = ?', username)); }
  async userById(id: number) { return toUser(await this.sql.get('SELECT * FROM users WHERE id = ?', id)); }
  async listUsers() { return (await this.sql.all('SELECT * FROM users ORDER BY id')).map((r) => toUser(r)!); }
  async updateUser(id: number, patch: Partial<Pick<User, 'passwordHash' | 'sysadmin' | 'email' | 'realname'>>) {
    if (patch.passwordHash !== undefined) await this.sql.run('UPDATE users SET password_hash = ? WHERE id = ?', patch.passwordHash, id);
    if (patch.sysadmin !== undefined) await this.sql.run('UPDATE users SET sysadmin = ? WHERE id = ?', patch.sysadmin ? 1 : 0, id);
    if (patch.email !== undefined) await this.sql.run('UPDATE users SET email = ? WHERE id = ?', patch.email, id);
    if (patch.realname !== undefined) await this.sql.run('UPDATE users SET realname = ? WHERE id = ?', patch.realname, id);
  }
  async deleteUser(id: number) { await this.sql.run('DELETE FROM users WHERE id = ?', id); }
  async countUsers() { return Number((await this.sql.get('SELECT COUNT(*) AS n FROM users'))!.n); }

  // ---- projects and members
  async createProject(p: Omit<Project, 'id' | 'createdAt'>): Promise<Project> {
    const now = Date.now();
    const id = await this.insert('INSERT INTO projects (name, public, storage_limit, created_at) VALUES (?,?,?,?)', p.name, p.public ? 1 : 0, p.storageLimit, now);
    return { ...p, id, createdAt: now };
  }
  async projectByName(name: string) { return toProject(await this.sql.get('SELECT * FROM projects WHERE name = ?', name)); }
  async projectById(id: number) { return toProject(await this.sql.get('SELECT * FROM projects WHERE id = ?', id)); }
  async listProjects() { return (await this.sql.all('SELECT * FROM projects ORDER BY name')).map((r) => toProject(r)!); }
  async updateProject(id: number, patch: Partial<Pick<Project, 'public' | 'storageLimit'>>) {
    if (patch.public !== undefined) await this.sql.run('UPDATE projects SET public = ? WHERE id = ?', patch.public ? 1 : 0, id);
    if (patch.storageLimit !== undefined) await this.sql.run('UPDATE projects SET storage_limit = ? WHERE id = ?', patch.storageLimit, id);
  }
  /** Removes a project and everything scoped to it, at once: a later project of the same name inherits nothing. */
  async deleteProject(id: number) {
    await this.sql.tx(async (q) => {
      // Explicit rather than trusting ON DELETE CASCADE: robots have no foreign key, and older
      // SQLite connections may run without foreign_keys.
      await q.run('DELETE FROM retention_executions WHERE policy_id IN (SELECT id FROM retention_policies WHERE project_id = ?)', id);
      for (const table of projectScopedTables) await q.run(`DELETE FROM ${table} WHERE project_id = ?`, id);
      await q.run('DELETE FROM projects WHERE id = ?', id);
    });
  }
  async addMember(projectId: number, userId: number, roleId: RoleId): Promise<Member> {
    const id = await this.insert('INSERT INTO members (project_id, user_id, role_id) VALUES (?,?,?)', projectId, userId, roleId);
    return (await this.memberById(projectId, id))!;
  }
  async listMembers(projectId: number) {
    return (await this.sql.all('SELECT m.*, u.username FROM members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ? ORDER BY m.id', projectId)).map(toMember);
  }
  async memberById(projectId: number, id: number) {
    const r = await this.sql.get('SELECT m.*, u.username FROM members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ? AND m.id = ?', projectId, id);
    return r ? toMember(r) : null;
  }
  async roleOf(projectId: number, userId: number) {
    const r = await this.sql.get('SELECT role_id FROM members WHERE project_id = ? AND user_id = ?', projectId, userId);
    return r ? (Number(r.role_id) as RoleId) : null;
  }
  async updateMember(projectId: number, id: number, roleId: RoleId) { await this.sql.run('UPDATE members SET role_id = ? WHERE project_id = ? AND id = ?', roleId, projectId, id); }
  async removeMember(projectId: number, id: number) { await this.sql.run('DELETE FROM members WHERE project_id = ? AND id = ?', projectId, id); }

  // ---- robots
  async createRobot(r: Omit<Robot, 'id' | 'createdAt'>): Promise<Robot> {
    const now = Date.now();
    const id = await this.insert('INSERT INTO robots (name, secret_hash, description, permissions, project_id, expires_at, disabled, created_at) VALUES (?,?,?,?,?,?,?,?)',
      r.name, r.secretHash, r.description, JSON.stringify(r.permissions), r.projectId, r.expiresAt, r.disabled ? 1 : 0, now);
    return { ...r, id, createdAt: now };
  }
  async robotByName(name: string) { return toRobot(await this.sql.get('SELECT * FROM robots WHERE name = ?', name)); }
  async robotById(id: number) { return toRobot(await this.sql.get('SELECT * FROM robots WHERE id = ?', id)); }
  async listRobots() { return (await this.sql.all('SELECT * FROM robots ORDER BY id')).map((r) => toRobot(r)!); }
  async deleteRobot(id: number) { await this.sql.run('DELETE FROM robots WHERE id = ?', id); }

  // ---- audit
  async addAudit(e: Omit<AuditEntry, 'id' | 'opTime'>) {
    await this.sql.run('INSERT INTO audit_logs (op_time, username, project_id, resource, resource_type, operation) VALUES (?,?,?,?,?,?)',
      Date.now(), e.username, e.projectId, e.resource, e.resourceType, e.operation);
  }
  async listAudit(filter: AuditFilter): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    const ids = filter.projectIds;
    if (ids) { where.push(`project_id IN (${ids.map(() => '?').join(',') || 'NULL'})`); args.push(...ids); }
    for (const f of filter.fields ?? []) {
      // Column names come from the closed AuditFilter union, values only through placeholders.
      if (f.fuzzy) { where.push(`lower(${f.field}) LIKE ? ESCAPE '\\'`); args.push(`%${f.value.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`); }
      else { where.push(`${f.field} = ?`); args.push(f.value); }
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    return (await this.sql.all(`SELECT * FROM audit_logs ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`, ...args, filter.limit, filter.offset)).map((r) => ({
      id: Number(r.id), opTime: Number(r.op_time), username: String(r.username), projectId: r.project_id === null ? null : Number(r.project_id),
      resource: String(r.resource), resourceType: String(r.resource_type), operation: String(r.operation),
    }));
  }

  // ---- immutability rules
  async addImmutableRule(projectId: number, repoPattern: string, tagPattern: string): Promise<ImmutableRule> {
    const id = await this.insert('INSERT INTO immutable_rules (project_id, repo_pattern, tag_pattern) VALUES (?,?,?)', projectId, repoPattern, tagPattern);
    return { id, projectId, repoPattern, tagPattern };
  }
  async immutableRules(projectId: number) {
    return (await this.sql.all('SELECT * FROM immutable_rules WHERE project_id = ? ORDER BY id', projectId))
      .map((r) => ({ id: Number(r.id), projectId: Number(r.project_id), repoPattern: String(r.repo_pattern), tagPattern: String(r.tag_pattern) }));
  }
  async deleteImmutableRule(projectId: number, id: number) { await this.sql.run('DELETE FROM immutable_rules WHERE project_id = ? AND id = ?', projectId, id); }

  // ---- webhooks
  async addWebhook(w: Omit<Webhook, 'id'>): Promise<Webhook> {
    const id = await this.insert('INSERT INTO webhooks (project_id, name, url, event_types, auth_header) VALUES (?,?,?,?,?)',
      w.projectId, w.name, w.url, JSON.stringify(w.eventTypes), w.authHeader);
    return { ...w, id };
  }
  async webhooks(projectId: number): Promise<Webhook[]> {
    return (await this.sql.all('SELECT * FROM webhooks WHERE project_id = ? ORDER BY id', projectId)).map((r) => ({
      id: Number(r.id), projectId: Number(r.project_id), name: String(r.name), url: String(r.url),
      eventTypes: JSON.parse(String(r.event_types)), authHeader: String(r.auth_header),
    }));
  }
  async deleteWebhook(projectId: number, id: number) { await this.sql.run('DELETE FROM webhooks WHERE project_id = ? AND id = ?', projectId, id); }
}
