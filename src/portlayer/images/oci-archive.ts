// OCI image layout tarballs: oci-layout, index.json and content-addressed blobs/<alg>/<hex>.
// index.json may point at image manifests or at (nested) indexes; from a multi-platform index we
// take linux/amd64. Names come from each index.json entry's annotations.

import type { ArchiveFiles } from './archive-files.ts';
import { digestHex, isSha256Digest, sha256Digest } from './digest.ts';
import { invalidParameter } from './errors.ts';
import { normaliseTag, repoDigestReference } from './references.ts';
import type { ImageToLoad, Warn } from './tarball.ts';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
const MANIFEST_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);
const CONTAINERD_NAME = 'io.containerd.image.name';
const OCI_REF_NAME = 'org.opencontainers.image.ref.name';
const MAX_INDEX_DEPTH = 8;
const WANTED_PLATFORM = { os: 'linux', architecture: 'amd64' };

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface ImageManifest {
  config: Descriptor;
  layers: Descriptor[];
}

export async function readOciArchive(archive: ArchiveFiles, warn: Warn): Promise<ImageToLoad[]> {
  if (archive.has('oci-layout')) {
    const layout = (await archive.readJson('oci-layout')) as { imageLayoutVersion?: unknown } | null;
    if (typeof layout?.imageLayoutVersion !== 'string') throw invalidParameter('oci-layout has no imageLayoutVersion');
  }
  const index = await archive.readJson('index.json');
  const entries = descriptorsOf(index, 'index.json');

  const images = new Map<string, ImageToLoad>(); // by manifest digest: several names may share one
  for (const entry of entries) {
    const found = await findManifest(archive, entry, 0);
    if (!found) {
      warn(`Skipping ${entry.digest}: it has no ${WANTED_PLATFORM.os}/${WANTED_PLATFORM.architecture} image`);
      continue;
    }
    let image = images.get(found.digest);
    if (!image) {
      image = {
        configBytes: await readBlob(archive, found.manifest.config),
        layerFiles: found.manifest.layers.map((layer) => blobFile(archive, layer)),
        repoTags: [],
        repoDigests: [],
      };
      images.set(found.digest, image);
    }
    for (const name of namesOf(entry, warn)) {
      if (!image.repoTags.includes(name)) image.repoTags.push(name);
      const repoDigest = repoDigestReference(name.slice(0, name.lastIndexOf(':')), found.digest);
      if (!image.repoDigests.includes(repoDigest)) image.repoDigests.push(repoDigest);
    }
  }
  if (images.size === 0) throw invalidParameter('the OCI layout holds no image for linux/amd64');
  return [...images.values()];
}

/** Follows a descriptor through nested indexes to the image manifest for the wanted platform. */
async function findManifest(archive: ArchiveFiles, descriptor: Descriptor, depth: number): Promise<{ digest: string; manifest: ImageManifest } | undefined> {
  if (depth > MAX_INDEX_DEPTH) throw invalidParameter('OCI indexes nest too deeply');
  const document = parseObject(await readBlob(archive, descriptor), `blob ${descriptor.digest}`);
  const mediaType = descriptor.mediaType ?? (document.mediaType as string | undefined) ?? (Array.isArray(document.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
  if (INDEX_TYPES.has(mediaType)) {
    const chosen = choosePlatform(descriptorsOf(document, `index ${descriptor.digest}`));
    return chosen ? findManifest(archive, chosen, depth + 1) : undefined;
  }
  if (!MANIFEST_TYPES.has(mediaType)) return undefined; // artifacts, signatures…: not images
  const manifest = document as Partial<ImageManifest>;
  if (!isDescriptor(manifest.config) || !Array.isArray(manifest.layers) || !manifest.layers.every(isDescriptor)) {
    throw invalidParameter(`manifest ${descriptor.digest} needs a config and a list of layers`);
  }
  return { digest: descriptor.digest, manifest: manifest as ImageManifest };
}

function parseObject(bytes: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw invalidParameter(`${what} is not valid JSON`, error);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidParameter(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function choosePlatform(descriptors: Descriptor[]): Descriptor | undefined {
  const images = descriptors.filter((d) => d.annotations?.['vnd.docker.reference.type'] === undefined); // skip attestations
  return images.find((d) => d.platform?.os === WANTED_PLATFORM.os && d.platform.architecture === WANTED_PLATFORM.architecture) ??
    images.find((d) => d.platform === undefined);
}

function descriptorsOf(document: unknown, what: string): Descriptor[] {
  const manifests = (document as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests) || !manifests.every(isDescriptor)) throw invalidParameter(`${what} needs a "manifests" list of descriptors`);
  return manifests;
}

function isDescriptor(value: unknown): value is Descriptor {
  return typeof (value as Descriptor | null)?.digest === 'string';
}

function blobName(descriptor: Descriptor): string {
  if (!isSha256Digest(descriptor.digest)) throw invalidParameter(`unsupported digest "${descriptor.digest}" (sha256 only)`);
  return `blobs/sha256/${digestHex(descriptor.digest)}`;
}

function blobFile(archive: ArchiveFiles, descriptor: Descriptor): string {
  const file = archive.path(blobName(descriptor));
  if (file === undefined) throw invalidParameter(`the OCI layout lacks blob ${descriptor.digest}`);
  return file;
}

/** A small blob (index, manifest, config), checked against its digest. */
async function readBlob(archive: ArchiveFiles, descriptor: Descriptor): Promise<Buffer> {
  const bytes = await archive.read(blobName(descriptor));
  if (sha256Digest(bytes) !== descriptor.digest) throw invalidParameter(`blob ${descriptor.digest} does not match its digest`);
  return bytes;
}

/** "name:tag" references from an index entry's annotations; a bare ref name ("latest") names no repository. */
function namesOf(descriptor: Descriptor, warn: Warn): string[] {
  const candidates = [descriptor.annotations?.[CONTAINERD_NAME], descriptor.annotations?.[OCI_REF_NAME]];
  const names: string[] = [];
  for (const candidate of candidates) {
    if (candidate === undefined || !/[:/]/.test(candidate)) continue;
    try {
      const name = normaliseTag(candidate);
      if (!names.includes(name)) names.push(name);
    } catch {
      warn(`Ignoring image name "${candidate}": not a valid reference`);
    }
  }
  return names;
}
