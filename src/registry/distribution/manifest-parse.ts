// Validates a pushed manifest and extracts what the registry indexes: the blobs and manifests it
// references, its subject, artifact type and annotations.
import { manifestInvalid } from '../http/errors.ts';
import { imageManifestTypes, indexTypes } from './media-types.ts';
import { parseDigest } from './digest.ts';

export interface ParsedManifest {
  mediaType: string;
  blobRefs: string[];
  manifestRefs: string[];
  subject: string | null;
  /** As the referrers API reports it: artifactType, else (image manifests) the config media type. */
  artifactType: string | null;
  annotations: Record<string, string> | null;
}

interface Descriptor { mediaType: string; digest: string; size: number; urls?: string[] }

function descriptor(v: unknown, where: string): Descriptor {
  const d = v as Descriptor;
  if (!d || typeof d !== 'object' || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || !Number.isInteger(d.size) || d.size < 0) {
    throw manifestInvalid(`${where} is not a valid descriptor`);
  }
  try { parseDigest(d.digest); } catch { throw manifestInvalid(`${where} has an invalid digest ${d.digest}`); }
  return d;
}

export function parseManifest(body: Buffer, contentTypeHeader: string | undefined): ParsedManifest {
  let doc: any;
  try { doc = JSON.parse(body.toString('utf8')); } catch { throw manifestInvalid('not valid JSON'); }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw manifestInvalid('not a JSON object');
  if (doc.schemaVersion !== 2) throw manifestInvalid('schemaVersion must be 2');
  const contentType = contentTypeHeader?.split(';')[0].trim() || undefined;
  if (typeof doc.mediaType === 'string' && contentType && doc.mediaType !== contentType) {
    throw manifestInvalid(`mediaType ${doc.mediaType} does not match Content-Type ${contentType}`);
  }
  let mediaType: string = typeof doc.mediaType === 'string' ? doc.mediaType : contentType ?? '';
  if (!imageManifestTypes.has(mediaType) && !indexTypes.has(mediaType)) {
    // Without a recognised type, infer from the shape (OCI allows omitting mediaType).
    if (Array.isArray(doc.manifests)) mediaType = 'application/vnd.oci.image.index.v1+json';
    else if (doc.config && Array.isArray(doc.layers)) mediaType = 'application/vnd.oci.image.manifest.v1+json';
    else throw manifestInvalid(`unsupported manifest media type ${mediaType || '(none)'}`);
  }
  const subject = doc.subject === undefined ? null : descriptor(doc.subject, 'subject').digest;
  const annotations = doc.annotations && typeof doc.annotations === 'object' ? doc.annotations as Record<string, string> : null;
  if (indexTypes.has(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw manifestInvalid('an index needs a manifests array');
    const manifestRefs = doc.manifests.map((m: unknown, i: number) => descriptor(m, `manifests[${i}]`).digest);
    return { mediaType, blobRefs: [], manifestRefs, subject, artifactType: typeof doc.artifactType === 'string' ? doc.artifactType : null, annotations };
  }
  const config = descriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw manifestInvalid('an image manifest needs a layers array');
  const layers = doc.layers.map((l: unknown, i: number) => descriptor(l, `layers[${i}]`));
  // Foreign layers (with urls) live elsewhere and need not be in the registry.
  const blobRefs = [config.digest, ...layers.filter((l: Descriptor) => !(Array.isArray(l.urls) && l.urls.length > 0)).map((l: Descriptor) => l.digest)];
  const artifactType = typeof doc.artifactType === 'string' && doc.artifactType ? doc.artifactType : config.mediaType;
  return { mediaType, blobRefs, manifestRefs: [], subject, artifactType, annotations };
}
