// Chooses the metadata backend: PostgreSQL for a postgres:// URL, else SQLite under the root.
import { SqliteDriver, type SqliteOptions } from './sqlite.ts';
import { PostgresDriver } from './postgres.ts';
import { SqlMetadata } from './sql-metadata.ts';

export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//.test(database);
}

export async function openMetadata(database: string | undefined, sqliteFile: string, log: (line: string) => void, sqlite: SqliteOptions = {}): Promise<SqlMetadata> {
  if (database && !isPostgresUrl(database)) throw new Error(`--database wants a postgres:// URL, got ${database}`);
  const driver = database ? new PostgresDriver(database, log) : new SqliteDriver(sqliteFile, sqlite);
  try {
    return await SqlMetadata.open(driver);
  } catch (e) {
    await driver.close();
    throw e;
  }
}
