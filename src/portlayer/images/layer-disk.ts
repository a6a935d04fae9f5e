// One layer blob → one verified ext4 disk image. The blob is decompressed (gzip/zstd/plain by magic),
// digested and unpacked in a single pass; the disk is only built when the digest of the uncompressed
// tar equals the diff_id the image config promises.

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream';
import { openDecompressedThrough, type Compression } from './compression.ts';
import { DigestingStream } from './digest.ts';
import { invalidParameter } from './errors.ts';
import { makeExt4Image } from './ext4-image.ts';
import { extractLayer } from './layer-extract.ts';

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

/**
 * Builds `diskPath` from the layer blob at `blobPath`, using `workDir` (which the caller owns and
 * removes) for the unpacked files. Throws InvalidParameter when the content does not match `diffId`.
 */
export async function buildLayerDisk(blobPath: string, diffId: string, workDir: string, diskPath: string): Promise<BuiltLayerDisk> {
  const what = `layer ${diffId}`;
  const rootfs = join(workDir, 'rootfs');
  await mkdir(rootfs, { mode: 0o755 });
  const blobDigesting = new DigestingStream();
  const digesting = new DigestingStream();
  const { stream, compression } = await openDecompressedThrough(blobPath, blobDigesting, what);
  const tar = pipeline(stream, digesting, () => {});
  const content = await extractLayer(tar, rootfs, what);
  const actual = digesting.digest();
  if (actual !== diffId) {
    throw invalidParameter(`${what}: content does not match its diff_id (the uncompressed tar digests to ${actual})`);
  }
  await makeExt4Image(rootfs, diskPath, content);
  await rm(rootfs, { recursive: true, force: true });
  return { size: content.contentBytes, tarSize: digesting.bytes, blobDigest: blobDigesting.digest(), blobSize: blobDigesting.bytes, compression };
}
