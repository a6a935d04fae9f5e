// Mark and sweep. Mark: every digest some manifest row needs. Sweep: each other blob file is
// deleted in its own metadata transaction that re-checks references under the digest's lock —
// blob commits and manifest pushes (of any process) take the same lock, so a manifest pushed
// while GC runs either lands first (and its blobs are kept) or sees its blob gone and is refused
// with MANIFEST_BLOB_UNKNOWN. Blobs written or linked after `now - grace` are left alone so
// in-flight pushes can still reference them; likewise untagged manifests (an index's children
// are pushed untagged just before it).
import type { Metadata } from '../db/metadata.ts';
import type { BlobStore, UploadArea } from '../storage/blob-store.ts';
import { purgeAbandonedUploads } from './uploads.ts';

export interface GcOptions { dryRun: boolean; graceMs: number; uploadMaxAgeMs: number; deleteUntagged: boolean }
export interface GcResult {
  dryRun: boolean; manifestsDeleted: number; blobsScanned: number; blobsDeleted: number; bytesFreed: number;
  deletedDigests: string[]; uploadsRemoved: number;
}

export async function collectGarbage(deps: { db: Metadata; blobs: BlobStore; uploads: UploadArea }, opts: GcOptions): Promise<GcResult> {
  const startedAt = Date.now();
  const notAfter = startedAt - opts.graceMs;
  const result: GcResult = { dryRun: opts.dryRun, manifestsDeleted: 0, blobsScanned: 0, blobsDeleted: 0, bytesFreed: 0, deletedDigests: [], uploadsRemoved: 0 };
  if (opts.deleteUntagged) {
    for (const m of await deps.db.untaggedManifests(notAfter)) {
      if (opts.dryRun || (await deps.db.deleteManifest(m.repoId, m.digest))) result.manifestsDeleted++;
    }
  }
  const marked = await deps.db.referencedDigests();
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
  result.uploadsRemoved = await purgeAbandonedUploads(deps, startedAt - opts.uploadMaxAgeMs, opts.dryRun);
  return result;
}
