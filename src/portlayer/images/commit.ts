// `docker commit`: a container's changes become a new layer on top of its image's layers, with a
// config made from the container's (plus the caller's overrides and --change instructions).
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { digestOfStream } from './digest.ts';
import { applyChange } from './import.ts';
import { normaliseTag } from './references.ts';
import type { FilesystemDisks } from '../disks.ts';
import type { ImageConfigDocument, ImageRuntimeConfig } from './types.ts';
import type { ImageToLoad } from './tarball.ts';

export interface CommitRequest {
  filesystem: FilesystemDisks;
  /** The image the container was created from. */
  parent: ImageConfigDocument;
  /** The container's effective runtime config (image defaults applied), the base of the new image's. */
  containerConfig: ImageRuntimeConfig;
  /** Fields the caller sets on top (the commit request body). */
  overrides?: ImageRuntimeConfig;
  changes?: string[];
  reference?: string;
  comment?: string;
  author?: string;
  /** What history shows as the step that made the layer (the container's command). */
  createdBy: string;
}

/**
 * Builds the image to store. The new layer's tarball is written into `workDir` by `writeChanges` (the
 * disk store's reading of the container's changes; the caller removes it once stored); the layers below
 * it are the parent's, already in the store.
 */
export async function commitContainer(request: CommitRequest, workDir: string, writeChanges: (out: string) => Promise<void>, parentLayerFile: (diffId: string) => string): Promise<ImageToLoad> {
  const layer = join(workDir, 'changes.tar');
  await writeChanges(layer);
  const diffId = await digestOfStream(createReadStream(layer));
  const config: ImageRuntimeConfig = { ...request.containerConfig, ...request.overrides };
  for (const change of request.changes ?? []) applyChange(config, change);
  const created = new Date().toISOString();
  const document: ImageConfigDocument = {
    ...request.parent,
    created,
    author: request.author ?? '',
    config,
    rootfs: { type: 'layers', diff_ids: [...request.parent.rootfs.diff_ids, diffId] },
    history: [...(request.parent.history ?? []), { created, created_by: request.createdBy, comment: request.comment ?? '', author: request.author || undefined }],
  };
  return {
    configBytes: Buffer.from(JSON.stringify(document)),
    layerFiles: [...request.parent.rootfs.diff_ids.map(parentLayerFile), layer],
    repoTags: request.reference ? [normaliseTag(request.reference)] : [],
    repoDigests: [],
  };
}
