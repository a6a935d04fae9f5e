// The image store's public surface.
export type { ImageConfigDocument, ImageRecord, ImageRuntimeConfig, ImageStore, LayerRecord, LoadProgress } from './types.ts';
export { DiskImageStore, type DiskImageStoreOptions } from './store.ts';
export { ImageStoreError, type ImageErrorKind } from './errors.ts';
export { familiarName, normaliseTag, parseReference, type ImageReference } from './references.ts';
