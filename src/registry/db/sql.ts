// The small SQL surface both metadata backends provide. Queries are written once, with `?`
// placeholders, in the subset of SQL that SQLite and PostgreSQL share; the drivers differ only
// in how they connect, run a transaction and serialise conflicting writers.

export type SqlValue = string | number | bigint | null;
export type Row = Record<string, unknown>;

export interface Sql {
  get(sql: string, ...args: SqlValue[]): Promise<Row | undefined>;
  all(sql: string, ...args: SqlValue[]): Promise<Row[]>;
  /** Returns the number of rows changed. */
  run(sql: string, ...args: SqlValue[]): Promise<number>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface SqlDriver extends Sql {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `fn` in a write transaction: committed when it resolves, rolled back when it throws. */
  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T>;
  /**
   * Inside a transaction, waits until no other transaction holds any of `keys`, and holds them
   * until commit. Keys are taken in sorted order so two transactions never deadlock.
   * (SQLite's single writer lock already serialises every write transaction.)
   */
  lock(q: Sql, keys: LockKey[]): Promise<void>;
  /**
   * Runs `fn` only if no other process holds the named lock, holding it meanwhile; null when
   * the lock is taken. Released when `fn` settles or the holder's connection dies.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T | null>;
  close(): Promise<void>;
}

/** A two-part lock key: what kind of thing, and which one (both 32-bit). */
export type LockKey = [space: number, id: number];

/** Blob commits, manifest pushes and GC deletions of one digest exclude each other. */
export function digestLock(digest: string): LockKey {
  const hex = digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 9); // already uniformly distributed
  return [1, Number.parseInt(hex, 16) | 0];
}

/** Quota checks of one project run one at a time, so concurrent pushes cannot both squeeze in. */
export const projectLock = (projectId: number): LockKey => [2, projectId];

export function sortedLocks(keys: LockKey[]): LockKey[] {
  const seen = new Set<string>();
  return [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]).filter((k) => !seen.has(k.join()) && !!seen.add(k.join()));
}
