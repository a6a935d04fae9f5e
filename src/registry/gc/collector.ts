// Mark and sweep. Mark: every digest some manifest row needs. Sweep: each other blob file is
// deleted in its own metadata transaction that re-checks references — blob commits and manifest
// pushes take the same lock, so a manifest pushed while GC runs either lands first (and its
// blobs are kept) or sees its blob gone and is refused with MANIFEST_BLOB_UNKNOWN. Blobs written
// or linked after `now - grace` are left alone so in-flight pushes can still reference them.
import type { Metadata } from '../db/metadata.ts';
import type { BlobStore, UploadArea } from '../storage/blob-store.ts';

export interface GcOptions { dryRun: boolean; graceMs: number; uploadMaxAgeMs: number }
export interface GcResult {
  dryRun: boolean; blobsScanned: number; blobsDeleted: number; bytesFreed: number; deletedDigests: string[]; uploadsRemoved: number;
}

export async function collectGarbage(deps: { db: Metadata; blobs: BlobStore; uploads: UploadArea }, opts: GcOptions): Promise<GcResult> {
  const startedAt = Date.now();
  const notAfter = startedAt - opts.graceMs;
  const marked = await deps.db.referencedDigests();
  const result: GcResult = { dryRun: opts.dryRun, blobsScanned: 0, blobsDeleted: 0, bytesFreed: 0, deletedDigests: [], uploadsRemoved: 0 };
  for (const digest of await deps.blobs.listDigests()) {
    result.blobsScanned++;
    if (marked.has(digest)) continue;
    const touched = (await deps.db.blobTouchedAt(digest)) ?? (await deps.blobs.fileTime(digest));
    if (touched === null || touched > notAfter) continue;
    const size = (await deps.db.blobSize(digest)) ?? 0;
    const deleted = opts.dryRun || (await deps.db.deleteBlobIfUnreferenced(digest, notAfter, () => deps.blobs.removeSync(digest)));
    if (!deleted) continue;
    result.blobsDeleted++;
    result.bytesFreed += size;
    result.deletedDigests.push(digest);
  }
  // Abandoned upload sessions (and files of sessions that never got a row, e.g. after kill -9).
  const uploadCutoff = startedAt - opts.uploadMaxAgeMs;
  for (const u of await deps.db.uploadsBefore(uploadCutoff)) {
    if (!opts.dryRun) { await deps.uploads.remove(u.id); await deps.db.deleteUpload(u.id); }
    result.uploadsRemoved++;
  }
  for (const f of await deps.uploads.list()) {
    if (f.mtime > uploadCutoff || (await deps.db.upload(f.id))) continue;
    if (!opts.dryRun) await deps.uploads.remove(f.id);
    result.uploadsRemoved++;
  }
  return result;
}
