// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<tag-or-digest>
import { QuotaExceeded, type Metadata, type Repository } from '../db/metadata.ts';
import type { BlobStore, UploadArea } from '../storage/blob-store.ts';
import { denied, digestInvalid, manifestBlobUnknown, manifestUnknown, nameUnknown, precondition, RegistryError } from '../http/errors.ts';
import { readBody, sendEmpty } from '../http/respond.ts';
import { principalName } from '../auth/principal.ts';
import type { EventBus } from '../events.ts';
import { digestOf, isDigest, parseDigest } from './digest.ts';
import type { RepoGate } from './gate.ts';
import { parseManifest } from './manifest-parse.ts';
import { validateTag } from './names.ts';
import { isImmutableTag } from './immutability.ts';
import type { DistRequest, DistRoutes } from './request.ts';

export interface ManifestRouteDeps { db: Metadata; blobs: BlobStore; uploads: UploadArea; gate: RepoGate; events: EventBus; maxManifestSize: number }

export function manifestRoutes(deps: ManifestRouteDeps): DistRoutes['manifest'] {
  const resolve = async (repo: Repository | null, name: string, reference: string): Promise<string> => {
    if (!repo) throw nameUnknown(name);
    if (isDigest(reference)) { parseDigest(reference); return reference; }
    validateTag(reference);
    const tag = await deps.db.tag(repo.id, reference);
    if (!tag) throw manifestUnknown(reference);
    return tag.digest;
  };

  const fetchManifest = async (r: DistRequest, head: boolean) => {
    const { repo, project } = await deps.gate.open(r, r.name, ['pull']);
    const digest = await resolve(repo, r.name, r.reference);
    const record = await deps.db.manifest(repo!.id, digest);
    const body = record ? await deps.blobs.read(digest) : null;
    if (!record || !body) throw manifestUnknown(r.reference);
    r.res.writeHead(200, {
      'Content-Type': record.mediaType, 'Content-Length': String(body.length), 'Docker-Content-Digest': digest, ETag: `"${digest}"`,
    });
    r.res.end(head ? undefined : body);
    if (!head) {
      deps.events.emit({ type: 'PULL_ARTIFACT', operator: principalName(r.principal), projectId: project.id, projectName: project.name,
        repository: r.name, digest, tag: isDigest(r.reference) ? null : r.reference, mediaType: record.mediaType });
    }
  };

  return {
    GET: (r) => fetchManifest(r, false),
    HEAD: (r) => fetchManifest(r, true),

    PUT: async (r) => {
      const { repo, project } = await deps.gate.open(r, r.name, ['pull', 'push'], true);
      const body = await readBody(r.req, deps.maxManifestSize,
        () => new RegistryError(413, 'MANIFEST_INVALID', `manifest larger than ${deps.maxManifestSize} bytes`));
      const byDigest = isDigest(r.reference);
      const digest = digestOf(body, byDigest ? parseDigest(r.reference).algorithm : 'sha256');
      if (byDigest && digest !== r.reference) throw digestInvalid(`manifest digest is ${digest}`);
      const tags = byDigest ? r.query.getAll('tag') : [r.reference];
      tags.forEach(validateTag);
      const parsed = parseManifest(body, r.req.headers['content-type']);
      for (const tag of tags) {
        const current = await deps.db.tag(repo!.id, tag);
        if (current && current.digest !== digest && (await isImmutableTag(deps.db, project.id, r.name, tag))) {
          throw precondition(`tag ${tag} of ${r.name} is immutable`);
        }
      }
      const temp = await deps.uploads.writeWhole(body);
      let missing: string[];
      try {
        await deps.uploads.persist(temp);
        missing = await deps.db.putManifest({
          repoId: repo!.id, projectId: project.id, quotaLimit: project.storageLimit, digest, mediaType: parsed.mediaType, size: body.length,
          subject: parsed.subject, artifactType: parsed.artifactType, annotations: parsed.annotations,
          blobRefs: parsed.blobRefs, manifestRefs: parsed.manifestRefs, tags,
        }, () => deps.blobs.placeSync(deps.uploads.tempPath(temp), digest));
      } catch (e) {
        if (e instanceof QuotaExceeded) throw denied(`quota exceeded: ${e.message}`);
        throw e;
      } finally {
        await deps.uploads.remove(temp);
      }
      if (missing.length > 0) throw manifestBlobUnknown(missing);
      const headers: Record<string, string | string[]> = { Location: `/v2/${r.name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
      if (parsed.subject) headers['OCI-Subject'] = parsed.subject;
      if (byDigest && tags.length > 0) headers['OCI-Tag'] = tags;
      sendEmpty(r.res, 201, headers);
      deps.events.emit({ type: 'PUSH_ARTIFACT', operator: principalName(r.principal), projectId: project.id, projectName: project.name,
        repository: r.name, digest, tag: tags[0] ?? null, mediaType: parsed.mediaType });
    },

    DELETE: async (r) => {
      const { repo, project } = await deps.gate.open(r, r.name, ['delete']);
      if (!repo) throw nameUnknown(r.name);
      const base = { operator: principalName(r.principal), projectId: project.id, projectName: project.name, repository: r.name };
      if (isDigest(r.reference)) {
        parseDigest(r.reference);
        for (const tag of await deps.db.tagsOf(repo.id, r.reference)) {
          if (await isImmutableTag(deps.db, project.id, r.name, tag)) throw precondition(`manifest is tagged ${tag}, which is immutable`);
        }
        const record = await deps.db.manifest(repo.id, r.reference);
        if (!record || !(await deps.db.deleteManifest(repo.id, r.reference))) throw manifestUnknown(r.reference);
        sendEmpty(r.res, 202);
        deps.events.emit({ ...base, type: 'DELETE_ARTIFACT', digest: r.reference, tag: null, mediaType: record.mediaType });
        return;
      }
      validateTag(r.reference);
      const tag = await deps.db.tag(repo.id, r.reference);
      if (!tag) throw manifestUnknown(r.reference);
      if (await isImmutableTag(deps.db, project.id, r.name, r.reference)) throw precondition(`tag ${r.reference} is immutable`);
      await deps.db.deleteTag(repo.id, r.reference);
      sendEmpty(r.res, 202);
      deps.events.emit({ ...base, type: 'DELETE_TAG', digest: tag.digest, tag: r.reference, mediaType: null });
    },
  };
}
