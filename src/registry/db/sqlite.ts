// SQLite driver: one file in WAL mode (several processes on one host may share it).
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { randomUUID } from 'node:crypto';
import type { LockKey, Row, Sql, SqlDriver, SqlValue } from './sql.ts';

/** Statements prepared once per connection and reused (preparing costs more than running a lookup). */
class Statements {
  private readonly db: DatabaseSync;
  private readonly cache = new Map<string, StatementSync>();
  constructor(db: DatabaseSync) { this.db = db; }
  get(sql: string): StatementSync {
    let s = this.cache.get(sql);
    if (!s) {
      if (this.cache.size >= 500) this.cache.clear(); // SQL built with variable IN lists must not grow it forever
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }
}

function runnerOf(db: DatabaseSync, statements: Statements): Sql {
  return {
    get: async (sql, ...args) => statements.get(sql).get(...(args as SQLInputValue[])) as Row | undefined,
    all: async (sql, ...args) => statements.get(sql).all(...(args as SQLInputValue[])) as Row[],
    run: async (sql, ...args) => Number(statements.get(sql).run(...(args as SQLInputValue[])).changes),
    exec: async (sql) => { db.exec(sql); },
  };
}

const isRead = (sql: string) => /^\s*SELECT\b/i.test(sql);

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite';
  private readonly db: DatabaseSync;
  private readonly direct: Sql;
  // A second, read-only connection: in WAL mode it reads the last committed state without
  // waiting for the writer, so lookups on the pull path never queue behind a push's transaction.
  private readonly readDb: DatabaseSync;
  private readonly reader: Sql;
  // DatabaseSync is a single connection: a statement issued while another request's
  // transaction is awaiting would silently become part of it. So writes and transactions
  // of this process run one after another on the writing connection.
  private tail: Promise<unknown> = Promise.resolve();

  constructor(file: string) {
    this.db = new DatabaseSync(file);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;');
    this.direct = runnerOf(this.db, new Statements(this.db));
    this.readDb = new DatabaseSync(file, { readOnly: true });
    this.readDb.exec('PRAGMA busy_timeout = 10000;');
    this.reader = runnerOf(this.readDb, new Statements(this.readDb));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  // `get` also runs INSERT … RETURNING, so the statement decides the connection, not the method.
  get(sql: string, ...args: SqlValue[]) { return isRead(sql) ? this.reader.get(sql, ...args) : this.serial(() => this.direct.get(sql, ...args)); }
  all(sql: string, ...args: SqlValue[]) { return isRead(sql) ? this.reader.all(sql, ...args) : this.serial(() => this.direct.all(sql, ...args)); }
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

  async close(): Promise<void> {
    await this.serial(async () => {
      this.readDb.close();
      this.db.close();
    });
  }
}
