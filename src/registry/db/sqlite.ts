// SQLite driver: one file in WAL mode (several processes on one host may share it).
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { randomUUID } from 'node:crypto';
import type { LockKey, Row, Sql, SqlDriver, SqlValue } from './sql.ts';

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite';
  private readonly db: DatabaseSync;
  private readonly direct: Sql;
  // DatabaseSync is a single connection: a statement issued while another request's
  // transaction is awaiting would silently become part of it. So statements and transactions
  // of this process run one after another.
  private tail: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    this.db = new DatabaseSync(file);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;');
    const db = this.db;
    this.direct = {
      get: async (sql, ...args) => db.prepare(sql).get(...(args as SQLInputValue[])) as Row | undefined,
      all: async (sql, ...args) => db.prepare(sql).all(...(args as SQLInputValue[])) as Row[],
      run: async (sql, ...args) => Number(db.prepare(sql).run(...(args as SQLInputValue[])).changes),
      exec: async (sql) => { db.exec(sql); },
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  get(sql: string, ...args: SqlValue[]) { return this.serial(() => this.direct.get(sql, ...args)); }
  all(sql: string, ...args: SqlValue[]) { return this.serial(() => this.direct.all(sql, ...args)); }
  run(sql: string, ...args: SqlValue[]) { return this.serial(() => this.direct.run(sql, ...args)); }
  exec(sql: string) { return this.serial(() => this.direct.exec(sql)); }

  /** BEGIN IMMEDIATE takes the write lock up front, so writers of all processes queue. */
  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const out = await fn(this.direct);
        this.db.exec('COMMIT');
        return out;
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async lock(_q: Sql, _keys: LockKey[]): Promise<void> { /* the write lock covers every key */ }

  /** A lease row: taken when absent or expired, so a crashed holder blocks others for `leaseMs` at most. */
  async exclusive<T>(name: string, fn: () => Promise<T>, leaseMs = 3600_000): Promise<T | null> {
    const holder = randomUUID();
    const now = Date.now();
    const took = await this.run(`INSERT INTO leases (name, holder, expires_at) VALUES (?,?,?)
      ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at WHERE leases.expires_at < ?`,
      name, holder, now + leaseMs, now);
    if (took === 0) return null;
    try { return await fn(); } finally { await this.run('DELETE FROM leases WHERE name = ? AND holder = ?', name, holder); }
  }

  async close(): Promise<void> { await this.serial(async () => this.db.close()); }
}
