// The build cache, kept as image metadata the way dockerd's classic builder keeps it: a step's result
// is the image whose parent is the step's starting image and whose last history entry records the same
// instruction (for COPY/ADD, the checksum of the copied files). The store persists parents and
// history, so the cache survives an engine restart, and `docker rmi`/`image prune` are its eviction.
import type { ImageRecord, ImageStore } from '../../portlayer/images/types.ts';

/** The cached result of running `createdBy` on `parentId` (undefined: scratch), if one is stored. */
export function cachedStep(images: ImageStore, parentId: string | undefined, createdBy: string): ImageRecord | undefined {
  const candidates = images.list().filter((image) => image.parent === parentId
    && image.config.history?.at(-1)?.created_by === createdBy
    && (parentId !== undefined || (image.config.history?.length ?? 0) === 1));
  // The newest, as dockerd picks among equivalent children.
  return candidates.sort((a, b) => (b.config.created ?? '').localeCompare(a.config.created ?? ''))[0];
}
