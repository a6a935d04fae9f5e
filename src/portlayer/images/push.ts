// `docker push`: layers and config first (skipping blobs the registry has, mounting ones another
// repository there holds), the manifest last. A pulled image is pushed with the very manifest and
// blobs it was pulled as, so its digest is unchanged; other images get a schema2 manifest built from
// the blobs they were loaded or imported with.

import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { invalidParameter, notFound } from './errors.ts';
import type { ManifestMetadata } from './layout.ts';
import type { StoredBlob } from './layer-store.ts';
import { IMAGE_MANIFEST_MEDIA_TYPES, MEDIA_TYPES } from './media-types.ts';
import { progressBar, runBounded, shortId, throttledProgress, type ProgressSink } from './progress.ts';
import { familiarName, parseReference } from './references.ts';
import type { RegistryAccess } from './registry/access.ts';
import type { RegistryCredentials } from './registry/auth.ts';
import { RegistryClient } from './registry/client.ts';
import { blobExists, mountBlob, putManifest, uploadBlob, type Descriptor } from './registry/distribution.ts';
import type { ImageRecord } from './types.ts';

const PARALLEL_UPLOADS = 3;

/** What a push reads from the store. */
export interface PushSource {
  list(): ImageRecord[];
  resolve(reference: string): ImageRecord | undefined;
  configBytes(id: string): Buffer;
  layerBlobs(diffId: string): StoredBlob[];
  storedManifests(id: string): ManifestMetadata[];
  readManifest(digest: string): Buffer | undefined;
  recordPush(id: string, manifest: Buffer, mediaType: string, repository: string, repoDigest: string): Promise<void>;
}

export interface PushRequest {
  /** "127.0.0.1:5000/app" (a tag may be included). */
  name: string;
  /** Empty: every tag of the repository. */
  tag?: string;
  credentials: RegistryCredentials;
  access: RegistryAccess;
  progress: ProgressSink;
}

interface PlannedLayer {
  descriptor: Descriptor;
  blob: StoredBlob;
}

export async function pushImage(source: PushSource, request: PushRequest): Promise<void> {
  const reference = parseReference(request.tag ? `${request.name}:${request.tag}` : request.name);
  if (reference.digest) throw invalidParameter('cannot push a digest reference: push a tag');
  const name = familiarName(reference);
  const tags = reference.tag ? [reference.tag]
    : request.tag ? [request.tag]
      : [...new Set(source.list().flatMap((image) => image.repoTags).filter((t) => t.startsWith(`${name}:`)).map((t) => t.slice(name.length + 1)))].sort();
  if (tags.length === 0) throw notFound(`An image does not exist locally with the tag: ${name}`);
  const images = tags.map((tag) => {
    const image = source.resolve(`${name}:${tag}`);
    if (!image) throw notFound(`An image does not exist locally with the tag: ${name}:${tag}`);
    return { tag, image, plan: planManifest(source, image) };
  });

  // Repositories on the same registry that blobs came from: the token must allow reading them to mount.
  const mountSources = new Set<string>();
  for (const { plan } of images) {
    for (const layer of plan.layers) {
      const from = mountSourceOf(layer.blob, reference.domain, reference.path);
      if (from) mountSources.add(from);
    }
  }
  const client = new RegistryClient({
    domain: reference.domain,
    credentials: request.credentials,
    access: request.access,
    scopes: [`repository:${reference.path}:pull,push`, ...[...mountSources].map((from) => `repository:${from}:pull`)],
  });
  const { progress } = request;
  try {
    await client.connect();
    progress({ status: `The push refers to repository [${reference.domain === 'docker.io' ? `docker.io/${reference.path}` : name}]` });
    for (const { tag, image, plan } of images) {
      const shown = [...plan.layers].reverse();
      for (const layer of shown) progress({ status: 'Preparing', progressDetail: {}, id: shortId(layer.descriptor.digest) });
      await runBounded(shown, PARALLEL_UPLOADS, (layer) => pushLayer(client, reference.domain, reference.path, layer, progress));
      const configBytes = source.configBytes(image.id);
      if (!(await blobExists(client, reference.path, image.id))) {
        await uploadBlob(client, reference.path, image.id, configBytes.length, () => bufferStream(configBytes));
      }
      const digest = await putManifest(client, reference.path, tag, plan.bytes, plan.mediaType);
      await source.recordPush(image.id, plan.bytes, plan.mediaType, `${reference.domain}/${reference.path}`, `${name}@${digest}`);
      progress({ status: `${tag}: digest: ${digest} size: ${plan.bytes.length}` });
      progress({ status: '', progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: plan.bytes.length } });
    }
  } finally {
    client.close();
  }
}

/** The manifest to push: the one the image was pulled with when all its blobs are here, else a new schema2 one. */
function planManifest(source: PushSource, image: ImageRecord): { bytes: Buffer; mediaType: string; layers: PlannedLayer[] } {
  const blobsByLayer = image.layers.map((layer) => source.layerBlobs(layer.diffId));
  for (const stored of source.storedManifests(image.id)) {
    if (!IMAGE_MANIFEST_MEDIA_TYPES.has(stored.mediaType)) continue;
    const bytes = source.readManifest(stored.digest);
    if (!bytes) continue;
    const document = JSON.parse(bytes.toString('utf8')) as { layers?: Descriptor[] };
    const layers = document.layers ?? [];
    if (layers.length !== image.layers.length) continue;
    const planned = layers.map((descriptor, index) => ({ descriptor, blob: blobsByLayer[index].find((b) => b.digest === descriptor.digest) }));
    if (planned.every((p): p is PlannedLayer => p.blob !== undefined)) return { bytes, mediaType: stored.mediaType, layers: planned };
  }
  const layers = image.layers.map((layer, index) => {
    const blobs = blobsByLayer[index];
    const blob = blobs.find((b) => b.mediaType.endsWith('gzip')) ?? blobs[0];
    if (!blob) {
      throw invalidParameter(`layer ${layer.diffId} of image ${image.id} has no stored blob to push (it was stored before blobs were kept): pull or load the image again`);
    }
    return { descriptor: { mediaType: blob.mediaType, size: blob.size, digest: blob.digest }, blob };
  });
  const configBytes = source.configBytes(image.id);
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifest,
    config: { mediaType: MEDIA_TYPES.dockerConfig, size: configBytes.length, digest: image.id },
    layers: layers.map((l) => l.descriptor),
  };
  return { bytes: Buffer.from(JSON.stringify(manifest, null, 3)), mediaType: MEDIA_TYPES.dockerManifest, layers };
}

/** The repository path a blob can be mounted from on `domain`, if it came from another repository there. */
function mountSourceOf(blob: StoredBlob, domain: string, path: string): string | undefined {
  if (!blob.source?.startsWith(`${domain}/`)) return undefined;
  const from = blob.source.slice(domain.length + 1);
  return from === path ? undefined : from;
}

async function pushLayer(client: RegistryClient, domain: string, path: string, layer: PlannedLayer, progress: ProgressSink): Promise<void> {
  const { digest, size } = layer.descriptor;
  const id = shortId(digest);
  if (await blobExists(client, path, digest)) {
    progress({ status: 'Layer already exists', progressDetail: {}, id });
    return;
  }
  const from = mountSourceOf(layer.blob, domain, path);
  if (from && (await mountBlob(client, path, digest, from))) {
    progress({ status: `Mounted from ${from}`, progressDetail: {}, id });
    return;
  }
  const report = throttledProgress((current) => progress({ status: 'Pushing', progressDetail: { current, total: size }, progress: progressBar(current, size), id }));
  await uploadBlob(client, path, digest, size, () => createReadStream(layer.blob.path).pipe(new Counting((n) => report(n, n === size))));
  progress({ status: 'Pushed', progressDetail: {}, id });
}

class Counting extends Transform {
  private readonly onBytes: (total: number) => void;
  private total = 0;

  constructor(onBytes: (total: number) => void) {
    super();
    this.onBytes = onBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.total += chunk.length;
    this.onBytes(this.total);
    done(null, chunk);
  }
}

function bufferStream(bytes: Buffer): Transform {
  const stream = new Transform({ transform: (chunk, _e, done) => done(null, chunk) });
  stream.end(bytes);
  return stream;
}

