// An image made on top of another (or on nothing: `FROM scratch`) from a new config and, optionally,
// one layer tar made by the caller — what a build's COPY/ADD and metadata-only steps store.
import { createReadStream } from 'node:fs';
import { digestOfStream } from './digest.ts';
import { normaliseTag } from './references.ts';
import type { ImageConfigDocument, ImageRuntimeConfig } from './types.ts';
import type { ImageToLoad } from './tarball.ts';

export interface ChildImageRequest {
  /** The image it is made on; absent: an image of no layers (scratch). */
  parentId?: string;
  /** An uncompressed layer tar to add on top, or none (a config-only step: history says empty_layer). */
  layerTar?: string;
  config: ImageRuntimeConfig;
  /** History's created_by for the step. */
  createdBy: string;
  author?: string;
  reference?: string;
}

const EMPTY_PARENT: ImageConfigDocument = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] };

/** `parentLayerFile`: where the store finds a parent layer (never opened: those are stored already). */
export async function childImage(request: ChildImageRequest, parent: ImageConfigDocument | undefined, parentLayerFile: (diffId: string) => string): Promise<ImageToLoad> {
  const base = parent ?? EMPTY_PARENT;
  const created = new Date().toISOString();
  const newDiffIds = request.layerTar ? [await digestOfStream(createReadStream(request.layerTar))] : [];
  const document: ImageConfigDocument = {
    ...base,
    created,
    author: request.author ?? base.author ?? '',
    config: request.config,
    rootfs: { type: 'layers', diff_ids: [...base.rootfs.diff_ids, ...newDiffIds] },
    history: [...(base.history ?? []), { created, created_by: request.createdBy, ...(request.layerTar ? {} : { empty_layer: true }) }],
  };
  return {
    configBytes: Buffer.from(JSON.stringify(document)),
    layerFiles: [...base.rootfs.diff_ids.map(parentLayerFile), ...(request.layerTar ? [request.layerTar] : [])],
    repoTags: request.reference ? [normaliseTag(request.reference)] : [],
    repoDigests: [],
  };
}
