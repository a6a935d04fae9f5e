// Blob upload sessions: POST (start, monolithic, or cross-repository mount), PATCH (chunks),
// PUT (finish + verify), GET (status), DELETE (cancel).
import type { IncomingMessage } from 'node:http';
import { QuotaExceeded, type Metadata } from '../db/metadata.ts';
import type { BlobStore, UploadArea } from '../storage/blob-store.ts';
import { blobUploadUnknown, denied, RegistryError, sizeInvalid } from '../http/errors.ts';
import { drain, sendEmpty } from '../http/respond.ts';
import { parseDigest } from './digest.ts';
import type { OpenRepo, RepoGate } from './gate.ts';
import type { DistRequest, DistRoutes } from './request.ts';
import type { EventBus } from '../events.ts';

export interface UploadRouteDeps { db: Metadata; blobs: BlobStore; uploads: UploadArea; gate: RepoGate; events: EventBus; maxBlobSize: number }

const uploadLocation = (name: string, id: string) => `/v2/${name}/blobs/uploads/${id}`;
const rangeHeader = (size: number) => `0-${Math.max(0, size - 1)}`;

/** `Content-Range: <start>-<end>` (a leading `bytes ` and trailing `/total` are tolerated). */
function parseContentRange(header: string | undefined): { start: number; end: number } | null {
  if (header === undefined) return null;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m || Number(m[2]) < Number(m[1])) throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', `invalid Content-Range ${header}`);
  return { start: Number(m[1]), end: Number(m[2]) };
}

export function uploadRoutes(deps: UploadRouteDeps): { uploads: DistRoutes['uploads']; upload: DistRoutes['upload'] } {
  const checkDeclaredSize = (req: IncomingMessage) => {
    if (Number(req.headers['content-length'] ?? 0) > deps.maxBlobSize) throw sizeInvalid(`blob larger than the maximum of ${deps.maxBlobSize} bytes`, 413);
  };

  const openSession = async (r: DistRequest) => {
    const open = await deps.gate.open(r, r.name, ['pull', 'push']);
    const session = open.repo ? await deps.db.upload(r.reference) : null;
    if (!session || session.repoId !== open.repo!.id || (await deps.uploads.size(session.id)) === null) {
      await drain(r.req);
      throw blobUploadUnknown();
    }
    return { open, id: session.id };
  };

  /** Appends a chunk, enforcing the spec's in-order Content-Range rule (416 otherwise). */
  const appendChunk = async (r: DistRequest, id: string): Promise<number> => {
    const current = (await deps.uploads.size(id)) ?? 0;
    const range = parseContentRange(r.req.headers['content-range']);
    if (range) {
      const length = r.req.headers['content-length'];
      if (range.start !== current || (length !== undefined && Number(length) !== range.end - range.start + 1)) {
        await drain(r.req);
        throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', `chunk ${range.start}-${range.end} out of order; upload is at ${current}`, undefined,
          { Location: uploadLocation(r.name, id), Range: rangeHeader(current) });
      }
    }
    checkDeclaredSize(r.req);
    return deps.uploads.append(id, r.req, deps.maxBlobSize);
  };

  /** Verifies the upload against the digest and moves it into the blob store. */
  const complete = async (r: DistRequest, open: OpenRepo, id: string, digest: string | null): Promise<void> => {
    if (!digest) throw new RegistryError(400, 'DIGEST_INVALID', 'the digest query parameter is required');
    parseDigest(digest);
    try {
      const size = await deps.uploads.verify(id, digest);
      await deps.uploads.persist(id);
      await deps.db.commitBlob(open.repo!.id, open.project.id, open.project.storageLimit, digest, size,
        () => deps.blobs.placeSync(deps.uploads.tempPath(id), digest));
    } catch (e) {
      await cancel(id);
      if (e instanceof QuotaExceeded) throw denied(`quota exceeded: ${e.message}`);
      throw e;
    }
    await cancel(id);
    sendEmpty(r.res, 201, { Location: `/v2/${r.name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
  };

  const cancel = async (id: string) => {
    await deps.uploads.remove(id);
    await deps.db.deleteUpload(id);
  };

  const start = async (open: OpenRepo, algorithm: string) => {
    const id = await deps.uploads.create(algorithm);
    await deps.db.createUpload(id, open.repo!.id);
    return id;
  };

  return {
    uploads: {
      POST: async (r) => {
        const open = await deps.gate.open(r, r.name, ['pull', 'push'], true);
        const mount = r.query.get('mount');
        const from = r.query.get('from');
        if (mount && from) {
          parseDigest(mount);
          const source = await deps.db.repositoryByName(from);
          // Mount only what the caller could pull anyway; otherwise fall back to a normal upload.
          if (source && (await deps.gate.allowed(r, from, ['pull'])) && (await deps.db.isLinked(source.id, mount))) {
            try {
              await deps.db.linkBlob(open.repo!.id, open.project.id, open.project.storageLimit, mount);
            } catch (e) {
              if (e instanceof QuotaExceeded) throw denied(`quota exceeded: ${e.message}`);
              throw e;
            }
            await drain(r.req);
            sendEmpty(r.res, 201, { Location: `/v2/${r.name}/blobs/${mount}`, 'Docker-Content-Digest': mount });
            return;
          }
        }
        const digest = r.query.get('digest');
        const algorithm = digest ? parseDigest(digest).algorithm : (r.query.get('digest-algorithm') ?? 'sha256');
        if (!['sha256', 'sha512'].includes(algorithm)) throw new RegistryError(400, 'DIGEST_INVALID', `unsupported digest algorithm ${algorithm}`);
        checkDeclaredSize(r.req);
        const id = await start(open, algorithm);
        if (digest) { // single-POST monolithic upload
          try {
            await deps.uploads.append(id, r.req, deps.maxBlobSize);
          } catch (e) { await cancel(id); throw e; }
          await complete(r, open, id, digest);
          return;
        }
        await drain(r.req);
        sendEmpty(r.res, 202, { Location: uploadLocation(r.name, id), Range: '0-0', 'Docker-Upload-UUID': id });
      },
    },
    upload: {
      GET: async (r) => {
        const { id } = await openSession(r);
        const size = (await deps.uploads.size(id)) ?? 0;
        sendEmpty(r.res, 204, { Location: uploadLocation(r.name, id), Range: rangeHeader(size), 'Docker-Upload-UUID': id });
      },
      PATCH: async (r) => {
        const { id } = await openSession(r);
        const size = await appendChunk(r, id);
        sendEmpty(r.res, 202, { Location: uploadLocation(r.name, id), Range: rangeHeader(size), 'Docker-Upload-UUID': id });
      },
      PUT: async (r) => {
        const { open, id } = await openSession(r);
        const hasBody = Number(r.req.headers['content-length'] ?? 0) > 0 || r.req.headers['transfer-encoding'] !== undefined;
        if (hasBody) await appendChunk(r, id);
        else await drain(r.req);
        await complete(r, open, id, r.query.get('digest'));
      },
      DELETE: async (r) => {
        const { id } = await openSession(r);
        await drain(r.req);
        await cancel(id);
        sendEmpty(r.res, 204);
      },
    },
  };
}

