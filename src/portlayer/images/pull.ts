// `docker pull`: manifest (through an index to linux/amd64), config, then the missing layers —
// downloaded a few at a time, each unpacked while it arrives and built into its layer disk once
// its digest is verified — and last the names. Everything lands in tmp/ first and becomes visible
// by rename, so a failed or killed pull leaves no image behind, and repeating it redoes only the
// layers that never completed.

import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidParameter, notFound, unauthorized, ImageStoreError } from './errors.ts';
import { parseImageConfig } from './image-config.ts';
import { IMAGE_MANIFEST_MEDIA_TYPES, INDEX_MEDIA_TYPES, MEDIA_TYPES } from './media-types.ts';
import { progressBar, runBounded, shortId, throttledProgress, type ProgressSink } from './progress.ts';
import { familiarName, type ImageReference } from './references.ts';
import type { RegistryAccess } from './registry/access.ts';
import type { RegistryCredentials } from './registry/auth.ts';
import { RegistryClient, RegistryResponseError } from './registry/client.ts';
import { downloadBlob, fetchManifest, fetchSmallBlob, isDescriptor, type Descriptor, type FetchedManifest } from './registry/distribution.ts';
import { GrowingFile } from './growing-file.ts';
import type { LayerBlob } from './layer-disk.ts';
import type { BlobToKeep } from './layer-store.ts';
import type { PhaseRecorder } from './phase-times.ts';

const PARALLEL_DOWNLOADS = 3;
const PARALLEL_BUILDS = 2;
const MAX_INDEX_DEPTH = 4;

/** What a pull needs from the store it fills. */
export interface PullTarget {
  readonly tmpDir: string;
  hasLayer(diffId: string): boolean;
  buildLayer(diffId: string, blob: LayerBlob, keep: BlobToKeep): Promise<void>;
  /** Told how long each layer's download took. */
  readonly phases?: PhaseRecorder;
  /** Whether the image is stored with all its layers. */
  hasImage(id: string): boolean;
  /** Stores config and manifest, then names the image (the step that makes it visible). */
  commitImage(image: { configBytes: Buffer; manifest: FetchedManifest; source: string; tags: string[]; repoDigests: string[] }): Promise<void>;
}

export interface PullRequest {
  reference: ImageReference;
  credentials: RegistryCredentials;
  access: RegistryAccess;
  progress: ProgressSink;
}

export interface PullResult {
  id: string;
  /** "name:tag" or "name@sha256:…", as Docker prints it. */
  name: string;
  upToDate: boolean;
}

export async function pullImage(target: PullTarget, request: PullRequest): Promise<PullResult> {
  const { reference, progress } = request;
  const name = familiarName(reference);
  const wanted = reference.digest ?? reference.tag ?? 'latest';
  const display = reference.digest ? `${name}@${reference.digest}` : `${name}:${wanted}`;
  const client = new RegistryClient({
    domain: reference.domain,
    credentials: request.credentials,
    access: request.access,
    scopes: [`repository:${reference.path}:pull`],
  });
  try {
    const top = await describeFailures(fetchManifest(client, reference.path, wanted), name, display, client.hasCredentials);
    progress({ status: `Pulling from ${reference.path}`, id: wanted });
    const manifest = await resolvePlatform(client, reference.path, top, 0);
    const document = manifest.document as { config?: unknown; layers?: unknown };
    if (!isDescriptor(document.config) || !Array.isArray(document.layers) || !document.layers.every(isDescriptor)) {
      throw invalidParameter(`manifest ${manifest.digest} for ${display} needs a config and a list of layers`);
    }
    const layers = document.layers as Descriptor[];
    const configBytes = await fetchSmallBlob(client, reference.path, document.config);
    const id = document.config.digest;
    const config = parseImageConfig(configBytes, id);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== layers.length) {
      throw invalidParameter(`manifest ${manifest.digest} lists ${layers.length} layers but its image config has ${diffIds.length} diff_ids`);
    }
    const commit = {
      configBytes,
      manifest,
      source: `${reference.domain}/${reference.path}`,
      tags: reference.digest ? [] : [`${name}:${wanted}`],
      repoDigests: [`${name}@${top.digest}`],
    };
    if (target.hasImage(id)) {
      await target.commitImage(commit);
      progress({ status: `Digest: ${top.digest}` });
      progress({ status: `Status: Image is up to date for ${display}` });
      return { id, name: display, upToDate: true };
    }
    await fetchLayers(target, client, reference, layers, diffIds, progress);
    await target.commitImage(commit);
    progress({ status: `Digest: ${top.digest}` });
    progress({ status: `Status: Downloaded newer image for ${display}` });
    return { id, name: display, upToDate: false };
  } finally {
    client.close();
  }
}

/** Rewords "not found" and "unauthorized" the way Docker users expect for a pull. */
export async function describeFailures<T>(work: Promise<T>, name: string, display: string, withCredentials: boolean): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof RegistryResponseError) {
      if (error.codes.includes('MANIFEST_UNKNOWN') || (error.status === 404 && error.codes.length === 0)) {
        throw notFound(`manifest for ${display} not found: ${error.message}`);
      }
      if (error.codes.includes('NAME_UNKNOWN') || error.status === 401 || error.status === 403) {
        if (withCredentials && (error.status === 401 || error.status === 403)) throw unauthorized(`${error.message}`);
        throw new ImageStoreError(error.status === 404 ? 'NotFound' : 'Forbidden', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${error.message}`);
      }
    }
    if (error instanceof ImageStoreError && error.kind === 'Unauthorized' && !withCredentials) {
      throw new ImageStoreError('Forbidden', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${error.message}`);
    }
    throw error;
  }
}

async function resolvePlatform(client: RegistryClient, repository: string, manifest: FetchedManifest, depth: number): Promise<FetchedManifest> {
  if (IMAGE_MANIFEST_MEDIA_TYPES.has(manifest.mediaType)) return manifest;
  if (manifest.mediaType === MEDIA_TYPES.dockerSchema1 || manifest.mediaType === MEDIA_TYPES.dockerSchema1Signed) {
    throw invalidParameter(`${manifest.digest} is a Docker Image manifest v2 schema 1, which is no longer supported: rebuild and push the image with a current tool`);
  }
  if (!INDEX_MEDIA_TYPES.has(manifest.mediaType)) throw invalidParameter(`${manifest.digest} has media type ${manifest.mediaType}, which is not an image`);
  if (depth >= MAX_INDEX_DEPTH) throw invalidParameter('image indexes nest too deeply');
  const entries = (manifest.document.manifests as unknown[] | undefined ?? []).filter(isDescriptor);
  const images = entries.filter((d) => d.annotations?.['vnd.docker.reference.type'] === undefined);
  const chosen = images.find((d) => d.platform?.os === 'linux' && d.platform.architecture === 'amd64') ?? images.find((d) => d.platform === undefined);
  if (!chosen) {
    const platforms = images.map((d) => `${d.platform?.os}/${d.platform?.architecture}`).join(', ');
    throw notFound(`no matching manifest for linux/amd64 in the manifest list entries (it has ${platforms || 'none'})`);
  }
  return resolvePlatform(client, repository, await fetchManifest(client, repository, chosen.digest), depth + 1);
}

async function fetchLayers(target: PullTarget, client: RegistryClient, reference: ImageReference, layers: Descriptor[], diffIds: string[], progress: ProgressSink): Promise<void> {
  const workDir = await mkdtemp(join(target.tmpDir, 'pull-'));
  try {
    const wanted: Array<{ descriptor: Descriptor; diffId: string; id: string }> = [];
    for (const [index, descriptor] of layers.entries()) {
      const diffId = diffIds[index];
      const id = shortId(descriptor.digest);
      if (wanted.some((w) => w.diffId === diffId)) continue;
      if (target.hasLayer(diffId)) {
        progress({ status: 'Already exists', progressDetail: {}, id });
        continue;
      }
      wanted.push({ descriptor, diffId, id });
      progress({ status: 'Pulling fs layer', progressDetail: {}, id });
    }
    for (const layer of wanted.slice(PARALLEL_DOWNLOADS)) progress({ status: 'Waiting', progressDetail: {}, id: layer.id });

    // Builds start with their downloads, bounded separately: decompressing and making disks use the CPU.
    const builds: Promise<void>[] = [];
    let building = 0;
    const queue: Array<() => void> = [];
    const buildSlot = async () => {
      if (building >= PARALLEL_BUILDS) await new Promise<void>((resolve) => queue.push(resolve));
      building++;
    };
    const releaseSlot = () => {
      building--;
      queue.shift()?.();
    };

    await runBounded(wanted, PARALLEL_DOWNLOADS, async ({ descriptor, diffId, id }) => {
      const file = await GrowingFile.create(join(workDir, id + '-' + diffId.slice(-8)));
      const total = descriptor.size;
      const report = throttledProgress((current) => progress({ status: 'Downloading', progressDetail: { current, total }, progress: progressBar(current, total), id }));
      const started = performance.now();
      const downloaded = downloadBlob(client, reference.path, descriptor, file, (current) => report(current, current === total))
        .then(() => ({ digest: descriptor.digest, size: descriptor.size }))
        .finally(() => target.phases?.(diffId, 'download', performance.now() - started));
      downloaded.catch(() => {}); // the build reports it
      // The build starts at once and unpacks the blob as it arrives; it uses the download's verdict.
      const blob: LayerBlob = { path: file.path, open: () => file.reader(), head: (n) => file.head(n), verified: downloaded, sizeHint: total };
      const build = (async () => {
        const queued = performance.now();
        await buildSlot();
        target.phases?.(diffId, 'queued', performance.now() - queued);
        try {
          await target.buildLayer(diffId, blob, { mediaType: descriptor.mediaType, source: `${reference.domain}/${reference.path}` });
          progress({ status: 'Extracting', progressDetail: { current: total, total }, progress: progressBar(total, total), id });
          progress({ status: 'Pull complete', progressDetail: {}, id });
        } finally {
          releaseSlot();
        }
      })();
      build.catch(() => {}); // awaited below; keeps an early failure from going unhandled meanwhile
      builds.push(build);
      await downloaded;
      progress({ status: 'Verifying Checksum', progressDetail: {}, id });
      progress({ status: 'Download complete', progressDetail: {}, id });
    }).catch(async (error) => {
      await Promise.allSettled(builds);
      throw error;
    });
    const results = await Promise.allSettled(builds);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
