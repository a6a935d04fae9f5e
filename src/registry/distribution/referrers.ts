// GET /v2/<name>/referrers/<digest>?artifactType= — manifests whose subject is <digest>.
// Subjects are indexed when manifests are pushed, so manifests that clients also listed in a
// referrers-tag index (the spec's fallback) are already part of this answer.
import type { Metadata } from '../db/metadata.ts';
import { sendJson } from '../http/respond.ts';
import { parseDigest } from './digest.ts';
import type { RepoGate } from './gate.ts';
import { OCI_INDEX } from './media-types.ts';
import type { DistRoutes } from './request.ts';

export function referrerRoutes(deps: { db: Metadata; gate: RepoGate }): DistRoutes['referrers'] {
  return {
    GET: async (r) => {
      const { repo } = await deps.gate.open(r, r.name, ['pull']);
      parseDigest(r.reference);
      const wanted = r.query.get('artifactType');
      const records = repo ? await deps.db.referrers(repo.id, r.reference) : [];
      const manifests = records
        .filter((m) => !wanted || m.artifactType === wanted)
        .map((m) => ({
          mediaType: m.mediaType, digest: m.digest, size: m.size,
          ...(m.artifactType ? { artifactType: m.artifactType } : {}),
          ...(m.annotations ? { annotations: m.annotations } : {}),
        }));
      const headers: Record<string, string> = { 'Content-Type': OCI_INDEX };
      if (wanted) headers['OCI-Filters-Applied'] = 'artifactType';
      sendJson(r.res, 200, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, headers);
    },
  };
}
