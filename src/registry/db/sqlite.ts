// SQLite driver: one file in WAL mode (several processes on one host may share it). Waiting for
// another process's write lock never blocks the event loop (sqlite-busy.ts).
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { randomUUID } from 'node:crypto';
import type { LockKey, Row, Sql, SqlDriver, SqlValue } from './sql.ts';
import { whenUnlocked } from './sqlite-busy.ts';

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

/** `wait` wraps each call: identity inside a transaction (the lock is held), a busy retry outside. */
function runnerOf(db: DatabaseSync, statements: Statements, wait: <T>(attempt: () => T) => Promise<T>): Sql {
  return {
    get: (sql, ...args) => wait(() => statements.get(sql).get(...(args as SQLInputValue[])) as Row | undefined),
    all: (sql, ...args) => wait(() => statements.get(sql).all(...(args as SQLInputValue[])) as Row[]),
    run: (sql, ...args) => wait(() => Number(statements.get(sql).run(...(args as SQLInputValue[])).changes)),
    exec: (sql) => wait(() => { db.exec(sql); }),
  };
}

const immediately = async <T>(attempt: () => T): Promise<T> => attempt();

export interface SqliteOptions {
  /** How long a statement may wait for another process's lock before failing. Default 30 s. */
  lockWaitMs?: number;
  /**
   * This process's id and the oldest heartbeat counted as alive (jobs/liveness.ts): leases are
   * then held in this process's name and free as soon as its heartbeat goes stale. Without it
   * a lease is held for `leaseMs` at most.
   */
  liveness?: { processId: string; liveSince: () => number };
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
  private readonly lockWaitMs: number;
  private readonly liveness: SqliteOptions['liveness'];
  /** Single statements outside a transaction: retried while another process holds the lock. */
  private readonly autocommit: Sql;

  constructor(file: string, options: SqliteOptions = {}) {
    this.lockWaitMs = options.lockWaitMs ?? 30_000;
    this.liveness = options.liveness;
    this.db = new DatabaseSync(file);
    // Switching to WAL may wait for a lock once, at start-up, where blocking is harmless.
    this.db.exec('PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 0;');
    const statements = new Statements(this.db);
    const retry = <T>(attempt: () => T) => whenUnlocked(attempt, this.lockWaitMs);
    this.direct = runnerOf(this.db, statements, immediately);
    this.autocommit = runnerOf(this.db, statements, retry);
    this.readDb = new DatabaseSync(file, { readOnly: true });
    this.readDb.exec('PRAGMA busy_timeout = 0;'); // WAL readers rarely wait, but never in the event loop
    this.reader = runnerOf(this.readDb, new Statements(this.readDb), retry);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  // `get` also runs INSERT … RETURNING, so the statement decides the connection, not the method.
  get(sql: string, ...args: SqlValue[]) { return isRead(sql) ? this.reader.get(sql, ...args) : this.serial(() => this.autocommit.get(sql, ...args)); }
  all(sql: string, ...args: SqlValue[]) { return isRead(sql) ? this.reader.all(sql, ...args) : this.serial(() => this.autocommit.all(sql, ...args)); }
  run(sql: string, ...args: SqlValue[]) { return this.serial(() => this.autocommit.run(sql, ...args)); }
  /** A script could fail busy half-way, so it runs as one transaction. */
  exec(sql: string) { return this.tx((q) => q.exec(sql)); }

  /**
   * BEGIN IMMEDIATE takes the write lock up front, so writers of all processes queue; this
   * process queues for it on a timer (see sqlite-busy.ts), not inside SQLite.
   */
  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      await whenUnlocked(() => this.db.exec('BEGIN IMMEDIATE'), this.lockWaitMs);
      try {
        const out = await fn(this.direct);
        // COMMIT refused busy leaves the transaction open and may be retried.
        await whenUnlocked(() => this.db.exec('COMMIT'), this.lockWaitMs);
        return out;
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async lock(_q: Sql, _keys: LockKey[]): Promise<void> { /* the write lock covers every key */ }

  /**
   * A lease row, taken when absent or expired — or, with `liveness`, only when its holder's
   * heartbeat has gone stale: a crashed holder frees it within the heartbeat bound, and a live
   * one keeps it however long its work takes.
   */
  async exclusive<T>(name: string, fn: () => Promise<T>, leaseMs = 3600_000): Promise<T | null> {
    const holder = this.liveness?.processId ?? randomUUID();
    const now = Date.now();
    const took = this.liveness
      ? await this.run(`INSERT INTO leases (name, holder, expires_at) VALUES (?,?,?)
          ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
          WHERE leases.holder NOT IN (SELECT id FROM processes WHERE heartbeat_at >= ?)`,
        name, holder, now + leaseMs, this.liveness.liveSince())
      : await this.run(`INSERT INTO leases (name, holder, expires_at) VALUES (?,?,?)
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
