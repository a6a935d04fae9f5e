// Abandoned upload sessions: rows older than the cutoff, and files without a row (e.g. left by
// kill -9 between creating the file and recording the session). Run at start-up and by GC; the
// age cutoff keeps sessions of other processes sharing the directory alive.
import type { Metadata } from '../db/metadata.ts';
import type { UploadArea } from '../storage/blob-store.ts';

export async function purgeAbandonedUploads(deps: { db: Metadata; uploads: UploadArea }, cutoff: number, dryRun: boolean): Promise<number> {
  let removed = 0;
  for (const u of await deps.db.uploadsBefore(cutoff)) {
    if (!dryRun) { await deps.uploads.remove(u.id); await deps.db.deleteUpload(u.id); }
    removed++;
  }
  for (const f of await deps.uploads.list()) {
    if (f.mtime > cutoff || (await deps.db.upload(f.id))) continue;
    if (!dryRun) await deps.uploads.remove(f.id);
    removed++;
  }
  return removed;
}
