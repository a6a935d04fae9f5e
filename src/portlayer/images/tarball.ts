// Reads an image tarball — `docker save` format or an OCI image layout, either of them plain or
// gzip-compressed — into the images it holds. Members land in `workDir` (owned by the caller).

import { decompressedStream } from './compression.ts';
import { readDockerArchive } from './docker-archive.ts';
import { invalidParameter } from './errors.ts';
import { readOciArchive } from './oci-archive.ts';
import { unpackArchive } from './archive-files.ts';

export interface ImageToLoad {
  /** The config document exactly as shipped: its sha256 is the image id. */
  configBytes: Buffer;
  /** Temp files holding the layer blobs (compressed or not), bottom layer first. */
  layerFiles: string[];
  /** Normalised "name:tag" references. */
  repoTags: string[];
  /** "name@sha256:<manifest digest>", when the format records the manifest. */
  repoDigests: string[];
}

export type Warn = (message: string) => void;

export async function readImageTarball(input: NodeJS.ReadableStream, workDir: string, warn: Warn): Promise<ImageToLoad[]> {
  const archive = await unpackArchive(await decompressedStream(input, 'image tarball'), workDir);
  // Docker 25+ writes both manifest.json and an OCI index; manifest.json carries the tags Docker means.
  if (archive.has('manifest.json')) return readDockerArchive(archive, warn);
  if (archive.has('index.json')) return readOciArchive(archive, warn);
  if (archive.has('repositories')) throw invalidParameter('image tarball is in the pre-2016 docker save format (no manifest.json), which is not supported');
  throw invalidParameter('not an image tarball: it has neither manifest.json (docker save) nor index.json (OCI layout)');
}
