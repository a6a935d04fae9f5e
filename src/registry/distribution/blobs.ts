// GET/HEAD/DELETE /v2/<name>/blobs/<digest>
import type { Metadata } from '../db/metadata.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { blobUnknown, RegistryError } from '../http/errors.ts';
import { sendEmpty } from '../http/respond.ts';
import { sendFileRange } from '../http/send-file.ts';
import { parseDigest } from './digest.ts';
import type { RepoGate } from './gate.ts';
import type { DistRequest, DistRoutes } from './request.ts';

export interface BlobRouteDeps { db: Metadata; blobs: BlobStore; gate: RepoGate }

/** Parses a single `bytes=` range against a size; null means "whole blob", throws 416 if unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const unsatisfiable = () => new RegistryError(416, 'BLOB_UNKNOWN', `range ${header} not satisfiable`, undefined, { 'Content-Range': `bytes */${size}` });
  if (!m || (m[1] === '' && m[2] === '')) throw unsatisfiable();
  let start: number, end: number;
  if (m[1] === '') { // suffix range: the last N bytes
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) throw unsatisfiable();
  return { start, end };
}

export function blobRoutes(deps: BlobRouteDeps): DistRoutes['blob'] {
  const fetchBlob = async (r: DistRequest, head: boolean) => {
    const { repo } = await deps.gate.open(r, r.name, ['pull']);
    parseDigest(r.reference);
    const size = repo ? await deps.db.linkedBlobSize(repo.id, r.reference) : null;
    if (size === null) throw blobUnknown(r.reference);
    const range = parseRange(r.req.headers.range, size);
    // Opened before the status line goes out, so a blob collected meanwhile is still a clean 404.
    const file = head || size === 0 ? null : await deps.blobs.open(r.reference);
    if (!head && size > 0 && !file) throw blobUnknown(r.reference);
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': r.reference,
      'Accept-Ranges': 'bytes', ETag: `"${r.reference}"`, 'Cache-Control': 'max-age=31536000',
    };
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
      headers['Content-Length'] = String(range.end - range.start + 1);
    } else {
      headers['Content-Length'] = String(size);
    }
    if (!file) { r.res.writeHead(range ? 206 : 200, headers).end(); return; }
    try {
      r.res.writeHead(range ? 206 : 200, headers);
      if (await sendFileRange(file, range?.start ?? 0, range?.end ?? size - 1, r.res)) r.res.end();
    } finally {
      await file.close();
    }
  };
  return {
    GET: (r) => fetchBlob(r, false),
    HEAD: (r) => fetchBlob(r, true),
    DELETE: async (r) => {
      const { repo } = await deps.gate.open(r, r.name, ['delete']);
      parseDigest(r.reference);
      if (!repo || !(await deps.db.unlinkBlob(repo.id, r.reference))) throw blobUnknown(r.reference);
      sendEmpty(r.res, 202, { 'Docker-Content-Digest': r.reference });
    },
  };
}
