// The portal's own state in SQLite (node:sqlite): hosts added by endpoint (their client keys sealed
// with AES-256-GCM under a 0600 key file), project placements and quotas, compose templates, and
// login sessions (by token hash, the password sealed like the keys), so a restart keeps users logged in.
import { DatabaseSync } from 'node:sqlite';
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../portlayer/atomic-file.ts';

export interface StoredHost { id: string; name: string; endpoint: string; ca: string; cert: string; key: string; createdAt: string }
export interface Placement { project: string; hostId: string }
export interface Quota { project: string; maxContainers: number | null; maxMemoryMiB: number | null }
/** A login: the token itself is never stored, only its SHA-256; the password (for registry calls on the user's behalf) sealed. */
export interface StoredSession { tokenHash: string; userId: number; username: string; sysadmin: boolean; password: string; expires: number; checkedAt: number }
export interface Template { id: string; name: string; project: string | null; compose: string; createdAt: string; updatedAt: string }

export class PortalStore {
  private readonly db: DatabaseSync;
  private readonly secret: Buffer;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.secret = loadKey(join(dir, 'secrets.key'));
    this.db = new DatabaseSync(join(dir, 'portal.sqlite'));
    this.db.exec(`PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;
      CREATE TABLE IF NOT EXISTS hosts (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, endpoint TEXT NOT NULL, ca TEXT NOT NULL,
        cert TEXT NOT NULL, sealed_key TEXT NOT NULL, created_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS placements (project TEXT NOT NULL, host_id TEXT NOT NULL, PRIMARY KEY (project, host_id));
      CREATE TABLE IF NOT EXISTS quotas (project TEXT PRIMARY KEY, max_containers INTEGER, max_memory_mib INTEGER);
      CREATE TABLE IF NOT EXISTS templates (id TEXT PRIMARY KEY, name TEXT NOT NULL, project TEXT, compose TEXT NOT NULL,
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, username TEXT NOT NULL,
        sysadmin INTEGER NOT NULL, sealed_password TEXT NOT NULL, expires INTEGER NOT NULL, checked_at INTEGER NOT NULL);`);
    chmodSync(join(dir, 'portal.sqlite'), 0o600);
  }

  close(): void { this.db.close(); }

  // Hosts
  listHosts(): StoredHost[] {
    return (this.db.prepare('SELECT * FROM hosts ORDER BY name').all() as any[]).map((r) => this.hostOf(r));
  }
  addHost(h: Omit<StoredHost, 'id' | 'createdAt'>): StoredHost {
    const host = { ...h, id: `h-${randomUUID().slice(0, 8)}`, createdAt: new Date().toISOString() };
    this.db.prepare('INSERT INTO hosts VALUES (?, ?, ?, ?, ?, ?, ?)').run(host.id, host.name, host.endpoint, host.ca, host.cert, this.seal(host.key), host.createdAt);
    return host;
  }
  removeHost(id: string): boolean {
    this.db.prepare('DELETE FROM placements WHERE host_id = ?').run(id);
    return Number(this.db.prepare('DELETE FROM hosts WHERE id = ?').run(id).changes) > 0;
  }
  private hostOf(r: any): StoredHost {
    return { id: r.id, name: r.name, endpoint: r.endpoint, ca: r.ca, cert: r.cert, key: this.unseal(r.sealed_key), createdAt: r.created_at };
  }

  // Placements and quotas
  placements(project: string): string[] {
    return (this.db.prepare('SELECT host_id FROM placements WHERE project = ? ORDER BY host_id').all(project) as any[]).map((r) => r.host_id);
  }
  setPlacements(project: string, hostIds: string[]): void {
    this.db.exec('BEGIN');
    try {
      this.db.prepare('DELETE FROM placements WHERE project = ?').run(project);
      for (const id of new Set(hostIds)) this.db.prepare('INSERT INTO placements VALUES (?, ?)').run(project, id);
      this.db.exec('COMMIT');
    } catch (err) { this.db.exec('ROLLBACK'); throw err; }
  }
  quota(project: string): Quota {
    const r = this.db.prepare('SELECT * FROM quotas WHERE project = ?').get(project) as any;
    return { project, maxContainers: r?.max_containers ?? null, maxMemoryMiB: r?.max_memory_mib ?? null };
  }
  setQuota(q: Quota): void {
    this.db.prepare('INSERT INTO quotas VALUES (?, ?, ?) ON CONFLICT(project) DO UPDATE SET max_containers = excluded.max_containers, max_memory_mib = excluded.max_memory_mib')
      .run(q.project, q.maxContainers, q.maxMemoryMiB);
  }

  // Sessions
  addSession(s: StoredSession): void {
    this.db.prepare('DELETE FROM sessions WHERE expires < ?').run(Date.now());
    this.db.prepare('INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?)').run(s.tokenHash, s.userId, s.username, s.sysadmin ? 1 : 0, this.seal(s.password), s.expires, s.checkedAt);
  }
  session(tokenHash: string): StoredSession | undefined {
    const r = this.db.prepare('SELECT * FROM sessions WHERE token_hash = ?').get(tokenHash) as any;
    if (!r) return undefined;
    return { tokenHash: r.token_hash, userId: r.user_id, username: r.username, sysadmin: r.sysadmin === 1, password: this.unseal(r.sealed_password), expires: r.expires, checkedAt: r.checked_at };
  }
  /** The registry confirmed the login again; its administrator flag may have changed. */
  sessionChecked(tokenHash: string, sysadmin: boolean, at: number): void {
    this.db.prepare('UPDATE sessions SET sysadmin = ?, checked_at = ? WHERE token_hash = ?').run(sysadmin ? 1 : 0, at, tokenHash);
  }
  removeSession(tokenHash: string): void {
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash);
  }

  // Templates
  listTemplates(): Template[] {
    return (this.db.prepare('SELECT * FROM templates ORDER BY name').all() as any[]).map(templateOf);
  }
  template(id: string): Template | undefined {
    const r = this.db.prepare('SELECT * FROM templates WHERE id = ?').get(id);
    return r ? templateOf(r) : undefined;
  }
  addTemplate(t: { name: string; project: string | null; compose: string }): Template {
    const now = new Date().toISOString();
    const id = `t-${randomUUID().slice(0, 8)}`;
    this.db.prepare('INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?)').run(id, t.name, t.project, t.compose, now, now);
    return this.template(id)!;
  }
  updateTemplate(id: string, t: { name: string; compose: string }): void {
    this.db.prepare('UPDATE templates SET name = ?, compose = ?, updated_at = ? WHERE id = ?').run(t.name, t.compose, new Date().toISOString(), id);
  }
  removeTemplate(id: string): boolean {
    return Number(this.db.prepare('DELETE FROM templates WHERE id = ?').run(id).changes) > 0;
  }

  private seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.secret, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), data]).toString('base64');
  }
  private unseal(sealed: string): string {
    const raw = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.secret, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

function templateOf(r: any): Template {
  return { id: r.id, name: r.name, project: r.project ?? null, compose: r.compose, createdAt: r.created_at, updatedAt: r.updated_at };
}

function loadKey(path: string): Buffer {
  if (!existsSync(path)) writeFileAtomic(path, randomBytes(32).toString('hex')) // 0600;
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  if (key.length !== 32) throw new Error(`${path} does not hold a 256-bit key`);
  return key;
}
