// Copies one artifact between registries through the distribution API, byte for byte: blobs
// first (streamed, skipped when the destination has them), an index's child manifests before
// the index, the manifest last — so the destination never holds a manifest with missing parts.
import { parseManifest } from '../distribution/manifest-parse.ts';
import { ReplicationError, type DistributionClient } from './client.ts';

export interface CopyTarget { client: DistributionClient; repo: string }
export type CopyOutcome = 'copied' | 'unchanged' | 'skipped';

/** Copies `reference` (a tag) of `src` to the same tag of `dst`; with override off an existing different tag is left alone. */
export async function copyArtifact(src: CopyTarget, dst: CopyTarget, tag: string, override: boolean): Promise<CopyOutcome> {
  const manifest = await src.client.getManifest(src.repo, tag);
  const existing = await dst.client.manifestDigest(dst.repo, tag);
  if (existing === manifest.digest) return 'unchanged';
  if (existing && !override) return 'skipped';
  await copyParts(src, dst, manifest.body, manifest.mediaType);
  const pushed = await dst.client.putManifest(dst.repo, tag, manifest.body, manifest.mediaType);
  if (pushed && pushed !== manifest.digest) throw new ReplicationError(`destination computed ${pushed} for ${manifest.digest}`);
  return 'copied';
}

async function copyParts(src: CopyTarget, dst: CopyTarget, body: Buffer, mediaType: string): Promise<void> {
  const parsed = parseManifest(body, mediaType || undefined);
  for (const digest of parsed.blobRefs) {
    if (await dst.client.hasBlob(dst.repo, digest)) continue;
    const res = await src.client.blob(src.repo, digest);
    const size = Number(res.headers['content-length']);
    if (!Number.isFinite(size)) { res.destroy(); throw new ReplicationError(`blob ${digest} came without a length`); }
    await dst.client.pushBlob(dst.repo, digest, size, res);
  }
  for (const child of parsed.manifestRefs) {
    if (await dst.client.manifestDigest(dst.repo, child)) continue;
    const m = await src.client.getManifest(src.repo, child);
    await copyParts(src, dst, m.body, m.mediaType);
    await dst.client.putManifest(dst.repo, child, m.body, m.mediaType);
  }
}
