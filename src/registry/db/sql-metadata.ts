// Metadata, second half: content — repositories, blobs, manifests, tags, upload sessions and GC
// runs. Every write that must not interleave with another (a blob commit vs. GC deleting the
// same digest; two pushes against one project's quota) takes the same locks inside its
// transaction, in SQLite and PostgreSQL alike.
import { QuotaExceeded, type GcRun, type JobTrigger, type Metadata, type NewManifest, type Repository, type Upload } from './metadata.ts';
import { digestLock, projectLock, type LockKey, type Sql, type SqlDriver } from './sql.ts';
import { migrate } from './schema.ts';
import { SqlAccounts } from './sql-accounts.ts';
import { ownerGone } from '../jobs/liveness.ts';
import { toGcRun, toManifest, toRepo, toTag, toUpload } from './rows.ts';

const touchedSql = `SELECT MAX(t) AS t FROM (SELECT created_at AS t FROM blobs WHERE digest = ?
  UNION ALL SELECT linked_at AS t FROM repo_blobs WHERE digest = ?) AS touched`;

export class SqlMetadata extends SqlAccounts implements Metadata {
  static async open(sql: SqlDriver): Promise<SqlMetadata> {
    await migrate(sql);
    return new SqlMetadata(sql);
  }

  // ---- repositories
  async ensureRepository(projectId: number, name: string): Promise<Repository> {
    await this.sql.run('INSERT INTO repositories (project_id, name, created_at) VALUES (?,?,?) ON CONFLICT (name) DO NOTHING', projectId, name, Date.now());
    return (await this.repositoryByName(name))!;
  }
  async repositoryByName(name: string) { return toRepo(await this.sql.get('SELECT * FROM repositories WHERE name = ?', name)); }
  async listRepositories(after: string, limit: number) {
    return (await this.sql.all('SELECT * FROM repositories WHERE name > ? ORDER BY name LIMIT ?', after, limit)).map((r) => toRepo(r)!);
  }
  async listProjectRepositories(projectId: number) {
    return (await this.sql.all('SELECT * FROM repositories WHERE project_id = ? ORDER BY name', projectId)).map((r) => toRepo(r)!);
  }
  async deleteRepository(id: number) {
    await this.sql.tx(async (q) => {
      for (const t of ['tags', 'manifest_refs', 'manifests', 'repo_blobs', 'uploads']) await q.run(`DELETE FROM ${t} WHERE repo_id = ?`, id);
      await q.run('DELETE FROM repositories WHERE id = ?', id);
    });
  }

  // ---- blobs
  async blobSize(digest: string) {
    const r = await this.sql.get('SELECT size FROM blobs WHERE digest = ?', digest);
    return r ? Number(r.size) : null;
  }
  private locksFor(digests: string[], projectId: number, quotaLimit: number): LockKey[] {
    return [...digests.map(digestLock), ...(quotaLimit >= 0 ? [projectLock(projectId)] : [])];
  }
  private async linkInTx(q: Sql, repoId: number, projectId: number, quotaLimit: number, digest: string, size: number): Promise<void> {
    if (await q.run('UPDATE repo_blobs SET linked_at = ? WHERE repo_id = ? AND digest = ?', Date.now(), repoId, digest) > 0) return;
    const inProject = await q.get('SELECT 1 FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id WHERE r.project_id = ? AND rb.digest = ?', projectId, digest);
    if (!inProject && quotaLimit >= 0 && (await this.usage(q, projectId)) + size > quotaLimit) {
      throw new QuotaExceeded(`adding ${size} bytes would exceed the project's storage quota of ${quotaLimit} bytes`);
    }
    await q.run('INSERT INTO repo_blobs (repo_id, digest, linked_at) VALUES (?,?,?)', repoId, digest, Date.now());
  }
  private async recordBlob(q: Sql, digest: string, size: number): Promise<void> {
    await q.run('INSERT INTO blobs (digest, size, created_at) VALUES (?,?,?) ON CONFLICT (digest) DO UPDATE SET created_at = excluded.created_at', digest, size, Date.now());
  }
  async commitBlob(repoId: number, projectId: number, quotaLimit: number, digest: string, size: number, place: () => void) {
    await this.sql.tx(async (q) => {
      await this.sql.lock(q, this.locksFor([digest], projectId, quotaLimit));
      await this.linkInTx(q, repoId, projectId, quotaLimit, digest, size);
      place();
      await this.recordBlob(q, digest, size);
    });
  }
  async linkBlob(repoId: number, projectId: number, quotaLimit: number, digest: string) {
    return this.sql.tx(async (q) => {
      await this.sql.lock(q, this.locksFor([digest], projectId, quotaLimit));
      const blob = await q.get('SELECT size FROM blobs WHERE digest = ?', digest);
      if (!blob) return false;
      await this.linkInTx(q, repoId, projectId, quotaLimit, digest, Number(blob.size));
      return true;
    });
  }
  async isLinked(repoId: number, digest: string) {
    return !!(await this.sql.get('SELECT 1 FROM repo_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE rb.repo_id = ? AND rb.digest = ?', repoId, digest));
  }
  async linkedBlobSize(repoId: number, digest: string) {
    const r = await this.sql.get('SELECT b.size FROM repo_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE rb.repo_id = ? AND rb.digest = ?', repoId, digest);
    return r ? Number(r.size) : null;
  }
  async unlinkBlob(repoId: number, digest: string) { return (await this.sql.run('DELETE FROM repo_blobs WHERE repo_id = ? AND digest = ?', repoId, digest)) > 0; }
  private async usage(q: Sql, projectId: number): Promise<number> {
    return Number((await q.get(`SELECT COALESCE(SUM(b.size), 0) AS used FROM blobs b WHERE b.digest IN
      (SELECT rb.digest FROM repo_blobs rb JOIN repositories r ON r.id = rb.repo_id WHERE r.project_id = ?)`, projectId))!.used);
  }
  async projectUsage(projectId: number) { return this.usage(this.sql, projectId); }

  // ---- manifests and tags
  async putManifest(m: NewManifest, place: () => void): Promise<string[]> {
    return this.sql.tx(async (q) => {
      await this.sql.lock(q, this.locksFor([m.digest, ...m.blobRefs, ...m.manifestRefs], m.projectId, m.quotaLimit));
      const missing: string[] = [];
      for (const d of m.blobRefs) {
        if (!(await q.get('SELECT 1 FROM repo_blobs rb JOIN blobs b ON b.digest = rb.digest WHERE rb.repo_id = ? AND rb.digest = ?', m.repoId, d))) missing.push(d);
      }
      for (const d of m.manifestRefs) {
        if (!(await q.get('SELECT 1 FROM manifests WHERE repo_id = ? AND digest = ?', m.repoId, d))) missing.push(d);
      }
      if (missing.length > 0) return missing;
      const now = Date.now();
      await this.linkInTx(q, m.repoId, m.projectId, m.quotaLimit, m.digest, m.size);
      place();
      await this.recordBlob(q, m.digest, m.size);
      await q.run(`INSERT INTO manifests (repo_id, digest, media_type, size, subject, artifact_type, annotations, created_at) VALUES (?,?,?,?,?,?,?,?)
        ON CONFLICT (repo_id, digest) DO UPDATE SET media_type = excluded.media_type, created_at = excluded.created_at`,
        m.repoId, m.digest, m.mediaType, m.size, m.subject, m.artifactType, m.annotations ? JSON.stringify(m.annotations) : null, now);
      for (const ref of new Set([...m.blobRefs, ...m.manifestRefs])) {
        await q.run('INSERT INTO manifest_refs (repo_id, manifest_digest, ref_digest) VALUES (?,?,?) ON CONFLICT DO NOTHING', m.repoId, m.digest, ref);
      }
      for (const tag of m.tags) {
        await q.run('INSERT INTO tags (repo_id, name, digest, updated_at) VALUES (?,?,?,?) ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at',
          m.repoId, tag, m.digest, now);
      }
      return [];
    });
  }
  async manifest(repoId: number, digest: string) { return toManifest(await this.sql.get('SELECT * FROM manifests WHERE repo_id = ? AND digest = ?', repoId, digest)); }
  async tag(repoId: number, name: string) { return toTag(await this.sql.get('SELECT * FROM tags WHERE repo_id = ? AND name = ?', repoId, name)); }
  async listTags(repoId: number, after: string, limit: number) {
    return (await this.sql.all('SELECT name FROM tags WHERE repo_id = ? AND name > ? ORDER BY name LIMIT ?', repoId, after, limit)).map((r) => String(r.name));
  }
  async tagRecords(repoId: number) { return (await this.sql.all('SELECT * FROM tags WHERE repo_id = ? ORDER BY name', repoId)).map((r) => toTag(r)!); }
  async tagsOf(repoId: number, digest: string) {
    return (await this.sql.all('SELECT name FROM tags WHERE repo_id = ? AND digest = ? ORDER BY name', repoId, digest)).map((r) => String(r.name));
  }
  async listManifests(repoId: number) { return (await this.sql.all('SELECT * FROM manifests WHERE repo_id = ? ORDER BY created_at', repoId)).map((r) => toManifest(r)!); }
  async referrers(repoId: number, subject: string) {
    return (await this.sql.all('SELECT * FROM manifests WHERE repo_id = ? AND subject = ? ORDER BY digest', repoId, subject)).map((r) => toManifest(r)!);
  }
  async deleteManifest(repoId: number, digest: string) {
    return this.sql.tx(async (q) => {
      const gone = (await q.run('DELETE FROM manifests WHERE repo_id = ? AND digest = ?', repoId, digest)) > 0;
      await q.run('DELETE FROM manifest_refs WHERE repo_id = ? AND manifest_digest = ?', repoId, digest);
      await q.run('DELETE FROM tags WHERE repo_id = ? AND digest = ?', repoId, digest);
      return gone;
    });
  }
  async deleteTag(repoId: number, name: string) { return (await this.sql.run('DELETE FROM tags WHERE repo_id = ? AND name = ?', repoId, name)) > 0; }
  async untaggedManifests(createdBefore: number) {
    const rows = await this.sql.all(`SELECT m.repo_id, m.digest FROM manifests m WHERE m.subject IS NULL AND m.created_at < ?
      AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repo_id = m.repo_id AND t.digest = m.digest)
      AND NOT EXISTS (SELECT 1 FROM manifest_refs r WHERE r.repo_id = m.repo_id AND r.ref_digest = m.digest)`, createdBefore);
    return rows.map((r) => ({ repoId: Number(r.repo_id), digest: String(r.digest) }));
  }

  // ---- uploads
  async createUpload(id: string, repoId: number) { await this.sql.run('INSERT INTO uploads (id, repo_id, created_at) VALUES (?,?,?)', id, repoId, Date.now()); }
  async upload(id: string): Promise<Upload | null> { return toUpload(await this.sql.get('SELECT * FROM uploads WHERE id = ?', id)); }
  async deleteUpload(id: string) { await this.sql.run('DELETE FROM uploads WHERE id = ?', id); }
  async uploadsBefore(time: number) { return (await this.sql.all('SELECT * FROM uploads WHERE created_at < ?', time)).map((r) => toUpload(r)!); }

  // ---- garbage collection
  async referencedDigests() {
    const out = new Set<string>();
    for (const r of await this.sql.all('SELECT digest FROM manifests UNION SELECT ref_digest AS digest FROM manifest_refs')) out.add(String(r.digest));
    return out;
  }
  async blobTouchedAt(digest: string) {
    const r = await this.sql.get(touchedSql, digest, digest);
    return r && r.t !== null ? Number(r.t) : null;
  }
  async deleteBlobIfUnreferenced(digest: string, notAfter: number, remove: () => void) {
    return this.sql.tx(async (q) => {
      await this.sql.lock(q, [digestLock(digest)]);
      if (await q.get('SELECT 1 FROM manifests WHERE digest = ? UNION SELECT 1 FROM manifest_refs WHERE ref_digest = ?', digest, digest)) return false;
      const touched = await q.get(touchedSql, digest, digest);
      if (touched && touched.t !== null && Number(touched.t) > notAfter) return false;
      remove();
      await q.run('DELETE FROM repo_blobs WHERE digest = ?', digest);
      await q.run('DELETE FROM blobs WHERE digest = ?', digest);
      return true;
    });
  }
  async startGc(dryRun: boolean, trigger: JobTrigger, owner: string): Promise<GcRun> {
    const now = Date.now();
    const id = await this.insert("INSERT INTO gc_runs (status, dry_run, trigger_kind, owner, started_at) VALUES ('running', ?, ?, ?, ?)", dryRun ? 1 : 0, trigger, owner, now);
    return { id, status: 'running', dryRun, trigger, startedAt: now, finishedAt: null, result: null };
  }
  async finishGc(id: number, status: 'succeeded' | 'failed', result: unknown) {
    await this.sql.run('UPDATE gc_runs SET status = ?, finished_at = ?, result = ? WHERE id = ?', status, Date.now(), JSON.stringify(result), id);
  }
  async failAbandonedGc(now: number) {
    return this.sql.run(`UPDATE gc_runs SET status = 'failed', finished_at = ?, result = ? WHERE status = 'running' AND ${ownerGone}`,
      now, JSON.stringify({ error: 'the registry process running it stopped' }));
  }
  async gcRun(id: number) { return toGcRun(await this.sql.get('SELECT * FROM gc_runs WHERE id = ?', id)); }
  async listGcRuns() { return (await this.sql.all('SELECT * FROM gc_runs ORDER BY id DESC')).map((r) => toGcRun(r)!); }

  // ---- settings
  async setting(name: string) {
    const r = await this.sql.get('SELECT value FROM settings WHERE name = ?', name);
    return r ? String(r.value) : null;
  }
  async setSetting(name: string, value: string) {
    await this.sql.run('INSERT INTO settings (name, value) VALUES (?,?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', name, value);
  }
}
