// The distribution API calls a pull and a push make, over a RegistryClient: manifests (verified
// against their digests), blobs (streamed to a file, counted and verified), blob existence checks,
// cross-repository mounts, uploads and manifest puts.

import { rm } from 'node:fs/promises';
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestingStream, sha256Digest } from '../digest.ts';
import { invalidParameter, unavailable } from '../errors.ts';
import { IMAGE_MANIFEST_MEDIA_TYPES, INDEX_MEDIA_TYPES, MEDIA_TYPES } from '../media-types.ts';
import type { GrowingFile } from '../growing-file.ts';
import { readBody } from './transport.ts';
import type { RegistryClient } from './client.ts';

const MANIFEST_ACCEPT = [MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex].join(', ');
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
  document: Record<string, unknown>;
}

/** GET a manifest by tag or digest; checks the bytes against the digest asked for or announced. */
export async function fetchManifest(client: RegistryClient, repository: string, reference: string): Promise<FetchedManifest> {
  const res = await client.request({ method: 'GET', path: `/v2/${repository}/manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT } });
  const bytes = await readBody(res, MAX_MANIFEST_BYTES);
  const digest = sha256Digest(bytes);
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw invalidParameter(`manifest verification failed for digest ${reference}: the registry sent a manifest that digests to ${digest}`);
  }
  const announced = res.headers['docker-content-digest'];
  if (typeof announced === 'string' && announced.startsWith('sha256:') && announced !== digest) {
    throw invalidParameter(`manifest for ${repository}:${reference} does not match the digest the registry announced (${announced}; it digests to ${digest})`);
  }
  let document: Record<string, unknown>;
  try {
    document = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw invalidParameter(`manifest for ${repository}:${reference} is not valid JSON`);
  }
  const headerType = (res.headers['content-type'] ?? '').split(';')[0].trim();
  const mediaType = typeof document.mediaType === 'string' ? document.mediaType
    : Array.isArray(document.manifests) ? MEDIA_TYPES.ociIndex
      : IMAGE_MANIFEST_MEDIA_TYPES.has(headerType) || INDEX_MEDIA_TYPES.has(headerType) ? headerType
        : document.schemaVersion === 1 ? MEDIA_TYPES.dockerSchema1 : MEDIA_TYPES.ociManifest;
  return { bytes, digest, mediaType, document };
}

export function isDescriptor(value: unknown): value is Descriptor {
  const d = value as Descriptor | null;
  return typeof d?.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(d.digest) && typeof d.size === 'number' && d.size >= 0;
}

/** Reads a small blob (an image config) whole, checking size and digest. */
export async function fetchSmallBlob(client: RegistryClient, repository: string, descriptor: Descriptor): Promise<Buffer> {
  const res = await client.request({ method: 'GET', path: `/v2/${repository}/blobs/${descriptor.digest}` });
  const bytes = await readBody(res, MAX_MANIFEST_BYTES * 4);
  if (sha256Digest(bytes) !== descriptor.digest) {
    throw invalidParameter(`blob ${descriptor.digest} from ${client.domain}/${repository} does not match its digest`);
  }
  return bytes;
}

/** Stops a stream that runs past the size its descriptor promised. */
class SizeLimit extends Transform {
  private readonly limit: number;
  private readonly what: string;
  private seen = 0;

  constructor(limit: number, what: string) {
    super();
    this.limit = limit;
    this.what = what;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) return done(invalidParameter(`${this.what} is larger than the ${this.limit} bytes its manifest promises`));
    done(null, chunk);
  }
}

/**
 * Downloads a blob into `file` (which readers may follow meanwhile). Resolves once size and digest
 * matched; otherwise the file is failed for its readers, removed, and the promise rejects.
 */
export async function downloadBlob(client: RegistryClient, repository: string, descriptor: Descriptor, file: GrowingFile, onBytes: (current: number) => void): Promise<void> {
  const what = `blob ${descriptor.digest}`;
  try {
    const res = await client.request({ method: 'GET', path: `/v2/${repository}/blobs/${descriptor.digest}` });
    const digesting = new DigestingStream();
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      onBytes(received);
    });
    try {
      await pipeline(res, new SizeLimit(descriptor.size, what), digesting, file.writer());
    } catch (error) {
      if ((error as { kind?: string }).kind) throw error;
      throw unavailable(`downloading ${what} from ${client.domain}/${repository} failed: ${(error as Error).message}`, error);
    }
    if (digesting.bytes !== descriptor.size) {
      throw invalidParameter(`${what} is ${digesting.bytes} bytes, but its manifest says ${descriptor.size}`);
    }
    const actual = digesting.digest();
    if (actual !== descriptor.digest) {
      throw invalidParameter(`filesystem layer verification failed for digest ${descriptor.digest} (the registry sent data that digests to ${actual})`);
    }
  } catch (error) {
    file.fail(error as Error);
    await rm(file.path, { force: true });
    throw error;
  }
}

export async function blobExists(client: RegistryClient, repository: string, digest: string): Promise<boolean> {
  const res = await client.request({ method: 'HEAD', path: `/v2/${repository}/blobs/${digest}` }, [200, 404]);
  res.resume();
  return res.statusCode === 200;
}

/** Asks the registry to link a blob from another repository; false when it wants an upload instead. */
export async function mountBlob(client: RegistryClient, repository: string, digest: string, from: string): Promise<boolean> {
  const res = await client.request({ method: 'POST', path: `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`, headers: { 'Content-Length': 0 } }, [201, 202]);
  res.resume();
  if (res.statusCode === 201) return true;
  // 202: the registry opened an upload instead; abandon it (it expires on its own).
  return false;
}

/** Uploads a blob: POST to open an upload, then one PUT with the whole body and its digest. */
export async function uploadBlob(client: RegistryClient, repository: string, digest: string, size: number, open: () => Readable): Promise<void> {
  const started = await client.request({ method: 'POST', path: `/v2/${repository}/blobs/uploads/`, headers: { 'Content-Length': 0 } }, [202]);
  started.resume();
  const location = started.headers.location;
  if (!location) throw unavailable(`the registry opened an upload for ${repository} without saying where (no Location header)`);
  const url = new URL(location, client.endpoint);
  url.searchParams.set('digest', digest);
  const done = await client.request({
    method: 'PUT',
    path: url.href,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
    stream: open(),
  }, [201, 204]);
  done.resume();
}

export async function putManifest(client: RegistryClient, repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
  const res = await client.request({ method: 'PUT', path: `/v2/${repository}/manifests/${reference}`, headers: { 'Content-Type': mediaType, 'Content-Length': bytes.length }, body: bytes }, [201, 200, 202]);
  res.resume();
  return sha256Digest(bytes);
}
