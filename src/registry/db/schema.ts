// Schema migrations, applied in order; `schema_version` records how far a database has come.
// Kept to SQL that SQLite and PostgreSQL both accept (apart from the id column type).

export function migrations(idColumn: string): string[] {
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
       name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL);
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
     CREATE TABLE tags (repo_id INTEGER NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, updated_at BIGINT NOT NULL,
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
  ];
}
