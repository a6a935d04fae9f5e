// One layer blob → one verified layer disk (the backend's disk store makes it from the unpacked files). The blob is decompressed (gzip/zstd/plain by magic),
// digested and unpacked in a single pass — while it is still downloading, when it is — and the disk
// is only built once the blob is verified and the digest of the uncompressed tar equals the diff_id
// the image config promises.

import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { decompressing, detectCompression, fileCompression, type Compression } from './compression.ts';
import { DigestingStream } from './digest.ts';
import { ImageStoreError, invalidParameter } from './errors.ts';
import type { DiskStore } from '../disks.ts';
import { extractLayer, type ExtractedContent } from './layer-extract.ts';
import { IGNORE_PHASES, timed, type PhaseRecorder } from './phase-times.ts';
import type { LayerStaging } from './staging.ts';

/** The blob a layer is built from. */
export interface LayerBlob {
  /** The file holding it (or receiving it, while it downloads). */
  path: string;
  /** Its bytes from the start; for a download in progress, a stream that follows the file as it grows. */
  open(): Readable;
  /** Its first bytes (which tell the compression), once they are there; by default read from `path`. */
  head?(bytes: number): Promise<Buffer>;
  /** For a download in progress: settles once the blob is complete, with its verified digest and size. */
  verified?: Promise<{ digest: string; size: number }>;
  /** Its size, when known beforehand (from a manifest), to choose where to unpack. */
  sizeHint?: number;
}

/** A complete blob file, e.g. a layer of a loaded tarball. */
export function blobFile(path: string): LayerBlob {
  return { path, open: () => createReadStream(path) };
}

export interface BuiltLayerDisk {
  /** Bytes of regular-file content in the layer. */
  size: number;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** The blob as given: its digest, size and compression. */
  blobDigest: string;
  blobSize: number;
  compression: Compression;
}

export interface BuildOptions {
  staging?: LayerStaging;
  record?: PhaseRecorder;
}

/**
 * Builds the layer's disk in `workDir` (which the caller owns, renames into place or removes) from `blob`,
 * unpacking its files there unless they fit on tmpfs. Throws InvalidParameter when the content does not match `diffId`.
 */
export async function buildLayerDisk(blob: LayerBlob, diffId: string, workDir: string, disks: DiskStore, options: BuildOptions = {}): Promise<BuiltLayerDisk> {
  const record = options.record ?? IGNORE_PHASES;
  const what = `layer ${diffId}`;
  const staged = await options.staging?.take(workDir, blob.sizeHint);
  let rootfs = staged?.dir ?? join(workDir, 'rootfs');
  try {
    let unpacked: Unpacked;
    try {
      if (!staged) await mkdir(rootfs, { mode: 0o755 });
      unpacked = await unpack(blob, rootfs, what, staged?.limitBytes, record, diffId);
    } catch (error) {
      // A bad download explains any failure to unpack it: report that, not its consequence.
      if (blob.verified) await blob.verified;
      // Bad content fails for good; anything else on tmpfs (too big, no xattrs…) is tried again on disk.
      if (!staged || (error instanceof ImageStoreError && error.kind === 'InvalidParameter')) throw error;
      await rm(staged.dir, { recursive: true, force: true });
      rootfs = join(workDir, 'rootfs');
      await mkdir(rootfs, { mode: 0o755 });
      unpacked = await unpack(blob, rootfs, what, undefined, record, diffId);
    }
    const verifiedBlob = blob.verified ? await timed(record, diffId, 'verify', () => blob.verified!) : unpacked.blob!;
    if (unpacked.tarDigest !== diffId) {
      throw invalidParameter(`${what}: content does not match its diff_id (the uncompressed tar digests to ${unpacked.tarDigest})`);
    }
    await disks.importLayer({ files: rootfs, content: unpacked.content, dir: workDir, record: (phase, ms) => record(diffId, phase, ms) });
    return { size: unpacked.content.contentBytes, tarSize: unpacked.tarSize, blobDigest: verifiedBlob.digest, blobSize: verifiedBlob.size, compression: unpacked.compression };
  } finally {
    await timed(record, diffId, 'cleanup', () => rm(rootfs, { recursive: true, force: true }));
  }
}

interface Unpacked {
  content: ExtractedContent;
  tarDigest: string;
  tarSize: number;
  compression: Compression;
  /** Digest and size of the blob as read, unless the download verifies it. */
  blob?: { digest: string; size: number };
}

async function unpack(blob: LayerBlob, rootfs: string, what: string, limitBytes: number | undefined, record: PhaseRecorder, layer: string): Promise<Unpacked> {
  const start = performance.now();
  let nodesMs = 0;
  try {
    const compression = blob.head ? detectCompression(await blob.head(6)) : await fileCompression(blob.path);
    const blobDigesting = blob.verified ? undefined : new DigestingStream();
    const raw = blobDigesting ? (pipeline(blob.open(), blobDigesting, () => {}) as unknown as Readable) : blob.open();
    const stream = decompressing(raw, compression, what);
    const digesting = new DigestingStream();
    const tar = pipeline(stream, digesting, () => {});
    const content = await extractLayer(tar, rootfs, what, { limitBytes, onNodes: (ms) => (nodesMs = ms) });
    return {
      content,
      tarDigest: digesting.digest(),
      tarSize: digesting.bytes,
      compression,
      ...(blobDigesting ? { blob: { digest: blobDigesting.digest(), size: blobDigesting.bytes } } : {}),
    };
  } finally {
    record(layer, 'unpack', performance.now() - start - nodesMs);
    if (nodesMs > 0) record(layer, 'nodes', nodesMs);
  }
}
