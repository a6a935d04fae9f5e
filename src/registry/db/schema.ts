// Schema migrations, applied in order; `schema_version` records how far a database has come.
// Kept to SQL that SQLite and PostgreSQL both accept, apart from the id column type and the
// collation of names listed in order (byte order, as the distribution spec's pagination wants).
import type { SqlDriver } from './sql.ts';

const dialects = {
  sqlite: { idColumn: 'INTEGER PRIMARY KEY AUTOINCREMENT', orderedText: 'TEXT' },
  postgres: { idColumn: 'SERIAL PRIMARY KEY', orderedText: 'TEXT COLLATE "C"' },
};

/** Brings a database up to the newest schema; concurrent starts of several processes take turns. */
export async function migrate(db: SqlDriver): Promise<void> {
  const all = migrations(db.dialect);
  await db.tx(async (q) => {
    await db.lock(q, [[0, 0]]);
    await q.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = await q.get('SELECT version FROM schema_version');
    const current = row ? Number(row.version) : 0;
    if (current > all.length) throw new Error(`the database has schema version ${current}; this registry knows only up to ${all.length}`);
    for (let v = current; v < all.length; v++) await q.exec(all[v]);
    if (!row) await q.run('INSERT INTO schema_version (version) VALUES (?)', all.length);
    else await q.run('UPDATE schema_version SET version = ?', all.length);
  });
}

export function migrations(dialect: keyof typeof dialects): string[] {
  const { idColumn, orderedText } = dialects[dialect];
  return [
    `CREATE TABLE users (id ${idColumn}, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
       sysadmin INTEGER NOT NULL DEFAULT 0, email TEXT NOT NULL DEFAULT '', realname TEXT NOT NULL DEFAULT '',
       created_at BIGINT NOT NULL);
     CREATE TABLE projects (id ${idColumn}, name TEXT NOT NULL UNIQUE, public INTEGER NOT NULL DEFAULT 0,
       storage_limit BIGINT NOT NULL DEFAULT -1, created_at BIGINT NOT NULL);
     CREATE TABLE members (id ${idColumn}, project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
       user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, role_id INTEGER NOT NULL,
       UNIQUE (project_id, user_id));
     CREATE TABLE robots (id ${idColumn}, name TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL,
       description TEXT NOT NULL DEFAULT '', permissions TEXT NOT NULL, expires_at BIGINT NOT NULL,
       disabled INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL);
     CREATE TABLE repositories (id ${idColumn}, project_id INTEGER NOT NULL REFERENCES projects(id),
       name ${orderedText} NOT NULL UNIQUE, created_at BIGINT NOT NULL);
     CREATE TABLE blobs (digest TEXT PRIMARY KEY, size BIGINT NOT NULL, created_at BIGINT NOT NULL);
     CREATE TABLE repo_blobs (repo_id INTEGER NOT NULL, digest TEXT NOT NULL, linked_at BIGINT NOT NULL,
       PRIMARY KEY (repo_id, digest));
     CREATE INDEX repo_blobs_digest ON repo_blobs (digest);
     CREATE TABLE manifests (repo_id INTEGER NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,
       size BIGINT NOT NULL, subject TEXT, artifact_type TEXT, annotations TEXT, created_at BIGINT NOT NULL,
       PRIMARY KEY (repo_id, digest));
     CREATE INDEX manifests_subject ON manifests (repo_id, subject);
     CREATE INDEX manifests_digest ON manifests (digest);
     CREATE TABLE manifest_refs (repo_id INTEGER NOT NULL, manifest_digest TEXT NOT NULL, ref_digest TEXT NOT NULL,
       PRIMARY KEY (repo_id, manifest_digest, ref_digest));
     CREATE INDEX manifest_refs_ref ON manifest_refs (ref_digest);
     CREATE TABLE tags (repo_id INTEGER NOT NULL, name ${orderedText} NOT NULL, digest TEXT NOT NULL, updated_at BIGINT NOT NULL,
       PRIMARY KEY (repo_id, name));
     CREATE TABLE uploads (id TEXT PRIMARY KEY, repo_id INTEGER NOT NULL, created_at BIGINT NOT NULL);
     CREATE TABLE audit_logs (id ${idColumn}, op_time BIGINT NOT NULL, username TEXT NOT NULL, project_id INTEGER,
       resource TEXT NOT NULL, resource_type TEXT NOT NULL, operation TEXT NOT NULL);
     CREATE TABLE gc_runs (id ${idColumn}, status TEXT NOT NULL, dry_run INTEGER NOT NULL, started_at BIGINT NOT NULL,
       finished_at BIGINT, result TEXT);
     CREATE TABLE immutable_rules (id ${idColumn}, project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
       repo_pattern TEXT NOT NULL, tag_pattern TEXT NOT NULL);`,
    `CREATE TABLE webhooks (id ${idColumn}, project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
       name TEXT NOT NULL, url TEXT NOT NULL, event_types TEXT NOT NULL, auth_header TEXT NOT NULL DEFAULT '');`,
    // Cross-process locks (SQLite), replication, tag retention, settings (the GC schedule).
    `CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL);
     CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE remote_registries (id ${idColumn}, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL, url TEXT NOT NULL,
       access_key TEXT NOT NULL DEFAULT '', access_secret TEXT NOT NULL DEFAULT '', insecure INTEGER NOT NULL DEFAULT 0,
       description TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL);
     CREATE TABLE replication_policies (id ${idColumn}, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
       src_registry_id INTEGER REFERENCES remote_registries(id), dest_registry_id INTEGER REFERENCES remote_registries(id),
       dest_namespace TEXT NOT NULL DEFAULT '', filters TEXT NOT NULL, trigger_type TEXT NOT NULL,
       enabled INTEGER NOT NULL DEFAULT 1, override INTEGER NOT NULL DEFAULT 1, created_at BIGINT NOT NULL);
     CREATE TABLE replication_executions (id ${idColumn}, policy_id INTEGER NOT NULL REFERENCES replication_policies(id) ON DELETE CASCADE,
       trigger_type TEXT NOT NULL, status TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT,
       total INTEGER NOT NULL DEFAULT 0, succeeded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, tasks TEXT);
     CREATE TABLE retention_policies (id ${idColumn}, project_id INTEGER NOT NULL UNIQUE REFERENCES projects(id) ON DELETE CASCADE,
       algorithm TEXT NOT NULL, rules TEXT NOT NULL, created_at BIGINT NOT NULL);
     CREATE TABLE retention_executions (id ${idColumn}, policy_id INTEGER NOT NULL REFERENCES retention_policies(id) ON DELETE CASCADE,
       dry_run INTEGER NOT NULL, status TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT, result TEXT);`,
    // Live processes and the owners of executions (so crashed ones can be failed), cron schedules
    // of retention and replication policies, and the claims that make a scheduled slot run once.
    `CREATE TABLE processes (id TEXT PRIMARY KEY, heartbeat_at BIGINT NOT NULL, started_at BIGINT NOT NULL);
     CREATE TABLE schedule_claims (schedule TEXT NOT NULL, slot BIGINT NOT NULL, owner TEXT NOT NULL, claimed_at BIGINT NOT NULL,
       PRIMARY KEY (schedule, slot));
     ALTER TABLE gc_runs ADD COLUMN owner TEXT;
     ALTER TABLE gc_runs ADD COLUMN trigger_kind TEXT NOT NULL DEFAULT 'MANUAL';
     ALTER TABLE retention_executions ADD COLUMN owner TEXT;
     ALTER TABLE retention_executions ADD COLUMN trigger_kind TEXT NOT NULL DEFAULT 'MANUAL';
     ALTER TABLE replication_executions ADD COLUMN owner TEXT;
     ALTER TABLE retention_policies ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
     ALTER TABLE retention_policies ADD COLUMN schedule_since BIGINT NOT NULL DEFAULT 0;
     ALTER TABLE replication_policies ADD COLUMN schedule TEXT NOT NULL DEFAULT '';
     ALTER TABLE replication_policies ADD COLUMN schedule_since BIGINT NOT NULL DEFAULT 0;`,
    // Robots act in a project by id (a name can be re-used by a later project); robots of
    // projects deleted before this version have no project left and go.
    `ALTER TABLE robots ADD COLUMN project_id INTEGER;
     UPDATE robots SET project_id = (SELECT p.id FROM projects p WHERE substr(robots.name, 1, length(p.name) + 7) = 'robot$' || p.name || '+');
     DELETE FROM robots WHERE project_id IS NULL;
     DELETE FROM members WHERE project_id NOT IN (SELECT id FROM projects);
     DELETE FROM immutable_rules WHERE project_id NOT IN (SELECT id FROM projects);
     DELETE FROM webhooks WHERE project_id NOT IN (SELECT id FROM projects);
     DELETE FROM retention_policies WHERE project_id NOT IN (SELECT id FROM projects);`,
  ];
}
