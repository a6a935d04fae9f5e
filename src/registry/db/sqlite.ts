import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { migrations } from './schema.ts';
import {
  QuotaExceeded, type AuditEntry, type GcRun, type ImmutableRule, type ManifestRecord, type Member, type Metadata,
  type NewManifest, type Project, type Repository, type Robot, type RoleId, type Tag, type Upload, type User, type Webhook,
} from './metadata.ts';

type Row = Record<string, SQLInputValue>;

/** Metadata in one SQLite file (WAL mode, so several processes on one host can share it). */
export class SqliteMetadata implements Metadata {
  private readonly db: DatabaseSync;

  constructor(file: string) {
    this.db = new DatabaseSync(file);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    this.tx(() => {
      const row = this.get('SELECT version FROM schema_version');
      const current = row ? Number(row.version) : 0;
      const all = migrations('INTEGER PRIMARY KEY AUTOINCREMENT');
      for (let v = current; v < all.length; v++) this.db.exec(all[v]);
      if (!row) this.run('INSERT INTO schema_version (version) VALUES (?)', all.length);
      else this.run('UPDATE schema_version SET version = ?', all.length);
    });
  }

  /** A write transaction; BEGIN IMMEDIATE takes the write lock up front so concurrent writers queue. */
  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  private get(sql: string, ...args: SQLInputValue[]): Row | undefined { return this.db.prepare(sql).get(...args) as Row | undefined; }
  private all(sql: string, ...args: SQLInputValue[]): Row[] { return this.db.prepare(sql).all(...args) as Row[]; }
  private run(sql: string, ...args: SQLInputValue[]): { changes: number; id: number } {
    const r = this.db.prepare(sql).run(...args);
    return { changes: Number(r.changes), id: Number(r.lastInsertRowid) };
  }

  async close(): Promise<void> { this.db.close(); }

  // ---- users
  async createUser(u: Omit<User, 'id' | 'createdAt'>): Promise<User> {
    const now = Date.now();
    const { id } = this.run('INSERT INTO users (username, password_hash, sysadmin, email, realname, created_at) VALUES (?,?,?,?,?,?)',
      u.username, u.passwordHash, u.sysadmin ? 1 : 0, u.email, u.realname, now);
    return { ...u, id, createdAt: now };
  }
  async userByName(username: string) { return toUser(this.get('SELECT * FROM users WHERE username = ?', username)); }
  async userById(id: number) { return toUser(this.get('SELECT * FROM users WHERE id = ?', id)); }
  async listUsers() { return this.all('SELECT * FROM users ORDER BY id').map((r) => toUser(r)!); }
  async updateUser(id: number, patch: Partial<Pick<User, 'passwordHash' | 'sysadmin' | 'email' | 'realname'>>) {
    if (patch.passwordHash !== undefined) this.run('UPDATE users SET password_hash = ? WHERE id = ?', patch.passwordHash, id);
    if (patch.sysadmin !== undefined) this.run('UPDATE users SET sysadmin = ? WHERE id = ?', patch.sysadmin ? 1 : 0, id);
    if (patch.email !== undefined) this.run('UPDATE users SET email = ? WHERE id = ?', patch.email, id);
    if (patch.realname !== undefined) this.run('UPDATE users SET realname = ? WHERE id = ?', patch.realname, id);
  }
  async deleteUser(id: number) { this.run('DELETE FROM users WHERE id = ?', id); }
  async countUsers() { return Number(this.get('SELECT COUNT(*) AS n FROM users')!.n); }

  // ---- projects and members
  async createProject(p: Omit<Project, 'id' | 'createdAt'>): Promise<Project> {
    const now = Date.now();
    const { id } = this.run('INSERT INTO projects (name, public, storage_limit, created_at) VALUES (?,?,?,?)', p.name, p.public ? 1 : 0, p.storageLimit, now);
    return { ...p, id, createdAt: now };
  }
  async projectByName(name: string) { return toProject(this.get('SELECT * FROM projects WHERE name = ?', name)); }
  async projectById(id: number) { return toProject(this.get('SELECT * FROM projects WHERE id = ?', id)); }
  async listProjects() { return this.all('SELECT * FROM projects ORDER BY name').map((r) => toProject(r)!); }
  async updateProject(id: number, patch: Partial<Pick<Project, 'public' | 'storageLimit'>>) {
    if (patch.public !== undefined) this.run('UPDATE projects SET public = ? WHERE id = ?', patch.public ? 1 : 0, id);
    if (patch.storageLimit !== undefined) this.run('UPDATE projects SET storage_limit = ? WHERE id = ?', patch.storageLimit, id);
  }
  async deleteProject(id: number) { this.run('DELETE FROM projects WHERE id = ?', id); }
  async addMember(projectId: number, userId: number, roleId: RoleId): Promise<Member> {
    const { id } = this.run('INSERT INTO members (project_id, user_id, role_id) VALUES (?,?,?)', projectId, userId, roleId);
    return (await this.memberById(projectId, id))!;
  }
  async listMembers(projectId: number) {
    return this.all('SELECT m.*, u.username FROM members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ? ORDER BY m.id', projectId).map(toMember);
  }
  async memberById(projectId: number, id: number) {
    const r = this.get('SELECT m.*, u.username FROM members m JOIN users u ON u.id = m.user_id WHERE m.project_id = ? AND m.id = ?', projectId, id);
    return r ? toMember(r) : null;
  }
  async roleOf(projectId: number, userId: number) {
    const r = this.get('SELECT role_id FROM members WHERE project_id = ? AND user_id = ?', projectId, userId);
    return r ? (Number(r.role_id) as RoleId) : null;
  }
  async updateMember(projectId: number, id: number, roleId: RoleId) { this.run('UPDATE members SET role_id = ? WHERE project_id = ? AND id = ?', roleId, projectId, id); }
  async removeMember(projectId: number, id: number) { this.run('DELETE FROM members WHERE project_id = ? AND id = ?', projectId, id); }

  // ---- robots
  async createRobot(r: Omit<Robot, 'id' | 'createdAt'>): Promise<Robot> {
    const now = Date.now();
    const { id } = this.run('INSERT INTO robots (name, secret_hash, description, permissions, expires_at, disabled, created_at) VALUES (?,?,?,?,?,?,?)',
      r.name, r.secretHash, r.description, JSON.stringify(r.permissions), r.expiresAt, r.disabled ? 1 : 0, now);
    return { ...r, id, createdAt: now };
  }
  async robotByName(name: string) { return toRobot(this.get('SELECT * FROM robots WHERE name = ?', name)); }
  async robotById(id: number) { return toRobot(this.get('SELECT * FROM robots WHERE id = ?', id)); }
  async listRobots() { return this.all('SELECT * FROM robots ORDER BY id').map((r) => toRobot(r)!); }
  async deleteRobot(id: number) { this.run('DELETE FROM robots WHERE id = ?', id); }

  // ---- repositories
  async ensureRepository(projectId: number, name: string): Promise<Repository> {
    this.run('INSERT INTO repositories (project_id, name, created_at) VALUES (?,?,?) ON CONFLICT (name) DO NOTHING', projectId, name, Date.now());
    return (await this.repositoryByName(name))!;
  }
  async repositoryByName(name: string) { return toRepo(this.get('SELECT * FROM repositories WHERE name = ?', name)); }
  async listRepositories(after: string, limit: number) {
    return this.all('SELECT * FROM repositories WHERE name > ? ORDER BY name LIMIT ?', after, limit).map((r) => toRepo(r)!);
  }
  async listProjectRepositories(projectId: number) {
    return this.all('SELECT * FROM repositories WHERE project_id = ? ORDER BY name', projectId).map((r) => toRepo(r)!);
  }
  async deleteRepository(id: number) {
    this.tx(() => {
      for (const t of ['tags', 'manifest_refs', 'manifests', 'repo_blobs', 'uploads']) this.run(`DELETE FROM ${t} WHERE repo_id = ?`, id);
      this.run('DELETE FROM repositories WHERE id = ?', id);
    });
  }

  // ---- blobs
  async blobSize(digest: string) {
    const r = this.get('SELECT size FROM blobs WHERE digest = ?', digest);
    return r ? Number(r.size) : null;
  }
  private linkInTx(repoId: number, projectId: number, quotaLimit: number, digest: string, size: number): void {
    if (this.get('SELECT 1 FROM repo_blobs WHERE repo_id = ? AND digest = ?', repoId, digest)) {
      this.run('UPDATE repo_blobs SET linked_at = ? WHERE repo_id = ? AND digest = ?', Date.now(), repoId, digest);
      return;
    }
    const inProject = this.get('SELECT 1 FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id WHERE r.project_id = ? AND rb.digest = ?', projectId, digest);
    if (!inProject && quotaLimit >= 0 && this.usageInTx(projectId) + size > quotaLimit) {
      throw new QuotaExceeded(`adding ${size} bytes would exceed the project's storage quota of ${quotaLimit} bytes`);
    }
    this.run('INSERT INTO repo_blobs (repo_id, digest, linked_at) VALUES (?,?,?)', repoId, digest, Date.now());
  }
  async commitBlob(repoId: number, projectId: number, quotaLimit: number, digest: string, size: number, place: () => void) {
    this.tx(() => {
      this.linkInTx(repoId, projectId, quotaLimit, digest, size);
      place();
      this.run('INSERT INTO blobs (digest, size, created_at) VALUES (?,?,?) ON CONFLICT (digest) DO UPDATE SET created_at = excluded.created_at', digest, size, Date.now());
    });
  }
  async linkBlob(repoId: number, projectId: number, quotaLimit: number, digest: string) {
    return this.tx(() => {
      const blob = this.get('SELECT size FROM blobs WHERE digest = ?', digest);
      if (!blob) return false;
      this.linkInTx(repoId, projectId, quotaLimit, digest, Number(blob.size));
      return true;
    });
  }
  async isLinked(repoId: number, digest: string) {
    return !!this.get('SELECT 1 FROM repo_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE rb.repo_id = ? AND rb.digest = ?', repoId, digest);
  }
  async unlinkBlob(repoId: number, digest: string) { return this.run('DELETE FROM repo_blobs WHERE repo_id = ? AND digest = ?', repoId, digest).changes > 0; }
  private usageInTx(projectId: number): number {
    return Number(this.get(`SELECT COALESCE(SUM(b.size), 0) AS used FROM blobs b WHERE b.digest IN
      (SELECT rb.digest FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id WHERE r.project_id = ?)`, projectId)!.used);
  }
  async projectUsage(projectId: number) { return this.usageInTx(projectId); }

  // ---- manifests and tags
  async putManifest(m: NewManifest, place: () => void): Promise<string[]> {
    return this.tx(() => {
      const missing = [
        ...m.blobRefs.filter((d) => !this.get('SELECT 1 FROM repo_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE rb.repo_id = ? AND rb.digest = ?', m.repoId, d)),
        ...m.manifestRefs.filter((d) => !this.get('SELECT 1 FROM manifests WHERE repo_id = ? AND digest = ?', m.repoId, d)),
      ];
      if (missing.length > 0) return missing;
      const now = Date.now();
      this.linkInTx(m.repoId, m.projectId, m.quotaLimit, m.digest, m.size);
      place();
      this.run('INSERT INTO blobs (digest, size, created_at) VALUES (?,?,?) ON CONFLICT (digest) DO UPDATE SET created_at = excluded.created_at', m.digest, m.size, now);
      this.run(`INSERT INTO manifests (repo_id, digest, media_type, size, subject, artifact_type, annotations, created_at) VALUES (?,?,?,?,?,?,?,?)
        ON CONFLICT (repo_id, digest) DO UPDATE SET media_type = excluded.media_type`,
        m.repoId, m.digest, m.mediaType, m.size, m.subject, m.artifactType, m.annotations ? JSON.stringify(m.annotations) : null, now);
      for (const ref of new Set([...m.blobRefs, ...m.manifestRefs])) {
        this.run('INSERT INTO manifest_refs (repo_id, manifest_digest, ref_digest) VALUES (?,?,?) ON CONFLICT DO NOTHING', m.repoId, m.digest, ref);
      }
      for (const tag of m.tags) {
        this.run('INSERT INTO tags (repo_id, name, digest, updated_at) VALUES (?,?,?,?) ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at',
          m.repoId, tag, m.digest, now);
      }
      return [];
    });
  }
  async manifest(repoId: number, digest: string) { return toManifest(this.get('SELECT * FROM manifests WHERE repo_id = ? AND digest = ?', repoId, digest)); }
  async tag(repoId: number, name: string): Promise<Tag | null> {
    const r = this.get('SELECT * FROM tags WHERE repo_id = ? AND name = ?', repoId, name);
    return r ? { name: String(r.name), digest: String(r.digest), updatedAt: Number(r.updated_at) } : null;
  }
  async listTags(repoId: number, after: string, limit: number) {
    return this.all('SELECT name FROM tags WHERE repo_id = ? AND name > ? ORDER BY name LIMIT ?', repoId, after, limit).map((r) => String(r.name));
  }
  async tagsOf(repoId: number, digest: string) {
    return this.all('SELECT name FROM tags WHERE repo_id = ? AND digest = ? ORDER BY name', repoId, digest).map((r) => String(r.name));
  }
  async listManifests(repoId: number) { return this.all('SELECT * FROM manifests WHERE repo_id = ? ORDER BY created_at', repoId).map((r) => toManifest(r)!); }
  async referrers(repoId: number, subject: string) {
    return this.all('SELECT * FROM manifests WHERE repo_id = ? AND subject = ? ORDER BY digest', repoId, subject).map((r) => toManifest(r)!);
  }
  async deleteManifest(repoId: number, digest: string) {
    return this.tx(() => {
      const gone = this.run('DELETE FROM manifests WHERE repo_id = ? AND digest = ?', repoId, digest).changes > 0;
      this.run('DELETE FROM manifest_refs WHERE repo_id = ? AND manifest_digest = ?', repoId, digest);
      this.run('DELETE FROM tags WHERE repo_id = ? AND digest = ?', repoId, digest);
      return gone;
    });
  }
  async deleteTag(repoId: number, name: string) { return this.run('DELETE FROM tags WHERE repo_id = ? AND name = ?', repoId, name).changes > 0; }

  // ---- uploads
  async createUpload(id: string, repoId: number) { this.run('INSERT INTO uploads (id, repo_id, created_at) VALUES (?,?,?)', id, repoId, Date.now()); }
  async upload(id: string): Promise<Upload | null> {
    const r = this.get('SELECT * FROM uploads WHERE id = ?', id);
    return r ? { id: String(r.id), repoId: Number(r.repo_id), createdAt: Number(r.created_at) } : null;
  }
  async deleteUpload(id: string) { this.run('DELETE FROM uploads WHERE id = ?', id); }
  async uploadsBefore(time: number) {
    return this.all('SELECT * FROM uploads WHERE created_at < ?', time).map((r) => ({ id: String(r.id), repoId: Number(r.repo_id), createdAt: Number(r.created_at) }));
  }

  // ---- audit
  async addAudit(e: Omit<AuditEntry, 'id' | 'opTime'>) {
    this.run('INSERT INTO audit_logs (op_time, username, project_id, resource, resource_type, operation) VALUES (?,?,?,?,?,?)',
      Date.now(), e.username, e.projectId, e.resource, e.resourceType, e.operation);
  }
  async listAudit(filter: { projectIds?: number[]; limit: number; offset: number }): Promise<AuditEntry[]> {
    const ids = filter.projectIds;
    const where = ids ? `WHERE project_id IN (${ids.map(() => '?').join(',') || 'NULL'})` : '';
    return this.all(`SELECT * FROM audit_logs ${where} ORDER BY id DESC LIMIT ? OFFSET ?`, ...(ids ?? []), filter.limit, filter.offset).map((r) => ({
      id: Number(r.id), opTime: Number(r.op_time), username: String(r.username), projectId: r.project_id === null ? null : Number(r.project_id),
      resource: String(r.resource), resourceType: String(r.resource_type), operation: String(r.operation),
    }));
  }

  // ---- immutability rules
  async addImmutableRule(projectId: number, repoPattern: string, tagPattern: string): Promise<ImmutableRule> {
    const { id } = this.run('INSERT INTO immutable_rules (project_id, repo_pattern, tag_pattern) VALUES (?,?,?)', projectId, repoPattern, tagPattern);
    return { id, projectId, repoPattern, tagPattern };
  }
  async immutableRules(projectId: number) {
    return this.all('SELECT * FROM immutable_rules WHERE project_id = ? ORDER BY id', projectId)
      .map((r) => ({ id: Number(r.id), projectId: Number(r.project_id), repoPattern: String(r.repo_pattern), tagPattern: String(r.tag_pattern) }));
  }
  async deleteImmutableRule(projectId: number, id: number) { this.run('DELETE FROM immutable_rules WHERE project_id = ? AND id = ?', projectId, id); }

  // ---- webhooks
  async addWebhook(w: Omit<Webhook, 'id'>): Promise<Webhook> {
    const { id } = this.run('INSERT INTO webhooks (project_id, name, url, event_types, auth_header) VALUES (?,?,?,?,?)',
      w.projectId, w.name, w.url, JSON.stringify(w.eventTypes), w.authHeader);
    return { ...w, id };
  }
  async webhooks(projectId: number): Promise<Webhook[]> {
    return this.all('SELECT * FROM webhooks WHERE project_id = ? ORDER BY id', projectId).map((r) => ({
      id: Number(r.id), projectId: Number(r.project_id), name: String(r.name), url: String(r.url),
      eventTypes: JSON.parse(String(r.event_types)), authHeader: String(r.auth_header),
    }));
  }
  async deleteWebhook(projectId: number, id: number) { this.run('DELETE FROM webhooks WHERE project_id = ? AND id = ?', projectId, id); }

  // ---- garbage collection
  async referencedDigests() {
    const out = new Set<string>();
    for (const r of this.all('SELECT digest FROM manifests UNION SELECT ref_digest AS digest FROM manifest_refs')) out.add(String(r.digest));
    return out;
  }
  async blobTouchedAt(digest: string) {
    const r = this.get(`SELECT MAX(t) AS t FROM (SELECT created_at AS t FROM blobs WHERE digest = ?
      UNION ALL SELECT linked_at AS t FROM repo_blobs WHERE digest = ?)`, digest, digest);
    return r && r.t !== null ? Number(r.t) : null;
  }
  async deleteBlobIfUnreferenced(digest: string, notAfter: number, remove: () => void) {
    return this.tx(() => {
      if (this.get('SELECT 1 FROM manifests WHERE digest = ? UNION SELECT 1 FROM manifest_refs WHERE ref_digest = ?', digest, digest)) return false;
      const touched = this.get(`SELECT MAX(t) AS t FROM (SELECT created_at AS t FROM blobs WHERE digest = ?
        UNION ALL SELECT linked_at AS t FROM repo_blobs WHERE digest = ?)`, digest, digest);
      if (touched && touched.t !== null && Number(touched.t) > notAfter) return false;
      remove();
      this.run('DELETE FROM repo_blobs WHERE digest = ?', digest);
      this.run('DELETE FROM blobs WHERE digest = ?', digest);
      return true;
    });
  }
  async startGc(dryRun: boolean): Promise<GcRun> {
    const now = Date.now();
    const { id } = this.run("INSERT INTO gc_runs (status, dry_run, started_at) VALUES ('running', ?, ?)", dryRun ? 1 : 0, now);
    return { id, status: 'running', dryRun, startedAt: now, finishedAt: null, result: null };
  }
  async finishGc(id: number, status: 'succeeded' | 'failed', result: unknown) {
    this.run('UPDATE gc_runs SET status = ?, finished_at = ?, result = ? WHERE id = ?', status, Date.now(), JSON.stringify(result), id);
  }
  async gcRun(id: number) { return toGcRun(this.get('SELECT * FROM gc_runs WHERE id = ?', id)); }
  async listGcRuns() { return this.all('SELECT * FROM gc_runs ORDER BY id DESC').map((r) => toGcRun(r)!); }
}

function toUser(r: Row | undefined): User | null {
  return r ? { id: Number(r.id), username: String(r.username), passwordHash: String(r.password_hash), sysadmin: Number(r.sysadmin) === 1,
    email: String(r.email), realname: String(r.realname), createdAt: Number(r.created_at) } : null;
}
function toProject(r: Row | undefined): Project | null {
  return r ? { id: Number(r.id), name: String(r.name), public: Number(r.public) === 1, storageLimit: Number(r.storage_limit), createdAt: Number(r.created_at) } : null;
}
function toMember(r: Row): Member {
  return { id: Number(r.id), projectId: Number(r.project_id), userId: Number(r.user_id), username: String(r.username), roleId: Number(r.role_id) as RoleId };
}
function toRobot(r: Row | undefined): Robot | null {
  return r ? { id: Number(r.id), name: String(r.name), secretHash: String(r.secret_hash), description: String(r.description),
    permissions: JSON.parse(String(r.permissions)), expiresAt: Number(r.expires_at), disabled: Number(r.disabled) === 1, createdAt: Number(r.created_at) } : null;
}
function toRepo(r: Row | undefined): Repository | null {
  return r ? { id: Number(r.id), projectId: Number(r.project_id), name: String(r.name), createdAt: Number(r.created_at) } : null;
}
function toManifest(r: Row | undefined): ManifestRecord | null {
  return r ? { repoId: Number(r.repo_id), digest: String(r.digest), mediaType: String(r.media_type), size: Number(r.size),
    subject: r.subject === null ? null : String(r.subject), artifactType: r.artifact_type === null ? null : String(r.artifact_type),
    annotations: r.annotations === null ? null : JSON.parse(String(r.annotations)), createdAt: Number(r.created_at) } : null;
}
function toGcRun(r: Row | undefined): GcRun | null {
  return r ? { id: Number(r.id), status: String(r.status) as GcRun['status'], dryRun: Number(r.dry_run) === 1, startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at), result: r.result === null ? null : JSON.parse(String(r.result)) } : null;
}
