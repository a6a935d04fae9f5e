// PostgreSQL driver (npm `pg`): a connection pool; transactions on one pooled client; conflicting
// writers serialised with transaction-scoped advisory locks, cross-process exclusivity with
// session-scoped ones (released by the server if the holder dies).
import pg from 'pg';
import type { LockKey, Row, Sql, SqlDriver, SqlValue } from './sql.ts';
import { sortedLocks } from './sql.ts';

/** `?` placeholders become `$1, $2, …` (no query of ours has a `?` inside a string literal). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function runnerOf(client: pg.Pool | pg.PoolClient): Sql {
  return {
    get: async (sql, ...args) => (await client.query(numbered(sql), args)).rows[0] as Row | undefined,
    all: async (sql, ...args) => (await client.query(numbered(sql), args)).rows as Row[],
    run: async (sql, ...args) => (await client.query(numbered(sql), args)).rowCount ?? 0,
    exec: async (sql) => { await client.query(sql); },
  };
}

/** Advisory lock space of `exclusive` locks; the second half of the key is a hash of the name. */
const exclusiveSpace = 100;
const nameKey = (name: string) => [...name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 7);

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres';
  private readonly pool: pg.Pool;
  private readonly runner: Sql;

  constructor(connectionString: string, log: (line: string) => void) {
    this.pool = new pg.Pool({ connectionString, max: 10 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.pool.on('error', (e) => log(`postgres: ${e.message}`));
    this.runner = runnerOf(this.pool);
  }

  get(sql: string, ...args: SqlValue[]) { return this.runner.get(sql, ...args); }
  all(sql: string, ...args: SqlValue[]) { return this.runner.all(sql, ...args); }
  run(sql: string, ...args: SqlValue[]) { return this.runner.run(sql, ...args); }
  exec(sql: string) { return this.runner.exec(sql); }

  async tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(runnerOf(client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async lock(q: Sql, keys: LockKey[]): Promise<void> {
    for (const [space, id] of sortedLocks(keys)) await q.get('SELECT pg_advisory_xact_lock(?::int, ?::int)', space, id);
  }

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | null> {
    const client = await this.pool.connect();
    const key = [exclusiveSpace, nameKey(name)];
    try {
      const took = (await client.query('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', key)).rows[0].ok === true;
      if (!took) return null;
      try { return await fn(); } finally { await client.query('SELECT pg_advisory_unlock($1::int, $2::int)', key); }
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> { await this.pool.end(); }
}
